/* Cycles per element of every CFU unit on the core: the instruction on pre-packed registers
 * (one intrinsic call per transfer), the array helper of hwact_cfu.h, the same helper with the
 * bit-exact C fallback (HWACT_SOFTWARE), and plain float C with libm (soft-float on rv32im).
 * Each kernel runs once to warm the caches, then once timed. The generated fw_bench.h/.c
 * (bench/cfu_cycles.py) hold the data and one function per unit and method.
 *
 * Dump, per unit: cycles and elements of: single, array, fallback, float. */
#include <stdint.h>

#include "fw_bench.h"
#include "soc.h"

static uint32_t words_out[BENCH_MAX_WORDS];
static uint32_t codes_out[BENCH_MAX_WORDS];
static float floats_out[BENCH_N_FLOAT * 2];

static void timed(bench_fn fn, const void *x, const void *a, void *y, uint32_t n)
{
    uint32_t t0, t1;
    fn(x, a, y, n);
    t0 = soc_cycles();
    fn(x, a, y, n);
    t1 = soc_cycles();
    soc_out(t1 - t0);
    soc_out(n);
}

int main(void)
{
    bench_init();
    for (uint32_t u = 0; u < BENCH_UNITS; u++) {
        const struct bench_unit *b = &BENCH_UNIT[u];
        timed(bench_single[u], b->rs1, b->rs2, words_out, b->transfers);
        timed(bench_array_hw[u], b->x, b->a, codes_out, b->n);
        timed(bench_array_sw[u], b->x, b->a, codes_out, b->n_sw);
        timed(bench_float[u], b->xf, b->af, floats_out, BENCH_N_FLOAT);
    }
    return 0;
}
