// xnca_board_icebreaker_smoke: iCEBreaker bring-up top (constraints/icebreaker.pcf port names).
// 12 MHz crystal -> SB_PLL40_PAD -> 48 MHz core clock (exact, icepll); UART echo at 3 Mbaud on
// the FT2232H channel B (16 clocks per bit). LEDR_N blinks (heartbeat), LEDG_N toggles per byte.
// Button BTN_N held: core held in reset (the heartbeat stops).
`default_nettype none

module xnca_board_icebreaker_smoke #(
  parameter integer CLK_HZ = 48_000_000,
  parameter integer BAUD = 3_000_000
) (
  input  wire CLK,        // 12 MHz, pin 35 (PLL pad)
  input  wire BTN_N,      // user button, active low
  input  wire RX,         // from FT2232H channel B TXD
  output wire TX,         // to FT2232H channel B RXD
  output wire LEDR_N,     // red LED, active low
  output wire LEDG_N      // green LED, active low
);

  wire clk;
  wire lock;
  // 12 MHz * 64 / 16 = 48 MHz (DIVR 0, DIVF 63, DIVQ 4: icepll -i 12 -o 48).
  xnca_pll_ice40 #(.DIVR(4'd0), .DIVF(7'd63), .DIVQ(3'd4), .FILTER_RANGE(3'd1)) u_pll (
    .pad_i (CLK),
    .clk_o (clk),
    .lock_o(lock)
  );

  wire rst;
  xnca_board_reset u_reset (
    .clk_i (clk),
    .lock_i(lock),
    .req_i (~BTN_N),
    .rst_o (rst)
  );

  wire       heartbeat;
  wire       rx_toggle;
  wire [7:0] unused_last_byte;
  xnca_board_smoke #(.CLK_HZ(CLK_HZ), .BAUD(BAUD)) u_smoke (
    .clk_i      (clk),
    .rst_i      (rst),
    .rx_i       (RX),
    .tx_o       (TX),
    .heartbeat_o(heartbeat),
    .rx_toggle_o(rx_toggle),
    .last_byte_o(unused_last_byte)
  );

  assign LEDR_N = ~heartbeat;
  assign LEDG_N = ~rx_toggle;

endmodule

`default_nettype wire
