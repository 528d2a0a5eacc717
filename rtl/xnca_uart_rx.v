// xnca_uart_rx: 8N1 UART receiver for a clock that is an exact multiple of the baud rate.
// CLKS_PER_BIT >= 4 (e.g. 48 MHz / 3 Mbaud = 16, 48 MHz / 12 Mbaud = 4). The line is
// synchronised by two flops, a start bit is confirmed at its middle, data and stop bits are
// sampled at their middles. A byte whose stop bit reads 0 is dropped (framing error pulse)
// and the receiver waits for the line to return high before looking for the next start bit.
// data_o is the shift register itself (no copy): it holds the byte until the next byte's first
// data bit, so the consumer takes it with valid_o.
`default_nettype none

module xnca_uart_rx #(
  // Core clocks per UART bit; an exact integer (the host's baud must divide the clock).
  parameter integer CLKS_PER_BIT = 16
) (
  input  wire       clk_i,
  input  wire       rst_i,
  input  wire       rx_i,          // serial input, idle high, asynchronous
  output wire [7:0] data_o,        // valid with valid_o (the shift register: no copy)
  output reg        valid_o,       // one-cycle pulse with data_o
  output reg        frame_err_o    // one-cycle pulse: stop bit was 0
);

  localparam integer CW = $clog2(CLKS_PER_BIT + 1);
  localparam integer HALF_I = CLKS_PER_BIT / 2 - 1;
  localparam integer FULL_I = CLKS_PER_BIT - 1;
  localparam [CW-1:0] HALF = HALF_I[CW-1:0];
  localparam [CW-1:0] FULL = FULL_I[CW-1:0];

  generate
    if (CLKS_PER_BIT < 4) begin : g_check_clks
      $error("xnca_uart_rx: CLKS_PER_BIT must be >= 4");
    end
  endgenerate

  localparam [1:0] S_IDLE = 2'd0, S_START = 2'd1, S_DATA = 2'd2, S_STOP = 2'd3;

  reg [1:0]    sync_q = 2'b11;    // two-flop synchroniser
  reg [1:0]    state_q;
  reg [CW-1:0] count_q;
  reg [2:0]    bit_q;
  reg [7:0]    shift_q;
  reg          wait_high_q;       // after a framing error: wait for an idle line

  wire rx = sync_q[1];
  assign data_o = shift_q;   // unchanged until the next byte's first data bit

  always @(posedge clk_i) begin
    sync_q <= {sync_q[0], rx_i};
    valid_o <= 1'b0;
    frame_err_o <= 1'b0;
    if (rst_i) begin
      state_q <= S_IDLE;
      count_q <= {CW{1'b0}};
      bit_q <= 3'd0;
      wait_high_q <= 1'b0;
    end else begin
      case (state_q)
        S_IDLE: begin
          if (wait_high_q) begin
            if (rx) wait_high_q <= 1'b0;
          end else if (!rx) begin
            state_q <= S_START;
            count_q <= HALF;
          end
        end
        S_START: begin
          if (count_q != 0) begin
            count_q <= count_q - 1'b1;
          end else if (rx) begin
            state_q <= S_IDLE;   // glitch, not a start bit
          end else begin
            state_q <= S_DATA;
            count_q <= FULL;
            bit_q <= 3'd0;
          end
        end
        S_DATA: begin
          if (count_q != 0) begin
            count_q <= count_q - 1'b1;
          end else begin
            shift_q <= {rx, shift_q[7:1]};
            count_q <= FULL;
            bit_q <= bit_q + 1'b1;
            if (bit_q == 3'd7) state_q <= S_STOP;
          end
        end
        default: begin  // S_STOP
          if (count_q != 0) begin
            count_q <= count_q - 1'b1;
          end else begin
            state_q <= S_IDLE;
            if (rx) begin
              valid_o <= 1'b1;
            end else begin
              frame_err_o <= 1'b1;
              wait_high_q <= 1'b1;
            end
          end
        end
      endcase
    end
  end

endmodule
`resetall
