// xnca_frame_fifo: the link's receive buffer, a synchronous byte FIFO of 2^DEPTH_LOG2 bytes.
// The UART writes without back-pressure (the host obeys the credit rule of docs/protocol.md 2);
// a write into a full FIFO is dropped and reported on overflow_o. Read side: valid/ready with
// a registered (block-RAM) read, so rd_valid_o is high while a byte is presented.
`default_nettype none

module xnca_frame_fifo #(
  // log2 of the buffer size in bytes; reported by INFO as input_buffer_bytes.
  parameter integer DEPTH_LOG2 = 11
) (
  input  wire       clk_i,
  input  wire       rst_i,
  input  wire [7:0] wr_data_i,
  input  wire       wr_valid_i,
  output reg        overflow_o,    // one-cycle pulse: a byte was dropped
  output wire [7:0] rd_data_o,
  output wire       rd_valid_o,
  input  wire       rd_ready_i
);

  localparam integer DEPTH = 1 << DEPTH_LOG2;

  reg [7:0]            mem [0:DEPTH-1];
  // pointers with a wrap bit above the RAM address: equal = empty, equal but for the wrap bit =
  // full (no level counter: logic is scarce on the UP5K)
  reg [DEPTH_LOG2:0]   wr_ptr_q, rd_ptr_q;
  wire                 ptr_low_eq = wr_ptr_q[DEPTH_LOG2-1:0] == rd_ptr_q[DEPTH_LOG2-1:0];
  wire                 wrapped = wr_ptr_q[DEPTH_LOG2] != rd_ptr_q[DEPTH_LOG2];
  wire                 empty = ptr_low_eq && !wrapped;
  wire                 full = ptr_low_eq && wrapped;
  reg [7:0]            out_q;
  reg                  out_valid_q;

  wire push = wr_valid_i && !full;
  // Move a byte from the RAM into the output register when it is empty or being taken.
  wire load = !empty && (!out_valid_q || rd_ready_i);

  assign rd_data_o = out_q;
  assign rd_valid_o = out_valid_q;

  always @(posedge clk_i) begin
    if (push) mem[wr_ptr_q[DEPTH_LOG2-1:0]] <= wr_data_i;
    if (load) out_q <= mem[rd_ptr_q[DEPTH_LOG2-1:0]];
  end

  always @(posedge clk_i) begin
    overflow_o <= 1'b0;
    if (rst_i) begin
      wr_ptr_q <= {(DEPTH_LOG2 + 1){1'b0}};
      rd_ptr_q <= {(DEPTH_LOG2 + 1){1'b0}};
      out_valid_q <= 1'b0;
    end else begin
      if (wr_valid_i && full) overflow_o <= 1'b1;
      if (push) wr_ptr_q <= wr_ptr_q + 1'b1;
      if (load) begin
        rd_ptr_q <= rd_ptr_q + 1'b1;
        out_valid_q <= 1'b1;
      end else if (rd_ready_i) begin
        out_valid_q <= 1'b0;
      end
    end
  end

endmodule
`resetall
