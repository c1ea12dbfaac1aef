// Testbench for the FPGA SoCs (icebreaker_soc, ulx3s_soc), as RTL or as the gate-level netlist
// yosys writes after synthesis (define NETLIST: the top then has no parameters left). It only
// drives the clock and listens to the serial line, as a terminal on the board would: each
// "%08x" line becomes a word of +dump=FILE, the "=%08x" exit line becomes "status cycles" in
// +status=FILE, and the run ends. +baud_div=N must match the SoC's BAUD_DIV.
`timescale 1ns/1ps
`default_nettype none

module soc_tb;
    parameter TOP_ICEBREAKER = 1;
    parameter integer ROM_WORDS = 3072;
    parameter integer RAM_WORDS = 16384;
    parameter FIRMWARE = "firmware.hex";
    parameter integer BAUD_DIV = 2;

    reg clk = 1'b0;
    always #5 clk = ~clk;
    wire tx;

`ifdef ULX3S
    wire [7:0] led;
    `ifdef NETLIST
    ulx3s_soc dut (.clk_25mhz(clk), .ftdi_rxd(tx), .led(led));
    `else
    ulx3s_soc #(.RAM_WORDS(RAM_WORDS), .FIRMWARE(FIRMWARE), .BAUD_DIV(BAUD_DIV))
        dut (.clk_25mhz(clk), .ftdi_rxd(tx), .led(led));
    `endif
`else
    wire ledg_n, ledr_n;
    `ifdef NETLIST
    icebreaker_soc dut (.CLK(clk), .TX(tx), .LEDG_N(ledg_n), .LEDR_N(ledr_n));
    `else
    icebreaker_soc #(.ROM_WORDS(ROM_WORDS), .FIRMWARE(FIRMWARE), .BAUD_DIV(BAUD_DIV))
        dut (.CLK(clk), .TX(tx), .LEDG_N(ledg_n), .LEDR_N(ledr_n));
    `endif
`endif

    integer baud = 2;
    integer max_cycles = 20000000;
    integer dump_fd = 0;
    integer status_fd = 0;
    reg [8*256-1:0] path;
    initial begin
        if (!$value$plusargs("baud_div=%d", baud)) baud = BAUD_DIV;
        if (!$value$plusargs("max_cycles=%d", max_cycles)) max_cycles = 20000000;
        if ($value$plusargs("dump=%s", path)) dump_fd = $fopen(path, "w");
        if ($value$plusargs("status=%s", path)) status_fd = $fopen(path, "w");
    end

    // 8N1 receiver: sample the middle of each bit.
    integer cycles = 0;
    integer count = 0;
    integer nbits = 0;
    reg busy = 1'b0;
    reg [7:0] char = 8'd0;
    reg [31:0] value = 32'd0;
    reg exiting = 1'b0;

    task finish(input [31:0] status);
        begin
            if (status_fd) begin
                $fwrite(status_fd, "%0d %0d\n", status, cycles);
                $fclose(status_fd);
            end
            if (dump_fd) $fclose(dump_fd);
            $display("soc_tb: exit %0d after %0d cycles", status, cycles);
            $finish;
        end
    endtask

    task receive(input [7:0] c);
        begin
            if (c == 8'h3D) begin
                exiting = 1'b1;
                value = 32'd0;
            end else if (c == 8'h0A) begin
                if (exiting) finish(value);
                else if (dump_fd) $fwrite(dump_fd, "%08x\n", value);
                value = 32'd0;
            end else if (c >= 8'h30 && c <= 8'h39) begin
                value = {value[27:0], c[3:0]};
            end else if (c >= 8'h61 && c <= 8'h66) begin
                value = {value[27:0], c[3:0] + 4'd9};
            end
        end
    endtask

    always @(posedge clk) begin
        cycles <= cycles + 1;
        if (cycles == max_cycles) begin
            $display("soc_tb: no exit after %0d cycles", cycles);
            finish(255);
        end
        if (!busy) begin
            if (tx === 1'b0) begin
                busy <= 1'b1;
                count <= baud + baud / 2 - 1;
                nbits <= 0;
            end
        end else if (count == 0) begin
            if (nbits < 8) begin
                char <= {tx, char[7:1]};
                nbits <= nbits + 1;
                count <= baud - 1;
            end else begin
                busy <= 1'b0;
                receive(char);
            end
        end else begin
            count <= count - 1;
        end
    end
endmodule
