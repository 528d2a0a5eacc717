// xnca_frame_tx: builds a reply body (docs/protocol.md 1.2 and 3): op, tag, len, then the
// common reply prefix (status, credit), then hdr_extra_len_i bytes taken from s_*, then the
// CRC-16 (MSB first); the body goes through xnca_cobs_encoder onto the wire stream m_*.
`default_nettype none

module xnca_frame_tx (
  input  wire        clk_i,
  input  wire        rst_i,
  // reply header: accepted when hdr_valid_i && hdr_ready_o
  input  wire        hdr_valid_i,
  output wire        hdr_ready_o,
  input  wire [7:0]  hdr_op_i,
  input  wire [7:0]  hdr_tag_i,
  input  wire [7:0]  hdr_status_i,
  input  wire [15:0] hdr_credit_i,
  input  wire [15:0] hdr_extra_len_i,  // payload bytes after status and credit
  // payload bytes after the prefix
  input  wire [7:0]  s_data_i,
  input  wire        s_last_i,         // the last of the hdr_extra_len_i bytes
  input  wire        s_valid_i,
  output wire        s_ready_o,
  // wire bytes
  output wire [7:0]  m_data_o,
  output wire        m_valid_o,
  input  wire        m_ready_i
);

  localparam [1:0] S_IDLE = 2'd0, S_PREFIX = 2'd1, S_EXTRA = 2'd2, S_CRC = 2'd3;

  reg [1:0]  state_q;
  reg [2:0]  idx_q;       // prefix byte index (0..6) / CRC byte index (0..1)
  reg        no_extra_q;  // hdr_extra_len_i was 0 (the source marks its last byte: s_last_i)
  reg [7:0]  op_q, tag_q, status_q;
  reg [15:0] credit_q, len_q, crc_q;

  // The next body byte is chosen by the state machine and loaded into a register stage (out_*)
  // in front of the encoder; the CRC advances as bytes are loaded, so the CRC bytes that follow
  // the last payload byte are ready when their turn comes.
  reg  [7:0]  next_data;
  reg         next_valid, next_last;
  reg  [7:0]  out_q;
  reg         out_valid_q, out_last_q;
  wire        enc_ready;
  wire        stage_free = !out_valid_q;   // refill only when empty: no combinational ready path
  wire [15:0] crc_next;
  xnca_frame_crc16 u_crc (.crc_i(crc_q), .data_i(next_data), .crc_o(crc_next));

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

  assign hdr_ready_o = (state_q == S_IDLE);
  assign s_ready_o = (state_q == S_EXTRA) && stage_free;

  always @(*) begin
    next_data = 8'h00;
    next_valid = 1'b0;
    next_last = 1'b0;
    case (state_q)
      S_PREFIX: begin
        next_valid = 1'b1;
        case (idx_q)
          3'd0: next_data = op_q;
          3'd1: next_data = tag_q;
          3'd2: next_data = len_q[7:0];
          3'd3: next_data = len_q[15:8];
          3'd4: next_data = status_q;
          3'd5: next_data = credit_q[7:0];
          default: next_data = credit_q[15:8];
        endcase
      end
      S_EXTRA: begin
        next_valid = s_valid_i;
        next_data = s_data_i;
      end
      S_CRC: begin
        next_valid = 1'b1;
        next_data = (idx_q == 3'd0) ? crc_q[15:8] : crc_q[7:0];
        next_last = (idx_q != 3'd0);
      end
      default: ;
    endcase
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
      crc_q <= 16'hffff;
    end else begin
      case (state_q)
        S_IDLE: if (hdr_valid_i) begin
          op_q <= hdr_op_i;
          tag_q <= hdr_tag_i;
          status_q <= hdr_status_i;
          credit_q <= hdr_credit_i;
          len_q <= hdr_extra_len_i + 16'd3;
          no_extra_q <= hdr_extra_len_i == 16'd0;
          idx_q <= 3'd0;
          crc_q <= 16'hffff;
          state_q <= S_PREFIX;
        end
        S_PREFIX: if (load) begin
          crc_q <= crc_next;
          idx_q <= idx_q + 1'b1;
          if (idx_q == 3'd6) begin
            idx_q <= 3'd0;
            state_q <= no_extra_q ? S_CRC : S_EXTRA;
          end
        end
        S_EXTRA: if (load) begin
          crc_q <= crc_next;
          if (s_last_i) state_q <= S_CRC;
        end
        default: if (load) begin  // S_CRC: the CRC bytes are not fed back into crc_q
          idx_q <= idx_q + 1'b1;
          if (idx_q != 3'd0) state_q <= S_IDLE;
        end
      endcase
    end
  end

endmodule
`resetall
