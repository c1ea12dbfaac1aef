/* The I/O of the hwact test SoCs (sim/soc/soc_io.vh). */
#ifndef HWACT_SOC_H
#define HWACT_SOC_H
#include <stdint.h>

#define SOC_EXIT   (*(volatile uint32_t *)0xF0000000u)
#define SOC_OUT    (*(volatile uint32_t *)0xF0000004u)
#define SOC_CYCLES (*(volatile uint32_t *)0xF0000008u)

static inline void soc_out(uint32_t word) { SOC_OUT = word; }
static inline uint32_t soc_cycles(void) { return SOC_CYCLES; }
#endif
