// Direct convolution fused with bias, ReLU and a 2×2 stride-2 max pool, for
// clean, unshuffled inference with no GEMM hook (mnist32-cnn's c0: 1×32×32 →
// 32×29×29 → 32×14×14; fashion-cnn's padded c0 and c1). im2col + GEMM + pool
// wrote and re-read the patch matrix and the conv output per image (c1 of
// fashion-cnn: 400 KB of patches, a fifth of its inference time); here two conv
// rows at a time stay in registers and only the pooled output is stored.
//
// Bit-identical to im2col + has_sgemm_range + has_pool2x2_bias_relu: each conv
// output is the same FMA chain (k = (c, i, j) ascending from 0 within blocks of
// 256, each block's sum added into the total, zero padding included), the max
// is taken in the same order with the same comparisons, then + bias and ReLU.
// In C with AVX-512 for the 16-lane masked loads and the two-source permutes
// that de-interleave even and odd columns.

#include "HASKernels.h"

#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>

enum { KCB = 256, GMAX = 8 };

// One pooled row `py` of output channels [o0, o0 + g): conv rows 2py and
// 2py + 1, `v` 16-column vectors each (v = 1 when the conv is at most 16 wide).
// `mb`: K spans several blocks of 256 (running totals needed).
__attribute__((target("avx512f"), always_inline))
static inline void conv_pool_group(const int g, const int v, const int mb, int64_t o0, int64_t channels,
                                   int64_t height, int64_t width, int64_t kh, int64_t kw, int64_t py, __mmask16 m0,
                                   __mmask16 m1, __mmask16 store_mask, const float *image, const float *weight,
                                   const float *bias, int64_t pool_plane, int64_t pool_w, float *dst) {
    const int64_t kk = channels * kh * kw;
    // Block totals are touched once per 256 k: spilling them costs nothing,
    // the accumulators keep the registers.
    __m512 tot[GMAX][2][2], acc[GMAX][2][2];
    int folded = 0;
    for (int q = 0; q < g; q++)
        for (int r = 0; r < 2; r++)
            for (int x = 0; x < v; x++) acc[q][r][x] = _mm512_setzero_ps();
    const float *w = weight + o0 * kk;
    int64_t k = 0;
    for (int64_t c = 0; c < channels; c++) {
        for (int64_t i = 0; i < kh; i++) {
            const float *row0 = image + (c * height + 2 * py + i) * width, *row1 = row0 + width;
            for (int64_t j = 0; j < kw; j++, k++) {
                __m512 x00 = _mm512_maskz_loadu_ps(m0, row0 + j), x10 = _mm512_maskz_loadu_ps(m0, row1 + j);
                __m512 x01 = x00, x11 = x10;
                if (v == 2) {
                    x01 = _mm512_maskz_loadu_ps(m1, row0 + 16 + j);
                    x11 = _mm512_maskz_loadu_ps(m1, row1 + 16 + j);
                }
                for (int q = 0; q < g; q++) {
                    __m512 wq = _mm512_set1_ps(w[q * kk + k]);
                    acc[q][0][0] = _mm512_fmadd_ps(wq, x00, acc[q][0][0]);
                    acc[q][1][0] = _mm512_fmadd_ps(wq, x10, acc[q][1][0]);
                    if (v == 2) {
                        acc[q][0][1] = _mm512_fmadd_ps(wq, x01, acc[q][0][1]);
                        acc[q][1][1] = _mm512_fmadd_ps(wq, x11, acc[q][1][1]);
                    }
                }
                if (mb && ((k + 1) & (KCB - 1)) == 0 && k + 1 < kk) {
                    // End of a block of 256: add its chains into the totals, as the GEMM does.
                    for (int q = 0; q < g; q++)
                        for (int r = 0; r < 2; r++)
                            for (int x = 0; x < v; x++) {
                                tot[q][r][x] = folded ? _mm512_add_ps(tot[q][r][x], acc[q][r][x]) : acc[q][r][x];
                                acc[q][r][x] = _mm512_setzero_ps();
                            }
                    folded = 1;
                }
            }
        }
    }
    if (mb && folded)
        for (int q = 0; q < g; q++)
            for (int r = 0; r < 2; r++)
                for (int x = 0; x < v; x++) tot[q][r][x] = _mm512_add_ps(tot[q][r][x], acc[q][r][x]);
    else
        for (int q = 0; q < g; q++)
            for (int r = 0; r < 2; r++)
                for (int x = 0; x < v; x++) tot[q][r][x] = acc[q][r][x];
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff()), zero = _mm512_setzero_ps();
    for (int q = 0; q < g; q++) {
        __m512 r00 = tot[q][0][0], r10 = tot[q][1][0];
        __m512 r01 = v == 2 ? tot[q][0][1] : r00, r11 = v == 2 ? tot[q][1][1] : r10;
        // The scalar order: larger(r0[2x], -inf), r0[2x+1], r1[2x], r1[2x+1];
        // _mm512_max_ps(v, m) is `v > m ? v : m`.
        __m512 m = _mm512_max_ps(_mm512_permutex2var_ps(r00, even, r01), ninf);
        m = _mm512_max_ps(_mm512_permutex2var_ps(r00, odd, r01), m);
        m = _mm512_max_ps(_mm512_permutex2var_ps(r10, even, r11), m);
        m = _mm512_max_ps(_mm512_permutex2var_ps(r10, odd, r11), m);
        __m512 out = _mm512_max_ps(_mm512_add_ps(m, _mm512_set1_ps(bias[o0 + q])), zero);  // NaN → 0, like ReLU
        _mm512_mask_storeu_ps(dst + (o0 + q) * pool_plane + py * pool_w, store_mask, out);
    }
}

// Channel groups: 8 channels × 2 rows (one vector per row) or 4 channels × 2
// rows × 2 vectors: 16 zmm accumulators.
#define HAS_CONV_GROUPS(G, V, MB)                                                                          \
    for (; o + (G) <= out_channels; o += (G))                                                             \
        conv_pool_group((G), (V), (MB), o, channels, height, width, kh, kw, py, m0, m1, store_mask, image,  \
                        weight, bias, pool_h * pool_w, pool_w, dst);

__attribute__((target("avx512f")))
static void conv_pool_avx512(int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                             int64_t out_channels, const float *image, const float *weight, const float *bias,
                             float *dst) {
    int64_t conv_w = width - kw + 1, conv_h = height - kh + 1;
    int64_t pool_w = conv_w / 2, pool_h = conv_h / 2;
    int wide = conv_w > 16, multi_block = channels * kh * kw > KCB;
    // Lanes of the (one or two) 16-column vectors that hold conv columns
    // (< conv_w), so no load reaches past an input row's last pixel.
    __mmask16 m0 = (__mmask16)(conv_w >= 16 ? 0xFFFF : (1u << conv_w) - 1);
    __mmask16 m1 = (__mmask16)(conv_w <= 16 ? 0 : (1u << (conv_w - 16)) - 1);
    __mmask16 store_mask = (__mmask16)((1u << pool_w) - 1);
    for (int64_t py = 0; py < pool_h; py++) {
        int64_t o = 0;
        if (wide && multi_block) {
            HAS_CONV_GROUPS(4, 2, 1)
            HAS_CONV_GROUPS(1, 2, 1)
        } else if (wide) {
            HAS_CONV_GROUPS(4, 2, 0)
            HAS_CONV_GROUPS(1, 2, 0)
        } else if (multi_block) {
            HAS_CONV_GROUPS(8, 1, 1)
            HAS_CONV_GROUPS(1, 1, 1)
        } else {
            HAS_CONV_GROUPS(8, 1, 0)
            HAS_CONV_GROUPS(1, 1, 0)
        }
    }
}
#undef HAS_CONV_GROUPS
#endif

int has_conv_relu_pool_supported(int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                                 int64_t pad_top, int64_t pad_left, int64_t pad_bottom, int64_t pad_right) {
#if defined(__x86_64__)
    int64_t conv_w = width + pad_left + pad_right - kw + 1, conv_h = height + pad_top + pad_bottom - kh + 1;
    return has_isa() >= HAS_ISA_AVX512 && conv_w >= 2 && conv_w <= 32 && conv_h >= 2 && channels >= 1 &&
           pad_top >= 0 && pad_left >= 0 && pad_bottom >= 0 && pad_right >= 0 && kh >= 1 && kw >= 1;
#else
    (void)channels; (void)height; (void)width; (void)kh; (void)kw;
    (void)pad_top; (void)pad_left; (void)pad_bottom; (void)pad_right;
    return 0;
#endif
}

void has_conv_relu_pool(int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                        int64_t pad_top, int64_t pad_left, int64_t pad_bottom, int64_t pad_right,
                        int64_t out_channels, const float *image, const float *weight, const float *bias,
                        float *dst) {
#if defined(__x86_64__)
    if (pad_top || pad_left || pad_bottom || pad_right) {
        // Zero-pad the image once into per-thread scratch (kept between calls).
        static __thread float *padded;
        static __thread int64_t capacity;
        int64_t ph = height + pad_top + pad_bottom, pw = width + pad_left + pad_right;
        if (capacity < channels * ph * pw) {
            free(padded);
            capacity = channels * ph * pw;
            padded = malloc((size_t)capacity * sizeof(float));
            if (!padded) abort();
        }
        for (int64_t c = 0; c < channels; c++)
            for (int64_t y = 0; y < ph; y++) {
                float *out = padded + (c * ph + y) * pw;
                int64_t sy = y - pad_top;
                for (int64_t x = 0; x < pw; x++) {
                    int64_t sx = x - pad_left;
                    out[x] = (sy >= 0 && sy < height && sx >= 0 && sx < width) ? image[(c * height + sy) * width + sx] : 0.0f;
                }
            }
        conv_pool_avx512(channels, ph, pw, kh, kw, out_channels, padded, weight, bias, dst);
        return;
    }
    conv_pool_avx512(channels, height, width, kh, kw, out_channels, image, weight, bias, dst);
#else
    (void)channels; (void)height; (void)width; (void)kh; (void)kw; (void)out_channels;
    (void)pad_top; (void)pad_left; (void)pad_bottom; (void)pad_right;
    (void)image; (void)weight; (void)bias; (void)dst;
#endif
}
