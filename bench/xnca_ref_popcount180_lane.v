// xnca_ref_popcount180_lane: one lane of the reference circuit xnca_ref_popcount180 (bench/).
`default_nettype none

// One lane: popcount of N bits as a balanced adder tree; levels 1-2, 3-4, 5-6 and 7-8 each end
// in a register (N <= 256).
module xnca_ref_popcount180_lane #(
  parameter integer N = 180,
  parameter integer SW = 8
) (
  input  wire          clk,
  input  wire [N-1:0]  x,
  output wire [SW-1:0] count
);
  localparam integer N4 = (N + 3) / 4;     // 3-bit sums of 4 bits
  localparam integer N16 = (N4 + 3) / 4;   // 5-bit sums of 16 bits
  localparam integer N64 = (N16 + 3) / 4;  // 7-bit sums of 64 bits

  wire [4*N4-1:0] xp = {{(4 * N4 - N){1'b0}}, x};

  reg [3*N4-1:0] s4_q;
  reg [5*N16-1:0] s16_q;
  reg [7*N64-1:0] s64_q;
  reg [SW-1:0] count_q;

  integer i;
  reg [2:0] t4;
  reg [4:0] t16;
  reg [6:0] t64;
  reg [SW-1:0] t;
  always @(posedge clk) begin
    for (i = 0; i < N4; i = i + 1) begin
      t4 = ({2'b00, xp[4*i]} + {2'b00, xp[4*i+1]}) + ({2'b00, xp[4*i+2]} + {2'b00, xp[4*i+3]});
      s4_q[3*i +: 3] <= t4;
    end
    for (i = 0; i < N16; i = i + 1) begin
      t16 = ({2'b00, (4*i   < N4) ? s4_q[3*(4*i)   +: 3] : 3'd0} + {2'b00, (4*i+1 < N4) ? s4_q[3*(4*i+1) +: 3] : 3'd0})
          + ({2'b00, (4*i+2 < N4) ? s4_q[3*(4*i+2) +: 3] : 3'd0} + {2'b00, (4*i+3 < N4) ? s4_q[3*(4*i+3) +: 3] : 3'd0});
      s16_q[5*i +: 5] <= t16;
    end
    for (i = 0; i < N64; i = i + 1) begin
      t64 = ({2'b00, (4*i   < N16) ? s16_q[5*(4*i)   +: 5] : 5'd0} + {2'b00, (4*i+1 < N16) ? s16_q[5*(4*i+1) +: 5] : 5'd0})
          + ({2'b00, (4*i+2 < N16) ? s16_q[5*(4*i+2) +: 5] : 5'd0} + {2'b00, (4*i+3 < N16) ? s16_q[5*(4*i+3) +: 5] : 5'd0});
      s64_q[7*i +: 7] <= t64;
    end
    t = {SW{1'b0}};
    for (i = 0; i < N64; i = i + 1) t = t + {{(SW-7){1'b0}}, s64_q[7*i +: 7]};
    count_q <= t;
  end
  assign count = count_q;
endmodule

`default_nettype wire
