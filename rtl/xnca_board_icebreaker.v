// xnca_board_icebreaker: the xnca device on the iCEBreaker (constraints/icebreaker.pcf names).
// 12 MHz -> SB_PLL40_PAD -> 21 MHz core clock; host link on the FT2232H channel B UART at
// 3 Mbaud (7 clocks per bit; the host's usb/tty default). LEDR_N lights while the core
// computes, LEDG_N once a model is loaded; BTN_N held resets the device.
// Array configuration: the UP5K build of docs/architecture.md section 8 (the `up5k` set of
// mk/rtl.mk): 28x28, C = 20, caps W4A4, P = M = 80, UNITS x SYN_BITS synapse bits per cycle,
// cell state / activations and weight slices in SPRAM; the core's statistics counters (STATS)
// and its second descriptor check (LOAD_CHECKS) are left out: the adapter counts cycles and
// checks the descriptor itself, and the core takes pixel levels from the adapter (PIX_LEVELS)
// instead of pixels, and the adapter puts its 32-bit counter / holders / length arithmetic into
// four of the UP5K's eight DSP blocks (DSP_ICE40; logic is scarce: docs/architecture.md
// section 8). The build
// id comes from make (`XNCA_BUILD_ID, mk/boards.mk).
`default_nettype none

module xnca_board_icebreaker #(
  parameter integer CLKS_PER_BIT = 7,
  parameter integer MAX_WBITS = 4,
  parameter integer MAX_ABITS = 4,
  parameter integer UNITS = 1,
  parameter integer SYN_BITS = 32,
  parameter integer BATCH = 2
) (
  input  wire CLK,        // 12 MHz, pin 35 (PLL pad)
  input  wire BTN_N,      // user button, active low
  input  wire RX,         // from FT2232H channel B TXD
  output wire TX,         // to FT2232H channel B RXD
  output wire LEDR_N,     // red LED, active low: core busy
  output wire LEDG_N      // green LED, active low: model loaded
);
`ifdef XNCA_BUILD_ID
  localparam [31:0] BUILD_ID = `XNCA_BUILD_ID;
`else
  localparam [31:0] BUILD_ID = 32'h0;
`endif

  wire clk, lock, rst;
  // 12 MHz * 56 / 32 = 21 MHz (icepll -i 12 -o 21). 21 MHz, not 24: the whole device reaches
  // ~24-25 MHz on the UP5K, short of the 26.4 MHz that 24 MHz with 10 % slack needs (docs/boards.md).
  xnca_pll_ice40 #(.DIVR(4'd0), .DIVF(7'd55), .DIVQ(3'd5), .FILTER_RANGE(3'd1)) u_pll (
    .pad_i(CLK), .clk_o(clk), .lock_o(lock)
  );
  xnca_board_reset u_reset (.clk_i(clk), .lock_i(lock), .req_i(~BTN_N), .rst_o(rst));

  wire busy, model_ok, unused_step, unused_ferr;
  xnca_top #(
    .BOARD("icebreaker"), .CLOCK_HZ(21_000_000), .CLKS_PER_BIT(CLKS_PER_BIT), .BUILD_ID(BUILD_ID),
    .MAX_WBITS(MAX_WBITS), .MAX_ABITS(MAX_ABITS), .UNITS(UNITS), .SYN_BITS(SYN_BITS),
    .BATCH(BATCH), .HASH_PIPE(0), .SPRAM(1), .STATS(1'b0),
    .LOAD_CHECKS(1'b0), .PIX_LEVELS(1), .INFO_RECORD(0), .DSP_ICE40(1)
  ) u_top (
    .clk_i(clk), .rst_i(rst), .uart_rx_i(RX), .uart_tx_o(TX),
    .busy_o(busy), .model_ok_o(model_ok), .step_done_o(unused_step), .framing_error_o(unused_ferr),
    .fault_en_i(1'b0), .fault_step_i(16'd0), .fault_x_i(8'd0), .fault_y_i(8'd0), .fault_ch_i(8'd0)
  );

  assign LEDR_N = ~busy;
  assign LEDG_N = ~model_ok;

endmodule
`resetall
