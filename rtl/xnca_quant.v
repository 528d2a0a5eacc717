// xnca_quant: the quantizer of spec 3.4 and the residual of spec 3.5 (combinational, or two
// stages with PIPE = 1).
// SPDX-License-Identifier: MIT
// Part of xnca. v = floor_shift(y * mul + add, shift);
//   o_level = clamp(v, 0, 2^k - 1)             (activation level, spec 3.4)
//   o_ds    = clamp(v, -512, 511)              (residual; exact for sat_S with S <= 8:
//             any ds >= 257 saturates high and any ds <= -258 saturates low whatever s, n)
// PIPE = 1 (the iCE40UP5K build, where the whole quantizer is far longer than a clock): the
// multiply-add y * mul + add and the shift amount are registered, so o_level / o_ds show the
// inputs of the previous cycle (i_k must hold for two cycles: it is the model's k).
`resetall
`default_nettype none

module xnca_quant #(
    // width of the signed sum y
    parameter integer YW = 20,
    // widest activation level in bits (MAX_ABITS)
    parameter integer KW = 4,
    // 1: register between the multiply-add and the shift / clamps (one cycle of latency)
    parameter integer PIPE = 0
) (
    input  wire                 clk,     // (PIPE = 1 only)
    input  wire signed [YW-1:0] i_y,
    input  wire [7:0]           i_mul,   // signed
    input  wire [4:0]           i_shift,
    input  wire [23:0]          i_add,   // signed, |add| < 2^23
    input  wire [2:0]           i_k,     // activation bits of the model, 1..KW
    output wire [KW-1:0]        o_level,
    output wire signed [9:0]    o_ds
);
    localparam integer VW = YW + 10;

    wire signed [VW-1:0] prod = i_y * $signed(i_mul);
    wire signed [VW-1:0] sum = prod + {{(VW-24){i_add[23]}}, i_add};
    wire signed [VW-1:0] v;
    generate
        if (PIPE == 1) begin : g_pipe
            reg signed [VW-1:0] sum_q;
            reg [4:0] shift_q;
            always @(posedge clk) begin
                sum_q <= sum;
                shift_q <= i_shift;
            end
            assign v = sum_q >>> shift_q;
        end else begin : g_comb
            assign v = sum >>> i_shift;
            wire unused_clk = clk;
        end
    endgenerate

    // level clamp: 0 .. 2^k - 1
    wire [KW:0] kmax = ({{KW{1'b0}}, 1'b1} << i_k) - 1'b1;
    wire signed [VW-1:0] kmax_s = {{(VW-KW-1){1'b0}}, kmax};
    // The range tests read the sign and the high bits (a `<` / `>` against a constant would take
    // a carry chain on the iCE40): v > kmax for v >= 0 iff a bit at or above k is set.
    wire v_neg = v[VW-1];
    wire lv_over = |v[VW-2:KW] || |(v[KW-1:0] & ~kmax[KW-1:0]);
    wire signed [VW-1:0] lv = v_neg ? {VW{1'b0}} : (lv_over ? kmax_s : v);
    assign o_level = lv[KW-1:0];

    // clamp to -512 .. 511: v > 511 iff v >= 0 with a bit at or above 9 set; v < -512 iff
    // v < 0 without all of those bits set
    wire ds_hi = !v_neg && |v[VW-2:9];
    wire ds_lo = v_neg && !(&v[VW-2:9]);
    assign o_ds = ds_hi ? 10'sd511 : ds_lo ? -10'sd512 : v[9:0];

    // bits of the intermediate results that are out of range by construction
    wire unused_ok = &{1'b0, lv[VW-1:KW], kmax[KW]};
endmodule

`resetall
