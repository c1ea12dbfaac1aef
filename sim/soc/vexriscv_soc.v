// VexRiscv_FullCfu (from the PyPI package pythondata-cpu-vexriscv) with the generated Cfu on its
// CfuPlugin bus, a 64 KiB RAM on both Wishbone buses and the I/O of soc_io.vh. Clock and reset
// are made here; the testbench only passes +firmware, +dump, +status and +max_cycles.
`timescale 1ns/1ps

module vexriscv_soc;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg reset = 1'b1;
    initial begin
        repeat (8) @(posedge clk);
        reset <= 1'b0;
    end

    `include "soc_io.vh"

    wire        cmd_valid, cmd_ready, rsp_valid, rsp_ready;
    wire [9:0]  cmd_function_id;
    wire [31:0] cmd_inputs_0, cmd_inputs_1, rsp_outputs_0;

    wire        i_cyc, i_stb, i_we, d_cyc, d_stb, d_we;
    wire [29:0] i_adr, d_adr;
    wire [31:0] i_dat_w, d_dat_w;
    wire [3:0]  i_sel, d_sel;
    wire [2:0]  i_cti, d_cti;
    wire [1:0]  i_bte, d_bte;
    reg         d_ack = 1'b0;
    reg  [31:0] d_dat_r = 32'd0;

    VexRiscv cpu (
        .externalResetVector(32'h0000_0000),
        .timerInterrupt(1'b0),
        .softwareInterrupt(1'b0),
        .externalInterruptArray(32'd0),
        .CfuPlugin_bus_cmd_valid(cmd_valid),
        .CfuPlugin_bus_cmd_ready(cmd_ready),
        .CfuPlugin_bus_cmd_payload_function_id(cmd_function_id),
        .CfuPlugin_bus_cmd_payload_inputs_0(cmd_inputs_0),
        .CfuPlugin_bus_cmd_payload_inputs_1(cmd_inputs_1),
        .CfuPlugin_bus_rsp_valid(rsp_valid),
        .CfuPlugin_bus_rsp_ready(rsp_ready),
        .CfuPlugin_bus_rsp_payload_outputs_0(rsp_outputs_0),
        .iBusWishbone_CYC(i_cyc), .iBusWishbone_STB(i_stb), .iBusWishbone_ACK(i_cyc & i_stb),
        .iBusWishbone_WE(i_we), .iBusWishbone_ADR(i_adr), .iBusWishbone_DAT_MISO(ram[i_adr[13:0]]),
        .iBusWishbone_DAT_MOSI(i_dat_w), .iBusWishbone_SEL(i_sel), .iBusWishbone_ERR(1'b0),
        .iBusWishbone_CTI(i_cti), .iBusWishbone_BTE(i_bte),
        .dBusWishbone_CYC(d_cyc), .dBusWishbone_STB(d_stb), .dBusWishbone_ACK(d_ack),
        .dBusWishbone_WE(d_we), .dBusWishbone_ADR(d_adr), .dBusWishbone_DAT_MISO(d_dat_r),
        .dBusWishbone_DAT_MOSI(d_dat_w), .dBusWishbone_SEL(d_sel), .dBusWishbone_ERR(1'b0),
        .dBusWishbone_CTI(d_cti), .dBusWishbone_BTE(d_bte),
        .clk(clk), .reset(reset)
    );

    Cfu cfu (
        .clk(clk), .reset(reset),
        .cmd_valid(cmd_valid), .cmd_ready(cmd_ready),
        .cmd_payload_function_id(cmd_function_id),
        .cmd_payload_inputs_0(cmd_inputs_0), .cmd_payload_inputs_1(cmd_inputs_1),
        .rsp_valid(rsp_valid), .rsp_ready(rsp_ready),
        .rsp_payload_outputs_0(rsp_outputs_0)
    );

    // Data bus: one cycle per access (registered acknowledge).
    wire [31:0] d_address = {d_adr, 2'b00};
    always @(posedge clk) begin
        d_ack <= 1'b0;
        if (d_cyc && d_stb && !d_ack) begin
            d_ack <= 1'b1;
            if (d_address[31:28] == 4'hF) begin
                d_dat_r <= (d_address == 32'hF000_0008) ? cycles : 32'd0;
                if (d_we) io_write(d_address, d_dat_w);
            end else begin
                d_dat_r <= ram[d_adr[13:0]];
                if (d_we) begin
                    if (d_sel[0]) ram[d_adr[13:0]][7:0]   <= d_dat_w[7:0];
                    if (d_sel[1]) ram[d_adr[13:0]][15:8]  <= d_dat_w[15:8];
                    if (d_sel[2]) ram[d_adr[13:0]][23:16] <= d_dat_w[23:16];
                    if (d_sel[3]) ram[d_adr[13:0]][31:24] <= d_dat_w[31:24];
                end
            end
        end
    end
endmodule
