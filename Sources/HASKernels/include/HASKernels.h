#ifndef HAS_KERNELS_H
#define HAS_KERNELS_H

#include <stdint.h>
#include "HASPartialProduct.h"
#include "HASSlotInjection.h"
#include "HASKernelISA.h"
#include "HASSplitMix.h"

#ifdef __cplusplus
extern "C" {
#endif

/// C[perm[r], n] = sum_k A[perm[r], k] * B(k, n) for r in [m0, m1), n in [n0, n1).
///
/// A is row-major with leading dimension lda. B(k, n) = b[k * b_rs + n * b_cs].
/// C(i, n) = c[i * c_rs + n * c_cs]. `perm` (NULL = identity) maps the position r
/// of the shuffled matrix to the original row perm[r]; it is applied while
/// packing A and again on store, so no permuted copy of A is ever made.
/// Each output element is summed in a fixed order (k ascending, FMA, in blocks of
/// HAS_KC added to C), whatever the ranges, so results never depend on how a
/// caller splits the work across threads or batches.
void has_sgemm_range(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k,
                     const float *a, int64_t lda,
                     const float *b, int64_t b_rs, int64_t b_cs,
                     float *c, int64_t c_rs, int64_t c_cs,
                     const int32_t *perm);

/// Floats needed by has_sgemm_pack_a for an m×k matrix (including slack).
int64_t has_sgemm_packed_a_count(int64_t m, int64_t k);

/// Packs row-major A (m×k, identity order) once into the panel layout the
/// kernel reads, so that has_sgemm_range_packed skips packing A on every call.
void has_sgemm_pack_a(int64_t m, int64_t k, const float *a, int64_t lda, float *packed);

/// has_sgemm_range with the identity permutation and A also given pre-packed
/// (`a_packed` from has_sgemm_pack_a of all `m` rows of `a`). Bit-identical to
/// has_sgemm_range. `a` is still read by the matrix-vector path (n1 - n0 <= 4)
/// and when m0 is not a multiple of the panel height 6.
void has_sgemm_range_packed(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k,
                            const float *a, int64_t lda, const float *a_packed, int64_t m,
                            const float *b, int64_t b_rs, int64_t b_cs,
                            float *c, int64_t c_rs, int64_t c_cs);

/// Floats needed by has_sgemm_pack_b for a k×n operand (including slack).
int64_t has_sgemm_packed_b_count(int64_t k, int64_t n);

/// Widest B (columns) that has_sgemm_range_packed_ab accepts.
int64_t has_sgemm_packed_b_max_columns(void);

/// Packs the K blocks [p0, p1) (p0 a multiple of 256) of B(k, n) = b[k * b_rs + n * b_cs]
/// into the kernel's panel layout, so that several threads can share one packed
/// B: each packs some blocks, then each multiplies some rows of A by all of it.
void has_sgemm_pack_b(int64_t p0, int64_t p1, int64_t k, int64_t n,
                      const float *b, int64_t b_rs, int64_t b_cs, float *packed);

/// has_sgemm_range_packed over all n columns with B also pre-packed
/// (`b_packed`: all K blocks from has_sgemm_pack_b, n <= has_sgemm_packed_b_max_columns()).
/// Bit-identical to has_sgemm_range.
void has_sgemm_range_packed_ab(int64_t m0, int64_t m1, int64_t n, int64_t k,
                               const float *a, int64_t lda, const float *a_packed, int64_t m,
                               const float *b_packed, float *c, int64_t c_rs, int64_t c_cs);

/// The scalar reference: same arithmetic order as has_sgemm_range, no packing.
void has_sgemm_reference(int64_t m, int64_t n, int64_t k,
                         const float *a, int64_t lda,
                         const float *b, int64_t b_rs, int64_t b_cs,
                         float *c, int64_t c_rs, int64_t c_cs,
                         const int32_t *perm);

/// Unfolds one CHW image into the K×P patch matrix (K = C·kh·kw in OIHW order,
/// P = out_h·out_w, row-major); zero padding. See Im2Col.swift.
void has_im2col(int64_t channels, int64_t height, int64_t width, int64_t kernel_h, int64_t kernel_w,
                int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                int64_t out_h, int64_t out_w, const float *image, float *cols);

/// 2×2 stride-2 max pool of a raw conv output (CHW, floor mode), then + bias[c]
/// and ReLU: dst[c][y][x] = relu(max(window) + bias[c]), the max taken as
/// `v > m ? v : m` from -inf over (0,0), (0,1), (1,0), (1,1) (NaN skipped).
/// Bit-identical to MaxPool2D.poolBiasReLU's scalar loop.
void has_pool2x2_bias_relu(int64_t channels, int64_t height, int64_t width, int64_t out_h, int64_t out_w,
                           const float *src, const float *bias, float *dst);

/// out[i * m + j] = yt[j * n + i] + bias[j], then ReLU (`v > 0 ? v : 0`) when
/// `relu`, for i in [i0, i1): a dense layer's m×n product Yᵀ into rows of its
/// n×m output Y (ranges let threads share the work).
void has_transpose_add_bias(int64_t m, int64_t n, int64_t i0, int64_t i1, const float *yt, const float *bias,
                            int relu, float *out);

/// 1 when has_conv_relu_pool can run this geometry on this CPU (AVX-512F;
/// stride 1, conv output 2..32 wide).
int has_conv_relu_pool_supported(int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                                 int64_t pad_top, int64_t pad_left, int64_t pad_bottom, int64_t pad_right);

/// One CHW image through conv (OIHW weights, stride 1, zero padding), then 2×2
/// stride-2 max pool, + bias, ReLU, into dst [O, conv_h/2, conv_w/2]: the same
/// bits as im2col + has_sgemm_range + has_pool2x2_bias_relu, with no patch
/// matrix and no conv output in memory (clean unshuffled inference only: the
/// fault simulator's hook needs both).
void has_conv_relu_pool(int64_t channels, int64_t height, int64_t width, int64_t kh, int64_t kw,
                        int64_t pad_top, int64_t pad_left, int64_t pad_bottom, int64_t pad_right,
                        int64_t out_channels, const float *image, const float *weight, const float *bias,
                        float *dst);

/// y[i] = y[i] + x[i] * d for i < n, the product rounded before the add (two
/// roundings, never a fused multiply-add): what Swift's `y[i] += x[i] * d`
/// computes, 16 or 8 lanes at a time (the planner's sparse dense-layer updates).
void has_add_scaled(int64_t n, float d, const float *x, float *y);

/// 1 when the AVX2+FMA micro-kernel is in use on this CPU.
int has_sgemm_uses_avx2(void);

#ifdef __cplusplus
}
#endif

#endif
