// The slot path of the fault simulator for a group of images (see
// HASSlotInjection.h): the slot-by-slot walk of up to 16 images of one PE at
// once (has_decide_slot_codes, image- or slot-major); for convolutions the
// products of several rows of a K tile at once (has_tile_products_rows) and
// one row's corrections from the walk's codes (has_apply_slot_codes); for
// dense layers one PE's corrections across the group's images
// (has_apply_dense_codes). Each for AVX-512, AVX2 + FMA and portable C.
//
// One stream's walk is a chain: where the next pair of slots takes its word
// depends on how many of the last pair failed, so has_decide_slots spends a
// dependent load per two pairs. The images of a PE share its threshold and
// differ only in their starting states, so here each 64-bit lane of a vector
// walks one image's stream, computing its outputs on the fly (output n of a
// SplitMix64 stream is mix(state + n * gamma)), without tables or branches.
// A correction needs only the exponent bit a draw picks, so the walk keeps one
// byte per slot instead of the 8-byte draw: a block's decisions for a group of
// images stay in the L2 cache. In C because Swift cannot compile a function
// for AVX-512 or AVX2 and pick it at run time.
#include "HASSlotInjection.h"
#include "HASSplitMix.h"
#include "HASKernelISA.h"
#include "slot_corruption.h"
#include <math.h>
#include <string.h>

#define GAMMA HAS_SPLITMIX_GAMMA

// The slow twin, straight from the walk's definition: per pair of slots one
// word (low half decides the even slot, high half the odd one), then one draw
// per failing slot, in that order.
// Slot n of lane i goes to codes[i * lane_stride + n * slot_stride].
static void decide_codes_generic(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                                 int64_t lane_stride, int64_t slot_stride, int32_t exponent_bits, uint8_t *codes) {
    const int64_t padded = (slots + 7) & ~(int64_t)7;
    for (int64_t i = 0; i < lanes; i++) {
        uint64_t x = states[i];
        uint8_t *code = codes + i * lane_stride;
        for (int64_t n = 0; n < padded; n += 2) {
            x += GAMMA;
            uint64_t w = has_splitmix_mix(x);
            code[n * slot_stride] = code[(n + 1) * slot_stride] = HAS_SLOT_PASSES;
            if ((w & 0xFFFFFFFFULL) < threshold) {
                x += GAMMA;
                code[n * slot_stride] = (uint8_t)exponent_bit_of(has_splitmix_mix(x), exponent_bits);
            }
            if ((w >> 32) < threshold) {
                x += GAMMA;
                code[(n + 1) * slot_stride] = (uint8_t)exponent_bit_of(has_splitmix_mix(x), exponent_bits);
            }
        }
    }
}

static void products_rows_generic(const float *const *a_rows, int64_t count, int64_t length, const float *b,
                                  int64_t s, int64_t columns, float *products, int64_t stride) {
    for (int64_t r = 0; r < count; r++) {
        const float *a = a_rows[r];
        float *p = products + r * stride;
        for (int64_t n = 0; n < columns; n++) p[n] = 0.0f;
        for (int64_t k = 0; k < length; k++) {
            const float ak = a[k];
            const float *bk = b + k * s;
            for (int64_t n = 0; n < columns; n++) p[n] = fmaf(ak, bk[n], p[n]);
        }
    }
}

static int64_t apply_codes_generic(const uint8_t *codes, const float *products, float *c, int64_t columns,
                                   corruption how) {
    int64_t faults = 0;
    for (int64_t n = 0; n < columns; n++) {
        if (codes[n] == HAS_SLOT_PASSES) continue;
        float p = products[n], corrupted;
        uint32_t bits;
        memcpy(&bits, &p, sizeof bits);
        bits = corrupt_at(bits, codes[n], how);
        memcpy(&corrupted, &bits, sizeof bits);
        c[n] += corrupted - p;
        faults++;
    }
    return faults;
}

#if defined(__x86_64__)
SLOT_AVX512 __m512i mix8(__m512i z) {
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ULL));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), _mm512_set1_epi64((long long)0x94D049BB133111EBULL));
    return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

// exponent_bit_of in each 64-bit lane where `fails`, else HAS_SLOT_PASSES, as 8 bytes.
SLOT_AVX512 __m128i codes8(__m512i draw, __mmask8 fails, __m512i count) {
    __m512i e = _mm512_srli_epi64(_mm512_mul_epu32(_mm512_srli_epi64(draw, 32), count), 32);
    return _mm512_cvtepi64_epi8(_mm512_mask_mov_epi64(_mm512_set1_epi64(HAS_SLOT_PASSES), fails, e));
}

// One pair of slots in 8 lanes (x: each lane's stream position): the word and
// both possible draws are computed, then picked by the failures.
SLOT_AVX512 void pair8(__m512i *x, __m512i threshold, __m512i count, __m128i *low_codes, __m128i *high_codes) {
    const __m512i g = _mm512_set1_epi64((long long)GAMMA);
    const __m512i x1 = _mm512_add_epi64(*x, g), x2 = _mm512_add_epi64(x1, g), x3 = _mm512_add_epi64(x2, g);
    const __m512i w = mix8(x1), d1 = mix8(x2), d2 = mix8(x3);
    const __mmask8 l = _mm512_cmplt_epu64_mask(_mm512_and_si512(w, _mm512_set1_epi64(0xFFFFFFFFLL)), threshold);
    const __mmask8 h = _mm512_cmplt_epu64_mask(_mm512_srli_epi64(w, 32), threshold);
    *low_codes = codes8(d1, l, count);
    *high_codes = codes8(_mm512_mask_blend_epi64(l, d1, d2), h, count);
    __m512i next = _mm512_mask_add_epi64(x1, l, x1, g);
    *x = _mm512_mask_add_epi64(next, h, next, g);
}

// r[n] = slot n's codes of 8 lanes (low 8 bytes) → lane i's codes of slots n0..n0+7.
SLOT_AVX512 void store_codes8(const __m128i r[8], uint8_t *codes, int64_t stride, int64_t n0) {
    __m128i a0 = _mm_unpacklo_epi8(r[0], r[1]), a1 = _mm_unpacklo_epi8(r[2], r[3]);
    __m128i a2 = _mm_unpacklo_epi8(r[4], r[5]), a3 = _mm_unpacklo_epi8(r[6], r[7]);
    __m128i b0 = _mm_unpacklo_epi16(a0, a1), b1 = _mm_unpackhi_epi16(a0, a1);   // slots 0–3 of lanes 0–3, 4–7
    __m128i b2 = _mm_unpacklo_epi16(a2, a3), b3 = _mm_unpackhi_epi16(a2, a3);   // slots 4–7
    __m128i lanes[4] = {_mm_unpacklo_epi32(b0, b2), _mm_unpackhi_epi32(b0, b2),  // lanes 0, 1 | 2, 3
                        _mm_unpacklo_epi32(b1, b3), _mm_unpackhi_epi32(b1, b3)}; // lanes 4, 5 | 6, 7
    for (int q = 0; q < 4; q++) {
        _mm_storel_epi64((__m128i *)(codes + (2 * q) * stride + n0), lanes[q]);
        _mm_storel_epi64((__m128i *)(codes + (2 * q + 1) * stride + n0), _mm_unpackhi_epi64(lanes[q], lanes[q]));
    }
}

// G groups of 8 lanes (G = 1 or 2), walked side by side so that one group's
// chain (the latency of mix) overlaps the other's.
// Lane-major (codes[i * stride + n]) or, with `slot_major`, codes[n * HAS_SLOT_LANES + i].
SLOT_AVX512 void decide_codes_groups(const uint64_t *states, uint64_t threshold, int64_t slots, int64_t stride,
                                     int32_t exponent_bits, uint8_t *codes, const int G, const int slot_major) {
    const int64_t padded = (slots + 7) & ~(int64_t)7;
    const __m512i t = _mm512_set1_epi64((long long)threshold), count = _mm512_set1_epi64(exponent_bits);
    __m512i x[2];
    for (int g = 0; g < G; g++) x[g] = _mm512_loadu_si512((const void *)(states + 8 * g));
    for (int64_t n0 = 0; n0 < padded; n0 += 8) {
        __m128i r[2][8];
        for (int q = 0; q < 4; q++) {
            for (int g = 0; g < G; g++) pair8(&x[g], t, count, &r[g][2 * q], &r[g][2 * q + 1]);
        }
        for (int g = 0; g < G; g++) {
            if (slot_major) {
                for (int n = 0; n < 8; n++) _mm_storel_epi64((__m128i *)(codes + (n0 + n) * HAS_SLOT_LANES + 8 * g), r[g][n]);
            } else {
                store_codes8(r[g], codes + 8 * g * stride, stride, n0);
            }
        }
    }
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static void decide_codes_avx512(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                                int64_t stride, int32_t exponent_bits, uint8_t *codes, int slot_major) {
    uint64_t padded_states[HAS_SLOT_LANES];
    for (int i = 0; i < HAS_SLOT_LANES; i++) padded_states[i] = states[i < lanes ? i : 0];
    if (slot_major) {
        if (lanes > 8) decide_codes_groups(padded_states, threshold, slots, stride, exponent_bits, codes, 2, 1);
        else decide_codes_groups(padded_states, threshold, slots, stride, exponent_bits, codes, 1, 1);
    } else {
        if (lanes > 8) decide_codes_groups(padded_states, threshold, slots, stride, exponent_bits, codes, 2, 0);
        else decide_codes_groups(padded_states, threshold, slots, stride, exponent_bits, codes, 1, 0);
    }
}

// R rows × 16·V columns from column n0 (masked past `columns`), in registers:
// each lane one FMA chain over k, as products_rows_generic.
SLOT_AVX512 void products_block_avx512(const float *const *a, int64_t length, const float *b, int64_t s, int64_t n0,
                                       int64_t columns, float *products, int64_t stride, const int R, const int V) {
    __mmask16 mask[4];
    __m512 acc[4][4];
    for (int v = 0; v < V; v++) {
        int64_t left = columns - n0 - 16 * v;
        mask[v] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
        for (int r = 0; r < R; r++) acc[r][v] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < length; k++) {
        __m512 bk[4];
        for (int v = 0; v < V; v++) bk[v] = _mm512_maskz_loadu_ps(mask[v], b + k * s + n0 + 16 * v);
        for (int r = 0; r < R; r++) {
            const __m512 ak = _mm512_set1_ps(a[r][k]);
            for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(ak, bk[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int v = 0; v < V; v++) _mm512_mask_storeu_ps(products + r * stride + n0 + 16 * v, mask[v], acc[r][v]);
    }
}

// Four rows at a time (each B vector feeds four chains), 64 columns, then 16.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,fma")))
static void products_rows_avx512(const float *const *a_rows, int64_t count, int64_t length, const float *b,
                                 int64_t s, int64_t columns, float *products, int64_t stride) {
    int64_t r = 0;
    for (; r + 4 <= count; r += 4) {
        int64_t n0 = 0;
        for (; columns - n0 > 48; n0 += 64)
            products_block_avx512(a_rows + r, length, b, s, n0, columns, products + r * stride, stride, 4, 4);
        for (; n0 < columns; n0 += 16)
            products_block_avx512(a_rows + r, length, b, s, n0, columns, products + r * stride, stride, 4, 1);
    }
    for (; r < count; r++) {
        int64_t n0 = 0;
        for (; columns - n0 > 48; n0 += 64)
            products_block_avx512(a_rows + r, length, b, s, n0, columns, products + r * stride, stride, 1, 4);
        for (; n0 < columns; n0 += 16)
            products_block_avx512(a_rows + r, length, b, s, n0, columns, products + r * stride, stride, 1, 1);
    }
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static int64_t apply_codes_avx512(const uint8_t *codes, const float *products, float *c, int64_t columns,
                                  corruption how) {
    const corruption_vectors v = corruption_vectors_of(how);
    const __m128i passes = _mm_set1_epi8((char)HAS_SLOT_PASSES);
    int64_t faults = 0;
    for (int64_t n0 = 0; n0 < columns; n0 += 16) {
        int64_t left = columns - n0;
        __mmask16 inside = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m128i code = _mm_maskz_loadu_epi8(inside, codes + n0);
        __mmask16 k = _mm_mask_cmpneq_epi8_mask(inside, code, passes);
        if (!k) continue;
        faults += __builtin_popcount(k);
        correct16_avx512(k, _mm512_cvtepu8_epi32(code), products + n0, c + n0, &v);
    }
    return faults;
}


// 64-bit lanes times a constant, mod 2^64 (AVX2 has no 64-bit multiply): lo·lo + (hi·lo + lo·hi) << 32.
SLOT_AVX2 __m256i mullo4(__m256i a, __m256i b, __m256i b_high) {
    __m256i low = _mm256_mul_epu32(a, b);
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b), _mm256_mul_epu32(a, b_high));
    return _mm256_add_epi64(low, _mm256_slli_epi64(cross, 32));
}

SLOT_AVX2 __m256i mix4(__m256i z) {
    const __m256i m1 = _mm256_set1_epi64x((long long)0xBF58476D1CE4E5B9ULL), m1h = _mm256_srli_epi64(m1, 32);
    const __m256i m2 = _mm256_set1_epi64x((long long)0x94D049BB133111EBULL), m2h = _mm256_srli_epi64(m2, 32);
    z = mullo4(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), m1, m1h);
    z = mullo4(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), m2, m2h);
    return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

// exponent_bit_of where `fails` (all ones), else HAS_SLOT_PASSES, in each 64-bit lane.
SLOT_AVX2 __m256i codes4(__m256i draw, __m256i fails, __m256i count) {
    __m256i e = _mm256_srli_epi64(_mm256_mul_epu32(_mm256_srli_epi64(draw, 32), count), 32);
    return _mm256_blendv_epi8(_mm256_set1_epi64x(HAS_SLOT_PASSES), e, fails);
}

// pair8 for 4 lanes; the codes of the pair's slots go to bytes `shift / 8` and `shift / 8 + 1` of `packed`.
SLOT_AVX2 void pair4(__m256i *x, __m256i threshold, __m256i count, __m256i *packed, int shift) {
    const __m256i g = _mm256_set1_epi64x((long long)GAMMA), low32 = _mm256_set1_epi64x(0xFFFFFFFFLL);
    const __m256i x1 = _mm256_add_epi64(*x, g), x2 = _mm256_add_epi64(x1, g), x3 = _mm256_add_epi64(x2, g);
    const __m256i w = mix4(x1), d1 = mix4(x2), d2 = mix4(x3);
    // Both halves and the threshold are below 2^63, so the signed compare is the unsigned one.
    const __m256i l = _mm256_cmpgt_epi64(threshold, _mm256_and_si256(w, low32));
    const __m256i h = _mm256_cmpgt_epi64(threshold, _mm256_srli_epi64(w, 32));
    __m256i low_codes = codes4(d1, l, count), high_codes = codes4(_mm256_blendv_epi8(d1, d2, l), h, count);
    *packed = _mm256_or_si256(*packed, _mm256_or_si256(_mm256_slli_epi64(low_codes, shift),
                                                       _mm256_slli_epi64(high_codes, shift + 8)));
    // One more output per failing slot (the masks are all ones where a slot fails).
    *x = _mm256_add_epi64(_mm256_add_epi64(x1, _mm256_and_si256(l, g)), _mm256_and_si256(h, g));
}

// G groups of 4 lanes walked side by side; each lane's 8 codes of a step are
// gathered in one 64-bit word (byte n: slot n), then stored to its row.
// Lane-major (codes[i * stride + n]) or, with `slot_major`, codes[n * HAS_SLOT_LANES + i].
SLOT_AVX2 void decide_codes_groups_avx2(const uint64_t *states, uint64_t threshold, int64_t slots, int64_t stride,
                                        int32_t exponent_bits, uint8_t *codes, const int G, const int slot_major) {
    const int64_t padded = (slots + 7) & ~(int64_t)7;
    const __m256i t = _mm256_set1_epi64x((long long)threshold), count = _mm256_set1_epi64x(exponent_bits);
    __m256i x[4];
    for (int g = 0; g < G; g++) x[g] = _mm256_loadu_si256((const __m256i *)(states + 4 * g));
    for (int64_t n0 = 0; n0 < padded; n0 += 8) {
        __m256i packed[4];
        for (int g = 0; g < G; g++) packed[g] = _mm256_setzero_si256();
        for (int q = 0; q < 4; q++) {
            for (int g = 0; g < G; g++) pair4(&x[g], t, count, &packed[g], 16 * q);
        }
        for (int g = 0; g < G; g++) {
            uint64_t words[4];
            _mm256_storeu_si256((__m256i *)words, packed[g]);
            for (int i = 0; i < 4; i++) {
                if (slot_major) {
                    for (int n = 0; n < 8; n++) codes[(n0 + n) * HAS_SLOT_LANES + 4 * g + i] = (uint8_t)(words[i] >> (8 * n));
                } else {
                    memcpy(codes + (4 * g + i) * stride + n0, &words[i], 8);
                }
            }
        }
    }
}

__attribute__((target("avx2,fma")))
static void decide_codes_avx2(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                              int64_t stride, int32_t exponent_bits, uint8_t *codes, int slot_major) {
    uint64_t padded_states[HAS_SLOT_LANES];
    for (int i = 0; i < HAS_SLOT_LANES; i++) padded_states[i] = states[i < lanes ? i : 0];
    // Two groups at a time hide mix's latency; lanes 8–15 start at codes + 8 (slot-major) or 8 rows down.
    uint8_t *upper = codes + (slot_major ? 8 : 8 * stride);
    if (slot_major) {
        decide_codes_groups_avx2(padded_states, threshold, slots, stride, exponent_bits, codes, lanes > 4 ? 2 : 1, 1);
        if (lanes > 8) decide_codes_groups_avx2(padded_states + 8, threshold, slots, stride, exponent_bits, upper, 2, 1);
    } else {
        decide_codes_groups_avx2(padded_states, threshold, slots, stride, exponent_bits, codes, lanes > 4 ? 2 : 1, 0);
        if (lanes > 8) decide_codes_groups_avx2(padded_states + 8, threshold, slots, stride, exponent_bits, upper, 2, 0);
    }
}

// The lanes of 8 columns from n0 that are below `columns`, as a maskload mask.
SLOT_AVX2 __m256i column_mask8(int64_t n0, int64_t columns) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(columns - n0 > 8 ? 8 : columns - n0)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// products_block_avx512 with 8-wide vectors; `masked` only for a tile's last
// columns (AMD's masked moves are slow, plain ones are not).
SLOT_AVX2 void products_block_avx2(const float *const *a, int64_t length, const float *b, int64_t s, int64_t n0,
                                   int64_t columns, float *products, int64_t stride, const int R, const int V,
                                   const int masked) {
    __m256i mask[2];
    __m256 acc[4][2];
    for (int v = 0; v < V; v++) {
        if (masked) mask[v] = column_mask8(n0 + 8 * v, columns);
        for (int r = 0; r < R; r++) acc[r][v] = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < length; k++) {
        __m256 bk[2];
        for (int v = 0; v < V; v++) {
            const float *from = b + k * s + n0 + 8 * v;
            bk[v] = masked ? _mm256_maskload_ps(from, mask[v]) : _mm256_loadu_ps(from);
        }
        for (int r = 0; r < R; r++) {
            const __m256 ak = _mm256_set1_ps(a[r][k]);
            for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(ak, bk[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; r++) {
        for (int v = 0; v < V; v++) {
            float *to = products + r * stride + n0 + 8 * v;
            if (masked) _mm256_maskstore_ps(to, mask[v], acc[r][v]);
            else _mm256_storeu_ps(to, acc[r][v]);
        }
    }
}

// Rows R at a time over 16 columns, the last (partial) 16 masked.
SLOT_AVX2 void products_rows_block_avx2(const float *const *a, int64_t length, const float *b, int64_t s,
                                        int64_t columns, float *products, int64_t stride, const int R) {
    int64_t n0 = 0;
    for (; n0 + 16 <= columns; n0 += 16) products_block_avx2(a, length, b, s, n0, columns, products, stride, R, 2, 0);
    if (n0 < columns) products_block_avx2(a, length, b, s, n0, columns, products, stride, R, 2, 1);
}

__attribute__((target("avx2,fma")))
static void products_rows_avx2(const float *const *a_rows, int64_t count, int64_t length, const float *b,
                               int64_t s, int64_t columns, float *products, int64_t stride) {
    int64_t r = 0;
    for (; r + 4 <= count; r += 4) products_rows_block_avx2(a_rows + r, length, b, s, columns, products + r * stride, stride, 4);
    for (; r < count; r++) products_rows_block_avx2(a_rows + r, length, b, s, columns, products + r * stride, stride, 1);
}

// apply_codes_generic, 8 columns at a time (correct8_avx2); the last partial 8
// columns by apply_codes_generic.
__attribute__((target("avx2,fma")))
static int64_t apply_codes_avx2(const uint8_t *codes, const float *products, float *c, int64_t columns,
                                corruption how) {
    const corruption_vectors8 v = corruption_vectors8_of(how);
    const __m256i passes = _mm256_set1_epi32(HAS_SLOT_PASSES);
    int64_t faults = 0, n0 = 0;
    for (; n0 + 8 <= columns; n0 += 8) {
        uint64_t word;
        memcpy(&word, codes + n0, 8);
        if (word == ~0ULL) continue;
        __m256i e = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)word));
        __m256 fails = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(e, passes), _mm256_set1_epi32(-1)));
        faults += __builtin_popcount((unsigned)_mm256_movemask_ps(fails));
        correct8_avx2(fails, e, products + n0, c + n0, &v);
    }
    return faults + apply_codes_generic(codes + n0, products + n0, c + n0, columns - n0, how);
}
#endif

void has_decide_slot_codes(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                           int64_t stride, int32_t exponent_bits, uint8_t *codes) {
#if defined(__x86_64__)
    if (has_isa() >= HAS_ISA_AVX512) {
        decide_codes_avx512(states, lanes, threshold, slots, stride, exponent_bits, codes, 0);
        return;
    }
    if (has_isa() >= HAS_ISA_AVX2) {
        decide_codes_avx2(states, lanes, threshold, slots, stride, exponent_bits, codes, 0);
        return;
    }
#endif
    decide_codes_generic(states, lanes, threshold, slots, stride, 1, exponent_bits, codes);
}

void has_decide_slot_codes_by_slot(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                                   int32_t exponent_bits, uint8_t *codes) {
#if defined(__x86_64__)
    if (has_isa() >= HAS_ISA_AVX512) {
        decide_codes_avx512(states, lanes, threshold, slots, 0, exponent_bits, codes, 1);
        return;
    }
    if (has_isa() >= HAS_ISA_AVX2) {
        decide_codes_avx2(states, lanes, threshold, slots, 0, exponent_bits, codes, 1);
        return;
    }
#endif
    decide_codes_generic(states, lanes, threshold, slots, 1, HAS_SLOT_LANES, exponent_bits, codes);
}

int has_slot_codes_fail(const uint8_t *codes, int64_t count) {
    uint8_t all = HAS_SLOT_PASSES;
    for (int64_t n = 0; n < count; n++) all &= codes[n];
    return all != HAS_SLOT_PASSES;
}

void has_tile_products_rows(const float *const *a_rows, int64_t count, int64_t length, const float *b,
                            int64_t b_row_stride, int64_t columns, float *products, int64_t products_stride) {
#if defined(__x86_64__)
    if (has_isa() >= HAS_ISA_AVX512) {
        products_rows_avx512(a_rows, count, length, b, b_row_stride, columns, products, products_stride);
        return;
    }
    if (has_isa() >= HAS_ISA_AVX2) {
        products_rows_avx2(a_rows, count, length, b, b_row_stride, columns, products, products_stride);
        return;
    }
#endif
    products_rows_generic(a_rows, count, length, b, b_row_stride, columns, products, products_stride);
}

int64_t has_apply_slot_codes(const uint8_t *codes, const float *products, float *c, int64_t columns, int32_t kind) {
    const corruption how = corruption_of(kind);
#if defined(__x86_64__)
    int isa = has_isa();
    if (isa >= HAS_ISA_AVX512) return apply_codes_avx512(codes, products, c, columns, how);
    if (isa >= HAS_ISA_AVX2) return apply_codes_avx2(codes, products, c, columns, how);
#endif
    return apply_codes_generic(codes, products, c, columns, how);
}

// The dense corrections of one PE for a group of images (HASSlotInjection.h):
// slot j's tile, row and products, then its lanes' corrections.
#define DENSE_SLOT_WALK_BEGIN                                                           \
    const int64_t step_l = blocks / k_tiles, step_m = blocks % k_tiles;                 \
    int64_t l = block / k_tiles, m = block % k_tiles, faults = 0;                       \
    for (int64_t j = 0; j < count; j++) {                                               \
        if (j > 0) {                                                                    \
            m += step_m;                                                                \
            l += step_l;                                                                \
            if (m >= k_tiles) { m -= k_tiles; l++; }                                    \
        }                                                                               \
        const uint8_t *code = codes + j * HAS_SLOT_LANES;                               \
        const int64_t r = l * threads + thread;                                         \
        const int64_t row = permutation ? (int64_t)permutation[r] : r;                  \
        const float *p = products + (row * k_tiles + m) * HAS_SLOT_LANES;               \
        const int64_t c_offset = row * c_row_stride;                                    \
        if (j + 1 < count) {                                                            \
            /* The next slot's products (a group's products exceed the caches). */      \
            int64_t next_m = m + step_m, next_l = l + step_l;                           \
            if (next_m >= k_tiles) { next_m -= k_tiles; next_l++; }                     \
            int64_t next_r = next_l * threads + thread;                                 \
            int64_t next_row = permutation ? (int64_t)permutation[next_r] : next_r;     \
            __builtin_prefetch(products + (next_row * k_tiles + next_m) * HAS_SLOT_LANES); \
        }

#define DENSE_SLOT_WALK_END }                                                          \
    return faults;

// Lane i's correction of the current slot, as apply_codes_generic.
#define DENSE_CORRECT_LANE(i)                                                           \
    do {                                                                                \
        float pv = p[i], corrupted;                                                     \
        uint32_t bits;                                                                  \
        memcpy(&bits, &pv, sizeof bits);                                                \
        bits = corrupt_at(bits, code[i], how);                                          \
        memcpy(&corrupted, &bits, sizeof bits);                                         \
        c_images[i][c_offset] += corrupted - pv;                                        \
        faults++;                                                                       \
    } while (0)

static int64_t apply_dense_generic(const uint8_t *codes, int64_t count, int64_t lanes, int64_t block, int64_t thread,
                                   int64_t blocks, int64_t threads, int64_t k_tiles, const int32_t *permutation,
                                   const float *products, float *const *c_images, int64_t c_row_stride,
                                   corruption how) {
    DENSE_SLOT_WALK_BEGIN
        for (int64_t i = 0; i < lanes; i++) {
            if (code[i] != HAS_SLOT_PASSES) DENSE_CORRECT_LANE(i);
        }
    DENSE_SLOT_WALK_END
}

#if defined(__x86_64__)
// The lanes of a slot in one vector when the images' C columns follow one another (Dense's Yᵀ),
// else lane by lane.
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static int64_t apply_dense_avx512(const uint8_t *codes, int64_t count, int64_t lanes, int64_t block, int64_t thread,
                                  int64_t blocks, int64_t threads, int64_t k_tiles, const int32_t *permutation,
                                  const float *products, float *const *c_images, int64_t c_row_stride,
                                  corruption how) {
    const corruption_vectors v = corruption_vectors_of(how);
    int adjacent = 1;
    for (int64_t i = 1; i < lanes; i++) adjacent &= c_images[i] == c_images[0] + i;
    const __m128i passes = _mm_set1_epi8((char)HAS_SLOT_PASSES);
    const __mmask16 inside = lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
    DENSE_SLOT_WALK_BEGIN
        __m128i bytes = _mm_loadu_si128((const __m128i *)code);
        __mmask16 k = _mm_mask_cmpneq_epi8_mask(inside, bytes, passes);
        if (!k) continue;
        if (adjacent) {
            faults += __builtin_popcount(k);
            correct16_avx512(k, _mm512_cvtepu8_epi32(bytes), p, c_images[0] + c_offset, &v);
        } else {
            for (int64_t i = 0; i < lanes; i++) {
                if ((k >> i) & 1) DENSE_CORRECT_LANE(i);
            }
        }
    DENSE_SLOT_WALK_END
}
#endif

#if defined(__x86_64__)
// apply_dense_avx512 with 8-wide vectors (correct8_avx2): a half of the 16 lanes in
// one vector when all its lanes are images of the group (the blended store rewrites
// only their columns), else lane by lane.
__attribute__((target("avx2,fma")))
static int64_t apply_dense_avx2(const uint8_t *codes, int64_t count, int64_t lanes, int64_t block, int64_t thread,
                                int64_t blocks, int64_t threads, int64_t k_tiles, const int32_t *permutation,
                                const float *products, float *const *c_images, int64_t c_row_stride,
                                corruption how) {
    const corruption_vectors8 v = corruption_vectors8_of(how);
    const __m256i passes = _mm256_set1_epi32(HAS_SLOT_PASSES);
    int adjacent = 1;
    for (int64_t i = 1; i < lanes; i++) adjacent &= c_images[i] == c_images[0] + i;
    const int64_t vector_halves = adjacent ? lanes / 8 : 0;
    DENSE_SLOT_WALK_BEGIN
        for (int64_t h = 0; h < 2 && 8 * h < lanes; h++) {
            uint64_t word;
            memcpy(&word, code + 8 * h, 8);
            if (word == ~0ULL) continue;
            if (h >= vector_halves) {
                for (int64_t i = 8 * h; i < lanes && i < 8 * h + 8; i++) {
                    if (code[i] != HAS_SLOT_PASSES) DENSE_CORRECT_LANE(i);
                }
                continue;
            }
            __m256i e = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)word));
            __m256 fails = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(e, passes), _mm256_set1_epi32(-1)));
            faults += __builtin_popcount((unsigned)_mm256_movemask_ps(fails));
            correct8_avx2(fails, e, p + 8 * h, c_images[0] + c_offset + 8 * h, &v);
        }
    DENSE_SLOT_WALK_END
}
#endif

int64_t has_apply_dense_codes(const uint8_t *codes, int64_t count, int64_t lanes, int64_t block, int64_t thread,
                              int64_t blocks, int64_t threads, int64_t k_tiles, const int32_t *permutation,
                              const float *products, float *const *c_images, int64_t c_row_stride, int32_t kind) {
    const corruption how = corruption_of(kind);
#if defined(__x86_64__)
    if (has_isa() >= HAS_ISA_AVX512)
        return apply_dense_avx512(codes, count, lanes, block, thread, blocks, threads, k_tiles, permutation, products,
                                  c_images, c_row_stride, how);
    if (has_isa() >= HAS_ISA_AVX2)
        return apply_dense_avx2(codes, count, lanes, block, thread, blocks, threads, k_tiles, permutation, products,
                                c_images, c_row_stride, how);
#endif
    return apply_dense_generic(codes, count, lanes, block, thread, blocks, threads, k_tiles, permutation, products,
                               c_images, c_row_stride, how);
}
