// PicoRV32 (from the PyPI package pythondata-cpu-picorv32, rv32im: ENABLE_MUL, ENABLE_DIV) with
// the generated CfuPcpi on its PCPI port, a 64 KiB RAM and the I/O of soc_io.vh. Clock and
// reset are made here.
`timescale 1ns/1ps

module picorv32_soc;
    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg reset = 1'b1;
    initial begin
        repeat (8) @(posedge clk);
        reset <= 1'b0;
    end

    `include "soc_io.vh"

    wire        trap;
    wire        mem_valid, mem_instr;
    reg         mem_ready = 1'b0;
    wire [31:0] mem_addr, mem_wdata;
    wire [3:0]  mem_wstrb;
    reg  [31:0] mem_rdata = 32'd0;

    wire        pcpi_valid, pcpi_wr, pcpi_wait, pcpi_ready;
    wire [31:0] pcpi_insn, pcpi_rs1, pcpi_rs2, pcpi_rd;

    picorv32 #(
        .ENABLE_PCPI(1), .ENABLE_MUL(1), .ENABLE_DIV(1), .ENABLE_IRQ(0),
        .BARREL_SHIFTER(1), .COMPRESSED_ISA(0),
        .PROGADDR_RESET(32'h0000_0000), .STACKADDR(32'h0001_0000)
    ) cpu (
        .clk(clk), .resetn(!reset), .trap(trap),
        .mem_valid(mem_valid), .mem_instr(mem_instr), .mem_ready(mem_ready),
        .mem_addr(mem_addr), .mem_wdata(mem_wdata), .mem_wstrb(mem_wstrb), .mem_rdata(mem_rdata),
        .mem_la_read(), .mem_la_write(), .mem_la_addr(), .mem_la_wdata(), .mem_la_wstrb(),
        .pcpi_valid(pcpi_valid), .pcpi_insn(pcpi_insn), .pcpi_rs1(pcpi_rs1), .pcpi_rs2(pcpi_rs2),
        .pcpi_wr(pcpi_wr), .pcpi_rd(pcpi_rd), .pcpi_wait(pcpi_wait), .pcpi_ready(pcpi_ready),
        .irq(32'd0), .eoi(),
        .trace_valid(), .trace_data()
    );

    CfuPcpi cfu (
        .clk(clk), .reset(reset),
        .pcpi_valid(pcpi_valid), .pcpi_insn(pcpi_insn), .pcpi_rs1(pcpi_rs1), .pcpi_rs2(pcpi_rs2),
        .pcpi_wr(pcpi_wr), .pcpi_rd(pcpi_rd), .pcpi_wait(pcpi_wait), .pcpi_ready(pcpi_ready)
    );

    // PicoRV32 stops on an illegal instruction (no IRQs here): report it as status 0x82.
    always @(posedge clk)
        if (!reset && trap) io_write(32'hF000_0000, 32'h82);

    always @(posedge clk) begin
        mem_ready <= 1'b0;
        if (mem_valid && !mem_ready) begin
            mem_ready <= 1'b1;
            if (mem_addr[31:28] == 4'hF) begin
                mem_rdata <= (mem_addr == 32'hF000_0008) ? cycles : 32'd0;
                if (|mem_wstrb) io_write(mem_addr, mem_wdata);
            end else begin
                mem_rdata <= ram[mem_addr[15:2]];
                if (mem_wstrb[0]) ram[mem_addr[15:2]][7:0]   <= mem_wdata[7:0];
                if (mem_wstrb[1]) ram[mem_addr[15:2]][15:8]  <= mem_wdata[15:8];
                if (mem_wstrb[2]) ram[mem_addr[15:2]][23:16] <= mem_wdata[23:16];
                if (mem_wstrb[3]) ram[mem_addr[15:2]][31:24] <= mem_wdata[31:24];
            end
        end
    end
endmodule
