// xnca_hash_pipe: xnca-arx32 (spec 4.1) with the four quarter-rounds in four pipeline
// stages: one draw per cycle, result four cycles after the request, tag carried along.
// SPDX-License-Identifier: MIT
// Part of xnca. About four times the logic of xnca_hash (four quarter-round adders sets);
// used by configurations whose array is fast enough that fire and noise draws would
// otherwise be the bottleneck (HASH_PIPE = 1).
`resetall
`default_nettype none

module xnca_hash_pipe #(
    // width of the tag travelling with a request
    parameter integer TAGW = 8
) (
    input  wire            clk,
    input  wire            rst,
    input  wire            i_valid,
    input  wire [TAGW-1:0] i_tag,
    input  wire [31:0]     i_seed,
    input  wire [31:0]     i_image,
    input  wire [15:0]     i_step,
    input  wire [15:0]     i_lane,
    input  wire [7:0]      i_x,
    input  wire [7:0]      i_y,
    output wire            o_valid,
    output wire [TAGW-1:0] o_tag,
    output wire [31:0]     o_hash
);
    // stage s of the pipeline occupies bits [s*32 +: 32] (s = 0: the request itself)
    wire [5*32-1:0]   as, bs, cs, ds;
    wire [4:0]        vs;
    wire [5*TAGW-1:0] ts;
    assign as[31:0] = i_seed ^ 32'h61707865;
    assign bs[31:0] = i_image ^ 32'h3320646e;
    assign cs[31:0] = {i_step, i_lane} ^ 32'h79622d32;
    assign ds[31:0] = {16'h0000, i_y, i_x} ^ 32'h6b206574;
    assign vs[0] = i_valid;
    assign ts[TAGW-1:0] = i_tag;

    genvar gs;
    generate
        for (gs = 0; gs < 4; gs = gs + 1) begin : g_round
            // one quarter-round (add, rotate, xor) per stage
            wire [31:0] a0 = as[gs*32 +: 32];
            wire [31:0] b0 = bs[gs*32 +: 32];
            wire [31:0] c0 = cs[gs*32 +: 32];
            wire [31:0] d0 = ds[gs*32 +: 32];
            wire [31:0] a1 = a0 + b0;
            wire [31:0] d1x = d0 ^ a1;
            wire [31:0] d1 = {d1x[15:0], d1x[31:16]};
            wire [31:0] c1 = c0 + d1;
            wire [31:0] b1x = b0 ^ c1;
            wire [31:0] b1 = {b1x[19:0], b1x[31:20]};
            wire [31:0] a2 = a1 + b1;
            wire [31:0] d2x = d1 ^ a2;
            wire [31:0] d2 = {d2x[23:0], d2x[31:24]};
            wire [31:0] c2 = c1 + d2;
            wire [31:0] b2x = b1 ^ c2;
            wire [31:0] b2 = {b2x[24:0], b2x[31:25]};
            reg  [31:0] aq, bq, cq, dq;
            reg  [TAGW-1:0] tq;
            reg         vq;
            always @(posedge clk) begin
                aq <= a2;
                bq <= b2;
                cq <= c2;
                dq <= d2;
                tq <= ts[gs*TAGW +: TAGW];
                vq <= rst ? 1'b0 : vs[gs];
            end
            assign as[(gs+1)*32 +: 32] = aq;
            assign bs[(gs+1)*32 +: 32] = bq;
            assign cs[(gs+1)*32 +: 32] = cq;
            assign ds[(gs+1)*32 +: 32] = dq;
            assign ts[(gs+1)*TAGW +: TAGW] = tq;
            assign vs[gs+1] = vq;
        end
    endgenerate

    assign o_valid = vs[4];
    assign o_tag = ts[4*TAGW +: TAGW];
    assign o_hash = as[4*32 +: 32] ^ bs[4*32 +: 32] ^ cs[4*32 +: 32] ^ ds[4*32 +: 32];
endmodule

`resetall
