// xnca_board_ulx3s: the xnca device on the ULX3S (constraints/ulx3s.lpf names).
// 25 MHz -> EHXPLLL -> core clock (default 25 MHz); host link on the FT231X UART (default 1 Mbaud,
// 25 clocks per bit; host: --device tty:/dev/ttyUSB0@1000000). led[0]: model loaded, led[1]: core busy, led[7:2] off. FIRE1 (btn[1]) held resets
// the device; wifi_gpio0 is held high (docs/boards.md). The defaults are the ULX3S-85F array
// chosen by scripts/board-sweep (docs/board-sweep.md; = mk/top.mk TOP_CFG_ulx3s-85f): 16 units x
// 128 synapse bits, caps W4A4; xnca_board_ulx3s_25f instantiates this with the 25F array.
`default_nettype none

module xnca_board_ulx3s #(
  parameter [127:0] BOARD = "ulx3s-85f",
  parameter integer MAX_WBITS = 4,
  parameter integer MAX_ABITS = 4,
  parameter integer UNITS = 16,
  parameter integer SYN_BITS = 128,
  parameter integer BATCH = 8,
  parameter integer HASH_PIPE = 1,
  parameter integer XY_WIDE = 0,
  // core clock: 25 MHz x CLKFB_DIV / CLKI_DIV (EHXPLLL, VCO = clock x CLKOP_DIV, 400..800 MHz;
  // values from ecppll), and the UART: CLKS_PER_BIT clocks per bit (>= 4) at CLOCK_HZ
  // (default 25 MHz, 1 Mbaud: the core closes timing at ~30-35 MHz on ECP5 since the readout
  // argmax is a registered tree, see docs/boards.md; 10 MHz = 10_000_000, 10, 5, 2, 60, 30;
  // 75 MHz / 3 Mbaud = 75_000_000, 25, 1, 3, 8, 4)
  parameter integer CLOCK_HZ = 25_000_000,
  parameter integer CLKS_PER_BIT = 25,
  parameter integer PLL_CLKI_DIV = 1,
  parameter integer PLL_CLKFB_DIV = 1,
  parameter integer PLL_CLKOP_DIV = 24,
  parameter integer PLL_CLKOP_CPHASE = 11
) (
  input  wire       clk_25mhz,   // G2
  input  wire [1:0] btn,         // btn[0] BTN_PWRn (active low), btn[1] FIRE1 (active high)
  input  wire       ftdi_txd,    // FT231X TXD = FPGA receive (M1)
  output wire       ftdi_rxd,    // FT231X RXD = FPGA transmit (L4)
  output wire [7:0] led,         // active high
  output wire       wifi_gpio0
);
`ifdef XNCA_BUILD_ID
  localparam [31:0] BUILD_ID = `XNCA_BUILD_ID;
`else
  localparam [31:0] BUILD_ID = 32'h0;
`endif

  wire clk, lock, rst;
  // default: 25 MHz / 1 * 1 = 25 MHz (VCO 600 MHz, ecppll -i 25 -o 25)
  xnca_pll_ecp5 #(.CLKI_DIV(PLL_CLKI_DIV), .CLKFB_DIV(PLL_CLKFB_DIV), .CLKOP_DIV(PLL_CLKOP_DIV),
    .CLKOP_CPHASE(PLL_CLKOP_CPHASE)) u_pll (
    .clk_i(clk_25mhz), .clk_o(clk), .lock_o(lock)
  );
  xnca_board_reset u_reset (.clk_i(clk), .lock_i(lock), .req_i(btn[1]), .rst_o(rst));

  wire busy, model_ok, unused_step, unused_ferr;
  xnca_top #(
    .BOARD(BOARD), .CLOCK_HZ(CLOCK_HZ), .CLKS_PER_BIT(CLKS_PER_BIT), .BUILD_ID(BUILD_ID),
    .MAX_WBITS(MAX_WBITS), .MAX_ABITS(MAX_ABITS), .UNITS(UNITS), .SYN_BITS(SYN_BITS),
    .BATCH(BATCH), .HASH_PIPE(HASH_PIPE), .XY_WIDE(XY_WIDE)
  ) u_top (
    .clk_i(clk), .rst_i(rst), .uart_rx_i(ftdi_txd), .uart_tx_o(ftdi_rxd),
    .busy_o(busy), .model_ok_o(model_ok), .step_done_o(unused_step), .framing_error_o(unused_ferr),
    .fault_en_i(1'b0), .fault_step_i(16'd0), .fault_x_i(8'd0), .fault_y_i(8'd0), .fault_ch_i(8'd0)
  );

  assign led = {6'd0, busy, model_ok};
  assign wifi_gpio0 = btn[0];
  wire unused_btn = btn[0];

endmodule
`resetall
