// xnca_frame_link: UART receiver + frame engine + UART transmitter, the whole host link of a
// device on two pins. Used by board tops (with the core attached) and, with CORE_PRESENT = 0,
// by the Verilator link test (sim/link_tb.cpp, suite link-rtl).
`default_nettype none

module xnca_frame_link #(
  // Core clocks per UART bit, an exact integer >= 4 (48 MHz: 16 at 3 Mbaud, 4 at 12 Mbaud).
  parameter integer CLKS_PER_BIT = 16,
  parameter integer FIFO_LOG2 = 11,
  parameter integer MAX_PAYLOAD = 1024,
  parameter [0:0]   CORE_PRESENT = 1'b0,
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
  input  wire        uart_rx_i,
  output wire        uart_tx_o,
  output wire        framing_error_o,   // pulse: a received byte had a bad stop bit
  // core port (see xnca_frame_engine)
  output wire        core_cmd_valid_o,
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

  wire [7:0] rx_data, tx_data;
  wire       rx_valid, tx_valid, tx_ready;

  xnca_uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_uart_rx (
    .clk_i(clk_i), .rst_i(rst_i), .rx_i(uart_rx_i),
    .data_o(rx_data), .valid_o(rx_valid), .frame_err_o(framing_error_o)
  );

  xnca_frame_engine #(
    .FIFO_LOG2(FIFO_LOG2), .MAX_PAYLOAD(MAX_PAYLOAD), .CORE_PRESENT(CORE_PRESENT),
    .BUILD_ID(BUILD_ID), .BOARD(BOARD), .CLOCK_HZ(CLOCK_HZ), .GRID_W(GRID_W), .GRID_H(GRID_H),
    .CHANNELS(CHANNELS), .PERCEPTION_WIDTH(PERCEPTION_WIDTH), .MLP_WIDTH(MLP_WIDTH),
    .UNITS(UNITS), .SYNAPSE_BITS(SYNAPSE_BITS), .MAX_WEIGHT_BITS(MAX_WEIGHT_BITS),
    .MAX_ACT_BITS(MAX_ACT_BITS), .MAX_WEIGHT_BYTES(MAX_WEIGHT_BYTES),
    .MAX_HIDDEN_LAYERS(MAX_HIDDEN_LAYERS), .MAX_STATE_BITS(MAX_STATE_BITS)
  ) u_engine (
    .clk_i(clk_i), .rst_i(rst_i),
    .rx_data_i(rx_data), .rx_valid_i(rx_valid),
    .tx_data_o(tx_data), .tx_valid_o(tx_valid), .tx_ready_i(tx_ready),
    .core_cmd_valid_o(core_cmd_valid_o), .core_cmd_ready_i(core_cmd_ready_i),
    .core_cmd_op_o(core_cmd_op_o), .core_cmd_len_o(core_cmd_len_o),
    .core_pl_addr_i(core_pl_addr_i), .core_pl_data_o(core_pl_data_o),
    .core_rsp_valid_i(core_rsp_valid_i), .core_rsp_ready_o(core_rsp_ready_o),
    .core_rsp_status_i(core_rsp_status_i), .core_rsp_detail_i(core_rsp_detail_i),
    .core_rsp_len_i(core_rsp_len_i), .core_rsp_data_i(core_rsp_data_i),
    .core_rsp_data_valid_i(core_rsp_data_valid_i), .core_rsp_data_ready_o(core_rsp_data_ready_o)
  );

  xnca_uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_uart_tx (
    .clk_i(clk_i), .rst_i(rst_i), .data_i(tx_data), .valid_i(tx_valid), .ready_o(tx_ready),
    .tx_o(uart_tx_o)
  );

endmodule
`resetall
