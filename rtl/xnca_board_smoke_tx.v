// xnca_board_smoke_tx: minimal 8N1 UART transmitter for the board smoke designs.
`default_nettype none

module xnca_board_smoke_tx #(
  // Core clock cycles per UART bit, e.g. 48 MHz / 3 Mbaud = 16.
  parameter integer CLKS_PER_BIT = 16
) (
  input  wire       clk_i,
  input  wire       rst_i,        // synchronous, active high
  input  wire [7:0] data_i,
  input  wire       start_i,      // accepted only while busy_o is low
  output wire       busy_o,
  output wire       tx_o          // serial output, idle high
);

  localparam integer CNT_W = $clog2(CLKS_PER_BIT + 1);
  localparam integer FULL_BIT_INT = CLKS_PER_BIT - 1;
  localparam [CNT_W-1:0] FULL_BIT = FULL_BIT_INT[CNT_W-1:0];

  reg [9:0]       frame_q;        // {stop, data[7:0], start}, shifted out LSB first
  reg [3:0]       bits_left_q;
  reg [CNT_W-1:0] count_q;
  reg             tx_q;

  always @(posedge clk_i) begin
    if (rst_i) begin
      frame_q     <= 10'h3ff;
      bits_left_q <= 4'd0;
      count_q     <= {CNT_W{1'b0}};
      tx_q        <= 1'b1;
    end else if (count_q != {CNT_W{1'b0}}) begin
      count_q <= count_q - 1'b1;       // finish the current bit period (the stop bit included)
    end else if (bits_left_q == 4'd0) begin
      if (start_i) begin
        frame_q     <= {1'b1, data_i, 1'b0};
        bits_left_q <= 4'd10;
      end
    end else begin
      tx_q        <= frame_q[0];
      frame_q     <= {1'b1, frame_q[9:1]};
      bits_left_q <= bits_left_q - 4'd1;
      count_q     <= FULL_BIT;
    end
  end

  assign busy_o = (bits_left_q != 4'd0) || (count_q != {CNT_W{1'b0}});
  assign tx_o   = tx_q;

endmodule

`default_nettype wire
