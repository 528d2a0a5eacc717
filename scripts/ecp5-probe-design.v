// xnca_ecp5_probe: throwaway design that measures the ECP5 flow (scripts/ecp5-probe), not part
// of the accelerator. A 26-bit counter plus LANES registered 180-bit XNOR-popcount-threshold
// neurons with runtime weights, in three pipeline stages (36-bit chunk counts, chunk sum, compare).
// Weights and the activation vector shift in serially from the UART pin so nothing is constant.
`default_nettype none

module xnca_ecp5_probe #(
  parameter integer N = 180,
  parameter integer LANES = 8,
  parameter integer CHUNK = 36
) (
  input  wire       clk_25mhz,
  input  wire       ftdi_txd,
  output wire       ftdi_rxd,
  output wire [7:0] led
);
  localparam integer CHUNKS = N / CHUNK;
  localparam integer CW = $clog2(CHUNK + 1);
  localparam integer SW = $clog2(N + 1);

  reg [25:0] counter_q = 26'd0;
  always @(posedge clk_25mhz) counter_q <= counter_q + 26'd1;

  // Frame: activation (N bits) then LANES weight vectors, then LANES thresholds (SW bits each).
  localparam integer FRAME = (LANES + 1) * N + LANES * SW;
  reg [FRAME-1:0] frame_q = {FRAME{1'b0}};
  always @(posedge clk_25mhz) frame_q <= {frame_q[FRAME-2:0], ftdi_txd};

  wire [N-1:0] act = frame_q[N-1:0];
  reg  [LANES-1:0] fire_q;

  genvar l, c;
  generate
    for (l = 0; l < LANES; l = l + 1) begin : g_lane
      wire [N-1:0] w = frame_q[(l + 1) * N +: N];
      wire [N-1:0] x = ~(act ^ w);
      reg [CW*CHUNKS-1:0] part_q;
      for (c = 0; c < CHUNKS; c = c + 1) begin : g_chunk
        integer i;
        reg [CW-1:0] cnt;
        always @(*) begin
          cnt = {CW{1'b0}};
          for (i = 0; i < CHUNK; i = i + 1) cnt = cnt + {{(CW-1){1'b0}}, x[c * CHUNK + i]};
        end
        always @(posedge clk_25mhz) part_q[c * CW +: CW] <= cnt;
      end
      integer j;
      reg [SW-1:0] sum;
      reg [SW-1:0] sum_q;
      always @(*) begin
        sum = {SW{1'b0}};
        for (j = 0; j < CHUNKS; j = j + 1) sum = sum + {{(SW-CW){1'b0}}, part_q[j * CW +: CW]};
      end
      always @(posedge clk_25mhz) begin
        sum_q <= sum;
        fire_q[l] <= (sum_q >= frame_q[(LANES + 1) * N + l * SW +: SW]);
      end
    end
  endgenerate

  assign led = {counter_q[25], fire_q[6:0]};
  assign ftdi_rxd = ^fire_q;
endmodule

`default_nettype wire
