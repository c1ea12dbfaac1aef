/* Start-up for the hwact CFU test SoCs (sim/soc): set the stack and gp, point mtvec at a trap
 * handler that reports the cause and stops, clear .bss, run main, report its status. */
    .option arch, +zicsr
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax  /* gp is not set yet, and the stack top may lie beyond its reach */
    la gp, __global_pointer$
    la sp, __stack_top
    .option pop
#ifndef HWACT_CFU_PCPI  /* PicoRV32 has no mtvec: a trap stops the core, and its SoC reports it */
    la t0, trap
    csrw mtvec, t0
#endif
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sw zero, 0(t0)
    addi t0, t0, 4
    j 1b
2:  call main
    li t0, 0xF0000000
    sw a0, 0(t0)
3:  j 3b

/* Any trap (an illegal instruction: the CFU disabled or absent) ends the run with status 0x80 | mcause. */
    .balign 4
trap:
    csrr t1, mcause
    li t0, 0xF0000004
    sw t1, 0(t0)
    csrr t1, mepc
    sw t1, 0(t0)
    ori t1, zero, 0x80
    li t0, 0xF0000000
    sw t1, 0(t0)
4:  j 4b
