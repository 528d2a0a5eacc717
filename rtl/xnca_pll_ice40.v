// xnca_pll_ice40: core clock from the iCE40 PLL fed straight from a package pin (SB_PLL40_PAD).
//
// f_out = f_in * (DIVF + 1) / ((DIVR + 1) * 2^DIVQ), with f_in/(DIVR+1) (PFD) in 10..133 MHz and
// the VCO f_in*(DIVF+1)/(DIVR+1) in 533..1066 MHz. Take the numbers from `icepll -i 12 -o F`.
// Exact settings for the iCEBreaker's 12 MHz crystal (icepll, FEEDBACK SIMPLE, FILTER_RANGE 1):
//   21 MHz: DIVF 55 DIVQ 5 | 24 MHz: DIVF 63 DIVQ 5 | 30 MHz: DIVF 79 DIVQ 5 | 36 MHz: DIVF 47 DIVQ 4
//   48 MHz: DIVF 63 DIVQ 4 | 60 MHz: DIVF 79 DIVQ 4 | 72 MHz: DIVF 47 DIVQ 3   (all DIVR 0)
// Every one is a whole multiple of 3 Mbaud (and of 12 Mbaud from 24 MHz up at >= 4 clocks per bit;
// 48 MHz = 4 x 12 Mbaud).
// The input must be the PLL pad (iCEBreaker: pin 35, port CLK); nothing else may use that pin.
//
// Outside synthesis (Verilator lint/simulation, `SYNTHESIS` undefined) the clock passes straight
// through and lock_o is 1: simulations run at the input frequency, so they must take their clock
// rate from the parameters, not from wall time.
`default_nettype none

module xnca_pll_ice40 #(
  // Reference divider (4 bits): PFD = f_in / (DIVR + 1).
  parameter [3:0] DIVR = 4'd0,
  // Feedback divider (7 bits): VCO = PFD * (DIVF + 1).
  parameter [6:0] DIVF = 7'd63,
  // Output divider (3 bits, 1..6): f_out = VCO / 2^DIVQ.
  parameter [2:0] DIVQ = 3'd4,
  // Loop filter setting printed by icepll for this PFD.
  parameter [2:0] FILTER_RANGE = 3'd1
) (
  input  wire pad_i,    // package pin carrying the reference clock
  output wire clk_o,    // generated clock on a global buffer
  output wire lock_o    // high once the PLL has locked (asynchronous)
);

`ifdef SYNTHESIS
  SB_PLL40_PAD #(
    .FEEDBACK_PATH("SIMPLE"),
    .DIVR(DIVR),
    .DIVF(DIVF),
    .DIVQ(DIVQ),
    .FILTER_RANGE(FILTER_RANGE)
  ) u_pll (
    .PACKAGEPIN(pad_i),
    .PLLOUTGLOBAL(clk_o),
    .PLLOUTCORE(),
    .EXTFEEDBACK(1'b0),
    .DYNAMICDELAY(8'd0),
    .LOCK(lock_o),
    .BYPASS(1'b0),
    .RESETB(1'b1),
    .LATCHINPUTVALUE(1'b0),
    .SDO(),
    .SDI(1'b0),
    .SCLK(1'b0)
  );
`else
  // Simulation stand-in: no frequency change. Parameters are only documented here.
  assign clk_o  = pad_i;
  assign lock_o = 1'b1;
  wire unused_params = &{1'b0, DIVR, DIVF, DIVQ, FILTER_RANGE};
`endif

endmodule

`default_nettype wire
