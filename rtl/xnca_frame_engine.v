// xnca_frame_engine: the device side of the link protocol (docs/protocol.md), between the UART
// and the accelerator core. Receive FIFO (the input buffer of the credit scheme) -> COBS decoder
// -> frame checks -> dispatch. HELLO, INFO and every error reply are answered here, without the
// core; LOAD_*, CLASSIFY, READ_STATE and RESET go to the core port (CORE_PRESENT = 1) or are
// answered UNKNOWN_COMMAND (CORE_PRESENT = 0). Each reply carries the credit: the FIFO bytes
// taken since the previous reply. One frame is handled at a time; the next one waits in the FIFO.
//
// Core port (abstract command/response interface, to be matched to docs/core.md):
//   core_cmd_valid_o/ready_i with op and payload length; the core reads the payload through
//   core_pl_addr_i -> core_pl_data_o (one cycle latency) until it answers with
//   core_rsp_valid_i/ready_o (status 0: reply op|0x80 with core_rsp_len_i bytes from
//   core_rsp_data_*; status != 0: ERROR reply with core_rsp_detail_i).
`default_nettype none

module xnca_frame_engine #(
  // Receive buffer: 2^FIFO_LOG2 bytes (INFO input_buffer_bytes).
  parameter integer FIFO_LOG2 = 11,
  // Largest request payload (INFO max_payload).
  parameter integer MAX_PAYLOAD = 1024,
  // 1: forward core commands; 0: no core, answer them UNKNOWN_COMMAND (link bring-up, tests).
  parameter [0:0]   CORE_PRESENT = 1'b0,
  // INFO fields (docs/protocol.md 3.2); BOARD is an ASCII string of up to 16 characters.
  parameter [31:0]  BUILD_ID = 32'h0,
  parameter [127:0] BOARD = "sim",
  parameter integer CLOCK_HZ = 48_000_000,
  parameter integer GRID_W = 28,
  parameter integer GRID_H = 28,
  parameter integer CHANNELS = 20,
  parameter integer PERCEPTION_WIDTH = 80,
  parameter integer MLP_WIDTH = 80,
  parameter integer UNITS = 1,
  parameter integer SYNAPSE_BITS = 180,
  parameter integer MAX_WEIGHT_BITS = 4,
  parameter integer MAX_ACT_BITS = 4,
  parameter integer MAX_WEIGHT_BYTES = 16384,
  parameter integer MAX_HIDDEN_LAYERS = 2,
  parameter integer MAX_STATE_BITS = 8
) (
  input  wire        clk_i,
  input  wire        rst_i,
  // from the UART receiver
  input  wire [7:0]  rx_data_i,
  input  wire        rx_valid_i,
  // to the UART transmitter
  output wire [7:0]  tx_data_o,
  output wire        tx_valid_o,
  input  wire        tx_ready_i,
  // core port
  output reg         core_cmd_valid_o,
  input  wire        core_cmd_ready_i,
  output wire [7:0]  core_cmd_op_o,
  output wire [15:0] core_cmd_len_o,
  input  wire [PW-1:0] core_pl_addr_i,
  output wire [7:0]  core_pl_data_o,
  input  wire        core_rsp_valid_i,
  output wire        core_rsp_ready_o,
  input  wire [7:0]  core_rsp_status_i,
  input  wire [15:0] core_rsp_detail_i,
  input  wire [15:0] core_rsp_len_i,
  input  wire [7:0]  core_rsp_data_i,
  input  wire        core_rsp_data_valid_i,
  output wire        core_rsp_data_ready_o
);

  localparam integer PW = $clog2(MAX_PAYLOAD);
  localparam [7:0] OP_HELLO = 8'h01, OP_INFO = 8'h02, OP_FIRST_CORE = 8'h03, OP_LAST_CORE = 8'h08;
  localparam [7:0] OP_ERROR = 8'hff;
  localparam [7:0] ST_BAD_LENGTH = 8'd2, ST_UNKNOWN_COMMAND = 8'd3;

  // Left-align the board name so that its first character goes out first.
  function [127:0] left_align;
    input [127:0] s;
    integer i;
    begin
      left_align = s;
      for (i = 0; i < 16; i = i + 1)
        if (left_align[127:120] == 8'd0) left_align = left_align << 8;
    end
  endfunction
  localparam [127:0] BOARD_L = left_align(BOARD);
  localparam [31:0] INPUT_BUFFER_BYTES = 32'd1 << FIFO_LOG2;
  localparam [31:0] MAX_PAYLOAD_W = MAX_PAYLOAD[31:0];
  localparam [31:0] BUILD_ID_W = BUILD_ID;
  localparam [31:0] CLOCK_HZ_W = CLOCK_HZ[31:0];
  localparam [15:0] GRID_W_W = GRID_W[15:0];
  localparam [15:0] GRID_H_W = GRID_H[15:0];
  localparam [7:0]  CHANNELS_W = CHANNELS[7:0];
  localparam integer HIDDEN_I = CHANNELS - 11;
  localparam [7:0]  HIDDEN_W = HIDDEN_I[7:0];
  localparam [15:0] PERCEPTION_W = PERCEPTION_WIDTH[15:0];
  localparam [15:0] MLP_W = MLP_WIDTH[15:0];
  localparam [15:0] UNITS_W = UNITS[15:0];
  localparam [15:0] SYNAPSE_W = SYNAPSE_BITS[15:0];
  localparam [7:0]  MAX_WBITS_W = MAX_WEIGHT_BITS[7:0];
  localparam [7:0]  MAX_ABITS_W = MAX_ACT_BITS[7:0];
  localparam [31:0] MAX_WBYTES_W = MAX_WEIGHT_BYTES[31:0];
  localparam [7:0]  MAX_LAYERS_W = MAX_HIDDEN_LAYERS[7:0];
  localparam [7:0]  MAX_SBITS_W = MAX_STATE_BITS[7:0];
  // Board name, first character first.
  function [127:0] byte_reverse;
    input [127:0] s;
    integer i;
    begin
      for (i = 0; i < 16; i = i + 1) byte_reverse[8 * i +: 8] = s[127 - 8 * i -: 8];
    end
  endfunction
  localparam [127:0] BOARD_LE = byte_reverse(BOARD_L);
  // The INFO reply (docs/protocol.md 3.2), little-endian, byte i in bits [8i+7:8i].
  function [511:0] info_rom;
    input unused_arg;  // a Verilog-2005 function needs an input
    begin
      info_rom = {511'd0, unused_arg};
      info_rom[0] = 1'b0;
      info_rom[0 +: 16] = 16'd1;                 // protocol_version
      info_rom[16 +: 32] = BUILD_ID_W;
      info_rom[48 +: 128] = BOARD_LE;            // board, NUL-padded
      info_rom[176 +: 32] = CLOCK_HZ_W;
      info_rom[208 +: 16] = GRID_W_W;
      info_rom[224 +: 16] = GRID_H_W;
      info_rom[240 +: 8] = CHANNELS_W;
      info_rom[248 +: 8] = HIDDEN_W;
      info_rom[256 +: 16] = PERCEPTION_W;
      info_rom[272 +: 16] = MLP_W;
      info_rom[288 +: 16] = UNITS_W;
      info_rom[304 +: 16] = SYNAPSE_W;
      info_rom[320 +: 8] = MAX_WBITS_W;
      info_rom[328 +: 8] = MAX_ABITS_W;
      info_rom[336 +: 32] = MAX_WBYTES_W;
      info_rom[368 +: 32] = INPUT_BUFFER_BYTES;
      info_rom[400 +: 16] = MAX_PAYLOAD_W[15:0];
      info_rom[416 +: 8] = MAX_LAYERS_W;
      info_rom[424 +: 8] = MAX_SBITS_W;
      info_rom[432 +: 8] = 8'd16;                // max_report
      info_rom[440 +: 8] = 8'd0;                 // features: packed grids, quant only
    end
  endfunction
  localparam [511:0] INFO_ROM = info_rom(1'b0);

  // ---- receive path ----
  wire [7:0] fifo_data;
  wire       fifo_valid, fifo_ready, fifo_overflow;
  xnca_frame_fifo #(.DEPTH_LOG2(FIFO_LOG2)) u_fifo (
    .clk_i(clk_i), .rst_i(rst_i),
    .wr_data_i(rx_data_i), .wr_valid_i(rx_valid_i), .overflow_o(fifo_overflow),
    .rd_data_o(fifo_data), .rd_valid_o(fifo_valid), .rd_ready_i(fifo_ready)
  );

  // One register stage between the FIFO's block RAM and the decoder. It takes a byte only when
  // empty (a byte per two clocks, far above the UART's rate), so no ready path runs through it.
  reg  [7:0] pipe_q;
  reg        pipe_valid_q;
  wire       pipe_ready;
  assign fifo_ready = !pipe_valid_q;
  always @(posedge clk_i) begin
    if (rst_i) begin
      pipe_valid_q <= 1'b0;
      pipe_q <= 8'd0;
    end else if (fifo_valid && fifo_ready) begin
      pipe_q <= fifo_data;
      pipe_valid_q <= 1'b1;
    end else if (pipe_ready) begin
      pipe_valid_q <= 1'b0;
    end
  end

  wire [7:0] dec_data;
  wire       dec_last, dec_err, dec_valid, dec_ready;
  xnca_cobs_decoder u_dec (
    .clk_i(clk_i), .rst_i(rst_i),
    .s_data_i(pipe_q), .s_valid_i(pipe_valid_q), .s_ready_o(pipe_ready),
    .m_data_o(dec_data), .m_last_o(dec_last), .m_err_o(dec_err), .m_valid_o(dec_valid),
    .m_ready_i(dec_ready)
  );

  wire        frame_valid;
  wire [PW-1:0] rx_pl_addr;   // the payload RAM's read address (the core's, or HELLO's nonce)
  wire [2:0]  frame_status;
  wire [7:0]  frame_op, frame_tag;
  wire [15:0] frame_len;
  reg         frame_ack;
  xnca_frame_rx #(.MAX_PAYLOAD(MAX_PAYLOAD)) u_rx (
    .clk_i(clk_i), .rst_i(rst_i),
    .s_data_i(dec_data), .s_last_i(dec_last), .s_err_i(dec_err), .s_valid_i(dec_valid),
    .s_ready_o(dec_ready), .overrun_i(fifo_overflow),
    .frame_valid_o(frame_valid), .frame_status_o(frame_status), .frame_op_o(frame_op),
    .frame_tag_o(frame_tag), .frame_len_o(frame_len),
    .frame_ack_i(frame_ack),
    .pl_addr_i(rx_pl_addr), .pl_data_o(core_pl_data_o)
  );

  assign core_cmd_op_o = frame_op;
  assign core_cmd_len_o = frame_len;

  // Credit: FIFO bytes taken since the last reply header (saturating).
  reg  [15:0] credit_q;
  wire        popped = fifo_valid && fifo_ready;

  // ---- dispatch ----
  localparam [2:0] S_WAIT = 3'd0, S_CORE_CMD = 3'd1, S_CORE_RSP = 3'd2, S_HDR = 3'd3,
                   S_BODY = 3'd4, S_ACK = 3'd5;

  reg [2:0]  state_q;
  reg [7:0]  rsp_op_q, rsp_status_q;
  reg [15:0] rsp_len_q, detail_q;
  reg        src_core_q;     // reply bytes come from the core
  reg [5:0]  idx_q;          // local reply byte index

  wire        hdr_ready;
  wire        hdr_valid = (state_q == S_HDR);

  // HELLO's nonce (payload bytes 0..3, reply bytes 6..9) is read back from the payload RAM at
  // idx_d - 6 while a local reply is sent (no copy of it): the core side never reads the payload
  // then (a local reply is sent only while the adapter is idle: HELLO, INFO, every ERROR)
  // INFO bytes from a block RAM ROM (logic is scarce on the UP5K): read at idx_q's next value, so
  // info_q is INFO byte idx_q outside S_WAIT (every way out of S_WAIT sets idx_q to 0)
  wire [5:0] idx_d = (state_q == S_WAIT) ? 6'd0 : (state_q == S_BODY && fetch) ? idx_q + 1'b1 : idx_q;
  (* ram_style = "block" *) reg [7:0] info_mem [0:63];
  reg  [7:0] info_q;
  integer ii;
  initial for (ii = 0; ii < 64; ii = ii + 1) info_mem[ii] = INFO_ROM[8 * ii +: 8];
  always @(posedge clk_i) info_q <= info_mem[idx_d];
  // HELLO's nonce (payload bytes 0..3, reply bytes 6..9) is read back from the payload RAM at
  // idx_d - 6 while a local reply is sent (no copy of it): the core side never reads the payload
  // then (a local reply is sent only while the adapter is idle: HELLO, INFO, every ERROR)
  wire local_reply = !src_core_q && (state_q == S_HDR || state_q == S_BODY);
  wire [5:0] nonce_idx = idx_d - 6'd6;
  assign rx_pl_addr = local_reply ? PW'(nonce_idx) : core_pl_addr_i;

  // Local reply bytes (after status and credit) by index.
  reg [7:0] local_byte;
  always @(*) begin
    local_byte = 8'h00;
    if (rsp_op_q == OP_ERROR) begin
      case (idx_q)
        6'd0: local_byte = frame_op;
        6'd1: local_byte = detail_q[7:0];
        default: local_byte = detail_q[15:8];
      endcase
    end else if (rsp_op_q == (OP_HELLO | 8'h80)) begin
      case (idx_q)
        6'd0: local_byte = "X";
        6'd1: local_byte = "N";
        6'd2: local_byte = "C";
        6'd3: local_byte = "A";
        6'd4: local_byte = 8'd1;      // protocol_version
        6'd5: local_byte = 8'd0;
        default: local_byte = core_pl_data_o;   // payload byte idx_q - 6 (rx_pl_addr)
      endcase
    end else begin  // INFO, docs/protocol.md 3.2: the constant table INFO_ROM (byte i at bits 8i)
      local_byte = info_q;
    end
  end

  // Reply bytes after the prefix go through one register stage (body_q) into the transmitter:
  // it cuts the path from the local byte table / the core through the CRC and the COBS encoder.
  reg  [15:0] fetch_left_q;   // bytes still to take from the source
  reg         more_q;         // fetch_left_q != 0, registered
  reg  [7:0]  body_q;
  reg         body_last_q;    // body_q is the reply's last byte
  reg         body_valid_q;
  wire        body_ready;
  wire        stage_free = !body_valid_q;   // refill only when empty: no combinational ready path
  wire        src_valid = (state_q == S_BODY) && more_q &&
                          (src_core_q ? core_rsp_data_valid_i : 1'b1);
  wire        fetch = src_valid && stage_free;
  assign core_rsp_data_ready_o = (state_q == S_BODY) && src_core_q && more_q && stage_free;
  assign core_rsp_ready_o = (state_q == S_CORE_RSP);

  always @(posedge clk_i) begin
    if (rst_i) begin
      body_valid_q <= 1'b0;
      body_q <= 8'd0;
      body_last_q <= 1'b0;
    end else if (fetch) begin
      body_q <= src_core_q ? core_rsp_data_i : local_byte;
      body_last_q <= fetch_left_q == 16'd1;
      body_valid_q <= 1'b1;
    end else if (body_ready) begin
      body_valid_q <= 1'b0;
    end
  end

  xnca_frame_tx u_tx (
    .clk_i(clk_i), .rst_i(rst_i),
    .hdr_valid_i(hdr_valid), .hdr_ready_o(hdr_ready),
    .hdr_op_i(rsp_op_q), .hdr_tag_i(frame_tag), .hdr_status_i(rsp_status_q),
    .hdr_credit_i(credit_q), .hdr_extra_len_i(rsp_len_q),
    .s_data_i(body_q), .s_last_i(body_last_q), .s_valid_i(body_valid_q), .s_ready_o(body_ready),
    .m_data_o(tx_data_o), .m_valid_o(tx_valid_o), .m_ready_i(tx_ready_i)
  );

  wire hdr_taken = hdr_valid && hdr_ready;

  always @(posedge clk_i) begin
    if (rst_i) begin
      credit_q <= 16'd0;
    end else if (hdr_taken) begin
      credit_q <= popped ? 16'd1 : 16'd0;
    end else if (popped && credit_q != 16'hffff) begin
      credit_q <= credit_q + 1'b1;
    end
  end

  // Start a local ERROR reply.
  task local_error;
    input [7:0] status;
    input [15:0] detail;
    begin
      rsp_op_q <= OP_ERROR;
      rsp_status_q <= status;
      detail_q <= detail;
      rsp_len_q <= 16'd3;
      src_core_q <= 1'b0;
      state_q <= S_HDR;
    end
  endtask

  always @(posedge clk_i) begin
    frame_ack <= 1'b0;
    if (rst_i) begin
      state_q <= S_WAIT;
      core_cmd_valid_o <= 1'b0;
      src_core_q <= 1'b0;
      rsp_op_q <= 8'd0;
      rsp_status_q <= 8'd0;
      rsp_len_q <= 16'd0;
      detail_q <= 16'd0;
      idx_q <= 6'd0;
      fetch_left_q <= 16'd0;
      more_q <= 1'b0;
    end else begin
      case (state_q)
        S_WAIT: if (frame_valid && !frame_ack) begin
          idx_q <= 6'd0;
          if (frame_status != 3'd0) begin
            local_error({5'd0, frame_status}, 16'd0);
          end else if (frame_op == OP_HELLO) begin
            if (frame_len != 16'd4) local_error(ST_BAD_LENGTH, 16'd4);
            else begin
              rsp_op_q <= OP_HELLO | 8'h80;
              rsp_status_q <= 8'd0;
              rsp_len_q <= 16'd10;
              src_core_q <= 1'b0;
              state_q <= S_HDR;
            end
          end else if (frame_op == OP_INFO) begin
            if (frame_len != 16'd0) local_error(ST_BAD_LENGTH, 16'd0);
            else begin
              rsp_op_q <= OP_INFO | 8'h80;
              rsp_status_q <= 8'd0;
              rsp_len_q <= 16'd60;
              src_core_q <= 1'b0;
              state_q <= S_HDR;
            end
          end else if (CORE_PRESENT && frame_op >= OP_FIRST_CORE && frame_op <= OP_LAST_CORE) begin
            core_cmd_valid_o <= 1'b1;
            state_q <= S_CORE_CMD;
          end else begin
            local_error(ST_UNKNOWN_COMMAND, 16'd0);
          end
        end
        S_CORE_CMD: if (core_cmd_ready_i) begin
          core_cmd_valid_o <= 1'b0;
          state_q <= S_CORE_RSP;
        end
        S_CORE_RSP: if (core_rsp_valid_i) begin
          if (core_rsp_status_i != 8'd0) begin
            local_error(core_rsp_status_i, core_rsp_detail_i);
          end else begin
            rsp_op_q <= frame_op | 8'h80;
            rsp_status_q <= 8'd0;
            rsp_len_q <= core_rsp_len_i;
            src_core_q <= 1'b1;
            state_q <= S_HDR;
          end
        end
        S_HDR: if (hdr_ready) begin
          fetch_left_q <= rsp_len_q;
          more_q <= (rsp_len_q != 16'd0);
          state_q <= (rsp_len_q == 16'd0) ? S_ACK : S_BODY;
        end
        S_BODY: begin
          if (fetch) begin
            idx_q <= idx_q + 1'b1;
            fetch_left_q <= fetch_left_q - 1'b1;
            more_q <= (fetch_left_q != 16'd1);
          end
          // done when every byte was fetched and the stage has handed on the last one
          if (!more_q && !body_valid_q) state_q <= S_ACK;
        end
        default: begin  // S_ACK: release the frame (the next one may now be decoded)
          frame_ack <= 1'b1;
          state_q <= S_WAIT;
        end
      endcase
    end
  end

endmodule
`resetall
