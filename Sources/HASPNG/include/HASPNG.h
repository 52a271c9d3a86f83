#ifndef HAS_PNG_H
#define HAS_PNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Decodes a PNG held in memory to 8-bit gray, row-major.
///
/// Every valid PNG is accepted: gray, RGB, palette, with or without alpha or
/// tRNS, 1 to 16 bits per sample, interlaced or not. Samples are display
/// values as stored (no gamma conversion: 16-bit samples are scaled by 255/65535
/// and rounded, low bit depths scaled to 0…255); colour becomes gray with the
/// Rec. 709 weights; alpha composites onto black.
///
/// Width and height are checked against `max_side` and `max_pixels` before
/// anything is allocated for the pixels. On success returns 1 and sets `*pixels`
/// (malloc'd, width × height bytes; the caller frees it), `*width` and
/// `*height`. An image larger than the limits returns 2 with `*width` and
/// `*height` set and nothing allocated. On failure returns 0 and writes a one-line reason into `message`.
int has_png_decode_gray(const uint8_t *data, size_t size, int64_t max_side, int64_t max_pixels,
                        uint8_t **pixels, int64_t *width, int64_t *height, char *message, size_t message_size);

#ifdef __cplusplus
}
#endif

#endif
