// xnca_frame_crc16: one byte step of CRC-16/CCITT-FALSE (poly 0x1021, MSB first), combinational.
// Init 0xffff; run over a whole frame body including its CRC (MSB first) the result is 0.
`default_nettype none

module xnca_frame_crc16 (
  input  wire [15:0] crc_i,
  input  wire [7:0]  data_i,
  output wire [15:0] crc_o
);

  // Eight shift steps of the bit-serial CRC, unrolled.
  function [15:0] step;
    input [15:0] c;
    begin
      step = c[15] ? ({c[14:0], 1'b0} ^ 16'h1021) : {c[14:0], 1'b0};
    end
  endfunction

  wire [15:0] c0 = crc_i ^ {data_i, 8'h00};
  assign crc_o = step(step(step(step(step(step(step(step(c0))))))));

endmodule
`resetall
