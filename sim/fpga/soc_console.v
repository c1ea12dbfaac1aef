// The only output of the FPGA SoCs: a UART transmitter (8N1, BAUD_DIV clocks per bit) that
// prints the words the firmware writes, in the I/O map of the simulation SoCs (sim/soc/soc_io.vh):
//
//   0xF000_0000 (write)  exit: prints "=" and the status as 8 hex digits and a newline, then
//                        stops the core (no more I/O answers) and shows the status on the LEDs
//   0xF000_0004 (write)  out: prints the word as 8 lower-case hex digits and a newline
//   0xF000_0008 (read)   cycles since reset
//
// So the proof firmware of sim/firmware runs unchanged on the board, and a terminal on the
// board's serial port (or the gate-level testbench) reads the same dump the simulations write.
// An access waits (ready low) while the transmitter is busy; nothing is ever dropped.
`default_nettype none

module hwact_soc_console #(
    parameter integer BAUD_DIV = 104
) (
    input  wire        clk,
    input  wire        reset,
    input  wire        trap,       // the core stopped (PicoRV32 on an illegal instruction): exit 0x82
    input  wire        valid,      // an I/O access is pending
    input  wire        write,
    input  wire [3:0]  address,    // byte address within the I/O page
    input  wire [31:0] wdata,
    output reg         ready,      // one-cycle acknowledge
    output reg  [31:0] rdata,
    output wire        tx,
    output reg         halted,
    output reg         failed      // halted with a non-zero status
);
    reg [31:0] cycles;
    reg [31:0] word;
    reg [3:0]  chars;              // characters left of the current line, the newline included
    reg        prefix;             // "=" still to send (exit line)
    reg [9:0]  shift;              // start bit, 8 data bits, stop bit, LSB first
    reg [3:0]  bits;
    reg [15:0] count;

    wire       idle = chars == 4'd0 && bits == 4'd0;
    wire [3:0] nibble = word[31:28];
    wire [7:0] hex = nibble < 4'd10 ? 8'h30 + {4'd0, nibble} : 8'h57 + {4'd0, nibble};
    wire [7:0] char = prefix ? 8'h3D : (chars == 4'd1 ? 8'h0A : hex);

    assign tx = bits == 4'd0 ? 1'b1 : shift[0];

    always @(posedge clk) begin
        if (reset) begin
            cycles <= 32'd0;
            ready <= 1'b0;
            rdata <= 32'd0;
            halted <= 1'b0;
            failed <= 1'b0;
            chars <= 4'd0;
            prefix <= 1'b0;
            bits <= 4'd0;
            count <= 16'd0;
            shift <= 10'h3FF;
            word <= 32'd0;
        end else begin
            cycles <= cycles + 32'd1;
            ready <= 1'b0;
            if (trap && !halted && idle) begin
                word <= 32'h82;
                chars <= 4'd9;
                prefix <= 1'b1;
                halted <= 1'b1;
                failed <= 1'b1;
            end else if (valid && !ready && !halted && idle) begin
                ready <= 1'b1;
                rdata <= address == 4'h8 ? cycles : 32'd0;
                if (write && (address == 4'h0 || address == 4'h4)) begin
                    word <= wdata;
                    chars <= 4'd9;
                    prefix <= address == 4'h0;
                    halted <= address == 4'h0;
                    failed <= address == 4'h0 && wdata != 32'd0;
                end
            end
            if (bits != 4'd0) begin
                if (count == 16'd0) begin
                    shift <= {1'b1, shift[9:1]};
                    bits <= bits - 4'd1;
                    count <= BAUD_DIV - 1;
                end else begin
                    count <= count - 16'd1;
                end
            end else if (chars != 4'd0) begin
                shift <= {1'b1, char, 1'b0};
                bits <= 4'd10;
                count <= BAUD_DIV - 1;
                if (prefix) begin
                    prefix <= 1'b0;
                end else begin
                    word <= {word[27:0], 4'd0};
                    chars <= chars - 4'd1;
                end
            end
        end
    end
endmodule
