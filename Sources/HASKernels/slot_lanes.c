// The slot-by-slot walk of up to 16 images of one PE at once (see
// HASSlotInjection.h, has_decide_slot_lanes). One stream's walk is a chain:
// where the next slot pair's word sits depends on how many of the last pair
// failed, so has_decide_slots spends a dependent load per two pairs. The
// images of a PE share its threshold and differ only in their starting
// states, so here each 64-bit lane of a vector walks one image's stream,
// computing its outputs on the fly (output n of a SplitMix64 stream is
// mix(state + n * gamma)), without tables or branches. In C because Swift
// cannot compile a function for AVX-512 or AVX2 and pick it at run time.
#include "HASSlotInjection.h"
#include "HASSplitMix.h"
#include "HASKernelISA.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define GAMMA HAS_SPLITMIX_GAMMA

// The slow twin, straight from the walk's definition: per pair of slots one
// word (low half decides the even slot, high half the odd one), then one draw
// per failing slot, in that order.
static void decide_lanes_generic(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                                 int64_t stride, uint64_t *draws, uint8_t *fails) {
    const int64_t padded = (slots + 7) & ~(int64_t)7, row = stride / 8;
    for (int64_t i = 0; i < lanes; i++) {
        uint64_t x = states[i];
        uint64_t *d = draws + i * stride;
        uint8_t *f = fails + i * row;
        memset(f, 0, (size_t)(padded / 8));
        for (int64_t n = 0; n < padded; n += 2) {
            x += GAMMA;
            uint64_t w = has_splitmix_mix(x);
            if ((w & 0xFFFFFFFFULL) < threshold) {
                x += GAMMA;
                d[n] = has_splitmix_mix(x);
                f[n >> 3] |= (uint8_t)(1u << (n & 7));
            }
            if ((w >> 32) < threshold) {
                x += GAMMA;
                d[n + 1] = has_splitmix_mix(x);
                f[(n + 1) >> 3] |= (uint8_t)(1u << ((n + 1) & 7));
            }
        }
    }
}

// An 8×8 bit matrix in a word (bit 8r + c is row r, column c), transposed
// (Hacker's Delight, transpose8): byte n = slot n's lanes becomes byte i =
// lane i's slots.
static inline uint64_t transpose_bits8(uint64_t x) {
    uint64_t t;
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x = x ^ t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x = x ^ t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x = x ^ t ^ (t << 28);
    return x;
}

// Lanes first..first+7's fail bits of 8 slots (byte n of `m`: slot n, bit i: lane first + i).
static inline void store_fail_bits8(uint64_t m, uint8_t *fails, int64_t row, int64_t n0) {
    uint64_t t = transpose_bits8(m);
    for (int i = 0; i < 8; i++) fails[i * row + n0 / 8] = (uint8_t)(t >> (8 * i));
}

#if defined(__x86_64__)
#define AVX512_WALK __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw"), always_inline)) static inline

AVX512_WALK __m512i mix8(__m512i z) {
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ULL));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), _mm512_set1_epi64((long long)0x94D049BB133111EBULL));
    return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

// One pair of slots in 8 lanes (x: each lane's stream position): the word and
// both possible draws are computed, then picked by the failures.
AVX512_WALK void pair8(__m512i *x, __m512i threshold, __m512i *low_draw, __m512i *high_draw, uint64_t *low,
                       uint64_t *high) {
    const __m512i g = _mm512_set1_epi64((long long)GAMMA);
    const __m512i x1 = _mm512_add_epi64(*x, g), x2 = _mm512_add_epi64(x1, g), x3 = _mm512_add_epi64(x2, g);
    const __m512i w = mix8(x1), d1 = mix8(x2), d2 = mix8(x3);
    const __mmask8 l = _mm512_cmplt_epu64_mask(_mm512_and_si512(w, _mm512_set1_epi64(0xFFFFFFFFLL)), threshold);
    const __mmask8 h = _mm512_cmplt_epu64_mask(_mm512_srli_epi64(w, 32), threshold);
    *low_draw = d1;
    *high_draw = _mm512_mask_blend_epi64(l, d1, d2);
    __m512i next = _mm512_mask_add_epi64(x1, l, x1, g);
    *x = _mm512_mask_add_epi64(next, h, next, g);
    *low = l;
    *high = h;
}

// d[n] = slot n's draws of 8 lanes → lane i's draws of slots n0..n0+7 at draws + i * stride + n0.
AVX512_WALK void store_draws8(const __m512i d[8], uint64_t *draws, int64_t stride, int64_t n0) {
    const __m512i pair_low = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i pair_high = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    const __m512i half_low = _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 10, 11);
    const __m512i half_high = _mm512_setr_epi64(4, 5, 6, 7, 12, 13, 14, 15);
    __m512i a[8], b[8], lane[8];
    for (int q = 0; q < 4; q++) {
        a[2 * q] = _mm512_unpacklo_epi64(d[2 * q], d[2 * q + 1]);     // slots 2q, 2q+1 of lanes 0, 2, 4, 6
        a[2 * q + 1] = _mm512_unpackhi_epi64(d[2 * q], d[2 * q + 1]); // of lanes 1, 3, 5, 7
    }
    for (int h = 0; h < 2; h++) {       // slots 0–3, then 4–7
        for (int odd = 0; odd < 2; odd++) {
            __m512i u = a[4 * h + odd], v = a[4 * h + 2 + odd];
            b[4 * h + odd] = _mm512_permutex2var_epi64(u, pair_low, v);      // lanes odd, odd + 4
            b[4 * h + 2 + odd] = _mm512_permutex2var_epi64(u, pair_high, v); // lanes odd + 2, odd + 6
        }
    }
    for (int i = 0; i < 4; i++) {
        lane[i] = _mm512_permutex2var_epi64(b[i], half_low, b[4 + i]);
        lane[i + 4] = _mm512_permutex2var_epi64(b[i], half_high, b[4 + i]);
    }
    // b[0]: lanes 0/4, b[1]: 1/5, b[2]: 2/6, b[3]: 3/7 (slots 0–3); b[4..7] the same for slots 4–7.
    for (int i = 0; i < 8; i++) _mm512_storeu_si512((void *)(draws + i * stride + n0), lane[i]);
}

// G groups of 8 lanes (G = 1 or 2), walked side by side so that one group's
// chain (mix latency) overlaps the other's.
AVX512_WALK void decide_lanes_avx512_groups(const uint64_t *states, uint64_t threshold, int64_t slots,
                                            int64_t stride, uint64_t *draws, uint8_t *fails, const int G) {
    const int64_t padded = (slots + 7) & ~(int64_t)7, row = stride / 8;
    const __m512i t = _mm512_set1_epi64((long long)threshold);
    __m512i x[2];
    for (int g = 0; g < G; g++) x[g] = _mm512_loadu_si512((const void *)(states + 8 * g));
    for (int64_t n0 = 0; n0 < padded; n0 += 8) {
        __m512i d[2][8];
        uint64_t m[2] = {0, 0};
        for (int q = 0; q < 4; q++) {
            for (int g = 0; g < G; g++) {
                uint64_t low, high;
                pair8(&x[g], t, &d[g][2 * q], &d[g][2 * q + 1], &low, &high);
                m[g] |= low << (16 * q) | high << (16 * q + 8);
            }
        }
        for (int g = 0; g < G; g++) {
            store_draws8(d[g], draws + 8 * g * stride, stride, n0);
            store_fail_bits8(m[g], fails + 8 * g * row, row, n0);
        }
    }
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static void decide_lanes_avx512(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                                int64_t stride, uint64_t *draws, uint8_t *fails) {
    uint64_t padded_states[HAS_SLOT_LANES];
    for (int i = 0; i < HAS_SLOT_LANES; i++) padded_states[i] = states[i < lanes ? i : 0];
    if (lanes > 8) decide_lanes_avx512_groups(padded_states, threshold, slots, stride, draws, fails, 2);
    else decide_lanes_avx512_groups(padded_states, threshold, slots, stride, draws, fails, 1);
}
#endif

void has_decide_slot_lanes(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                           int64_t stride, uint64_t *draws, uint8_t *fails) {
#if defined(__x86_64__)
    if (has_isa() >= HAS_ISA_AVX512) {
        decide_lanes_avx512(states, lanes, threshold, slots, stride, draws, fails);
        return;
    }
#endif
    decide_lanes_generic(states, lanes, threshold, slots, stride, draws, fails);
}
