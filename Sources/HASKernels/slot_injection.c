// The fault simulator's slot-by-slot injection for high fault rates (see
// HASSlotInjection.h). In C because at rates of 1/16 and more a conv layer has
// tens of thousands of faults per image: the per-fault work must be a few
// instructions (no per-fault closure, struct or Optional), and the partial
// products of a tile are cheaper as one vectorised FMA pass over all its
// columns than as scattered dot products. Swift cannot compile one function
// for AVX-512 and pick it at run time.
#include "HASSlotInjection.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define GOLDEN_GAMMA 0x9E3779B97F4A7C15ULL

static inline uint64_t splitmix_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// outputs[i] = the stream's output number first + i + 1 after `state` (SplitMix64's
// n-th output is mix(state + n * gamma)): independent of one another, so vectorised.
#define FILL_OUTPUTS_BODY                                                           \
    for (int64_t i = 0; i < count; i++)                                             \
        outputs[i] = splitmix_mix(state + (uint64_t)(first + i + 1) * GOLDEN_GAMMA);

static void fill_outputs_generic(uint64_t *restrict outputs, uint64_t state, int64_t first, int64_t count) {
    FILL_OUTPUTS_BODY
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq,avx512vl")))
static void fill_outputs_avx512(uint64_t *restrict outputs, uint64_t state, int64_t first, int64_t count) {
    FILL_OUTPUTS_BODY
}
#endif

static int has_avx512(void) {
#if defined(__x86_64__)
    // Racing first callers store the same value.
    static volatile int level = -1;
    if (level < 0) level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
                           && __builtin_cpu_supports("avx512dq") ? 1 : 0;
    return level;
#else
    return 0;
#endif
}

static void fill_outputs(uint64_t *restrict outputs, uint64_t state, int64_t first, int64_t count) {
#if defined(__x86_64__)
    if (has_avx512()) { fill_outputs_avx512(outputs, state, first, count); return; }
#endif
    fill_outputs_generic(outputs, state, first, count);
}

// Stream outputs generated ahead of the walk at a time.
#define FILL_AHEAD 32

// Decides the tile's slots; returns the failing columns (ascending) and their draws.
// The slot-by-slot loop (FaultSampler.forEachFault) without branches on the
// random decisions: the stream's outputs are generated ahead, and the walk
// takes one word per pair of slots (low half first), then one draw per failing
// slot, so only the index of the next word carries from pair to pair.
static int64_t decide_slots(has_slot_stream *stream, uint64_t threshold, int64_t columns,
                            int32_t *fault_columns, uint64_t *draws, uint64_t *outputs) {
    uint64_t state = stream->state;
    int64_t count = 0, n = 0;
    if (columns == 0) return 0;
    if (stream->bits_left == 1) {
        // The high half of the last tile's last word decides slot 0.
        uint64_t u = stream->word & 0xFFFFFFFFULL;
        if (u < threshold) {
            state += GOLDEN_GAMMA;
            draws[0] = splitmix_mix(state);
            fault_columns[0] = 0;
            count = 1;
        }
        n = 1;
    }
    // outputs[j] is output j + 1 after `state`; `generated` of them are ready.
    int64_t j = 0, generated = 0;
    const int64_t pairs = (columns - n) / 2;
    for (int64_t pair = 0; pair < pairs; pair++, n += 2) {
        if (j + 3 > generated) {
            fill_outputs(outputs + generated, state, generated, FILL_AHEAD);
            generated += FILL_AHEAD;
        }
        uint64_t w = outputs[j];
        int64_t low = (w & 0xFFFFFFFFULL) < threshold, high = (w >> 32) < threshold;
        fault_columns[count] = (int32_t)n;
        draws[count] = outputs[j + 1];
        count += low;
        fault_columns[count] = (int32_t)(n + 1);
        draws[count] = outputs[j + 1 + low];
        count += high;
        j += 1 + low + high;
    }
    if (n < columns) {
        // One slot left: the low half of a new word; its high half waits for the next tile.
        if (j + 2 > generated) {
            fill_outputs(outputs + generated, state, generated, FILL_AHEAD);
            generated += FILL_AHEAD;
        }
        uint64_t w = outputs[j];
        int64_t low = (w & 0xFFFFFFFFULL) < threshold;
        fault_columns[count] = (int32_t)n;
        draws[count] = outputs[j + 1];
        count += low;
        j += 1 + low;
        stream->word = w >> 32;
        stream->bits_left = 1;
    } else {
        stream->word = 0;
        stream->bits_left = 0;
    }
    stream->state = state + (uint64_t)j * GOLDEN_GAMMA;
    return count;
}

// products[n] = the FMA chain over k of a[k] * b[k * s + n], for every column:
// each column is its own chain (k ascending, from 0), vectorised across columns.
#define TILE_PRODUCTS_BODY                                                          \
    for (int64_t n = 0; n < columns; n++) products[n] = 0.0f;                       \
    for (int64_t k = 0; k < length; k++) {                                          \
        const float ak = a[k];                                                      \
        const float *bk = b + k * s;                                                \
        for (int64_t n = 0; n < columns; n++) products[n] = __builtin_fmaf(ak, bk[n], products[n]); \
    }

static void tile_products_generic(const float *a, int64_t length, const float *b, int64_t s, int64_t columns,
                                  float *restrict products) {
    for (int64_t n = 0; n < columns; n++) products[n] = 0.0f;
    for (int64_t k = 0; k < length; k++) {
        const float ak = a[k];
        const float *bk = b + k * s;
        for (int64_t n = 0; n < columns; n++) products[n] = fmaf(ak, bk[n], products[n]);
    }
}

#if defined(__x86_64__)
// Eight vectors of 16 columns per pass, each accumulator one FMA chain per
// column over k (the last vectors masked): the bits of tile_products_generic.
__attribute__((target("avx512f,avx512vl,fma")))
static void tile_products_avx512(const float *a, int64_t length, const float *b, int64_t s, int64_t columns,
                                 float *restrict products) {
    for (int64_t n0 = 0; n0 < columns; n0 += 128) {
        __mmask16 mask[8];
        for (int v = 0; v < 8; v++) {
            int64_t left = columns - n0 - 16 * v;
            mask[v] = left >= 16 ? (__mmask16)0xFFFF : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
        }
        __m512 acc[8];
        for (int v = 0; v < 8; v++) acc[v] = _mm512_setzero_ps();
        const int vectors = columns - n0 >= 128 ? 8 : (int)((columns - n0 + 15) / 16);
        if (vectors == 8) {
            for (int64_t k = 0; k < length; k++) {
                const __m512 ak = _mm512_set1_ps(a[k]);
                const float *bk = b + k * s + n0;
                for (int v = 0; v < 8; v++) acc[v] = _mm512_fmadd_ps(ak, _mm512_maskz_loadu_ps(mask[v], bk + 16 * v), acc[v]);
            }
        } else {
            for (int64_t k = 0; k < length; k++) {
                const __m512 ak = _mm512_set1_ps(a[k]);
                const float *bk = b + k * s + n0;
                for (int v = 0; v < vectors; v++) acc[v] = _mm512_fmadd_ps(ak, _mm512_maskz_loadu_ps(mask[v], bk + 16 * v), acc[v]);
            }
        }
        for (int v = 0; v < vectors; v++) _mm512_mask_storeu_ps(products + n0 + 16 * v, mask[v], acc[v]);
    }
}

__attribute__((target("avx2,fma")))
static void tile_products_avx2(const float *a, int64_t length, const float *b, int64_t s, int64_t columns,
                               float *restrict products) {
    TILE_PRODUCTS_BODY
}
#endif

static void tile_products(const float *a, int64_t length, const float *b, int64_t s, int64_t columns,
                          float *restrict products) {
#if defined(__x86_64__)
    // Racing first callers store the same value.
    static volatile int level = -1;
    if (level < 0) level = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") ? 2
                           : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    if (level == 2) { tile_products_avx512(a, length, b, s, columns, products); return; }
    if (level == 1) { tile_products_avx2(a, length, b, s, columns, products); return; }
#endif
    tile_products_generic(a, length, b, s, columns, products);
}

static inline uint32_t corrupt(uint32_t bits, uint64_t draw, int32_t kind, int32_t exponent_bits) {
    // ErrorKind.exponentBit: hi32(draw) * count / 2^32.
    uint32_t mask = 1u << (23 + (uint32_t)(((draw >> 32) * (uint64_t)exponent_bits) >> 32));
    switch (kind) {
    case HAS_ERROR_FLIP0: return bits & ~mask;
    case HAS_ERROR_FLIP1: return bits | mask;
    case HAS_ERROR_BITFLIP: return bits ^ mask;
    case HAS_ERROR_TF32: return bits & ~(uint32_t)0x1FFF;
    default: return bits & ~(uint32_t)0xFFFF;
    }
}

int64_t has_inject_tile_slots(has_slot_stream *stream, uint64_t threshold, const float *a, int64_t length,
                              const float *b, int64_t b_row_stride, float *c, int64_t columns,
                              int32_t kind, int32_t exponent_bits, has_slot_scratch scratch) {
    int64_t count = decide_slots(stream, threshold, columns, scratch.fault_columns, scratch.draws, scratch.outputs);
    if (count == 0) return 0;
    float *products = scratch.products;
    tile_products(a, length, b, b_row_stride, columns, products);
    for (int64_t j = 0; j < count; j++) {
        int32_t n = scratch.fault_columns[j];
        float p = products[n], corrupted;
        uint32_t bits;
        memcpy(&bits, &p, sizeof bits);
        bits = corrupt(bits, scratch.draws[j], kind, exponent_bits);
        memcpy(&corrupted, &bits, sizeof bits);
        c[n] += corrupted - p;
    }
    return count;
}
