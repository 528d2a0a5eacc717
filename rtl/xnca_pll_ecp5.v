// xnca_pll_ecp5: core clock from one ECP5 EHXPLLL, primary output CLKOP fed back to CLKFB.
//
// f_out = f_in * CLKFB_DIV / CLKI_DIV; VCO = f_out * CLKOP_DIV must be 400..800 MHz and the PFD
// f_in / CLKI_DIV at least 3.125 MHz. Take the numbers from `ecppll -i 25 -o F` (the yowasp build
// in .venv: .venv/bin/yowasp-ecppll). Exact settings for the ULX3S's 25 MHz oscillator:
//   60 MHz: CLKI_DIV 5 CLKFB_DIV 12 CLKOP_DIV 10 CPHASE 5   (VCO 600)  = 20 x 3 Mbaud
//   75 MHz: CLKI_DIV 1 CLKFB_DIV 3  CLKOP_DIV 8  CPHASE 4   (VCO 600)  = 25 x 3 Mbaud  (default)
//  150 MHz: CLKI_DIV 1 CLKFB_DIV 6  CLKOP_DIV 4  CPHASE 2   (VCO 600)  = 50 x 3 Mbaud
// 48 MHz is NOT reachable exactly from 25 MHz (ecppll gives 46.875), so the ULX3S uses 75 MHz.
//
// Outside synthesis (`SYNTHESIS` undefined) the clock passes straight through and lock_o is 1.
`default_nettype none

module xnca_pll_ecp5 #(
  // Reference divider: PFD = f_in / CLKI_DIV.
  parameter integer CLKI_DIV = 1,
  // Feedback divider (feedback taken from CLKOP): f_out = PFD * CLKFB_DIV.
  parameter integer CLKFB_DIV = 3,
  // VCO-to-CLKOP divider: VCO = f_out * CLKOP_DIV.
  parameter integer CLKOP_DIV = 8,
  // Coarse phase of CLKOP in VCO cycles; ecppll uses CLKOP_DIV / 2 for 0 degrees.
  parameter integer CLKOP_CPHASE = 4
) (
  input  wire clk_i,    // reference clock (ULX3S: clk_25mhz, G2)
  output wire clk_o,    // generated clock
  output wire lock_o    // high once the PLL has locked (asynchronous)
);

`ifdef SYNTHESIS
  (* ICP_CURRENT = "12" *) (* LPF_RESISTOR = "8" *)
  (* MFG_ENABLE_FILTEROPAMP = "1" *) (* MFG_GMCREF_SEL = "2" *)
  EHXPLLL #(
    .PLLRST_ENA("DISABLED"),
    .INTFB_WAKE("DISABLED"),
    .STDBY_ENABLE("DISABLED"),
    .DPHASE_SOURCE("DISABLED"),
    .OUTDIVIDER_MUXA("DIVA"),
    .OUTDIVIDER_MUXB("DIVB"),
    .OUTDIVIDER_MUXC("DIVC"),
    .OUTDIVIDER_MUXD("DIVD"),
    .CLKI_DIV(CLKI_DIV),
    .CLKOP_ENABLE("ENABLED"),
    .CLKOP_DIV(CLKOP_DIV),
    .CLKOP_CPHASE(CLKOP_CPHASE),
    .CLKOP_FPHASE(0),
    .FEEDBK_PATH("CLKOP"),
    .CLKFB_DIV(CLKFB_DIV)
  ) u_pll (
    .RST(1'b0),
    .STDBY(1'b0),
    .CLKI(clk_i),
    .CLKOP(clk_o),
    .CLKFB(clk_o),
    .CLKINTFB(),
    .PHASESEL0(1'b0),
    .PHASESEL1(1'b0),
    .PHASEDIR(1'b1),
    .PHASESTEP(1'b1),
    .PHASELOADREG(1'b1),
    .PLLWAKESYNC(1'b0),
    .ENCLKOP(1'b0),
    .LOCK(lock_o)
  );
`else
  // Simulation stand-in: no frequency change. Parameters are only documented here.
  assign clk_o  = clk_i;
  assign lock_o = 1'b1;
  wire unused_params = &{1'b0, CLKI_DIV[0], CLKFB_DIV[0], CLKOP_DIV[0], CLKOP_CPHASE[0]};
`endif

endmodule

`default_nettype wire
