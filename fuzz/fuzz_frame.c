/* fuzz_frame.c - libFuzzer target for the link codec (host/xnca_frame.c): the deframer, COBS
 * decoding, frame checks and every message unpacker on arbitrary wire bytes. Invariants: no
 * crash or sanitizer report, a frame that passes the checks re-encodes to the same body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xnca_frame.h"

#define MAX_PAYLOAD 1024

static void check_frame(const uint8_t *enc, size_t n)
{
    static uint8_t body[MAX_PAYLOAD + XNCA_FRAME_OVERHEAD], wire[2 * MAX_PAYLOAD + 64];
    xnca_frame f;
    int st = xnca_frame_parse(enc, n, MAX_PAYLOAD, body, sizeof body, &f);
    if (st != XNCA_ST_OK)
        return;
    /* a good frame re-encodes to the same wire bytes (COBS is canonical) */
    size_t w = xnca_frame_build(f.op, f.tag, f.payload, f.len, wire);
    if (w != n + 2 || memcmp(wire + 1, enc, n) != 0)
        abort();
    xnca_classify_msg c;
    xnca_classify_unpack_head(f.payload, f.len, &c);
    if (f.len >= XNCA_INFO_BYTES) {
        xnca_info_msg info;
        xnca_info_unpack(f.payload, &info);
        if (strlen(info.board) > 16)
            abort();
    }
    if (f.len >= XNCA_DESC_BYTES) {
        xnca_desc_msg d;
        xnca_desc_unpack(f.payload, &d);
        (void)xnca_desc_weight_bytes(&d);
    }
    if (f.len >= 4) {
        uint8_t levels[64 * 64];
        int b = 1 + f.payload[0] % 4, wdt = 8 + f.payload[1] % 57, h = 8 + f.payload[2] % 57;
        if (xnca_grid_bytes(wdt, h, b) <= f.len)
            xnca_grid_unpack(f.payload, wdt, h, b, levels);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xnca_deframer d;
    if (xnca_deframer_init(&d, xnca_cobs_max(MAX_PAYLOAD + XNCA_FRAME_OVERHEAD)) < 0)
        return 0;
    size_t pos = 0, raw = 0;
    while (xnca_deframer_feed(&d, data, size, &pos)) {
        raw += d.raw;
        if (!d.overlong)
            check_frame(d.buf, d.n);
        xnca_deframer_next(&d);
    }
    if (raw + d.raw != size) /* every byte is accounted for (the credit depends on it) */
        abort();
    xnca_deframer_free(&d);
    /* COBS round trip of the raw input */
    uint8_t *enc = malloc(xnca_cobs_max(size)), *dec = malloc(size + 1);
    size_t m = xnca_cobs_encode(data, size, enc);
    if (memchr(enc, 0, m) || xnca_cobs_decode(enc, m, dec, size + 1) != (long)size || memcmp(dec, data, size))
        abort();
    free(enc);
    free(dec);
    return 0;
}
