// xnca_frame_rx: receive checks 1-3 of docs/protocol.md 1.4 on decoded frame bytes.
// Collects op, tag, declared length and the payload (into a block RAM the command handlers read
// through pl_addr_i / pl_data_o), folds the whole body into the CRC register (the frame engine's,
// shared with the transmit side), and at the end-of-frame marker presents one result: OK,
// BAD_LENGTH (broken COBS, too short, too long, declared length != delimited length) or BAD_CRC,
// or BUSY when the receive FIFO overflowed since the last frame. The result is held (and input
// stalled) until frame_ack_i, so the payload stays readable while the frame is handled.
// Logic is scarce on the UP5K (docs/architecture.md section 8): one byte counter decodes the
// header, addresses the payload RAM and finds the length errors; the RAM has no read / write
// collision logic.
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
  // the CRC-16 register (the frame engine's, shared with the transmit side): fold s_data_i
  // into it, or set it to 0xffff at the end of a frame
  input  wire [15:0] crc_i,
  output wire        crc_step_o,
  output wire        crc_clear_o,
  // payload read port, one cycle latency
  input  wire [PW-1:0] pl_addr_i,
  output reg  [7:0]  pl_data_o
);

  localparam integer PW = $clog2(MAX_PAYLOAD);
  // One counter, pos_q, runs 4 behind the decoded byte count (it starts at -4): it decodes the
  // header bytes (-4..-1), is the payload RAM's write address (0..MAX_PAYLOAD - 1) and finds the
  // length errors. CW bits hold -4 .. MAX_PAYLOAD + 3 (it stops counting once too long).
  localparam integer CW = $clog2(MAX_PAYLOAD + 8);
  localparam integer MAX_P3_I = MAX_PAYLOAD + 2;
  localparam [CW-1:0] POS_START = {{(CW - 2){1'b1}}, 2'b00};   // -4
  localparam [CW-1:0] POS_LAST = MAX_P3_I[CW-1:0];   // byte MAX_PAYLOAD + 6 decoded: the last allowed
  localparam [CW-1:0] POS_ONE = {{(CW - 1){1'b0}}, 1'b1};
  localparam [CW-1:0] PL_BYTES = MAX_PAYLOAD[CW-1:0];
  localparam [0:0] POW2 = ((1 << PW) == MAX_PAYLOAD && CW == PW + 1) ? 1'b1 : 1'b0;
  localparam [2:0] ST_OK = 3'd0, ST_BAD_CRC = 3'd1, ST_BAD_LENGTH = 3'd2, ST_BUSY = 3'd5;

  // no_rw_check: the payload is read only while a frame is held (frame_valid_o), never in a cycle
  // that writes it (yosys would add a write-data bypass register and address comparator)
  (* no_rw_check *) reg [7:0] mem [0:MAX_PAYLOAD-1];
  reg [CW-1:0] pos_q;    // decoded bytes so far - 4
  reg        busy_q;     // overrun seen since the last reported frame
  // End-of-frame checks prepared while the bytes arrive (short paths at the delimiter):
  reg        enough_q;   // at least 6 bytes (header and CRC)
  reg        too_long_q; // more than MAX_PAYLOAD + 6 bytes
  // the header's len matched pos_q at the bytes one and two before (a body of n bytes is well
  // formed when n - 6 == len: pos_q was len two bytes before its end; no len + 6 adder)
  reg [1:0]  len_eq_q;

  assign s_ready_o = !frame_valid_o;
  wire take = s_valid_i && s_ready_o;
  assign crc_step_o = take && !s_last_i;
  assign crc_clear_o = take && s_last_i;

  // header bytes 0..3 at pos_q = -4..-1
  wire in_header = &pos_q[CW-1:2];
  // payload bytes 0..MAX_PAYLOAD - 1 (-4..-1 are above MAX_PAYLOAD + 3 as unsigned CW bits)
  wire in_payload;
  generate
    if (POW2) begin : g_pl_pow2   // (CW = PW + 1 then)
      assign in_payload = !pos_q[CW-1];
    end else begin : g_pl_any
      assign in_payload = (pos_q < PL_BYTES);
    end
  endgenerate
  wire [PW-1:0] wr_addr = pos_q[PW-1:0];
  wire len_eq = (frame_len_o[15:CW] == {(16 - CW){1'b0}}) && (frame_len_o[CW-1:0] == pos_q);

  always @(posedge clk_i) begin
    pl_data_o <= mem[pl_addr_i];
    if (take && !s_last_i && in_payload) mem[wr_addr] <= s_data_i;
  end

  always @(posedge clk_i) begin
    if (rst_i) begin
      frame_valid_o <= 1'b0;
      pos_q <= POS_START;
      busy_q <= 1'b0;
      frame_op_o <= 8'd0;
      frame_tag_o <= 8'd0;
      frame_len_o <= 16'd0;
      frame_status_o <= ST_OK;
      enough_q <= 1'b0;
      too_long_q <= 1'b0;
      len_eq_q <= 2'b00;
    end else begin
      if (overrun_i) busy_q <= 1'b1;
      if (frame_valid_o && frame_ack_i) frame_valid_o <= 1'b0;
      if (take) begin
        if (s_last_i) begin
          frame_valid_o <= 1'b1;
          if (pos_q == POS_START) frame_op_o <= 8'd0;                   // no byte
          if (in_header && !pos_q[1]) frame_tag_o <= 8'd0;              // fewer than 2 bytes
          if (busy_q || overrun_i) frame_status_o <= ST_BUSY;
          else if (s_err_i || !enough_q || too_long_q || !len_eq_q[1]) frame_status_o <= ST_BAD_LENGTH;
          else if (crc_i != 16'd0) frame_status_o <= ST_BAD_CRC;
          else frame_status_o <= ST_OK;
          busy_q <= 1'b0;
          pos_q <= POS_START;
          enough_q <= 1'b0;
          too_long_q <= 1'b0;
          len_eq_q <= 2'b00;
        end else begin
          if (!too_long_q) pos_q <= pos_q + 1'b1;   // stops at MAX_PAYLOAD + 3
          if (pos_q == POS_ONE) enough_q <= 1'b1;
          if (pos_q == POS_LAST) too_long_q <= 1'b1;
          len_eq_q <= {len_eq_q[0], len_eq};
          if (in_header) begin
            case (pos_q[1:0])
              2'd0: frame_op_o <= s_data_i;
              2'd1: frame_tag_o <= s_data_i;
              2'd2: frame_len_o[7:0] <= s_data_i;
              default: frame_len_o[15:8] <= s_data_i;
            endcase
          end
        end
      end
    end
  end

endmodule
`resetall
