// xnca_board_ulx3s_85f: the ULX3S top with the 85F array: 8 units x 128 synapse bits, batch 8,
// pipelined hash, all activation planes in one X / Y word (XY_WIDE: a gathered chunk and a
// drained cell are one write; 60.7 % array utilization on models/mnist.xnca instead of 59.1 %),
// caps W4A4 (= mk/top.mk TOP_CFG_ulx3s-85f). The board sweep's faster points do
// not route here: 16 x 128 (32.5k of 83.6k TRELLIS_COMB) placed at 14.45 MHz, but nextpnr-ecp5's
// router1 was still at ~61,500 overused wires after 20 min and router2 stalled at ~1,000, then
// climbed to 6,000 (docs/board-sweep.md). 8 x 128 is the largest point that routes. 16 x 64, the
// same 1,024 bits per cycle with less padding for the shipped model (64.0 % utilization in
// co-simulation), placed at 28.5 MHz (25.2k TRELLIS_COMB) but router1 still had 82,434 of its
// 107,297 arcs to route after 504 s (1 Dec); it was stopped.
// Clock 25 MHz, UART 1 Mbaud (xnca_board_ulx3s defaults). Same pins as xnca_board_ulx3s.
`default_nettype none

module xnca_board_ulx3s_85f (
  input  wire       clk_25mhz,
  input  wire [1:0] btn,
  input  wire       ftdi_txd,
  output wire       ftdi_rxd,
  output wire [7:0] led,
  output wire       wifi_gpio0
);
  xnca_board_ulx3s #(
    .BOARD("ulx3s-85f"), .MAX_WBITS(4), .MAX_ABITS(4), .UNITS(8), .SYN_BITS(128), .BATCH(8),
    .HASH_PIPE(1), .XY_WIDE(1)
  ) u_board (
    .clk_25mhz(clk_25mhz), .btn(btn), .ftdi_txd(ftdi_txd), .ftdi_rxd(ftdi_rxd), .led(led),
    .wifi_gpio0(wifi_gpio0)
  );
endmodule
`resetall
