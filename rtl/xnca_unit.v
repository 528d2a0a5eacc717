// xnca_unit: one update unit = a SYN_BITS-wide XNOR-popcount with BATCH shift-accumulators.
// SPDX-License-Identifier: MIT
// Part of xnca. Two pipeline stages:
//   stage 1: pc = popcount(XNOR(w, a) & mask)                (registered)
//   stage 2: acc[b] = (first ? 0 : acc[b]) + ((2 pc - nvalid) << shift)
// w is one weight bit-plane chunk of this unit's output row (held for a whole slice),
// a one activation bit-plane chunk of cell b of the batch, shift = i + j (spec 3.3).
// i_snap copies every accumulator into a shadow register at once (the end of an output
// row group), so the drain reads the shadows while the next group already accumulates.
`resetall
`default_nettype none

module xnca_unit #(
    // synapse bits per cycle
    parameter integer SYN_BITS = 64,
    // cells sharing the weight slice (one accumulator each)
    parameter integer BATCH = 4,
    // accumulator width (signed)
    parameter integer ACC_W = 20
) (
    input  wire                    clk,
    // stage-1 inputs
    input  wire                    i_valid,
    input  wire                    i_first,   // first slice of the output row: overwrite
    input  wire [BW-1:0]           i_b,       // cell of the batch
    input  wire [2:0]              i_shift,   // weight plane + activation plane
    input  wire [SYN_BITS-1:0]     i_w,
    input  wire [SYN_BITS-1:0]     i_a,
    input  wire [SYN_BITS-1:0]     i_mask,
    input  wire [CW-1:0]           i_nvalid,  // popcount(i_mask)
    // drain
    input  wire                    i_snap,
    input  wire [BW-1:0]           i_rd_b,
    output wire signed [ACC_W-1:0] o_acc
);
    localparam integer BW = BATCH > 1 ? $clog2(BATCH) : 1;
    localparam integer CW = $clog2(SYN_BITS + 1);

    // stage 1: XNOR-popcount
    wire [SYN_BITS-1:0] agree = ~(i_w ^ i_a) & i_mask;
    // $countones: yosys builds the adder tree, Verilator a word popcount (fast simulation)
    wire [31:0] count32 = $countones(agree);
    wire [CW-1:0] count = count32[CW-1:0];

    reg          s1_valid, s1_first;
    reg [BW-1:0] s1_b;
    reg [2:0]    s1_shift;
    reg [CW-1:0] s1_count, s1_nvalid;
    always @(posedge clk) begin
        s1_valid <= i_valid;
        s1_first <= i_first;
        s1_b <= i_b;
        s1_shift <= i_shift;
        s1_count <= count;
        s1_nvalid <= i_nvalid;
    end

    // stage 2: signed partial sum of the plane pair, shifted, accumulated
    wire signed [ACC_W-1:0] partial =
        ({{(ACC_W-CW-1){1'b0}}, s1_count, 1'b0} - {{(ACC_W-CW){1'b0}}, s1_nvalid}) <<< s1_shift;

    reg signed [ACC_W-1:0] acc [0:BATCH-1];
    always @(posedge clk) begin
        if (s1_valid) acc[s1_b] <= (s1_first ? {ACC_W{1'b0}} : acc[s1_b]) + partial;
    end

    reg signed [ACC_W-1:0] shadow [0:BATCH-1];
    genvar gb;
    generate
        for (gb = 0; gb < BATCH; gb = gb + 1) begin : g_shadow
            always @(posedge clk) if (i_snap) shadow[gb] <= acc[gb];
        end
    endgenerate

    assign o_acc = shadow[i_rd_b];

    wire unused_count = &{1'b0, count32[31:CW]};
endmodule

`resetall
