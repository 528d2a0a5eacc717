// xnca_ram: simple dual-port RAM (one write port with lane enables, one read port).
// SPDX-License-Identifier: MIT
// Part of xnca. Registered read (one cycle latency); the read data of a cycle that writes the
// same address is undefined in hardware (the simulation returns the old word): callers never
// use it. Written as plain arrays so yosys infers EBR/DP16KD/LUT RAM.
`resetall
`default_nettype none

module xnca_ram #(
    // word width in bits
    parameter integer DW = 8,
    // address width in bits
    parameter integer AW = 4,
    // words (<= 2^AW)
    parameter integer DEPTH = 16,
    // write lanes; DW must be a multiple of LANES (lane width DW / LANES)
    parameter integer LANES = 1,
    // 1: ask yosys for block RAM (ram_style "block") even where it would pick LUT RAM (a wide,
    // shallow memory: yosys 0.23 put the core's 32 x 512 X / Y RAM into ~6,300 LUTs); 0: its choice
    parameter integer BLOCK = 0
) (
    input  wire             clk,
    // write port
    input  wire             i_we,
    input  wire [LANES-1:0] i_wlane,
    input  wire [AW-1:0]    i_waddr,
    input  wire [DW-1:0]    i_wdata,
    // read port
    input  wire [AW-1:0]    i_raddr,
    output reg  [DW-1:0]    o_rdata
);
    localparam integer LW = DW / LANES;

    generate
        if (DW % LANES != 0) begin : g_bad_lanes
            $error("xnca_ram: DW must be a multiple of LANES");
        end
        if (DEPTH > (1 << AW)) begin : g_bad_depth
            $error("xnca_ram: DEPTH exceeds 2^AW");
        end
    endgenerate

    // the address bits that select a word (Verilator wants exactly $clog2(DEPTH) index bits)
    localparam integer IW = DEPTH > 1 ? $clog2(DEPTH) : 1;

    // no_rw_check: no caller uses the read data of a cycle that writes the same address (the
    // core reads and writes a RAM in the same cycle only at different addresses, or discards
    // the read), so yosys need not add collision bypass logic (a DW-bit register and mux).
    wire [IW-1:0] widx = i_waddr[IW-1:0];
    wire [IW-1:0] ridx = i_raddr[IW-1:0];

    // one write process per lane: yosys merges them into one port with lane enables
    genvar gl;
    generate
        if (BLOCK != 0) begin : g_block
            (* no_rw_check, ram_style = "block" *)
            reg [DW-1:0] mem [0:DEPTH-1];
            for (gl = 0; gl < LANES; gl = gl + 1) begin : g_lane
                always @(posedge clk) begin
                    if (i_we && i_wlane[gl]) mem[widx][gl*LW +: LW] <= i_wdata[gl*LW +: LW];
                end
            end
            always @(posedge clk) o_rdata <= mem[ridx];
        end else begin : g_auto
            (* no_rw_check *)
            reg [DW-1:0] mem [0:DEPTH-1];
            for (gl = 0; gl < LANES; gl = gl + 1) begin : g_lane
                always @(posedge clk) begin
                    if (i_we && i_wlane[gl]) mem[widx][gl*LW +: LW] <= i_wdata[gl*LW +: LW];
                end
            end
            always @(posedge clk) o_rdata <= mem[ridx];
        end
        if (AW > IW) begin : g_unused_addr
            // addresses never exceed DEPTH - 1 (callers guarantee it)
            wire unused_addr = &{1'b0, i_waddr[AW-1:IW], i_raddr[AW-1:IW]};
        end
    endgenerate
endmodule

`resetall
