// A stand-in for the generated Cfu with the same ports: every command is answered with 0 one
// cycle later. The ECP5 build places the SoC with it, beside the real one, to measure what the
// CFU costs the SoC's Fmax (design.md: with the CFU >= 0.95x without it).
`default_nettype none

module Cfu (
    input  wire        clk,
    input  wire        reset,
    input  wire        cmd_valid,
    output wire        cmd_ready,
    input  wire [9:0]  cmd_payload_function_id,
    input  wire [31:0] cmd_payload_inputs_0,
    input  wire [31:0] cmd_payload_inputs_1,
    output reg         rsp_valid,
    input  wire        rsp_ready,
    output wire [31:0] rsp_payload_outputs_0
);
    assign cmd_ready = !rsp_valid || rsp_ready;
    assign rsp_payload_outputs_0 = 32'd0;
    always @(posedge clk)
        if (reset) rsp_valid <= 1'b0;
        else if (cmd_ready) rsp_valid <= cmd_valid;
endmodule
