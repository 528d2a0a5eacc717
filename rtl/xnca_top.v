// xnca_top: the whole xnca device behind two UART pins: xnca_frame_link (UART + frame engine,
// docs/protocol.md) -> xnca_core_adapter (protocol commands onto core commands) -> xnca_core
// (docs/core.md). One clock domain. The parameters choose the array configuration (the board
// wrappers pass theirs; rtl/xnca_board_icebreaker.v holds the UP5K one).
// Board wrappers (xnca_board_*.v) add the PLL and the reset; Verilator harnesses
// (sim/top_sim.cpp) drive the pins directly. INFO reports the core's own dimensions.
`default_nettype none

module xnca_top #(
  parameter [127:0] BOARD = "icebreaker",
  parameter integer CLOCK_HZ = 48_000_000,
  parameter integer CLKS_PER_BIT = 4,          // 48 MHz at 12 Mbaud (FT2232H)
  parameter integer FIFO_LOG2 = 11,
  parameter integer MAX_PAYLOAD = 1024,
  parameter [31:0]  BUILD_ID = 32'h0,
  // core configuration (docs/core.md 5)
  parameter integer GRID_W = 28,
  parameter integer GRID_H = 28,
  parameter integer CHANNELS = 20,
  parameter integer MAX_P = 80,
  parameter integer MAX_M = 80,
  parameter integer MAX_WBITS = 2,
  parameter integer MAX_ABITS = 2,
  parameter integer UNITS = 4,
  parameter integer SYN_BITS = 64,
  parameter integer BATCH = 4,
  parameter integer HASH_PIPE = 0,
  parameter integer SPRAM = 0,                 // 1: iCE40UP5K SPRAM memory map (docs/core.md 5)
  parameter integer XY_WIDE = 0,               // 1: all activation planes in one X / Y word (docs/core.md 5)
  parameter [0:0]   STATS = 1'b1,               // 0: the core's cycle / stall / fired counters are not built
  parameter [0:0]   LOAD_CHECKS = 1'b1,         // 0: the core's loader trusts the adapter-checked descriptor
  parameter integer PIX_LEVELS = 0,              // 1: the adapter sends the core pixel levels, not pixels
  parameter integer INFO_RECORD = 1,             // 0: the core's INFO record is not built (the adapter never asks)
  parameter integer DSP_ICE40 = 0,               // 1: the adapter's 32-bit counter / adder in iCE40 SB_MAC16s (yosys)
  parameter [0:0]   FAULT_INJECT = 1'b0
) (
  input  wire        clk_i,
  input  wire        rst_i,
  input  wire        uart_rx_i,
  output wire        uart_tx_o,
  output wire        busy_o,          // the core is executing a command
  output wire        model_ok_o,      // the core holds a valid model
  output wire        step_done_o,     // one-cycle pulse per finished step
  output wire        framing_error_o,
  // simulation-only fault injection (FAULT_INJECT = 1), tie to 0 on boards
  input  wire        fault_en_i,
  input  wire [15:0] fault_step_i,
  input  wire [7:0]  fault_x_i,
  input  wire [7:0]  fault_y_i,
  input  wire [7:0]  fault_ch_i
);

  localparam integer PW = $clog2(MAX_PAYLOAD);
  // spec 9 weight_bytes at the caps (L = 2), as the core computes it (docs/core.md INFO)
  localparam integer RB0 = (9 * CHANNELS + 7) / 8;
  localparam integer RBP = (MAX_P + 7) / 8;
  localparam integer RBM = (MAX_M + 7) / 8;
  localparam integer MAX_WEIGHT_BYTES = 6 * CHANNELS + MAX_P * (MAX_WBITS * RB0 + 6)
      + MAX_M * (MAX_WBITS * RBP + 6) + MAX_M * (MAX_WBITS * RBM + 6)
      + (CHANNELS - 1) * (MAX_WBITS * RBM + 6) + 8;

  wire        e_cmd_valid, e_cmd_ready, e_rsp_valid, e_rsp_ready, e_data_valid, e_data_ready;
  wire [7:0]  e_cmd_op, e_pl_data, e_rsp_status, e_rsp_data;
  wire [15:0] e_cmd_len, e_rsp_detail, e_rsp_len;
  wire [PW-1:0] e_pl_addr;

  xnca_frame_link #(
    .CLKS_PER_BIT(CLKS_PER_BIT), .FIFO_LOG2(FIFO_LOG2), .MAX_PAYLOAD(MAX_PAYLOAD),
    .CORE_PRESENT(1'b1), .BUILD_ID(BUILD_ID), .BOARD(BOARD), .CLOCK_HZ(CLOCK_HZ),
    .GRID_W(GRID_W), .GRID_H(GRID_H), .CHANNELS(CHANNELS), .PERCEPTION_WIDTH(MAX_P),
    .MLP_WIDTH(MAX_M), .UNITS(UNITS), .SYNAPSE_BITS(SYN_BITS), .MAX_WEIGHT_BITS(MAX_WBITS),
    .MAX_ACT_BITS(MAX_ABITS), .MAX_WEIGHT_BYTES(MAX_WEIGHT_BYTES), .MAX_HIDDEN_LAYERS(2),
    .MAX_STATE_BITS(8)
  ) u_link (
    .clk_i(clk_i), .rst_i(rst_i), .uart_rx_i(uart_rx_i), .uart_tx_o(uart_tx_o),
    .framing_error_o(framing_error_o),
    .core_cmd_valid_o(e_cmd_valid), .core_cmd_ready_i(e_cmd_ready), .core_cmd_op_o(e_cmd_op),
    .core_cmd_len_o(e_cmd_len), .core_pl_addr_i(e_pl_addr), .core_pl_data_o(e_pl_data),
    .core_rsp_valid_i(e_rsp_valid), .core_rsp_ready_o(e_rsp_ready),
    .core_rsp_status_i(e_rsp_status), .core_rsp_detail_i(e_rsp_detail),
    .core_rsp_len_i(e_rsp_len), .core_rsp_data_i(e_rsp_data),
    .core_rsp_data_valid_i(e_data_valid), .core_rsp_data_ready_o(e_data_ready)
  );

  wire        c_rst_req, c_cmd_valid, c_cmd_ready, c_in_valid, c_in_ready;
  wire        c_out_valid, c_out_ready, c_out_last;
  wire [2:0]  c_cmd_op;
  wire [15:0] c_cmd_steps;
  wire [31:0] c_cmd_seed, c_cmd_image;
  wire [7:0]  c_in_data, c_out_data;

  xnca_core_adapter #(
    .MAX_PAYLOAD(MAX_PAYLOAD), .GRID_W(GRID_W), .GRID_H(GRID_H), .CHANNELS(CHANNELS),
    .MAX_P(MAX_P), .MAX_M(MAX_M), .MAX_WBITS(MAX_WBITS), .MAX_ABITS(MAX_ABITS),
    .MAX_WEIGHT_BYTES(MAX_WEIGHT_BYTES), .PIX_LEVELS(PIX_LEVELS), .DSP_ICE40(DSP_ICE40)
  ) u_adapter (
    .clk_i(clk_i), .rst_i(rst_i),
    .cmd_valid_i(e_cmd_valid), .cmd_ready_o(e_cmd_ready), .cmd_op_i(e_cmd_op),
    .cmd_len_i(e_cmd_len), .pl_addr_o(e_pl_addr), .pl_data_i(e_pl_data),
    .rsp_valid_o(e_rsp_valid), .rsp_ready_i(e_rsp_ready), .rsp_status_o(e_rsp_status),
    .rsp_detail_o(e_rsp_detail), .rsp_len_o(e_rsp_len), .rsp_data_o(e_rsp_data),
    .rsp_data_valid_o(e_data_valid), .rsp_data_ready_i(e_data_ready),
    .core_rst_o(c_rst_req), .core_cmd_valid_o(c_cmd_valid), .core_cmd_ready_i(c_cmd_ready),
    .core_cmd_op_o(c_cmd_op), .core_cmd_steps_o(c_cmd_steps), .core_cmd_seed_o(c_cmd_seed),
    .core_cmd_image_o(c_cmd_image), .core_in_valid_o(c_in_valid), .core_in_ready_i(c_in_ready),
    .core_in_data_o(c_in_data), .core_out_valid_i(c_out_valid), .core_out_ready_o(c_out_ready),
    .core_out_data_i(c_out_data), .core_out_last_i(c_out_last)
  );

  xnca_core #(
    .GRID_W(GRID_W), .GRID_H(GRID_H), .CHANNELS(CHANNELS), .MAX_P(MAX_P), .MAX_M(MAX_M),
    .MAX_WBITS(MAX_WBITS), .MAX_ABITS(MAX_ABITS), .UNITS(UNITS), .SYN_BITS(SYN_BITS),
    .BATCH(BATCH), .HASH_PIPE(HASH_PIPE), .SPRAM(SPRAM), .XY_WIDE(XY_WIDE), .BUILD_ID(BUILD_ID),
    .STATS(STATS), .LOAD_CHECKS(LOAD_CHECKS), .PIX_LEVELS(PIX_LEVELS), .INFO_RECORD(INFO_RECORD),
    .CMD_HELD(1),               // the adapter holds seed and image for the whole image
    .FAULT_INJECT(FAULT_INJECT)
  ) u_core (
    .clk(clk_i), .rst(rst_i || c_rst_req),
    .i_cmd_valid(c_cmd_valid), .o_cmd_ready(c_cmd_ready), .i_cmd_op(c_cmd_op),
    .i_cmd_steps(c_cmd_steps), .i_cmd_seed(c_cmd_seed), .i_cmd_image(c_cmd_image),
    .i_in_valid(c_in_valid), .o_in_ready(c_in_ready), .i_in_data(c_in_data),
    .o_out_valid(c_out_valid), .i_out_ready(c_out_ready), .o_out_data(c_out_data),
    .o_out_last(c_out_last), .o_busy(busy_o), .o_model_ok(model_ok_o), .o_step_done(step_done_o),
    .i_fault_en(fault_en_i), .i_fault_step(fault_step_i), .i_fault_x(fault_x_i),
    .i_fault_y(fault_y_i), .i_fault_ch(fault_ch_i)
  );

endmodule
`resetall
