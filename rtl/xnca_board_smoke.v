// xnca_board_smoke: board bring-up logic shared by the per-board smoke tops.
// A heartbeat (LED toggling about once a second) and a UART echo: every byte received on rx_i
// is sent back on tx_o, with one byte of buffering so back-to-back bytes at the same baud are
// not lost. Proves clock, PLL, pins and the host link before the accelerator is loaded.
`default_nettype none

module xnca_board_smoke #(
  // Core clock frequency in Hz.
  parameter integer CLK_HZ = 48_000_000,
  // UART baud; CLK_HZ must be a whole multiple of it, at least 4x.
  parameter integer BAUD = 3_000_000
) (
  input  wire       clk_i,
  input  wire       rst_i,          // synchronous, active high
  input  wire       rx_i,           // from the host (FTDI TXD)
  output wire       tx_o,           // to the host (FTDI RXD)
  output wire       heartbeat_o,    // square wave, period 1..2 s
  output reg        rx_toggle_o,    // toggles on every received byte
  output reg  [7:0] last_byte_o     // most recent byte received
);

  generate
    if (CLK_HZ % BAUD != 0 || CLK_HZ / BAUD < 4) begin : g_bad_baud
      $error("xnca_board_smoke: CLK_HZ must be a whole multiple (>= 4x) of BAUD");
    end
  endgenerate

  localparam integer CLKS_PER_BIT = CLK_HZ / BAUD;
  localparam integer BEAT_W = $clog2(CLK_HZ);

  reg [BEAT_W-1:0] beat_q;
  always @(posedge clk_i) begin
    if (rst_i) beat_q <= {BEAT_W{1'b0}};
    else       beat_q <= beat_q + 1'b1;
  end
  assign heartbeat_o = beat_q[BEAT_W-1];

  wire [7:0] rx_data;
  wire       rx_valid;
  xnca_board_smoke_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
    .clk_i  (clk_i),
    .rst_i  (rst_i),
    .rx_i   (rx_i),
    .data_o (rx_data),
    .valid_o(rx_valid)
  );

  // One-byte holding register between receiver and transmitter.
  reg  [7:0] hold_q;
  reg        hold_full_q;
  wire       tx_busy;
  wire       tx_start = hold_full_q && !tx_busy;

  always @(posedge clk_i) begin
    if (rst_i) begin
      hold_q      <= 8'd0;
      hold_full_q <= 1'b0;
      rx_toggle_o <= 1'b0;
      last_byte_o <= 8'd0;
    end else begin
      if (tx_start) hold_full_q <= 1'b0;
      if (rx_valid) begin
        hold_q      <= rx_data;     // a byte arriving while the buffer is full overwrites it
        hold_full_q <= 1'b1;
        rx_toggle_o <= ~rx_toggle_o;
        last_byte_o <= rx_data;
      end
    end
  end

  xnca_board_smoke_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
    .clk_i  (clk_i),
    .rst_i  (rst_i),
    .data_i (hold_q),
    .start_i(tx_start),
    .busy_o (tx_busy),
    .tx_o   (tx_o)
  );

endmodule

`default_nettype wire
