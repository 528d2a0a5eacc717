// xnca_frame_engine: the device side of the link protocol (docs/protocol.md), between the UART
// and the accelerator core. Receive FIFO (the input buffer of the credit scheme) -> COBS decoder
// -> frame checks -> dispatch. HELLO, INFO and every error reply are answered here, without the
// core; LOAD_*, CLASSIFY, READ_STATE and RESET go to the core port (CORE_PRESENT = 1) or are
// answered UNKNOWN_COMMAND (CORE_PRESENT = 0). Each reply carries the credit: the FIFO bytes
// taken since the previous reply. One frame is handled at a time; the next one waits in the FIFO.
// Logic is scarce on the UP5K (docs/architecture.md section 8): the COBS decoder works straight on
// the FIFO's output register, one CRC-16 register serves frame_rx and frame_tx (a frame is held
// until its reply has gone to the encoder, so they never run at once), frame_tx reads the reply
// header from the registers here (no copies; FIFO bytes are taken only while no frame is being
// answered, so the credit holds still while it is sent), an ERROR's detail and a reply's length
// share one register, and the reply bytes are an AND-OR of one-hot selects.
//
// Core port (abstract command/response interface, to be matched to docs/core.md):
//   core_cmd_valid_o/ready_i with op and payload length; the core reads the payload through
//   core_pl_addr_i -> core_pl_data_o (one cycle latency) until it answers with
//   core_rsp_valid_i/ready_o (status 0: reply op|0x80 whose len field is core_rsp_len_i: the
//   core_rsp_data_* bytes after status and credit + 3; status != 0: ERROR reply with
//   core_rsp_detail_i).
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
  localparam [7:0] OP_HELLO = 8'h01, OP_INFO = 8'h02;   // core commands: 0x03..0x08 (core_op)
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

  // The decoder works on the FIFO's output register (its block RAM's read register) and hands
  // its tokens straight to frame_rx. Bytes leave the FIFO only in S_WAIT (see credit_q).
  wire       rx_open;   // state_q == S_WAIT
  wire [7:0] dec_data;
  wire       dec_last, dec_err, dec_valid, dec_ready, dec_in_ready;
  assign fifo_ready = dec_in_ready && rx_open;
  xnca_cobs_decoder u_dec (
    .clk_i(clk_i), .rst_i(rst_i),
    .s_data_i(fifo_data), .s_valid_i(fifo_valid && rx_open), .s_ready_o(dec_in_ready),
    .m_data_o(dec_data), .m_last_o(dec_last), .m_err_o(dec_err), .m_valid_o(dec_valid),
    .m_ready_i(dec_ready)
  );

  wire        frame_valid;
  wire [PW-1:0] rx_pl_addr;   // the payload RAM's read address (the core's, or HELLO's nonce)
  wire [2:0]  frame_status;
  wire [7:0]  frame_op, frame_tag;
  wire [15:0] frame_len;
  reg         frame_ack;
  reg  [15:0] crc_q;          // the shared CRC-16 register (below)
  wire        rx_crc_step, rx_crc_clear, tx_crc_step, tx_crc_clear;
  xnca_frame_rx #(.MAX_PAYLOAD(MAX_PAYLOAD)) u_rx (
    .clk_i(clk_i), .rst_i(rst_i),
    .s_data_i(dec_data), .s_last_i(dec_last), .s_err_i(dec_err), .s_valid_i(dec_valid),
    .s_ready_o(dec_ready), .overrun_i(fifo_overflow),
    .frame_valid_o(frame_valid), .frame_status_o(frame_status), .frame_op_o(frame_op),
    .frame_tag_o(frame_tag), .frame_len_o(frame_len),
    .frame_ack_i(frame_ack),
    .crc_i(crc_q), .crc_step_o(rx_crc_step), .crc_clear_o(rx_crc_clear),
    .pl_addr_i(rx_pl_addr), .pl_data_o(core_pl_data_o)
  );

  assign core_cmd_op_o = frame_op;
  assign core_cmd_len_o = frame_len;

  // One CRC-16 register for both directions: frame_rx folds the decoded bytes of a frame and
  // clears it at the frame's end, frame_tx folds the reply body and clears it after the reply's
  // last byte. They never run at once: a frame is held (no bytes taken) until its reply has been
  // handed to the encoder, and a reply starts only once its frame has ended.
  wire [7:0]  tx_crc_data;
  wire [15:0] crc_next;
  xnca_frame_crc16 u_crc (.crc_i(crc_q), .data_i(tx_crc_step ? tx_crc_data : dec_data),
                          .crc_o(crc_next));
  always @(posedge clk_i) begin
    if (rst_i || rx_crc_clear || tx_crc_clear) crc_q <= 16'hffff;
    else if (rx_crc_step || tx_crc_step) crc_q <= crc_next;
  end

  // Credit: FIFO bytes taken since the last reply (saturating). Bytes leave the FIFO only in
  // S_WAIT, so the count is constant while a reply's header goes out (frame_tx reads it there)
  // and is cleared when the reply is done.
  reg  [15:0] credit_q;
  wire        popped = fifo_valid && fifo_ready;
  wire        reply_done;   // the reply has gone to the encoder (S_BODY, frame_tx idle)
  always @(posedge clk_i) begin
    if (rst_i || reply_done) credit_q <= 16'd0;
    else if (popped && credit_q != 16'hffff) credit_q <= credit_q + 1'b1;
  end

  // ---- dispatch ----
  localparam [2:0] S_WAIT = 3'd0, S_CORE_CMD = 3'd1, S_CORE_RSP = 3'd2, S_HDR = 3'd3,
                   S_BODY = 3'd4;

  reg [2:0]  state_q;
  reg        err_q;          // the reply is an ERROR (op 0xff, 3 payload bytes: req_op, detail)
  reg [7:0]  status_q;
  // ERROR: the detail; else the reply's len field (the payload bytes after status and credit
  // + 3, as the core port gives it: no adder here), counted down while the payload goes out
  // (frame_tx has sent the len bytes by then)
  reg [15:0] arg_q;
  wire [15:0] arg_step = arg_q - 16'd1;
  reg        src_core_q;     // reply bytes come from the core
  reg [5:0]  idx_q;          // local reply byte index

  wire tx_idle, tx_s_ready;
  assign rx_open = (state_q == S_WAIT);
  assign reply_done = (state_q == S_BODY) && tx_idle;

  // Each payload byte (after status and credit) is taken by frame_tx straight from its source
  // (local bytes or the core) into its register stage.
  wire fetch = tx_s_ready && (src_core_q ? core_rsp_data_valid_i : 1'b1);

  // INFO bytes from a block RAM ROM (logic is scarce on the UP5K): read at idx_q's next value, so
  // info_q is INFO byte idx_q outside S_WAIT (every way out of S_WAIT sets idx_q to 0)
  wire [5:0] idx_d = (state_q == S_WAIT) ? 6'd0 : fetch ? idx_q + 1'b1 : idx_q;
  (* ram_style = "block" *) reg [7:0] info_mem [0:63];
  reg  [7:0] info_q;
  integer ii;
  initial for (ii = 0; ii < 64; ii = ii + 1) info_mem[ii] = INFO_ROM[8 * ii +: 8];
  always @(posedge clk_i) info_q <= info_mem[idx_d];
  // HELLO's nonce (payload bytes 0..3, reply bytes 6..9) is read back from the payload RAM at
  // idx_d - 6 while a local reply is sent (no copy of it): the core side never reads the payload
  // then (a local reply is sent only while the adapter is idle: HELLO, INFO, every ERROR)
  wire local_reply = !src_core_q && (state_q == S_HDR || state_q == S_BODY);
  // (nonce byte idx_d - 6 for idx_d = 6..9: its low two bits are idx_d + 2)
  wire [1:0] nonce_idx = idx_d[1:0] + 2'd2;
  assign rx_pl_addr = local_reply ? {{(PW - 2){1'b0}}, nonce_idx} : core_pl_addr_i;

  // Payload bytes (after status and credit) as an AND-OR of one-hot selects: the core's, or the
  // local ones by index. A local reply that is not an ERROR is HELLO (op 0x01) or INFO (0x02).
  wire loc = !src_core_q;
  wire hello = loc && !err_q && frame_op[0];
  wire hello_const = hello && (idx_q[5:3] == 3'd0) && !(idx_q[2] && idx_q[1]);   // idx_q < 6
  reg [7:0] hello_byte;   // "XNCA", protocol_version 1 (u16)
  always @(*) begin
    case (idx_q[2:0])
      3'd0: hello_byte = "X";
      3'd1: hello_byte = "N";
      3'd2: hello_byte = "C";
      3'd3: hello_byte = "A";
      3'd4: hello_byte = 8'd1;
      default: hello_byte = 8'd0;
    endcase
  end
  wire [7:0] payload_byte =
      ({8{src_core_q}} & core_rsp_data_i) |
      ({8{loc && err_q && idx_q == 6'd0}} & frame_op) |          // ERROR: req_op, detail
      ({8{loc && err_q && idx_q == 6'd1}} & arg_q[7:0]) |
      ({8{loc && err_q && idx_q[1]}} & arg_q[15:8]) |
      ({8{hello_const}} & hello_byte) |
      ({8{hello && !hello_const}} & core_pl_data_o) |           // the nonce (rx_pl_addr)
      ({8{loc && !err_q && !frame_op[0]}} & info_q);            // INFO (docs/protocol.md 3.2)

  assign core_rsp_data_ready_o = src_core_q && tx_s_ready;
  assign core_rsp_ready_o = (state_q == S_CORE_RSP);

  xnca_frame_tx u_tx (
    .clk_i(clk_i), .rst_i(rst_i),
    .hdr_start_i(state_q == S_HDR), .idle_o(tx_idle),
    .hdr_op_i(err_q ? OP_ERROR : {1'b1, frame_op[6:0]}), .hdr_tag_i(frame_tag),
    .hdr_status_i(status_q), .hdr_credit_i(credit_q),
    .hdr_len_i(err_q ? 16'd6 : arg_q), .hdr_empty_i(!err_q && arg_q == 16'd3),
    .s_data_i(payload_byte),
    .s_last_i(err_q ? idx_q == 6'd2 : arg_q == 16'd4),
    .s_valid_i(src_core_q ? core_rsp_data_valid_i : 1'b1), .s_ready_o(tx_s_ready),
    .crc_hi_i(crc_q[15:8]), .crc_step_o(tx_crc_step), .crc_data_o(tx_crc_data), .crc_clear_o(tx_crc_clear),
    .m_data_o(tx_data_o), .m_valid_o(tx_valid_o), .m_ready_i(tx_ready_i)
  );

  // frame_op is a core command, OP_FIRST_CORE..OP_LAST_CORE (0x03..0x08) as plain logic (yosys
  // puts a comparison on a carry chain even against a constant)
  wire core_op = (frame_op[7:4] == 4'd0) &&
                 (frame_op[3] ? (frame_op[2:0] == 3'd0) : (frame_op[2] || (frame_op[1] && frame_op[0])));

  // Start a local ERROR reply.
  task local_error;
    input [7:0] status;
    input [15:0] detail;
    begin
      err_q <= 1'b1;
      status_q <= status;
      arg_q <= detail;
      src_core_q <= 1'b0;
      state_q <= S_HDR;
    end
  endtask

  // Start a reply that is not an ERROR; len: its len field (the bytes after status and credit + 3).
  task reply;
    input [15:0] len;
    input        from_core;
    begin
      err_q <= 1'b0;
      status_q <= 8'd0;
      arg_q <= len;
      src_core_q <= from_core;
      state_q <= S_HDR;
    end
  endtask

  always @(posedge clk_i) begin
    frame_ack <= 1'b0;
    if (rst_i) begin
      state_q <= S_WAIT;
      core_cmd_valid_o <= 1'b0;
      src_core_q <= 1'b0;
      err_q <= 1'b0;
      status_q <= 8'd0;
      arg_q <= 16'd0;
      idx_q <= 6'd0;
    end else begin
      case (state_q)
        S_WAIT: if (frame_valid && !frame_ack) begin
          idx_q <= 6'd0;
          if (frame_status != 3'd0) begin
            local_error({5'd0, frame_status}, 16'd0);
          end else if (frame_op == OP_HELLO) begin
            if (frame_len != 16'd4) local_error(ST_BAD_LENGTH, 16'd4);
            else reply(16'd13, 1'b0);
          end else if (frame_op == OP_INFO) begin
            if (frame_len != 16'd0) local_error(ST_BAD_LENGTH, 16'd0);
            else reply(16'd63, 1'b0);
          end else if (CORE_PRESENT && core_op) begin
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
          if (core_rsp_status_i != 8'd0) local_error(core_rsp_status_i, core_rsp_detail_i);
          else reply(core_rsp_len_i, 1'b1);
        end
        S_HDR: state_q <= S_BODY;   // frame_tx (idle here) takes the header
        default: begin  // S_BODY: serve payload bytes until frame_tx is idle again
          if (fetch) begin
            idx_q <= idx_q + 1'b1;
            if (!err_q) arg_q <= arg_step;
          end
          if (reply_done) begin   // release the frame (the next one may now be decoded)
            frame_ack <= 1'b1;
            state_q <= S_WAIT;
          end
        end
      endcase
    end
  end

endmodule
`resetall
