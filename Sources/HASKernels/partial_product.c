// The fault simulator's partial product (see HASPartialProduct.h). In C because
// Swift cannot enable FMA for one function: without it every multiply-add is
// a call into libm.
#include "HASPartialProduct.h"
#include "HASKernelISA.h"
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

#if defined(__x86_64__)
// Eight chains side by side: each is still its own FMA chain, k ascending, so
// the bits are those of partial_product_fma; the chains' FMA latencies and
// cache misses overlap instead of following one another.
__attribute__((target("fma")))
static void partial_products8_fma(const float *const *a, const float *const *b, int64_t s, int64_t n, float *out) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t k = 0; k < n; k++) {
        for (int j = 0; j < 8; j++) acc[j] = __builtin_fmaf(a[j][k], b[j][k * s], acc[j]);
    }
    for (int j = 0; j < 8; j++) out[j] = acc[j];
}
#endif

void has_partial_products(int64_t count, const float *const *a, const float *const *b, const int64_t *n,
                          int64_t b_stride, float *out) {
    // The weight rows are scattered over the whole matrix: ask for all of them first.
    for (int64_t i = 0; i < count; i++) {
        __builtin_prefetch(a[i]);
        if (n[i] > 16) __builtin_prefetch(a[i] + 16);
    }
    int64_t i = 0;
#if defined(__x86_64__)
    if (has_isa() >= HAS_ISA_AVX2) {
        for (; i + 8 <= count; i += 8) {
            int same = 1;
            for (int j = 1; j < 8; j++) same &= n[i + j] == n[i];
            if (same) {
                partial_products8_fma(a + i, b + i, b_stride, n[i], out + i);
            } else {
                for (int j = 0; j < 8; j++) out[i + j] = partial_product_fma(a[i + j], b[i + j], b_stride, n[i + j]);
            }
        }
    }
#endif
    for (; i < count; i++) out[i] = has_partial_product(a[i], b[i], b_stride, n[i]);
}

float has_partial_product(const float *a, const float *b, int64_t b_stride, int64_t n) {
#if defined(__x86_64__)
    if (has_isa() >= HAS_ISA_AVX2) return partial_product_fma(a, b, b_stride, n);
#endif
    return partial_product_generic(a, b, b_stride, n);
}
