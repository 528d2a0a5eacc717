// xnca_board_ulx3s_25f: the ULX3S top with the 25F array: 8 units x 64 synapse bits, batch 2,
// iterative hash, caps W4A4 (= mk/top.mk TOP_CFG_ulx3s-25f), the array the 25F's configuration
// sweep chose (docs/board-sweep.md: 8 x 128 would add only 2.3 % W1A1 images/s). The 4 x 64 core
// with batch 8 and the pipelined hash needs 29.8k LUT4 and 31 multipliers against the 25F's
// 24.3k and 28; 8 x 64 with batch 2 and the iterative hash places at ~66 % of the LUT4s.
// Clock 25 MHz (ecppll -i 25 -o 25), UART 1 Mbaud (25 clocks per bit; host: tty:PATH@1000000).
// Same pins as xnca_board_ulx3s.
`default_nettype none

module xnca_board_ulx3s_25f (
  input  wire       clk_25mhz,
  input  wire [1:0] btn,
  input  wire       ftdi_txd,
  output wire       ftdi_rxd,
  output wire [7:0] led,
  output wire       wifi_gpio0
);
  xnca_board_ulx3s #(
    .BOARD("ulx3s-25f"), .MAX_WBITS(4), .MAX_ABITS(4), .UNITS(8), .SYN_BITS(64), .BATCH(2),
    .HASH_PIPE(0), .CLOCK_HZ(25_000_000), .CLKS_PER_BIT(25), .PLL_CLKI_DIV(1), .PLL_CLKFB_DIV(1),
    .PLL_CLKOP_DIV(24), .PLL_CLKOP_CPHASE(11)
  ) u_board (
    .clk_25mhz(clk_25mhz), .btn(btn), .ftdi_txd(ftdi_txd), .ftdi_rxd(ftdi_rxd), .led(led),
    .wifi_gpio0(wifi_gpio0)
  );
endmodule
`resetall
