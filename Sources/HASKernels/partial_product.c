// The fault simulator's partial product (see HASPartialProduct.h). In C because
// Swift cannot enable FMA for one function: without it every multiply-add is
// a call into libm.
#include "HASPartialProduct.h"
#include <math.h>

static float partial_product_generic(const float *a, const float *b, int64_t s, int64_t n) {
    float acc = 0.0f;
    for (int64_t k = 0; k < n; k++) acc = fmaf(a[k], b[k * s], acc);
    return acc;
}

#if defined(__x86_64__)
__attribute__((target("fma")))
static float partial_product_fma(const float *a, const float *b, int64_t s, int64_t n) {
    float acc = 0.0f;
    for (int64_t k = 0; k < n; k++) acc = __builtin_fmaf(a[k], b[k * s], acc);
    return acc;
}
#endif

float has_partial_product(const float *a, const float *b, int64_t b_stride, int64_t n) {
#if defined(__x86_64__)
    // Racing first callers store the same value.
    static volatile int fma = -1;
    if (fma < 0) fma = __builtin_cpu_supports("fma") ? 1 : 0;
    if (fma) return partial_product_fma(a, b, b_stride, n);
#endif
    return partial_product_generic(a, b, b_stride, n);
}
