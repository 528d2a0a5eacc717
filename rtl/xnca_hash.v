// xnca_hash: xnca-arx32 (spec 4.1), half a quarter-round per cycle, 8 cycles per draw.
// SPDX-License-Identifier: MIT
// Part of xnca. i_start loads the state from the inputs; o_done pulses with o_hash valid
// eight cycles later (o_hash holds until the next start). A quarter-round is two halves of the
// same shape (add, xor, rotate; add, xor, rotate) with rotations 16, 12 then 8, 7: one half per
// cycle takes two 32-bit adders instead of four (area and the clock period on the iCE40).
// DSP_ICE40 = 1 (xnca_core sets it where SPRAM = 1, the iCE40UP5K map): the two adders and the
// a / c state live in two SB_MAC16 blocks as accumulators (O = load ? init : Q + in, combinational;
// Q <= O): no carry chains and 32 flip-flops fewer; the output is a register loaded in the last
// cycle with a1 ^ b1 ^ c1 ^ d1 (Q holds a and c, which are not visible outside the blocks).
// Simulators take a behavioural accumulator of the same shape, unless XNCA_SIM_ICE40_DSP is
// defined and a SB_MAC16 model given (the iCEBreaker's Verilated device).
`resetall
`default_nettype none
`ifdef SYNTHESIS
`define XNCA_HASH_DSP
`elsif XNCA_SIM_ICE40_DSP
`define XNCA_HASH_DSP
`endif

module xnca_hash #(
    parameter integer DSP_ICE40 = 0
) (
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
    reg         busy;
    wire        second = round[0];

    generate
        if (DSP_ICE40 == 0) begin : g_fabric
            reg [31:0] a, b, c, d;

            // half a quarter-round of spec 4.1 (add, xor, rotate); rotations are wiring + a 2:1 mux
            wire [31:0] a1 = a + b;
            wire [31:0] d1x = d ^ a1;
            wire [31:0] d1 = second ? {d1x[23:0], d1x[31:24]} : {d1x[15:0], d1x[31:16]};
            wire [31:0] c1 = c + d1;
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
                    a <= a1;
                    b <= b1;
                    c <= c1;
                    d <= d1;
                end
            end
        end else begin : g_dsp
            // a and c are the accumulators' Q; a1 / c1 their outputs (the loaded value at i_start)
            reg  [31:0] b, d, h;
            wire [31:0] a1, c1;
            wire [31:0] d1x = d ^ a1;
            wire [31:0] d1 = second ? {d1x[23:0], d1x[31:24]} : {d1x[15:0], d1x[31:16]};
            wire [31:0] b1x = b ^ c1;
            wire [31:0] b1 = second ? {b1x[24:0], b1x[31:25]} : {b1x[19:0], b1x[31:20]};
            wire        acc_ce = i_start || busy;

            // two accumulators, O = load ? init : Q + add (combinational), Q <= O while acc_ce:
            // a (adds b) and c (adds d1)
`ifdef XNCA_HASH_DSP
            // SB_MAC16: top and bottom halves chained (the top adder takes the bottom's carry),
            // the upper adder inputs from the output registers Q, the lower from A / B
            wire [1:0] co, accumco, signextout;
            SB_MAC16 #(
                .TOPOUTPUT_SELECT(2'b00), .TOPADDSUB_LOWERINPUT(2'b00), .TOPADDSUB_UPPERINPUT(1'b0),
                .TOPADDSUB_CARRYSELECT(2'b10), .BOTOUTPUT_SELECT(2'b00), .BOTADDSUB_LOWERINPUT(2'b00),
                .BOTADDSUB_UPPERINPUT(1'b0), .BOTADDSUB_CARRYSELECT(2'b00)
            ) u_mac_a (
                .CLK(clk), .CE(acc_ce), .C(init_a[31:16]), .A(b[31:16]), .B(b[15:0]),
                .D(init_a[15:0]), .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0),
                .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(1'b0), .ORSTBOT(1'b0), .OLOADTOP(i_start),
                .OLOADBOT(i_start), .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0), .OHOLDTOP(1'b0),
                .OHOLDBOT(1'b0), .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0), .O(a1), .CO(co[0]),
                .ACCUMCO(accumco[0]), .SIGNEXTOUT(signextout[0])
            );
            SB_MAC16 #(
                .TOPOUTPUT_SELECT(2'b00), .TOPADDSUB_LOWERINPUT(2'b00), .TOPADDSUB_UPPERINPUT(1'b0),
                .TOPADDSUB_CARRYSELECT(2'b10), .BOTOUTPUT_SELECT(2'b00), .BOTADDSUB_LOWERINPUT(2'b00),
                .BOTADDSUB_UPPERINPUT(1'b0), .BOTADDSUB_CARRYSELECT(2'b00)
            ) u_mac_c (
                .CLK(clk), .CE(acc_ce), .C(init_c[31:16]), .A(d1[31:16]), .B(d1[15:0]),
                .D(init_c[15:0]), .AHOLD(1'b0), .BHOLD(1'b0), .CHOLD(1'b0), .DHOLD(1'b0),
                .IRSTTOP(1'b0), .IRSTBOT(1'b0), .ORSTTOP(1'b0), .ORSTBOT(1'b0), .OLOADTOP(i_start),
                .OLOADBOT(i_start), .ADDSUBTOP(1'b0), .ADDSUBBOT(1'b0), .OHOLDTOP(1'b0),
                .OHOLDBOT(1'b0), .CI(1'b0), .ACCUMCI(1'b0), .SIGNEXTIN(1'b0), .O(c1), .CO(co[1]),
                .ACCUMCO(accumco[1]), .SIGNEXTOUT(signextout[1])
            );
            wire unused_mac = ^{co, accumco, signextout};
`else
            reg [31:0] qa, qc;
            assign a1 = i_start ? init_a : qa + b;
            assign c1 = i_start ? init_c : qc + d1;
            always @(posedge clk)
                if (acc_ce) begin
                    qa <= a1;
                    qc <= c1;
                end
`endif

            assign o_hash = h;

            always @(posedge clk) begin
                if (i_start && !rst) begin
                    b <= init_b;
                    d <= init_d;
                end else if (busy && !rst) begin
                    b <= b1;
                    d <= d1;
                    if (round == 3'd7) h <= a1 ^ b1 ^ c1 ^ d1;
                end
            end
        end
    endgenerate

    always @(posedge clk) begin
        o_done <= 1'b0;
        if (rst) begin
            busy <= 1'b0;
            round <= 3'd0;
        end else if (i_start) begin
            busy <= 1'b1;
            round <= 3'd0;
        end else if (busy) begin
            round <= round + 3'd1;
            if (round == 3'd7) begin
                busy <= 1'b0;
                o_done <= 1'b1;
            end
        end
    end
endmodule
`undef XNCA_HASH_DSP

`resetall
