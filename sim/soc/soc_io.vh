// Shared by the SoC wrappers: the RAM image, the memory-mapped I/O and the cycle counter.
//
//   0x0000_0000 .. RAM_BYTES-1   RAM (code, data, stack), loaded from +firmware=FILE.hex
//   0xF000_0000 (write)          exit: the firmware's status; the simulation ends
//   0xF000_0004 (write)          out: one 32-bit word appended to +dump=FILE (hex, one a line)
//   0xF000_0008 (read)           cycles since reset
//
// A run that has not exited after +max_cycles=N cycles ends with status 255 (never hangs).

localparam RAM_WORDS = 16384;  // 64 KiB
reg [31:0] ram [0:RAM_WORDS-1];
reg [31:0] cycles = 0;
integer dump_fd = 0;
integer status_fd = 0;
integer max_cycles = 2000000;
reg [8*256-1:0] path;

initial begin
    if (!$value$plusargs("firmware=%s", path)) begin
        $display("soc: +firmware=FILE.hex is required");
        $finish;
    end
    $readmemh(path, ram);
    if ($value$plusargs("dump=%s", path))
        dump_fd = $fopen(path, "w");
    if ($value$plusargs("status=%s", path))
        status_fd = $fopen(path, "w");
    if (!$value$plusargs("max_cycles=%d", max_cycles))
        max_cycles = 2000000;
end

task io_write(input [31:0] address, input [31:0] data);
    begin
        case (address)
            32'hF000_0000: begin
                if (status_fd) begin
                    $fwrite(status_fd, "%0d %0d\n", data, cycles);
                    $fclose(status_fd);
                end
                if (dump_fd) $fclose(dump_fd);
                $display("soc: exit %0d after %0d cycles", data, cycles);
                $finish;
            end
            32'hF000_0004: if (dump_fd) $fwrite(dump_fd, "%08x\n", data);
            default: ;
        endcase
    end
endtask

always @(posedge clk) begin
    if (reset)
        cycles <= 0;
    else
        cycles <= cycles + 1;
    if (cycles == max_cycles) begin
        if (status_fd) begin
            $fwrite(status_fd, "255 %0d\n", cycles);
            $fclose(status_fd);
        end
        if (dump_fd) $fclose(dump_fd);
        $display("soc: no exit after %0d cycles", cycles);
        $finish;
    end
end
