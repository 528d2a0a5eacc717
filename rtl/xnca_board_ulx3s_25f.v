// xnca_board_ulx3s_25f: the ULX3S top with the 25F array (a quarter of the 85F's units; the
// configuration of mk/top.mk TOP_CFG_ulx3s-25f). Same pins as xnca_board_ulx3s.
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
    .BOARD("ulx3s-25f"), .MAX_WBITS(4), .MAX_ABITS(4), .UNITS(16), .SYN_BITS(128), .BATCH(8),
    .HASH_PIPE(1)
  ) u_board (
    .clk_25mhz(clk_25mhz), .btn(btn), .ftdi_txd(ftdi_txd), .ftdi_rxd(ftdi_rxd), .led(led),
    .wifi_gpio0(wifi_gpio0)
  );
endmodule
`resetall
