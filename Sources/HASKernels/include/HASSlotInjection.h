#ifndef HAS_SLOT_INJECTION_H
#define HAS_SLOT_INJECTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One PE's random stream while its slots are decided one by one (the fault
/// sampler's slot-by-slot mode): a SplitMix64 state and the 32-bit halves of
/// the last word not used yet. Carried from one tile of the PE to the next.
typedef struct {
    uint64_t state;
    uint64_t word;
    int64_t bits_left;
} has_slot_stream;

/// The error kinds (ErrorKind in Swift), as the slot kernels take them.
enum {
    HAS_ERROR_FLIP0 = 0,
    HAS_ERROR_FLIP1 = 1,
    HAS_ERROR_BITFLIP = 2,
    HAS_ERROR_TF32 = 3,
    HAS_ERROR_BF16 = 4,
    HAS_ERROR_ZERO = 5,
};

/// Scratch of the one-stream walk (has_decide_slots) for up to `columns` slots
/// at a time: failure flags and draws; has_slot_outputs(columns) stream
/// outputs, failures and two_pairs (see slot_injection.c).
typedef struct {
    int32_t *failed;
    uint64_t *draws;
    uint64_t *outputs;
    uint8_t *failures;
    uint8_t *two_pairs;
} has_slot_scratch;

/// Stream outputs the walk may generate ahead for `columns` slots
/// (at most 3 per pair of slots, plus one fill of 64 and a margin).
static inline int64_t has_slot_outputs(int64_t columns) { return 2 * columns + 160; }

/// The slot-by-slot walk of one stream, for the Swift samplers (the sweep, the
/// planner's evaluators): decides the next `slots` slots of `stream`. Slot n fails
/// when the next 32 random bits (low half of a 64-bit output first) are below
/// `threshold`; a failing slot then takes the stream's next output as its draw
/// (ErrorKind.corrupt). scratch.failed[n] = -1 where slot n fails (else 0)
/// and scratch.draws[n] its draw. The stream
/// carries on as after those slots (a word's unused high half included), so
/// deciding a PE's slots tile by tile or all at once is the same.
/// Returns the number of faults.
int64_t has_decide_slots(has_slot_stream *stream, uint64_t threshold, int64_t slots, has_slot_scratch scratch);

/// Streams has_decide_slot_codes walks at once: the images of one PE.
#define HAS_SLOT_LANES 16

/// has_decide_slot_codes's code of a slot that does not fail.
#define HAS_SLOT_PASSES 0xFF

/// The slot-by-slot walk of has_decide_slots for the streams of up to
/// HAS_SLOT_LANES images of one PE at once, each from its start (state
/// `states[i]`, no carried word) over its first `slots` slots, written as one
/// byte per slot: codes[i * stride + n] is HAS_SLOT_PASSES where slot n of
/// lane i does not fail, else the exponent bit its draw picks
/// (ErrorKind.exponentBit with `exponent_bits` bits), the only thing a
/// correction needs of the draw. `stride` is a multiple of 8 and at least
/// `slots`; `codes` holds HAS_SLOT_LANES lanes (lanes ≥ `lanes`, and slots
/// from `slots` to the next multiple of 8, get meaningless codes).
/// The images share the PE's threshold, so their streams walk side by side in
/// the lanes of a vector (one stream's walk is a chain of dependent steps).
void has_decide_slot_codes(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                           int64_t stride, int32_t exponent_bits, uint8_t *codes);

/// has_decide_slot_codes with the codes slot-major: codes[n * HAS_SLOT_LANES + i]
/// (slots from `slots` to the next multiple of 8 get meaningless codes).
void has_decide_slot_codes_by_slot(const uint64_t *states, int64_t lanes, uint64_t threshold, int64_t slots,
                                   int32_t exponent_bits, uint8_t *codes);

/// The dense per-tile strategy for a group of `lanes` (≤ HAS_SLOT_LANES) images of
/// one PE (block, thread) whose first `count` slots, one per tile
/// q = block + j * blocks, were decided by has_decide_slot_codes_by_slot: for
/// every slot j in order, r = l * threads + thread with (l, m) = (q / k_tiles,
/// q % k_tiles), row = permutation[r] (r without one), and for every image i
/// whose code fails, P = products[(row * k_tiles + m) * HAS_SLOT_LANES + i] and
/// c_images[i][row * c_row_stride] += P~ - P. Returns the number of faults.
int64_t has_apply_dense_codes(const uint8_t *codes, int64_t count, int64_t lanes, int64_t block, int64_t thread,
                              int64_t blocks, int64_t threads, int64_t k_tiles, const int32_t *permutation,
                              const float *products, float *const *c_images, int64_t c_row_stride, int32_t kind);

/// Whether any of codes[0..<count] is a fault.
int has_slot_codes_fail(const uint8_t *codes, int64_t count);

/// P of `count` rows of one K tile: products[r * products_stride + n] = the FMA
/// chain over k in [0, length) of a_rows[r][k] * b[k * b_row_stride + n], k
/// ascending, from 0 (has_partial_product), for n < columns (B's columns contiguous).
void has_tile_products_rows(const float *const *a_rows, int64_t count, int64_t length, const float *b,
                            int64_t b_row_stride, int64_t columns, float *products, int64_t products_stride);

/// The corrections of one row of one tile: for every column n < columns whose
/// code is not HAS_SLOT_PASSES, in ascending order, c[n] += P~ - P (in float)
/// with P = products[n] and P~ = P corrupted by `kind` at exponent bit codes[n]
/// (ErrorKind.corrupt's bit operations, then the float difference).
/// Returns the number of faults.
int64_t has_apply_slot_codes(const uint8_t *codes, const float *products, float *c, int64_t columns, int32_t kind);

/// Whether has_tile_products_rows runs on hardware FMA (x86-64 without FMA: fmaf
/// from libm for every column of a tile, slower than one dot product per fault).
int has_slot_injection_is_fast(void);

#ifdef __cplusplus
}
#endif

#endif
