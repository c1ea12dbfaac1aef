/* Start-up of the LiteX program (sim/litex/main.c): stack at the top of main RAM, gp, main. The
 * program has no writable data to copy or clear (link.ld). */
    .section .text.start
    .global _start
_start:
    la sp, __stack_top
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    call main
1:  j 1b
