// ErrorKind.corrupt for the slot kernels (slot_lanes.c):
// (bits & ~clear | set) ^ flip, where the kind picks which of the three the
// drawn exponent bit goes to, and the fixed bits to clear. Private to
// HASKernels (not in include/).
#ifndef HAS_SLOT_CORRUPTION_H
#define HAS_SLOT_CORRUPTION_H

#include "HASSlotInjection.h"
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct {
    uint32_t clear_bit, set_bit, flip_bit, clear_fixed;
} corruption;

static inline corruption corruption_of(int32_t kind) {
    corruption c = {0, 0, 0, 0};
    switch (kind) {
    case HAS_ERROR_FLIP0: c.clear_bit = ~0u; break;
    case HAS_ERROR_FLIP1: c.set_bit = ~0u; break;
    case HAS_ERROR_BITFLIP: c.flip_bit = ~0u; break;
    case HAS_ERROR_TF32: c.clear_fixed = 0x1FFF; break;
    case HAS_ERROR_BF16: c.clear_fixed = 0xFFFF; break;
    default: c.clear_fixed = ~0u; break; // HAS_ERROR_ZERO: every bit cleared, +0.0
    }
    return c;
}

// ErrorKind.exponentBit: hi32(draw) * count / 2^32 (which of the exponent bits 0… a draw picks).
static inline uint32_t exponent_bit_of(uint64_t draw, int32_t exponent_bits) {
    return (uint32_t)(((draw >> 32) * (uint64_t)exponent_bits) >> 32);
}

// The pattern `bits` corrupted at exponent bit `index` (bit 23 + index of the float).
static inline uint32_t corrupt_at(uint32_t bits, uint32_t index, corruption c) {
    uint32_t mask = 1u << (23 + index);
    return ((bits & ~((mask & c.clear_bit) | c.clear_fixed)) | (mask & c.set_bit)) ^ (mask & c.flip_bit);
}

#if defined(__x86_64__)
#define SLOT_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"), always_inline)) static inline

// The kind's bit masks in vectors, for correct16_avx512.
typedef struct {
    __m512i clear_bit, set_bit, flip_bit, clear_fixed;
} corruption_vectors;

SLOT_AVX512 corruption_vectors corruption_vectors_of(corruption how) {
    corruption_vectors v = {_mm512_set1_epi32((int)how.clear_bit), _mm512_set1_epi32((int)how.set_bit),
                            _mm512_set1_epi32((int)how.flip_bit), _mm512_set1_epi32((int)how.clear_fixed)};
    return v;
}

// c[n] += corrupt_at(products[n], e[n]) - products[n] for the columns n of mask k,
// with the float operations of the scalar paths.
SLOT_AVX512 void correct16_avx512(__mmask16 k, __m512i e, const float *products, float *c,
                                  const corruption_vectors *v) {
    __m512i mask = _mm512_sllv_epi32(_mm512_set1_epi32(1 << 23), e);
    __m512 p = _mm512_maskz_loadu_ps(k, products);
    __m512i bits = _mm512_castps_si512(p);
    __m512i clear = _mm512_or_si512(_mm512_and_si512(mask, v->clear_bit), v->clear_fixed);
    bits = _mm512_xor_si512(_mm512_or_si512(_mm512_andnot_si512(clear, bits), _mm512_and_si512(mask, v->set_bit)),
                            _mm512_and_si512(mask, v->flip_bit));
    __m512 delta = _mm512_sub_ps(_mm512_castsi512_ps(bits), p);
    __m512 cv = _mm512_maskz_loadu_ps(k, c);
    // When both are NaN, x86 returns the first operand's payload, and the scalar paths
    // (Swift's `c += corrupted - p`, apply_codes_generic) compile to addss with the difference
    // first. The compiler may swap the operands of an add, so a NaN difference is taken as is.
    __m512 sum = _mm512_mask_mov_ps(_mm512_add_ps(cv, delta), _mm512_cmp_ps_mask(delta, delta, _CMP_UNORD_Q), delta);
    _mm512_mask_storeu_ps(c, k, sum);
}
#define SLOT_AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline

// corruption_vectors for 8-wide vectors.
typedef struct {
    __m256i clear_bit, set_bit, flip_bit, clear_fixed;
} corruption_vectors8;

SLOT_AVX2 corruption_vectors8 corruption_vectors8_of(corruption how) {
    corruption_vectors8 v = {_mm256_set1_epi32((int)how.clear_bit), _mm256_set1_epi32((int)how.set_bit),
                             _mm256_set1_epi32((int)how.flip_bit), _mm256_set1_epi32((int)how.clear_fixed)};
    return v;
}

// correct16_avx512 for 8 columns whose lanes of `fails` are all ones, blended into C
// with a full-width store (AMD's masked stores are slow): the other 7 columns are
// rewritten unchanged, so all 8 must be the caller's to write.
SLOT_AVX2 void correct8_avx2(__m256 fails, __m256i e, const float *products, float *c,
                             const corruption_vectors8 *v) {
    __m256i mask = _mm256_sllv_epi32(_mm256_set1_epi32(1 << 23), e);
    __m256 p = _mm256_loadu_ps(products);
    __m256i bits = _mm256_castps_si256(p);
    __m256i clear = _mm256_or_si256(_mm256_and_si256(mask, v->clear_bit), v->clear_fixed);
    bits = _mm256_xor_si256(_mm256_or_si256(_mm256_andnot_si256(clear, bits), _mm256_and_si256(mask, v->set_bit)),
                            _mm256_and_si256(mask, v->flip_bit));
    __m256 delta = _mm256_sub_ps(_mm256_castsi256_ps(bits), p);
    __m256 cv = _mm256_loadu_ps(c);
    // A NaN difference is taken as is (see correct16_avx512).
    __m256 sum = _mm256_blendv_ps(_mm256_add_ps(cv, delta), delta, _mm256_cmp_ps(delta, delta, _CMP_UNORD_Q));
    _mm256_storeu_ps(c, _mm256_blendv_ps(cv, sum, fails));
}
#endif

#endif
