// xnca_frame_tx: builds a reply body (docs/protocol.md 1.2 and 3): op, tag, len, then the
// common reply prefix (status, credit), then the payload bytes after the prefix taken from s_*,
// then the CRC-16 (MSB first); the body goes through xnca_cobs_encoder onto the wire stream m_*.
// Logic is scarce on the UP5K (docs/architecture.md section 8), so nothing is copied: the
// header fields are read from the sender's registers, which must hold them from hdr_start_i
// until idle_o is high again, and the CRC register is the sender's (the frame engine shares one
// with the receive side: the two never run at once); this module only says when to fold a byte
// into it (crc_step_o with crc_data_o) and when to reset it (crc_clear_o, at the end).
`default_nettype none

module xnca_frame_tx (
  input  wire        clk_i,
  input  wire        rst_i,
  // reply header, held from hdr_start_i (a pulse while idle_o) until idle_o again
  input  wire        hdr_start_i,
  output wire        idle_o,
  input  wire [7:0]  hdr_op_i,
  input  wire [7:0]  hdr_tag_i,
  input  wire [7:0]  hdr_status_i,
  input  wire [15:0] hdr_credit_i,
  input  wire [15:0] hdr_len_i,        // the body's len field: payload bytes after s_*'s + 3
  input  wire        hdr_empty_i,      // no payload bytes after the prefix (hdr_len_i == 3)
  // payload bytes after the prefix
  input  wire [7:0]  s_data_i,
  input  wire        s_last_i,         // the last payload byte
  input  wire        s_valid_i,
  output wire        s_ready_o,
  // the shared CRC-16 register (its high byte): fold crc_data_o into it, or set it to 0xffff
  input  wire [7:0]  crc_hi_i,
  output wire        crc_step_o,
  output wire [7:0]  crc_data_o,
  output wire        crc_clear_o,
  // wire bytes
  output wire [7:0]  m_data_o,
  output wire        m_valid_o,
  input  wire        m_ready_i
);

  localparam [1:0] S_IDLE = 2'd0, S_PREFIX = 2'd1, S_EXTRA = 2'd2, S_CRC = 2'd3;

  reg [1:0]  state_q;
  reg [2:0]  idx_q;       // prefix byte index (0..6) / CRC byte index (0..1)

  // The next body byte is chosen by the state machine and loaded into a register stage (out_*)
  // in front of the encoder; the CRC folds a byte when the stage hands it to the encoder (a
  // short path: out_q -> CRC -> register), so the CRC bytes that follow the last payload byte
  // are ready when the stage is free again. The CRC bytes are folded too: folding the CRC's high
  // byte leaves the register {low byte, 0x00}, so both CRC bytes are crc_hi_i (no byte mux).
  reg  [7:0]  next_data;
  reg         next_valid, next_last;   // (assigned in the always block below)
  reg  [7:0]  out_q;
  reg         out_valid_q, out_last_q;
  wire        enc_ready;
  wire        stage_free = !out_valid_q;   // refill only when empty: no combinational ready path
  wire        handed = out_valid_q && enc_ready;

  assign crc_step_o = handed;
  assign crc_data_o = out_q;
  assign crc_clear_o = handed && out_last_q;

  xnca_cobs_encoder u_enc (
    .clk_i    (clk_i),
    .rst_i    (rst_i),
    .s_data_i (out_q),
    .s_last_i (out_last_q),
    .s_valid_i(out_valid_q),
    .s_ready_o(enc_ready),
    .m_data_o (m_data_o),
    .m_valid_o(m_valid_o),
    .m_ready_i(m_ready_i)
  );

  // idle once the last CRC byte has gone to the encoder (the CRC register is free again)
  assign idle_o = (state_q == S_IDLE) && !out_valid_q;
  assign s_ready_o = (state_q == S_EXTRA) && stage_free;

  // The byte as an AND-OR of one-hot selects (cheaper than a case mux on the UP5K).
  wire in_prefix = (state_q == S_PREFIX);
  wire [6:0] sel_prefix = {7{in_prefix}} & (7'd1 << idx_q);   // idx_q 0..6 here
  wire in_extra = (state_q == S_EXTRA);
  wire in_crc = (state_q == S_CRC);
  always @(*) begin
    next_data = ({8{sel_prefix[0]}} & hdr_op_i) | ({8{sel_prefix[1]}} & hdr_tag_i) |
                ({8{sel_prefix[2]}} & hdr_len_i[7:0]) | ({8{sel_prefix[3]}} & hdr_len_i[15:8]) |
                ({8{sel_prefix[4]}} & hdr_status_i) | ({8{sel_prefix[5]}} & hdr_credit_i[7:0]) |
                ({8{sel_prefix[6]}} & hdr_credit_i[15:8]) | ({8{in_extra}} & s_data_i) |
                ({8{in_crc}} & crc_hi_i);
    next_valid = in_prefix || in_crc || (in_extra && s_valid_i);
    next_last = in_crc && (idx_q != 3'd0);
  end

  wire load = next_valid && stage_free;

  always @(posedge clk_i) begin
    if (rst_i) begin
      out_valid_q <= 1'b0;
      out_last_q <= 1'b0;
      out_q <= 8'h00;
    end else if (load) begin
      out_q <= next_data;
      out_last_q <= next_last;
      out_valid_q <= 1'b1;
    end else if (enc_ready) begin
      out_valid_q <= 1'b0;
    end
  end

  always @(posedge clk_i) begin
    if (rst_i) begin
      state_q <= S_IDLE;
      idx_q <= 3'd0;
    end else begin
      case (state_q)
        S_IDLE: if (hdr_start_i) begin
          idx_q <= 3'd0;
          state_q <= S_PREFIX;
        end
        S_PREFIX: if (load) begin
          idx_q <= idx_q + 1'b1;
          if (idx_q == 3'd6) begin
            idx_q <= 3'd0;
            state_q <= hdr_empty_i ? S_CRC : S_EXTRA;
          end
        end
        S_EXTRA: if (load && s_last_i) state_q <= S_CRC;
        default: if (load) begin  // S_CRC
          idx_q <= idx_q + 1'b1;
          if (idx_q != 3'd0) state_q <= S_IDLE;
        end
      endcase
    end
  end

endmodule
`resetall
