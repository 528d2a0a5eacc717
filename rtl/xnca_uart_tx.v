// xnca_uart_tx: 8N1 UART transmitter, CLKS_PER_BIT core clocks per bit (exact multiple).
// Accepts a byte when ready_o is high (valid/ready handshake) and shifts out start bit,
// 8 data bits LSB first and one stop bit; ready_o rises again after the stop bit.
`default_nettype none

module xnca_uart_tx #(
  // Core clocks per UART bit (>= 4; same value as the receiver's).
  parameter integer CLKS_PER_BIT = 16
) (
  input  wire       clk_i,
  input  wire       rst_i,
  input  wire [7:0] data_i,
  input  wire       valid_i,
  output wire       ready_o,
  output wire       tx_o           // serial output, idle high
);

  localparam integer CW = $clog2(CLKS_PER_BIT + 1);
  localparam integer FULL_I = CLKS_PER_BIT - 1;
  localparam [CW-1:0] FULL = FULL_I[CW-1:0];

  reg [9:0]    shift_q;            // {stop, data, start}, LSB goes out first
  reg [3:0]    left_q;             // bits still to send (0: idle)
  reg [CW-1:0] count_q;
  reg          tx_q;

  assign ready_o = (left_q == 4'd0);
  assign tx_o = tx_q;

  always @(posedge clk_i) begin
    if (rst_i) begin
      left_q <= 4'd0;
      count_q <= {CW{1'b0}};
      tx_q <= 1'b1;
    end else if (left_q == 4'd0) begin
      if (valid_i) begin
        shift_q <= {1'b1, data_i, 1'b0};
        left_q <= 4'd11;   // start, 8 data, stop, then the stop bit's full period
        count_q <= {CW{1'b0}};
      end
    end else if (count_q != 0) begin
      count_q <= count_q - 1'b1;
    end else begin
      tx_q <= shift_q[0];
      shift_q <= {1'b1, shift_q[9:1]};
      count_q <= FULL;
      left_q <= left_q - 1'b1;
    end
  end

endmodule
`resetall
