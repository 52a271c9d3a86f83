// ErrorKind.corrupt for the slot kernels (slot_injection.c, slot_lanes.c):
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

// exponent_bit_of for the draws of the 16 columns of mask k (as 32-bit lanes).
SLOT_AVX512 __m512i exponent_bits16_avx512(__mmask16 k, const uint64_t *draw, int32_t exponent_bits) {
    const __m512i count = _mm512_set1_epi64(exponent_bits);
    __m512i d0 = _mm512_maskz_loadu_epi64((__mmask8)k, draw);
    __m512i d1 = _mm512_maskz_loadu_epi64((__mmask8)(k >> 8), draw + 8);
    __m512i e0 = _mm512_srli_epi64(_mm512_mul_epu32(_mm512_srli_epi64(d0, 32), count), 32);
    __m512i e1 = _mm512_srli_epi64(_mm512_mul_epu32(_mm512_srli_epi64(d1, 32), count), 32);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(e0)), _mm512_cvtepi64_epi32(e1), 1);
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
    // (Swift's `c += corrupted - p`, apply_generic) compile to addss with the difference
    // first. The compiler may swap the operands of an add, so a NaN difference is taken as is.
    __m512 sum = _mm512_mask_mov_ps(_mm512_add_ps(cv, delta), _mm512_cmp_ps_mask(delta, delta, _CMP_UNORD_Q), delta);
    _mm512_mask_storeu_ps(c, k, sum);
}
#endif

#endif
