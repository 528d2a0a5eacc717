// xnca_spram32: a 16K x 32 single-port RAM = two iCE40UP5K SPRAMs (SB_SPRAM256KA) side by side.
// SPDX-License-Identifier: MIT
// Part of xnca. One access per cycle: i_we = 1 writes i_wdata at i_addr, i_we = 0 reads i_addr
// (o_rdata holds the word one cycle later). After a write o_rdata is undefined until the next
// read (as in the SPRAM: DATAOUT goes to X on a write); callers never use it then.
// Synthesis (`SYNTHESIS` defined) instantiates the SPRAM primitives; simulation and lint use
// the behavioural model below (same timing; the write cycle's read data is an X).
`resetall
`default_nettype none

module xnca_spram32 (
    input  wire        clk,
    input  wire        i_we,
    input  wire [13:0] i_addr,
    input  wire [31:0] i_wdata,
    output wire [31:0] o_rdata
);
`ifdef SYNTHESIS
    genvar gh;
    generate
        for (gh = 0; gh < 2; gh = gh + 1) begin : g_half
            SB_SPRAM256KA u_spram (
                .ADDRESS(i_addr), .DATAIN(i_wdata[gh*16 +: 16]), .MASKWREN(4'b1111),
                .WREN(i_we), .CHIPSELECT(1'b1), .CLOCK(clk), .STANDBY(1'b0), .SLEEP(1'b0),
                .POWEROFF(1'b1), .DATAOUT(o_rdata[gh*16 +: 16])
            );
        end
    endgenerate
`else
    reg [31:0] mem [0:16383];
    reg [31:0] rdata;
    always @(posedge clk) begin
        if (i_we) begin
            mem[i_addr] <= i_wdata;
            rdata <= {32{1'bx}};
        end else begin
            rdata <= mem[i_addr];
        end
    end
    assign o_rdata = rdata;
`endif
endmodule

`resetall
