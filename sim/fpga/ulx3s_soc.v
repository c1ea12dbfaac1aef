// The ECP5 SoC for the ULX3S board: VexRiscv_FullCfu (from the PyPI package
// pythondata-cpu-vexriscv) with the generated Cfu on its CfuPlugin bus, RAM_WORDS 32-bit words
// of block RAM (DP16KD) holding the firmware (initialised from FIRMWARE at synthesis) on both
// Wishbone buses, and a UART transmitter (soc_console.v) as its only output.
//
//   0x0000_0000  RAM (code, data, stack: sim/firmware/link.ld, as in the simulations)
//   0xF000_0000  I/O of soc_console.v (exit, out, cycles)
`default_nettype none

module ulx3s_soc #(
    parameter integer RAM_WORDS = 16384,
    parameter         FIRMWARE = "firmware.hex",
    parameter integer BAUD_DIV = 217        // 25 MHz / 115,200 baud
) (
    input  wire       clk_25mhz,            // 25 MHz oscillator
    output wire       ftdi_rxd,             // to the FTDI's RX: the board's serial port
    output wire [7:0] led                   // led[0]: passed, led[1]: failed, led[7]: running
);
    wire clk = clk_25mhz;

    // Power-on reset: ECP5 flip-flops start at zero after configuration.
    reg [5:0] reset_count = 6'd0;
    wire reset = !(&reset_count);
    always @(posedge clk)
        if (reset) reset_count <= reset_count + 6'd1;

    wire        cmd_valid, cmd_ready, rsp_valid, rsp_ready;
    wire [9:0]  cmd_function_id;
    wire [31:0] cmd_inputs_0, cmd_inputs_1, rsp_outputs_0;

    wire        i_cyc, i_stb, i_we, d_cyc, d_stb, d_we;
    wire [29:0] i_adr, d_adr;
    wire [31:0] i_dat_w, d_dat_w;
    wire [3:0]  i_sel, d_sel;
    wire [2:0]  i_cti, d_cti;
    wire [1:0]  i_bte, d_bte;
    reg         i_ack, d_ack;
    reg  [31:0] i_dat_r;
    wire [31:0] d_dat_r;

    VexRiscv cpu (
        .externalResetVector(32'h0000_0000),
        .timerInterrupt(1'b0), .softwareInterrupt(1'b0), .externalInterruptArray(32'd0),
        .CfuPlugin_bus_cmd_valid(cmd_valid), .CfuPlugin_bus_cmd_ready(cmd_ready),
        .CfuPlugin_bus_cmd_payload_function_id(cmd_function_id),
        .CfuPlugin_bus_cmd_payload_inputs_0(cmd_inputs_0), .CfuPlugin_bus_cmd_payload_inputs_1(cmd_inputs_1),
        .CfuPlugin_bus_rsp_valid(rsp_valid), .CfuPlugin_bus_rsp_ready(rsp_ready),
        .CfuPlugin_bus_rsp_payload_outputs_0(rsp_outputs_0),
        .iBusWishbone_CYC(i_cyc), .iBusWishbone_STB(i_stb), .iBusWishbone_ACK(i_ack),
        .iBusWishbone_WE(i_we), .iBusWishbone_ADR(i_adr), .iBusWishbone_DAT_MISO(i_dat_r),
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

    // RAM: true dual port block RAM, port A for the data bus (read/write), port B for the
    // instruction bus (read); both read synchronously and acknowledge one cycle later.
    localparam AW = $clog2(RAM_WORDS);
    reg [31:0] ram [0:RAM_WORDS-1];
    initial $readmemh(FIRMWARE, ram);

    always @(posedge clk) begin
        i_ack <= !reset && i_cyc && i_stb && !i_ack;
        i_dat_r <= ram[i_adr[AW-1:0]];
    end

    wire        d_start = d_cyc && d_stb && !d_ack;
    wire        d_io = d_adr[29:26] == 4'hF;
    reg  [31:0] ram_q;
    always @(posedge clk) begin
        ram_q <= ram[d_adr[AW-1:0]];
        if (d_start && !d_io && d_we) begin
            if (d_sel[0]) ram[d_adr[AW-1:0]][7:0]   <= d_dat_w[7:0];
            if (d_sel[1]) ram[d_adr[AW-1:0]][15:8]  <= d_dat_w[15:8];
            if (d_sel[2]) ram[d_adr[AW-1:0]][23:16] <= d_dat_w[23:16];
            if (d_sel[3]) ram[d_adr[AW-1:0]][31:24] <= d_dat_w[31:24];
        end
    end

    wire        io_ready, halted, failed;
    wire [31:0] io_rdata;
    hwact_soc_console #(.BAUD_DIV(BAUD_DIV)) console (
        .clk(clk), .reset(reset), .trap(1'b0),
        .valid(d_start && d_io), .write(d_we), .address({d_adr[1:0], 2'b00}), .wdata(d_dat_w),
        .ready(io_ready), .rdata(io_rdata), .tx(ftdi_rxd), .halted(halted), .failed(failed)
    );

    reg ram_ack;
    always @(posedge clk) ram_ack <= !reset && d_start && !d_io && !ram_ack;
    always @(*) d_ack = ram_ack || io_ready;
    assign d_dat_r = io_ready ? io_rdata : ram_q;

    // A trap on VexRiscv goes through mtvec to crt0's handler, which exits with 0x80 | mcause.
    assign led = {!halted, 5'd0, halted && failed, halted && !failed};
endmodule
