// xnca_mac16_keep: a blackbox with SB_MAC16's ports and parameters, used only by the iCE40
// synthesis scripts (mk/rtl.mk synth-up5k, mk/boards.mk bitstreams), never instantiated in RTL.
// Why: yosys 0.23's `synth_ice40 -dsp` (ice40_dsp) re-derives every SB_MAC16 cell as if it were
// one of its own multipliers, also the hand-instantiated ones of the adapter and the hash
// (DSP_ICE40 = 1), and drops their adder / accumulator settings (seen as CE = 0, C = D = 0,
// OLOADTOP = 0 on the adapter's cycle counter). The scripts rename SB_MAC16 cells to this type
// before synth_ice40 and back after it, so the blocks reach nextpnr exactly as written, while
// the multipliers yosys infers itself (the quantizer's) still map to SB_MAC16.
`default_nettype none

(* blackbox *)
module xnca_mac16_keep (
  input  wire        CLK, CE,
  input  wire [15:0] C, A, B, D,
  input  wire        AHOLD, BHOLD, CHOLD, DHOLD,
  input  wire        IRSTTOP, IRSTBOT, ORSTTOP, ORSTBOT,
  input  wire        OLOADTOP, OLOADBOT, ADDSUBTOP, ADDSUBBOT,
  input  wire        OHOLDTOP, OHOLDBOT,
  input  wire        CI, ACCUMCI, SIGNEXTIN,
  output wire [31:0] O,
  output wire        CO, ACCUMCO, SIGNEXTOUT
);
  parameter [0:0] NEG_TRIGGER = 0;
  parameter [0:0] C_REG = 0;
  parameter [0:0] A_REG = 0;
  parameter [0:0] B_REG = 0;
  parameter [0:0] D_REG = 0;
  parameter [0:0] TOP_8x8_MULT_REG = 0;
  parameter [0:0] BOT_8x8_MULT_REG = 0;
  parameter [0:0] PIPELINE_16x16_MULT_REG1 = 0;
  parameter [0:0] PIPELINE_16x16_MULT_REG2 = 0;
  parameter [1:0] TOPOUTPUT_SELECT = 0;
  parameter [1:0] TOPADDSUB_LOWERINPUT = 0;
  parameter [0:0] TOPADDSUB_UPPERINPUT = 0;
  parameter [1:0] TOPADDSUB_CARRYSELECT = 0;
  parameter [1:0] BOTOUTPUT_SELECT = 0;
  parameter [1:0] BOTADDSUB_LOWERINPUT = 0;
  parameter [0:0] BOTADDSUB_UPPERINPUT = 0;
  parameter [1:0] BOTADDSUB_CARRYSELECT = 0;
  parameter [0:0] MODE_8x8 = 0;
  parameter [0:0] A_SIGNED = 0;
  parameter [0:0] B_SIGNED = 0;
endmodule

`default_nettype wire
