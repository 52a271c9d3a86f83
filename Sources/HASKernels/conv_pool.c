// Direct convolution fused with bias, ReLU and a 2×2 stride-2 max pool, for
// clean, unshuffled inference with no GEMM hook (mnist32-cnn's c0: 1×32×32 →
// 32×29×29 → 32×14×14). im2col + GEMM + pool wrote and re-read 160 KB per
// image; here two conv rows at a time stay in registers and only the pooled
// output is stored.
//
// Bit-identical to im2col + has_sgemm_range + MaxPool2D.poolBiasReLU: each conv
// output is the same FMA chain (k = (c, i, j) ascending from 0, one chain since
// K <= 256), the max is taken in the same order with the same comparisons, then
// + bias and ReLU. In C with AVX-512 for the 16-lane masked loads and the
// two-source permutes that de-interleave even and odd columns.

#include "HASKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

enum { G = 4 };  // output channels per pass: 4 × 2 rows × 2 vectors = 16 accumulators

__attribute__((target("avx512f"), always_inline))
static inline void conv_pool_group(const int g, int64_t o0, int64_t channels, int64_t height, int64_t width,
                                   int64_t kh, int64_t kw, int64_t py, __mmask16 m0, __mmask16 m1, __mmask16 store_mask,
                                   const float *image, const float *weight, const float *bias, int64_t pool_plane,
                                   int64_t pool_w, float *dst) {
    const int64_t kk = channels * kh * kw;
    __m512 acc[G][2][2];
    for (int q = 0; q < g; q++)
        for (int r = 0; r < 2; r++) acc[q][r][0] = acc[q][r][1] = _mm512_setzero_ps();
    int64_t k = 0;
    for (int64_t c = 0; c < channels; c++) {
        for (int64_t i = 0; i < kh; i++) {
            const float *row0 = image + (c * height + 2 * py + i) * width, *row1 = row0 + width;
            for (int64_t j = 0; j < kw; j++, k++) {
                __m512 x00 = _mm512_maskz_loadu_ps(m0, row0 + j), x01 = _mm512_maskz_loadu_ps(m1, row0 + 16 + j);
                __m512 x10 = _mm512_maskz_loadu_ps(m0, row1 + j), x11 = _mm512_maskz_loadu_ps(m1, row1 + 16 + j);
                for (int q = 0; q < g; q++) {
                    __m512 w = _mm512_set1_ps(weight[(o0 + q) * kk + k]);
                    acc[q][0][0] = _mm512_fmadd_ps(w, x00, acc[q][0][0]);
                    acc[q][0][1] = _mm512_fmadd_ps(w, x01, acc[q][0][1]);
                    acc[q][1][0] = _mm512_fmadd_ps(w, x10, acc[q][1][0]);
                    acc[q][1][1] = _mm512_fmadd_ps(w, x11, acc[q][1][1]);
                }
            }
        }
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff()), zero = _mm512_setzero_ps();
    for (int q = 0; q < g; q++) {
        // The scalar order: larger(r0[2x], -inf), r0[2x+1], r1[2x], r1[2x+1];
        // _mm512_max_ps(v, m) is `v > m ? v : m`.
        __m512 m = _mm512_max_ps(_mm512_permutex2var_ps(acc[q][0][0], even, acc[q][0][1]), ninf);
        m = _mm512_max_ps(_mm512_permutex2var_ps(acc[q][0][0], odd, acc[q][0][1]), m);
        m = _mm512_max_ps(_mm512_permutex2var_ps(acc[q][1][0], even, acc[q][1][1]), m);
        m = _mm512_max_ps(_mm512_permutex2var_ps(acc[q][1][0], odd, acc[q][1][1]), m);
        __m512 v = _mm512_max_ps(_mm512_add_ps(m, _mm512_set1_ps(bias[o0 + q])), zero);
        _mm512_mask_storeu_ps(dst + (o0 + q) * pool_plane + py * pool_w, store_mask, v);
    }
}

__attribute__((target("avx512f")))
static void conv_pool_avx512(int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                             int64_t out_channels, const float *image, const float *weight, const float *bias,
                             float *dst) {
    int64_t conv_w = width - kw + 1, conv_h = height - kh + 1;
    int64_t pool_w = conv_w / 2, pool_h = conv_h / 2;
    // Lanes of the two 16-column vectors that hold conv columns (< conv_w), so
    // no load reaches past an input row's last pixel.
    __mmask16 m0 = (__mmask16)(conv_w >= 16 ? 0xFFFF : (1u << conv_w) - 1);
    __mmask16 m1 = (__mmask16)(conv_w <= 16 ? 0 : (1u << (conv_w - 16)) - 1);
    __mmask16 store_mask = (__mmask16)((1u << pool_w) - 1);
    for (int64_t py = 0; py < pool_h; py++) {
        int64_t o = 0;
        for (; o + G <= out_channels; o += G)
            conv_pool_group(G, o, channels, height, width, kh, kw, py, m0, m1, store_mask, image, weight, bias,
                            pool_h * pool_w, pool_w, dst);
        for (; o < out_channels; o++)
            conv_pool_group(1, o, channels, height, width, kh, kw, py, m0, m1, store_mask, image, weight, bias,
                            pool_h * pool_w, pool_w, dst);
    }
}
#endif

int has_conv_relu_pool_supported(int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    int64_t conv_w = width - kw + 1, conv_h = height - kh + 1;
    return __builtin_cpu_supports("avx512f") && conv_w >= 2 && conv_w <= 32 && conv_h >= 2 &&
           channels * kh * kw <= 256;
#else
    (void)channels; (void)height; (void)width; (void)kh; (void)kw;
    return 0;
#endif
}

void has_conv_relu_pool(int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                        int64_t out_channels, const float *image, const float *weight, const float *bias,
                        float *dst) {
#if defined(__x86_64__)
    conv_pool_avx512(channels, height, width, kh, kw, out_channels, image, weight, bias, dst);
#else
    (void)channels; (void)height; (void)width; (void)kh; (void)kw; (void)out_channels;
    (void)image; (void)weight; (void)bias; (void)dst;
#endif
}
