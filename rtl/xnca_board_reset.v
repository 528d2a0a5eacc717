// xnca_board_reset: synchronous, active-high reset for a board's core clock domain.
// Held while the PLL is unlocked (or the optional external request is high) and for
// 2^HOLD_BITS core cycles after both clear, then released synchronously to clk_i.
`default_nettype none

module xnca_board_reset #(
  // Reset is held for 2^HOLD_BITS cycles after lock (16 -> 1.4 ms at 48 MHz).
  parameter integer HOLD_BITS = 16
) (
  input  wire clk_i,
  input  wire lock_i,     // PLL lock, asynchronous
  input  wire req_i,      // external reset request, asynchronous, active high
  output wire rst_o       // synchronous reset, active high
);

  // Two-flop synchroniser for the asynchronous "not ready" condition.
  reg [1:0] not_ready_q = 2'b11;
  always @(posedge clk_i) not_ready_q <= {not_ready_q[0], ~lock_i | req_i};

  // Counts up while ready; reset is released when the top bit is set.
  reg [HOLD_BITS:0] hold_q = {(HOLD_BITS + 1){1'b0}};
  always @(posedge clk_i) begin
    if (not_ready_q[1]) begin
      hold_q <= {(HOLD_BITS + 1){1'b0}};
    end else if (!hold_q[HOLD_BITS]) begin
      hold_q <= hold_q + 1'b1;
    end
  end

  assign rst_o = ~hold_q[HOLD_BITS];

endmodule

`default_nettype wire
