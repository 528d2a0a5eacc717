// xnca_hash: xnca-arx32 (spec 4.1), one quarter-round per cycle, 4 cycles per draw.
// SPDX-License-Identifier: MIT
// Part of xnca. i_start loads the state from the inputs; o_done pulses with o_hash valid
// four cycles later (o_hash holds until the next start).
`resetall
`default_nettype none

module xnca_hash (
    input  wire        clk,
    input  wire        rst,
    input  wire        i_start,
    input  wire [31:0] i_seed,
    input  wire [31:0] i_image,
    input  wire [15:0] i_step,
    input  wire [15:0] i_lane,
    input  wire [7:0]  i_x,
    input  wire [7:0]  i_y,
    output reg         o_done,
    output wire [31:0] o_hash
);
    reg [31:0] a, b, c, d;
    reg [1:0]  round;
    reg        busy;

    // one quarter-round of spec 4.1 (add, rotate, xor); rotations are wiring
    wire [31:0] a1 = a + b;
    wire [31:0] d1x = d ^ a1;
    wire [31:0] d1 = {d1x[15:0], d1x[31:16]};
    wire [31:0] c1 = c + d1;
    wire [31:0] b1x = b ^ c1;
    wire [31:0] b1 = {b1x[19:0], b1x[31:20]};
    wire [31:0] a2 = a1 + b1;
    wire [31:0] d2x = d1 ^ a2;
    wire [31:0] d2 = {d2x[23:0], d2x[31:24]};
    wire [31:0] c2 = c1 + d2;
    wire [31:0] b2x = b1 ^ c2;
    wire [31:0] b2 = {b2x[24:0], b2x[31:25]};

    assign o_hash = a ^ b ^ c ^ d;

    always @(posedge clk) begin
        o_done <= 1'b0;
        if (rst) begin
            busy <= 1'b0;
            round <= 2'd0;
        end else if (i_start) begin
            a <= i_seed ^ 32'h61707865;
            b <= i_image ^ 32'h3320646e;
            c <= {i_step, i_lane} ^ 32'h79622d32;
            d <= {16'h0000, i_y, i_x} ^ 32'h6b206574;
            busy <= 1'b1;
            round <= 2'd0;
        end else if (busy) begin
            a <= a2;
            b <= b2;
            c <= c2;
            d <= d2;
            round <= round + 2'd1;
            if (round == 2'd3) begin
                busy <= 1'b0;
                o_done <= 1'b1;
            end
        end
    end
endmodule

`resetall
