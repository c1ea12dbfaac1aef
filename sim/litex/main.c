/* The board proof (hwact.soc.board_proof) as a program in a LiteX SoC's main RAM, run by litex_sim
 * (bench/litex_sim.py): after a line ">", each command's answer on LiteX's UART as eight hex
 * digits and a newline, then "=NN", the count of answers that are not the model's (hex, at most
 * ff). UART_RXTX_ADDR and UART_TXFULL_ADDR come from the SoC's csr.csv. */
#include <stdint.h>

#include "board_data.h"

#define UART_RXTX   (*(volatile uint32_t *)UART_RXTX_ADDR)
#define UART_TXFULL (*(volatile uint32_t *)UART_TXFULL_ADDR)

static void put(char c)
{
    while (UART_TXFULL)
        ;
    UART_RXTX = (uint32_t)(unsigned char)c;
}

static void put_hex(uint32_t word, int digits)
{
    for (int i = digits - 1; i >= 0; i--)
        put("0123456789abcdef"[(word >> (4 * i)) & 15]);
}

int main(void)
{
    uint32_t bad = 0;
    board_init();
    put('\n');
    put('>');
    put('\n');
    for (uint32_t i = 0; i < BOARD_COMMANDS; i++) {
        uint32_t rd = board_insn(BOARD_CASE[i], BOARD_RS1[i], BOARD_RS2[i]);
        put_hex(rd, 8);
        put('\n');
        bad += rd != BOARD_EXPECTED[i];
    }
    put('=');
    put_hex(bad > 255 ? 255 : bad, 2);
    put('\n');
    for (;;)
        ;
}
