// xnca_ref_popcount180: the fixed reference circuit of `make bench` (docs/benchmarks.md, "Ceiling").
// Not part of the accelerator. LANES run-time-weight binary neurons over one shared 180-bit
// activation vector (180 = 9 neighbours x 20 channels, the perception row of Distill's
// dimensions): each lane XNORs its weight register with the activations and counts the ones in
// a pipelined adder tree (a register after every two adder levels), the shape a spatial
// XNOR-popcount array has. Its place-and-route result gives c = LUT4 sites per synapse of a
// device family, from which scripts/bench-ref derives the device's ceiling in synapse ops/s.
//
// Activations and weights are loaded from the `sin` pin through one shift chain (so nothing is
// constant and every register is real, as the weight slice of a run-time-weight array is); the
// XOR of all lanes' counts drives `sout` (so no lane can be optimised away).
`default_nettype none

module xnca_ref_popcount180 #(
  parameter integer N = 180,
  parameter integer LANES = 4
) (
  input  wire clk,
  input  wire sin,
  output wire sout
);
  localparam integer CHAIN = (LANES + 1) * N;
  localparam integer SW = $clog2(N + 1);   // 8 bits for 180 inputs

  reg [CHAIN-1:0] chain_q = {CHAIN{1'b0}};
  always @(posedge clk) chain_q <= {chain_q[CHAIN-2:0], sin};

  wire [N-1:0] act = chain_q[N-1:0];
  wire [LANES*SW-1:0] count;

  genvar l;
  generate
    for (l = 0; l < LANES; l = l + 1) begin : g_lane
      xnca_ref_popcount180_lane #(.N(N), .SW(SW)) u_lane (
        .clk(clk),
        .x(~(act ^ chain_q[(l + 1) * N +: N])),
        .count(count[l * SW +: SW])
      );
    end
  endgenerate

  reg sout_q = 1'b0;
  always @(posedge clk) sout_q <= ^count;
  assign sout = sout_q;
endmodule

`default_nettype wire
