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

  localparam [DEPTH_LOG2:0] FULL_M1 = {1'b0, {DEPTH_LOG2{1'b1}}};   // DEPTH - 1
  localparam [DEPTH_LOG2:0] ONE = {{DEPTH_LOG2{1'b0}}, 1'b1};

  reg [7:0]            mem [0:DEPTH-1];
  reg [DEPTH_LOG2-1:0] wr_ptr_q, rd_ptr_q;
  reg [DEPTH_LOG2:0]   level_q;          // bytes in the RAM
  reg                  full_q, empty_q;  // registered: short paths to the UART and the decoder
  reg [7:0]            out_q;
  reg                  out_valid_q;

  wire push = wr_valid_i && !full_q;
  // Move a byte from the RAM into the output register when it is empty or being taken.
  wire load = !empty_q && (!out_valid_q || rd_ready_i);

  assign rd_data_o = out_q;
  assign rd_valid_o = out_valid_q;

  always @(posedge clk_i) begin
    if (push) mem[wr_ptr_q] <= wr_data_i;
    if (load) out_q <= mem[rd_ptr_q];
  end

  always @(posedge clk_i) begin
    overflow_o <= 1'b0;
    if (rst_i) begin
      wr_ptr_q <= {DEPTH_LOG2{1'b0}};
      rd_ptr_q <= {DEPTH_LOG2{1'b0}};
      level_q <= {(DEPTH_LOG2 + 1){1'b0}};
      full_q <= 1'b0;
      empty_q <= 1'b1;
      out_valid_q <= 1'b0;
    end else begin
      if (wr_valid_i && full_q) overflow_o <= 1'b1;
      if (push) wr_ptr_q <= wr_ptr_q + 1'b1;
      if (push && !load) begin
        level_q <= level_q + 1'b1;
        empty_q <= 1'b0;
        full_q <= (level_q == FULL_M1);
      end else if (load && !push) begin
        level_q <= level_q - 1'b1;
        full_q <= 1'b0;
        empty_q <= (level_q == ONE);
      end
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
