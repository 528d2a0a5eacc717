// xnca_hash: xnca-arx32 (spec 4.1), half a quarter-round per cycle, 8 cycles per draw.
// SPDX-License-Identifier: MIT
// Part of xnca. i_start loads the state from the inputs; o_done pulses with o_hash valid
// eight cycles later (o_hash holds until the next start). A quarter-round is two halves of the
// same shape (add, xor, rotate; add, xor, rotate) with rotations 16, 12 then 8, 7: one half per
// cycle takes two 32-bit adders instead of four (area and the clock period on the iCE40).
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
    reg [2:0]  round;                // half-round; odd: the second half (rotations 8, 7)
    reg        busy;

    // half a quarter-round of spec 4.1 (add, xor, rotate); rotations are wiring + a 2:1 mux
    wire        second = round[0];
    wire [31:0] a1 = a + b;
    wire [31:0] d1x = d ^ a1;
    wire [31:0] d1 = second ? {d1x[23:0], d1x[31:24]} : {d1x[15:0], d1x[31:16]};
    wire [31:0] c1 = c + d1;
    wire [31:0] b1x = b ^ c1;
    wire [31:0] b1 = second ? {b1x[24:0], b1x[31:25]} : {b1x[19:0], b1x[31:20]};

    assign o_hash = a ^ b ^ c ^ d;

    always @(posedge clk) begin
        o_done <= 1'b0;
        if (rst) begin
            busy <= 1'b0;
            round <= 3'd0;
        end else if (i_start) begin
            a <= i_seed ^ 32'h61707865;
            b <= i_image ^ 32'h3320646e;
            c <= {i_step, i_lane} ^ 32'h79622d32;
            d <= {16'h0000, i_y, i_x} ^ 32'h6b206574;
            busy <= 1'b1;
            round <= 3'd0;
        end else if (busy) begin
            a <= a1;
            b <= b1;
            c <= c1;
            d <= d1;
            round <= round + 3'd1;
            if (round == 3'd7) begin
                busy <= 1'b0;
                o_done <= 1'b1;
            end
        end
    end
endmodule

`resetall
