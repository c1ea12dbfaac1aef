/* Board proof of the hwact CFU (hwact.soc.board_proof): commands, not arrays, so that it fits a
 * UP5K's block RAM beside the CFU's tables. Each command (unit, rs1, rs2) goes through the
 * custom instruction (board_insn: generated, one case per function id); the answer is dumped
 * and compared with the model's answer to the same command, stored beside it.
 *
 * Dump (one 32-bit word a line, sim/soc/soc_io.vh): rd of every command, in order.
 * Exit status: the number of answers that differ from the model's (0 = pass), at most 127. */
#include <stdint.h>

#include "board_data.h"
#include "soc.h"

int main(void)
{
    uint32_t bad = 0;
    board_init();
    for (uint32_t i = 0; i < BOARD_COMMANDS; i++) {
        uint32_t rd = board_insn(BOARD_CASE[i], BOARD_RS1[i], BOARD_RS2[i]);
        soc_out(rd);
        bad += rd != BOARD_EXPECTED[i];
    }
    return (int)(bad > 127 ? 127 : bad);
}
