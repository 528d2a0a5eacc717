// xnca_cobs_decoder: turns the delimited COBS byte stream of docs/protocol.md 1.1 into decoded
// frame bytes. Each input byte yields at most one output token: a data byte, or an end-of-frame
// marker (last_o) with err_o set when the frame's COBS structure is broken (a code byte pointing
// past the delimiter). Empty frames (runs of 0x00) yield nothing. A 0x00 always ends the frame,
// whatever came before: this is what makes the link self-synchronising.
// The token is combinational on the input byte (no output register: logic is scarce on the
// UP5K, docs/architecture.md section 8); an input byte is taken only while the consumer is ready
// (s_ready_o = m_ready_i, whether or not the byte yields a token), so the consumer must not make
// m_ready_i depend on m_valid_o or m_data_o.
`default_nettype none

module xnca_cobs_decoder (
  input  wire       clk_i,
  input  wire       rst_i,
  // encoded stream (from the receive FIFO)
  input  wire [7:0] s_data_i,
  input  wire       s_valid_i,
  output wire       s_ready_o,
  // decoded tokens
  output wire [7:0] m_data_o,
  output wire       m_last_o,      // token is the end-of-frame marker (m_data_o unused)
  output wire       m_err_o,       // with m_last_o: broken COBS structure
  output wire       m_valid_o,
  input  wire       m_ready_i
);

  reg [7:0] left_q;        // data bytes left in the current block + 1 (the code byte's value)
  reg       code_q;        // left_q == 1: the next non-zero byte is a code byte
  reg       zero_q;        // the previous block ended in an implied 0x00 (code < 0xff)
  reg       in_frame_q;    // at least one byte since the last delimiter

  wire delim = (s_data_i == 8'h00);
  assign s_ready_o = m_ready_i;
  wire take = s_valid_i && m_ready_i;

  // delimiter: the end-of-frame marker (if a frame is open; a block still open means
  // truncation); code byte: the previous block's implied zero (if any); else a data byte
  assign m_valid_o = s_valid_i && (delim ? in_frame_q : (!code_q || zero_q));
  assign m_last_o = delim;
  assign m_err_o = !code_q;
  assign m_data_o = code_q ? 8'h00 : s_data_i;

  always @(posedge clk_i) begin
    if (rst_i) begin
      left_q <= 8'd1;
      code_q <= 1'b1;
      zero_q <= 1'b0;
      in_frame_q <= 1'b0;
    end else if (take) begin
      if (delim) begin
        left_q <= 8'd1;
        code_q <= 1'b1;
        zero_q <= 1'b0;
        in_frame_q <= 1'b0;
      end else if (code_q) begin
        // code byte: open a new block of s_data_i - 1 data bytes
        in_frame_q <= 1'b1;
        left_q <= s_data_i;
        code_q <= (s_data_i == 8'h01);
        zero_q <= (s_data_i != 8'hff);
      end else begin
        left_q <= left_q - 1'b1;
        code_q <= (left_q == 8'd2);
      end
    end
  end

endmodule
`resetall
