// xnca_core_adapter: maps the link protocol's core commands (docs/protocol.md 3.3-3.6, the
// engine's core port of rtl/xnca_frame_engine.v) onto the accelerator core's command and byte
// streams (docs/core.md):
//   LOAD_BEGIN  checks the descriptor against the build byte by byte from a block RAM table
//               (DIMENSION_MISMATCH with the field's offset; weight_bytes only within 1 ..
//               MAX_WEIGHT_BYTES), resets the core, starts a core LOAD and sends it the
//               20-byte core descriptor (payload offsets from the same table);
//   LOAD_DATA   forwards the chunk to the core's input stream, running CRC-32 (spec 10); bytes
//               after the core's loader finished its walk are dropped (len_err);
//   LOAD_END    checks length and CRC, pads the core's stream with zero bytes while its loader
//               still asks for payload (len_err), waits for the core's LOAD record, activates
//               the model (a core status or len_err: BAD_ARGUMENT, detail = status / 11): the
//               core's walk measures spec 9's weight_bytes, a wrong one cannot hang the device;
//   CLASSIFY    per image: INIT(report[0]), RUN(report[r] - report[r-1]) ..., split at
//               mutate_at by MUTATE; packed levels are expanded to the smallest pixel of each
//               level; every RESULT record at a report step gives that step's votes,
//               prediction and agreement; `cycles` = clocks from the image's first command
//               to its last record (pixel intake, steps and readouts);
//   READ_STATE  a core STATE record, the requested cells forwarded, the rest drained;
//   RESET       resets the core and drops the model and the last state.
// Everything is sequential and small: the payload is re-read from the engine's payload RAM
// (one byte per 3 cycles, at most 8 bytes held at a time) instead of being copied; report
// results wait in one block RAM (in record order, read out in reply order); the reply header
// is a 3-bit status and a one-byte detail (the len field, body + 3, and the next state follow
// from the op); the descriptor's field checks are one byte subtraction walking a table of
// bounds; LOAD_DATA's CRC and the pixel intake take the bits of the payload RAM's output in
// place (no byte copies); the report-list checks and the mutation's place among the reports
// go through the run's step subtraction (its carry), not comparators of their own;
// READ_STATE's cell index is the cycle counter and the LOAD byte counters share the
// image-index accumulator (both idle then).
// Timing (UP5K at 21 MHz + 10 %; docs/architecture.md section 8): the states that drive the
// core and engine ports have grouped codes (a 4-bit match and two state bits), the reply bytes
// leave through one register stage (the core's ready then comes from registers only), the
// READ_STATE window flag, the report-list end test and the command length checks are
// registered, and the length multiply-add registers its output. The reply header's fields
// follow the state every cycle outside S_RSP (no enable from the respond() sites), the data
// compares behind the checks are registered flags read after a settle state, and the step
// subtraction's SB_MAC16 registers its inputs.
// With DSP_ICE40 = 1 (iCE40UP5K, yosys) all eight SB_MAC16 blocks hold registers and
// arithmetic: the cycle counter, the CLASSIFY seed, the image index / LOAD counters, the CLASSIFY
// lengths (and READ_STATE's, C count + 3), the 8 bytes held (two blocks) and the step
// subtraction with the report step read.
// Deviation from the CPU model: a packed level no pixel produces (level 1 at b = 4) reaches the
// core as the smallest alive pixel (26), i.e. as level 2; hosts packing real pixels never send it.
`default_nettype none

module xnca_core_adapter #(
  parameter integer MAX_PAYLOAD = 1024,
  parameter integer GRID_W = 28,
  parameter integer GRID_H = 28,
  parameter integer CHANNELS = 20,
  parameter integer MAX_P = 80,
  parameter integer MAX_M = 80,
  parameter integer MAX_WBITS = 4,
  parameter integer MAX_ABITS = 4,
  parameter integer MAX_WEIGHT_BYTES = 16384,
  // 1: the core takes pixel levels (xnca_core PIX_LEVELS): the unpacked level goes out as it is
  // (level 1 at b = 4 as 2, the level of the pixel 26 that 0 sends otherwise); 0: the smallest
  // pixel of the level
  parameter integer PIX_LEVELS = 0,
  // 1 (iCE40UP5K, yosys builds only): the image cycle counter and the image index adder in two
  // SB_MAC16 DSP blocks (the part has 8, the core uses 1) instead of ~70 logic cells
  parameter integer DSP_ICE40 = 0
) (
  input  wire        clk_i,
  input  wire        rst_i,
  // engine side (xnca_frame_engine core port)
  input  wire        cmd_valid_i,
  output wire        cmd_ready_o,
  input  wire [7:0]  cmd_op_i,
  input  wire [15:0] cmd_len_i,
  output wire [PW-1:0] pl_addr_o,
  input  wire [7:0]  pl_data_i,
  output wire        rsp_valid_o,
  input  wire        rsp_ready_i,
  output wire [7:0]  rsp_status_o,
  output wire [15:0] rsp_detail_o,
  output wire [15:0] rsp_len_o,
  output wire [7:0]  rsp_data_o,
  output wire        rsp_data_valid_o,
  input  wire        rsp_data_ready_i,
  // core side (xnca_core, docs/core.md)
  output wire        core_rst_o,
  output wire        core_cmd_valid_o,
  input  wire        core_cmd_ready_i,
  output wire [2:0]  core_cmd_op_o,
  output wire [15:0] core_cmd_steps_o,
  output wire [31:0] core_cmd_seed_o,
  output wire [31:0] core_cmd_image_o,
  output wire        core_in_valid_o,
  input  wire        core_in_ready_i,
  output wire [7:0]  core_in_data_o,
  input  wire        core_out_valid_i,
  output wire        core_out_ready_o,
  input  wire [7:0]  core_out_data_i,
  input  wire        core_out_last_i
);

  localparam integer PW = $clog2(MAX_PAYLOAD);
  localparam integer NCELLS = GRID_W * GRID_H;
  localparam [7:0] OP_LOAD_BEGIN = 8'h03, OP_LOAD_DATA = 8'h04, OP_LOAD_END = 8'h05,
                   OP_CLASSIFY = 8'h06, OP_READ_STATE = 8'h07, OP_RESET = 8'h08;
  localparam [2:0] ST_BAD_CRC = 3'd1, ST_BAD_LENGTH = 3'd2, ST_UNKNOWN = 3'd3, ST_DIM = 3'd4,
                   ST_BAD_ARG = 3'd6, ST_NO_MODEL = 3'd7;     // (status codes, all below 8)
  localparam [2:0] C_LOAD = 3'd1, C_INIT = 3'd2, C_RUN = 3'd3, C_MUTATE = 3'd4, C_STATE = 3'd5;
  // packed grid bytes per input-bits value b (docs/protocol.md 3.4, format 0)
  localparam integer G1I = (NCELLS * 1 + 7) / 8, G2I = (NCELLS * 2 + 7) / 8,
                     G3I = (NCELLS * 3 + 7) / 8, G4I = (NCELLS * 4 + 7) / 8;
  localparam [15:0] G1 = G1I[15:0], G2 = G2I[15:0], G3 = G3I[15:0], G4 = G4I[15:0];
  // counter widths from the build (logic is scarce on the UP5K): weight bytes (received,
  // total, the weight_bytes sum; one spare bit), STATE stream offsets, a cell + count of
  // READ_STATE (count <= 1024), reply bytes of one CLASSIFY image (<= 6 + 22 * 16)
  localparam integer WBW = $clog2(MAX_WEIGHT_BYTES + 1) + 1;
  localparam integer CHW = $clog2(CHANNELS);
  localparam integer NCW = $clog2(NCELLS + 1024 + 1);
  localparam integer LW = WBW > 16 ? WBW : 16;

  // Smallest pixel of level g at b input bits (spec 6 inverted; xnca_link_pixel_for_level).
  function [511:0] level_pixels;
    input unused_arg;
    integer b, g, top, p;
    begin
      level_pixels = {511'd0, unused_arg};
      for (b = 1; b <= 4; b = b + 1) begin
        top = (1 << b) - 1;
        for (g = 0; g < 16; g = g + 1) begin
          if (g == 0) p = 0;
          else if (g == 1) p = 26;
          else begin
            p = (255 * g - 127 + top - 1) / top;
            if (p < 26) p = 26;
            if (p > 255) p = 255;
          end
          level_pixels[((b - 1) * 16 + g) * 8 +: 8] = p[7:0];
        end
      end
    end
  endfunction
  localparam [511:0] LEVEL_PIXEL = level_pixels(1'b0);

  // x > k and x < k for a constant k as plain logic: yosys maps every `<` / `>` onto a carry
  // chain (one logic cell per bit on the iCE40) even when one side is a constant
  function gt_k;
    input [31:0] x;
    input [31:0] k;
    integer i;
    begin
      gt_k = 1'b0;
      for (i = 0; i < 32; i = i + 1)    // x[i:0] > k[i:0], from the LSB up
        gt_k = k[i] ? (x[i] & gt_k) : (x[i] | gt_k);
    end
  endfunction
  function lt_k;                        // (k >= 1)
    input [31:0] x;
    input [31:0] k;
    begin
      lt_k = !gt_k(x, k - 32'd1);
    end
  endfunction

  // x * CHANNELS as shifts and adds of the constant's set bits (a `*` would take a DSP)
  function [23:0] times_channels;
    input [23:0] x;
    integer i;
    begin
      times_channels = 24'd0;
      for (i = 0; i < 6; i = i + 1)
        if (CHANNELS[i]) times_channels = times_channels + (x << i);
    end
  endfunction

  // ---------------------------------------------------------------- state
  localparam [5:0]
    S_IDLE = 6'd0, S_F1 = 6'd1, S_F2 = 6'd2, S_RSP = 6'd55, S_LOCAL = 6'd52, S_READ = 6'd5,
    S_CK0 = 6'd6, S_CK1 = 6'd7, S_CK2 = 6'd8, S_LB_RST = 6'd9, S_LB_CMD = 6'd56,
    S_LB_DESC = 6'd60, S_LD_HEAD = 6'd12, S_LD_NEXT = 6'd13, S_LD_FEED = 6'd62, S_LD_CRC = 6'd15,
    S_LE_HEAD = 6'd16, S_LE_WAIT = 6'd63, S_CL_HEAD = 6'd18, S_CL_REP = 6'd19,
    S_CL_REP_CHECK = 6'd20, S_CL_LEN = 6'd21, S_CL_IMG = 6'd22, S_CL_REP_LO = 6'd23,
    S_CL_REP_HI = 6'd24, S_CL_DECIDE = 6'd25, S_CL_CMD = 6'd57, S_CL_PIX = 6'd27,
    S_CL_PIX_GOT = 6'd28, S_CL_PIX_OUT = 6'd61, S_CL_WAIT = 6'd30, S_CL_OUT_A = 6'd31,
    S_CL_OUT_B = 6'd32, S_CL_OUT_C = 6'd53, S_RS_HEAD = 6'd34, S_RS_CMD = 6'd58,
    S_RS_STREAM = 6'd54, S_RESET = 6'd37, S_CL_REP_GOT = 6'd38, S_LB_FETCH = 6'd39,
    S_CK3 = 6'd40, S_CL_HEAD0 = 6'd41, S_LB_CNT = 6'd42, S_CL_REP_OK = 6'd43, S_CRC_ROT = 6'd44, S_CL_NEXT = 6'd45,
    S_CK4 = 6'd46, S_CK5 = 6'd47, S_LB_FETCH0 = 6'd48,
    // (one settle cycle each before a state whose checks use registered compares)
    S_CL_HEAD_W = 6'd3, S_LD_HEAD_W = 6'd4, S_LE_HEAD_W = 6'd10, S_RS_HEAD_W = 6'd11,
    S_CL_REP_W = 6'd14, S_CL_REP_PRE = 6'd17;

  // (the codes of the states that drive the core and engine ports are grouped so that the
  // ports decode two state bits after one 4-bit group match, not the whole state: 52..55 the
  // reply bytes and header, 56..58 the core commands, 60..63 the core's input bytes)
  reg [5:0]  st;
  wire       st_rsp_grp = st[5:2] == 4'd13;    // S_LOCAL, S_CL_OUT_C, S_RS_STREAM, S_RSP
  wire       st_cmd_grp = st[5:2] == 4'd14;    // S_LB_CMD, S_CL_CMD, S_RS_CMD (59 unused)
  wire       st_in_grp = st[5:2] == 4'd15;     // S_LB_DESC, S_CL_PIX_OUT, S_LD_FEED, S_LE_WAIT
  reg [5:0]  ret;              // return state of the payload-read subroutine
  // the command's op and payload length: the engine holds them until the reply has been sent
  wire [7:0]  op_q = cmd_op_i;
  wire [15:0] len_q = cmd_len_i;
  reg [PW:0] addr_q;           // payload address being read (PW+1 bits: may equal MAX_PAYLOAD)
  // the byte of a one-byte read: the payload RAM's output, which holds it while addr_q holds
  // (every user reads it before addr_q moves on)
  wire [7:0] fb = pl_data_i;
  wire [175:112] sh;           // the last 8 bytes read by S_READ, newest at the top (an n-byte
                               // read leaves byte j at sh[176 - 8n + 8j +: 8])
  wire [15:0] rw;              // the report step read by S_CL_REP / S_CL_REP_LO (sh keeps the
                               // CLASSIFY head meanwhile)
  wire       rd_rep = ret == S_CL_REP_PRE || ret == S_CL_REP_HI;
  // sh, rw and c_steps are registers (fabric) or SB_MAC16 registers (DSP_ICE40), see below
  wire       rd_shift = st == S_F2 && nread != 5'd0;
  wire       sh_shift = rd_shift && !rd_rep;     // sh <= {pl_data_i, sh[175:120]}
  wire       rw_shift = rd_shift && rd_rep;      // rw <= {pl_data_i, rw[15:8]}
  // c_steps <= dec_target - done_steps, and steps_le (done_steps <= dec_target, the
  // subtraction's carry) into steps_le_q: the run's step count at S_CL_DECIDE, the report
  // list checks at S_CL_REP_GOT (no comparators of their own)
  wire       steps_load = st == S_CL_DECIDE || st == S_CL_REP_GOT;
  wire       steps_le;
  reg [4:0]  nread;            // bytes left for S_READ
  reg [4:0]  ridx;

  // response
  // response: the status (all codes fit in 3 bits) and a one-byte detail, or (rsp_want) the
  // CLASSIFY length the payload should have had; the body length and the state after the
  // header follow from the op (only replies with status 0 have a body)
  reg [2:0]  rsp_st;
  reg [7:0]  rsp_det;
  reg        rsp_want;
  assign rsp_valid_o = st == S_RSP;
  assign rsp_status_o = {5'd0, rsp_st};
  wire       op_ld = op_q[3:0] == 4'(OP_LOAD_DATA), op_le = op_q[3:0] == 4'(OP_LOAD_END);
  wire       op_cl = op_q[3:0] == 4'(OP_CLASSIFY), op_rs = op_q[3:0] == 4'(OP_READ_STATE);
  wire       unused_op_hi = ^op_q[7:4];   // (replies with status 0 come from known ops only)
  assign cmd_ready_o = st == S_IDLE;
  // the offered command's length check, registered: the engine's frame fields hold from the
  // frame's end, at least a cycle before cmd_valid_i rises, until the reply has been sent (no
  // compare of cmd_len_i on the S_IDLE paths)
  reg        len_bad_q;
  always @(posedge clk_i)
    case (cmd_op_i)
      OP_LOAD_BEGIN: len_bad_q <= cmd_len_i != 16'd28;
      OP_LOAD_DATA:  len_bad_q <= lt_k(32'(cmd_len_i), 5);
      OP_LOAD_END:   len_bad_q <= cmd_len_i != 16'd4;
      OP_CLASSIFY:   len_bad_q <= lt_k(32'(cmd_len_i), 16);
      OP_READ_STATE: len_bad_q <= cmd_len_i != 16'd6;
      default:       len_bad_q <= cmd_len_i != 16'd0;    // RESET (other ops: not read)
    endcase
  // report steps (rd_rep: the list check and the run) are read at 16 + 2 rep_i (steps, offset 8,
  // after the last), byte nread == 1 second: addr_q keeps the next grid's offset meanwhile
  wire [4:0] rep_row = rep_i == cl_nrep[4:0] ? 5'd4 : rep_i + 5'd8;
  // the same compare registered for S_CL_REP_OK (rep_i and the head hold for the 2-byte read
  // before it): off the report-list checks' enable paths
  reg        rep_end_q;
  always @(posedge clk_i) rep_end_q <= rep_i == cl_nrep[4:0];
  assign pl_addr_o = rd_rep ? PW'({rep_row, nread == 5'd1}) : addr_q[PW-1:0];

  // model / load bookkeeping
  reg        model_ok, loading, have_state;
  // byte counts are as wide as the build needs (CLASSIFY lengths: 24 bits); protocol fields
  // are compared in full
  // weight bytes received, and still to come (total - received): registers, or (DSP_ICE40) the
  // two halves of the image-index SB_MAC16, which is idle while a model loads. Both are loaded
  // at S_LB_CNT from an 8-byte read at descriptor offset 18 (sh[112 +: 16]: weight_bytes' low
  // half, sh[128 +: 16]: its high half, 0 once checked), stepped once per LOAD_DATA byte
  wire [WBW-1:0] received, left;   // (WBW <= 16 where DSP_ICE40 = 1)
  wire        ld_cnt_load = st == S_LB_CNT;
  wire        ld_cnt_step;        // (S_LD_CRC's last bit)
  reg [31:0] crc;
  // the payload length is measured by the core: its loader walks exactly spec 9's weight_bytes
  // for the descriptor's dimensions. len_err: a LOAD_DATA byte arrived after the core's LOAD
  // record (too many), or LOAD_END had to pad the core's stream with zero bytes (too few)
  reg        len_err;
  wire [31:0] received32 = 32'(received);
  reg [3:0]  crc_n;
  assign ld_cnt_step = st == S_LD_CRC && crc_n == 4'd7;
  wire       crc_rot = st == S_CRC_ROT;
  reg        ld_rec_done;
  reg [7:0]  ld_rec_status;
  reg [3:0]  in_bits;          // b of the active / loading model

  // LOAD_BEGIN checks (docs/protocol.md 3.3) byte by byte from a block RAM table, in the CPU
  // model's order (host/xnca_devmodel.c check_desc: variant, L, grid w / h, C, P, M, m, k, S, b,
  // noise, fire, weight_bytes): no comparators per field. Entry ridx names a descriptor byte
  // (a field's bytes most significant first) and its field's bounds' bytes; one subtraction
  // compares the byte with the upper bound byte (S_CK3), then the lower (S_CK4), keeping
  // whether the field's bytes so far equal each bound's (ck_eqhi / ck_eqlo) and whether the
  // field is already out of range (ck_bad); the field's last entry (its lowest byte, at the
  // field's offset: the detail, addr_q) decides. M's bounds depend on L (0: M = 0), so the
  // table has a second half for L = 0 (ck_lz, from L's entry). weight_bytes is checked only
  // within 1 .. the build's largest (the counters' width); whether it is spec 9's value for
  // these dimensions is measured by the core (len_err, LOAD_END). A third part of the table
  // holds the payload offset of each core descriptor byte (docs/core.md 3: the protocol
  // descriptor's fields re-ordered; S_LB_FETCH).
  // table address {desc walk, L = 0, entry, word}: word 0 {cap_lz, end, last, offset},
  // word 1 the upper bound's byte, word 2 the lower bound's
  localparam integer CK_N = 22;        // check entries
  function [23:0] ck_entry;            // {cap_lz, end, last, offset[4:0], hi[7:0], lo[7:0]}
    input integer i;
    input integer lz;
    reg [4:0] off;
    reg [31:0] hi, lo;
    integer j;                         // byte of the field (0: its lowest)
    begin
      j = 0; hi = 0; lo = 0; off = 0;
      case (i)
        0:  begin off = 0; hi = 3; lo = 3; end                          // variant
        1:  begin off = 1; hi = 2; lo = 0; end                          // L
        2, 3: begin off = 2; j = 3 - i; hi = GRID_W; lo = GRID_W; end
        4, 5: begin off = 4; j = 5 - i; hi = GRID_H; lo = GRID_H; end
        6:  begin off = 6; hi = CHANNELS; lo = CHANNELS; end
        7, 8: begin off = 8; j = 8 - i; hi = MAX_P; lo = 8; end
        9, 10: begin off = 10; j = 10 - i; hi = lz != 0 ? 0 : MAX_M; lo = lz != 0 ? 0 : 8; end
        11: begin off = 7; hi = MAX_WBITS; lo = 1; end                  // m
        12: begin off = 12; hi = MAX_ABITS; lo = 1; end                 // k
        13: begin off = 13; hi = 8; lo = 2; end                         // S
        14: begin off = 14; hi = 4; lo = 1; end                         // b
        15: begin off = 15; hi = 127; lo = 0; end                       // noise
        16, 17: begin off = 16; j = 17 - i; hi = 256; lo = 0; end       // fire
        default: begin off = 18; j = 21 - i; hi = MAX_WEIGHT_BYTES; lo = 1; end
      endcase
      ck_entry = {i == 1, i == CK_N - 1, j == 0, off + 5'(j), 8'(hi >> (8 * j)), 8'(lo >> (8 * j))};
    end
  endfunction
  // payload offset of core descriptor byte r (bytes 4..6 are constants: C, C - 11, 10; after
  // the last, 20: weight_bytes again, 8 bytes for the LOAD counters)
  function [4:0] desc_offset;
    input integer r;
    begin
      case (r)
        0, 1, 2, 3: desc_offset = 5'(r + 2);     // grid_w, grid_h
        7: desc_offset = 5'd1;                   // layers
        8, 9, 10, 11: desc_offset = 5'(r);       // P, M
        12: desc_offset = 5'd7;                  // m
        13, 14, 15: desc_offset = 5'(r - 1);     // k, S, b
        16, 17, 18, 20: desc_offset = 5'(r + 2 - 4 * (r / 20));   // weight_bytes
        default: desc_offset = 5'd21;
      endcase
    end
  endfunction
  function [4095:0] ck_table;
    input unused_arg;
    integer a, e;
    reg [23:0] en;
    begin
      ck_table = {4095'd0, unused_arg};
      for (a = 0; a < 512; a = a + 1) begin
        e = (a >> 2) & 31;
        en = ck_entry(e, (a >> 7) & 1);
        if (a >= 256) ck_table[8 * a +: 8] = {3'd0, desc_offset(e)};
        else if (e < CK_N && (a & 3) == 0) ck_table[8 * a +: 8] = en[23:16];
        else if (e < CK_N && (a & 3) == 1) ck_table[8 * a +: 8] = en[15:8];
        else if (e < CK_N && (a & 3) == 2) ck_table[8 * a +: 8] = en[7:0];
      end
    end
  endfunction
  localparam [4095:0] CK_TABLE = ck_table(1'b0);
  (* ram_style = "block" *) reg [7:0] ck_mem [0:511];
  integer cki;
  initial for (cki = 0; cki < 512; cki = cki + 1) ck_mem[cki] = CK_TABLE[8 * cki +: 8];
  reg  [7:0] ck_q;
  reg        ck_lz, ck_eqhi, ck_eqlo, ck_bad;
  wire [8:0] ck_addr = {st == S_LB_FETCH0, ck_lz, ridx, st == S_CK3, st == S_CK2};
  always @(posedge clk_i) ck_q <= ck_mem[ck_addr];
  // the payload byte fb against the table's bound byte ck_q: one subtraction
  wire [8:0] ck_diff = {1'b0, fb} - {1'b0, ck_q};
  wire       ck_eq = ck_diff[7:0] == 8'd0;
  wire       ck_lt = ck_diff[8];
  wire [7:0] core_desc = ridx == 5'd4 ? 8'(CHANNELS) : ridx == 5'd5 ? 8'(CHANNELS - 11)
                       : ridx == 5'd6 ? 8'd10 : fb;

  // CLASSIFY head: bytes 0..7 (image, seed) go to the image / seed holders (S_CL_HEAD0), then
  // bytes 8..15 (an 8-byte read: byte j at sh[48 + 8j +: 8]) stay in sh until the
  // command ends (its other reads go to rw or fb)
  wire        head_load = st == S_CL_HEAD0;     // image and seed (sh[112 +: 64]) to the holders
  wire [15:0] cl_steps = sh[112 +: 16], cl_mut = sh[128 +: 16];
  wire [7:0]  cl_n = sh[144 +: 8];
  wire [7:0]  cl_nrep = sh[152 +: 8], cl_fmt = sh[160 +: 8];
  // cl_mut_en registered: sh holds the head from S_CL_HEAD on (report and pixel reads go to rw
  // and fb), and its first reader (S_CL_REP_OK, the length DSP at S_CL_LEN) comes cycles later
  reg        cl_mut_en;
  always @(posedge clk_i) cl_mut_en <= cl_mut != 16'hffff;
  reg [15:0] grid_bytes;       // G of the active model
  always @(*) begin
    case (in_bits)
      4'd1: grid_bytes = G1;
      4'd2: grid_bytes = G2;
      4'd3: grid_bytes = G3;
      default: grid_bytes = G4;
    endcase
  end
  // reply bytes of one image, 6 + 22 nr: counted up by 22 in the report-list check (no adders)
  reg  [8:0]  rbytes;
  // CLASSIFY lengths: want = 16 + 2 nr + n G (1 + mutating) <= 48 + 510 G4, reply <= 255 * 358
  localparam integer WLW0 = $clog2(48 + 510 * G4I + 1);
  localparam integer WLW = WLW0 > 17 ? WLW0 : 17;     // (compared with the 16-bit length)
  // the expected payload length (want_v, checked first), then (len_pass2) the reply length
  // (reply_v): summed image by image in want_len / reply_len, or (USE_DSP) one SB_MAC16
  // multiply-add that gives the reply length once len_pass2 is set
  reg [WLW-1:0] want_len;
  reg [16:0] reply_len;
  reg        len_pass2;
  reg [1:0]  len_wait;         // S_CL_LEN: cycles for the length registers (and their registered
                               // compares below) to follow their inputs
  wire [WLW-1:0] want_v, reply_v;
  wire [16:0] img_bytes = cl_mut_en ? {grid_bytes, 1'b0} : {1'b0, grid_bytes};  // G (1 + mutating)
  reg [7:0]  cnt8;             // images counted / processed
  wire [15:0] rep_v = rw;      // the report step being run to (S_CL_REP_LO .. S_CL_WAIT)
  reg [15:0] done_steps;       // (also the previous report step while the list is checked)
  reg [4:0]  rep_i;
  reg        started, mutated, is_report;
  // S_CL_DECIDE: the mutation falls before report rep_i (mut_rep: the first report after
  // mutate_at, found by the report list check; 16 when none): run to mutate_at first (INIT /
  // RUN), or mutate once the steps done are mutate_at (at_mut; from the image's start when the
  // report before mut_rep is mutate_at: at_mut_init)
  reg  [4:0] mut_rep;
  reg        at_mut, at_mut_init, prev_eq;
  wire       dec_mut = cl_mut_en && !mutated && rep_i == mut_rep;
  wire       dec_to_mut = dec_mut && !at_mut;
  wire       dec_mutate = dec_mut && at_mut;
  // (while the report list is checked: the report step or steps just read, or (chk_mut)
  // mutate_at)
  reg        checking, chk_mut, steps_le_q;
  wire [15:0] dec_target = (checking ? chk_mut : dec_to_mut) ? cl_mut : rep_v;
  reg [2:0]  c_op;
  wire [15:0] c_steps;
  // result RAM read order: report or_r's record bytes or_j = 8..27 (votes), 6, 7 (pred, agree)
  reg [3:0]  or_r;
  reg [4:0]  or_j;
  wire       res_byte;         // reply byte ok >= 6
  wire [31:0] cyc;             // clocks of the image (holds its final count once cyc_run drops)
  reg        cyc_run;
  // pixel expansion
  // pixel expansion, one bit per cycle (no variable shifters): bit pcnt of the packed byte fb
  // (LSB first; 8: none left, read the next; addr_q moves on with its last bit, so fb holds
  // meanwhile: no byte copy), lvl collects bit lk of the pixel's level
  localparam integer PXW = $clog2(NCELLS);
  reg [PXW-1:0] pix_n;
  reg [3:0]  pcnt;
  reg [3:0]  lvl;
  reg [1:0]  lk;
  reg        dry;              // an unused mutation grid: unpacked and dropped (no adder to skip it)
  // the level-to-pixel table is a block RAM ROM read every cycle at the level's next value, so
  // lvl_pixel is lvl's pixel whenever lvl holds (S_CL_PIX_OUT)
  reg  [3:0] lvl_d;
  always @(*) begin
    lvl_d = lvl;
    if (st == S_CL_PIX && !pcnt[3]) lvl_d[lk] = fb[pcnt[2:0]];
    if ((st == S_CL_PIX_OUT && (core_in_ready_i || dry)) || rst_i) lvl_d = 4'd0;
  end
  (* ram_style = "block" *) reg [7:0] lp_mem [0:63];
  integer lpi;
  initial for (lpi = 0; lpi < 64; lpi = lpi + 1) lp_mem[lpi] = LEVEL_PIXEL[8 * lpi +: 8];
  reg  [7:0] lvl_pixel;
  always @(posedge clk_i) begin
    lvl <= lvl_d;
    lvl_pixel <= lp_mem[{in_bits[1:0] - 2'd1, lvl_d}];
  end
  // record sink (core output bytes that are not forwarded)
  reg [5:0]  rec_k;
  reg        rec_done;
  reg        capture;
  // report results: 22 record bytes per report step, at 32 r
  // (no_rw_check: the replies read it only once the image's records are all written; without it
  // yosys adds an 8-bit bypass register and mux)
  (* no_rw_check *) reg [7:0] rram [0:511];
  wire [8:0] rram_raddr;        // (stable while S_CL_OUT_A .. S_CL_OUT_C wait for a byte)
  reg [7:0]  rram_q;
  // write port straight from the record sink (no pipeline registers): a RESULT record's bytes
  // 6..27 (pred, agree, votes) of report r at 32 r + byte, the record's alive count (bytes 4, 5;
  // the image's last record wins) at 4, 5; read in reply order by or_r / or_j
  wire       sink_take;       // a core output byte taken by the record sink
  wire       rram_alive = rec_k == 6'd4 || rec_k == 6'd5;
  wire       rram_rep = capture && gt_k(32'(rec_k), 5) && !gt_k(32'(rec_k), 27);
  wire       rram_we = sink_take && (rram_alive || rram_rep);
  wire [8:0] rram_waddr = {rram_alive ? 4'd0 : rep_i[3:0], rec_k[4:0]};
  wire [7:0] rram_wdata = core_out_data_i;
  always @(posedge clk_i) begin
    if (rram_we) rram[rram_waddr] <= rram_wdata;
    rram_q <= rram[rram_raddr];
  end
  // reply byte counter
  reg [8:0]  ok;               // (replies: LOAD_DATA 8, LOAD_END 4, CLASSIFY <= 358 per image)
  assign res_byte = ok[8:3] != 6'd0 || (ok[2] && ok[1]);
  // reply bytes 0, 1: the alive count (record bytes 4, 5 at 4, 5); from 6 on: or_r, or_j
  assign rram_raddr = res_byte ? {or_r, or_j} : {8'd2, ok[0]};
  // READ_STATE window in cells, not bytes (no x * CHANNELS for the window): after the record's
  // header byte (rs_hdr) the cells rs_cell .. rs_cell_end - 1 are forwarded, the rest drained up
  // to the record's last byte (core_out_last_i). The cell index rs_pos is the image cycle counter
  // (idle outside CLASSIFY): all ones at S_RS_HEAD, + 1 at the header byte and at each cell's
  // last byte; rs_on: a cell before this one was forwarded; rs_ch counts a cell's channel bytes
  reg           rs_hdr, rs_on;
  reg [CHW-1:0] rs_ch;
  wire          rs_cell_end_byte = rs_ch == CHW'(CHANNELS - 1);
  // READ_STATE: cell u32 at sh[112], count u16 at sh[144]; the cell is checked in NCW bits
  // (an 8-byte read: bytes 6, 7 are not the command's; the count's place is cl_n's, the DSP
  // length multiplier's input)
  wire [15:0] rs_count = sh[144 +: 16];
  wire [NCW-1:0] rs_cell = sh[112 +: NCW];
  wire [NCW-1:0] rs_cell_end = rs_cell + NCW'(rs_count[10:0]);
  wire       rs_bad = rs_count == 16'd0 || gt_k(32'(rs_count), 1024) || sh[112 + NCW +: 32 - NCW] != 0 ||
                      gt_k(32'(rs_cell), NCELLS - 1) || gt_k(32'(rs_cell_end), NCELLS);
  wire [NCW-1:0] rs_pos;
  wire       rs_in = (rs_on || rs_pos == rs_cell) && rs_pos != rs_cell_end;
  // rs_in registered (its adder and compares stay off the core's ready path): rs_in_q is rs_in
  // of the cell being streamed once rs_in_ok; the core waits one cycle after the header byte and
  // after each cell's last byte while it catches up (READ_STATE replies carry no cycle count)
  reg        rs_in_q, rs_in_ok;
  reg        rs_stream_q;      // st == S_RS_STREAM, as its own register (the core's ready path)
  wire       rs_pos_step = rs_stream_q && out_take && (rs_hdr || rs_cell_end_byte);
  always @(posedge clk_i) begin
    rs_in_q <= rs_in;
    rs_in_ok <= !rs_pos_step;
  end
  wire       rs_fwd_ok = !rs_hdr && rs_in_ok && rs_in_q;

  // ---------------------------------------------------------------- 32-bit arithmetic
  // the image cycle counter (all ones at S_CL_IMG, +1 per clock while cyc_run), the CLASSIFY
  // seed and the index of the current image (image + n), the CLASSIFY lengths: fabric
  // registers and adders, or SB_MAC16 blocks where DSP_ICE40 = 1 in a yosys build (simulators
  // take the fabric version, unless XNCA_SIM_ICE40_DSP is defined and a SB_MAC16 model given)
  wire        cyc_load = st == S_CL_IMG || st == S_RS_HEAD;
  wire        cyc_step = cyc_run || rs_pos_step;
  assign      rs_pos = cyc[NCW-1:0];
  wire        img_next = st == S_CL_IMG && cnt8 != 8'd0;   // the next image: image index + 1
  wire [31:0] image_idx, cl_seed;
`ifdef SYNTHESIS
`define XNCA_ADAPTER_DSP
`elsif XNCA_SIM_ICE40_DSP
`define XNCA_ADAPTER_DSP
`endif
`ifdef XNCA_ADAPTER_DSP
  localparam integer USE_DSP = DSP_ICE40;
`else
  localparam integer USE_DSP = 0 * DSP_ICE40;   // (simulators: the fabric version)
`endif
  generate
    if (USE_DSP != 0) begin : g_dsp
`ifdef XNCA_ADAPTER_DSP
      // the DSPs' cascade outputs are not used
      wire [5:0] dsp_co;
      wire [6:0] dsp_accumco, dsp_signextout;
      // accumulator: O = Q, Q <= load ? {C, D} : Q + 1 (the bottom adder's carry-in is 1, the
      // top half takes its carry), clocked while CE
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_LOWERINPUT(2'b00), .TOPADDSUB_UPPERINPUT(1'b0),
        .TOPADDSUB_CARRYSELECT(2'b10), .BOTOUTPUT_SELECT(2'b01), .BOTADDSUB_LOWERINPUT(2'b00),
        .BOTADDSUB_UPPERINPUT(1'b0), .BOTADDSUB_CARRYSELECT(2'b01)
      ) u_cyc (
        .CLK(clk_i), .CE(cyc_load || cyc_step), .C(16'hffff), .A(16'd0), .B(16'd0), .D(16'hffff),
        .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0), .IRSTTOP(1'b0), .IRSTBOT(1'b0),
        .ORSTTOP(1'b0), .ORSTBOT(1'b0), .OLOADTOP(cyc_load), .OLOADBOT(cyc_load),
        .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0), .OHOLDTOP(1'b0), .OHOLDBOT(1'b0), .CI(1'b0),
        .ACCUMCI(1'b0), .SIGNEXTIN(1'b0), .O(cyc), .CO(dsp_co[0]), .ACCUMCO(dsp_accumco[0]), .SIGNEXTOUT(dsp_signextout[0])
      );
      // the image index: an accumulator in the output registers, O = Q, loaded with the head's
      // image at head_load, + 1 as each further image starts (img_next). While a model loads
      // (no CLASSIFY runs then) the LOAD byte counters: top received (+ A = 1), bottom left
      // (- 1: ADDSUBBOT, never below 0, so the top half takes no carry)
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_LOWERINPUT(2'b00), .TOPADDSUB_UPPERINPUT(1'b0),
        .TOPADDSUB_CARRYSELECT(2'b10), .BOTOUTPUT_SELECT(2'b01), .BOTADDSUB_LOWERINPUT(2'b00),
        .BOTADDSUB_UPPERINPUT(1'b0), .BOTADDSUB_CARRYSELECT(2'b01)
      ) u_image (
        .CLK(clk_i), .CE((head_load && !loading) || img_next || ld_cnt_load || ld_cnt_step),
        .C(sh[128 +: 16]), .A({15'd0, loading}), .B(16'd0), .D(sh[112 +: 16]), .AHOLD(1'b0),
        .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0), .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(1'b0),
        .ORSTBOT(1'b0), .OLOADTOP(head_load || ld_cnt_load), .OLOADBOT(head_load || ld_cnt_load),
        .ADDSUBTOP(1'b0), .ADDSUBBOT(loading), .OHOLDTOP(1'b0), .OHOLDBOT(1'b0),
        .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0), .O(image_idx), .CO(dsp_co[1]), .ACCUMCO(dsp_accumco[1]),
        .SIGNEXTOUT(dsp_signextout[1])
      );
      // the seed: held in the output registers, O = Q, Q <= {C, D} (load) while CE
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_LOWERINPUT(2'b00), .TOPADDSUB_UPPERINPUT(1'b1),
        .TOPADDSUB_CARRYSELECT(2'b00), .BOTOUTPUT_SELECT(2'b01), .BOTADDSUB_LOWERINPUT(2'b00),
        .BOTADDSUB_UPPERINPUT(1'b1), .BOTADDSUB_CARRYSELECT(2'b00)
      ) u_seed (
        .CLK(clk_i), .CE(head_load), .C(sh[160 +: 16]), .A(16'd0), .B(16'd0), .D(sh[144 +: 16]),
        .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0), .IRSTTOP(1'b0), .IRSTBOT(1'b0),
        .ORSTTOP(1'b0), .ORSTBOT(1'b0), .OLOADTOP(1'b1), .OLOADBOT(1'b1), .ADDSUBTOP(1'b0),
        .ADDSUBBOT(1'b0), .OHOLDTOP(1'b0), .OHOLDBOT(1'b0), .CI(1'b0), .ACCUMCI(1'b0),
        .SIGNEXTIN(1'b0), .O(cl_seed), .CO(dsp_co[2]), .ACCUMCO(dsp_accumco[2]), .SIGNEXTOUT(dsp_signextout[2])
      );
      // CLASSIFY lengths, registered (an unregistered 16 x 16 multiply-add is too slow for the
      // fabric paths around it): O <= A * B + {C, D}: n * G (1 + mutating) + 16 + 2 nr
      // (pass 1), n * (6 + 22 nr) + 3 (pass 2: the len field), READ_STATE count * C + 3; every
      // reader waits a cycle after the inputs settle (len_wait; READ_STATE sets them at S_IDLE)
      wire [31:0] len_o;
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_LOWERINPUT(2'b10), .TOPADDSUB_UPPERINPUT(1'b1),
        .TOPADDSUB_CARRYSELECT(2'b10), .BOTOUTPUT_SELECT(2'b01), .BOTADDSUB_LOWERINPUT(2'b10),
        .BOTADDSUB_UPPERINPUT(1'b1), .BOTADDSUB_CARRYSELECT(2'b00)
      ) u_len (
        .CLK(clk_i), .CE(1'b1), .C(16'd0), .A({5'd0, sh[152 +: 3] & {3{op_rs}}, cl_n}),
        .B(len_pass2 ? {7'd0, rbytes} : img_bytes[15:0]),
        .D(len_pass2 ? 16'd3 : 16'd16 + {7'd0, cl_nrep, 1'b0}), .AHOLD(1'b0), .BHOLD(1'b0),
        .CHOLD(1'b0), .DHOLD(1'b0), .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(1'b0),
        .ORSTBOT(1'b0), .OLOADTOP(1'b0), .OLOADBOT(1'b0), .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0),
        .OHOLDTOP(1'b0), .OHOLDBOT(1'b0), .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0),
        .O(len_o), .CO(dsp_co[3]), .ACCUMCO(dsp_accumco[3]), .SIGNEXTOUT(dsp_signextout[3])
      );
      // the payload bytes held (sh, 64 bits): two SB_MAC16s as a shift register of their output
      // registers, O = Q, Q <= {C, D} while CE
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_UPPERINPUT(1'b1), .BOTOUTPUT_SELECT(2'b01),
        .BOTADDSUB_UPPERINPUT(1'b1)
      ) u_sh_hi (
        .CLK(clk_i), .CE(sh_shift), .C({pl_data_i, sh[175:168]}), .A(16'd0), .B(16'd0),
        .D(sh[167:152]), .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0), .IRSTTOP(1'b0),
        .IRSTBOT(1'b0), .ORSTTOP(1'b0), .ORSTBOT(1'b0), .OLOADTOP(1'b1), .OLOADBOT(1'b1),
        .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0), .OHOLDTOP(1'b0), .OHOLDBOT(1'b0), .CI(1'b0),
        .ACCUMCI(1'b0), .SIGNEXTIN(1'b0), .O(sh[175:144]), .CO(dsp_co[4]),
        .ACCUMCO(dsp_accumco[4]), .SIGNEXTOUT(dsp_signextout[4])
      );
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_UPPERINPUT(1'b1), .BOTOUTPUT_SELECT(2'b01),
        .BOTADDSUB_UPPERINPUT(1'b1)
      ) u_sh_lo (
        .CLK(clk_i), .CE(sh_shift), .C(sh[151:136]), .A(16'd0), .B(16'd0), .D(sh[135:120]),
        .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0), .IRSTTOP(1'b0), .IRSTBOT(1'b0),
        .ORSTTOP(1'b0), .ORSTBOT(1'b0), .OLOADTOP(1'b1), .OLOADBOT(1'b1), .ADDSUBTOP(1'b0),
        .ADDSUBBOT(1'b0), .OHOLDTOP(1'b0), .OHOLDBOT(1'b0), .CI(1'b0), .ACCUMCI(1'b0),
        .SIGNEXTIN(1'b0), .O(sh[143:112]), .CO(dsp_co[5]), .ACCUMCO(dsp_accumco[5]),
        .SIGNEXTOUT(dsp_signextout[5])
      );
      // the run's step count (top: Q <= C - A = dec_target - done_steps at S_CL_DECIDE) and the
      // report step read (bottom: a shift register, Q <= D while rw_shift); each half held by
      // its OHOLD. C and A go through the block's input registers (C_REG, A_REG, loaded every
      // cycle): the subtraction sees the previous cycle's dec_target and done_steps, which equal
      // the current ones at S_CL_DECIDE (entered from S_CL_REP_HI or S_CL_WAIT, which change
      // neither) and at S_CL_REP_GOT (entered from S_CL_REP_PRE); no fabric path ends inside the
      // DSP's adder (nextpnr-ice40 does not time it)
      wire [31:0] steps_o;
      wire        steps_co;     // CO = ACCUMCO ^ ADDSUBTOP, ACCUMCO: A + ~C carries when A > C
      SB_MAC16 #(
        .TOPOUTPUT_SELECT(2'b01), .TOPADDSUB_LOWERINPUT(2'b00), .TOPADDSUB_UPPERINPUT(1'b1),
        .TOPADDSUB_CARRYSELECT(2'b00), .BOTOUTPUT_SELECT(2'b01), .BOTADDSUB_UPPERINPUT(1'b1),
        .C_REG(1'b1), .A_REG(1'b1)
      ) u_steps (
        .CLK(clk_i), .CE(1'b1), .C(dec_target), .A(done_steps), .B(16'd0),
        .D({pl_data_i, rw[15:8]}), .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0),
        .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(1'b0), .ORSTBOT(1'b0), .OLOADTOP(1'b0),
        .OLOADBOT(1'b1), .ADDSUBTOP(1'b1), .ADDSUBBOT(1'b0), .OHOLDTOP(!steps_load),
        .OHOLDBOT(!rw_shift), .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0), .O(steps_o),
        .CO(steps_co), .ACCUMCO(dsp_accumco[6]), .SIGNEXTOUT(dsp_signextout[6])
      );
      assign c_steps = steps_o[31:16];
      assign steps_le = steps_co;
      assign rw = steps_o[15:0];
      assign received = image_idx[16 +: WBW];
      assign left = image_idx[0 +: WBW];
      assign want_v = len_o[WLW-1:0];
      assign reply_v = len_o[WLW-1:0];
      wire unused_dsp = ^{dsp_co, dsp_accumco, dsp_signextout, len_o[31:WLW]};
`endif
    end else begin : g_fabric
      assign want_v = want_len;
      assign reply_v = WLW'(reply_len);
      reg [31:0] cyc_q;
      always @(posedge clk_i)
        if (cyc_load) cyc_q <= 32'hffffffff;
        else if (cyc_step) cyc_q <= cyc_q + 32'd1;
      assign cyc = cyc_q;
      reg [31:0] image_q, seed_q;
      always @(posedge clk_i)
        if (head_load) begin
          image_q <= sh[112 +: 32];
          seed_q <= sh[144 +: 32];
        end
      assign image_idx = image_q + {24'd0, cnt8};
      wire unused_fabric = img_next;       // (the fabric index adds cnt8 instead)
      assign cl_seed = seed_q;
      reg [WBW-1:0] received_q, left_q;
      always @(posedge clk_i)
        if (ld_cnt_load) begin
          received_q <= {WBW{1'b0}};
          left_q <= sh[112 +: WBW];
        end else if (ld_cnt_step) begin
          received_q <= received_q + 1'b1;
          left_q <= left_q - 1'b1;
        end
      assign received = received_q;
      assign left = left_q;
      reg [175:112] sh_q;
      reg [15:0] rw_q, c_steps_q;
      wire [16:0] steps_diff = {1'b0, dec_target} - {1'b0, done_steps};
      assign steps_le = !steps_diff[16];
      always @(posedge clk_i) begin
        if (sh_shift) sh_q <= {pl_data_i, sh_q[175:120]};
        if (rw_shift) rw_q <= {pl_data_i, rw_q[15:8]};
        if (steps_load) c_steps_q <= steps_diff[15:0];
      end
      assign sh = sh_q;
      assign rw = rw_q;
      assign c_steps = c_steps_q;
    end
  endgenerate

  // READ_STATE's len field C count + 3: the CLASSIFY length multiply-add (idle then,
  // DSP_ICE40: A = the count, B = rbytes = C, set at S_RS_HEAD with len_pass2, + 3), or shifts
  // and adds
  wire [15:0] rs_len = USE_DSP != 0 ? reply_v[15:0] : 16'(times_channels(24'(rs_count[10:0])) + 24'd3);
  // the reply header's detail and len field (the body bytes after status and credit + 3: the
  // engine adds nothing; read by it in S_RSP, while they hold): LOAD_DATA 8 + 3 (received,
  // crc32), LOAD_END 4 + 3 (crc32), CLASSIFY reply_v (+ 3 in the length sum), READ_STATE
  // C count + 3, the others 3
  assign rsp_detail_o = rsp_want ? (want_v[WLW-1:16] != 0 ? 16'hffff : want_v[15:0]) : {8'd0, rsp_det};
  assign rsp_len_o = op_ld ? 16'd11 : op_le ? 16'd7 : op_cl ? reply_v[15:0]
                   : op_rs ? rs_len : 16'd3;

  // ---------------------------------------------------------------- core ports
  reg core_rst_q;
  assign core_rst_o = core_rst_q;
  (* keep *) wire cmd_valid_w = st_cmd_grp && !(st[1] && st[0]);
  assign core_cmd_valid_o = cmd_valid_w;
  assign core_cmd_op_o = st[1:0] == 2'(S_LB_CMD) ? C_LOAD : st[1:0] == 2'(S_RS_CMD) ? C_STATE : c_op;
  assign core_cmd_steps_o = c_steps;
  assign core_cmd_seed_o = cl_seed;
  assign core_cmd_image_o = image_idx;
  // (S_LE_WAIT: zero bytes while the core's loader still asks for payload, see len_err)
  // (S_LB_DESC 60, S_CL_PIX_OUT 61 (!dry), S_LD_FEED 62 / S_LE_WAIT 63 (!ld_rec_done))
  (* keep *) wire in_valid_w = st_in_grp && (st[1] ? !ld_rec_done : !(st[0] && dry));
  assign core_in_valid_o = in_valid_w;
  wire [7:0] lvl_out = PIX_LEVELS != 0 ? {4'd0, (in_bits == 4'd4 && lvl == 4'd1) ? 4'd2 : lvl} : lvl_pixel;
  assign core_in_data_o = st[1] ? (st[0] ? 8'd0 : fb) : st[0] ? lvl_out : core_desc;   // (st_in_grp)
  reg  [7:0] rsp_byte_q;       // the reply byte stage (below)
  reg        rsp_full_q;
  // (a forwarded byte only into an empty reply stage: the core's ready comes from registers only)
  (* keep *) wire out_ready_w = !rs_stream_q || (rs_fwd_ok ? !rsp_full_q : rs_hdr || rs_in_ok);
  assign core_out_ready_o = out_ready_w;
  wire   out_take = core_out_valid_i && core_out_ready_o;
  assign sink_take = out_take && !rs_stream_q;

  wire local_rx = op_ld && !ok[2];    // LOAD_DATA reply bytes 0..3: received (< 2^16)
  // S_LOCAL: LOAD_DATA: received u32, crc32 u32; LOAD_END: crc32 u32 (the crc rotates by a
  // byte as each of its bytes goes out)
  wire [7:0] local_byte = !local_rx ? ~crc[7:0]
                        : ok[1] ? 8'd0 : ok[0] ? received32[15:8] : received32[7:0];
  // S_CL_OUT_C: ok 2..5 (ok[2] != ok[1] below 8): cycles byte {ok[2], ok[0]}, else the result RAM
  wire [7:0] cl_byte = (ok[8:3] == 6'd0 && ok[2] != ok[1]) ? cyc[{ok[2], ok[0], 3'b000} +: 8] : rram_q;
  // by state bits within st_rsp_grp (S_LOCAL 52, S_CL_OUT_C 53, S_RS_STREAM 54: the core's
  // byte, forwarded through one mux level); the engine reads the byte only while it is valid
  wire       byte_valid = st_rsp_grp && (st[1] ? !st[0] && rs_fwd_ok && !rsp_full_q && core_out_valid_i : 1'b1);
  wire [7:0] byte_data = st[1] ? core_out_data_i : st[0] ? cl_byte : local_byte;
  // one register stage to the engine (its frame_tx takes a byte straight into its own stage:
  // without it the core's output stream, the state decode and the engine's transmit handshake
  // were one combinational path); byte_ready: the stage is empty or is being emptied
  wire       byte_ready = !rsp_full_q || rsp_data_ready_i;
  always @(posedge clk_i) begin
    if (rst_i) rsp_full_q <= 1'b0;
    else if (byte_ready) rsp_full_q <= byte_valid;
    if (byte_ready) rsp_byte_q <= byte_data;
  end
  assign rsp_data_valid_o = rsp_full_q;
  assign rsp_data_o = rsp_byte_q;

  // ---------------------------------------------------------------- registered checks
  // Each compares registers that hold for at least a cycle before the state that reads it (a
  // settle state after the payload read, S_*_W, or a wait that exists anyway): the sequencer's
  // next-state and enable logic sees one flag instead of a 16- or 32-bit compare
  reg ld_off_bad_q, ld_len_bad_q, le_crc_bad_q, rs_bad_q, cl_arg_bad_q, cl_len_bad_q;
  reg steps_zero_q, want_bad_q, reply_big_q, left_nz_q, ld_rec_bad_q, fmt_hi_q, fmt_nz_q;
  always @(posedge clk_i) begin
    ld_off_bad_q <= sh[144 +: 32] != received32;                 // S_LD_HEAD
    ld_len_bad_q <= LW'(len_q - 16'd4) > LW'(left);
    le_crc_bad_q <= sh[144 +: 32] != ~crc;                       // S_LE_HEAD
    rs_bad_q <= rs_bad;                                          // S_RS_HEAD
    cl_arg_bad_q <= sh[152 +: 8] == 8'd0 || gt_k(32'(sh[152 +: 8]), 16) || sh[144 +: 8] == 8'd0 ||
                    cl_steps == 16'd0;                           // S_CL_HEAD
    cl_len_bad_q <= len_q[15:6] == 10'd0 && len_q[5:0] < 6'd16 + {sh[152 +: 5], 1'b0};  // (nr <= 16)
    steps_zero_q <= c_steps == 16'd0;                            // S_CL_REP_OK (after S_CL_REP_W)
    want_bad_q <= want_v != WLW'(len_q);                         // S_CL_LEN (len_wait)
    reply_big_q <= reply_v[WLW-1:16] != 0;
    left_nz_q <= left != {WBW{1'b0}};                            // S_IDLE (LOAD_END)
    ld_rec_bad_q <= ld_rec_status != 8'd0;                       // S_LE_WAIT (6 bytes later)
    fmt_hi_q <= cl_fmt[7:1] != 7'd0;                             // S_CL_REP_CHECK
    fmt_nz_q <= cl_fmt != 8'd0;
  end

  // ---------------------------------------------------------------- sequencer
  // The reply header's fields are read only in S_RSP (the engine reads status and detail only
  // while rsp_valid_o), so they need no enable of their own: outside S_RSP they take, every
  // cycle, what the current state would answer if it answered now (rsp_next, don't care where
  // it cannot), and S_RSP holds them. respond()'s arguments name the answer at the call site;
  // simulations check that rsp_*_n gave the same (synthesis keeps only the state change).
`ifndef SYNTHESIS
  reg [11:0] rsp_expect;
`endif
  task respond;
    input [2:0] status;
    input [7:0] detail;
    input want;          // detail: the CLASSIFY length wanted (want_v)
    begin
`ifndef SYNTHESIS
      rsp_expect <= {status, detail, want};
`endif
      st <= S_RSP;
    end
  endtask
  reg  [2:0] rsp_st_n;
  reg  [7:0] rsp_det_n;
  reg        rsp_want_n;
  always @(*) begin
    rsp_st_n = 3'bxxx;
    rsp_det_n = 8'bxxxxxxxx;
    rsp_want_n = 1'b0;
    case (st)
      S_IDLE: begin
        rsp_det_n = 8'd0;
        case (cmd_op_i)
          OP_LOAD_BEGIN: {rsp_st_n, rsp_det_n} = {ST_BAD_LENGTH, 8'd28};
          OP_LOAD_DATA: {rsp_st_n, rsp_det_n} = len_bad_q ? {ST_BAD_LENGTH, 8'd5} : {ST_NO_MODEL, 8'd0};
          OP_LOAD_END: {rsp_st_n, rsp_det_n} = len_bad_q ? {ST_BAD_LENGTH, 8'd4}
                                            : !loading ? {ST_NO_MODEL, 8'd0} : {ST_BAD_LENGTH, 8'd0};
          OP_CLASSIFY, OP_RESET: rsp_st_n = ST_BAD_LENGTH;
          OP_READ_STATE: {rsp_st_n, rsp_det_n} = len_bad_q ? {ST_BAD_LENGTH, 8'd6} : {ST_NO_MODEL, 8'd0};
          default: rsp_st_n = ST_UNKNOWN;
        endcase
      end
      S_CK5: {rsp_st_n, rsp_det_n} = {ST_DIM, 3'd0, addr_q[4:0]};
      S_LD_HEAD: {rsp_st_n, rsp_det_n} = {ld_off_bad_q ? ST_BAD_ARG : ST_BAD_LENGTH, 8'd0};
      S_LE_HEAD: {rsp_st_n, rsp_det_n} = {ST_BAD_CRC, 8'd0};
      S_LE_WAIT: {rsp_st_n, rsp_det_n} = ld_rec_bad_q ? {ST_BAD_ARG, ld_rec_status}
                                       : len_err ? {ST_BAD_ARG, 8'd11} : {3'd0, 8'd0};
      S_CL_HEAD: {rsp_st_n, rsp_det_n} = {cl_arg_bad_q ? ST_BAD_ARG : ST_BAD_LENGTH, 8'd0};
      S_CL_REP_OK: {rsp_st_n, rsp_det_n} = {ST_BAD_ARG, 8'd0};
      S_CL_REP_CHECK: {rsp_st_n, rsp_det_n} = fmt_hi_q ? {ST_BAD_ARG, 8'd0}
                                            : !model_ok ? {ST_NO_MODEL, 8'd0} : {ST_BAD_ARG, 8'd14};
      S_CL_LEN: {rsp_st_n, rsp_det_n, rsp_want_n} = !len_pass2 ? {ST_BAD_LENGTH, 8'd0, 1'b1}
                                                  : reply_big_q ? {ST_BAD_ARG, 8'd12, 1'b0} : 12'd0;
      S_RS_HEAD: {rsp_st_n, rsp_det_n} = {rs_bad_q ? ST_BAD_ARG : 3'd0, 8'd0};
      S_LB_CNT, S_LD_NEXT, S_RESET: {rsp_st_n, rsp_det_n} = 11'd0;
      default: ;
    endcase
  end
  always @(posedge clk_i)
    if (rst_i) begin
      rsp_st <= 3'd0;
      rsp_det <= 8'd0;
      rsp_want <= 1'b0;
    end else if (st != S_RSP) begin
      rsp_st <= rsp_st_n;
      rsp_det <= rsp_det_n;
      rsp_want <= rsp_want_n;
    end
`ifndef SYNTHESIS
  always @(posedge clk_i)
    if (!rst_i && st == S_RSP && {rsp_st, rsp_det, rsp_want} != rsp_expect)
      $error("xnca_core_adapter: reply fields %h, respond() gave %h", {rsp_st, rsp_det, rsp_want},
             rsp_expect);
`endif

  task read_more;   // read n more payload bytes (from addr_q; 0 from S_IDLE) into sh, then continue at r
    input [4:0] n;
    input [5:0] r;
    begin
      nread <= n;
      ret <= r;
      st <= S_READ;
    end
  endtask

  task read_rep;    // read report rep_i (steps once rep_i = n_report) into rw, then continue at r
    input [5:0] r;
    begin
      nread <= 5'd2;
      ret <= r;
      st <= S_READ;
    end
  endtask

  always @(posedge clk_i) begin
    core_rst_q <= 1'b0;
    if (rst_i) begin
      st <= S_IDLE;
      ret <= S_IDLE;
      model_ok <= 1'b0;
      loading <= 1'b0;
      have_state <= 1'b0;
      rec_k <= 6'd0;
      rec_done <= 1'b0;
      ld_rec_done <= 1'b0;
      ld_rec_status <= 8'd0;
      capture <= 1'b0;
      cyc_run <= 1'b0;
      pix_n <= {PXW{1'b0}};
      pcnt <= 4'd8;
      lk <= 2'd0;
      dry <= 1'b0;
      addr_q <= {(PW + 1){1'b0}};
      in_bits <= 4'd1;
      core_rst_q <= 1'b1;
      rs_stream_q <= 1'b0;
    end else begin
      // ---- record sink: LOAD and RESULT records of the core
      if (sink_take) begin
        rec_k <= core_out_last_i ? 6'd0 : rec_k + 6'd1;
        if (rec_k == 6'd1) ld_rec_status <= core_out_data_i;
        // record: pred at 6, agree at 7, votes at 8..27 (40 bytes) -> result: votes 0..19 (record
        // bytes 8..27), pred 20 and agree 21 (written at record bytes 28, 29), one pointer
        if (core_out_last_i) begin
          if (rec_k == 6'd7) ld_rec_done <= 1'b1;   // the 8-byte LOAD record
          else rec_done <= 1'b1;
        end
      end

      case (st)
        S_IDLE: if (cmd_valid_i) begin
          addr_q <= {(PW + 1){1'b0}};   // (a command's first read starts at payload offset 0)
          case (cmd_op_i)
            OP_LOAD_BEGIN:
              if (len_bad_q) respond(ST_BAD_LENGTH, 8'd28, 1'b0);
              else begin
                ridx <= 5'd0;
                ck_bad <= 1'b0;
                ck_eqhi <= 1'b1;
                ck_eqlo <= 1'b1;
                st <= S_CK0;
              end
            OP_LOAD_DATA:
              if (len_bad_q) respond(ST_BAD_LENGTH, 8'd5, 1'b0);
              else if (!loading) respond(ST_NO_MODEL, 8'd0, 1'b0);
              else read_more(5'd4, S_LD_HEAD_W);
            OP_LOAD_END:
              if (len_bad_q) respond(ST_BAD_LENGTH, 8'd4, 1'b0);
              else if (!loading) respond(ST_NO_MODEL, 8'd0, 1'b0);
              else if (left_nz_q) respond(ST_BAD_LENGTH, 8'd0, 1'b0);
              else read_more(5'd4, S_LE_HEAD_W);
            OP_CLASSIFY:
              if (len_bad_q) respond(ST_BAD_LENGTH, 8'd0, 1'b0);
              else read_more(5'd8, S_CL_HEAD0);
            OP_READ_STATE:
              if (len_bad_q) respond(ST_BAD_LENGTH, 8'd6, 1'b0);
              else if (!have_state) respond(ST_NO_MODEL, 8'd0, 1'b0);
              else begin
                rbytes <= 9'(CHANNELS);  // (rs_len: count * rbytes, registered by S_RSP)
                len_pass2 <= 1'b1;
                read_more(5'd8, S_RS_HEAD_W);
              end
            OP_RESET:
              if (len_bad_q) respond(ST_BAD_LENGTH, 8'd0, 1'b0);
              else begin
                core_rst_q <= 1'b1;
                model_ok <= 1'b0;
                loading <= 1'b0;
                have_state <= 1'b0;
                st <= S_RESET;
              end
            default: respond(ST_UNKNOWN, 8'd0, 1'b0);
          endcase
        end

        // ---- payload read subroutine: nread bytes from addr_q into sh (3 cycles a byte)
        S_READ: st <= S_F1;           // the RAM sees addr_q
        S_F1: st <= S_F2;             // pl_data_i valid next
        S_F2: begin
          if (nread != 5'd0) begin
            nread <= nread - 5'd1;
            if (!rd_rep) addr_q <= addr_q + 1'b1;
            st <= nread == 5'd1 ? ret : S_READ;
          end else begin
            st <= ret;
          end
        end

        // ---- response header, then the body source
        S_RSP: if (rsp_ready_i) begin
          ok <= 9'd0;
          st <= rsp_st != 3'd0 ? S_IDLE : (op_ld || op_le) ? S_LOCAL : op_cl ? S_CL_IMG
              : op_rs ? S_RS_CMD : S_IDLE;
        end
        S_LOCAL: if (byte_ready) begin
          ok <= ok + 9'd1;
          if (!local_rx) begin          // a CRC byte: rotate the next one into crc[7:0]
            crc_n <= 4'd0;
            st <= S_CRC_ROT;
          end
        end

        // ---- LOAD_BEGIN
        S_CK0: st <= S_CK1;          // (the table reads entry ridx, word 0)
        S_CK1: begin                  // the entry's descriptor byte -> fb
          addr_q <= (PW + 1)'(ck_q[4:0]);
          read_more(5'd0, S_CK2);
        end
        S_CK2: st <= S_CK3;          // (word 1: the upper bound's byte)
        S_CK3: begin                  // above the upper bound? (word 2: the lower bound's byte)
          if (ck_eqhi && !ck_lt && !ck_eq) ck_bad <= 1'b1;
          ck_eqhi <= ck_eqhi && ck_eq;
          st <= S_CK4;
        end
        S_CK4: begin                  // below the lower bound? (word 0: the entry's flags)
          if (ck_eqlo && ck_lt) ck_bad <= 1'b1;
          ck_eqlo <= ck_eqlo && ck_eq;
          st <= S_CK5;
        end
        S_CK5: begin
          if (ck_q[7]) ck_lz <= ck_eqlo;         // L's entry: L = 0 selects M's bounds
          ridx <= ridx + 5'd1;
          st <= S_CK0;
          if (ck_q[5]) begin                     // the field's last byte (at its offset)
            ck_bad <= 1'b0;
            ck_eqhi <= 1'b1;
            ck_eqlo <= 1'b1;
            if (ck_bad) respond(ST_DIM, {3'd0, addr_q[4:0]}, 1'b0);
            else if (ck_q[6]) begin              // all fields checked
              core_rst_q <= 1'b1;       // drop any model and any half-finished load
              model_ok <= 1'b0;
              have_state <= 1'b0;
              loading <= 1'b0;
              st <= S_LB_RST;
            end
          end
        end
        S_LB_RST: st <= S_LB_CMD;
        S_LB_CMD: if (core_cmd_ready_i) begin
          ridx <= 5'd0;
          ld_rec_done <= 1'b0;
          rec_k <= 6'd0;
          st <= S_LB_FETCH0;
        end
        S_LB_FETCH0: st <= S_LB_FETCH; // (the table reads byte ridx's payload offset)
        S_LB_FETCH: begin              // payload byte ck_q -> fb (after the last: 8 bytes
          addr_q <= (PW + 1)'(ck_q[4:0]);  // from offset 18, weight_bytes into sh[112 +: 32]
          nread <= ridx == 5'd20 ? 5'd8 : 5'd0;
          ret <= ridx == 5'd20 ? S_LB_CNT : S_LB_DESC;
          st <= S_READ;
        end
        S_LB_DESC: if (core_in_ready_i) begin
          ridx <= ridx + 5'd1;
          st <= S_LB_FETCH0;
          if (ridx == 5'd15) in_bits <= fb[3:0];    // b (payload offset 14)
          if (ridx == 5'd19) begin
            loading <= 1'b1;
            len_err <= 1'b0;
            crc <= 32'hffffffff;
          end
        end
        S_LB_CNT: respond(3'd0, 8'd0, 1'b0);   // (ld_cnt_load)

        // ---- LOAD_DATA: offset in sh[144 +: 32] (4 bytes read)
        S_LD_HEAD_W: st <= S_LD_HEAD;
        S_LD_HEAD: begin
          if (ld_off_bad_q) respond(ST_BAD_ARG, 8'd0, 1'b0);
          else if (ld_len_bad_q) respond(ST_BAD_LENGTH, 8'd0, 1'b0);
          else begin
            st <= S_LD_NEXT;           // (payload bytes addr_q = 4 .. len - 1: no byte counter)
          end
        end
        S_LD_NEXT: begin
          if (16'(addr_q) == len_q) respond(3'd0, 8'd0, 1'b0);
          else begin
            nread <= 5'd0;             // fetch one byte into fb
            ret <= S_LD_FEED;
            st <= S_READ;
          end
        end
        S_LD_FEED: if (core_in_ready_i || ld_rec_done) begin
          if (ld_rec_done) len_err <= 1'b1;   // the core's walk already ended: dropped
          crc_n <= 4'd0;
          st <= S_LD_CRC;
        end
        // CRC-32 (reflected, 0xedb88320), one bit per cycle, bit crc_n of fb (which holds: addr_q
        // moves on with the last bit; no byte copy); S_CRC_ROT: a plain rotate by 8 after each
        // CRC byte of a reply (4 of them: the CRC as it was)
        S_LD_CRC, S_CRC_ROT: begin
          crc <= {crc_rot && crc[0], crc[31:1]}
               ^ ((!crc_rot && (crc[0] ^ fb[crc_n[2:0]])) ? 32'hedb88320 : 32'd0);
          crc_n <= crc_n + 4'd1;
          if (crc_n == 4'd7) begin
            if (crc_rot) st <= (op_ld ? ok[3] : ok[2]) ? S_IDLE : S_LOCAL;
            else begin
              addr_q <= addr_q + 1'b1;
              st <= S_LD_NEXT;
            end
          end
        end

        // ---- LOAD_END: host CRC in sh[144 +: 32]
        S_LE_HEAD_W: st <= S_LE_HEAD;
        S_LE_HEAD: begin
          if (le_crc_bad_q) respond(ST_BAD_CRC, 8'd0, 1'b0);
          else st <= S_LE_WAIT;
        end
        S_LE_WAIT: if (ld_rec_done) begin
          loading <= 1'b0;
          if (ld_rec_bad_q) respond(ST_BAD_ARG, ld_rec_status, 1'b0);
          else if (len_err) respond(ST_BAD_ARG, 8'd11, 1'b0);  // (core status 11)
          else begin
            model_ok <= 1'b1;
            respond(3'd0, 8'd0, 1'b0);
          end
        end else if (core_in_ready_i) len_err <= 1'b1;   // a zero byte padded the core's walk

        // ---- CLASSIFY: head bytes 0..7 to the image / seed holders (head_load), bytes 8..15
        // (byte j at sh[48 + 8j]) read into sh
        S_CL_HEAD0: read_more(5'd8, S_CL_HEAD_W);   // bytes 8..15
        S_CL_HEAD_W: st <= S_CL_HEAD;
        S_CL_HEAD: begin
          if (cl_arg_bad_q)
            respond(ST_BAD_ARG, 8'd0, 1'b0);
          else if (cl_len_bad_q)
            respond(ST_BAD_LENGTH, 8'd0, 1'b0);
          else begin
            rep_i <= 5'd0;
            done_steps <= 16'd0;
            rbytes <= 9'd6;
            checking <= 1'b1;
            chk_mut <= 1'b0;
            mut_rep <= 5'h10;
            prev_eq <= 1'b0;
            st <= S_CL_REP;
          end
        end
        // report list checks (all BAD_ARGUMENT detail 0, so their order is free), through the
        // c_steps subtraction: each report r > the previous (done_steps, 0 at first), then
        // (rep_i == nr) steps >= the last report, then (chk_mut) mutate_at < steps
        S_CL_REP: begin                // read report[rep_i] (2 bytes), or steps after the last
          read_rep(S_CL_REP_PRE);
        end
        // (S_CL_REP_PRE: the step subtraction's input registers (DSP_ICE40) take the report
        // step just read, or mutate_at once chk_mut is set)
        S_CL_REP_PRE: st <= S_CL_REP_GOT;
        S_CL_REP_GOT: begin            // (steps_load: c_steps = dec_target - done_steps)
          steps_le_q <= steps_le;
          done_steps <= rw;
          st <= S_CL_REP_W;
        end
        S_CL_REP_W: st <= S_CL_REP_OK;   // (steps_zero_q follows c_steps)
        S_CL_REP_OK: begin
          if (chk_mut && rep_end_q) begin   // steps <= mutate_at
            if (steps_le_q) respond(ST_BAD_ARG, 8'd0, 1'b0);
            else st <= S_CL_REP_CHECK;
          end else if (chk_mut) begin  // report rep_i against mutate_at: the first one above it
            chk_mut <= 1'b0;
            if (!steps_le_q && mut_rep[4]) begin
              mut_rep <= rep_i;
              at_mut_init <= prev_eq;
            end
            prev_eq <= steps_le_q && steps_zero_q;
            rep_i <= rep_i + 5'd1;
            rbytes <= rbytes + 9'd22;
            st <= S_CL_REP;
          end else if (rep_end_q) begin  // the last report <= steps
            if (!steps_le_q) respond(ST_BAD_ARG, 8'd0, 1'b0);
            else if (cl_mut_en) begin
              chk_mut <= 1'b1;
              st <= S_CL_REP_PRE;
            end else st <= S_CL_REP_CHECK;
          end else if (!steps_le_q || steps_zero_q) respond(ST_BAD_ARG, 8'd0, 1'b0);
          else if (cl_mut_en) begin    // report > the previous one; then against mutate_at
            chk_mut <= 1'b1;
            st <= S_CL_REP_PRE;
          end else begin
            rep_i <= rep_i + 5'd1;
            rbytes <= rbytes + 9'd22;
            st <= S_CL_REP;
          end
        end
        S_CL_REP_CHECK: begin
          checking <= 1'b0;
          if (fmt_hi_q) respond(ST_BAD_ARG, 8'd0, 1'b0);
          else if (!model_ok) respond(ST_NO_MODEL, 8'd0, 1'b0);
          else if (fmt_nz_q) respond(ST_BAD_ARG, 8'd14, 1'b0);
          else begin
            want_len <= WLW'(16) + WLW'({cl_nrep, 1'b0});
            reply_len <= 17'd3;
            len_pass2 <= 1'b0;
            len_wait <= 2'd2;
            cnt8 <= 8'd0;
            st <= S_CL_LEN;
          end
        end
        S_CL_LEN: begin                // want = head + n G (1 + mutating); reply = n rbytes
          // (the registered multiply-add, then want_bad_q / reply_big_q, catch up)
          if (len_wait != 2'd0) len_wait <= len_wait - 2'd1;
          else if (USE_DSP == 0 && cnt8 != cl_n) begin
            want_len <= want_len + WLW'(img_bytes);
            reply_len <= reply_len + 17'(rbytes);
            cnt8 <= cnt8 + 8'd1;
            len_wait <= 2'd1;
          end else if (!len_pass2) begin
            if (want_bad_q)
              respond(ST_BAD_LENGTH, 8'd0, 1'b1);
            else begin
              len_pass2 <= 1'b1;
              len_wait <= 2'd2;
            end
          end else if (reply_big_q)     // (the len field, reply bytes + 3, > 65535)
            respond(ST_BAD_ARG, 8'd12, 1'b0);
          else begin
            cnt8 <= 8'd0;
            // the first grid; then each grid's intake leaves addr_q at the next one
            addr_q <= (PW + 1)'({cl_nrep[4:0] + 5'd8, 1'b0});
            have_state <= 1'b0;
            respond(3'd0, 8'd0, 1'b0);
          end
        end
        S_CL_IMG: begin                // start image cnt8
          rep_i <= 5'd0;
          or_r <= 4'd0;
          or_j <= 5'd8;
          done_steps <= 16'd0;
          started <= 1'b0;
          mutated <= 1'b0;
          dry <= 1'b0;
          at_mut <= at_mut_init;
          // (cyc_load: cyc = 0xffffffff, 0 one clock later: cycles counted as before)
          cyc_run <= 1'b1;
          st <= S_CL_REP_LO;
        end
        S_CL_REP_LO: read_rep(S_CL_REP_HI);
        S_CL_REP_HI: st <= S_CL_DECIDE;
        S_CL_DECIDE: begin
          // the next command runs from done_steps to dec_target: INIT (first), RUN, or
          // MUTATE (the mutation grid, once done_steps reached mutate_at); one subtractor
          c_op <= !started ? C_INIT : dec_mutate ? C_MUTATE : C_RUN;
          is_report <= !dec_to_mut;
          started <= 1'b1;
          if (dec_mutate) mutated <= 1'b1;
          if (dec_to_mut) at_mut <= 1'b1;
          done_steps <= dec_target;
          st <= S_CL_CMD;
        end
        S_CL_CMD: if (core_cmd_ready_i) begin
          rec_done <= 1'b0;
          rec_k <= 6'd0;
          capture <= is_report;
          st <= (c_op == C_RUN) ? S_CL_WAIT : S_CL_PIX;   // (pix_n, lk 0, pcnt 8)
        end
        S_CL_PIX: begin                // next bit of the level, or read a byte first
          if (pcnt[3]) begin           // byte addr_q -> fb, then its bit 0
            pcnt <= 4'd0;
            nread <= 5'd0;
            ret <= S_CL_PIX_GOT;
            st <= S_READ;
          end else begin
            pcnt <= pcnt + 4'd1;
            if (pcnt[2:0] == 3'd7) addr_q <= addr_q + 1'b1;   // (the byte's last bit)
            lk <= lk + 2'd1;
            if (lk == in_bits[1:0] - 2'd1) st <= S_CL_PIX_OUT;   // (b = 1..4)
          end
        end
        S_CL_PIX_GOT: st <= S_CL_PIX;  // (one cycle: the intake's timing, and so cycles, as before)
        S_CL_PIX_OUT: if (core_in_ready_i || dry) begin
          lk <= 2'd0;
          pix_n <= pix_n + 1'b1;
          if (pix_n == PXW'(NCELLS - 1)) begin   // the grid's last pixel: the next grid starts
            pix_n <= {PXW{1'b0}};                // at a new byte (G bytes read)
            pcnt <= 4'd8;
            if (!pcnt[3]) addr_q <= addr_q + 1'b1;   // (a grid that ends inside a byte)
            st <= dry ? S_CL_IMG : S_CL_WAIT;
          end else st <= S_CL_PIX;
        end
        S_CL_WAIT: if (rec_done) begin
          rec_done <= 1'b0;
          if (!is_report) st <= S_CL_DECIDE;
          else if (rep_i + 5'd1 == cl_nrep[4:0]) begin
            cyc_run <= 1'b0;
            ok <= 9'd0;
            st <= S_CL_OUT_A;
          end else begin
            rep_i <= rep_i + 5'd1;
            st <= S_CL_REP_LO;
          end
        end
        S_CL_OUT_A: begin              // (the result RAM reads rram_raddr)
          if (ok == rbytes) begin      // the image's reply is out
            cnt8 <= cnt8 + 8'd1;
            st <= S_CL_NEXT;
          end else st <= S_CL_OUT_B;
        end
        S_CL_NEXT: begin
          if (cnt8 != cl_n) begin
            // an unused mutation grid (mutate_at after the last report) is read and dropped
            if (cl_mut_en && !mutated) begin
              dry <= 1'b1;
              st <= S_CL_PIX;
            end else st <= S_CL_IMG;
          end else begin
            have_state <= 1'b1;
            st <= S_IDLE;
          end
        end
        S_CL_OUT_B: st <= S_CL_OUT_C;
        S_CL_OUT_C: if (byte_ready) begin
          ok <= ok + 9'd1;
          if (res_byte) begin
            or_j <= or_j == 5'd27 ? 5'd6 : or_j == 5'd7 ? 5'd8 : or_j + 5'd1;
            if (or_j == 5'd7) or_r <= or_r + 4'd1;
          end
          st <= S_CL_OUT_A;
        end

        // ---- READ_STATE: cell u32 at sh[112], count u16 at sh[144]
        S_RS_HEAD_W: st <= S_RS_HEAD;
        S_RS_HEAD: begin
          if (rs_bad_q) respond(ST_BAD_ARG, 8'd0, 1'b0);
          else begin
            rs_hdr <= 1'b1;
            rs_ch <= {CHW{1'b0}};
            rs_on <= 1'b0;
            respond(3'd0, 8'd0, 1'b0);
          end
        end
        S_RS_CMD: if (core_cmd_ready_i) begin
          rs_stream_q <= 1'b1;
          st <= S_RS_STREAM;
        end
        S_RS_STREAM: if (out_take) begin
          if (rs_hdr) rs_hdr <= 1'b0;
          else begin
            rs_ch <= rs_cell_end_byte ? {CHW{1'b0}} : rs_ch + 1'b1;
            if (rs_cell_end_byte) rs_on <= rs_in_q;
          end
          if (core_out_last_i) begin            // the STATE record's last byte
            rs_stream_q <= 1'b0;
            st <= S_IDLE;
          end
        end

        // ---- RESET: core reset held for one more cycle, then answer
        S_RESET: begin
          core_rst_q <= 1'b1;
          respond(3'd0, 8'd0, 1'b0);
        end

        default: st <= S_IDLE;
      endcase
    end
  end

endmodule
`undef XNCA_ADAPTER_DSP
`resetall
