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
  output reg  [31:0] frame_first4_o,  // payload bytes 0..3, little-endian (HELLO's nonce)
  input  wire        frame_ack_i,
  // payload read port, one cycle latency
  input  wire [PW-1:0] pl_addr_i,
  output reg  [7:0]  pl_data_o
);

  localparam integer PW = $clog2(MAX_PAYLOAD);
  localparam integer CNT_MAX_I = MAX_PAYLOAD + 7;   // saturation: "longer than allowed"
  localparam integer BODY_MAX_I = MAX_PAYLOAD + 6;
  localparam [15:0] CNT_MAX = CNT_MAX_I[15:0];
  localparam [15:0] BODY_MAX = BODY_MAX_I[15:0];
  localparam [15:0] PL_MAX = MAX_PAYLOAD[15:0];
  localparam [2:0] ST_OK = 3'd0, ST_BAD_CRC = 3'd1, ST_BAD_LENGTH = 3'd2, ST_BUSY = 3'd5;

  reg [7:0]  mem [0:MAX_PAYLOAD-1];
  reg [15:0] count_q;    // decoded bytes so far (saturating)
  reg [15:0] crc_q;
  reg        busy_q;     // overrun seen since the last reported frame

  wire [15:0] crc_next;
  xnca_frame_crc16 u_crc (.crc_i(crc_q), .data_i(s_data_i), .crc_o(crc_next));

  assign s_ready_o = !frame_valid_o;
  wire take = s_valid_i && s_ready_o;
  wire [15:0] pos = count_q - 16'd4;   // payload index of the current byte

  always @(posedge clk_i) begin
    pl_data_o <= mem[pl_addr_i];
    if (take && !s_last_i && count_q >= 16'd4 && pos < PL_MAX) mem[pos[PW-1:0]] <= s_data_i;
  end

  always @(posedge clk_i) begin
    if (rst_i) begin
      frame_valid_o <= 1'b0;
      count_q <= 16'd0;
      crc_q <= 16'hffff;
      busy_q <= 1'b0;
      frame_op_o <= 8'd0;
      frame_tag_o <= 8'd0;
      frame_len_o <= 16'd0;
      frame_status_o <= ST_OK;
      frame_first4_o <= 32'd0;
    end else begin
      if (overrun_i) busy_q <= 1'b1;
      if (frame_valid_o && frame_ack_i) frame_valid_o <= 1'b0;
      if (take) begin
        if (s_last_i) begin
          frame_valid_o <= 1'b1;
          if (count_q < 16'd1) frame_op_o <= 8'd0;
          if (count_q < 16'd2) frame_tag_o <= 8'd0;
          if (busy_q || overrun_i) frame_status_o <= ST_BUSY;
          else if (s_err_i || count_q < 16'd6 || count_q > BODY_MAX ||
                   frame_len_o + 16'd6 != count_q) frame_status_o <= ST_BAD_LENGTH;
          else if (crc_q != 16'd0) frame_status_o <= ST_BAD_CRC;
          else frame_status_o <= ST_OK;
          busy_q <= 1'b0;
          count_q <= 16'd0;
          crc_q <= 16'hffff;
        end else begin
          crc_q <= crc_next;
          if (count_q != CNT_MAX) count_q <= count_q + 1'b1;
          case (count_q)
            16'd0: frame_op_o <= s_data_i;
            16'd1: frame_tag_o <= s_data_i;
            16'd2: frame_len_o[7:0] <= s_data_i;
            16'd3: frame_len_o[15:8] <= s_data_i;
            16'd4: frame_first4_o[7:0] <= s_data_i;
            16'd5: frame_first4_o[15:8] <= s_data_i;
            16'd6: frame_first4_o[23:16] <= s_data_i;
            16'd7: frame_first4_o[31:24] <= s_data_i;
            default: ;
          endcase
        end
      end
    end
  end

endmodule
`resetall
