/* Fuzz target: the incremental capsule reader (RFC 9297 §3), datagram prefix, WT error codes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h3/capsule.h"
#include "wt/codes.h"
#include "fuzz_env.h"
#include "fuzz_digest.h"

/*
 * Input: byte 0 selects the bound (0 = default, else n * 64); byte 1 holds k
 * in its low 4 bits; the next k bytes are piece sizes; the rest is the data
 * stream of a CONNECT request. It is read in those pieces and all at once,
 * and the two readings must agree.
 */

static int run(size_t bound, const uint8_t *sizes, size_t k, const uint8_t *data, size_t len,
               fuzz_digest *d)
{
    h3_capsule_reader r;
    h3_capsule_reader_init(&r, bound, fuzz_env_counting());
    size_t off = 0, i = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t piece = k == 0 ? len - off : (size_t)(sizes[i++ % k]) + 1;
        if (piece > len - off)
            piece = len - off;
        size_t at = 0;
        while (at < piece) {
            size_t used;
            h3_capsule_event ev;
            rc = h3_capsule_reader_feed(&r, data + off + at, piece - at, &used, &ev);
            if (rc < 0)
                break;
            if (used > piece - at || (ev.type != H3_CEV_NONE && used == 0))
                abort();
            at += used;
            if (ev.type == H3_CEV_NONE) {
                if (at != piece)
                    abort();
                break;
            }
            d->events++;
            const h3_capsule *c = &ev.capsule;
            uint64_t rec[5] = {(uint64_t)ev.type, c->type, c->length, c->error_code,
                               c->format_type};
            fuzz_mix(d, rec, sizeof(rec));
            if (ev.type == H3_CEV_CAPSULE) {
                if (c->value_len != c->length || c->data_len > c->value_len)
                    abort();
                fuzz_mix(d, c->value, c->value_len);
                fuzz_mix(d, c->data, c->data_len);
                if (c->type == H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION &&
                    c->data_len > H3_CLOSE_WT_MAX_MESSAGE)
                    abort();
            }
        }
        off += piece;
    }
    int fin = h3_capsule_reader_finish(&r);
    if (rc < 0 && fin != rc)
        abort();
    h3_capsule_reader_free(&r);
    return rc < 0 ? rc : fin;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t bound = (size_t)data[0] * 64;
    size_t k = data[1] & 15;
    if (size < 2 + k)
        return 0;
    const uint8_t *sizes = data + 2;
    const uint8_t *stream = data + 2 + k;
    size_t len = size - 2 - k;

    fuzz_digest a = FUZZ_DIGEST_INIT, b = a;
    int ra = run(bound, sizes, k, stream, len, &a);
    int rb = run(bound, sizes, 0, stream, len, &b);
    if (ra != rb || a.h != b.h || a.events != b.events || *fuzz_live() != 0)
        abort();

    /* Whole-buffer decoding, the datagram prefix and the error code mapping. */
    h3_capsule c;
    size_t off = 0;
    for (int n; off < len && (n = h3_capsule_decode(stream + off, len - off, &c)) > 0;)
        off += (size_t)n;
    uint64_t sid;
    const uint8_t *p;
    size_t plen;
    if (h3_datagram_parse(stream, len, &sid, &p, &plen) == 0) {
        uint8_t pre[8];
        quince_writer w = quince_writer_init(pre, sizeof(pre));
        if (!h3_datagram_put_prefix(&w, sid) || (sid & 3) != 0)
            abort();
    }
    if (len >= 8) {
        uint64_t h = 0;
        for (int j = 0; j < 8; j++)
            h = (h << 8) | stream[j];
        h = H3_WT_APP_ERROR_FIRST + (h % (H3_WT_APP_ERROR_LAST - H3_WT_APP_ERROR_FIRST + 3)) - 1;
        uint32_t n;
        if (wt_error_from_http3(h, &n)) {
            if (wt_error_to_http3(n) != h || h3_is_grease(h))
                abort();
        } else if (h >= H3_WT_APP_ERROR_FIRST && h <= H3_WT_APP_ERROR_LAST && !h3_is_grease(h)) {
            abort();
        }
        uint32_t m = (uint32_t)(h ^ (h >> 32));
        uint64_t hm = wt_error_to_http3(m);
        if (h3_is_grease(hm) || !wt_error_from_http3(hm, &n) || n != m)
            abort();
    }
    return 0;
}
