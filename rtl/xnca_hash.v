// xnca_hash: xnca-arx32 (spec 4.1), half a quarter-round per two cycles, 16 cycles per draw.
// SPDX-License-Identifier: MIT
// Part of xnca. i_start loads the state from the inputs; o_done pulses with o_hash valid
// sixteen cycles later (o_hash holds until the next start). A quarter-round is two halves of the
// same shape (add, xor, rotate; add, xor, rotate) with rotations 16, 12 then 8, 7: one half per
// two cycles takes two 32-bit adders instead of four (area), and no two of them in series in
// one cycle (the clock period on the iCE40): a + b and d's xor-rotate in the first cycle
// (sub = 0), c + d and b's in the second (sub = 1). 16 cycles per draw.
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
    localparam [31:0] K0 = 32'h61707865, K1 = 32'h3320646e, K2 = 32'h79622d32, K3 = 32'h6b206574;
    wire [31:0] init_a = i_seed ^ K0;
    wire [31:0] init_b = i_image ^ K1;
    wire [31:0] init_c = {i_step, i_lane} ^ K2;
    wire [31:0] init_d = {16'h0000, i_y, i_x} ^ K3;
    reg  [2:0]  round;               // half-round; odd: the second half (rotations 8, 7)
    reg         sub;                 // cycle of the half-round: 0 updates a, d; 1 c, b
    reg         busy;
    wire        second = round[0];

    reg [31:0] a, b, c, d;

    // half a quarter-round of spec 4.1 (add, xor, rotate); rotations are wiring + a 2:1 mux
    wire [31:0] a1 = a + b;
    wire [31:0] d1x = d ^ a1;
    wire [31:0] d1 = second ? {d1x[23:0], d1x[31:24]} : {d1x[15:0], d1x[31:16]};
    wire [31:0] c1 = c + d;
    wire [31:0] b1x = b ^ c1;
    wire [31:0] b1 = second ? {b1x[24:0], b1x[31:25]} : {b1x[19:0], b1x[31:20]};

    assign o_hash = a ^ b ^ c ^ d;

    always @(posedge clk) begin
        if (i_start && !rst) begin
            a <= init_a;
            b <= init_b;
            c <= init_c;
            d <= init_d;
        end else if (busy && !rst) begin
            if (!sub) begin
                a <= a1;
                d <= d1;
            end else begin
                c <= c1;                 // (c + d: d is this half-round's d1)
                b <= b1;
            end
        end
    end

    always @(posedge clk) begin
        o_done <= 1'b0;
        if (rst) begin
            busy <= 1'b0;
            round <= 3'd0;
            sub <= 1'b0;
        end else if (i_start) begin
            busy <= 1'b1;
            round <= 3'd0;
            sub <= 1'b0;
        end else if (busy) begin
            sub <= !sub;
            if (sub) round <= round + 3'd1;
            if (sub && round == 3'd7) begin
                busy <= 1'b0;
                o_done <= 1'b1;
            end
        end
    end
endmodule

`resetall
