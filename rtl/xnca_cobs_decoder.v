// xnca_cobs_decoder: turns the delimited COBS byte stream of docs/protocol.md 1.1 into decoded
// frame bytes. Each input byte yields at most one output token: a data byte, or an end-of-frame
// marker (last_o) with err_o set when the frame's COBS structure is broken (a code byte pointing
// past the delimiter). Empty frames (runs of 0x00) yield nothing. A 0x00 always ends the frame,
// whatever came before: this is what makes the link self-synchronising.
`default_nettype none

module xnca_cobs_decoder (
  input  wire       clk_i,
  input  wire       rst_i,
  // encoded stream (from the receive FIFO)
  input  wire [7:0] s_data_i,
  input  wire       s_valid_i,
  output wire       s_ready_o,
  // decoded tokens
  output reg  [7:0] m_data_o,
  output reg        m_last_o,      // token is the end-of-frame marker (m_data_o unused)
  output reg        m_err_o,       // with m_last_o: broken COBS structure
  output reg        m_valid_o,
  input  wire       m_ready_i
);

  reg [7:0] remaining_q;   // data bytes left in the current block (0: next byte is a code)
  reg       zero_q;        // the previous block ended in an implied 0x00 (code < 0xff)
  reg       in_frame_q;    // at least one byte since the last delimiter

  assign s_ready_o = !m_valid_o || m_ready_i;
  wire take = s_valid_i && s_ready_o;

  always @(posedge clk_i) begin
    if (rst_i) begin
      remaining_q <= 8'd0;
      zero_q <= 1'b0;
      in_frame_q <= 1'b0;
      m_valid_o <= 1'b0;
      m_last_o <= 1'b0;
      m_err_o <= 1'b0;
      m_data_o <= 8'd0;
    end else begin
      if (m_valid_o && m_ready_i) m_valid_o <= 1'b0;
      if (take) begin
        if (s_data_i == 8'h00) begin
          // delimiter: end the frame (if any); a block still open means truncation
          if (in_frame_q) begin
            m_valid_o <= 1'b1;
            m_last_o <= 1'b1;
            m_err_o <= (remaining_q != 8'd0);
          end
          remaining_q <= 8'd0;
          zero_q <= 1'b0;
          in_frame_q <= 1'b0;
        end else if (remaining_q == 8'd0) begin
          // code byte: emit the previous block's implied zero, open a new block
          in_frame_q <= 1'b1;
          if (zero_q) begin
            m_valid_o <= 1'b1;
            m_last_o <= 1'b0;
            m_err_o <= 1'b0;
            m_data_o <= 8'h00;
          end
          remaining_q <= s_data_i - 1'b1;
          zero_q <= (s_data_i != 8'hff);
        end else begin
          m_valid_o <= 1'b1;
          m_last_o <= 1'b0;
          m_err_o <= 1'b0;
          m_data_o <= s_data_i;
          remaining_q <= remaining_q - 1'b1;
        end
      end
    end
  end

endmodule
`resetall
