// xnca_board_ulx3s_25f: the ULX3S top with the 25F array: 1 unit x 32 synapse bits, batch 2,
// iterative hash, caps W4A4 (= mk/top.mk TOP_CFG_ulx3s-25f). With today's core the 4 x 64 array
// needs 29.8k LUT4 and 31 multipliers against the 25F's 24.3k and 28 (docs/board-sweep.md).
// Clock 25 MHz (ecppll -i 25 -o 25), UART 1 Mbaud (25 clocks per bit; host: tty:PATH@1000000):
// the core closes at ~34 MHz on the 25F since the readout argmax is a registered tree (before:
// 11.8-13.7 MHz at 10 MHz); 75 MHz / 3 Mbaud needs a core that closes timing there (the drain
// quantizer is the critical path now). Same pins as xnca_board_ulx3s.
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
    .BOARD("ulx3s-25f"), .MAX_WBITS(4), .MAX_ABITS(4), .UNITS(1), .SYN_BITS(32), .BATCH(2),
    .HASH_PIPE(0), .CLOCK_HZ(25_000_000), .CLKS_PER_BIT(25), .PLL_CLKI_DIV(1), .PLL_CLKFB_DIV(1),
    .PLL_CLKOP_DIV(24), .PLL_CLKOP_CPHASE(11)
  ) u_board (
    .clk_25mhz(clk_25mhz), .btn(btn), .ftdi_txd(ftdi_txd), .ftdi_rxd(ftdi_rxd), .led(led),
    .wifi_gpio0(wifi_gpio0)
  );
endmodule
`resetall
