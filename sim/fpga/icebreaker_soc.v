// The UP5K SoC for the iCEBreaker board: PicoRV32 (rv32im, from the PyPI package
// pythondata-cpu-picorv32) with the generated CfuPcpi on its PCPI port, the firmware in block
// RAM (SB_RAM40_4K, initialised from FIRMWARE at synthesis), 64 KiB of RAM in two
// SB_SPRAM256KA, and a UART transmitter (soc_console.v) as its only output.
//
//   0x0000_0000  ROM, ROM_WORDS 32-bit words (code and constants; writes are ignored)
//   0x0001_0000  RAM, 64 KiB of SPRAM (data, .bss, stack)
//   0xF000_0000  I/O of soc_console.v (exit, out, cycles)
//
// The firmware is the board proof (sim/fpga/board_proof.c, hwact.soc.board_proof), linked by
// sim/fpga/rom.ld.
`default_nettype none

module icebreaker_soc #(
    parameter integer ROM_WORDS = 3072,
    parameter         FIRMWARE = "firmware.hex",
    parameter integer BAUD_DIV = 104        // 12 MHz / 115,200 baud
) (
    input  wire CLK,                        // 12 MHz oscillator
    output wire TX,                         // to the FTDI's RX: the board's serial port
    output wire LEDG_N,                     // green: the firmware exited with status 0
    output wire LEDR_N                      // red: it exited with another status, or trapped
);
    wire clk = CLK;

    // Power-on reset: iCE40 flip-flops start at zero after configuration.
    reg [5:0] reset_count = 6'd0;
    wire reset = !(&reset_count);
    always @(posedge clk)
        if (reset) reset_count <= reset_count + 6'd1;

    wire        trap, mem_valid, mem_instr;
    wire [31:0] mem_addr, mem_wdata;
    wire [3:0]  mem_wstrb;
    wire        pcpi_valid, pcpi_wr, pcpi_wait, pcpi_ready;
    wire [31:0] pcpi_insn, pcpi_rs1, pcpi_rs2, pcpi_rd;
    reg         mem_ready;
    reg  [31:0] mem_rdata;

    picorv32 #(
        .ENABLE_PCPI(1), .ENABLE_MUL(1), .ENABLE_DIV(1), .ENABLE_IRQ(0),
        // smaller than the simulation SoC's core, to leave the UP5K's logic to the CFU: a
        // shifter of one bit per cycle, no cycle/instret counters (the firmware reads the
        // console's cycle counter)
        .BARREL_SHIFTER(0), .ENABLE_COUNTERS(0), .ENABLE_COUNTERS64(0), .COMPRESSED_ISA(0),
        .PROGADDR_RESET(32'h0000_0000), .STACKADDR(32'h0002_0000)
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

    wire in_rom = mem_addr[31:16] == 16'h0000;
    wire in_ram = mem_addr[31:16] == 16'h0001;
    wire in_io  = mem_addr[31:28] == 4'hF;
    wire start  = mem_valid && !mem_ready;

    // ROM: a synchronous read every cycle (what SB_RAM40_4K offers); the data is used one
    // cycle after the address, when the access is acknowledged.
    reg [31:0] rom [0:ROM_WORDS-1];
    initial $readmemh(FIRMWARE, rom);
    reg [31:0] rom_q;
    always @(posedge clk)
        rom_q <= rom[mem_addr[$clog2(ROM_WORDS)+1:2]];

    // RAM: two 16-bit SPRAMs side by side; MASKWREN has one bit per nibble.
    wire        ram_select = start && in_ram;
    wire        ram_write = ram_select && |mem_wstrb;
    wire [31:0] ram_q;
    SB_SPRAM256KA ram_lo (
        .ADDRESS(mem_addr[15:2]), .DATAIN(mem_wdata[15:0]),
        .MASKWREN({mem_wstrb[1], mem_wstrb[1], mem_wstrb[0], mem_wstrb[0]}),
        .WREN(ram_write), .CHIPSELECT(ram_select), .CLOCK(clk),
        .STANDBY(1'b0), .SLEEP(1'b0), .POWEROFF(1'b1), .DATAOUT(ram_q[15:0])
    );
    SB_SPRAM256KA ram_hi (
        .ADDRESS(mem_addr[15:2]), .DATAIN(mem_wdata[31:16]),
        .MASKWREN({mem_wstrb[3], mem_wstrb[3], mem_wstrb[2], mem_wstrb[2]}),
        .WREN(ram_write), .CHIPSELECT(ram_select), .CLOCK(clk),
        .STANDBY(1'b0), .SLEEP(1'b0), .POWEROFF(1'b1), .DATAOUT(ram_q[31:16])
    );

    wire        io_ready, halted, failed;
    wire [31:0] io_rdata;
    hwact_soc_console #(.BAUD_DIV(BAUD_DIV)) console (
        .clk(clk), .reset(reset), .trap(trap),
        .valid(start && in_io), .write(|mem_wstrb), .address(mem_addr[3:0]), .wdata(mem_wdata),
        .ready(io_ready), .rdata(io_rdata), .tx(TX), .halted(halted), .failed(failed)
    );

    // ROM and RAM answer one cycle after the access starts; an unmapped address reads zero.
    reg memory_ready, from_rom;
    always @(posedge clk) begin
        memory_ready <= !reset && start && !in_io && !memory_ready;
        from_rom <= in_rom;
    end
    always @(*) begin
        mem_ready = memory_ready || io_ready;
        mem_rdata = io_ready ? io_rdata : from_rom ? rom_q : ram_q;
    end

    assign LEDG_N = !(halted && !failed);
    assign LEDR_N = !(halted && failed);
endmodule
