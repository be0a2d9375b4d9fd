/* Fuzz target: the streaming HTTP/3 frame reader (RFC 9114 §7) and SETTINGS decoding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h3/frame.h"
#include "h3/settings.h"
#include "fuzz_env.h"
#include "fuzz_digest.h"

/*
 * Input: byte 0 configures the reader (bits 0-1 role, bit 2 local is server,
 * bit 3 WebTransport, bits 4-6 the buffering bound 64 << n); byte 1 holds k in
 * its low 4 bits; the next k bytes are piece sizes (0 = one byte); the rest is
 * the stream. The stream is read twice, in those pieces and all at once, and
 * the two readings must agree; each SETTINGS frame is decoded, re-encoded and
 * decoded again.
 */

static void check_settings(const uint8_t *payload, size_t len)
{
    h3_settings s, again;
    if (h3_settings_decode(payload, len, &s) != 0)
        return;
    static uint8_t buf[4096];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    if (!h3_settings_put_frame(&w, &s, len))
        abort(); /* whatever was decoded can be sent again */
    h3_frame f;
    int n = h3_frame_decode(buf, (size_t)(w.p - buf), &f);
    if (n != (int)(w.p - buf) || h3_settings_decode(f.payload, f.payload_len, &again) != 0)
        abort();
    if (again.present != s.present || again.n_extra != s.n_extra ||
        again.qpack_max_table_capacity != s.qpack_max_table_capacity ||
        again.max_field_section_size != s.max_field_section_size ||
        again.qpack_blocked_streams != s.qpack_blocked_streams ||
        again.enable_connect_protocol != s.enable_connect_protocol ||
        again.h3_datagram != s.h3_datagram || again.h3_datagram_draft04 != s.h3_datagram_draft04 ||
        again.enable_webtransport != s.enable_webtransport)
        abort();
    for (size_t i = 0; i < s.n_extra; i++)
        if (again.extra[i].id != s.extra[i].id || again.extra[i].value != s.extra[i].value)
            abort();
}

static void record(fuzz_digest *d, const h3_frame_event *ev)
{
    if (ev->type == H3_FEV_DATA || ev->type == H3_FEV_WT_DATA) {
        fuzz_mix(d, ev->data, ev->len); /* pieces of a payload hash as one stream */
        return;
    }
    d->events++;
    uint64_t rec[4] = {(uint64_t)ev->type, ev->frame.type, ev->frame.length, ev->frame.id};
    fuzz_mix(d, rec, sizeof(rec));
    if (ev->type == H3_FEV_FRAME) {
        fuzz_mix(d, ev->frame.payload, ev->frame.payload_len);
        if (ev->frame.type == H3_FRAME_SETTINGS)
            check_settings(ev->frame.payload, ev->frame.payload_len);
    }
}

static int run(const h3_frame_reader_config *cfg, const uint8_t *sizes, size_t k,
               const uint8_t *data, size_t len, fuzz_digest *d)
{
    h3_frame_reader r;
    h3_frame_reader_init(&r, cfg, fuzz_env_counting());
    size_t off = 0, i = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t piece = k == 0 ? len - off : (size_t)(sizes[i++ % k]) + 1;
        if (piece > len - off)
            piece = len - off;
        size_t at = 0;
        while (at < piece) {
            size_t used;
            h3_frame_event ev;
            rc = h3_frame_reader_feed(&r, data + off + at, piece - at, &used, &ev);
            if (rc < 0)
                break;
            if (used > piece - at || (ev.type != H3_FEV_NONE && used == 0))
                abort();
            at += used;
            if (ev.type == H3_FEV_NONE) {
                if (at != piece)
                    abort();
                break;
            }
            record(d, &ev);
        }
        off += piece;
    }
    int fin = h3_frame_reader_finish(&r);
    if (rc < 0 && fin != rc)
        abort(); /* errors are sticky */
    h3_frame_reader_free(&r);
    return rc < 0 ? rc : fin;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    h3_frame_reader_config cfg = {
        .role = (h3_stream_role)(data[0] & 3),
        .local_is_server = (data[0] & 4) != 0,
        .webtransport = (data[0] & 8) != 0,
        .max_frame_payload = (size_t)64 << ((data[0] >> 4) & 7),
    };
    size_t k = data[1] & 15;
    if (size < 2 + k)
        return 0;
    const uint8_t *sizes = data + 2;
    const uint8_t *stream = data + 2 + k;
    size_t len = size - 2 - k;

    fuzz_digest a = FUZZ_DIGEST_INIT, b = a;
    int ra = run(&cfg, sizes, k, stream, len, &a);
    int rb = run(&cfg, sizes, 0, stream, len, &b);
    if (ra != rb || a.h != b.h || a.events != b.events)
        abort();
    if (*fuzz_live() != 0)
        abort();

    /* The pure helpers on the same bytes. */
    h3_uni_header uh;
    uint64_t sid;
    h3_frame f;
    (void)h3_uni_header_parse(stream, len, cfg.webtransport, &uh);
    (void)h3_wt_bidi_header_parse(stream, len, &sid);
    size_t off = 0;
    for (int n; off < len && (n = h3_frame_decode(stream + off, len - off, &f)) > 0;)
        off += (size_t)n;
    return 0;
}
