// xnca_cobs_encoder: frames a body byte stream for the wire (docs/protocol.md 1.1):
// 0x00, COBS(body), 0x00. COBS needs each block's length before its bytes, so up to 254
// non-zero bytes are collected in a small block RAM, then the code byte and the block are
// sent. Output matches host/xnca_frame.c byte for byte (a 254-byte run is followed by a
// code 0x01 block when the body ends right after it). The block count starts at 1, so it is the
// code byte itself (no adder), and the block RAM has no read / write collision logic.
`default_nettype none

module xnca_cobs_encoder (
  input  wire       clk_i,
  input  wire       rst_i,
  // body bytes; s_last_i marks the final byte of the frame body
  input  wire [7:0] s_data_i,
  input  wire       s_last_i,
  input  wire       s_valid_i,
  output wire       s_ready_o,
  // wire bytes
  output reg  [7:0] m_data_o,
  output reg        m_valid_o,
  input  wire       m_ready_i
);

  localparam [2:0] S_START = 3'd0,   // send the leading delimiter
                   S_COLLECT = 3'd1, // gather a block
                   S_CODE = 3'd2,    // send the code byte
                   S_DATA = 3'd3,    // send the block's bytes
                   S_TAIL = 3'd4,    // send a trailing empty block (code 0x01)
                   S_END = 3'd5;     // send the closing delimiter

  // no_rw_check: ram_q is used only in S_DATA, which writes nothing (no yosys bypass logic)
  (* no_rw_check *) reg [7:0] mem [0:255];
  reg [2:0] state_q;
  reg [7:0] n_q;          // bytes in the block + 1: the block's code byte (block bytes at 1..)
  reg [7:0] rd_q;         // next byte of the block to send
  reg [7:0] ram_q;        // mem[rd_q], registered
  reg       ram_ok_q;     // ram_q holds mem[rd_q]
  reg       last_q;       // the block ends the body
  reg       tail_q;       // after this block, an empty block must follow

  wire out_free = !m_valid_o || m_ready_i;
  assign s_ready_o = (state_q == S_COLLECT);
  wire take = s_valid_i && s_ready_o;

  always @(posedge clk_i) begin
    ram_q <= mem[rd_q];
    if (take && s_data_i != 8'h00) mem[n_q] <= s_data_i;
  end

  always @(posedge clk_i) begin
    if (rst_i) begin
      state_q <= S_START;
      m_valid_o <= 1'b0;
      m_data_o <= 8'h00;
      n_q <= 8'd1;
      rd_q <= 8'd1;
      ram_ok_q <= 1'b0;
      last_q <= 1'b0;
      tail_q <= 1'b0;
    end else begin
      if (m_valid_o && m_ready_i) m_valid_o <= 1'b0;
      ram_ok_q <= 1'b1;
      case (state_q)
        S_START: if (out_free) begin
          m_data_o <= 8'h00;
          m_valid_o <= 1'b1;
          state_q <= S_COLLECT;
          n_q <= 8'd1;
        end
        S_COLLECT: if (take) begin
          if (s_data_i == 8'h00) begin
            // the zero closes the block; if it is the last body byte an empty block follows
            state_q <= S_CODE;
            last_q <= s_last_i;
            tail_q <= s_last_i;
          end else begin
            n_q <= n_q + 1'b1;
            if (n_q == 8'd254 || s_last_i) begin
              state_q <= S_CODE;
              last_q <= s_last_i;
              tail_q <= s_last_i && (n_q == 8'd254);
            end
          end
        end
        S_CODE: if (out_free) begin
          m_data_o <= n_q;   // 0xff for a full block
          m_valid_o <= 1'b1;
          rd_q <= 8'd1;
          ram_ok_q <= 1'b0;
          state_q <= S_DATA;
        end
        S_DATA: begin
          if (rd_q == n_q) begin
            n_q <= 8'd1;
            state_q <= tail_q ? S_TAIL : (last_q ? S_END : S_COLLECT);
          end else if (out_free && ram_ok_q) begin
            m_data_o <= ram_q;
            m_valid_o <= 1'b1;
            rd_q <= rd_q + 1'b1;
            ram_ok_q <= 1'b0;
          end
        end
        S_TAIL: if (out_free) begin
          m_data_o <= 8'h01;
          m_valid_o <= 1'b1;
          state_q <= S_END;
        end
        default: if (out_free) begin  // S_END
          m_data_o <= 8'h00;
          m_valid_o <= 1'b1;
          state_q <= S_START;
          last_q <= 1'b0;
          tail_q <= 1'b0;
        end
      endcase
    end
  end

endmodule
`resetall
