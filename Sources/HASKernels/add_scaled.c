// y += x·d with the product rounded before the add (has_add_scaled). In C
// because Swift compiles for baseline x86-64, which gives this loop 4-wide
// SSE; the explicit mul-then-add intrinsics keep it unfused whatever the
// compiler's contraction setting.
#include "HASKernels.h"
#include "HASKernelISA.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma STDC FP_CONTRACT OFF

static void add_scaled_generic(int64_t n, float d, const float *x, float *y) {
    for (int64_t i = 0; i < n; i++) {
        const float product = x[i] * d;
        y[i] = y[i] + product;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static void add_scaled_avx512(int64_t n, float d, const float *x, float *y) {
    const __m512 s = _mm512_set1_ps(d);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_mul_ps(_mm512_loadu_ps(x + i), s)));
    if (i < n) {
        const __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, y + i),
                                                      _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), s)));
    }
}

__attribute__((target("avx2")))
static void add_scaled_avx2(int64_t n, float d, const float *x, float *y) {
    const __m256 s = _mm256_set1_ps(d);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(_mm256_loadu_ps(x + i), s)));
    add_scaled_generic(n - i, d, x + i, y + i);
}
#endif

void has_add_scaled(int64_t n, float d, const float *x, float *y) {
#if defined(__x86_64__)
    const int isa = has_isa();
    if (isa >= HAS_ISA_AVX512) { add_scaled_avx512(n, d, x, y); return; }
    if (isa >= HAS_ISA_AVX2) { add_scaled_avx2(n, d, x, y); return; }
#endif
    add_scaled_generic(n, d, x, y);
}
