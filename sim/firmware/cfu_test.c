/* Firmware proof of the hwact CFU: every unit's buffer through the instruction (the array
 * helper of hwact_cfu.h) and through the bit-exact C fallback (the same helper compiled with
 * HWACT_SOFTWARE), both dumped for the test to check against the NumPy model; then an int8
 * dense layer followed by a CFU activation, timed.
 *
 * Dump (one 32-bit word a line, sim/soc/soc_io.vh):
 *   discovery word, unknown-id answer,
 *   per unit: cycles(instruction), cycles(fallback), y_hw words..., y_sw words...
 *   dense: cycles(dense), cycles(activation, instruction), cycles(activation, fallback),
 *          pre-activation words..., y_hw words..., y_sw words...
 *          (only when a unit takes the layer's int8 codes: FW_DENSE_UNIT >= 0)
 * Exit status: the number of units whose instruction and fallback outputs differ (0 = pass). */
#include <stddef.h>
#include <stdint.h>

#include "fw_data.h"
#include "soc.h"

static uint32_t y_hw[FW_MAX_WORDS];
static uint32_t y_sw[FW_MAX_WORDS];

static void dump(const uint32_t *words, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        soc_out(words[i]);
}

static uint32_t differ(const uint32_t *a, const uint32_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 1;
    return 0;
}

static void clear(uint32_t *words, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        words[i] = 0;
}

/* y = saturate_int8((W x + b + 64) >> 7): s4.4 inputs, s1.7 weights, s4.4 outputs. */
static __attribute__((unused)) void dense(const int8_t *x, const int8_t *w, const int32_t *b, int8_t *y)
{
    for (uint32_t o = 0; o < FW_DENSE_OUT; o++) {
        int32_t acc = b[o];
        const int8_t *row = w + o * FW_DENSE_IN;
        for (uint32_t i = 0; i < FW_DENSE_IN; i++)
            acc += (int32_t)x[i] * row[i];
        acc = (acc + 64) >> 7;
        y[o] = (int8_t)(acc > 127 ? 127 : acc < -128 ? -128 : acc);
    }
}

int main(void)
{
    uint32_t bad = 0;
    cfu_hw_init();
    soc_out(cfu_hw_discover());
    soc_out(cfu_hw_unknown());
    for (uint32_t u = 0; u < FW_UNITS; u++) {
        const struct fw_unit *unit = &FW_UNIT[u];
        uint32_t t0, t1, t2;
        clear(y_hw, unit->out_words);
        clear(y_sw, unit->out_words);
        t0 = soc_cycles();
        units_hw[u](unit->x, unit->a, y_hw, unit->n);
        t1 = soc_cycles();
        units_sw[u](unit->x, unit->a, y_sw, unit->n);
        t2 = soc_cycles();
        soc_out(t1 - t0);
        soc_out(t2 - t1);
        dump(y_hw, unit->out_words);
        dump(y_sw, unit->out_words);
        bad += differ(y_hw, y_sw, unit->out_words);
    }
#if FW_DENSE_UNIT >= 0  /* a unit takes the layer's int8 codes */
    {
        static int8_t pre[FW_DENSE_OUT] __attribute__((aligned(4)));
        uint32_t t0, t1, t2, t3;
        t0 = soc_cycles();
        dense(FW_DENSE_X, FW_DENSE_W, FW_DENSE_B, pre);
        t1 = soc_cycles();
        units_hw[FW_DENSE_UNIT]((const void *)pre, (const void *)0, y_hw, FW_DENSE_OUT);
        t2 = soc_cycles();
        units_sw[FW_DENSE_UNIT]((const void *)pre, (const void *)0, y_sw, FW_DENSE_OUT);
        t3 = soc_cycles();
        soc_out(t1 - t0);
        soc_out(t2 - t1);
        soc_out(t3 - t2);
        dump((const uint32_t *)pre, FW_DENSE_OUT / 4);
        dump(y_hw, FW_DENSE_WORDS);
        dump(y_sw, FW_DENSE_WORDS);
        bad += differ(y_hw, y_sw, FW_DENSE_WORDS);
    }
#endif
    return (int)bad;
}
