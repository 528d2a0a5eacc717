// xnca_geom: layer geometry of the loaded model (combinational from the model registers).
// SPDX-License-Identifier: MIT
// Part of xnca. For layer l = 0 .. L+1 (spec 3.1): inputs, outputs, the input chunking of
// the array, weight-slice and record bases. Layer 0's chunk holds NBPC whole neighbours
// (NBPC * C bits, so a chunk never splits a neighbour); later layers' chunks are SYN_BITS.
// Slice (l, g, i, ch) = weight plane i of chunk ch of the rows g*UNITS .. g*UNITS+UNITS-1
// sits at wbase[l] + (g * m + i) * chunks[l] + ch, wbase[l] = sum over l' < l of
// groups[l'] * m * chunks[l'] (the loader walks it; no multiplier here). All outputs are 16
// bits per layer.
`resetall
`default_nettype none

module xnca_geom #(
    parameter integer CHANNELS = 20,
    parameter integer UNITS = 4,
    parameter integer SYN_BITS = 64
) (
    input  wire [1:0]  i_layers,  // L
    input  wire [8:0]  i_p,       // P
    input  wire [8:0]  i_m,       // M
    input  wire [2:0]  i_wbits,   // m
    output wire [63:0] o_nin,
    output wire [63:0] o_nout,
    output wire [63:0] o_chunk_bits, // E: valid bits of a full chunk
    output wire [63:0] o_chunks,
    output wire [63:0] o_groups,
    output wire [63:0] o_rowbytes
);
    localparam integer NBPC = SYN_BITS / CHANNELS;      // neighbours per layer-0 chunk
    localparam integer CH0 = (9 + NBPC - 1) / NBPC;     // layer-0 chunks
    localparam integer E0 = NBPC * CHANNELS;
    localparam integer SB = $clog2(SYN_BITS);
    localparam integer UB = $clog2(UNITS);
    localparam integer NIN0 = 9 * CHANNELS;
    localparam integer NOUTL = CHANNELS - 1;

    // index of the output layer (L + 1)
    wire [31:0] out_layer = {30'd0, i_layers} + 32'd1;
    wire unused_c = &{1'b0, nin_c[SB-1:0], nout_c[UB > 0 ? UB-1 : 0]};

    // widths: N_in <= 288, N_out <= 256, chunks <= 9 (SYN_BITS >= 32), m <= 4, row bytes <= 36
    reg [8:0]  nin [0:3];
    reg [8:0]  nout [0:3];
    reg [15:0] ebits [0:3];
    reg [3:0]  chunks [0:3];
    reg [8:0]  groups [0:3];
    reg [5:0]  rowb [0:3];
    reg [11:0] nin_c, nout_c;        // rounded up to whole chunks / groups (< 2^11)

    integer l;
    always @(*) begin
        for (l = 0; l < 4; l = l + 1) begin
            nin[l] = l == 0 ? NIN0[8:0] : (l == 1 ? i_p : i_m);
            nout[l] = l == out_layer ? NOUTL[8:0] : (l == 0 ? i_p : i_m);
            nin_c = {3'd0, nin[l]} + SYN_BITS[11:0] - 12'd1;
            nout_c = {3'd0, nout[l]} + UNITS[11:0] - 12'd1;
            ebits[l] = l == 0 ? E0[15:0] : SYN_BITS[15:0];
            chunks[l] = l == 0 ? CH0[3:0] : 4'(nin_c >> SB);
            groups[l] = 9'(nout_c >> UB);
            rowb[l] = 6'(({1'b0, nin[l]} + 10'd7) >> 3);
        end
    end

    genvar gl;
    generate
        for (gl = 0; gl < 4; gl = gl + 1) begin : g_out
            assign o_nin[gl*16 +: 16] = {7'd0, nin[gl]};
            assign o_nout[gl*16 +: 16] = {7'd0, nout[gl]};
            assign o_chunk_bits[gl*16 +: 16] = ebits[gl];
            assign o_chunks[gl*16 +: 16] = {12'd0, chunks[gl]};
            assign o_groups[gl*16 +: 16] = {7'd0, groups[gl]};
            assign o_rowbytes[gl*16 +: 16] = {10'd0, rowb[gl]};
        end
    endgenerate
    wire unused_wbits = &{1'b0, i_wbits};
endmodule

`resetall
