/* See tflm_ref.h: TFLite-Micro's int8 FULLY_CONNECTED and LOGISTIC reference kernels in plain C. */
#include "tflm_ref.h"

/* gemmlowp's fixed-point numbers are raw int32 values with a stated number of integer bits
 * (sign excluded from the 31 magnitude bits); the helpers below work on the raw values and the
 * comments name the format of each (Qi = i integer bits, 31 - i fractional bits). Additions
 * wrap, as int32 arithmetic does on the targets TFLite-Micro runs on. */

static int32_t add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static int32_t sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* The high 32 bits of 2ab, rounded half away from zero; the one overflow saturates. */
static int32_t srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));  /* C division truncates toward zero */
}

/* x / 2^exponent, rounded half away from zero. */
static int32_t rounding_divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent: saturating for exponent > 0, rounding half away from zero for exponent < 0. */
static int32_t saturating_rounding_mul_by_pot(int32_t x, int exponent)
{
    if (exponent < 0) return rounding_divide_by_pot(x, -exponent);
    if (exponent == 0) return x;
    int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

int32_t tflm_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift)
{
    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    return rounding_divide_by_pot(srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

void tflm_fully_connected_int8(const tflm_fc_params *p, const int8_t *input, const int8_t *filter,
                               const int32_t *bias, int8_t *output, int batches, int output_depth,
                               int accum_depth)
{
    for (int b = 0; b < batches; b++) {
        for (int c = 0; c < output_depth; c++) {
            int32_t acc = 0;
            for (int d = 0; d < accum_depth; d++) {
                int32_t x = input[b * accum_depth + d], w = filter[c * accum_depth + d];
                acc += (w + p->filter_offset) * (x + p->input_offset);
            }
            if (bias) acc += bias[c];
            acc = tflm_multiply_by_quantized_multiplier(acc, p->output_multiplier, p->output_shift);
            acc += p->output_offset;
            acc = acc < p->activation_min ? p->activation_min : acc;
            acc = acc > p->activation_max ? p->activation_max : acc;
            output[b * output_depth + c] = (int8_t)acc;
        }
    }
}

/* exp(a) for a in [-1/4, 0), Q0 -> Q0: a Taylor polynomial of degree 4 around -1/8. */
static int32_t exp_quarter_interval(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668, one_third = 715827883;
    int32_t x = add(a, 1 << 28);  /* x = a + 1/8 */
    int32_t x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
    int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
    /* x^4/24 + x^3/6 + x^2/2 = ((x^4/4 + x^3) / 3 + x^2) / 2 */
    int32_t poly = rounding_divide_by_pot(add(srdhm(add(x4_over_4, x3), one_third), x2), 1);
    return add(exp_minus_one_eighth, srdhm(exp_minus_one_eighth, add(x, poly)));
}

/* exp(a) for a <= 0 in Q4 -> Q0: exp of a's remainder modulo 1/4 on the interval above, times
 * exp(-2^k) for each bit k of the rest (a barrel of constants). */
static int32_t exp_on_negative_values_q4(int32_t a)
{
    enum { FRAC = 31 - 4 };
    static const int32_t exp_minus_pow2[6] = {  /* exp(-1/4), exp(-1/2), exp(-1), exp(-2), exp(-4), exp(-8) in Q0 */
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401};
    const int32_t quarter = 1 << (FRAC - 2);
    int32_t shifted = sub(a & (quarter - 1), quarter);  /* in [-1/4, 0) */
    int32_t result = exp_quarter_interval(saturating_rounding_mul_by_pot(shifted, 4));
    int32_t rest = sub(shifted, a);  /* the non-negative multiple of 1/4 still to apply */
    for (int k = 0; k < 6; k++)  /* bits for 2^-2 .. 2^3; Q4 cannot hold 16 */
        if (rest & (1 << (FRAC - 2 + k))) result = srdhm(result, exp_minus_pow2[k]);
    return a == 0 ? INT32_MAX : result;  /* exp(0) = 1, saturated in Q0 */
}

/* 1 / (1 + a) for a in [0, 1], Q0 -> Q0: three Newton-Raphson steps on the half denominator. */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int32_t q2_48_over_17 = 1515870810, q2_minus_32_over_17 = -1010580540, q2_one = 1 << 29;
    int64_t sum = (int64_t)a + INT32_MAX;  /* (a + 1) / 2, rounded half away from zero */
    int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = add(q2_48_over_17, srdhm(half_denominator, q2_minus_32_over_17));  /* Q2 */
    for (int i = 0; i < 3; i++) {
        int32_t error = sub(q2_one, srdhm(half_denominator, x));  /* Q2 */
        x = add(x, saturating_rounding_mul_by_pot(srdhm(x, error), 2));  /* Q4 -> Q2 */
    }
    return saturating_rounding_mul_by_pot(x, 1);  /* x / 2 read as Q1, rescaled to Q0 */
}

/* The logistic function, Q4 -> Q0. */
static int32_t logistic_q4(int32_t a)
{
    if (a == 0) return 1 << 30;
    int32_t positive = a > 0 ? a : -a;
    int32_t sigma = one_over_one_plus_x(exp_on_negative_values_q4(-positive));  /* sigma(|a|) */
    return a > 0 ? sigma : sub(INT32_MAX, sigma);
}

void tflm_logistic_int8(const tflm_logistic_params *p, int n, const int8_t *input, int8_t *output)
{
    for (int i = 0; i < n; i++) {
        int32_t x = (int32_t)input[i] - p->input_zero_point;
        if (x <= -p->input_range_radius) {
            output[i] = INT8_MIN;
        } else if (x >= p->input_range_radius) {
            output[i] = INT8_MAX;
        } else {
            int32_t q4 = tflm_multiply_by_quantized_multiplier(x, p->input_multiplier, p->input_left_shift);
            /* Q0 -> 1/256 steps (the output scale), then the output zero point -128 */
            int32_t y = rounding_divide_by_pot(logistic_q4(q4), 31 - 8) - 128;
            output[i] = (int8_t)(y < INT8_MIN ? INT8_MIN : y > INT8_MAX ? INT8_MAX : y);
        }
    }
}
