// xnca_core: the binarized NCA accelerator core (spec 3-7), command/stream interface of
// docs/core.md, architecture of docs/architecture.md.
// SPDX-License-Identifier: MIT
// Part of xnca.
//
// Per step the core walks the alive list; each alive cur_cell draws its fire bit (hash lane 0).
// A non-firing cur_cell copies its quantized activations to the next bank; a firing cur_cell's
// 3x3 window of quantized activations is gathered into the batch activation RAM. When
// BATCH cells are gathered (or the list ends) the batch runs through the layers: for each
// group of UNITS output rows, for each weight plane i and input chunk ch, one weight slice
// is held in the units while every cur_cell b of the batch and activation plane j streams past
// (one cycle each); the accumulators are then quantized (hidden layers -> next activation
// RAM, output layer -> residual RAM). Write-back adds residual and noise, saturates,
// requantizes with the input quantizers and writes the new state and activations.
`resetall
`default_nettype none

module xnca_core #(
    // grid width and height, 8..64
    parameter integer GRID_W = 28,
    parameter integer GRID_H = 28,
    // channels C of the models this build runs, 12..32
    parameter integer CHANNELS = 20,
    // caps on perception width P and MLP width M, 80..256
    parameter integer MAX_P = 80,
    parameter integer MAX_M = 80,
    // caps on weight bits m and activation bits k, 2..4
    parameter integer MAX_WBITS = 4,
    parameter integer MAX_ABITS = 4,
    // update units (output rows in parallel), power of 2, divides SYN_BITS
    parameter integer UNITS = 4,
    // synapse bits per unit per cycle, power of 2, 32..1024, >= CHANNELS
    parameter integer SYN_BITS = 64,
    // firing cells sharing one weight slice, 1..16
    parameter integer BATCH = 4,
    // 1: pipelined fire/noise hashes (one draw per cycle, ~4x the hash logic); 0: iterative
    parameter integer HASH_PIPE = 0,
    // 1: iCE40UP5K memory map: cell state + activations and the weight slices live in SPRAM
    //    (two xnca_spram32, 32-bit words, serial access; one activation plane per cell word,
    //    which the gather writes to X as it is read, so SYN_BITS < 2 CHANNELS: one neighbour
    //    per layer-0 chunk; with one word per slice the units read it straight from the SPRAM,
    //    W_DIRECT), and the shared quantizers are two stages (QPIPE: the clock is short for
    //    the whole multiply-add-shift-clamp); 0: wide block RAMs
    parameter integer SPRAM = 0,
    // 1: one X / Y word holds all MAX_ABITS activation planes of a chunk (MAX_ABITS * SYN_BITS
    //    wide: about MAX_ABITS x the block RAMs of 0, the same bits), so a gathered chunk and a
    //    drained cell are one write each instead of one per plane (docs/architecture.md 4, 6);
    //    0: one plane per word. SPRAM = 0 only.
    parameter integer XY_WIDE = 0,
    // first 32 bits of SHA-256 over sources + parameters + board (computed by make)
    parameter [31:0] BUILD_ID = 32'h0,
    // 1: the RESULT record carries the cycles / stalls / fired counters and the LOAD record
    //    the byte count (docs/core.md 4); 0: they read 0 and the counters are not built (the
    //    iCEBreaker device: its adapter counts cycles itself and ignores them)
    parameter [0:0] STATS = 1'b1,
    // 1: the loader checks the descriptor (LOAD status 1-11, docs/core.md 3); 0: it trusts it
    //    (the devices: rtl/xnca_core_adapter.v checks the same fields and the weight_bytes
    //    first; the quantizer-record and run-parameter checks, 12-13, stay)
    parameter [0:0] LOAD_CHECKS = 1'b1,
    // 1: the INIT / MUTATE input bytes are pixel levels g (spec 6, 0..2^b - 1) instead of pixels
    //    (the iCEBreaker device: its adapter unpacks the host's packed levels and sends them as
    //    they are, no pixel -> level arithmetic here); 0: pixels 0..255
    parameter integer PIX_LEVELS = 0,
    // 0: the INFO record (command 0) carries only its tag, length and zeros (the iCEBreaker
    //    device: its adapter never sends INFO, the link answers INFO from its own table)
    parameter integer INFO_RECORD = 1,
    // 1: i_cmd_seed and i_cmd_image stay stable from a command's acceptance until its record has
    //    been read (rtl/xnca_core_adapter.v holds them: the iCEBreaker device), so the steps use
    //    the ports and the core keeps no copy (64 flip-flops); 0: they are latched at acceptance
    parameter integer CMD_HELD = 0,
    // simulation only: enable the i_fault_* state-bit flip
    parameter [0:0] FAULT_INJECT = 1'b0
) (
    input  wire        clk,
    input  wire        rst,
    // command port
    input  wire        i_cmd_valid,
    output wire        o_cmd_ready,
    input  wire [2:0]  i_cmd_op,
    input  wire [15:0] i_cmd_steps,
    input  wire [31:0] i_cmd_seed,
    input  wire [31:0] i_cmd_image,
    // input byte stream
    input  wire        i_in_valid,
    output wire        o_in_ready,
    input  wire [7:0]  i_in_data,
    // output byte stream
    output wire        o_out_valid,
    input  wire        i_out_ready,
    output wire [7:0]  o_out_data,
    output wire        o_out_last,
    // status
    output wire        o_busy,
    output wire        o_model_ok,
    output reg         o_step_done,     // pulses when a step finishes
    // fault injection (FAULT_INJECT = 1 only)
    input  wire        i_fault_en,
    input  wire [15:0] i_fault_step,
    input  wire [7:0]  i_fault_x,
    input  wire [7:0]  i_fault_y,
    input  wire [7:0]  i_fault_ch
);
    // ------------------------------------------------------------------ sizes
    localparam integer C = CHANNELS;
    localparam integer CM = C - 1;                          // mutable channels
    localparam integer KM = MAX_ABITS;
    localparam integer QW = C * KM;                         // activation word of a cur_cell
    localparam integer XB = $clog2(GRID_W);
    localparam integer YB = $clog2(GRID_H);
    localparam integer CAW = XB + YB;                       // cur_cell address {y, x}
    localparam integer CDEPTH = GRID_H << XB;
    localparam integer NCELLS = GRID_W * GRID_H;
    localparam integer NAW = $clog2(NCELLS + 1);            // alive count width
    localparam integer NBPC = SYN_BITS / C;                 // neighbours per layer-0 chunk
    localparam integer CH0 = (9 + NBPC - 1) / NBPC;
    localparam integer MAXW = MAX_P > MAX_M ? MAX_P : MAX_M;
    localparam integer CHH = (MAXW + SYN_BITS - 1) / SYN_BITS;
    localparam integer CHMAX = CH0 > CHH ? CH0 : CHH;
    localparam integer GP = (MAX_P + UNITS - 1) / UNITS;
    localparam integer GM = (MAX_M + UNITS - 1) / UNITS;
    localparam integer GO = (CM + UNITS - 1) / UNITS;
    localparam integer WDEPTH = MAX_WBITS * (GP * CH0 + 2 * GM * CHH + GO * CHH);
    localparam integer WAW = $clog2(WDEPTH);
    localparam integer QDEPTH = GP + 2 * GM + GO;
    localparam integer QAW = $clog2(QDEPTH);
    localparam integer IQW = (C + UNITS - 1) / UNITS;      // record words of the input quantizers
    localparam integer RAW = $clog2(QDEPTH + IQW);          // record RAM address
    localparam integer ADEPTH = BATCH * CHMAX;
    localparam integer AAW = ADEPTH > 1 ? $clog2(ADEPTH) : 1;
    localparam integer KMB = $clog2(KM);                    // plane bits of an X / Y address
    localparam integer PDEPTH = ADEPTH << KMB;              // X / Y words: {slot, plane}
    localparam integer PAW = AAW + KMB;
    // the X / Y RAM as built: XYP planes per word (XY_WIDE: all KM; else 1), XYA address bits
    // per half, XYL write lanes of UNITS bits
    localparam integer XYP = XY_WIDE != 0 ? KM : 1;
    localparam integer XYW = XYP * SYN_BITS;
    localparam integer XYA = XY_WIDE != 0 ? AAW : PAW;
    localparam integer XYD = XY_WIDE != 0 ? ADEPTH : PDEPTH;
    localparam integer DDEPTH = BATCH * GO;
    localparam integer DAW = DDEPTH > 1 ? $clog2(DDEPTH) : 1;
    localparam integer BW = BATCH > 1 ? $clog2(BATCH) : 1;
    localparam integer BCW = $clog2(BATCH + 1);
    localparam integer LPC = SYN_BITS / UNITS;              // unit-lanes per chunk
    // accumulator width: |acc| <= N_in (2^m - 1)(2^k - 1) (spec 3.3: every partial sum too), at
    // the build's widest layer input and caps (17 bits for the up5k and ecp5 sets), plus a sign
    localparam integer NIN_MAX0 = 9 * CHANNELS > MAX_P ? 9 * CHANNELS : MAX_P;
    localparam integer NIN_MAX = NIN_MAX0 > MAX_M ? NIN_MAX0 : MAX_M;
    localparam integer ACC_MAX = NIN_MAX * ((1 << MAX_WBITS) - 1) * ((1 << MAX_ABITS) - 1);
    localparam integer ACC_W = $clog2(ACC_MAX + 1) + 1;
    localparam integer RW = 37;                             // quantizer record bits
    localparam integer CNTW = $clog2(SYN_BITS + 1);
    // spec 9 weight_bytes at the caps (L = 2, m = MAX_WBITS)
    localparam integer RB0 = (9 * C + 7) / 8;
    localparam integer RBP = (MAX_P + 7) / 8;
    localparam integer RBM = (MAX_M + 7) / 8;
    localparam integer MAX_WEIGHT_BYTES = 6 * C + MAX_P * (MAX_WBITS * RB0 + 6)
        + MAX_M * (MAX_WBITS * RBP + 6) + MAX_M * (MAX_WBITS * RBM + 6)
        + CM * (MAX_WBITS * RBM + 6) + 8;

    // ------------------------------------------------------------------ parameter checks
    generate
        if (GRID_W < 8 || GRID_W > 64 || GRID_H < 8 || GRID_H > 64) begin : g_bad_grid
            $error("xnca_core: GRID_W and GRID_H must be 8..64");
        end
        if (CHANNELS < 12 || CHANNELS > 32) begin : g_bad_channels
            $error("xnca_core: CHANNELS must be 12..32");
        end
        if (MAX_P < 80 || MAX_P > 256 || MAX_M < 80 || MAX_M > 256) begin : g_bad_widths
            $error("xnca_core: MAX_P and MAX_M must be 80..256 (the shipping model has 80)");
        end
        if (MAX_WBITS < 2 || MAX_WBITS > 4 || MAX_ABITS < 2 || MAX_ABITS > 4) begin : g_bad_bits
            $error("xnca_core: MAX_WBITS and MAX_ABITS must be 2..4 (W2A2 must run)");
        end
        if (UNITS < 1 || UNITS > 64 || (UNITS & (UNITS - 1)) != 0) begin : g_bad_units
            $error("xnca_core: UNITS must be a power of 2, 1..64");
        end
        if (SYN_BITS < 32 || SYN_BITS > 1024 || (SYN_BITS & (SYN_BITS - 1)) != 0) begin : g_bad_syn
            $error("xnca_core: SYN_BITS must be a power of 2, 32..1024");
        end
        if (SYN_BITS % UNITS != 0) begin : g_bad_lanes
            $error("xnca_core: UNITS must divide SYN_BITS");
        end
        if (HASH_PIPE != 0 && HASH_PIPE != 1) begin : g_bad_hash
            $error("xnca_core: HASH_PIPE must be 0 or 1");
        end
        if (BATCH < 1 || BATCH > 16) begin : g_bad_batch
            $error("xnca_core: BATCH must be 1..16");
        end
    endgenerate


    localparam integer NL = (CM + 3) / 4;                   // noise draws per cell (spec 4.3)
    localparam integer NDEPTH = BATCH * NL;
    localparam integer NZW = NDEPTH > 1 ? $clog2(NDEPTH) : 1;
    localparam integer TW = 16;                             // step tag of an activation word
    localparam integer QAW_BITS = TW + 2 * QW;              // {tag, previous, current}
    localparam integer FD = 2 * BATCH;                      // fire queue depth
    localparam integer FDW = $clog2(FD);
    localparam integer FCW = $clog2(FD + 1);
    // SPRAM = 1 cell words (32 bit) at {cell, word}: state, tag, previous, current
    localparam integer SWN = (CM * 8 + 31) / 32;
    // one activation plane (C bits, at the bottom) per word: the gather writes each plane to X
    // straight from the SPRAM's output (no plane mux) and reads only the model's k planes
    localparam integer QWN = KM;
    localparam integer SWP = SWN * 32;
    localparam integer QWP = (QW + 31) / 32 * 32;          // (SPRAM = 0: qreg, a wide word)
    // (fixed word places, so that a word's address is its index with the previous / current
    // bit in front, no adders: state words 0 .. SWN - 1 <= 6, tag 7, previous planes 8 .. 8 +
    // KM - 1, current planes 12 .. 12 + KM - 1)
    localparam integer CW_TAG = 7;
    localparam integer CW_PREV = 8;
    localparam integer CW_CUR = 12;
    localparam integer CW_PIX_END = CW_PREV + 2 * QWN;     // M_PIX_W: previous / current pairs
    localparam integer CW_CUR_END = CW_CUR + QWN;
    // SPRAM = 1 weight words (32 bit): slice s, lane u, word t at s * WPS + u * WPL + t
    localparam integer WPL = SYN_BITS / 32;
    localparam integer WPS = UNITS * WPL;
    localparam integer SLICE_W = UNITS * SYN_BITS;  // bits of one weight slice (all units)
    localparam integer WSW = $clog2(WPS + 1);
    // SPRAM = 1 with one word per slice: the units take the slice straight from the weight
    // SPRAM's output register (no wreg): w_raddr is the slice of the tuple being issued, so the
    // word read in the issue cycle is there in the units' input cycle; it moves on with the
    // slice's last tuple (no staging, no wait: a slice takes nb k cycles)
    localparam integer W_DIRECT = SPRAM == 1 && WPS == 1 ? 1 : 0;
    // SPRAM = 1: a cell address outside the grid whose activation words hold Q_c(0) of every
    // channel (the padding cell, spec 1): x = 2^XB - 1 if GRID_W < 2^XB, else y = 2^YB - 1
    localparam integer PAD_CELL = GRID_W < (1 << XB) ? (1 << XB) - 1 : ((1 << YB) - 1) << XB;
    generate
        if (SPRAM == 1 && GRID_W == (1 << XB) && GRID_H == (1 << YB)) begin : g_bad_spram_pad
            $error("xnca_core: SPRAM = 1 needs a grid narrower or lower than a power of 2 (PAD_CELL)");
        end
        if (SPRAM != 0 && SPRAM != 1) begin : g_bad_spram
            $error("xnca_core: SPRAM must be 0 or 1");
        end
        if ((XY_WIDE != 0 && XY_WIDE != 1) || (XY_WIDE == 1 && SPRAM != 0)) begin : g_bad_xy_wide
            $error("xnca_core: XY_WIDE must be 0 or 1, and 0 with SPRAM = 1");
        end
        if (SPRAM == 1 && (CAW + 4 > 14 || SWN > 7 || QWN > 4)) begin : g_bad_spram_cells
            $error("xnca_core: SPRAM = 1 needs a grid of at most 32 x 32, <= 7 state words and <= 4 activation words per cell");
        end
        if (SPRAM == 1 && NBPC != 1) begin : g_bad_spram_nbpc
            $error("xnca_core: SPRAM = 1 needs one neighbour per layer-0 chunk (SYN_BITS < 2 CHANNELS)");
        end
        if (SPRAM == 1 && WDEPTH * WPS > 16384) begin : g_bad_spram_weights
            $error("xnca_core: SPRAM = 1: the weight slices exceed 16K words of 32 bits");
        end
    endgenerate

    // ------------------------------------------------------------------ run registers
    // M_PIX_R, M_PIX_W: SPRAM = 1 only (activation read / write of the pixel's cell)
    localparam [4:0] M_PIX_R = 5'd22, M_PIX_W = 5'd23;
    // M_RD_D: a cell's vote after its class scan (M_RD_C); M_PRED: the argmax of the votes
    localparam [4:0] M_RD_D = 5'd24, M_PRED = 5'd25;
    localparam [4:0] M_IDLE = 5'd0, M_LOAD = 5'd1, M_PIX = 5'd2, M_PIX2 = 5'd3,
                     M_STEP = 5'd4, M_COLLECT = 5'd5, M_GATH = 5'd6, M_STREAM = 5'd7,
                     M_LWAIT = 5'd8, M_WB_WAIT = 5'd9, M_WB_A = 5'd10, M_WB_B = 5'd11,
                     M_WB_S = 5'd12, M_WB_T = 5'd13, M_WB_W = 5'd14, M_RD_A = 5'd15,
                     M_RD_B = 5'd16, M_RD_C = 5'd17, M_OUT = 5'd18, M_ST_A = 5'd19,
                     M_ST_B = 5'd20, M_ST_C = 5'd21;
    localparam [1:0] R_INFO = 2'd0, R_LOAD = 2'd1, R_RESULT = 2'd2, R_STATE = 2'd3;

    reg [4:0]  state;
    reg [15:0] steps_left;
    reg [31:0] seed_q, image_q;      // (CMD_HELD = 0) the command's seed and image
    wire [31:0] seed = CMD_HELD != 0 ? i_cmd_seed : seed_q;
    wire [31:0] image = CMD_HELD != 0 ? i_cmd_image : image_q;
    reg [15:0] step;                 // step counter t
    reg        mutate;
    reg [NAW-1:0] nalive, ap;
    reg [CAW-1:0] cur_cell;
    reg [XB-1:0] px;
    reg [YB-1:0] py;
    reg [3:0]  pend_g;               // INIT/MUTATE: level of the pixel being written
    reg [31:0] cycles, stalls, fired;
    reg [3:0]  res_status;
    reg [1:0]  rec_kind;
    reg [5:0]  rec_idx;

    // batch
    reg [BCW-1:0] nb;                // cells in the batch
    reg [CAW-1:0] bcell [0:BATCH-1];
    // gather
    reg [3:0]  gpos;                 // neighbour being read, 0..8 (9: done issuing)
    reg        gd_valid, gd_inb;     // neighbour word arriving
    reg [3:0]  gd_pos;
    reg [7:0]  gq;                   // slot in chunk
    reg [7:0]  gch;                  // chunk
    reg [KM*SYN_BITS-1:0] gasm;
    reg        xw_busy;              // gasm's chunk is being written to X, one plane per cycle
    reg [2:0]  xw_j;
    reg [AAW-1:0] xw_slot;
    // array sequencing (issue side)
    reg [1:0]  lay;                  // layer l
    reg [8:0]  grp;                  // row group (<= 256 groups)
    reg [3:0]  gcnt_ch;              // chunk (<= 9 chunks)
    reg [2:0]  wpl;                  // weight plane i
    reg [BW-1:0] sb;
    reg [2:0]  sj;
    reg        w_fresh;              // w_rdata holds the slice at w_raddr
    reg        lw_out;               // the layer that just ended was the output layer
    reg [UNITS*SYN_BITS-1:0] wreg;
    reg [SYN_BITS-1:0] amask;        // the low anvalid bits
    reg [CNTW-1:0] anvalid;
    reg        p1_valid, p1_first;
    reg [BW-1:0] p1_b;
    reg [2:0]  p1_shift;
    reg        ge0, ge1, ge2;        // group end travelling down the unit pipeline
    // drain (background)
    reg        dr_active;
    reg [BW-1:0] db;
    reg [2:0]  dj;                   // activation plane being written (hidden layers)
    reg [1:0]  dr_lay;
    reg [8:0]  dr_grp;
    // the drained group's quantizer records: the record RAM's output, which holds them for the
    // whole drain (q_raddr moves on only in the drain's last cycle, dr_end, see qr_raddr): no
    // register copy
    wire [UNITS*RW-1:0] dr_qrec;
    wire       dr_end;               // the drain's last cycle
    reg        dr_wpend;             // a drain write is in flight
    // noise precompute (background)
    reg        nz_run;
    reg        n_we;
    reg [NZW-1:0] n_waddr, n_raddr;
    reg [31:0] n_wdata;
    wire [31:0] n_rdata;
    // write-back
    reg [BW-1:0] wb;
    reg [4:0]  wj, wjd;              // channel issued / channel computed
    reg        wv;
    // sreg / qreg are walked, not indexed (logic is scarce on the UP5K): SPRAM words of qreg
    // shift in at the top (word 0 ends at the bottom) and go out from the bottom, and the
    // channel loops (write-back, readout, STATE) rotate sreg by one channel (8 bits) and
    // each plane of qreg by one bit per channel, so the channel at hand always sits at a
    // fixed position.
    // SPRAM = 1: sreg holds one 32-bit state word (4 channels, the cell SPRAM's word): the
    // channel loops load word by word and rotate within it (the write-back writes each word
    // back after its 4 channel slots; a last word with fewer channels still takes 4 slots).
    // SPRAM = 0: all CM channels, loaded at once from the wide state RAM.
    localparam integer SRW = SPRAM == 1 ? 32 : SWP;
    localparam integer CMB = CM * 8;
    reg [SRW-1:0] sreg;
    // SPRAM = 1: qreg holds the KM planes of C bits (plane j at j C, as in a QW word); a plane
    // word shifts in at the top (C bits), plane 0 ends at the bottom
    localparam integer QRW = SPRAM == 1 ? QW : QWP;
    reg [QRW-1:0] qreg;
    reg [QW-1:0]  qcur;              // (SPRAM = 0) the current activations, written as previous
    wire [QRW-1:0] qreg_in = QRW'({c_rdata[C-1:0], qreg} >> C);
    // ... and out: the same shift (one mux input less per bit; q_pshift below): what enters at
    // the top while qreg is written out is never used (the writes end after its last plane, and
    // the next use loads qreg first or overwrites it)
    // (SPRAM = 1 slots: the write-back counts them in wj, the readout in sc, the STATE record
    // counts the words in rd_i)
    // sreg rotated by one channel: the next channel at the bottom, `nb8` on top
    // x > k for a constant k as plain logic (a `>` takes a carry chain on the iCE40 even
    // against a constant): x[i:0] > k[i:0], from the LSB up
    function gt_k4;
        input [3:0] x;
        input integer k;
        integer i;
        begin
            gt_k4 = 1'b0;
            for (i = 0; i < 4; i = i + 1)
                gt_k4 = k[i] ? (x[i] & gt_k4) : (x[i] | gt_k4);
            if (k > 15) gt_k4 = 1'b0;
        end
    endfunction

    function gt_k;                   // the same for up to 32 bits
        input [31:0] x;
        input integer k;
        integer i;
        begin
            gt_k = 1'b0;
            for (i = 0; i < 32; i = i + 1)
                gt_k = k[i] ? (x[i] & gt_k) : (x[i] | gt_k);
        end
    endfunction
    function ge_k;                   // x >= k
        input [31:0] x;
        input integer k;
        begin
            ge_k = k == 0 ? 1'b1 : gt_k(x, k - 1);
        end
    endfunction

    function [SRW-1:0] s_rot8;
        input [SRW-1:0] s;
        input [7:0] nb8;
        /* verilator lint_off UNUSEDSIGNAL */
        reg [SWP-1:0] t;                 // (SPRAM = 0; with SPRAM = 1 only its low bits)
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            t = SWP'(s);
            t[CMB-1:0] = {nb8, t[CMB-1:8]};
            s_rot8 = SPRAM == 1 ? {nb8, s[SRW-1:8]} : SRW'(t);
        end
    endfunction
    reg [4:0]  cw;                   // SPRAM = 1: word counter of a serial cell access
    reg        pad_wr;               // SPRAM = 1: M_PIX_W writes PAD_CELL after a load
    wire [2:0] pw_j = cw[2:0];           // M_PIX_W: previous / current word pw_j / 2 (= cw - CW_PREV, CW_PREV = 8)
    wire [2:0] wa_j = cw[2:0];           // M_WB_A: current word wa_j / 2 (even: read, odd: written back)
    wire [1:0] wm1 = cw[1:0] - 2'd1;     // M_GATH: plane word cw - 1 read (cw <= 5)
    wire [1:0] wm2 = cw[1:0] - 2'd2;     // M_GATH: plane cw - 2 written to X (cw <= 5)
    // SPRAM = 1: every plane shift of qreg, in (M_PIX_R, M_WB_A) and out (M_PIX_W, M_WB_W), as one
    // select (qreg's next value is one 2:1 mux per bit with the write-back's rotation, q_rot)
    wire q_pshift = SPRAM == 1 && ((state == M_PIX_R && cw != 5'd0)
        || (state == M_PIX_W && ge_k(32'(cw), CW_PREV) && pw_j[0])
        || (state == M_WB_A && wa_j[0]) || (state == M_WB_W && ge_k(32'(cw), CW_CUR)));
    reg        gsel;                 // SPRAM = 1 gather: the neighbour shows its previous word
    reg [4:0]  lvl;
    // readout
    reg [NAW-1:0] votes [0:9];       // (at most NCELLS votes)
    reg [3:0]  first_cls;
    reg        agree;
    reg [4:0]  sc;                   // STATE record: channel
    // fire scanner (background) and its queue
    reg        fs_run;
    reg [FDW-1:0] fq_wp, fq_rp;
    reg [FCW-1:0] fq_n;

    // ------------------------------------------------------------------ model registers
    wire [1:0] m_layers;
    wire [8:0] m_p, m_m;
    wire [2:0] m_wbits, m_abits, m_ibits;
    wire [3:0] m_sbits;
    wire [8:0] m_fire_t;
    wire [6:0] m_noise_p;
    reg        model_ok;

    wire [63:0] g_nin, g_nout, g_ebits, g_chunks, g_groups, g_rowbytes;
    xnca_geom #(.CHANNELS(C), .UNITS(UNITS), .SYN_BITS(SYN_BITS)) u_geom (
        .i_layers(m_layers), .i_p(m_p), .i_m(m_m), .i_wbits(m_wbits),
        .o_nin(g_nin), .o_nout(g_nout), .o_chunk_bits(g_ebits), .o_chunks(g_chunks),
        .o_groups(g_groups), .o_rowbytes(g_rowbytes)
    );

    // ------------------------------------------------------------------ loader
    reg         ld_start;
    wire        ld_in_ready;
    wire        ld_inq_we, ld_qrec_we, ld_w_we, ld_done;
    wire [4:0]  ld_inq_addr;
    wire [RW-1:0] ld_rec;
    wire [QAW-1:0] ld_qrec_addr;
    wire [UNITS-1:0] ld_qrec_lane, ld_w_lane;
    wire [WAW-1:0] ld_w_addr;
    wire [SYN_BITS-1:0] ld_w_data;
    wire [3:0]  ld_status;
    wire [31:0] ld_count;
    wire        in_take;

    xnca_loader #(
        .CHANNELS(C), .UNITS(UNITS), .SYN_BITS(SYN_BITS), .MAX_P(MAX_P), .MAX_M(MAX_M),
        .MAX_WBITS(MAX_WBITS), .MAX_ABITS(MAX_ABITS), .WAW(WAW), .QAW(QAW),
        .CHECKS(LOAD_CHECKS)
    ) u_loader (
        .clk(clk), .rst(rst), .i_start(ld_start),
        .i_valid(i_in_valid && state == M_LOAD), .o_ready(ld_in_ready), .i_data(i_in_data),
        .o_layers(m_layers), .o_p(m_p), .o_m(m_m), .o_wbits(m_wbits), .o_abits(m_abits),
        .o_sbits(m_sbits), .o_ibits(m_ibits), .o_fire_t(m_fire_t), .o_noise_p(m_noise_p),
        .i_nin(g_nin), .i_nout(g_nout), .i_chunk_bits(g_ebits), .i_chunks(g_chunks),
        .i_rowbytes(g_rowbytes),
        .o_inq_we(ld_inq_we), .o_inq_addr(ld_inq_addr), .o_rec_data(ld_rec),
        .o_qrec_we(ld_qrec_we), .o_qrec_addr(ld_qrec_addr), .o_qrec_lane(ld_qrec_lane),
        .o_w_we(ld_w_we), .o_w_addr(ld_w_addr), .o_w_lane(ld_w_lane), .o_w_data(ld_w_data),
        .i_w_ready(ld_w_ready),
        .o_done(ld_done), .o_status(ld_status), .o_count(ld_count)
    );

    // Q_c(0) of every channel (the padding cell's activations, spec 1), captured while the input
    // records stream in (the pixel intake reads the channel-0 record from the record RAM).
    reg  [QW-1:0] qpad;              // (SPRAM = 0)
    // ld_qzero: Q_c(0) of the record being loaded (shared quantizer, see the array section)
    wire [KM-1:0] ld_qzero;
    integer pj;
    // The loader sends the input records in channel order 0 .. C - 1, so each plane of qpad is a
    // shift register that takes Q_c(0) at its top (channel c ends at bit c: no per-bit address
    // decode; an aborted load is followed by a whole new record sequence before any use).
    // SPRAM = 1: no qpad register: the same shift runs in qreg during the load, and qreg is then
    // written to the cell words of PAD_CELL, a cell address outside the grid (M_PIX_W, pad_wr):
    // a padding neighbour and a pixel intake that does not keep its activations read them
    // from there like a cell's (80 flip-flops less, a few cycles more per border cell)
    generate
        if (SPRAM == 0) begin : g_qpad
            always @(posedge clk) begin
                if (ld_inq_we) begin
                    for (pj = 0; pj < KM; pj = pj + 1)
                        qpad[pj*C +: C] <= {ld_qzero[pj], qpad[pj*C + 1 +: C - 1]};
                end
            end
        end else begin : g_no_qpad
            always @(*) qpad = {QW{1'b0}};
            wire unused_qzero = &{1'b0, ld_qzero};
        end
    endgenerate

    // ------------------------------------------------------------------ memories
    // weight slices: UNITS lanes of SYN_BITS
    // w_slice: the slice at w_raddr once w_ok (SPRAM = 0: one cycle after w_raddr changed;
    // SPRAM = 1: WPS word reads staged into a register)
    reg  [WAW-1:0] w_raddr;
    wire           nz_go;            // a batch starts (M_COLLECT), see the fire scanner
    wire [UNITS*SYN_BITS-1:0] w_slice;
    wire           w_ok;
    wire           ld_w_ready;       // the loader may emit the next lane segment
    generate
        if (SPRAM == 0) begin : g_wram
            xnca_ram #(.DW(UNITS*SYN_BITS), .AW(WAW), .DEPTH(WDEPTH), .LANES(UNITS)) u_wram (
                .clk(clk), .i_we(ld_w_we), .i_wlane(ld_w_lane), .i_waddr(ld_w_addr),
                .i_wdata({UNITS{ld_w_data}}), .i_raddr(w_raddr), .o_rdata(w_slice)
            );
            assign w_ok = w_fresh;
            assign ld_w_ready = 1'b1;
        end else begin : g_wspram
            // loader segments (SYN_BITS) are written as WPL words; the loader waits meanwhile
            reg                 wl_busy;
            reg [SYN_BITS-1:0]  wl_buf;
            reg [WAW-1:0]       wl_slice;
            reg [4:0]           wl_unit;
            reg [4:0]           wl_n;
            // the next slice is staged into wst one word per cycle
            reg [UNITS*SYN_BITS-1:0] wst;
            reg [WSW-1:0]       ws_n;
            reg                 ws_cap, ws_kick;
            reg [WSW-1:0]       ws_cap_n;
            wire [31:0]         wsp_rdata;
            // a new slice address (or a batch start) restarts the staging with word 0 of it
            // (w_raddr changed last cycle exactly when !w_fresh: no copy of the staged address
            // and no comparator; the staging reads follow w_raddr)
            wire ws_restart = !w_fresh || ws_kick;
            // (terms that are 0 whenever the address is used are left out: wl_unit with one
            // unit, wl_n with one word per lane (0 while wl_busy), ws_n with one word per slice
            // (0 whenever a staging read is captured): no 14-bit adders on the UP5K build)
            wire [WAW-1:0] wl_s = WPL == 1 && UNITS == 1 ? ld_w_addr : wl_slice;
            wire [13:0] wl_a = 14'(wl_s * WPS) + (UNITS > 1 ? 14'(wl_unit * WPL) : 14'd0)
                             + (WPL > 1 ? 14'(wl_n) : 14'd0);
            wire [13:0] ws_a = 14'(w_raddr * WPS) + (WPS > 1 ? 14'(ws_n) : 14'd0);
            wire [13:0] wsp_addr = wl_busy ? wl_a : (ws_restart ? 14'(w_raddr * WPS) : ws_a);
            // one word per segment (WPL = 1, one unit): the loader holds its segment and address
            // while wl_busy (it waits on ld_w_ready), so they are written straight from it
            wire [SYN_BITS-1:0] wl_data = WPL == 1 && UNITS == 1 ? ld_w_data : wl_buf;
            xnca_spram32 u_wspram (
                .clk(clk), .i_we(wl_busy), .i_addr(wsp_addr),
                .i_wdata(wl_data[wl_n*32 +: 32]), .o_rdata(wsp_rdata)
            );
            reg [4:0] ld_unit;
            integer lu, wi;
            always @(*) begin
                ld_unit = 5'd0;
                for (lu = 0; lu < UNITS; lu = lu + 1) if (ld_w_lane[lu]) ld_unit = lu[4:0];
            end
            always @(posedge clk) begin
                ws_cap <= 1'b0;
                ws_kick <= nz_go;
                for (wi = 0; wi < WPS; wi = wi + 1)
                    if (ws_cap && ws_cap_n == WSW'(wi)) wst[wi*32 +: 32] <= wsp_rdata;
                if (rst) begin
                    wl_busy <= 1'b0;
                    ws_n <= {WSW{1'b0}};
                end else begin
                    if (ld_w_we) begin
                        wl_busy <= 1'b1;
                        wl_buf <= ld_w_data;
                        wl_slice <= ld_w_addr;
                        wl_unit <= ld_unit;
                        wl_n <= 5'd0;
                    end else if (wl_busy) begin
                        wl_n <= wl_n + 5'd1;
                        if (wl_n == 5'(WPL - 1)) wl_busy <= 1'b0;
                    end
                    if (ws_restart) begin
                        ws_n <= {WSW{1'b0}};
                        if (!wl_busy) begin
                            ws_cap <= 1'b1;
                            ws_cap_n <= {WSW{1'b0}};
                            ws_n <= WSW'(1);
                        end
                    end else if (!wl_busy && ws_n != WSW'(WPS)) begin
                        ws_cap <= 1'b1;
                        ws_cap_n <= ws_n;
                        ws_n <= ws_n + 1'b1;
                    end
                end
            end
            // one word per slice: the SPRAM's own output register holds the staged slice (its
            // address stays on w_raddr between restarts, nothing writes during compute); wider
            // slices (UNITS * SYN_BITS > 32) come from the staging register
            assign w_slice = WPS == 1 ? SLICE_W'(wsp_rdata) : wst;
            assign w_ok = W_DIRECT != 0 || (w_fresh && ws_n == WSW'(WPS) && !ws_cap && !ws_kick);
            assign ld_w_ready = !wl_busy && !ld_w_we;
        end
    endgenerate
    // quantizer records: UNITS lanes of RW per word; words 0 .. QDEPTH-1 hold the row groups,
    // words QDEPTH .. hold the C input quantizers (record c in lane c mod UNITS of word
    // QDEPTH + c / UNITS: the write-back reads them while no drain reads the group records)
    reg  [QAW-1:0] q_raddr;
    wire [UNITS*RW-1:0] q_rdata;
    reg  [4:0] iq_raddr;             // input quantizer record read in M_WB_S / M_WB_T
    wire       pix_state = state == M_PIX || state == M_PIX_R || state == M_PIX2;
    wire [RAW-1:0] qr_waddr = ld_inq_we ? RAW'(QDEPTH) + RAW'({27'd0, ld_inq_addr} / UNITS)
                                        : RAW'(ld_qrec_addr);
    wire [UNITS-1:0] qr_wlane = ld_inq_we ? UNITS'(1) << ({27'd0, ld_inq_addr} % UNITS)
                                          : ld_qrec_lane;
    // (the drains: the record word of group q_raddr, the next one from the last drain cycle of
    // a group, dr_end, so that a drain that follows at once finds its records)
    wire [RAW-1:0] qr_raddr = state == M_WB_S || state == M_WB_T
                            ? RAW'(QDEPTH) + RAW'({27'd0, iq_raddr} / UNITS)
                            : (pix_state ? RAW'(QDEPTH) : RAW'(q_raddr + QAW'(dr_end)));
    // (pixel intake: the channel-0 input record, lane 0 of word QDEPTH, for the pixel's level)
    xnca_ram #(.DW(UNITS*RW), .AW(RAW), .DEPTH(QDEPTH + IQW), .LANES(UNITS)) u_qram (
        .clk(clk), .i_we(ld_qrec_we || ld_inq_we), .i_wlane(qr_wlane), .i_waddr(qr_waddr),
        .i_wdata({UNITS{ld_rec}}), .i_raddr(qr_raddr), .o_rdata(q_rdata)
    );
    // the input record of channel wjd + 1 (read one cycle earlier with iq_raddr = wj + 1).
    // SPRAM = 1: read one cycle later (iq_raddr = wjd + 1), in the cycle after channel wjd's
    // compute, when the quantizer's first stage takes it (no register copy, see wb_quant_rec)
    assign dr_qrec = q_rdata;
    reg  [4:0] wjd_q;                // (SPRAM = 1: the lane of that record)
    always @(posedge clk) wjd_q <= wjd;
    wire [4:0] iq_ch = SPRAM == 1 ? wjd_q : wjd;
    wire [RW-1:0] iq_rdata = q_rdata[(({27'd0, iq_ch} + 32'd1) % UNITS)*RW +: RW];
    wire unused_iq_ch = &{1'b0, iq_ch};     // (UNITS = 1: one lane)
    // batch activation RAMs X (layer-0 windows, odd layers' outputs) and Y, the two halves
    // {0: X, 1: Y} of one RAM (a layer reads one half while its drains write the other): one
    // activation plane of one chunk per word, address {half, slot = b * CHMAX + chunk, plane j}
    // (SYN_BITS wide, so the block RAM count follows SYN_BITS, not KM * SYN_BITS). Writes go one
    // plane per cycle.
    reg  [PAW-1:0] a_raddr;
    wire [SYN_BITS-1:0] a_plane;
    wire [XYW-1:0] a_word;
    reg            x_we, y_we;
    // lane write enables: all lanes (a gathered chunk) or one (a drain's unit-lane): the
    // registered choice is decoded after the register (no LPC-bit register, no decode per bit
    // in front of it)
    localparam integer LPB = LPC > 1 ? $clog2(LPC) : 1;
    reg            a_wl_all;
    reg  [LPB-1:0] a_wl_idx;
    wire [LPC-1:0] a_wlane1 = a_wl_all ? {LPC{1'b1}} : LPC'({{(LPC-1){1'b0}}, 1'b1} << a_wl_idx);
    wire [XYP*LPC-1:0] a_wlane = {XYP{a_wlane1}};  // (XY_WIDE: the same lane of every plane)
    reg  [PAW-1:0] a_waddr;          // {slot, plane}; XY_WIDE words drop the plane
    reg  [XYW-1:0] a_wdata;
    wire [XYA-1:0] a_raddr_w = XYA'(a_raddr >> (PAW - XYA));
    wire [XYA-1:0] a_waddr_w = XYA'(a_waddr >> (PAW - XYA));
    xnca_ram #(.DW(XYW), .AW(XYA + 1), .DEPTH((1 << XYA) + XYD), .LANES(XYP * LPC),
               .BLOCK(XY_WIDE)) u_xyram (
        .clk(clk), .i_we(x_we || y_we), .i_wlane(a_wlane), .i_waddr({y_we, a_waddr_w}),
        .i_wdata(a_wdata), .i_raddr({lay[0], a_raddr_w}), .o_rdata(a_word)
    );
    // XY_WIDE: the plane of the word read, chosen after the RAM's output register by the
    // plane bits of the read address one cycle earlier
    reg  [KMB-1:0] a_sel;
    always @(posedge clk) a_sel <= a_raddr[KMB-1:0];
    reg  [SYN_BITS-1:0] a_plane_mux;
    integer apj;
    always @(*) begin
        a_plane_mux = a_word[SYN_BITS-1:0];
        for (apj = 1; apj < XYP; apj = apj + 1)
            if (a_sel == KMB'(apj)) a_plane_mux = a_word[apj*SYN_BITS +: SYN_BITS];
    end
    assign a_plane = a_plane_mux;
    wire unused_a_sel = &{1'b0, a_sel};  // (XY_WIDE = 0: one plane per word)
    // residuals of the batch (clamped to 10 bits, exact for sat_S)
    reg            d_we;
    reg  [DAW-1:0] d_waddr, d_raddr;
    reg  [UNITS*10-1:0] d_wdata;
    wire [UNITS*10-1:0] d_rdata;
    xnca_ram #(.DW(UNITS*10), .AW(DAW), .DEPTH(DDEPTH), .LANES(1)) u_dsram (
        .clk(clk), .i_we(d_we), .i_wlane(1'b1), .i_waddr(d_waddr), .i_wdata(d_wdata),
        .i_raddr(d_raddr), .o_rdata(d_rdata)
    );
    // cell state: mutable channels (8 bit each) and {valid, level g}
    reg            s_we;
    reg  [CAW-1:0] s_waddr, s_raddr;
    reg  [CM*8-1:0] s_wdata;
    wire [CM*8-1:0] s_rdata;
    reg            l_we;
    reg  [CAW-1:0] l_waddr;
    reg  [4:0]     l_wdata;
    wire [4:0]     l_rdata;
    xnca_ram #(.DW(5), .AW(CAW), .DEPTH(CDEPTH), .LANES(1)) u_lvram (
        .clk(clk), .i_we(l_we), .i_wlane(1'b1), .i_waddr(l_waddr), .i_wdata(l_wdata),
        .i_raddr(s_raddr), .o_rdata(l_rdata)
    );
    // quantized activations of every cell: {step tag, previous word, current word}
    reg            qa_we;
    reg  [CAW-1:0] qa_waddr, qa_raddr;
    reg  [QAW_BITS-1:0] qa_wdata;
    wire [QAW_BITS-1:0] qa_rdata;
    // SPRAM = 1: both live in one xnca_spram32, 16 words per cell (c_* from the control FSM)
    reg            c_we;
    reg  [CAW-1:0] c_cell;
    reg  [3:0]     c_word;
    reg  [31:0]    c_wdata;
    wire [31:0]    c_rdata;
    generate
        if (SPRAM == 0) begin : g_cellram
            xnca_ram #(.DW(CM*8), .AW(CAW), .DEPTH(CDEPTH), .LANES(1)) u_stram (
                .clk(clk), .i_we(s_we), .i_wlane(1'b1), .i_waddr(s_waddr), .i_wdata(s_wdata),
                .i_raddr(s_raddr), .o_rdata(s_rdata)
            );
            xnca_ram #(.DW(QAW_BITS), .AW(CAW), .DEPTH(CDEPTH), .LANES(1)) u_qa (
                .clk(clk), .i_we(qa_we), .i_wlane(1'b1), .i_waddr(qa_waddr), .i_wdata(qa_wdata),
                .i_raddr(qa_raddr), .o_rdata(qa_rdata)
            );
            assign c_rdata = 32'd0;
            wire unused_c = &{1'b0, c_we, c_cell, c_word, c_wdata};
        end else begin : g_cellspram
            xnca_spram32 u_cspram (
                .clk(clk), .i_we(c_we), .i_addr(14'({c_cell, c_word})), .i_wdata(c_wdata),
                .o_rdata(c_rdata)
            );
            assign s_rdata = {CM*8{1'b0}};
            assign qa_rdata = {QAW_BITS{1'b0}};
            wire unused_wide = &{1'b0, s_we, s_waddr, s_wdata, qa_we, qa_waddr, qa_wdata, qa_raddr};
        end
    endgenerate
    // the activations a cell shows to the step being computed (spec 3.6)
    wire [TW-1:0] qa_tag = qa_rdata[QAW_BITS-1 -: TW];
    wire [QW-1:0] qa_cur = qa_rdata[QW-1:0];
    wire [QW-1:0] qa_prev = qa_rdata[2*QW-1:QW];
    wire [QW-1:0] qa_now = qa_tag == step ? qa_prev : qa_cur;
    // the cell's current activations / state as the FSM sees them (SPRAM = 1: read into
    // qreg / sreg by the serial loops)
    wire [QW-1:0] qa_cur_v = SPRAM == 1 ? qreg[QW-1:0] : qa_cur;   // (M_PIX_R reads into qreg)
    wire [CM*8-1:0] s_view = SPRAM == 1 ? {CMB{1'b0}} : s_rdata;   // (SPRAM = 0 readout)
    // noise draws of the batch (BATCH x NL words)
    xnca_ram #(.DW(32), .AW(NZW), .DEPTH(NDEPTH), .LANES(1)) u_nram (
        .clk(clk), .i_we(n_we), .i_wlane(1'b1), .i_waddr(n_waddr), .i_wdata(n_wdata),
        .i_raddr(n_raddr), .o_rdata(n_rdata)
    );
    // alive list
    // (written in M_PIX2 straight from nalive / cur_cell: no registered copies)
    wire           al_we;            // (= M_PIX2 with a live pixel, see pix_new_alive)
    wire [NAW-1:0] al_waddr = nalive;
    reg  [NAW-1:0] al_raddr;
    wire [CAW-1:0] al_wdata = cur_cell;
    wire [CAW-1:0] al_rdata;
    xnca_ram #(.DW(CAW), .AW(NAW), .DEPTH(NCELLS), .LANES(1)) u_alram (
        .clk(clk), .i_we(al_we), .i_wlane(1'b1), .i_waddr(al_waddr), .i_wdata(al_wdata),
        .i_raddr(al_raddr), .o_rdata(al_rdata)
    );

    // (xnca_geom's fields are 16 bits; N_in <= 288, chunks <= 9, groups <= 256)
    wire [8:0]  l_nin = g_nin[{lay, 4'd0} +: 9];
    wire [15:0] l_ebits = g_ebits[{lay, 4'd0} +: 16];
    wire [3:0]  l_chunks = g_chunks[{lay, 4'd0} +: 4];
    wire [8:0]  l_groups = g_groups[{lay, 4'd0} +: 9];
    wire        l_is_out = lay == m_layers + 2'd1;
    wire [1:0]  next_lay = lay + 2'd1;
    wire [8:0]  dr_groups = g_groups[{dr_lay, 4'd0} +: 9];
    wire        dr_is_out = dr_lay == m_layers + 2'd1;
    // SPRAM = 1 (QPIPE): the quantizers are two stages (xnca_quant PIPE), so the drain writes
    // what it presented one cycle later: dw_* is the drain's write stage (QPIPE = 0: the drain
    // cycle itself)
    localparam integer QPIPE = SPRAM;
    reg         dq_active, dq_is_out, dq_lay0;
    reg [BW-1:0] dq_db;
    reg [2:0]   dq_dj;
    reg [8:0]   dq_grp;
    always @(posedge clk) begin
        dq_active <= dr_active && !rst;
        dq_is_out <= dr_is_out;
        dq_lay0 <= dr_lay[0];
        dq_db <= db;
        dq_dj <= dj;
        dq_grp <= dr_grp;
    end
    wire        dw_active = QPIPE == 1 ? dq_active : dr_active;
    wire        dw_is_out = QPIPE == 1 ? dq_is_out : dr_is_out;
    wire        dw_lay0 = QPIPE == 1 ? dq_lay0 : dr_lay[0];
    wire [BW-1:0] dw_db = QPIPE == 1 ? dq_db : db;
    wire [2:0]  dw_dj = QPIPE == 1 ? dq_dj : dj;
    wire [8:0]  dw_grp = QPIPE == 1 ? dq_grp : dr_grp;

    // the batch is complete: BATCH cells, or the scan ended with cells waiting
    wire scan_over = !fs_run && fq_n == {FCW{1'b0}};
    wire start_batch = nb != {BCW{1'b0}} && (nb == BCW'(BATCH) || scan_over);
    // M_COLLECT acts only once the last gathered chunk is in X (plane writes done)
    wire collect_ok = state == M_COLLECT && !(SPRAM == 0 && xw_busy);

    // ------------------------------------------------------------------ fire scanner (spec 4.2)
    // Walks the alive list and queues the firing cells (hash lane 0). HASH_PIPE = 0: one
    // iterative hash, ~8 cycles per alive cell; HASH_PIPE = 1: a pipelined hash, one alive
    // cell per cycle (issue only while the queue has room for every cell in flight).
    wire        fs_go = state == M_STEP && steps_left != 16'd0;
    // SPRAM = 1: the queue is a block RAM (fq_head, read one cycle ahead), so an entry can be
    // popped from the cycle after the one that wrote it (fq_fresh: the only entry was pushed
    // last cycle); else flip-flops, popped at once
    reg         fq_fresh;
    wire        fq_pop = collect_ok && fq_n != {FCW{1'b0}} && !(SPRAM == 1 && fq_fresh) && !start_batch;
    wire        fq_push;
    wire [CAW-1:0] fq_pdata;
    wire [NAW-1:0] fs_raddr;         // alive-list read address while scanning
    // noise precompute (spec 4.3): the draws of the batch while it streams through the layers
    assign      nz_go = collect_ok && start_batch;

    generate
        if (HASH_PIPE == 1) begin : g_hash_pipe
            reg  [NAW-1:0] fp_issue;
            reg            fp_rd;        // alive-list read issued last cycle
            reg  [3:0]     fp_infl;      // cells between issue and push decision
            wire           hf_valid;
            wire [CAW-1:0] hf_cell;
            wire [31:0]    hf_out;
            wire fp_can = fs_run && fp_issue != nalive &&
                          {{(8-FCW){1'b0}}, fq_n} + {4'd0, fp_infl} < 8'(FD);
            xnca_hash_pipe #(.TAGW(CAW)) u_hash_fire (
                .clk(clk), .rst(rst), .i_valid(fp_rd), .i_tag(al_rdata), .i_seed(seed),
                .i_image(image), .i_step(step), .i_lane(16'd0),
                .i_x({{(8-XB){1'b0}}, al_rdata[XB-1:0]}), .i_y({{(8-YB){1'b0}}, al_rdata[CAW-1:XB]}),
                .o_valid(hf_valid), .o_tag(hf_cell), .o_hash(hf_out)
            );
            assign fq_push = hf_valid && {1'b0, hf_out[7:0]} < m_fire_t;
            assign fq_pdata = hf_cell;
            assign fs_raddr = fp_issue;
            always @(posedge clk) begin
                fp_rd <= 1'b0;
                if (rst) begin
                    fs_run <= 1'b0;
                    fp_infl <= 4'd0;
                end else if (fs_go) begin
                    fs_run <= 1'b1;
                    fp_issue <= {NAW{1'b0}};
                    fp_infl <= 4'd0;
                end else if (fs_run) begin
                    if (fp_can) begin
                        fp_rd <= 1'b1;
                        fp_issue <= fp_issue + 1'b1;
                    end
                    fp_infl <= fp_infl + {3'd0, fp_can} - {3'd0, hf_valid};
                    if (fp_issue == nalive && fp_infl == 4'd0) fs_run <= 1'b0;
                end
            end
            wire [23:0] unused_hf = hf_out[31:8];

            reg  [NZW:0]   nz_issue, nz_left;
            reg  [BW-1:0]  nq_b;
            reg  [2:0]     nq_l;
            wire           hn_valid;
            wire [NZW-1:0] hn_addr;
            wire [31:0]    hn_out;
            wire           nq_go = nz_run && nz_issue != {(NZW+1){1'b0}};
            xnca_hash_pipe #(.TAGW(NZW)) u_hash_noise (
                .clk(clk), .rst(rst), .i_valid(nq_go), .i_tag(NZW'(nq_b * NL) + NZW'(nq_l)),
                .i_seed(seed), .i_image(image), .i_step(step), .i_lane(16'd1 + {13'd0, nq_l}),
                .i_x({{(8-XB){1'b0}}, bcell[nq_b][XB-1:0]}), .i_y({{(8-YB){1'b0}}, bcell[nq_b][CAW-1:XB]}),
                .o_valid(hn_valid), .o_tag(hn_addr), .o_hash(hn_out)
            );
            always @(posedge clk) begin
                n_we <= hn_valid;
                n_waddr <= hn_addr;
                n_wdata <= hn_out;
                if (rst) nz_run <= 1'b0;
                else if (nz_go) begin
                    nz_run <= 1'b1;
                    nz_issue <= (NZW+1)'(nb * NL);
                    nz_left <= (NZW+1)'(nb * NL);
                    nq_b <= {BW{1'b0}};
                    nq_l <= 3'd0;
                end else if (nz_run) begin
                    if (nq_go) begin
                        nz_issue <= nz_issue - 1'b1;
                        nq_l <= nq_l + 3'd1;
                        if (nq_l == 3'(NL - 1)) begin
                            nq_l <= 3'd0;
                            nq_b <= nq_b + 1'b1;
                        end
                    end
                    if (hn_valid) begin
                        nz_left <= nz_left - 1'b1;
                        if (nz_left == {{NZW{1'b0}}, 1'b1}) nz_run <= 1'b0;
                    end
                end
            end
        end else begin : g_hash_iter
            // One iterative hash serves the noise draws of a batch (first) and the fire scan
            // (the scan waits while a batch draws its noise; results do not depend on order).
            reg  [1:0]     fs_st;
            reg  [NAW-1:0] fs_ptr;
            reg            nz_wait;      // a noise draw is in flight
            reg  [BW-1:0]  nz_b;
            reg  [2:0]     nz_l;
            reg            h_busy, h_noise;
            wire           h_done;
            wire [31:0]    h_out;
            wire nz_start = nz_run && !nz_wait && !h_busy;
            wire fs_start = fs_run && fs_st == 2'd1 && !h_busy && !nz_run;
            wire [CAW-1:0] h_cell = nz_start ? bcell[nz_b] : al_rdata;
            // (its two 32-bit adders are fabric carry chains in every configuration: on the
            // iCE40UP5K the device's adapter holds all eight SB_MAC16 blocks)
            xnca_hash u_hash (
                .clk(clk), .rst(rst), .i_start(nz_start || fs_start), .i_seed(seed),
                .i_image(image), .i_step(step), .i_lane(nz_start ? 16'd1 + {13'd0, nz_l} : 16'd0),
                .i_x({{(8-XB){1'b0}}, h_cell[XB-1:0]}), .i_y({{(8-YB){1'b0}}, h_cell[CAW-1:XB]}),
                .o_done(h_done), .o_hash(h_out)
            );
            always @(posedge clk) begin
                if (rst) h_busy <= 1'b0;
                else if (nz_start || fs_start) begin
                    h_busy <= 1'b1;
                    h_noise <= nz_start;
                end else if (h_done) h_busy <= 1'b0;
            end
            wire fs_fires = {1'b0, h_out[7:0]} < m_fire_t;
            assign fq_push = fs_run && fs_st == 2'd3 && fq_n != FCW'(FD);
            // (the cell being pushed: the alive list still shows entry fs_ptr, no copy)
            assign fq_pdata = al_rdata;
            assign fs_raddr = fs_ptr;
            always @(posedge clk) begin
                if (rst) fs_run <= 1'b0;
                else if (fs_go) begin
                    fs_run <= 1'b1;
                    fs_ptr <= {NAW{1'b0}};
                    fs_st <= 2'd0;
                end else if (fs_run) begin
                    case (fs_st)
                    2'd0: if (fs_ptr == nalive) fs_run <= 1'b0; else fs_st <= 2'd1;  // read fs_ptr
                    2'd1: if (fs_start) fs_st <= 2'd2;                                   // hash started
                    2'd2: if (h_done && !h_noise) begin
                        if (fs_fires) fs_st <= 2'd3;
                        else begin fs_ptr <= fs_ptr + 1'b1; fs_st <= 2'd0; end
                    end
                    default: if (fq_push) begin fs_ptr <= fs_ptr + 1'b1; fs_st <= 2'd0; end
                    endcase
                end
            end
            wire [23:0] unused_hf = h_out[31:8];

            // a finished noise draw goes to the noise RAM at once from the hash's output (no
            // registered copy of the 32-bit draw)
            always @(*) begin
                n_we = !rst && !nz_go && nz_run && nz_wait && h_done && h_noise;
                n_waddr = NZW'(nz_b * NL) + NZW'(nz_l);
                n_wdata = h_out;
            end
            always @(posedge clk) begin
                if (rst) nz_run <= 1'b0;
                else if (nz_go) begin
                    nz_run <= 1'b1;
                    nz_wait <= 1'b0;
                    nz_b <= {BW{1'b0}};
                    nz_l <= 3'd0;
                end else if (nz_run) begin
                    if (nz_start) nz_wait <= 1'b1;
                    else if (nz_wait && h_done && h_noise) begin
                        nz_wait <= 1'b0;
                        nz_l <= nz_l + 3'd1;
                        if (nz_l == 3'(NL - 1)) begin
                            nz_l <= 3'd0;
                            nz_b <= nz_b + 1'b1;
                            if (nz_b == nb[BW-1:0] - 1'b1) nz_run <= 1'b0;
                        end
                    end
                end
            end
        end
    endgenerate

    // the fire queue
    wire [FDW-1:0] fq_rp_next = !fq_pop ? fq_rp : (fq_rp == FDW'(FD - 1) ? {FDW{1'b0}} : fq_rp + 1'b1);
    wire [CAW-1:0] fq_head;          // the entry at fq_rp
    generate
        if (SPRAM == 1) begin : g_fq_ram
            // (a block RAM by attribute: yosys would build this small one from flip-flops)
            (* ram_style = "block", no_rw_check *) reg [CAW-1:0] fq_mem [0:FD-1];
            reg [CAW-1:0] fq_q;
            always @(posedge clk) begin
                if (fq_push) fq_mem[fq_wp] <= fq_pdata;
                fq_q <= fq_mem[fq_rp_next];
            end
            assign fq_head = fq_q;
        end else begin : g_fq_ff
            reg [CAW-1:0] fq [0:FD-1];
            always @(posedge clk) if (fq_push) fq[fq_wp] <= fq_pdata;
            assign fq_head = fq[fq_rp];
        end
    endgenerate
    always @(posedge clk)
        fq_fresh <= fq_push && (fq_n == {FCW{1'b0}} || (fq_n == FCW'(1) && fq_pop));
    always @(posedge clk) begin
        if (rst) begin
            fq_wp <= {FDW{1'b0}};
            fq_rp <= {FDW{1'b0}};
            fq_n <= {FCW{1'b0}};
        end else begin
            if (fq_push) begin
                fq_wp <= fq_wp == FDW'(FD - 1) ? {FDW{1'b0}} : fq_wp + 1'b1;
            end
            fq_rp <= fq_rp_next;
            fq_n <= fq_n + {{(FCW-1){1'b0}}, fq_push} - {{(FCW-1){1'b0}}, fq_pop};
        end
    end

    // ------------------------------------------------------------------ pixels (spec 6, 7)
    // p * (2^b - 1) + 127 as a shift and a subtraction (no multiplier)
    wire [11:0] pix_v = ({4'd0, i_in_data} << m_ibits) - {4'd0, i_in_data} + 12'd127;
    wire [11:0] pix_q = (pix_v + 12'd1 + {8'd0, pix_v[11:8]}) >> 8;     // floor(v / 255)
    wire [3:0]  pix_g = PIX_LEVELS != 0 ? i_in_data[3:0]
                      : (!ge_k(32'(i_in_data), 26) ? 4'd0 : (pix_q == 12'd0 ? 4'd1 : pix_q[3:0]));
    // g_level: the channel-0 activation of the pixel's level (shared quantizer)
    wire [KM-1:0] g_level;
    wire pix_old_alive = l_rdata[3:0] != 4'd0;
    wire pix_new_alive = pend_g != 4'd0;
    wire pix_kept = mutate && pix_old_alive && pix_new_alive;
    assign al_we = state == M_PIX2 && pix_new_alive;
    reg  [QW-1:0] pix_qword;
    integer pc, pk;
    always @(*) begin
        for (pk = 0; pk < KM; pk = pk + 1) begin
            pix_qword[pk*C] = g_level[pk];
            for (pc = 1; pc < C; pc = pc + 1)
                pix_qword[pk*C + pc] = pix_kept || SPRAM == 1 ? qa_cur_v[pk*C + pc] : qpad[pk*C + pc];
        end
    end
    wire pix_last = px == XB'(GRID_W - 1) && py == YB'(GRID_H - 1);

    // ------------------------------------------------------------------ gather
    // neighbour pos = (dy + 1) * 3 + (dx + 1) (spec 3.1)
    wire [1:0] gdx = gpos == 4'd0 || gpos == 4'd3 || gpos == 4'd6 ? 2'd0 :
                     (gpos == 4'd1 || gpos == 4'd4 || gpos == 4'd7 ? 2'd1 : 2'd2);
    wire [1:0] gdy = !ge_k(32'(gpos), 3) ? 2'd0 : (!ge_k(32'(gpos), 6) ? 2'd1 : 2'd2);
    wire [CAW-1:0] gc = bcell[nb[BW-1:0]];
    wire [XB-1:0] gx = gc[XB-1:0];
    wire [YB-1:0] gy = gc[CAW-1:XB];
    wire ginx = !(gdx == 2'd0 && gx == {XB{1'b0}}) && !(gdx == 2'd2 && gx == XB'(GRID_W - 1));
    wire giny = !(gdy == 2'd0 && gy == {YB{1'b0}}) && !(gdy == 2'd2 && gy == YB'(GRID_H - 1));
    wire [XB-1:0] gnx = gx + {{(XB-1){gdx == 2'd0}}, gdx != 2'd1};
    wire [YB-1:0] gny = gy + {{(YB-1){gdy == 2'd0}}, gdy != 2'd1};
    // (SPRAM = 0; SPRAM = 1 writes the planes to X as they are read, see M_GATH: no gasm)
    wire [QW-1:0] gword = gd_inb ? qa_now : qpad;
    reg  [KM*SYN_BITS-1:0] gasm_next;
    integer gk, gs;
    always @(*) begin
        gasm_next = gasm;
        for (gk = 0; gk < KM; gk = gk + 1)
            for (gs = 0; gs < NBPC; gs = gs + 1)
                if (gq == 8'(gs)) gasm_next[gk*SYN_BITS + gs*C +: C] = gword[gk*C +: C];
    end
    wire gchunk_end = gq == 8'(NBPC - 1) || gd_pos == 4'd8;
    wire g_tag_now = c_rdata[TW-1:0] == step;       // SPRAM = 1: tag word of the neighbour
    // (SPRAM = 1: the planes are in X once captured, the next neighbour may issue at once)
    // (XY_WIDE: a finished chunk goes to X in its capture cycle, so issue never waits)
    wire g_issue = gpos != 4'd9 && (SPRAM == 1 || XY_WIDE != 0 || (!xw_busy && !(gd_valid && gchunk_end)));

    // ------------------------------------------------------------------ array
    // (a_plane: the X / Y word read at issue, odd layers read Y)
    wire [UNITS*ACC_W-1:0] accs;
    wire [UNITS*KM-1:0] levels;
    wire [UNITS*10-1:0] dss;
    genvar gu;
    generate
        for (gu = 0; gu < UNITS; gu = gu + 1) begin : g_unit
            xnca_unit #(.SYN_BITS(SYN_BITS), .BATCH(BATCH), .ACC_W(ACC_W)) u_unit (
                .clk(clk), .i_valid(p1_valid), .i_first(p1_first), .i_b(p1_b),
                .i_shift(p1_shift),
                .i_w(W_DIRECT != 0 ? w_slice[gu*SYN_BITS +: SYN_BITS] : wreg[gu*SYN_BITS +: SYN_BITS]),
                .i_a(a_plane),
                .i_mask(amask), .i_nvalid(anvalid), .i_snap(ge2), .i_rd_b(db),
                .o_acc(accs[gu*ACC_W +: ACC_W])
            );
            if (gu == 0) begin : g_quant_shared
                // Unit 0's quantizer is shared: the drain uses it while dr_active; otherwise it
                // serves the loader (Q_c(0) of an input record, M_LOAD), the pixel intake
                // (channel-0 level, M_PIX2) and the write-back (input quantizers, M_WB_*).
                // These uses never overlap (the array is quiet outside M_STREAM / M_LWAIT).
                // (SPRAM = 1: two stages, QPIPE: every use takes the levels one cycle later)
                wire [ACC_W-1:0] sq_y = dr_active ? accs[gu*ACC_W +: ACC_W] : aux_y;
                wire [RW-1:0] sq_rec = dr_active ? dr_qrec[gu*RW +: RW] : aux_rec;
                xnca_quant #(.YW(ACC_W), .KW(KM), .PIPE(QPIPE)) u_quant (
                    .clk(clk), .i_y(sq_y), .i_mul(sq_rec[7:0]), .i_shift(sq_rec[12:8]), .i_add(sq_rec[36:13]),
                    .i_k(m_abits), .o_level(levels[gu*KM +: KM]), .o_ds(dss[gu*10 +: 10])
                );
            end else begin : g_quant
                xnca_quant #(.YW(ACC_W), .KW(KM), .PIPE(QPIPE)) u_quant (
                    .clk(clk), .i_y(accs[gu*ACC_W +: ACC_W]), .i_mul(dr_qrec[gu*RW +: 8]),
                    .i_shift(dr_qrec[gu*RW + 8 +: 5]), .i_add(dr_qrec[gu*RW + 13 +: 24]),
                    .i_k(m_abits), .o_level(levels[gu*KM +: KM]), .o_ds(dss[gu*10 +: 10])
                );
            end
        end
    endgenerate
    // drain write of a hidden layer: plane j of the UNITS levels into unit-lane grp mod LPC
    // (plane dj of cell db, one plane per cycle)
    // (XY_WIDE: every plane at once, plane j of the UNITS levels into lane grp mod LPC of
    // plane j's SYN_BITS; one cycle per cell)
    reg [XYW-1:0] drain_wdata;
    integer du, dl, dp;
    always @(*) begin
        for (dp = 0; dp < XYP; dp = dp + 1)
            for (dl = 0; dl < LPC; dl = dl + 1)
                for (du = 0; du < UNITS; du = du + 1)
                    drain_wdata[(dp*LPC + dl)*UNITS + du] =
                        levels[du*KM + (XY_WIDE != 0 ? dp : {29'd0, dw_dj})];
    end
    // (amask: the slice's valid synapse bits, a register set with anvalid, off the popcount's
    // path: on the iCE40UP5K a thermometer of anvalid in front of the popcount was longer than
    // the clock)
    wire first_tuple = sb == {BW{1'b0}} && sj == 3'd0;
    wire can_issue = !first_tuple || w_ok;
    wire last_b = sb == nb[BW-1:0] - 1'b1;
    wire last_tuple = last_b && sj == m_abits - 3'd1;
    // The layer's limits the array compares against are registered (lq_*, drq_*): they follow
    // the loaded descriptor through xnca_geom and the layer mux, which was longer than the
    // iCE40UP5K's clock. lay / dr_lay are stable for a cycle before they are read: lay moves at
    // a layer's last group (M_LWAIT follows) and is 0 from the end of a batch's last layer and
    // from M_STEP on, before any batch starts; dr_lay moves at a drain's end.
    reg  [8:0]  lq_groups_m1, drq_groups_m1;
    reg  [3:0]  lq_chunks_m1;
    reg  [15:0] lq_last_nvalid;
    wire last_chunk = gcnt_ch == lq_chunks_m1;
    // valid inputs of the chunk being issued: E of the layer, or on its last chunk what is left
    // of N_in: a build constant for layer 0 (NBPC whole neighbours per chunk), N_in mod
    // SYN_BITS (SYN_BITS if 0) for the later layers (no remaining-inputs counter, no comparator)
    localparam integer LAST0 = 9 * C - (CH0 - 1) * NBPC * C;
    wire [15:0] nin_rem = {7'd0, l_nin} & 16'(SYN_BITS - 1);
    wire [15:0] last_nvalid = lay == 2'd0 ? 16'(LAST0) : (nin_rem == 16'd0 ? 16'(SYN_BITS) : nin_rem);
    always @(posedge clk) begin
        lq_groups_m1 <= l_groups - 9'd1;
        drq_groups_m1 <= dr_groups - 9'd1;
        lq_chunks_m1 <= l_chunks - 4'd1;
        lq_last_nvalid <= last_nvalid;
    end
    wire [15:0] cur_nvalid = last_chunk ? lq_last_nvalid : l_ebits;
    wire last_plane = wpl == m_wbits - 3'd1;
    wire last_group = grp == lq_groups_m1;
    assign dr_end = dr_active && (dr_is_out || XY_WIDE != 0 || dj == m_abits - 3'd1) && db == nb[BW-1:0] - 1'b1;
    wire array_quiet = !ge0 && !ge1 && !ge2 && !dr_active && !dw_active && !dr_wpend && !p1_valid;

    // ------------------------------------------------------------------ write-back
    wire [RW-1:0] wb_rec = iq_rdata;
    wire signed [9:0] wb_ds = d_rdata[({27'd0, wjd} % UNITS)*10 +: 10];
    // noise of spec 4.3 from the draw r of the channel: -1 if r < p, +1 if r >= 256 - p.
    // SPRAM = 1: decided in the channel's issue cycle (its noise word is already at n_rdata:
    // the write-back's phases read a state word's noise word before they issue its first
    // channel) and registered (wb_noise_q), off the compute cycle's sum and saturation
    wire [1:0] wb_nsel = SPRAM == 1 ? wj[1:0] : wjd[1:0];
    wire [7:0] wb_r = n_rdata[wb_nsel*8 +: 8];
    wire signed [1:0] wb_noise_c = wb_r < {1'b0, m_noise_p} ? -2'sd1 :
                                  ({1'b0, wb_r} >= 9'd256 - {2'b0, m_noise_p} ? 2'sd1 : 2'sd0);
    reg  signed [1:0] wb_noise_q;
    always @(posedge clk) wb_noise_q <= wb_noise_c;
    wire signed [1:0] wb_noise = SPRAM == 1 ? wb_noise_q : wb_noise_c;
    wire signed [7:0] wb_s = lvl[4] ? sreg[7:0] : 8'sd0;            // channel wjd (rotated)
    wire signed [11:0] wb_sum = {{4{wb_s[7]}}, wb_s} + {{2{wb_ds[9]}}, wb_ds} + {{10{wb_noise[1]}}, wb_noise};
    // sat_S: wb_sum fits S bits iff its bits at and above S - 1 all equal its sign (no comparator
    // carry chains); wb_mask marks those bits. The S-bit limits in 8 bits: 2^(S-1) - 1 is
    // ~wb_mask, -2^(S-1) is wb_mask (S <= 8).
    reg  [10:0] wb_mask;
    integer wm;
    always @(*)
        for (wm = 0; wm < 11; wm = wm + 1) wb_mask[wm] = !gt_k4(m_sbits, wm + 1);  // wm >= S - 1
    wire wb_over = !wb_sum[11] && |(wb_sum[10:0] & wb_mask);
    wire wb_under = wb_sum[11] && |(~wb_sum[10:0] & wb_mask);
    wire [7:0] wb_sat = wb_over ? ~wb_mask[7:0] : (wb_under ? wb_mask[7:0] : wb_sum[7:0]);
    wire fault_here = FAULT_INJECT && i_fault_en && step == i_fault_step &&
                      bcell[wb] == {i_fault_y[YB-1:0], i_fault_x[XB-1:0]} &&
                      {3'd0, wjd} + 8'd1 == i_fault_ch;
    wire [7:0] wb_new = wb_sat ^ {7'd0, fault_here};
    // the write-back's level of the new state (shared quantizer, input record of channel wjd+1)
    wire [KM-1:0] wb_level = levels[KM-1:0];
    // The new state byte and its input record are registered before the shared quantizer
    // (wb_new_q, wb_rec_q; SPRAM = 1 reads the record one cycle later instead), so the noise, sum and saturation and the quantizer's multiply-add
    // are two cycles, not one; the activation rotation (q_rot) follows one cycle later (wv_q).
    // SPRAM = 0 (the ECP5): M_WB_T lasts two cycles (wb_t2) so the last channel's level is in
    // qreg before M_WB_W writes it. SPRAM = 1 (the iCE40UP5K): the quantizer is two stages
    // itself (QPIPE), so the rotation comes two cycles after the compute (wv_q2; the load's
    // Q_c(0) rotation one cycle after the record, ld_rot_q); the write-back's phases leave
    // that time (the last channel's rotation lands before M_WB_W shifts qreg out at CW_CUR).
    reg  [7:0]    wb_new_q;
    reg  [RW-1:0] wb_rec_q;
    reg           wv_q, wv_q2, ld_rot_q, wb_t2;
    always @(posedge clk) begin
        wb_new_q <= wb_new;
        wb_rec_q <= wb_rec;
        wv_q2 <= wv_q && !rst;
        ld_rot_q <= state == M_LOAD && ld_inq_we && !rst;
    end
    wire [7:0]    wb_quant_y = wb_new_q;
    wire [RW-1:0] wb_quant_rec = SPRAM == 1 ? wb_rec : wb_rec_q;   // (SPRAM = 1: read late)
    wire ld_rot = SPRAM == 1 && ld_rot_q;      // (SPRAM = 1 only: a load's Q_c(0) into qreg)
    wire q_rot = SPRAM == 0 ? wv_q : (wv_q2 || ld_rot);

    // inputs of the shared quantizer outside the drain
    reg  [ACC_W-1:0] aux_y;
    reg  [RW-1:0]    aux_rec;
    always @(*) begin
        case (state)
        M_LOAD: begin aux_y = {ACC_W{1'b0}}; aux_rec = ld_rec; end
        // (SPRAM = 1: M_PIX2 takes the level of M_PIX_R's last cycle, QPIPE)
        M_PIX_R, M_PIX2: begin aux_y = {{(ACC_W-4){1'b0}}, pend_g}; aux_rec = q_rdata[RW-1:0]; end
        default: begin aux_y = {{(ACC_W-8){wb_quant_y[7]}}, wb_quant_y}; aux_rec = wb_quant_rec; end
        endcase
    end
    assign ld_qzero = levels[KM-1:0];
    assign g_level = levels[KM-1:0];

    // ------------------------------------------------------------------ readout
    // class of a cell: argmax of the 10 class channels, ties to the lowest (spec 5); the
    // prediction: argmax of the votes, ties to the lowest.
    // SPRAM = 0: balanced trees of pairwise maxima (4 comparator levels instead of a chain of 9:
    // that chain was the ECP5 critical path). The cell's class takes two registered halves:
    // M_RD_C keeps the 3 candidates of the first two levels (rd_q2), M_RD_D (v_ph 0) the class
    // (rd_cls_c -> rd_cls), M_RD_D (v_ph 1) votes. The prediction (pred_c) is one tree on the
    // vote registers.
    // A pair keeps its lower-index side unless the higher one is strictly greater, and every
    // tree node joins a lower-index group (left) with a higher one (right), so the tree picks
    // the lowest index of the maximum, like the chain.
    // SPRAM = 1 (logic is scarce): one class per cycle, the cell's in M_RD_C (rd_i = 0..9, rd_v
    // is class rd_i of the cell), the votes' in M_PRED (pv_i = 0..9, two cycles each: u_vram).
    function [11:0] amax_cls;        // {class, signed value}: the pair's argmax
        input [11:0] lo, hi;
        amax_cls = $signed(hi[7:0]) > $signed(lo[7:0]) ? hi : lo;
    endfunction
    function [NAW+3:0] amax_vote;    // {class, vote}: the pair's argmax
        input [NAW+3:0] lo, hi;
        amax_vote = hi[NAW-1:0] > lo[NAW-1:0] ? hi : lo;
    endfunction
    reg [3:0] rd_cls, rd_i, rd_cls_c;
    reg signed [7:0] rd_best, rd_v;
    reg [11:0] rd_l0 [0:9];
    reg [11:0] rd_l1 [0:4];
    reg [11:0] rd_l2 [0:2];
    reg [11:0] rd_q2 [0:2];          // rd_l2, registered in M_RD_C (SPRAM = 0)
    reg [11:0] rd_l3, rd_l4;
    integer rc, rq;
    always @(*) begin
        // SPRAM = 1: class rd_i sits at class 0's place (sreg rotates in M_RD_C)
        rd_v = l_rdata[4] ? sreg[7:0] : 8'sd0;
        for (rc = 0; rc < 10; rc = rc + 1)
            rd_l0[rc] = {rc[3:0], l_rdata[4] ? s_view[(CM-10+rc)*8 +: 8] : 8'd0};
        for (rc = 0; rc < 5; rc = rc + 1) rd_l1[rc] = amax_cls(rd_l0[2*rc], rd_l0[2*rc+1]);
        rd_l2[0] = amax_cls(rd_l1[0], rd_l1[1]);
        rd_l2[1] = amax_cls(rd_l1[2], rd_l1[3]);
        rd_l2[2] = rd_l1[4];
        rd_l3 = amax_cls(rd_q2[0], rd_q2[1]);
        rd_l4 = amax_cls(rd_l3, rd_q2[2]);
        rd_cls_c = rd_l4[11:8];
    end
    reg [3:0] pred, pv_i, pred_c;
    reg [NAW-1:0] pred_best;
    reg [NAW+3:0] pv_l0 [0:9];
    reg [NAW+3:0] pv_l1 [0:4];
    reg [NAW+3:0] pv_l2 [0:2];
    reg [NAW+3:0] pv_l3, pv_l4;
    integer pv;
    always @(*) begin
        for (pv = 0; pv < 10; pv = pv + 1) pv_l0[pv] = {pv[3:0], votes[pv]};
        for (pv = 0; pv < 5; pv = pv + 1) pv_l1[pv] = amax_vote(pv_l0[2*pv], pv_l0[2*pv+1]);
        pv_l2[0] = amax_vote(pv_l1[0], pv_l1[1]);
        pv_l2[1] = amax_vote(pv_l1[2], pv_l1[3]);
        pv_l2[2] = pv_l1[4];
        pv_l3 = amax_vote(pv_l2[0], pv_l2[1]);
        pv_l4 = amax_vote(pv_l3, pv_l2[2]);
        pred_c = pv_l4[NAW+3:NAW];
    end

    // SPRAM = 1 (logic is scarce): one read port on the votes, shared by the vote (M_RD_D:
    // votes[rd_cls] + 1), the argmax (M_PRED: votes[pv_i]) and the RESULT record's vote bytes
    // (M_OUT: record bytes 8..27 are vote (rec_idx - 8) / 2, low byte first)
    // The votes live in a block RAM (16 x NAW, registered read: v_sel is the vote of the index
    // presented one cycle earlier) with a valid bit per class (v_ok: written since the last
    // clear, else it reads 0), so a clear is one cycle and no vote takes flip-flops. M_RD_D and
    // M_PRED spend two cycles per vote (v_ph 0: address, 1: data); M_OUT presents the vote of the
    // record byte it shows, and holds o_out_valid low for the cycle after a vote's first byte
    // becomes current (vote_stale: its read is in flight), so that i_out_ready reaches no read
    // address (it would be one combinational path through the adapter's ready and this RAM).
    wire [4:0] rec_pair = 5'(rec_idx >> 1);
    wire [3:0] rec_vote = 4'(rec_pair - 5'd4);
    wire [3:0] v_idx = state == M_PRED ? pv_i : (state == M_OUT ? rec_vote : rd_cls);
    reg        v_ph;                 // M_RD_D / M_PRED: 1 once v_sel holds votes[v_idx]
    reg  [9:0] v_ok;
    reg        v_okq;
    wire [NAW-1:0] v_q;
    wire       v_we = state == M_RD_D && v_ph;
    wire [NAW-1:0] v_sel = v_okq ? v_q : {NAW{1'b0}};
    generate
        if (SPRAM == 1) begin : g_vram
            xnca_ram #(.DW(NAW), .AW(4), .DEPTH(16), .LANES(1)) u_vram (
                .clk(clk), .i_we(v_we), .i_wlane(1'b1), .i_waddr(rd_cls),
                .i_wdata(v_sel + 1'b1), .i_raddr(v_idx), .o_rdata(v_q)
            );
        end else begin : g_no_vram
            assign v_q = {NAW{1'b0}};
            wire unused_vram = &{1'b0, v_we};
        end
    endgenerate
    always @(posedge clk) v_okq <= v_ok[v_idx];
    wire rec_is_vote = SPRAM == 1 && rec_kind == R_RESULT && gt_k(32'(rec_idx), 7) && !gt_k(32'(rec_idx), 27);
    wire [15:0] v_sel16 = 16'(v_sel);
    wire [7:0] vote_byte = rec_idx[0] ? v_sel16[15:8] : v_sel16[7:0];
    reg        out_took;             // a byte was taken in the cycle before
    wire       vote_stale = rec_is_vote && !rec_idx[0] && out_took;

    // ------------------------------------------------------------------ output records
    reg [319:0] rec;
    integer rv;
    always @(*) begin
        rec = 320'd0;
        case (rec_kind)
        R_INFO: if (INFO_RECORD != 0) begin
            rec[7:0] = "I";
            rec[15:8] = 8'd1;
            rec[23:16] = GRID_W[7:0];
            rec[31:24] = GRID_H[7:0];
            rec[39:32] = C[7:0];
            rec[47:40] = MAX_WBITS[7:0];
            rec[55:48] = MAX_ABITS[7:0];
            rec[63:56] = 8'd2;
            rec[79:64] = MAX_P[15:0];
            rec[95:80] = MAX_M[15:0];
            rec[127:96] = MAX_WEIGHT_BYTES[31:0];
            rec[143:128] = UNITS[15:0];
            rec[159:144] = SYN_BITS[15:0];
            rec[175:160] = BATCH[15:0];
            rec[223:192] = BUILD_ID;
        end
        R_STATE: rec[7:0] = "S";
        R_LOAD: begin
            rec[7:0] = "L";
            rec[11:8] = res_status;
            rec[63:32] = STATS ? ld_count : 32'd0;
        end
        default: begin
            rec[7:0] = "R";
            rec[11:8] = res_status;
            rec[31:16] = step;
            rec[NAW+31:32] = nalive;
            rec[51:48] = pred;
            rec[56] = agree;
            if (SPRAM == 0)
                for (rv = 0; rv < 10; rv = rv + 1) rec[64 + rv*16 +: 16] = 16'(votes[rv]);
            rec[255:224] = STATS ? cycles : 32'd0;
            rec[287:256] = STATS ? stalls : 32'd0;
            rec[319:288] = STATS ? fired : 32'd0;
        end
        endcase
    end
    wire [5:0] rec_len = rec_kind == R_INFO ? 6'd32 : (rec_kind == R_LOAD ? 6'd8 : 6'd40);
    wire [7:0] st_byte = sc == 5'd0 ? {4'd0, lvl[3:0]} :
                         (lvl[4] && lvl[3:0] != 4'd0 ? sreg[7:0] : 8'd0);   // channel sc-1 (rotated)
    assign o_out_valid = (state == M_OUT && !vote_stale) || state == M_ST_C;
    assign o_out_data = state == M_ST_C ? st_byte : (rec_is_vote ? vote_byte : rec[rec_idx*8 +: 8]);
    assign o_out_last = state == M_OUT ? (rec_kind == R_STATE ? 1'b0 : rec_idx == rec_len - 6'd1)
                        : (sc == 5'(C - 1) && px == XB'(GRID_W - 1) && py == YB'(GRID_H - 1));
    wire out_take = o_out_valid && i_out_ready;
    always @(posedge clk) out_took <= out_take;

    assign o_cmd_ready = state == M_IDLE;
    assign o_in_ready = state == M_LOAD ? ld_in_ready : state == M_PIX;
    assign in_take = i_in_valid && o_in_ready;
    assign o_busy = state != M_IDLE;
    assign o_model_ok = model_ok;

    // ------------------------------------------------------------------ control
    integer vi;
    always @(posedge clk) begin
        ld_start <= 1'b0;
        x_we <= 1'b0; y_we <= 1'b0; d_we <= 1'b0; s_we <= 1'b0; l_we <= 1'b0;
        qa_we <= 1'b0;
        p1_valid <= 1'b0;
        o_step_done <= 1'b0;
        ge0 <= 1'b0;
        ge1 <= ge0;
        ge2 <= ge1;
        dr_wpend <= 1'b0;
        if (state != M_IDLE && state != M_OUT && state != M_ST_A && state != M_ST_B
            && state != M_ST_C) begin
            cycles <= cycles + 32'd1;
            if ((state == M_PIX || state == M_LOAD) && !i_in_valid) stalls <= stalls + 32'd1;
        end
        // weight prefetch: w_rdata follows w_raddr one cycle later
        w_fresh <= 1'b1;

        // ---------------------------------------------------------- gathered chunk -> X
        if (SPRAM == 0 && xw_busy) begin      // (SPRAM = 1: see M_GATH)
            x_we <= 1'b1;
            a_wl_all <= 1'b1;
            a_waddr <= {xw_slot, xw_j[KMB-1:0]};
            // (SPRAM = 0 only; XY_WIDE: every plane in one write)
            a_wdata <= XY_WIDE != 0 ? XYW'(gasm) : XYW'(gasm[xw_j*SYN_BITS +: SYN_BITS]);
            xw_j <= xw_j + 3'd1;
            if (XY_WIDE != 0 || xw_j == m_abits - 3'd1) begin
                xw_busy <= 1'b0;
                gasm <= {KM*SYN_BITS{1'b0}};
            end
        end

        // ---------------------------------------------------------- background drain
        // (the write: dw_*, the drain cycle or one later, QPIPE)
        if (dw_active) begin
            dr_wpend <= 1'b1;
            if (dw_is_out) begin
                d_we <= 1'b1;
                d_waddr <= DAW'(dw_db * GO) + DAW'(dw_grp);
                d_wdata <= dss;
            end else begin
                // hidden layer: plane dj of cell db (k planes per cell)
                if (dw_lay0) x_we <= 1'b1; else y_we <= 1'b1;
                a_wl_all <= 1'b0;
                a_wl_idx <= LPB'({23'd0, dw_grp} % LPC);
                a_waddr <= {AAW'(dw_db * CHMAX) + AAW'({23'd0, dw_grp} / LPC), dw_dj[KMB-1:0]};
                a_wdata <= drain_wdata;
            end
        end
        if (dr_active) begin
            if (!dr_is_out) dj <= dj + 3'd1;
            if (dr_is_out || XY_WIDE != 0 || dj == m_abits - 3'd1) begin
                dj <= 3'd0;
                db <= db + 1'b1;
            end
            if (dr_end) begin
                dr_active <= 1'b0;
                q_raddr <= q_raddr + 1'b1;
                dr_grp <= dr_grp + 9'd1;
                if (dr_grp == drq_groups_m1) begin
                    dr_grp <= 9'd0;
                    dr_lay <= dr_lay + 2'd1;
                end
            end
        end

        // a new snapshot may start in the last drain cycle of the previous group
        if (ge2) begin
            // the units snapshot their accumulators now; quantize them over nb cycles
            dr_active <= 1'b1;
            db <= {BW{1'b0}};
            dj <= 3'd0;
        end
        if (rst) begin
            state <= M_IDLE;
            model_ok <= 1'b0;
            step <= 16'd0;
            nalive <= {NAW{1'b0}};
            dr_active <= 1'b0;
            xw_busy <= 1'b0;
            ge0 <= 1'b0; ge1 <= 1'b0; ge2 <= 1'b0;
            wv <= 1'b0;                     // (q_rot)
            wv_q <= 1'b0;
            wb_t2 <= 1'b0;
            pad_wr <= 1'b0;
        end else begin
            // the write-back's activation rotation (wv: M_WB_S / M_WB_T compute channel wjd,
            // which sits at bit 1 of each plane), also the Q_c(0) intake of a load (SPRAM = 1)
            wv_q <= wv;
            if (SPRAM == 1 && q_pshift) qreg <= qreg_in;
            else begin
                if (q_rot)
                    for (pj = 0; pj < KM; pj = pj + 1)
                        qreg[pj*C + 1 +: CM] <= {wb_level[pj], qreg[pj*C + 2 +: CM - 1]};
                // SPRAM = 1: channel 0 of each plane: the input records' Q_c(0) during a load
                // (q_rot shifts channels 1.. and takes the new one at the top), the pixel's
                // level in M_PIX2 (M_PIX_W writes qreg as previous and current words)
                if (ld_rot)
                    for (pj = 0; pj < KM; pj = pj + 1) qreg[pj*C] <= qreg[pj*C + 1];
                if (SPRAM == 1 && state == M_PIX2)
                    for (pj = 0; pj < KM; pj = pj + 1) qreg[pj*C] <= g_level[pj];
            end
            case (state)
            M_IDLE: if (i_cmd_valid) begin
                steps_left <= i_cmd_steps;
                seed_q <= i_cmd_seed;
                image_q <= i_cmd_image;
                cycles <= 32'd0;
                stalls <= 32'd0;
                fired <= 32'd0;
                res_status <= 4'd0;
                rec_idx <= 6'd0;
                cw <= 5'd0;
                mutate <= i_cmd_op == 3'd4;
                case (i_cmd_op)
                3'd0: begin rec_kind <= R_INFO; state <= M_OUT; end
                3'd1: begin ld_start <= 1'b1; model_ok <= 1'b0; state <= M_LOAD; end
                3'd2, 3'd4: begin
                    px <= {XB{1'b0}}; py <= {YB{1'b0}};
                    nalive <= {NAW{1'b0}};
                    if (i_cmd_op == 3'd2) step <= 16'd0;
                    state <= M_PIX;
                end
                3'd3: begin
                    if (!model_ok) begin
                        res_status <= 4'd1; rec_kind <= R_RESULT; state <= M_OUT; pred <= 4'd0;
                        begin for (vi = 0; vi < 10; vi = vi + 1) votes[vi] <= {NAW{1'b0}}; v_ok <= 10'd0; end
                        agree <= 1'b0;
                    end else state <= M_STEP;
                end
                3'd5: begin
                    rec_kind <= R_STATE; state <= M_OUT;
                    px <= {XB{1'b0}}; py <= {YB{1'b0}};
                    sc <= 5'd0; rd_i <= 4'd0;       // (SPRAM = 1: channel, word)
                end
                default: begin res_status <= 4'd15; rec_kind <= R_LOAD; state <= M_OUT; end
                endcase
            end
            M_LOAD: begin
                // (SPRAM = 1: the input records' Q_c(0) shift into qreg as into qpad, above)
                if (ld_done) begin
                    model_ok <= ld_status == 4'd0;
                    res_status <= ld_status;
                    rec_kind <= R_LOAD;
                    state <= M_OUT;
                    if (SPRAM == 1) begin
                        // qreg (Q_c(0)) -> the words of PAD_CELL, then the record
                        cur_cell <= CAW'(PAD_CELL);
                        pad_wr <= 1'b1;
                        cw <= 5'(CW_TAG);
                        state <= M_PIX_W;
                    end
                end
            end
            // ---------------------------------------------------------- INIT / MUTATE
            M_PIX: if (in_take) begin
                cur_cell <= {py, px};
                pend_g <= pix_g;
                state <= SPRAM == 1 ? M_PIX_R : M_PIX2;
            end
            M_PIX_R: begin
                // SPRAM = 1: the current activation words of cur_cell -> qreg (M_PIX2 keeps
                // them: M_PIX_R reads PAD_CELL's words instead when they are not kept)
                // (qreg <= qreg_in while cw != 0: q_pshift)
                cw <= cw + 5'd1;
                if (cw == 5'(QWN)) begin
                    cw <= 5'd0;
                    state <= M_PIX2;
                end
            end
            M_PIX2: begin
                // level / activation reads of cur_cell were issued in M_PIX (M_PIX_R)
                l_we <= 1'b1; l_waddr <= cur_cell;
                l_wdata <= {pix_kept && l_rdata[4], pend_g};
                qa_we <= 1'b1; qa_waddr <= cur_cell;
                qa_wdata <= {step - 16'd1, pix_qword, pix_qword};   // tag: not this step
                // (SPRAM = 1: channel 0 of qreg <= g_level, above; the other channels are
                // pix_qword's already)
                if (pix_new_alive) begin
                    nalive <= nalive + 1'b1;
                end
                if (SPRAM == 1) begin
                    cw <= 5'(CW_TAG);
                    state <= M_PIX_W;
                end else begin
                    px <= px + 1'b1;
                    if (px == XB'(GRID_W - 1)) begin px <= {XB{1'b0}}; py <= py + 1'b1; end
                    if (pix_last) begin
                        if (model_ok) state <= M_STEP;
                        else begin
                            res_status <= 4'd1; rec_kind <= R_RESULT; state <= M_OUT; pred <= 4'd0;
                            begin for (vi = 0; vi < 10; vi = vi + 1) votes[vi] <= {NAW{1'b0}}; v_ok <= 10'd0; end
                            agree <= 1'b0;
                        end
                    end else state <= M_PIX;
                end
            end
            M_PIX_W: begin
                // SPRAM = 1: tag, previous = current = the new activation word (c_we): each word
                // of qreg goes to both (previous word i, then current word i; pw_j = cw - CW_PREV)
                // (qreg <= qreg_out after each current word: q_pshift)
                cw <= cw + 5'd1;
                if (cw == 5'(CW_PIX_END - 1) && pad_wr) begin
                    cw <= 5'd0;
                    pad_wr <= 1'b0;
                    state <= M_OUT;
                end else if (cw == 5'(CW_PIX_END - 1)) begin
                    cw <= 5'd0;
                    px <= px + 1'b1;
                    if (px == XB'(GRID_W - 1)) begin px <= {XB{1'b0}}; py <= py + 1'b1; end
                    if (pix_last) begin
                        if (model_ok) state <= M_STEP;
                        else begin
                            res_status <= 4'd1; rec_kind <= R_RESULT; state <= M_OUT; pred <= 4'd0;
                            begin for (vi = 0; vi < 10; vi = vi + 1) votes[vi] <= {NAW{1'b0}}; v_ok <= 10'd0; end
                            agree <= 1'b0;
                        end
                    end else state <= M_PIX;
                end
            end
            // ---------------------------------------------------------- step
            M_STEP: begin
                lay <= 2'd0;                        // (lq_*: before any batch starts)
                nb <= {BCW{1'b0}};
                ap <= {NAW{1'b0}};
                if (steps_left == 16'd0) begin
                    begin for (vi = 0; vi < 10; vi = vi + 1) votes[vi] <= {NAW{1'b0}}; v_ok <= 10'd0; end
                    agree <= nalive != {NAW{1'b0}};
                    state <= M_RD_A;
                end else state <= M_COLLECT;           // fs_go starts the fire scan
            end
            M_COLLECT: if (!(SPRAM == 0 && xw_busy)) begin
                if (start_batch) begin
                    // run the batch through the layers (nz_go starts the noise draws)
                    lay <= 2'd0; grp <= 9'd0; wpl <= 3'd0; gcnt_ch <= 4'd0;
                    sb <= {BW{1'b0}}; sj <= 3'd0;
                    w_raddr <= {WAW{1'b0}}; w_fresh <= 1'b0;
                    q_raddr <= {QAW{1'b0}};
                    dr_lay <= 2'd0; dr_grp <= 9'd0;
                    state <= M_STREAM;
                end else if (fq_pop) begin
                    bcell[nb[BW-1:0]] <= fq_head;
                    gpos <= 4'd0; gd_valid <= 1'b0; gq <= 8'd0; gch <= 8'd0; cw <= 5'd0;
                    xw_slot <= AAW'(nb[BW-1:0] * CHMAX);   // (SPRAM = 1: the gather's X slot)
                    gasm <= {KM*SYN_BITS{1'b0}};
                    state <= M_GATH;
                end else if (scan_over) begin
                    o_step_done <= 1'b1;
                    step <= step + 16'd1;
                    steps_left <= steps_left - 16'd1;
                    state <= M_STEP;
                end
            end
            M_GATH: begin
                // issue: neighbour gpos (qa_raddr); capture: the word of gd_pos
                // (no issue while a finished chunk is being written to X: gasm holds it)
                if (SPRAM == 0) begin
                    gd_valid <= g_issue;
                    gd_pos <= gpos;
                    gd_inb <= ginx && giny;
                    if (g_issue) gpos <= gpos + 4'd1;
                end else begin
                    // SPRAM = 1, per neighbour (= one layer-0 chunk): cw 0 reads the tag word,
                    // cw 1 picks previous or current (gsel) and reads plane 0, cw 2..k + 1 write
                    // plane cw - 2 to X straight from the SPRAM's output (slot xw_slot) and read
                    // the next; a padding neighbour reads PAD_CELL (Q_c(0) of every channel)
                    gd_valid <= 1'b0;
                    if (cw == 5'd0) begin
                        if (g_issue) begin
                            gd_pos <= gpos;
                            cw <= 5'd1;     // (a padding neighbour: PAD_CELL's words)
                        end
                    end else begin
                        if (cw == 5'd1) gsel <= g_tag_now;
                        if (cw != 5'd1) begin
                            x_we <= 1'b1;
                            a_wl_all <= 1'b1;
                            a_waddr <= {xw_slot, wm2[KMB-1:0]};
                            a_wdata <= XYW'(c_rdata[C-1:0]);
                        end
                        cw <= cw + 5'd1;
                        if (cw[2:0] == m_abits + 3'd1) begin
                            cw <= 5'd0;
                            gd_valid <= 1'b1;
                            gpos <= gpos + 4'd1;
                            xw_slot <= xw_slot + 1'b1;
                        end
                    end
                end
                if (gd_valid) begin
                    if (SPRAM == 0) gasm <= gasm_next;
                    gq <= gq + 8'd1;
                    if (SPRAM == 0 && gchunk_end) begin
                        if (XY_WIDE != 0) begin
                            // the finished chunk, every plane, straight to X; the next
                            // neighbour's capture starts a cleared gasm
                            x_we <= 1'b1;
                            a_wl_all <= 1'b1;
                            a_waddr <= {AAW'(nb[BW-1:0] * CHMAX) + AAW'(gch), {KMB{1'b0}}};
                            a_wdata <= XYW'(gasm_next);
                            gasm <= {KM*SYN_BITS{1'b0}};
                        end else begin
                            // write the chunk's k planes to X from gasm (xw_*), then clear gasm
                            xw_busy <= 1'b1;
                            xw_j <= 3'd0;
                            xw_slot <= AAW'(nb[BW-1:0] * CHMAX) + AAW'(gch);
                        end
                        gq <= 8'd0;
                        gch <= gch + 8'd1;
                    end
                    if (gd_pos == 4'd8) begin
                        nb <= nb + 1'b1;
                        fired <= fired + 32'd1;
                        state <= M_COLLECT;
                    end
                end
            end
            // ---------------------------------------------------------- array (issue side)
            M_STREAM: if (can_issue) begin
                // a_raddr = sb * CHMAX + chunk is presented combinationally
                p1_valid <= 1'b1;
                p1_first <= wpl == 3'd0 && gcnt_ch == 4'd0 && sj == 3'd0;
                p1_b <= sb;
                p1_shift <= wpl + sj;
                if (first_tuple) begin
                    if (W_DIRECT == 0) begin
                        wreg <= w_slice;
                        w_raddr <= w_raddr + 1'b1;  // prefetch the next slice
                        w_fresh <= 1'b0;
                    end
                    anvalid <= cur_nvalid[CNTW-1:0];
                    amask <= ~({SYN_BITS{1'b1}} << cur_nvalid);
                end
                // (W_DIRECT: the next slice's word is read in its first tuple's issue cycle)
                if (W_DIRECT != 0 && last_tuple) w_raddr <= w_raddr + 1'b1;
                sj <= sj + 3'd1;
                if (sj == m_abits - 3'd1) begin
                    sj <= 3'd0;
                    sb <= sb + 1'b1;
                end
                if (last_tuple) begin
                    sb <= {BW{1'b0}};
                    gcnt_ch <= gcnt_ch + 4'd1;
                    if (last_chunk) begin
                        gcnt_ch <= 4'd0;
                        wpl <= wpl + 3'd1;
                        if (last_plane) begin
                            wpl <= 3'd0;
                            ge0 <= 1'b1;            // group done: snapshot in 3 cycles
                            grp <= grp + 9'd1;
                            if (last_group) begin
                                grp <= 9'd0;
                                lw_out <= l_is_out;
                                lay <= l_is_out ? 2'd0 : next_lay;   // (lq_*)
                                state <= M_LWAIT;
                            end
                        end
                    end
                end
            end
            // the next layer reads what this layer's drains write: wait for them
            M_LWAIT: if (array_quiet) begin
                if (lw_out) begin
                    wb <= {BW{1'b0}};
                    state <= M_WB_WAIT;
                end else state <= M_STREAM;
            end
            // ---------------------------------------------------------- write-back
            M_WB_WAIT: if (!nz_run) state <= M_WB_A;
            M_WB_A: begin                       // s_raddr / qa_raddr = bcell[wb]
                if (SPRAM == 0) state <= M_WB_B;
                else begin
                    // SPRAM = 1: current activation word i is read at cw = 2 i and, in the next
                    // cycle, shifted into qreg and written straight back as previous word i
                    // (c_we, c_wdata = c_rdata): the words the write-back keeps as previous
                    // need no register (M_WB_W skips them). (The state words: M_WB_S.)
                    // (qreg <= qreg_in in the odd cycles: q_pshift)
                    cw <= cw + 5'd1;
                    if (cw == 5'(2 * QWN - 1)) begin
                        cw <= 5'd0;
                        state <= M_WB_B;
                    end
                end
            end
            M_WB_B: begin
                // (SPRAM = 1: state word 0 is read, see c_word)
                if (SPRAM == 0) begin
                    sreg <= SRW'(s_rdata);
                    qreg <= QRW'(qa_cur);
                    qcur <= qa_cur;
                end
                lvl <= l_rdata;
                wj <= 5'd0;
                wv <= 1'b0;
                state <= M_WB_S;
            end
            M_WB_S, M_WB_T: if (SPRAM == 1) begin
                // SPRAM = 1, state word w = wj / 4 in 5 phases (cw): 0 loads it into sreg (read
                // in the cycle before) and writes word w - 1 back (c_we), 0..3 issue slots
                // 4 w .. 4 w + 3 (d_raddr, iq_raddr, n_raddr; wv only for channels < CM), 1..4
                // compute them (sreg rotates in every slot, so after 4 the new word is in
                // place), 4 reads word w + 1. A phase 0 with wj = 4 SWN only writes the last.
                wv <= 1'b0;
                if (cw != 5'd0) sreg <= s_rot8(sreg, wb_new);       // slot wjd
                if (cw != 5'd4 && !(cw == 5'd0 && wj == 5'(4 * SWN))) begin
                    wjd <= wj;
                    wv <= !ge_k(32'(wj), CM);
                    wj <= wj + 5'd1;
                end
                cw <= cw == 5'd4 ? 5'd0 : cw + 5'd1;
                if (cw == 5'd0) begin
                    if (wj == 5'(4 * SWN)) begin
                        cw <= 5'(CW_TAG);
                        state <= M_WB_W;
                    end else sreg <= SRW'(c_rdata);
                end
            end else begin
                // issue channel wj (d_raddr, iq_raddr, n_raddr); compute channel wjd
                wv <= state == M_WB_S;
                wjd <= wj;
                if (state == M_WB_S) begin
                    wj <= wj + 5'd1;
                    if (wj == 5'(CM - 1)) state <= M_WB_T;
                end else begin
                    // (two cycles: the last channel's level reaches qreg in the second)
                    wb_t2 <= !wb_t2;
                    if (wb_t2) state <= M_WB_W;
                end
                // channel wjd is at the bottom of sreg and at bit 1 of each plane of qreg
                // (qreg: q_rot, above the case)
                if (wv) sreg <= s_rot8(sreg, wb_new);
            end
            M_WB_W: begin
                // SPRAM = 1: the tag and the current words (qreg), from cw = CW_TAG
                s_we <= 1'b1; s_waddr <= bcell[wb]; s_wdata <= CMB'(sreg);
                l_we <= 1'b1; l_waddr <= bcell[wb]; l_wdata <= {1'b1, lvl[3:0]};
                qa_we <= 1'b1; qa_waddr <= bcell[wb]; qa_wdata <= {step, qcur, qreg[QW-1:0]};
                // (SPRAM = 1: qreg <= qreg_out from cw = CW_CUR: q_pshift)
                // (SPRAM = 1: the previous words were written in M_WB_A: tag, then current)
                cw <= SPRAM == 1 && cw == 5'(CW_TAG) ? 5'(CW_CUR) : cw + 5'd1;
                if (SPRAM == 0 || cw == 5'(CW_CUR_END - 1)) begin
                    cw <= 5'd0;
                    wb <= wb + 1'b1;
                    if (wb == nb[BW-1:0] - 1'b1) begin
                        nb <= {BCW{1'b0}};
                        state <= M_COLLECT;
                    end else state <= M_WB_A;
                end
            end
            // ---------------------------------------------------------- readout
            M_RD_A: begin
                rd_i <= 4'd0;
                rd_cls <= 4'd0;
                sc <= 5'(((CM - 10) / 4) * 4);  // (SPRAM = 1: the slot of the first class's word)
                if (ap == nalive) begin
                    pred <= SPRAM == 1 ? 4'd0 : pred_c;
                    pred_best <= SPRAM == 1 ? {NAW{1'b0}} : votes[0];
                    pv_i <= 4'd0;
                    v_ph <= 1'b0;
                    if (SPRAM == 1) state <= M_PRED;
                    else begin
                        rec_kind <= R_RESULT;
                        state <= M_OUT;
                    end
                end else state <= M_RD_B;       // al_raddr = ap
            end
            M_PRED: begin                       // SPRAM = 1: pv_i = 0..9, two cycles each
                v_ph <= !v_ph;
                if (v_ph) begin
                    if (pv_i == 4'd0 || v_sel > pred_best) begin    // votes[pv_i]
                        pred_best <= v_sel;
                        pred <= pv_i;
                    end
                    pv_i <= pv_i + 4'd1;
                    if (pv_i == 4'd9) begin
                        rec_kind <= R_RESULT;
                        state <= M_OUT;
                    end
                end
            end
            M_RD_B: begin                       // s_raddr = al_rdata
                if (SPRAM == 0) state <= M_RD_C;
                else begin
                    // SPRAM = 1: the state word of slot sc -> sreg (read at cw 0)
                    cw <= 5'd1;
                    if (cw != 5'd0) begin
                        sreg <= SRW'(c_rdata);
                        cw <= 5'd0;
                        state <= M_RD_C;
                    end
                end
            end
            M_RD_C: begin                       // s_raddr = al_rdata (class rd_i in rd_v)
                if (SPRAM == 0) begin
                    // the first half of the cell's class (M_RD_D: the second half, the vote)
                    for (rq = 0; rq < 3; rq = rq + 1) rd_q2[rq] <= rd_l2[rq];
                    v_ph <= 1'b0;
                    state <= M_RD_D;
                end else begin
                    // slot sc (class rd_i from slot CM - 10 on) at the bottom; the next slot
                    // next (the byte entering at the top is never read here: the same rotation
                    // as the write-back's, one mux input less on sreg); after a word's last
                    // slot M_RD_B reads the next word
                    sreg <= s_rot8(sreg, wb_new);
                    sc <= sc + 5'd1;
                    v_ph <= 1'b0;
                    if (sc[1:0] == 2'd3) state <= M_RD_B;
                    if (ge_k(32'(sc), CM - 10)) begin
                        if (rd_i == 4'd0 || rd_v > rd_best) begin
                            rd_best <= rd_v;
                            rd_cls <= rd_i;
                        end
                        rd_i <= rd_i + 4'd1;
                        if (rd_i == 4'd9) state <= M_RD_D;
                    end
                end
            end
            M_RD_D: begin                       // vote for rd_cls (SPRAM = 1: u_vram, v_we)
                v_ph <= 1'b1;                       // (v_ph 1: v_sel = votes[rd_cls])
                // SPRAM = 0: v_ph 0 registers the class, v_ph 1 votes
                if (SPRAM == 0 && !v_ph) rd_cls <= rd_cls_c;
                if (SPRAM == 0 && v_ph) votes[rd_cls] <= votes[rd_cls] + 1'b1;
                if (v_ph) begin
                    v_ok[rd_cls] <= 1'b1;
                    if (ap == {NAW{1'b0}}) first_cls <= rd_cls;
                    else if (rd_cls != first_cls) agree <= 1'b0;
                    ap <= ap + 1'b1;
                    state <= M_RD_A;
                end
            end
            // ---------------------------------------------------------- records
            M_OUT: begin
                if (rec_kind == R_STATE) begin
                    if (out_take) state <= M_ST_A;
                end else if (out_take) begin
                    rec_idx <= rec_idx + 6'd1;
                    if (rec_idx == rec_len - 6'd1) state <= M_IDLE;
                end
            end
            M_ST_A: begin                       // s_raddr = {py, px}
                if (SPRAM == 0) state <= M_ST_B;
                else begin
                    // SPRAM = 1: state word rd_i -> sreg (read at cw 0); the first of a cell
                    // continues in M_ST_B (level byte), the others in M_ST_C
                    cw <= 5'd1;
                    if (cw != 5'd0) begin
                        sreg <= SRW'(c_rdata);
                        rd_i <= rd_i + 4'd1;
                        cw <= 5'd0;
                        state <= sc == 5'd0 ? M_ST_B : M_ST_C;
                    end
                end
            end
            M_ST_B: begin
                if (SPRAM == 0) sreg <= SRW'(s_rdata);
                lvl <= l_rdata;
                sc <= 5'd0;
                state <= M_ST_C;
            end
            M_ST_C: if (out_take) begin
                sc <= sc + 5'd1;
                if (sc != 5'd0) sreg <= s_rot8(sreg, wb_new);
                // SPRAM = 1: after a word's last channel (sc - 1 = 3 mod 4) the next word
                if (SPRAM == 1 && sc != 5'd0 && sc[1:0] == 2'd0) state <= M_ST_A;
                if (sc == 5'(C - 1)) begin
                    px <= px + 1'b1;
                    if (px == XB'(GRID_W - 1)) begin px <= {XB{1'b0}}; py <= py + 1'b1; end
                    state <= pix_last ? M_IDLE : M_ST_A;
                    sc <= 5'd0; rd_i <= 4'd0;
                end
            end
            default: state <= M_IDLE;
            endcase
        end
    end

    // ------------------------------------------------------------------ read addresses
    always @(*) begin
        al_raddr = fs_run ? fs_raddr : ap;
        s_raddr = cur_cell;
        qa_raddr = cur_cell;
        a_raddr = {AAW'(sb * CHMAX) + AAW'(gcnt_ch), sj[KMB-1:0]};
        d_raddr = DAW'(wb * GO) + DAW'({27'd0, wj} / UNITS);
        iq_raddr = (SPRAM == 1 ? wjd : wj) + 5'd1;
        // (SPRAM = 1: word 0 from before M_WB_S, see wb_noise)
        n_raddr = NZW'(wb * NL) + (SPRAM == 1 && state != M_WB_S ? {NZW{1'b0}} : NZW'(wj[4:2]));
        case (state)
        M_PIX: begin
            s_raddr = {py, px};
            qa_raddr = {py, px};
        end
        M_GATH: qa_raddr = {gny, gnx};
        M_WB_A: begin
            s_raddr = bcell[wb];
            qa_raddr = bcell[wb];
        end
        M_RD_B, M_RD_C: s_raddr = al_rdata;
        M_ST_A: s_raddr = {py, px};
        default: ;
        endcase
    end

    // SPRAM = 1: the cell SPRAM's port, by state and word counter cw

    always @(*) begin
        c_we = 1'b0;
        c_cell = cur_cell;
        c_word = 4'(cw);
        case (state)
        M_PIX_R: begin
            // the pixel's cell's current words if kept, else Q_c(0) (PAD_CELL, see qpad)
            if (!pix_kept) c_cell = CAW'(PAD_CELL);
            c_word = {2'b11, cw[1:0]};          // (CW_CUR + cw)
        end
        M_PIX_W: begin
            c_we = 1'b1;
            if (ge_k(32'(cw), CW_PREV)) c_word = {1'b1, pw_j[0], pw_j[2:1]};  // (CW_PREV / CW_CUR + pw_j / 2)
        end
        M_GATH: begin
            c_cell = ginx && giny ? {gny, gnx} : CAW'(PAD_CELL);
            // cw 0: the tag; cw >= 1: activation word cw - 1, previous (the tag says this step,
            // g_tag_now at cw 1, then gsel) or current
            if (cw == 5'd0) c_word = 4'(CW_TAG);
            else c_word = {1'b1, !(cw == 5'd1 ? g_tag_now : gsel), wm1[1:0]};
        end
        M_WB_A: begin
            // state words, then current word i read (wa_j = 2 i) and written back as previous
            // word i (wa_j = 2 i + 1)
            c_cell = bcell[wb];
            c_we = wa_j[0];
            c_word = {1'b1, !wa_j[0], wa_j[2:1]};   // (CW_PREV / CW_CUR + wa_j / 2)
        end
        M_WB_B: c_cell = bcell[wb];         // state word 0 (cw = 0)
        M_WB_S, M_WB_T: begin
            // state word wj / 4 - 1 written back at phase 0, word wj / 4 read at phase 4
            c_cell = bcell[wb];
            c_we = cw == 5'd0 && wj != 5'd0;
            c_word = 4'(wj[4:2]) - {3'd0, cw == 5'd0};
        end
        M_WB_W: begin
            c_we = 1'b1;
            c_cell = bcell[wb];
        end
        M_RD_B: begin
            c_cell = al_rdata;
            c_word = 4'(sc[4:2]);
        end
        M_ST_A: begin
            c_cell = {py, px};
            c_word = rd_i;
        end
        default: ;
        endcase
        // write data: state words, tag, current (qreg; M_PIX_W: previous too), and in M_WB_A the
        // previous words straight from the read
        // (the words go out from the bottom of sreg / qreg, which shift in M_WB_W, M_PIX_W)
        if (state == M_WB_A) c_wdata = c_rdata;      // previous word i = current word i
        else if (!ge_k(32'(cw), CW_TAG)) c_wdata = sreg[31:0];
        else if (cw == 5'(CW_TAG)) c_wdata = {16'd0, state == M_PIX_W ? step - 16'd1 : step};
        else c_wdata = 32'(qreg[C-1:0]);
    end

    wire unused_ok = &{1'b0, m_p, m_m, m_ibits, i_fault_x, i_fault_y,
                       pred_best, cur_nvalid, rd_l4[7:0], pv_l4[NAW-1:0],
                       g_groups[63:16]};
endmodule

`resetall
