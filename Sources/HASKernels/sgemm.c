// Packed, blocked SGEMM (the BLIS/GotoBLAS loop nest) with a row permutation
// folded into the packing of A and the store of C.
//
// Why C: the 6x16 micro-kernel needs AVX2+FMA chosen at run time from one
// portable binary (the `target` attribute and cpuid dispatch); Swift has no way
// to compile a single function for another ISA level.
//
// Register budget of the AVX2 kernel (16 ymm): 12 accumulators (6 rows x 2
// vectors of 8 columns), 2 for the B row, 1 for the broadcast A element.

#include "HASKernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAS_X86 1
#endif

#ifndef HAS_MC
#define HAS_MC 144
#endif
#ifndef HAS_NC
#define HAS_NC 2048
#endif
#ifndef HAS_DIRECT_B_MAX_BYTES
#define HAS_DIRECT_B_MAX_BYTES (512 << 10)
#endif
#ifndef HAS_DIRECT_B_MAX_K
#define HAS_DIRECT_B_MAX_K 64
#endif
enum { MR = 6, NR = 16, KC = 256, MC = HAS_MC, NC = HAS_NC };

// How a kernel writes its tile: overwrite, add to C (K blocks after the first),
// or overwrite with streaming stores.
enum { STORE_SET = 0, STORE_ADD = 1, STORE_STREAM = 2 };

#ifndef HAS_STREAM_MIN_BYTES
#define HAS_STREAM_MIN_BYTES (4 << 20)
#endif

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// The readable definition of every kernel's arithmetic: per element, FMA
// k ascending within blocks of KC, each block's sum added into the total.
static void reference_rows(int64_t r0, int64_t r1, int64_t n0, int64_t n1, int64_t k,
                           const float *a, int64_t lda, const float *b, int64_t b_rs, int64_t b_cs,
                           float *c, int64_t c_rs, int64_t c_cs, const int32_t *perm) {
    for (int64_t r = r0; r < r1; r++) {
        int64_t row = perm ? (int64_t)perm[r] : r;
        for (int64_t j = n0; j < n1; j++) {
            float total = 0.0f;
            for (int64_t p0 = 0; p0 < k; p0 += KC) {
                float acc = 0.0f;
                for (int64_t kk = p0; kk < min64(k, p0 + KC); kk++)
                    acc = fmaf(a[row * lda + kk], b[kk * b_rs + j * b_cs], acc);
                total = p0 == 0 ? acc : total + acc;
            }
            c[row * c_rs + j * c_cs] = total;
        }
    }
}

// Packs rows [i0, i0+mc) of the shuffled A, columns [p0, p0+kc), into panels
// of MR rows stored k-major: ap[panel][kk][MR]. Rows past m1 are zero.
static void pack_a(int64_t i0, int64_t mc, int64_t m1, int64_t p0, int64_t kc,
                   const float *a, int64_t lda, const int32_t *perm, float *ap) {
    for (int64_t ir = 0; ir < mc; ir += MR) {
        const float *rows[MR];
        for (int i = 0; i < MR; i++) {
            int64_t r = i0 + ir + i;
            rows[i] = r < m1 ? a + (perm ? (int64_t)perm[r] : r) * lda + p0 : NULL;
        }
        for (int64_t kk = 0; kk < kc; kk++) {
            for (int i = 0; i < MR; i++) ap[i] = rows[i] ? rows[i][kk] : 0.0f;
            ap += MR;
        }
    }
}

// Packs B(p0..p0+kc, j0..j0+nc) into panels of NR columns, k-major:
// bp[panel][kk][NR]. Columns past the end are zero.
static void pack_b(int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                   const float *b, int64_t b_rs, int64_t b_cs, float *bp) {
    for (int64_t jr = 0; jr < nc; jr += NR) {
        int64_t nr = min64(NR, nc - jr);
        const float *base = b + p0 * b_rs + (j0 + jr) * b_cs;
        if (b_cs == 1 && nr == NR) {
            for (int64_t kk = 0; kk < kc; kk++) {
                memcpy(bp, base + kk * b_rs, NR * sizeof(float));
                bp += NR;
            }
        } else if (b_rs == 1) {
            // B is the transpose of a row-major matrix (dense layers: B = X^T):
            // walk each source row once.
            for (int64_t j = 0; j < NR; j++) {
                if (j < nr) {
                    const float *col = base + j * b_cs;
                    for (int64_t kk = 0; kk < kc; kk++) bp[kk * NR + j] = col[kk];
                } else {
                    for (int64_t kk = 0; kk < kc; kk++) bp[kk * NR + j] = 0.0f;
                }
            }
            bp += kc * NR;
        } else {
            for (int64_t kk = 0; kk < kc; kk++) {
                for (int64_t j = 0; j < NR; j++) bp[j] = j < nr ? base[kk * b_rs + j * b_cs] : 0.0f;
                bp += NR;
            }
        }
    }
}

// Writes (or adds, when accumulate) the MR x NR tile `t` to the shuffled rows.
static inline void store_tile(const float *t, int mr, int nr, int64_t i0, const int32_t *perm,
                              float *c, int64_t c_rs, int64_t c_cs, int accumulate) {
    for (int i = 0; i < mr; i++) {
        int64_t row = perm ? (int64_t)perm[i0 + i] : i0 + i;
        float *crow = c + row * c_rs;
        for (int j = 0; j < nr; j++) {
            float *dst = crow + j * c_cs;
            *dst = accumulate ? *dst + t[i * NR + j] : t[i * NR + j];
        }
    }
}

static void kernel_generic(int64_t kc, const float *ap, const float *bp, int64_t b_step, int mr, int nr,
                           int64_t i0, const int32_t *perm, float *c, int64_t c_rs, int64_t c_cs,
                           int accumulate) {
    float t[MR * NR];
    for (int i = 0; i < MR * NR; i++) t[i] = 0.0f;
    for (int64_t kk = 0; kk < kc; kk++) {
        for (int i = 0; i < MR; i++) {
            float av = ap[kk * MR + i];
            for (int j = 0; j < NR; j++) t[i * NR + j] = fmaf(av, bp[kk * b_step + j], t[i * NR + j]);
        }
    }
    store_tile(t, mr, nr, i0, perm, c, c_rs, c_cs, accumulate == STORE_ADD);
}

#ifdef HAS_X86
// One body for every row count: `rows` is a compile-time constant at each call
// site below, so a 2-row edge tile (M = 32 = 5·6 + 2) runs 4 FMAs per k, not 12.
// Each lane's arithmetic is the same FMA chain whatever `rows` is.
__attribute__((target("avx2,fma"), always_inline))
static inline void kernel_avx2_rows(const int rows, int64_t kc, const float *ap, const float *bp, int64_t b_step,
                                    int nr, int64_t i0, const int32_t *perm, float *c, int64_t c_rs, int64_t c_cs,
                                    int accumulate) {
    float *dst[MR];
    for (int i = 0; i < rows; i++) {
        dst[i] = c + (perm ? (int64_t)perm[i0 + i] : i0 + i) * c_rs;
        // The tile of C is touched only after the k loop: fetch it meanwhile
        // (a C row is a cache miss per KC block on large M×N).
        if (c_cs == 1 && accumulate != STORE_STREAM) {
            _mm_prefetch((const char *)dst[i], _MM_HINT_T0);
            _mm_prefetch((const char *)(dst[i] + NR - 1), _MM_HINT_T0);
        }
    }
    __m256 acc[MR][2];
    for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int64_t kk = 0; kk < kc; kk++) {
        __m256 b0 = _mm256_loadu_ps(bp);
        __m256 b1 = _mm256_loadu_ps(bp + 8);
        for (int i = 0; i < rows; i++) {
            __m256 a = _mm256_broadcast_ss(ap + i);
            acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
        }
        ap += MR;
        bp += b_step;
    }
    if (nr == NR && c_cs == 1) {
        // Streaming stores for a C far larger than the caches that is written
        // once (a single K block): no read-for-ownership of lines we overwrite.
        // 16-byte stores: Swift arrays are only 16-byte aligned.
        if (accumulate == STORE_STREAM && ((uintptr_t)c & 15) == 0 && (c_rs & 3) == 0) {
            for (int i = 0; i < rows; i++) {
                _mm_stream_ps(dst[i], _mm256_castps256_ps128(acc[i][0]));
                _mm_stream_ps(dst[i] + 4, _mm256_extractf128_ps(acc[i][0], 1));
                _mm_stream_ps(dst[i] + 8, _mm256_castps256_ps128(acc[i][1]));
                _mm_stream_ps(dst[i] + 12, _mm256_extractf128_ps(acc[i][1], 1));
            }
            return;
        }
        for (int i = 0; i < rows; i++) {
            __m256 v0 = acc[i][0], v1 = acc[i][1];
            if (accumulate == STORE_ADD) {
                v0 = _mm256_add_ps(_mm256_loadu_ps(dst[i]), v0);
                v1 = _mm256_add_ps(_mm256_loadu_ps(dst[i] + 8), v1);
            }
            _mm256_storeu_ps(dst[i], v0);
            _mm256_storeu_ps(dst[i] + 8, v1);
        }
    } else {
        float t[MR * NR];
        for (int i = 0; i < rows; i++) {
            _mm256_storeu_ps(t + i * NR, acc[i][0]);
            _mm256_storeu_ps(t + i * NR + 8, acc[i][1]);
        }
        store_tile(t, rows, nr, i0, perm, c, c_rs, c_cs, accumulate == STORE_ADD);
    }
}

__attribute__((target("avx2,fma")))
static void kernel_avx2(int64_t kc, const float *ap, const float *bp, int64_t b_step, int mr, int nr,
                        int64_t i0, const int32_t *perm, float *c, int64_t c_rs, int64_t c_cs,
                        int accumulate) {
    switch (mr) {
    case 6: kernel_avx2_rows(6, kc, ap, bp, b_step, nr, i0, perm, c, c_rs, c_cs, accumulate); break;
    case 5: kernel_avx2_rows(5, kc, ap, bp, b_step, nr, i0, perm, c, c_rs, c_cs, accumulate); break;
    case 4: kernel_avx2_rows(4, kc, ap, bp, b_step, nr, i0, perm, c, c_rs, c_cs, accumulate); break;
    case 3: kernel_avx2_rows(3, kc, ap, bp, b_step, nr, i0, perm, c, c_rs, c_cs, accumulate); break;
    case 2: kernel_avx2_rows(2, kc, ap, bp, b_step, nr, i0, perm, c, c_rs, c_cs, accumulate); break;
    default: kernel_avx2_rows(1, kc, ap, bp, b_step, nr, i0, perm, c, c_rs, c_cs, accumulate); break;
    }
}

// AVX-512 kernel for two adjacent 16-column panels at once (a 6×32 tile, 12
// zmm accumulators): on CPUs with 512-bit FMA units (Zen 4/5, Intel server
// cores) this doubles the FMA work per instruction. The panels keep their
// 16-column layout, so packing is shared with the AVX2 kernel, and each lane
// runs the same FMA chain (k ascending within the KC block): the result is
// bit-identical to the 6×16 kernels. Used only for full 32-column tiles of a
// unit-stride C; edges go to the 6×16 kernel.
__attribute__((target("avx512f,avx2,fma"), always_inline))
static inline void kernel_avx512_rows(const int rows, int64_t kc, const float *ap, const float *bp0, const float *bp1,
                                      int64_t b_step, int64_t i0, const int32_t *perm, float *c, int64_t c_rs,
                                      int accumulate) {
    float *dst[MR];
    for (int i = 0; i < rows; i++) {
        dst[i] = c + (perm ? (int64_t)perm[i0 + i] : i0 + i) * c_rs;
        if (accumulate != STORE_STREAM) {
            _mm_prefetch((const char *)dst[i], _MM_HINT_T0);
            _mm_prefetch((const char *)(dst[i] + 2 * NR - 1), _MM_HINT_T0);
        }
    }
    __m512 acc[MR][2];
    for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const int prefetch_a = kc > 64;
    for (int64_t kk = 0; kk < kc; kk++) {
        // A streams from L2 (24 bytes per k; the next panel follows this one):
        // fetch 128 k ahead (half a panel), or the FMAs wait for it (h0 in a
        // CPU-time harness: 224 -> 240 GFLOP/s on one core).
        // (Short reductions such as c0's K = 16 have their A in L1 already.)
        if (prefetch_a) _mm_prefetch((const char *)(ap + 128 * MR), _MM_HINT_T0);
        __m512 b0 = _mm512_loadu_ps(bp0);
        __m512 b1 = _mm512_loadu_ps(bp1);
        for (int i = 0; i < rows; i++) {
            __m512 a = _mm512_set1_ps(ap[i]);
            acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
        }
        ap += MR;
        bp0 += b_step;
        bp1 += b_step;
    }
    for (int i = 0; i < rows; i++) {
        __m512 v0 = acc[i][0], v1 = acc[i][1];
        if (accumulate == STORE_STREAM && ((uintptr_t)dst[i] & 63) == 0) {
            _mm512_stream_ps(dst[i], v0);
            _mm512_stream_ps(dst[i] + NR, v1);
            continue;
        }
        if (accumulate == STORE_ADD) {
            v0 = _mm512_add_ps(_mm512_loadu_ps(dst[i]), v0);
            v1 = _mm512_add_ps(_mm512_loadu_ps(dst[i] + NR), v1);
        }
        _mm512_storeu_ps(dst[i], v0);
        _mm512_storeu_ps(dst[i] + NR, v1);
    }
}

__attribute__((target("avx512f,avx2,fma")))
static void kernel_avx512_wide(int64_t kc, const float *ap, const float *bp0, const float *bp1, int64_t b_step, int mr,
                               int64_t i0, const int32_t *perm, float *c, int64_t c_rs, int accumulate) {
    switch (mr) {
    case 6: kernel_avx512_rows(6, kc, ap, bp0, bp1, b_step, i0, perm, c, c_rs, accumulate); break;
    case 5: kernel_avx512_rows(5, kc, ap, bp0, bp1, b_step, i0, perm, c, c_rs, accumulate); break;
    case 4: kernel_avx512_rows(4, kc, ap, bp0, bp1, b_step, i0, perm, c, c_rs, accumulate); break;
    case 3: kernel_avx512_rows(3, kc, ap, bp0, bp1, b_step, i0, perm, c, c_rs, accumulate); break;
    case 2: kernel_avx512_rows(2, kc, ap, bp0, bp1, b_step, i0, perm, c, c_rs, accumulate); break;
    default: kernel_avx512_rows(1, kc, ap, bp0, bp1, b_step, i0, perm, c, c_rs, accumulate); break;
    }
}

// Matrix-vector path for very narrow B (batch 1–4 dense layers), where packing
// all of A for a handful of columns would cost more than the product. Eight
// shuffled rows are loaded 8 k-values at a time and transposed in registers,
// so each lane runs exactly the micro-kernel's FMA chain for its element (k
// ascending, blocks of KC added to C): results are bit-identical to the GEMM
// path, whatever the batch size.
__attribute__((target("avx2,fma")))
static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

__attribute__((target("avx2,fma")))
static void gemv_avx2(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k,
                      const float *a, int64_t lda, const float *b, int64_t b_rs, int64_t b_cs,
                      float *c, int64_t c_rs, int64_t c_cs, const int32_t *perm) {
    int64_t r = m0;
    for (; r + 8 <= m1; r += 8) {
        int64_t idx[8];
        const float *rows[8];
        for (int i = 0; i < 8; i++) {
            idx[i] = perm ? (int64_t)perm[r + i] : r + i;
            rows[i] = a + idx[i] * lda;
        }
        for (int64_t j = n0; j < n1; j++) {
            const float *bj = b + j * b_cs;
            __m256 total = _mm256_setzero_ps();
            for (int64_t p0 = 0; p0 < k; p0 += KC) {
                int64_t end = min64(k, p0 + KC), kk = p0;
                __m256 acc = _mm256_setzero_ps();
                for (; kk + 8 <= end; kk += 8) {
                    __m256 v[8];
                    for (int i = 0; i < 8; i++) v[i] = _mm256_loadu_ps(rows[i] + kk);
                    transpose8(v);
                    for (int t = 0; t < 8; t++) acc = _mm256_fmadd_ps(v[t], _mm256_set1_ps(bj[(kk + t) * b_rs]), acc);
                }
                for (; kk < end; kk++) {
                    __m256 col = _mm256_setr_ps(rows[0][kk], rows[1][kk], rows[2][kk], rows[3][kk],
                                                rows[4][kk], rows[5][kk], rows[6][kk], rows[7][kk]);
                    acc = _mm256_fmadd_ps(col, _mm256_set1_ps(bj[kk * b_rs]), acc);
                }
                total = p0 == 0 ? acc : _mm256_add_ps(total, acc);
            }
            float out[8];
            _mm256_storeu_ps(out, total);
            for (int i = 0; i < 8; i++) c[idx[i] * c_rs + j * c_cs] = out[i];
        }
    }
    // Fewer than 8 rows left: the scalar reference does the same arithmetic.
    reference_rows(r, m1, n0, n1, k, a, lda, b, b_rs, b_cs, c, c_rs, c_cs, perm);
}
// Matrix-vector product on pre-packed A: a panel's 6 rows sit side by side for
// each k, so one (overlapping) 8-float load feeds 6 lanes with no transposes;
// 8 panels run at once to hide the FMA latency. Lanes 0–5 run exactly the
// micro-kernel's FMA chain, so results stay bit-identical.
__attribute__((target("avx2,fma")))
static void gemv_packed_avx2(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k,
                             const float *a_packed, int64_t mpad, const float *b, int64_t b_rs, int64_t b_cs,
                             float *c, int64_t c_rs, int64_t c_cs) {
    enum { G = 8 };
    for (int64_t j = n0; j < n1; j++) {
        const float *bj = b + j * b_cs;
        for (int64_t r = m0; r < m1; r += G * MR) {
            int panels = (int)min64(G, (m1 - r + MR - 1) / MR);
            __m256 total[G], acc[G];
            for (int g = 0; g < G; g++) total[g] = _mm256_setzero_ps();
            for (int64_t p0 = 0; p0 < k; p0 += KC) {
                int64_t kc = min64(KC, k - p0);
                const float *ablock = a_packed + p0 * mpad + r * kc;
                for (int g = 0; g < G; g++) acc[g] = _mm256_setzero_ps();
                if (panels == G) {
                    for (int64_t kk = 0; kk < kc; kk++) {
                        __m256 bk = _mm256_broadcast_ss(bj + (p0 + kk) * b_rs);
                        for (int g = 0; g < G; g++)
                            acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(ablock + g * MR * kc + kk * MR), bk, acc[g]);
                    }
                } else {
                    for (int64_t kk = 0; kk < kc; kk++) {
                        __m256 bk = _mm256_broadcast_ss(bj + (p0 + kk) * b_rs);
                        for (int g = 0; g < panels; g++)
                            acc[g] = _mm256_fmadd_ps(_mm256_loadu_ps(ablock + g * MR * kc + kk * MR), bk, acc[g]);
                    }
                }
                for (int g = 0; g < G; g++) total[g] = p0 == 0 ? acc[g] : _mm256_add_ps(total[g], acc[g]);
            }
            for (int g = 0; g < panels; g++) {
                float out[8];
                _mm256_storeu_ps(out, total[g]);
                for (int i = 0; i < MR && r + g * MR + i < m1; i++) c[(r + g * MR + i) * c_rs + j * c_cs] = out[i];
            }
        }
    }
}

// Packing with in-register 8×8 transposes: the scalar packers' strided
// single-float stores were a quarter of inference time.
__attribute__((target("avx2,fma")))
static void pack_a_avx2(int64_t i0, int64_t mc, int64_t m1, int64_t p0, int64_t kc,
                        const float *a, int64_t lda, const int32_t *perm, float *ap) {
    for (int64_t ir = 0; ir < mc; ir += MR) {
        const float *rows[MR];
        for (int i = 0; i < MR; i++) {
            int64_t r = i0 + ir + i;
            rows[i] = r < m1 ? a + (perm ? (int64_t)perm[r] : r) * lda + p0 : NULL;
        }
        int64_t kk = 0;
        for (; kk + 8 <= kc; kk += 8) {
            __m256 v[8];
            for (int i = 0; i < MR; i++) v[i] = rows[i] ? _mm256_loadu_ps(rows[i] + kk) : _mm256_setzero_ps();
            v[6] = v[7] = _mm256_setzero_ps();
            transpose8(v);
            // Each store writes 8 floats: the MR we want and 2 that the next store
            // (or a later panel) overwrites; the buffer has 8 floats of slack.
            for (int t = 0; t < 8; t++) _mm256_storeu_ps(ap + (kk + t) * MR, v[t]);
        }
        for (; kk < kc; kk++)
            for (int i = 0; i < MR; i++) ap[kk * MR + i] = rows[i] ? rows[i][kk] : 0.0f;
        ap += kc * MR;
    }
}

__attribute__((target("avx2,fma")))
static void pack_b_transposed_avx2(int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                                   const float *b, int64_t b_cs, float *bp) {
    // B(k, n) = b[k + n * b_cs]: each column is a contiguous run of k.
    for (int64_t jr = 0; jr < nc; jr += NR) {
        int64_t nr = min64(NR, nc - jr);
        const float *cols[NR];
        for (int j = 0; j < NR; j++) cols[j] = j < nr ? b + p0 + (j0 + jr + j) * b_cs : NULL;
        int64_t kk = 0;
        for (; kk + 8 <= kc; kk += 8) {
            for (int half = 0; half < 2; half++) {
                __m256 v[8];
                for (int j = 0; j < 8; j++) {
                    const float *col = cols[half * 8 + j];
                    v[j] = col ? _mm256_loadu_ps(col + kk) : _mm256_setzero_ps();
                }
                transpose8(v);
                for (int t = 0; t < 8; t++) _mm256_storeu_ps(bp + (kk + t) * NR + half * 8, v[t]);
            }
        }
        for (; kk < kc; kk++)
            for (int j = 0; j < NR; j++) bp[kk * NR + j] = cols[j] ? cols[j][kk] : 0.0f;
        bp += kc * NR;
    }
}
#endif


typedef void (*kernel_fn)(int64_t, const float *, const float *, int64_t, int, int, int64_t, const int32_t *,
                          float *, int64_t, int64_t, int);

// The kernel of the variant in use (HASKernelISA.h: cpuid, or forced by tests).
static kernel_fn active_kernel(void) {
#ifdef HAS_X86
    if (has_isa() >= HAS_ISA_AVX2) return kernel_avx2;
#endif
    return kernel_generic;
}

int has_sgemm_uses_avx2(void) {
#ifdef HAS_X86
    return active_kernel() == kernel_avx2;
#else
    return 0;
#endif
}

// Per-thread scratch (0: packed A, 1: packed B, 2: padded image for im2col),
// grown on demand and kept: inference makes many
// small GEMM calls, and a fresh allocation of the B buffer (mmap-sized) per
// call cost page faults on every call.
static float *scratch(int which, int64_t floats) {
    static __thread float *buffers[3];
    static __thread int64_t capacity[3];
    // 8 floats of slack for the vector packers' overlapping stores.
    floats += 8;
    if (capacity[which] < floats) {
        free(buffers[which]);
        buffers[which] = aligned_alloc(64, (size_t)((floats * sizeof(float) + 63) / 64 * 64));
        if (!buffers[which]) abort();
        capacity[which] = floats;
    }
    return buffers[which];
}

// 1 when the 6×32 AVX-512 kernel may run (the AVX-512 variant). Without a
// forced variant, HAS_SGEMM_NO_AVX512=1 in the environment turns it off (to
// compare kernels).
static int wide_kernel_enabled(void) {
#ifdef HAS_X86
    static int off = -1;
    if (off < 0) {
        const char *value = getenv("HAS_SGEMM_NO_AVX512");
        off = value && value[0] == '1';
    }
    return has_isa() >= HAS_ISA_AVX512 && !(off && has_isa_forced() == HAS_ISA_AUTOMATIC);
#else
    return 0;
#endif
}

static void pack_a_any(kernel_fn kernel, int64_t i0, int64_t mc, int64_t m1, int64_t p0, int64_t kc,
                       const float *a, int64_t lda, const int32_t *perm, float *ap) {
#ifdef HAS_X86
    if (kernel == kernel_avx2) { pack_a_avx2(i0, mc, m1, p0, kc, a, lda, perm, ap); return; }
#endif
    (void)kernel;
    pack_a(i0, mc, m1, p0, kc, a, lda, perm, ap);
}

int64_t has_sgemm_packed_a_count(int64_t m, int64_t k) {
    return ((m + MR - 1) / MR) * MR * k + 8;
}

void has_sgemm_pack_a(int64_t m, int64_t k, const float *a, int64_t lda, float *packed) {
    int64_t mpad = ((m + MR - 1) / MR) * MR;
    kernel_fn kernel = active_kernel();
    for (int64_t pc = 0; pc < k; pc += KC)
        pack_a_any(kernel, 0, m, m, pc, min64(KC, k - pc), a, lda, NULL, packed + pc * mpad);
}

// The loop nest. `a_packed` (identity permutation only) is A already in
// has_sgemm_pack_a's layout for all `m_total` rows: the A block of (pc, ic) is
// then read in place instead of packed, which needs ic to start on a panel.
// `b_packed` (optional) is all of B in has_sgemm_pack_b's layout; it needs
// n0 = 0 and n1 = the packed width (at most NC).
static void sgemm_driver(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k,
                         const float *a, int64_t lda, const float *a_packed, int64_t m_total,
                         const float *b, int64_t b_rs, int64_t b_cs, const float *b_packed,
                         float *c, int64_t c_rs, int64_t c_cs,
                         const int32_t *perm) {
    if (m1 <= m0 || n1 <= n0) return;
    if (k <= 0) {
        for (int64_t r = m0; r < m1; r++) {
            int64_t row = perm ? (int64_t)perm[r] : r;
            for (int64_t n = n0; n < n1; n++) c[row * c_rs + n * c_cs] = 0.0f;
        }
        return;
    }
    kernel_fn kernel = active_kernel();
    if (perm || m0 % MR != 0) a_packed = NULL;
    int64_t mpad = ((m_total + MR - 1) / MR) * MR;
#ifdef HAS_X86
    if (n1 - n0 <= 4 && kernel == kernel_avx2 && !b_packed) {
        if (a_packed) gemv_packed_avx2(m0, m1, n0, n1, k, a_packed, mpad, b, b_rs, b_cs, c, c_rs, c_cs);
        else gemv_avx2(m0, m1, n0, n1, k, a, lda, b, b_rs, b_cs, c, c_rs, c_cs, perm);
        return;
    }
#endif

    int64_t mspan = min64(MC, ((m1 - m0 + MR - 1) / MR) * MR);
    int64_t nspan = min64(NC, ((n1 - n0 + NR - 1) / NR) * NR);
    int64_t kspan = min64(KC, k);
    float *ap = a_packed ? NULL : scratch(0, mspan * kspan);
    float *bp = b_packed ? NULL : scratch(1, nspan * kspan);
    int64_t npad = ((n1 - n0 + NR - 1) / NR) * NR;

    // Short reductions over a row-major B (convolutions: K = C·kh·kw) read B
    // in place: packing would cost as much memory traffic as the product. So
    // does a B small enough to stay in L2 (one image's patches in a deeper conv).
    int direct_b = !b_packed && b_cs == 1 && (k <= HAS_DIRECT_B_MAX_K || k * (n1 - n0) * (int64_t)sizeof(float) <= HAS_DIRECT_B_MAX_BYTES);
    int first_store = STORE_SET;
#ifdef HAS_X86
    if (kernel == kernel_avx2 && k <= KC && c_cs == 1 && (m1 - m0) * (n1 - n0) * (int64_t)sizeof(float) >= HAS_STREAM_MIN_BYTES)
        first_store = STORE_STREAM;
#endif
    int wide = c_cs == 1 && wide_kernel_enabled();
    for (int64_t jc = n0; jc < n1; jc += NC) {
        int64_t nc = min64(NC, n1 - jc);
        for (int64_t pc = 0; pc < k; pc += KC) {
            int64_t kc = min64(KC, k - pc);
            if (b_packed) {
                bp = (float *)b_packed + pc * npad;
            } else if (direct_b) {
                // Only a partial last panel is packed (reading 16 columns would overrun B).
                int64_t full = nc / NR * NR;
                if (full < nc) pack_b(pc, kc, jc + full, nc - full, b, b_rs, b_cs, bp + full * kc);
            } else {
#ifdef HAS_X86
                if (b_rs == 1 && b_cs != 1 && kernel == kernel_avx2) pack_b_transposed_avx2(pc, kc, jc, nc, b, b_cs, bp);
                else
#endif
                pack_b(pc, kc, jc, nc, b, b_rs, b_cs, bp);
            }
            for (int64_t ic = m0; ic < m1; ic += MC) {
                int64_t mc = min64(MC, m1 - ic);
                const float *ablock = ap;
                if (a_packed) ablock = a_packed + pc * mpad + ic * kc;
                else pack_a_any(kernel, ic, mc, m1, pc, kc, a, lda, perm, ap);
                // Pre-packed A (h0's 25 MB of weights) comes from DRAM on its first
                // use, where the kernel would wait for it (135 vs 255 GFLOP/s when
                // streaming A): while this block runs from L2, fetch the next one
                // (in loop order) into L2, a few lines after each kernel call.
                const char *next_a = NULL, *next_end = NULL;
                int64_t lines_per_call = 0;
                if (a_packed) {
                    int64_t next_bytes = 0;
                    if (ic + MC < m1) {
                        next_a = (const char *)(ablock + mc * kc);
                        next_bytes = min64(MC, m1 - ic - MC) * kc * (int64_t)sizeof(float);
                    } else if (pc + KC < k) {
                        next_a = (const char *)(a_packed + (pc + KC) * mpad + m0 * min64(KC, k - pc - KC));
                        next_bytes = min64(MC, m1 - m0) * min64(KC, k - pc - KC) * (int64_t)sizeof(float);
                    }
                    int64_t calls = ((nc + NR - 1) / NR) * ((mc + MR - 1) / MR);
                    lines_per_call = (next_bytes / 64 + calls - 1) / calls + 1;
                    next_end = next_a + next_bytes;
                }
#define HAS_PREFETCH_NEXT_A()                                                         \
    for (int64_t line = 0; line < lines_per_call && next_a < next_end; line++, next_a += 64) \
        _mm_prefetch(next_a, _MM_HINT_T1);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    int nr = (int)min64(NR, nc - jr);
                    int in_place = direct_b && nr == NR;
                    const float *bpanel = in_place ? b + pc * b_rs + (jc + jr) : bp + jr * kc;
                    int64_t b_step = in_place ? b_rs : NR;
#ifdef HAS_X86
                    if (wide && nc - jr >= 2 * NR) {
                        // Two full panels: the second one sits 16 columns (in place) or one
                        // packed panel further on.
                        const float *bpanel1 = in_place ? bpanel + NR : bpanel + NR * kc;
                        for (int64_t ir = 0; ir < mc; ir += MR) {
                            int mr = (int)min64(MR, mc - ir);
                            kernel_avx512_wide(kc, ablock + ir * kc, bpanel, bpanel1, b_step, mr, ic + ir, perm,
                                               c + (jc + jr) * c_cs, c_rs, pc > 0 ? STORE_ADD : first_store);
                            HAS_PREFETCH_NEXT_A()
                        }
                        jr += NR;
                        continue;
                    }
#endif
                    for (int64_t ir = 0; ir < mc; ir += MR) {
                        int mr = (int)min64(MR, mc - ir);
                        kernel(kc, ablock + ir * kc, bpanel, b_step, mr, nr, ic + ir, perm,
                               c + (jc + jr) * c_cs, c_rs, c_cs, pc > 0 ? STORE_ADD : first_store);
#ifdef HAS_X86
                        HAS_PREFETCH_NEXT_A()
#endif
                    }
                }
#undef HAS_PREFETCH_NEXT_A
            }
        }
    }
#ifdef HAS_X86
    if (first_store == STORE_STREAM) _mm_sfence();
#endif
}

void has_sgemm_range(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k,
                     const float *a, int64_t lda,
                     const float *b, int64_t b_rs, int64_t b_cs,
                     float *c, int64_t c_rs, int64_t c_cs,
                     const int32_t *perm) {
    sgemm_driver(m0, m1, n0, n1, k, a, lda, NULL, m1, b, b_rs, b_cs, NULL, c, c_rs, c_cs, perm);
}

void has_sgemm_range_packed(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k,
                            const float *a, int64_t lda, const float *a_packed, int64_t m,
                            const float *b, int64_t b_rs, int64_t b_cs,
                            float *c, int64_t c_rs, int64_t c_cs) {
    sgemm_driver(m0, m1, n0, n1, k, a, lda, a_packed, m, b, b_rs, b_cs, NULL, c, c_rs, c_cs, NULL);
}

int64_t has_sgemm_packed_b_count(int64_t k, int64_t n) {
    return ((n + NR - 1) / NR) * NR * k + 8;
}

int64_t has_sgemm_packed_b_max_columns(void) { return NC; }

void has_sgemm_pack_b(int64_t p0, int64_t p1, int64_t k, int64_t n,
                      const float *b, int64_t b_rs, int64_t b_cs, float *packed) {
    int64_t npad = ((n + NR - 1) / NR) * NR;
    for (int64_t pc = p0; pc < p1 && pc < k; pc += KC) {
        int64_t kc = min64(KC, k - pc);
#ifdef HAS_X86
        if (b_rs == 1 && b_cs != 1 && active_kernel() == kernel_avx2) {
            pack_b_transposed_avx2(pc, kc, 0, n, b, b_cs, packed + pc * npad);
            continue;
        }
#endif
        pack_b(pc, kc, 0, n, b, b_rs, b_cs, packed + pc * npad);
    }
}

void has_sgemm_range_packed_ab(int64_t m0, int64_t m1, int64_t n, int64_t k,
                               const float *a, int64_t lda, const float *a_packed, int64_t m,
                               const float *b_packed, float *c, int64_t c_rs, int64_t c_cs) {
    sgemm_driver(m0, m1, 0, n, k, a, lda, a_packed, m, NULL, 0, 0, b_packed, c, c_rs, c_cs, NULL);
}

void has_sgemm_reference(int64_t m, int64_t n, int64_t k,
                         const float *a, int64_t lda,
                         const float *b, int64_t b_rs, int64_t b_cs,
                         float *c, int64_t c_rs, int64_t c_cs,
                         const int32_t *perm) {
    reference_rows(0, m, 0, n, k, a, lda, b, b_rs, b_cs, c, c_rs, c_cs, perm);
}

// Copies a short run of floats in 8-float moves (the last one overlapping).
static inline void copy_run(float *dst, const float *src, int64_t n) {
    if (n < 8) {
        for (int64_t x = 0; x < n; x++) dst[x] = src[x];
        return;
    }
    int64_t x = 0;
    for (; x + 8 <= n; x += 8) memcpy(dst + x, src + x, 8 * sizeof(float));
    if (x < n) memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
}

void has_im2col(int64_t channels, int64_t height, int64_t width, int64_t kernel_h, int64_t kernel_w,
                int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left,
                int64_t out_h, int64_t out_w, const float *image, float *cols) {
    int64_t p = out_h * out_w;
    if (stride_w == 1) {
        // Every patch row is then a run of out_w consecutive pixels of the
        // zero-padded plane: pad once per image, then copy runs with no bounds tests.
        int64_t ph = (out_h - 1) * stride_h + kernel_h, pw = out_w - 1 + kernel_w;
        const float *planes = image;
        int64_t row_stride = width, plane_size = height * width;
        if (pad_top != 0 || pad_left != 0 || ph > height || pw > width) {
            float *padded = scratch(2, channels * ph * pw);
            for (int64_t c = 0; c < channels; c++) {
                for (int64_t py = 0; py < ph; py++) {
                    float *out = padded + (c * ph + py) * pw;
                    int64_t y = py - pad_top;
                    for (int64_t px = 0; px < pw; px++) {
                        int64_t x = px - pad_left;
                        out[px] = (y >= 0 && y < height && x >= 0 && x < width) ? image[(c * height + y) * width + x] : 0.0f;
                    }
                }
            }
            planes = padded;
            row_stride = pw;
            plane_size = ph * pw;
        }
        float *dst = cols;
        for (int64_t c = 0; c < channels; c++)
            for (int64_t i = 0; i < kernel_h; i++)
                for (int64_t j = 0; j < kernel_w; j++, dst += p)
                    for (int64_t oy = 0; oy < out_h; oy++)
                        copy_run(dst + oy * out_w, planes + c * plane_size + (oy * stride_h + i) * row_stride + j, out_w);
        return;
    }
    float *dst = cols;
    for (int64_t c = 0; c < channels; c++) {
        const float *plane = image + c * height * width;
        for (int64_t i = 0; i < kernel_h; i++) {
            for (int64_t j = 0; j < kernel_w; j++, dst += p) {
                for (int64_t oy = 0; oy < out_h; oy++) {
                    float *out = dst + oy * out_w;
                    int64_t y = oy * stride_h + i - pad_top;
                    for (int64_t ox = 0; ox < out_w; ox++) {
                        int64_t x = ox * stride_w + j - pad_left;
                        out[ox] = (y >= 0 && y < height && x >= 0 && x < width) ? plane[y * width + x] : 0.0f;
                    }
                }
            }
        }
    }
}

// The dense layer's epilogue: Y[i][j] = Yᵀ[j][i] + bias[j] (then ReLU), in
// 8×8 blocks transposed in registers. Swift's scalar loop read Yᵀ with a
// stride of n floats per element.
static inline float bias_relu(float v, int relu) { return relu ? (v > 0.0f ? v : 0.0f) : v; }

#ifdef HAS_X86
__attribute__((target("avx2,fma")))
static void transpose_bias_avx2(int64_t m, int64_t n, int64_t i0, int64_t i1, const float *yt, const float *bias,
                                int relu, float *out) {
    int64_t m8 = m / 8 * 8, n8 = i0 + (i1 - i0) / 8 * 8;
    const __m256 zero = _mm256_setzero_ps();
    for (int64_t j0 = 0; j0 < m8; j0 += 8) {
        __m256 bv = _mm256_loadu_ps(bias + j0);
        for (int64_t ib = i0; ib < n8; ib += 8) {
            __m256 v[8];
            for (int r = 0; r < 8; r++) v[r] = _mm256_loadu_ps(yt + (j0 + r) * n + ib);
            transpose8(v);
            for (int t = 0; t < 8; t++) {
                __m256 x = _mm256_add_ps(v[t], bv);
                // max(x, 0) is `x > 0 ? x : 0` (0 for NaN), like bias_relu.
                if (relu) x = _mm256_max_ps(x, zero);
                _mm256_storeu_ps(out + (ib + t) * m + j0, x);
            }
        }
        for (int64_t i = n8; i < i1; i++)
            for (int64_t j = j0; j < j0 + 8; j++) out[i * m + j] = bias_relu(yt[j * n + i] + bias[j], relu);
    }
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = m8; j < m; j++) out[i * m + j] = bias_relu(yt[j * n + i] + bias[j], relu);
}
#endif

void has_transpose_add_bias(int64_t m, int64_t n, int64_t i0, int64_t i1, const float *yt, const float *bias,
                            int relu, float *out) {
#ifdef HAS_X86
    if (active_kernel() == kernel_avx2) { transpose_bias_avx2(m, n, i0, i1, yt, bias, relu, out); return; }
#endif
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = 0; j < m; j++) out[i * m + j] = bias_relu(yt[j * n + i] + bias[j], relu);
}
