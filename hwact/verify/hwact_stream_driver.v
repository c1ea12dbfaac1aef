// hwact's stream driver and monitor for one unit under proof (see hwact/verify/runner.py).
//
// It plays the unit's input stream from INPUTS (one hex word per transfer), takes its output
// stream, writes every output it takes to OUTPUTS (one decimal word per line, in order) and, when
// the last output is in (or after LIMIT cycles without it), its counts to STATUS and raises done.
// Both sides go idle at random (a 16-bit Galois LFSR each, idle when below IDLE of 65536), so the
// unit meets back-pressure and gaps. Stream rules are checked as the next rising edge samples
// them: an output offered while o_ready is low must stay until taken, neither changed nor
// withdrawn. The scoreboard is Python's (the runner compares OUTPUTS with the model).
//
// Everything happens on the rising edge: the handshakes are sampled as that edge sees them and
// the next offer is driven (non-blocking) right after it. No Python call per cycle, and as few
// statements per cycle as the checks need: Icarus interprets every one of them.

module hwact_stream_driver #(
    parameter IN_WIDTH = 8,
    parameter OUT_WIDTH = 8,
    parameter TRANSFERS = 1,
    parameter ADDR_BITS = 1,  // enough bits to count 0..TRANSFERS
    parameter LIMIT = 1000,
    parameter [15:0] IDLE = 16'd6554,
    parameter [15:0] SEED_IN = 16'd1,
    parameter [15:0] SEED_OUT = 16'd2,
    parameter INPUTS = "inputs.hex",
    parameter OUTPUTS = "outputs.txt",
    parameter STATUS = "status.txt"
) (
    input clk,
    input rst,
    output reg [IN_WIDTH-1:0] i_payload,
    output reg i_valid,
    input i_ready,
    input [OUT_WIDTH-1:0] o_payload,
    input o_valid,
    output reg o_ready,
    output reg done
);
    reg [IN_WIDTH-1:0] words [0:(1 << ADDR_BITS)-1];  // the runner pads INPUTS to this many words
    reg [15:0] random_in, random_out;
    reg [ADDR_BITS-1:0] sent, received;
    reg [31:0] cycles, changed, first_changed, withdrawn, first_withdrawn;
    reg holding;  // an output is on offer while o_ready is low
    reg [OUT_WIDTH-1:0] held;
    integer outputs_file, status_file;

    initial begin
        $readmemh(INPUTS, words);
        outputs_file = $fopen(OUTPUTS, "w");
        status_file = $fopen(STATUS, "w");
    end

    wire took_input = i_valid && i_ready;
    wire took_output = o_valid && o_ready;

    always @(posedge clk) begin
        if (rst) begin
            i_valid <= 1'b0;
            i_payload <= {IN_WIDTH{1'b0}};
            o_ready <= 1'b0;
            random_in <= SEED_IN;
            random_out <= SEED_OUT;
            sent <= {ADDR_BITS{1'b0}};
            received <= {ADDR_BITS{1'b0}};
            cycles <= 32'd0;
            changed <= 32'd0;
            first_changed <= 32'd0;
            withdrawn <= 32'd0;
            first_withdrawn <= 32'd0;
            holding <= 1'b0;
            held <= {OUT_WIDTH{1'b0}};
            done <= 1'b0;
        end else if (!done) begin
            cycles <= cycles + 32'd1;
            // Drive: offer the next input (an offer stays until taken), be ready or not.
            random_in <= (random_in >> 1) ^ (random_in[0] ? 16'hB400 : 16'h0000);
            random_out <= (random_out >> 1) ^ (random_out[0] ? 16'hB400 : 16'h0000);
            if (took_input) sent <= sent + 1'b1;
            if ((!i_valid || took_input) && {1'b0, sent} + took_input < TRANSFERS && random_in >= IDLE) begin
                i_valid <= 1'b1;
                i_payload <= words[sent + took_input];
            end else if (took_input) begin
                i_valid <= 1'b0;
            end
            o_ready <= random_out >= IDLE;
            // Monitor: the output stream's rules and the outputs taken.
            if (o_valid) begin
                if (holding && o_payload !== held) begin
                    changed <= changed + 32'd1;
                    if (changed == 32'd0) first_changed <= cycles + 32'd1;
                end
                holding <= !o_ready;
                held <= o_payload;
                if (o_ready) begin
                    $fdisplay(outputs_file, "%0d", o_payload);
                    received <= received + 1'b1;
                end
            end else if (holding) begin
                withdrawn <= withdrawn + 32'd1;
                if (withdrawn == 32'd0) first_withdrawn <= cycles + 32'd1;
                holding <= 1'b0;
            end
            if ({1'b0, received} + took_output >= TRANSFERS || cycles + 32'd1 >= LIMIT) begin
                done <= 1'b1;
                i_valid <= 1'b0;
                o_ready <= 1'b0;
                $fclose(outputs_file);
                $fdisplay(status_file, "%0d %0d %0d %0d %0d %0d", cycles + 32'd1, {1'b0, received} + took_output,
                          changed, first_changed, withdrawn, first_withdrawn);
                $fclose(status_file);
            end
        end
    end
endmodule
