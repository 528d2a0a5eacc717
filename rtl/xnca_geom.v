// xnca_geom: layer geometry of the loaded model (combinational from the model registers).
// SPDX-License-Identifier: MIT
// Part of xnca. For layer l = 0 .. L+1 (spec 3.1): inputs, outputs, the input chunking of
// the array, weight-slice and record bases. Layer 0's chunk holds NBPC whole neighbours
// (NBPC * C bits, so a chunk never splits a neighbour); later layers' chunks are SYN_BITS.
// Slice (l, g, i, ch) = weight plane i of chunk ch of the rows g*UNITS .. g*UNITS+UNITS-1
// sits at wbase[l] + (g * m + i) * chunks[l] + ch. All outputs are 16 bits per layer.
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
    output wire [63:0] o_wbase,
    output wire [63:0] o_qbase,
    output wire [63:0] o_rowbytes,
    output wire [31:0] o_weight_bytes  // spec 9
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

    reg [15:0] nin [0:3];
    reg [15:0] nout [0:3];
    reg [15:0] ebits [0:3];
    reg [15:0] chunks [0:3];
    reg [15:0] groups [0:3];
    reg [15:0] wbase [0:3];
    reg [15:0] qbase [0:3];
    reg [15:0] rowb [0:3];
    reg [31:0] wbytes;

    integer l;
    always @(*) begin
        wbytes = 32'd6 * CHANNELS + 32'd8;
        for (l = 0; l < 4; l = l + 1) begin
            nin[l] = l == 0 ? NIN0[15:0] : (l == 1 ? {7'd0, i_p} : {7'd0, i_m});
            nout[l] = l == out_layer ? NOUTL[15:0] : (l == 0 ? {7'd0, i_p} : {7'd0, i_m});
            ebits[l] = l == 0 ? E0[15:0] : SYN_BITS[15:0];
            chunks[l] = l == 0 ? CH0[15:0] : (nin[l] + SYN_BITS[15:0] - 16'd1) >> SB;
            groups[l] = (nout[l] + UNITS[15:0] - 16'd1) >> UB;
            rowb[l] = (nin[l] + 16'd7) >> 3;
            if (l == 0) begin
                wbase[l] = 16'd0;
                qbase[l] = 16'd0;
            end else begin
                wbase[l] = wbase[l-1] + groups[l-1] * {13'd0, i_wbits} * chunks[l-1];
                qbase[l] = qbase[l-1] + groups[l-1];
            end
            if (l <= out_layer)
                wbytes = wbytes + {16'd0, nout[l]} * ({29'd0, i_wbits} * {16'd0, rowb[l]} + 32'd6);
        end
    end

    genvar gl;
    generate
        for (gl = 0; gl < 4; gl = gl + 1) begin : g_out
            assign o_nin[gl*16 +: 16] = nin[gl];
            assign o_nout[gl*16 +: 16] = nout[gl];
            assign o_chunk_bits[gl*16 +: 16] = ebits[gl];
            assign o_chunks[gl*16 +: 16] = chunks[gl];
            assign o_groups[gl*16 +: 16] = groups[gl];
            assign o_wbase[gl*16 +: 16] = wbase[gl];
            assign o_qbase[gl*16 +: 16] = qbase[gl];
            assign o_rowbytes[gl*16 +: 16] = rowb[gl];
        end
    endgenerate
    assign o_weight_bytes = wbytes;
endmodule

`resetall
