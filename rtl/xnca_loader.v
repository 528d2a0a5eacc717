// xnca_loader: parses the LOAD byte stream (descriptor + spec 10 quant payload) into the
// core's parameter memories.
// SPDX-License-Identifier: MIT
// Part of xnca. Stream layout: docs/core.md section 3. Weight bytes are unpacked one bit per
// cycle into SYN_BITS-wide lane segments (one per row, plane and chunk) that are written
// to lane u = o mod UNITS of weight slice (l, g = o / UNITS, i, ch); quantizer records go to
// the input-quantizer memory (C records) or lane u of record word qbase[l] + g.
// A bad descriptor or record still drains the rest of the payload, then reports.
`resetall
`default_nettype none

module xnca_loader #(
    parameter integer CHANNELS = 20,
    parameter integer UNITS = 4,
    parameter integer SYN_BITS = 64,
    parameter integer MAX_P = 80,
    parameter integer MAX_M = 80,
    parameter integer MAX_WBITS = 4,
    parameter integer MAX_ABITS = 4,
    parameter integer WAW = 12,      // weight RAM address width
    parameter integer QAW = 8,       // record RAM address width
    // 1: check the descriptor (status 1-10) and its payload size (11); 0: trust it (the
    //    iCEBreaker device, whose adapter checked the same fields and the spec 9 weight_bytes
    //    before it sends the descriptor; the quantizer and run-parameter checks stay)
    parameter [0:0] CHECKS = 1'b1
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                i_start,
    // byte stream
    input  wire                i_valid,
    output wire                o_ready,
    input  wire [7:0]          i_data,
    // model registers (valid after o_done with status 0)
    output wire [1:0]          o_layers,
    output wire [8:0]          o_p,
    output wire [8:0]          o_m,
    output wire [2:0]          o_wbits,
    output wire [2:0]          o_abits,
    output wire [3:0]          o_sbits,
    output wire [2:0]          o_ibits,
    output reg  [8:0]          o_fire_t,
    output reg  [6:0]          o_noise_p,
    // geometry of the model registers (from xnca_geom)
    input  wire [63:0]         i_nin,
    input  wire [63:0]         i_nout,
    input  wire [63:0]         i_chunk_bits,
    input  wire [63:0]         i_chunks,
    input  wire [63:0]         i_rowbytes,
    // parameter memory writes
    output reg                 o_inq_we,
    output wire [4:0]          o_inq_addr,
    output wire [36:0]         o_rec_data,      // {add[23:0], shift[4:0], mul[7:0]} (with a we)
    output reg                 o_qrec_we,
    output wire [QAW-1:0]      o_qrec_addr,
    output reg  [UNITS-1:0]    o_qrec_lane,
    output reg                 o_w_we,
    output reg  [WAW-1:0]      o_w_addr,
    output reg  [UNITS-1:0]    o_w_lane,
    output reg  [SYN_BITS-1:0] o_w_data,
    input  wire                i_w_ready,       // 0: the previous segment is still being written
    // completion
    output reg                 o_done,
    output reg  [3:0]          o_status,
    output reg  [31:0]         o_count
);
    localparam integer UB = UNITS > 1 ? $clog2(UNITS) : 1;
    localparam integer SBW = $clog2(SYN_BITS + 1);
    localparam integer SBI = $clog2(SYN_BITS);

    localparam [3:0] S_IDLE = 4'd0, S_DESC = 4'd1, S_CHECK = 4'd2, S_INQ = 4'd3,
                     S_WBYTE = 4'd4, S_WBITS = 4'd5, S_REC = 4'd6, S_RUNP = 4'd7, S_SUM = 4'd8;
    reg [3:0]   state;
    reg         draining;       // bad model: swallow the rest of the payload
    reg [159:0] desc;
    reg [4:0]   desc_n;
    // payload bytes left (for the drain of a bad model). Without CHECKS the sender checked
    // weight_bytes against the build (xnca_core_adapter): an upper bound of it sizes the counter.
    localparam integer WMAX0 = 9 * CHANNELS > MAX_P ? 9 * CHANNELS : MAX_P;
    localparam integer WMAX = WMAX0 > MAX_M ? WMAX0 : MAX_M;
    localparam integer PAY_BOUND = 6 * CHANNELS + 8
                                 + (MAX_P + 2 * MAX_M + CHANNELS) * (MAX_WBITS * ((WMAX + 7) / 8) + 6);
    localparam integer RMW = CHECKS ? 32 : $clog2(PAY_BOUND + 1);
    reg [RMW-1:0] remaining;

    // descriptor fields (docs/core.md section 3)
    wire [7:0]  d_c = desc[39:32];
    wire [7:0]  d_hc = desc[47:40];
    wire [7:0]  d_classes = desc[55:48];
    wire [7:0]  d_layers = desc[63:56];
    wire [15:0] d_p = desc[79:64];
    wire [15:0] d_m = desc[95:80];
    // (without CHECKS the sender checked m, k <= 4, S <= 8, b <= 4: only their low bits are kept,
    // see S_DESC)
    wire [7:0]  d_wbits = CHECKS ? desc[103:96] : {5'd0, desc[98:96]};
    wire [7:0]  d_abits = CHECKS ? desc[111:104] : {5'd0, desc[106:104]};
    wire [7:0]  d_sbits = CHECKS ? desc[119:112] : {4'd0, desc[115:112]};
    wire [7:0]  d_ibits = CHECKS ? desc[127:120] : {5'd0, desc[122:120]};
    wire [31:0] d_payload = desc[159:128];

    assign o_layers = d_layers[1:0];
    assign o_p = d_p[8:0];
    assign o_m = d_m[8:0];
    assign o_wbits = d_wbits[2:0];
    assign o_abits = d_abits[2:0];
    assign o_sbits = d_sbits[3:0];
    assign o_ibits = d_ibits[2:0];

    // x > k for a constant k as plain logic (yosys maps a `>` onto a carry chain, one logic cell
    // per bit on the iCE40, even against a constant); x[i:0] > k[i:0] from the LSB up
    function gt_k;
        input [31:0] x;
        input [31:0] k;
        integer i;
        begin
            gt_k = 1'b0;
            for (i = 0; i < 32; i = i + 1)
                gt_k = k[i] ? (x[i] & gt_k) : (x[i] | gt_k);
        end
    endfunction

    reg [3:0] desc_status;
    always @(*) begin
        desc_status = 4'd0;
        if (d_classes != 8'd10) desc_status = 4'd1;
        else if (d_c != CHANNELS[7:0]) desc_status = 4'd2;
        else if (d_hc != CHANNELS[7:0] - 8'd11) desc_status = 4'd3;
        else if (gt_k(32'(d_layers), 2)) desc_status = 4'd4;
        else if (!gt_k(32'(d_p), 7) || gt_k(32'(d_p), MAX_P)) desc_status = 4'd5;
        else if (d_layers == 8'd0 ? d_m != 16'd0 : (!gt_k(32'(d_m), 7) || gt_k(32'(d_m), MAX_M))) desc_status = 4'd6;
        else if (d_wbits == 8'd0 || gt_k(32'(d_wbits), MAX_WBITS)) desc_status = 4'd7;
        else if (d_abits == 8'd0 || gt_k(32'(d_abits), MAX_ABITS)) desc_status = 4'd8;
        else if (!gt_k(32'(d_sbits), 1) || gt_k(32'(d_sbits), 8)) desc_status = 4'd9;
        else if (d_ibits == 8'd0 || gt_k(32'(d_ibits), 4)) desc_status = 4'd10;
    end

    // spec 9 weight_bytes of the descriptor's model, summed one output row per cycle in S_SUM
    // (after the other checks passed): 6 C + 8 + sum over layers of N_out (m R + 6)
    reg        sum_done, sum_first;
    reg [1:0]  sum_l;
    reg [8:0]  sum_rows;
    reg [19:0] wsum;
    wire [5:0] sum_rowb = i_rowbytes[sum_l*16 +: 6];
    wire [7:0] sum_row_cost = times_m(sum_rowb) + 8'd6;
    wire [3:0] final_status = !CHECKS ? 4'd0 : desc_status != 4'd0 ? desc_status :
                              (d_payload != {12'd0, wsum} ? 4'd11 : 4'd0);
    // x * m for m = o_wbits in 1..4 (shift-add: no multiplier)
    function [7:0] times_m;
        input [5:0] x;
        begin
            times_m = (o_wbits[0] ? {2'd0, x} : 8'd0) + (o_wbits[1] ? {1'd0, x, 1'b0} : 8'd0)
                    + (o_wbits[2] ? {x, 2'b0} : 8'd0);
        end
    endfunction


    // payload walk
    reg [1:0]  layer;
    reg [8:0]  row;             // o (N_out <= 256)
    reg [UB-1:0] unit;          // o mod UNITS
    // (walk registers as wide as the RAM addresses: gbase may wrap only past the last layer)
    reg [WAW-1:0] gbase;        // slice of (l, g, plane 0, chunk 0)
    reg [QAW-1:0] qaddr;        // record word of (l, g)
    reg [2:0]  plane;           // i
    reg [WAW-1:0] ibase;        // slice of (l, g, i, chunk 0)
    reg [3:0]  chunk;           // (<= 9 chunks)
    reg [7:0]  rbyte;           // byte in row
    reg [2:0]  bitn;            // bit in byte
    reg [7:0]  wbyte;
    reg [8:0]  nidx;            // input index n (N_in <= 288)
    reg [SBW-1:0] seg_n;        // bits in the current segment
    reg [39:0] recb;            // record bytes 0..4 (byte 5 is checked as it arrives)
    reg [2:0]  rec_n;
    reg [4:0]  inq_n;
    reg        q_adv;           // the record being written ends a row group: qaddr moves on
    // the record addresses are the walk counters themselves, which move on in the cycle of
    // the write (o_inq_we / o_qrec_we) instead of with it (no registered copies)
    assign o_inq_addr = inq_n;
    assign o_qrec_addr = qaddr;
    reg        runp_bad;        // a run-parameter byte so far disagreed (status 12)
    reg [3:0]  runp_n;

    wire [15:0] l_nin = i_nin[layer*16 +: 16];
    wire [15:0] l_nout = i_nout[layer*16 +: 16];
    wire [15:0] l_ebits = i_chunk_bits[layer*16 +: 16];
    wire [15:0] l_chunks = i_chunks[layer*16 +: 16];
    wire [15:0] l_rowbytes = i_rowbytes[layer*16 +: 16];
    wire [15:0] l_last = {14'd0, o_layers} + 16'd1;  // output layer index

    // slices of one row group of the layer being loaded: chunks * m
    wire [7:0] group_slices = times_m(l_chunks[5:0]);
    wire byte_take = o_ready && i_valid;
    assign o_ready = state == S_DESC || (state == S_INQ || state == S_WBYTE || state == S_REC
                                         || state == S_RUNP);

    // record bytes 0..4 shift in at the top of recb; the sixth (add[31:24]) is only checked,
    // as it arrives, and not stored (recb does not shift then)
    wire [39:0] rec_shift = {i_data, recb[39:8]};
    // the record written (o_inq_we / o_qrec_we): recb holds bytes 0..4 then, until the next
    // record byte arrives (no register copy)
    assign o_rec_data = {recb[39:16], recb[12:8], recb[7:0]};
    wire [31:0] rec_add = {i_data, recb[39:16]};
    wire [2:0]  rec_shift_hi = recb[15:13];       // shift <= 31: only the top bits matter
    wire rec_bad = rec_shift_hi != 3'd0 ||
                   !(rec_add[31:23] == 9'd0 || (rec_add[31:23] == 9'h1ff && rec_add[22:0] != 23'd0));

    // run-parameter byte runp_n checked as it arrives (no 8-byte buffer): fire_t <= 256 (bytes 0,
    // 1), noise_p <= 127 (byte 2), then m, k, S, b equal to the descriptor's (bytes 3..6)
    reg runp_byte_bad;
    always @(*) begin
        case (runp_n[2:0])
        3'd1: runp_byte_bad = i_data[7:1] != 7'd0 || (i_data[0] && o_fire_t[7:0] != 8'd0);
        3'd2: runp_byte_bad = i_data[7];
        3'd3: runp_byte_bad = i_data != d_wbits;
        3'd4: runp_byte_bad = i_data != d_abits;
        3'd5: runp_byte_bad = i_data != d_sbits;
        3'd6: runp_byte_bad = i_data != d_ibits;
        default: runp_byte_bad = 1'b0;
        endcase
    end

    wire cur_bit = wbyte[bitn];
    wire bit_in_row = nidx < l_nin[8:0];
    wire seg_end = bit_in_row && ({{(16-SBW){1'b0}}, seg_n} + 16'd1 == l_ebits || nidx + 9'd1 == l_nin[8:0]);
    wire row_last = row + 9'd1 == l_nout[8:0];

    integer wbi, dbi;
    always @(posedge clk) begin
        o_done <= 1'b0;
        o_inq_we <= 1'b0;
        o_qrec_we <= 1'b0;
        o_w_we <= 1'b0;
        if (rst) begin
            state <= S_IDLE;
            o_status <= 4'd0;
            o_count <= 32'd0;
        end else begin
            if (o_inq_we) inq_n <= inq_n + 5'd1;
            if (o_qrec_we && q_adv) qaddr <= qaddr + 1'b1;
            if (byte_take && state != S_DESC) begin
                remaining <= remaining - 1'b1;
                o_count <= o_count + 32'd1;
            end
            case (state)
            S_SUM: if (CHECKS) begin     // (unreachable without CHECKS)
                if (sum_first) begin
                    sum_rows <= i_nout[sum_l*16 +: 9];
                    sum_first <= 1'b0;
                end else if (sum_rows != 9'd0) begin
                    wsum <= wsum + {12'd0, sum_row_cost};
                    sum_rows <= sum_rows - 9'd1;
                end else if ({14'd0, sum_l} == l_last) begin
                    sum_done <= 1'b1;
                    state <= S_CHECK;
                end else begin
                    sum_l <= sum_l + 2'd1;
                    sum_first <= 1'b1;
                end
            end
            S_IDLE: if (i_start) begin
                sum_done <= 1'b0;
                state <= S_DESC;
                desc_n <= 5'd0;
                o_count <= 32'd0;
                o_status <= 4'd0;
                draining <= 1'b0;
            end
            S_DESC: if (byte_take) begin
                // CHECKS: all 20 bytes (a shift register); else only the bytes the walk and
                // the run-parameter check use, each written in place (no 104-bit shift chain)
                if (CHECKS) desc <= {i_data, desc[159:8]};
                else
                    for (dbi = 7; dbi < 16; dbi = dbi + 1)
                        if (desc_n == 5'(dbi)) desc[dbi*8 +: 8] <= i_data;
                desc_n <= desc_n + 5'd1;
                if (desc_n == 5'd19) state <= S_CHECK;
            end
            S_CHECK: if (CHECKS && desc_status == 4'd0 && !sum_done) begin
                state <= S_SUM;
                sum_l <= 2'd0;
                sum_first <= 1'b1;
                wsum <= 20'(6 * CHANNELS + 8);
            end else begin
                remaining <= d_payload[RMW-1:0];
                o_status <= final_status;
                draining <= final_status != 4'd0;
                inq_n <= 5'd0;
                rec_n <= 3'd0;
                layer <= 2'd0;
                // (without CHECKS the adapter refuses payload_bytes 0)
                if (CHECKS && d_payload == 32'd0) begin
                    state <= S_IDLE;
                    o_done <= 1'b1;
                end else begin
                    state <= S_INQ;
                end
            end
            default: ;
            endcase

            // payload bytes: drain mode or the section walk
            if (state != S_IDLE && state != S_DESC && state != S_CHECK && state != S_SUM) begin
                if (draining) begin
                    // without CHECKS a bad record ends the load at once: the adapter drops the
                    // rest of the payload itself (xnca_core_adapter len_err), no drain counter
                    if (!CHECKS || (byte_take && remaining == RMW'(1))) begin
                        state <= S_IDLE;
                        o_done <= 1'b1;
                    end
                end else begin
                    case (state)
                    S_INQ: if (byte_take) begin
                        if (rec_n != 3'd5) recb <= rec_shift;
                        rec_n <= rec_n + 3'd1;
                        if (rec_n == 3'd5) begin
                            rec_n <= 3'd0;
                            o_inq_we <= 1'b1;
                            if (rec_bad) begin o_status <= 4'd13; draining <= 1'b1; end
                            if (inq_n == CHANNELS[4:0] - 5'd1) begin
                                state <= S_WBYTE;
                                layer <= 2'd0;
                                row <= 9'd0; unit <= {UB{1'b0}};
                                gbase <= {WAW{1'b0}}; qaddr <= {QAW{1'b0}};
                                plane <= 3'd0; ibase <= {WAW{1'b0}};
                                chunk <= 4'd0; rbyte <= 8'd0; nidx <= 9'd0;
                                o_w_addr <= {WAW{1'b1}};    // (UNITS = 1: before slice 0)
                                // (o_w_data is not cleared: bits above a partial segment
                                // are stale and masked in the units, amask)
                                seg_n <= {SBW{1'b0}};
                            end
                        end
                    end
                    S_WBYTE: if (byte_take) begin
                        wbyte <= i_data;
                        bitn <= 3'd0;
                        state <= S_WBITS;
                    end
                    S_WBITS: if (i_w_ready) begin
                        if (bit_in_row) begin
                            for (wbi = 0; wbi < SYN_BITS; wbi = wbi + 1)
                                if (seg_n[SBI-1:0] == SBI'(wbi)) o_w_data[wbi] <= cur_bit;
                            seg_n <= seg_n + 1'b1;
                        end
                        if (seg_end) begin
                            // write the segment (with this bit) to lane `unit` of its slice
                            o_w_we <= 1'b1;
                            // (one unit: a row group is one row, so the walk visits the
                            // slices in address order and o_w_addr just counts, from all-ones)
                            o_w_addr <= UNITS == 1 ? o_w_addr + 1'b1 : ibase + WAW'(chunk);
                            o_w_lane <= UNITS'(1) << unit;
                            chunk <= chunk + 4'd1;
                            seg_n <= {SBW{1'b0}};
                        end
                        nidx <= nidx + 9'd1;
                        bitn <= bitn + 3'd1;
                        if (bitn == 3'd7) begin
                            state <= S_WBYTE;
                            rbyte <= rbyte + 8'd1;
                            if ({8'd0, rbyte} + 16'd1 == l_rowbytes) begin
                                // end of this row's plane
                                rbyte <= 8'd0; nidx <= 9'd0; chunk <= 4'd0;
                                seg_n <= {SBW{1'b0}};
                                plane <= plane + 3'd1;
                                ibase <= ibase + WAW'(l_chunks);
                                if (plane == o_wbits - 3'd1) begin
                                    plane <= 3'd0;
                                    row <= row + 9'd1;
                                    unit <= unit + 1'b1;
                                    ibase <= gbase;
                                    // next row group (a partial last group too: gbase
                                    // then is the next layer's first slice)
                                    if (unit == UB'(UNITS - 1) || row_last) begin
                                        unit <= {UB{1'b0}};
                                        gbase <= gbase + WAW'(group_slices);
                                        ibase <= gbase + WAW'(group_slices);
                                    end
                                    if (row_last) begin
                                        state <= S_REC;
                                        row <= 9'd0; unit <= {UB{1'b0}};
                                        rec_n <= 3'd0;
                                    end
                                end
                            end
                        end
                    end
                    S_REC: if (byte_take) begin
                        if (rec_n != 3'd5) recb <= rec_shift;
                        rec_n <= rec_n + 3'd1;
                        if (rec_n == 3'd5) begin
                            rec_n <= 3'd0;
                            o_qrec_we <= 1'b1;
                            o_qrec_lane <= UNITS'(1) << unit;
                            if (rec_bad) begin o_status <= 4'd13; draining <= 1'b1; end
                            row <= row + 9'd1;
                            unit <= unit + 1'b1;
                            q_adv <= unit == UB'(UNITS - 1) || row_last;
                            if (unit == UB'(UNITS - 1) || row_last) unit <= {UB{1'b0}};
                            if (row_last) begin
                                if ({14'd0, layer} == l_last) begin
                                    state <= S_RUNP;
                                    runp_n <= 4'd0;
                                end else begin
                                    layer <= layer + 2'd1;
                                    state <= S_WBYTE;
                                    row <= 9'd0; unit <= {UB{1'b0}};
                                    ibase <= gbase;     // the layer's first slice (gbase walked there)
                                    plane <= 3'd0; chunk <= 4'd0; rbyte <= 8'd0;
                                    nidx <= 9'd0; seg_n <= {SBW{1'b0}};
                                end
                            end
                        end
                    end
                    S_RUNP: if (byte_take) begin
                        runp_n <= runp_n + 4'd1;
                        if (runp_n == 4'd0) begin
                            o_fire_t <= {1'b0, i_data};
                            runp_bad <= 1'b0;
                        end else if (runp_byte_bad) runp_bad <= 1'b1;
                        if (runp_n == 4'd1) o_fire_t[8] <= i_data[0];
                        if (runp_n == 4'd2) o_noise_p <= i_data[6:0];
                        if (runp_n == 4'd7) begin
                            state <= S_IDLE;
                            o_done <= 1'b1;
                            if (runp_bad) o_status <= 4'd12;
                        end
                    end
                    default: ;
                    endcase
                end
            end
        end
    end

    wire unused_ok = &{1'b0, l_chunks[15:WAW > 15 ? 15 : WAW], group_slices[7:WAW > 7 ? 7 : WAW], recb[7:0], seg_n[SBW-1], d_p[15:9], d_m[15:9], d_layers[7:2], d_wbits[7:3],
                       d_abits[7:3], d_sbits[7:4], d_ibits[7:3], desc[31:0], o_abits,
                       o_sbits, o_ibits,
                       l_nin[15:9], l_nout[15:9]};
endmodule

`resetall
