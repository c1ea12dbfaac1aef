/* A plain C port of TensorFlow Lite Micro's int8 reference kernels: FULLY_CONNECTED (with its
 * requantization and fused activation clamp) and LOGISTIC (gemmlowp's fixed-point logistic).
 *
 * Written for hwact from the kernels' documented arithmetic (TFLite's MultiplyByQuantizedMultiplier,
 * gemmlowp's fixed-point exp and Newton-Raphson reciprocal), not copied: it is the "TFLite-Micro
 * on the core, no accelerator" column of bench/digits_mlp.py. The per-layer parameters a kernel's
 * Prepare step derives from the tensors' scales (multipliers, shifts, the logistic input radius)
 * are passed in, computed on the host as Prepare computes them (bench/digits_mlp.py).
 * tests/test_peers.py compiles this file on the host and compares it with the TFLite-Micro
 * interpreter on every int8 code.
 */
#ifndef TFLM_REF_H
#define TFLM_REF_H
#include <stdint.h>

/* FullyConnectedParams, int8: offsets are the negated zero points (output_offset: the output's). */
typedef struct {
    int32_t input_offset, filter_offset, output_offset;
    int32_t output_multiplier, output_shift;
    int32_t activation_min, activation_max;
} tflm_fc_params;

/* The int8 LOGISTIC kernel's prepared data (input zero point, radius, multiplier, left shift). */
typedef struct {
    int32_t input_zero_point, input_range_radius, input_multiplier, input_left_shift;
} tflm_logistic_params;

int32_t tflm_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift);
void tflm_fully_connected_int8(const tflm_fc_params *p, const int8_t *input, const int8_t *filter,
                               const int32_t *bias, int8_t *output, int batches, int output_depth,
                               int accum_depth);
void tflm_logistic_int8(const tflm_logistic_params *p, int n, const int8_t *input, int8_t *output);

#endif
