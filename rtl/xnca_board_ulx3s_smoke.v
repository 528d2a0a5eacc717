// xnca_board_ulx3s_smoke: ULX3S bring-up top (constraints/ulx3s.lpf port names), 25F/45F/85F.
// 25 MHz oscillator -> EHXPLLL -> 75 MHz core clock (exact, ecppll); UART echo at 3 Mbaud on the
// FT231X (25 clocks per bit). led[7] blinks (heartbeat), led[6:0] show the last byte received.
// FIRE1 (btn[1]) held: core held in reset. wifi_gpio0 follows BTN_PWRn (high unless pressed) so
// that a fitted ESP32 does not reboot the board.
`default_nettype none

module xnca_board_ulx3s_smoke #(
  parameter integer CLK_HZ = 75_000_000,
  parameter integer BAUD = 3_000_000
) (
  input  wire       clk_25mhz,   // G2
  input  wire [1:0] btn,         // btn[0] BTN_PWRn (active low), btn[1] FIRE1 (active high)
  input  wire       ftdi_txd,    // FT231X TXD = FPGA receive (M1)
  output wire       ftdi_rxd,    // FT231X RXD = FPGA transmit (L4)
  output wire [7:0] led,         // active high
  output wire       wifi_gpio0
);

  assign wifi_gpio0 = btn[0];

  wire clk;
  wire lock;
  // 25 MHz * 3 / 1 = 75 MHz, VCO 600 MHz (ecppll -i 25 -o 75).
  xnca_pll_ecp5 #(.CLKI_DIV(1), .CLKFB_DIV(3), .CLKOP_DIV(8), .CLKOP_CPHASE(4)) u_pll (
    .clk_i (clk_25mhz),
    .clk_o (clk),
    .lock_o(lock)
  );

  wire rst;
  xnca_board_reset u_reset (
    .clk_i (clk),
    .lock_i(lock),
    .req_i (btn[1]),
    .rst_o (rst)
  );

  wire       heartbeat;
  wire       unused_rx_toggle;
  wire [7:0] last_byte;
  xnca_board_smoke #(.CLK_HZ(CLK_HZ), .BAUD(BAUD)) u_smoke (
    .clk_i      (clk),
    .rst_i      (rst),
    .rx_i       (ftdi_txd),
    .tx_o       (ftdi_rxd),
    .heartbeat_o(heartbeat),
    .rx_toggle_o(unused_rx_toggle),
    .last_byte_o(last_byte)
  );

  assign led = {heartbeat, last_byte[6:0]};
  wire unused_last_byte_msb = last_byte[7];

endmodule

`default_nettype wire
