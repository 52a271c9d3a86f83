// The fault simulator's slot-by-slot walk of one stream for high fault rates
// (see HASSlotInjection.h), for the Swift samplers. In C because at rates of
// 1/16 and more a layer has tens of thousands of faults per image: the
// per-slot work must be a few instructions, and Swift cannot compile one
// function for AVX-512 and pick it at run time. The injector walks the
// streams of a group of images at once instead (slot_lanes.c).
#include "HASSlotInjection.h"
#include "HASSplitMix.h"
#include "HASKernelISA.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define GOLDEN_GAMMA HAS_SPLITMIX_GAMMA
#define splitmix_mix has_splitmix_mix

// The walk over a tile's slots reads the stream's outputs, generated ahead:
// outputs[i] is output i + 1 after the tile's starting state (SplitMix64's n-th
// output is mix(state + n * gamma), so they are independent and vectorised).
// If output i is a pair's word, failures[i] of its two 32-bit halves fail, the
// next failures[i] outputs are their draws, and the next pair's word is output
// i + 1 + failures[i]; two_pairs[i] is how far the word after next is.
typedef struct {
    uint64_t *outputs;
    uint8_t *failures;
    uint8_t *two_pairs;
    uint64_t state;
    uint64_t threshold;
    int64_t generated;
} slot_walk;

// Stream outputs generated at a time.
#define FILL_AHEAD 64

// Outputs and failures of outputs [first, first + count).
#define FILL_OUTPUTS_BODY                                                           \
    for (int64_t i = first; i < first + count; i++) {                               \
        uint64_t w = splitmix_mix(state + (uint64_t)(i + 1) * GOLDEN_GAMMA);        \
        outputs[i] = w;                                                             \
        failures[i] = (uint8_t)(((w & 0xFFFFFFFFULL) < threshold) + ((w >> 32) < threshold)); \
    }

// two_pairs[i] for i in [from, to): needs failures up to to + 2.
static void two_pairs_generic(const uint8_t *restrict failures, uint8_t *restrict two_pairs, int64_t from, int64_t to) {
    for (int64_t i = from; i < to; i++) {
        uint8_t c = failures[i];
        two_pairs[i] = (uint8_t)(2 + c + failures[i + 1 + c]);
    }
}

static void fill_outputs_generic(uint64_t *restrict outputs, uint8_t *restrict failures, uint64_t state,
                                 uint64_t threshold, int64_t first, int64_t count) {
    FILL_OUTPUTS_BODY
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw")))
static void fill_outputs_avx512(uint64_t *restrict outputs, uint8_t *restrict failures, uint64_t state,
                                uint64_t threshold, int64_t first, int64_t count) {
    FILL_OUTPUTS_BODY
}

// 64 at a time (may write up to 63 entries past `to`, and read failures up to
// 66 past `from` of the last block: the scratch has room, and those entries
// are computed again by the next fill before they are read).
__attribute__((target("avx512f,avx512bw")))
static void two_pairs_avx512(const uint8_t *restrict failures, uint8_t *restrict two_pairs, int64_t from, int64_t to) {
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi8(1), two = _mm512_set1_epi8(2);
    for (int64_t i = from; i < to; i += 64) {
        __m512i c = _mm512_loadu_si512(failures + i);
        __m512i f1 = _mm512_loadu_si512(failures + i + 1), f2 = _mm512_loadu_si512(failures + i + 2);
        __m512i f3 = _mm512_loadu_si512(failures + i + 3);
        __m512i next = _mm512_or_si512(
            _mm512_or_si512(_mm512_maskz_mov_epi8(_mm512_cmpeq_epi8_mask(c, zero), f1),
                            _mm512_maskz_mov_epi8(_mm512_cmpeq_epi8_mask(c, one), f2)),
            _mm512_maskz_mov_epi8(_mm512_cmpeq_epi8_mask(c, two), f3));
        _mm512_storeu_si512(two_pairs + i, _mm512_add_epi8(_mm512_add_epi8(c, next), two));
    }
}
#endif

static int has_avx512(void) { return has_isa() >= HAS_ISA_AVX512; }

// FILL_AHEAD more outputs; two_pairs is then valid below generated - 3.
static inline void fill(slot_walk *walk) {
    int64_t g = walk->generated, from = g >= 3 ? g - 3 : 0, to = g + FILL_AHEAD - 3;
#if defined(__x86_64__)
    if (has_avx512()) {
        fill_outputs_avx512(walk->outputs, walk->failures, walk->state, walk->threshold, g, FILL_AHEAD);
        two_pairs_avx512(walk->failures, walk->two_pairs, from, to);
        walk->generated = g + FILL_AHEAD;
        return;
    }
#endif
    fill_outputs_generic(walk->outputs, walk->failures, walk->state, walk->threshold, g, FILL_AHEAD);
    two_pairs_generic(walk->failures, walk->two_pairs, from, to);
    walk->generated = g + FILL_AHEAD;
}

// Decides the tile's slots: failed[n] = -1 if slot n fails (else 0), draw[n]
// its draw (meaningless where it does not fail). Returns the number of faults.
// The slot-by-slot loop of FaultSampler.forEachFault without branches on the
// random decisions: one word per pair of slots (low half first), then one draw
// per failing slot. Only the index of the next word carries from pair to pair,
// and two_pairs makes that one table lookup per two pairs.
static int64_t decide_slots(has_slot_stream *stream, uint64_t threshold, int64_t columns, has_slot_scratch scratch) {
    int32_t *restrict failed = scratch.failed;
    uint64_t *restrict draw = scratch.draws;
    uint64_t state = stream->state;
    int64_t count = 0, n = 0;
    if (columns == 0) return 0;
    if (stream->bits_left == 1) {
        // The high half of the last tile's last word decides slot 0.
        uint64_t u = stream->word & 0xFFFFFFFFULL;
        failed[0] = 0;
        if (u < threshold) {
            state += GOLDEN_GAMMA;
            draw[0] = splitmix_mix(state);
            failed[0] = -1;
            count = 1;
        }
        n = 1;
    }
    slot_walk walk = {scratch.outputs, scratch.failures, scratch.two_pairs, state, threshold, 0};
    const uint64_t *outputs = scratch.outputs;
    int64_t j = 0;
    const int64_t pairs = (columns - n) / 2;
    int64_t pair = 0;
    for (; pair + 2 <= pairs; pair += 2, n += 4) {
        if (j + 6 > walk.generated) fill(&walk);
        uint64_t w0 = outputs[j];
        int64_t l0 = (w0 & 0xFFFFFFFFULL) < threshold, h0 = (w0 >> 32) < threshold;
        int64_t j1 = j + 1 + l0 + h0;
        uint64_t w1 = outputs[j1];
        int64_t l1 = (w1 & 0xFFFFFFFFULL) < threshold, h1 = (w1 >> 32) < threshold;
        failed[n] = -(int32_t)l0;
        draw[n] = outputs[j + 1];
        failed[n + 1] = -(int32_t)h0;
        draw[n + 1] = outputs[j + 1 + l0];
        failed[n + 2] = -(int32_t)l1;
        draw[n + 2] = outputs[j1 + 1];
        failed[n + 3] = -(int32_t)h1;
        draw[n + 3] = outputs[j1 + 1 + l1];
        count += (l0 + h0) + (l1 + h1);
        j += walk.two_pairs[j];
    }
    if (pair < pairs) {
        if (j + 3 > walk.generated) fill(&walk);
        uint64_t w = outputs[j];
        int64_t low = (w & 0xFFFFFFFFULL) < threshold, high = (w >> 32) < threshold;
        failed[n] = -(int32_t)low;
        draw[n] = outputs[j + 1];
        failed[n + 1] = -(int32_t)high;
        draw[n + 1] = outputs[j + 1 + low];
        count += low + high;
        j += 1 + low + high;
        n += 2;
    }
    if (n < columns) {
        // One slot left: the low half of a new word; its high half waits for the next tile.
        if (j + 2 > walk.generated) fill(&walk);
        uint64_t w = outputs[j];
        int64_t low = (w & 0xFFFFFFFFULL) < threshold;
        failed[n] = -(int32_t)low;
        draw[n] = outputs[j + 1];
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

int64_t has_decide_slots(has_slot_stream *stream, uint64_t threshold, int64_t slots, has_slot_scratch scratch) {
    return decide_slots(stream, threshold, slots, scratch);
}

int has_slot_injection_is_fast(void) {
#if defined(__x86_64__)
    return has_isa_supported(HAS_ISA_AVX2);
#else
    return 1;
#endif
}
