// xnca_frame_rx: receive checks 1-3 of docs/protocol.md 1.4 on decoded frame bytes.
// Collects op, tag, declared length and the payload (into a block RAM the command handlers read
// through pl_addr_i / pl_data_o), runs the CRC over the whole body, and at the end-of-frame marker
// presents one result: OK, BAD_LENGTH (broken COBS, too short, too long, declared length !=
// delimited length) or BAD_CRC, or BUSY when the receive FIFO overflowed since the last frame.
// The result is held (and input stalled) until frame_ack_i, so the payload stays readable while
// the frame is handled.
`default_nettype none

module xnca_frame_rx #(
  // Largest request payload in bytes (INFO max_payload).
  parameter integer MAX_PAYLOAD = 1024
) (
  input  wire        clk_i,
  input  wire        rst_i,
  // decoded tokens from xnca_cobs_decoder
  input  wire [7:0]  s_data_i,
  input  wire        s_last_i,
  input  wire        s_err_i,
  input  wire        s_valid_i,
  output wire        s_ready_o,
  input  wire        overrun_i,       // receive FIFO dropped a byte
  // frame result
  output reg         frame_valid_o,
  output reg  [2:0]  frame_status_o,  // XNCA_ST_* (0 OK, 1 BAD_CRC, 2 BAD_LENGTH, 5 BUSY)
  output reg  [7:0]  frame_op_o,
  output reg  [7:0]  frame_tag_o,
  output reg  [15:0] frame_len_o,
  input  wire        frame_ack_i,
  // payload read port, one cycle latency
  input  wire [PW-1:0] pl_addr_i,
  output reg  [7:0]  pl_data_o
);

  localparam integer PW = $clog2(MAX_PAYLOAD);
  // count_q runs 6 behind the decoded byte count (it starts at -6): a body of len + 6 bytes
  // (header and CRC) leaves it equal to the header's len, so no len + 6 adder and register
  localparam [15:0] COUNT_START = 16'hfffa;
  localparam [15:0] COUNT_MAX = MAX_PAYLOAD[15:0];   // MAX_PAYLOAD + 6 bytes decoded
  localparam integer PL_LAST_I = MAX_PAYLOAD - 1;
  localparam [PW-1:0] PL_LAST = PL_LAST_I[PW-1:0];
  localparam [2:0] ST_OK = 3'd0, ST_BAD_CRC = 3'd1, ST_BAD_LENGTH = 3'd2, ST_BUSY = 3'd5;

  reg [7:0]  mem [0:MAX_PAYLOAD-1];
  reg [15:0] count_q;    // decoded bytes so far - 6 (stops counting once too long)
  reg [3:0]  pos_q;      // the same, saturating at 8: decodes the header bytes cheaply
  reg [15:0] crc_q;
  reg        busy_q;     // overrun seen since the last reported frame
  // End-of-frame checks prepared while the bytes arrive (short paths at the delimiter):
  reg        enough_q;   // at least 6 bytes (header and CRC)
  reg        too_long_q; // more than MAX_PAYLOAD + 6 bytes

  wire [15:0] crc_next;
  xnca_frame_crc16 u_crc (.crc_i(crc_q), .data_i(s_data_i), .crc_o(crc_next));

  assign s_ready_o = !frame_valid_o;
  wire take = s_valid_i && s_ready_o;
  // Payload write pointer: bytes 4.. of the body, while the buffer has room.
  reg [PW-1:0] wr_addr_q;
  reg          in_payload_q;   // header (4 bytes) done
  reg          pl_full_q;      // MAX_PAYLOAD bytes stored

  always @(posedge clk_i) begin
    pl_data_o <= mem[pl_addr_i];
    if (take && !s_last_i && in_payload_q && !pl_full_q) mem[wr_addr_q] <= s_data_i;
  end

  always @(posedge clk_i) begin
    if (rst_i) begin
      frame_valid_o <= 1'b0;
      count_q <= COUNT_START;
      pos_q <= 4'd0;
      crc_q <= 16'hffff;
      busy_q <= 1'b0;
      frame_op_o <= 8'd0;
      frame_tag_o <= 8'd0;
      frame_len_o <= 16'd0;
      frame_status_o <= ST_OK;
      enough_q <= 1'b0;
      too_long_q <= 1'b0;
      wr_addr_q <= {PW{1'b0}};
      in_payload_q <= 1'b0;
      pl_full_q <= 1'b0;
    end else begin
      if (overrun_i) busy_q <= 1'b1;
      if (frame_valid_o && frame_ack_i) frame_valid_o <= 1'b0;
      if (take) begin
        if (s_last_i) begin
          frame_valid_o <= 1'b1;
          if (pos_q == 4'd0) frame_op_o <= 8'd0;
          if (pos_q[3:1] == 3'd0) frame_tag_o <= 8'd0;
          if (busy_q || overrun_i) frame_status_o <= ST_BUSY;
          else if (s_err_i || !enough_q || too_long_q || frame_len_o != count_q) frame_status_o <= ST_BAD_LENGTH;
          else if (crc_q != 16'd0) frame_status_o <= ST_BAD_CRC;
          else frame_status_o <= ST_OK;
          busy_q <= 1'b0;
          count_q <= COUNT_START;
          pos_q <= 4'd0;
          crc_q <= 16'hffff;
          enough_q <= 1'b0;
          too_long_q <= 1'b0;
          wr_addr_q <= {PW{1'b0}};
          in_payload_q <= 1'b0;
          pl_full_q <= 1'b0;
        end else begin
          if (pos_q == 4'd3) in_payload_q <= 1'b1;
          if (!pos_q[3]) pos_q <= pos_q + 1'b1;
          if (in_payload_q && !pl_full_q) begin
            wr_addr_q <= wr_addr_q + 1'b1;
            if (wr_addr_q == PL_LAST) pl_full_q <= 1'b1;
          end
          crc_q <= crc_next;
          if (!too_long_q) count_q <= count_q + 1'b1;   // stops at MAX_PAYLOAD + 7
          if (pos_q == 4'd5) enough_q <= 1'b1;
          if (count_q == COUNT_MAX) too_long_q <= 1'b1;
          case (pos_q)
            4'd0: frame_op_o <= s_data_i;
            4'd1: frame_tag_o <= s_data_i;
            4'd2: frame_len_o[7:0] <= s_data_i;
            4'd3: frame_len_o[15:8] <= s_data_i;
            default: ;
          endcase
        end
      end
    end
  end

endmodule
`resetall
