// PNG decoding through libpng's full API. C, not Swift: libpng reports errors
// by longjmp, which Swift code cannot survive; here every libpng call runs
// under a setjmp owned by this file. (libpng's simplified API, callable from
// Swift, takes 16-bit files without gAMA as linear light and mis-decodes the
// first row of interlaced 16-bit images in libpng 1.6.39.)
#include "HASPNG.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    jmp_buf jump;
    const uint8_t *data;
    size_t size, offset;
    char *message;
    size_t message_size;
} reader;

static void on_error(png_structp png, png_const_charp text) {
    reader *r = (reader *)png_get_error_ptr(png);
    snprintf(r->message, r->message_size, "%s", text);
    longjmp(r->jump, 1);
}

static void on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void on_read(png_structp png, png_bytep out, size_t count) {
    reader *r = (reader *)png_get_io_ptr(png);
    if (count > r->size - r->offset) png_error(png, "file ends early (truncated)");
    memcpy(out, r->data + r->offset, count);
    r->offset += count;
}

int has_png_decode_gray(const uint8_t *data, size_t size, int64_t max_side, int64_t max_pixels,
                        uint8_t **pixels, int64_t *width, int64_t *height, char *message, size_t message_size) {
    reader r;
    r.data = data;
    r.size = size;
    r.offset = 0;
    r.message = message;
    r.message_size = message_size;
    if (message_size > 0) message[0] = 0;
    *pixels = NULL;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, on_error, on_warning);
    if (!png) {
        snprintf(message, message_size, "out of memory");
        return 0;
    }
    png_infop info = png_create_info_struct(png);
    // Written after setjmp and read after a longjmp: volatile.
    uint8_t *volatile decoded = NULL;
    uint8_t *volatile gray = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(r.jump)) {
        if (rows) png_free(png, rows);
        if (!info && message_size > 0) snprintf(message, message_size, "out of memory");
        free(decoded);
        free(gray);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return 0;
    }
    png_set_read_fn(png, &r, on_read);
    // Ancillary chunks (text, ICC profiles) may not make libpng allocate more than this.
    png_set_chunk_malloc_max(png, 8u << 20);
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((int64_t)w > max_side || (int64_t)h > max_side || (int64_t)w * (int64_t)h > max_pixels) {
        *width = w;
        *height = h;
        png_destroy_read_struct(&png, &info, NULL);
        return 2;
    }
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    if (color & PNG_COLOR_MASK_COLOR || color == PNG_COLOR_TYPE_PALETTE)
        png_set_rgb_to_gray_fixed(png, 1, -1, -1);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t channels = png_get_channels(png, info), row_bytes = png_get_rowbytes(png, info);
    if (channels < 1 || channels > 2 || row_bytes != channels * (size_t)w)
        png_error(png, "unexpected pixel layout after conversion to gray");
    decoded = malloc(row_bytes * h);
    if (!decoded) png_error(png, "out of memory");
    rows = png_malloc(png, sizeof(png_bytep) * h);
    for (png_uint_32 y = 0; y < h; y++) rows[y] = decoded + y * row_bytes;
    png_read_image(png, rows);
    png_free(png, rows);
    rows = NULL;
    png_read_end(png, NULL);

    if (channels == 2) {
        // Gray + alpha composited onto black: round(g · a / 255).
        gray = malloc((size_t)w * h);
        if (!gray) png_error(png, "out of memory");
        for (size_t i = 0; i < (size_t)w * h; i++) {
            unsigned v = (unsigned)decoded[2 * i] * decoded[2 * i + 1];
            gray[i] = (uint8_t)((v + 127) / 255);
        }
        free(decoded);
        decoded = gray;
        gray = NULL;
    }
    png_destroy_read_struct(&png, &info, NULL);
    *pixels = decoded;
    *width = w;
    *height = h;
    return 1;
}
