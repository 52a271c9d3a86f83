#ifndef HAS_PARTIAL_PRODUCT_H
#define HAS_PARTIAL_PRODUCT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One partial product of the fault simulator: sum of a[k] * b[k * b_stride]
/// for k in [0, n) as a chain of fused multiply-adds, k ascending, from 0 (the
/// GEMM kernel's arithmetic for a reduction of at most 256). Hardware FMA when
/// the CPU has it, libm's fmaf otherwise: the same bits either way.
float has_partial_product(const float *a, const float *b, int64_t b_stride, int64_t n);

/// out[i] = has_partial_product(a[i], b[i], b_stride, n[i]) for i in [0, count),
/// bit for bit, with the rows prefetched and several chains at a time.
void has_partial_products(int64_t count, const float *const *a, const float *const *b, const int64_t *n,
                          int64_t b_stride, float *out);

#ifdef __cplusplus
}
#endif

#endif
