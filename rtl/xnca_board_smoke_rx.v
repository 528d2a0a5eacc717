// xnca_board_smoke_rx: minimal 8N1 UART receiver for the board smoke designs.
// Samples each bit in its middle; a byte whose stop bit reads 0 is dropped (framing error).
// CLKS_PER_BIT = f_clk / baud must be a whole number >= 4 (checked at elaboration).
`default_nettype none

module xnca_board_smoke_rx #(
  // Core clock cycles per UART bit, e.g. 48 MHz / 3 Mbaud = 16.
  parameter integer CLKS_PER_BIT = 16
) (
  input  wire       clk_i,
  input  wire       rst_i,        // synchronous, active high
  input  wire       rx_i,         // serial input, idle high, asynchronous
  output reg  [7:0] data_o,       // received byte, valid while valid_o is high
  output reg        valid_o       // one-cycle strobe per good byte
);

  generate
    if (CLKS_PER_BIT < 4) begin : g_bad_clks_per_bit
      $error("xnca_board_smoke_rx: CLKS_PER_BIT must be >= 4");
    end
  endgenerate

  localparam integer CNT_W = $clog2(CLKS_PER_BIT + 1);
  localparam integer HALF_BIT_INT = CLKS_PER_BIT / 2 - 1;
  localparam integer FULL_BIT_INT = CLKS_PER_BIT - 1;
  localparam [CNT_W-1:0] HALF_BIT = HALF_BIT_INT[CNT_W-1:0];
  localparam [CNT_W-1:0] FULL_BIT = FULL_BIT_INT[CNT_W-1:0];

  // Two-flop synchroniser; idles high.
  reg [1:0] rx_sync_q = 2'b11;
  always @(posedge clk_i) rx_sync_q <= {rx_sync_q[0], rx_i};
  wire rx = rx_sync_q[1];

  reg             busy_q;
  reg [CNT_W-1:0] count_q;     // cycles left until the next sample point
  reg [3:0]       bit_q;       // 0 = start bit, 1..8 = data bits, 9 = stop bit
  reg [7:0]       shift_q;

  always @(posedge clk_i) begin
    valid_o <= 1'b0;
    if (rst_i) begin
      busy_q  <= 1'b0;
      count_q <= {CNT_W{1'b0}};
      bit_q   <= 4'd0;
      shift_q <= 8'd0;
      data_o  <= 8'd0;
    end else if (!busy_q) begin
      if (!rx) begin               // falling edge of the start bit: sample it half a bit later
        busy_q  <= 1'b1;
        count_q <= HALF_BIT;
        bit_q   <= 4'd0;
      end
    end else if (count_q != {CNT_W{1'b0}}) begin
      count_q <= count_q - 1'b1;
    end else begin
      count_q <= FULL_BIT;
      bit_q   <= bit_q + 4'd1;
      if (bit_q == 4'd0) begin
        if (rx) busy_q <= 1'b0;    // glitch, not a start bit
      end else if (bit_q != 4'd9) begin
        shift_q <= {rx, shift_q[7:1]};   // LSB first
      end else begin
        busy_q <= 1'b0;            // stop bit: back to idle at mid-bit, ready for the next start
        if (rx) begin
          data_o  <= shift_q;
          valid_o <= 1'b1;
        end
      end
    end
  end

endmodule

`default_nettype wire
