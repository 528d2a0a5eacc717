// boards_smoke_tb: iverilog testbench for xnca_board_smoke (UART echo). Sends NBYTES bytes
// back to back at CLKS_PER_BIT clocks per bit (host side exactly at the baud) and checks that
// every byte comes back unchanged and in order. Prints "PASS <n>" or "FAIL ..." and $finish.
`timescale 1ns / 1ps
`default_nettype none

module boards_smoke_tb;
  parameter integer CLKS_PER_BIT = 16;
  parameter integer NBYTES = 40;

  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rst = 1'b1;
  reg rx = 1'b1;
  wire tx, heartbeat, rx_toggle;
  wire [7:0] last_byte;

  xnca_board_smoke #(.CLK_HZ(CLKS_PER_BIT * 1000), .BAUD(1000)) dut (
    .clk_i(clk), .rst_i(rst), .rx_i(rx), .tx_o(tx),
    .heartbeat_o(heartbeat), .rx_toggle_o(rx_toggle), .last_byte_o(last_byte)
  );

  function [7:0] pattern(input integer i);
    pattern = i[7:0] * 8'd37 + 8'd11;
  endfunction

  // Host transmitter: back-to-back 8N1 frames.
  integer i, b;
  reg [7:0] tx_byte;
  initial begin
    repeat (5) @(posedge clk);
    rst = 1'b0;
    repeat (3 * CLKS_PER_BIT) @(posedge clk);
    for (i = 0; i < NBYTES; i = i + 1) begin
      tx_byte = pattern(i);
      rx = 1'b0; repeat (CLKS_PER_BIT) @(posedge clk);
      for (b = 0; b < 8; b = b + 1) begin
        rx = tx_byte[b]; repeat (CLKS_PER_BIT) @(posedge clk);
      end
      rx = 1'b1; repeat (CLKS_PER_BIT) @(posedge clk);
    end
  end

  // Host receiver: samples mid-bit, compares with the pattern.
  integer got = 0, k;
  reg [7:0] byte_q;
  initial begin
    @(negedge rst);
    while (got < NBYTES) begin
      @(negedge tx);
      repeat (CLKS_PER_BIT / 2) @(posedge clk);
      if (tx !== 1'b0) begin $display("FAIL start bit of byte %0d", got); $finish; end
      for (k = 0; k < 8; k = k + 1) begin
        repeat (CLKS_PER_BIT) @(posedge clk);
        byte_q[k] = tx;
      end
      repeat (CLKS_PER_BIT) @(posedge clk);
      if (tx !== 1'b1) begin $display("FAIL stop bit of byte %0d", got); $finish; end
      if (byte_q !== pattern(got)) begin
        $display("FAIL byte %0d: got %02x want %02x", got, byte_q, pattern(got)); $finish;
      end
      got = got + 1;
    end
    if (last_byte !== pattern(NBYTES - 1)) begin $display("FAIL last_byte %02x", last_byte); $finish; end
    $display("PASS %0d", got);
    $finish;
  end

  initial begin
    #(100 * CLKS_PER_BIT * (NBYTES + 10));
    $display("FAIL timeout after %0d bytes", got);
    $finish;
  end
endmodule

`default_nettype wire
