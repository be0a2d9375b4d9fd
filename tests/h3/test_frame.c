/* Tests for h3/frame.c: frames of RFC 9114 §7, stream headers of §6.2, the streaming reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "h3/frame.h"
#include "h3/settings.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

#define WIRE_ERR(code) H3_WIRE_ERROR(code)

/* ---- Whole-frame encode/decode ---- */

static void check_truncations(const uint8_t *buf, size_t len)
{
    h3_frame f;
    assert_int_equal(h3_frame_decode(buf, len, &f), (int)len);
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(h3_frame_decode(buf, cut, &f), H3_WIRE_NEED_MORE);
    /* A stream that ends (FIN) inside the frame is H3_FRAME_ERROR (RFC 9114 §7.1). */
    test_env t;
    test_env_init(&t, 5);
    h3_frame_reader_config cfg = {.role = H3_ROLE_ANY, .max_frame_payload = 1 << 20};
    for (size_t cut = 1; cut < len; cut++) {
        h3_frame_reader r;
        h3_frame_reader_init(&r, &cfg, &t.env);
        size_t at = 0, used;
        h3_frame_event ev;
        do {
            assert_int_equal(h3_frame_reader_feed(&r, buf + at, cut - at, &used, &ev), 0);
            at += used;
        } while (ev.type != H3_FEV_NONE && at < cut);
        assert_int_equal(h3_frame_reader_finish(&r), H3_WIRE_ERROR(H3_FRAME_ERROR));
        h3_frame_reader_free(&r);
    }
    test_env_check_leaks(&t);
}

static void test_known_answers(void **state)
{
    (void)state;
    uint8_t buf[64];
    quince_writer w;
    /* RFC 9114 §7.2.6: GOAWAY carrying stream ID 4. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_frame_put_goaway(&w, 4));
    const uint8_t goaway[] = {0x07, 0x01, 0x04};
    assert_int_equal(w.p - buf, sizeof(goaway));
    assert_memory_equal(buf, goaway, sizeof(goaway));
    /* MAX_PUSH_ID 16383: a two-byte varint payload. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_frame_put_max_push_id(&w, 16383));
    const uint8_t mpi[] = {0x0d, 0x02, 0x7f, 0xff};
    assert_memory_equal(buf, mpi, sizeof(mpi));
    /* CANCEL_PUSH 64. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_frame_put_cancel_push(&w, 64));
    const uint8_t cp[] = {0x03, 0x02, 0x40, 0x40};
    assert_memory_equal(buf, cp, sizeof(cp));
    /* DATA "abc", HEADERS with a two-byte section, PUSH_PROMISE 1 + section. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_frame_put_data(&w, (const uint8_t *)"abc", 3));
    assert_true(h3_frame_put_headers(&w, (const uint8_t *)"\x00\x00", 2));
    assert_true(h3_frame_put_push_promise(&w, 1, (const uint8_t *)"\x00\x00\xd1", 3));
    const uint8_t seq[] = {0x00, 0x03, 'a',  'b',  'c',  0x01, 0x02, 0x00,
                           0x00, 0x05, 0x04, 0x01, 0x00, 0x00, 0xd1};
    assert_int_equal(w.p - buf, sizeof(seq));
    assert_memory_equal(buf, seq, sizeof(seq));
    /* A GREASE frame: type 0x1f * 2 + 0x21 = 0x5f as a two-byte varint. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_frame_put_grease(&w, 2, (const uint8_t *)"x", 1));
    const uint8_t gr[] = {0x40, 0x5f, 0x01, 'x'};
    assert_memory_equal(buf, gr, sizeof(gr));
    assert_int_equal(h3_frame_header_len(0x5f, 1), 3);
}

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    static uint8_t big[20000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    const uint64_t ids[] = {0, 1, 63, 64, 16383, 16384, 1073741823, 1073741824, QUINCE_VARINT_MAX};
    static uint8_t buf[20100];
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const uint64_t types[] = {H3_FRAME_CANCEL_PUSH, H3_FRAME_GOAWAY, H3_FRAME_MAX_PUSH_ID};
        for (size_t t = 0; t < 3; t++) {
            quince_writer w = quince_writer_init(buf, sizeof(buf));
            bool ok = types[t] == H3_FRAME_CANCEL_PUSH ? h3_frame_put_cancel_push(&w, ids[i])
                      : types[t] == H3_FRAME_GOAWAY    ? h3_frame_put_goaway(&w, ids[i])
                                                       : h3_frame_put_max_push_id(&w, ids[i]);
            assert_true(ok);
            size_t len = (size_t)(w.p - buf);
            assert_int_equal(len, 2 + quince_varint_len(ids[i]));
            h3_frame f;
            assert_int_equal(h3_frame_decode(buf, len, &f), (int)len);
            assert_int_equal(f.type, types[t]);
            assert_int_equal(f.id, ids[i]);
            check_truncations(buf, len);
            /* Too small a buffer fails, at every size. */
            for (size_t cap = 0; cap < len; cap++) {
                quince_writer s = quince_writer_init(buf, cap);
                assert_false(types[t] == H3_FRAME_GOAWAY ? h3_frame_put_goaway(&s, ids[i])
                                                         : h3_frame_put_cancel_push(&s, ids[i]));
                assert_true(s.overflow);
            }
        }
        /* PUSH_PROMISE with this push ID and a section. */
        quince_writer w = quince_writer_init(buf, sizeof(buf));
        assert_true(h3_frame_put_push_promise(&w, ids[i], big, 100));
        size_t len = (size_t)(w.p - buf);
        h3_frame f;
        assert_int_equal(h3_frame_decode(buf, len, &f), (int)len);
        assert_int_equal(f.type, H3_FRAME_PUSH_PROMISE);
        assert_int_equal(f.id, ids[i]);
        assert_int_equal(f.payload_len, 100);
        assert_memory_equal(f.payload, big, 100);
        check_truncations(buf, len);
    }
    /* DATA and HEADERS at sizes around the varint length boundaries. */
    const size_t sizes[] = {0, 1, 63, 64, 16383, 16384, sizeof(big)};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int hdrs = 0; hdrs < 2; hdrs++) {
            quince_writer w = quince_writer_init(buf, sizeof(buf));
            assert_true(hdrs ? h3_frame_put_headers(&w, big, sizes[i])
                             : h3_frame_put_data(&w, big, sizes[i]));
            size_t len = (size_t)(w.p - buf);
            assert_int_equal(len, h3_frame_header_len(hdrs, sizes[i]) + sizes[i]);
            h3_frame f;
            assert_int_equal(h3_frame_decode(buf, len, &f), (int)len);
            assert_int_equal(f.type, hdrs ? H3_FRAME_HEADERS : H3_FRAME_DATA);
            assert_int_equal(f.payload_len, sizes[i]);
            assert_memory_equal(f.payload, big, sizes[i]);
            if (sizes[i] < 100)
                check_truncations(buf, len);
            else
                assert_int_equal(h3_frame_decode(buf, len - 1, &f), H3_WIRE_NEED_MORE);
        }
    }
    /* SETTINGS frame via h3/settings.c. */
    h3_settings s;
    h3_settings_init(&s);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_QPACK_MAX_TABLE_CAPACITY, 4096), 0);
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_settings_put_frame(&w, &s, 0));
    size_t len = (size_t)(w.p - buf);
    h3_frame f;
    assert_int_equal(h3_frame_decode(buf, len, &f), (int)len);
    assert_int_equal(f.type, H3_FRAME_SETTINGS);
    check_truncations(buf, len);
    /* GREASE frames decode as opaque unknown frames. */
    for (uint64_t r = 0; r < 200; r += 13) {
        w = quince_writer_init(buf, sizeof(buf));
        assert_true(h3_frame_put_grease(&w, r * 0x123456789ULL, big, r));
        len = (size_t)(w.p - buf);
        assert_int_equal(h3_frame_decode(buf, len, &f), (int)len);
        assert_true(h3_is_grease(f.type));
        assert_int_equal(h3_frame_classify(f.type), H3_FRAME_KIND_UNKNOWN);
        assert_int_equal(f.payload_len, r);
    }
}

/* A frame whose declared length cuts its fields short or leaves bytes over. */
static void test_payload_length_mismatch(void **state)
{
    (void)state;
    h3_frame f;
    /* GOAWAY with an extra byte after the ID: H3_FRAME_ERROR (RFC 9114 §7.1). */
    const uint8_t goaway_extra[] = {0x07, 0x02, 0x04, 0x00};
    assert_int_equal(h3_frame_decode(goaway_extra, sizeof(goaway_extra), &f),
                     WIRE_ERR(H3_FRAME_ERROR));
    /* GOAWAY with an empty payload. */
    const uint8_t goaway_empty[] = {0x07, 0x00};
    assert_int_equal(h3_frame_decode(goaway_empty, sizeof(goaway_empty), &f),
                     WIRE_ERR(H3_FRAME_ERROR));
    /* MAX_PUSH_ID whose two-byte varint does not fit its one-byte length. */
    const uint8_t mpi_short[] = {0x0d, 0x01, 0x40, 0x10};
    assert_int_equal(h3_frame_decode(mpi_short, sizeof(mpi_short), &f), WIRE_ERR(H3_FRAME_ERROR));
    /* CANCEL_PUSH with two varints. */
    const uint8_t cp_two[] = {0x03, 0x02, 0x01, 0x02};
    assert_int_equal(h3_frame_decode(cp_two, sizeof(cp_two), &f), WIRE_ERR(H3_FRAME_ERROR));
    /* PUSH_PROMISE without room for its push ID. */
    const uint8_t pp_empty[] = {0x05, 0x00};
    assert_int_equal(h3_frame_decode(pp_empty, sizeof(pp_empty), &f), WIRE_ERR(H3_FRAME_ERROR));
    const uint8_t pp_cut[] = {0x05, 0x01, 0x80};
    assert_int_equal(h3_frame_decode(pp_cut, sizeof(pp_cut), &f), WIRE_ERR(H3_FRAME_ERROR));
    /* HTTP/2-only frame types: H3_FRAME_UNEXPECTED (RFC 9114 §7.2.8). */
    const uint8_t h2types[] = {0x02, 0x06, 0x08, 0x09};
    for (size_t i = 0; i < sizeof(h2types); i++) {
        const uint8_t fr[] = {h2types[i], 0x00};
        assert_int_equal(h3_frame_classify(h2types[i]), H3_FRAME_KIND_H2_ONLY);
        assert_int_equal(h3_frame_decode(fr, sizeof(fr), &f), WIRE_ERR(H3_FRAME_UNEXPECTED));
    }
    /* Unassigned and reserved types are skippable; 0x0a-0x0c are not HTTP/2 leftovers. */
    assert_int_equal(h3_frame_classify(0x0a), H3_FRAME_KIND_UNKNOWN);
    assert_int_equal(h3_frame_classify(0x21), H3_FRAME_KIND_UNKNOWN);
    assert_int_equal(h3_frame_classify(H3_FRAME_MAX_PUSH_ID), H3_FRAME_KIND_KNOWN);
}

/* ---- Stream headers ---- */

static void test_uni_stream_headers(void **state)
{
    (void)state;
    uint8_t buf[32];
    h3_uni_header h;
    const struct {
        uint64_t type;
        h3_uni_kind kind;
    } simple[] = {
        {H3_STREAM_CONTROL, H3_UNI_CONTROL},
        {H3_STREAM_QPACK_ENCODER, H3_UNI_QPACK_ENCODER},
        {H3_STREAM_QPACK_DECODER, H3_UNI_QPACK_DECODER},
        {0x21, H3_UNI_RESERVED},
        {0x1f * 1000 + 0x21, H3_UNI_RESERVED},
        {0x04, H3_UNI_UNKNOWN},
        {0x22, H3_UNI_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        quince_writer w = quince_writer_init(buf, sizeof(buf));
        assert_true(h3_uni_put_type(&w, simple[i].type));
        size_t len = (size_t)(w.p - buf);
        assert_int_equal(h3_uni_header_parse(buf, len, true, &h), (int)len);
        assert_int_equal(h.type, simple[i].type);
        assert_int_equal(h.kind, simple[i].kind);
        assert_int_equal(h3_uni_header_parse(buf, 0, true, &h), H3_WIRE_NEED_MORE);
    }
    /* Push stream: type 0x01 then the push ID; every truncation needs more. */
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_uni_put_push(&w, 70000));
    const uint8_t push[] = {0x01, 0x80, 0x01, 0x11, 0x70};
    assert_int_equal(w.p - buf, sizeof(push));
    assert_memory_equal(buf, push, sizeof(push));
    for (size_t cut = 0; cut < sizeof(push); cut++)
        assert_int_equal(h3_uni_header_parse(push, cut, false, &h), H3_WIRE_NEED_MORE);
    assert_int_equal(h3_uni_header_parse(push, sizeof(push), false, &h), 5);
    assert_int_equal(h.kind, H3_UNI_PUSH);
    assert_int_equal(h.id, 70000);
    /* WebTransport stream: 0x54 (two-byte varint 0x40 0x54) + session ID 4. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_uni_put_webtransport(&w, 4));
    const uint8_t wt[] = {0x40, 0x54, 0x04, 'h', 'i'};
    assert_memory_equal(buf, wt, 3);
    assert_int_equal(h3_uni_header_parse(wt, sizeof(wt), true, &h), 3);
    assert_int_equal(h.kind, H3_UNI_WEBTRANSPORT);
    assert_int_equal(h.id, 4);
    assert_int_equal(h3_uni_header_parse(wt, 2, true, &h), H3_WIRE_NEED_MORE);
    /* Without WebTransport negotiated, 0x54 is just unknown. */
    assert_int_equal(h3_uni_header_parse(wt, sizeof(wt), false, &h), 2);
    assert_int_equal(h.kind, H3_UNI_UNKNOWN);
    /* A session ID that is not a client bidi stream ID: H3_ID_ERROR. */
    const uint8_t wt_bad[] = {0x40, 0x54, 0x05};
    assert_int_equal(h3_uni_header_parse(wt_bad, sizeof(wt_bad), true, &h), WIRE_ERR(H3_ID_ERROR));
    w = quince_writer_init(buf, sizeof(buf));
    assert_false(h3_uni_put_webtransport(&w, 2));
}

static void test_wt_bidi_header(void **state)
{
    (void)state;
    uint8_t buf[16];
    uint64_t sid = 99;
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_wt_put_bidi_header(&w, 8));
    const uint8_t want[] = {0x40, 0x41, 0x08};
    assert_int_equal(w.p - buf, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(h3_wt_bidi_header_parse(want, sizeof(want), &sid), 3);
    assert_int_equal(sid, 8);
    for (size_t cut = 0; cut < sizeof(want); cut++)
        assert_int_equal(h3_wt_bidi_header_parse(want, cut, &sid), H3_WIRE_NEED_MORE);
    const uint8_t headers[] = {0x01, 0x02, 0x00, 0x00};
    assert_int_equal(h3_wt_bidi_header_parse(headers, sizeof(headers), &sid), 0);
    const uint8_t bad[] = {0x40, 0x41, 0x06};
    assert_int_equal(h3_wt_bidi_header_parse(bad, sizeof(bad), &sid), WIRE_ERR(H3_ID_ERROR));
    w = quince_writer_init(buf, sizeof(buf));
    assert_false(h3_wt_put_bidi_header(&w, 1));
}

/* ---- Streaming reader ---- */

/* A normalised record of the events, independent of how the input was cut:
 * DATA and WT bytes are appended as streams, other events as fixed records. */
typedef struct ev_log {
    uint8_t bytes[65536];
    size_t len;
    int events[256];
    size_t n_events;
} ev_log;

static void log_put(ev_log *l, const void *p, size_t n)
{
    if (n == 0)
        return;
    assert_true(l->len + n <= sizeof(l->bytes));
    memcpy(l->bytes + l->len, p, n);
    l->len += n;
}

static void log_event(ev_log *l, const h3_frame_event *ev)
{
    if (ev->type == H3_FEV_DATA || ev->type == H3_FEV_WT_DATA) {
        log_put(l, ev->data, ev->len); /* pieces merge whatever the cut */
        return;
    }
    assert_true(l->n_events < 256);
    l->events[l->n_events++] = (int)ev->type;
    uint64_t rec[3] = {ev->frame.type, ev->frame.length, ev->frame.id};
    log_put(l, rec, sizeof(rec));
    if (ev->type == H3_FEV_FRAME)
        log_put(l, ev->frame.payload, ev->frame.payload_len);
}

/* Feed input cut into pieces: step 0 = all at once, otherwise sizes from a
 * small generator seeded by step. Returns the first error or finish()'s code. */
static int run_reader(const h3_frame_reader_config *cfg, const quince_env *env, const uint8_t *in,
                      size_t len, unsigned step, ev_log *log)
{
    h3_frame_reader r;
    h3_frame_reader_init(&r, cfg, env);
    memset(log, 0, sizeof(*log));
    size_t off = 0;
    uint32_t x = step * 2654435761u + 1;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t piece = len - off;
        if (step == 1) {
            piece = 1;
        } else if (step > 1) {
            x = x * 1103515245u + 12345u;
            piece = 1 + (x >> 16) % (step * 3);
            if (piece > len - off)
                piece = len - off;
        }
        size_t at = 0;
        while (at < piece) {
            size_t used;
            h3_frame_event ev;
            rc = h3_frame_reader_feed(&r, in + off + at, piece - at, &used, &ev);
            if (rc < 0)
                break;
            assert_true(used <= piece - at);
            at += used;
            if (ev.type == H3_FEV_NONE) {
                assert_int_equal(at, piece); /* NONE only when all is consumed */
                break;
            }
            assert_true(used > 0);
            log_event(log, &ev);
        }
        off += piece;
    }
    if (rc == 0)
        rc = h3_frame_reader_finish(&r);
    else /* errors are sticky */
        assert_int_equal(h3_frame_reader_finish(&r), rc);
    h3_frame_reader_free(&r);
    return rc;
}

static void check_all_cuts(const h3_frame_reader_config *cfg, const uint8_t *in, size_t len,
                           int expect_rc, ev_log *ref)
{
    test_env t;
    test_env_init(&t, 1);
    static ev_log other;
    assert_int_equal(run_reader(cfg, &t.env, in, len, 0, ref), expect_rc);
    for (unsigned step = 1; step < 12; step++) {
        assert_int_equal(run_reader(cfg, &t.env, in, len, step, &other), expect_rc);
        assert_int_equal(other.n_events, ref->n_events);
        assert_memory_equal(other.events, ref->events, ref->n_events * sizeof(int));
        assert_int_equal(other.len, ref->len);
        assert_memory_equal(other.bytes, ref->bytes, ref->len);
    }
    test_env_check_leaks(&t);
}

static void test_reader_request_stream(void **state)
{
    (void)state;
    static uint8_t in[8192];
    static uint8_t body[3000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)(i ^ (i >> 8));
    quince_writer w = quince_writer_init(in, sizeof(in));
    assert_true(h3_frame_put_headers(&w, (const uint8_t *)"\x00\x00\xd1\xd7", 4));
    assert_true(h3_frame_put_grease(&w, 77, body, 50));
    assert_true(h3_frame_put_data(&w, body, sizeof(body)));
    assert_true(h3_frame_put_data(&w, NULL, 0));
    assert_true(h3_frame_put_push_promise(&w, 3, (const uint8_t *)"\x00\x00", 2));
    assert_true(h3_frame_put_header(&w, 0x0c, 0)); /* unassigned, empty: skipped */
    assert_true(h3_frame_put_data(&w, body + 5, 100));
    assert_true(h3_frame_put_headers(&w, (const uint8_t *)"\x00\x00", 2)); /* trailers */
    size_t len = (size_t)(w.p - in);

    h3_frame_reader_config cfg = {.role = H3_ROLE_REQUEST, .local_is_server = false};
    static ev_log log;
    check_all_cuts(&cfg, in, len, 0, &log);
    const int want[] = {H3_FEV_FRAME, H3_FEV_SKIP, H3_FEV_DATA_START, H3_FEV_DATA_START,
                        H3_FEV_FRAME, H3_FEV_SKIP, H3_FEV_DATA_START, H3_FEV_FRAME};
    assert_int_equal(log.n_events, sizeof(want) / sizeof(want[0]));
    assert_memory_equal(log.events, want, sizeof(want));

    /* One-byte feeding by hand: the events, their fields and the DATA bytes. */
    h3_frame_reader r;
    test_env t;
    test_env_init(&t, 2);
    h3_frame_reader_init(&r, &cfg, &t.env);
    size_t data_bytes = 0, frames = 0;
    uint64_t push_id = 0;
    for (size_t i = 0; i < len; i++) {
        size_t used;
        h3_frame_event ev;
        assert_int_equal(h3_frame_reader_feed(&r, in + i, 1, &used, &ev), 0);
        assert_int_equal(used, 1);
        if (ev.type == H3_FEV_DATA) {
            assert_int_equal(ev.len, 1);
            data_bytes++;
        }
        if (ev.type == H3_FEV_FRAME) {
            frames++;
            if (ev.frame.type == H3_FRAME_PUSH_PROMISE)
                push_id = ev.frame.id;
        }
    }
    assert_int_equal(h3_frame_reader_finish(&r), 0);
    assert_int_equal(data_bytes, sizeof(body) + 100);
    assert_int_equal(frames, 3);
    assert_int_equal(push_id, 3);
    h3_frame_reader_free(&r);
    test_env_check_leaks(&t);
}

static void test_reader_control_stream(void **state)
{
    (void)state;
    uint8_t in[512];
    h3_settings s;
    h3_settings_init(&s);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_QPACK_MAX_TABLE_CAPACITY, 65536), 0);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_ENABLE_WEBTRANSPORT, 1), 0);
    quince_writer w = quince_writer_init(in, sizeof(in));
    assert_true(h3_settings_put_frame(&w, &s, 12345));
    assert_true(h3_frame_put_grease(&w, 9, (const uint8_t *)"pad", 3));
    assert_true(h3_frame_put_max_push_id(&w, 10));
    assert_true(h3_frame_put_cancel_push(&w, 2));
    assert_true(h3_frame_put_goaway(&w, 8));
    size_t len = (size_t)(w.p - in);
    /* A server receives the client's control stream; it never ends (FIN is an error). */
    h3_frame_reader_config cfg = {.role = H3_ROLE_CONTROL, .local_is_server = true};
    static ev_log log;
    check_all_cuts(&cfg, in, len, WIRE_ERR(H3_CLOSED_CRITICAL_STREAM), &log);
    const int want[] = {H3_FEV_FRAME, H3_FEV_SKIP, H3_FEV_FRAME, H3_FEV_FRAME, H3_FEV_FRAME};
    assert_int_equal(log.n_events, 5);
    assert_memory_equal(log.events, want, sizeof(want));

    /* The SETTINGS payload the reader reports decodes back to s. */
    test_env t;
    test_env_init(&t, 3);
    h3_frame_reader r;
    h3_frame_reader_init(&r, &cfg, &t.env);
    size_t used;
    h3_frame_event ev;
    assert_int_equal(h3_frame_reader_feed(&r, in, len, &used, &ev), 0);
    assert_int_equal(ev.type, H3_FEV_FRAME);
    assert_int_equal(ev.frame.type, H3_FRAME_SETTINGS);
    h3_settings got;
    assert_int_equal(h3_settings_decode(ev.frame.payload, ev.frame.payload_len, &got), 0);
    assert_int_equal(got.qpack_max_table_capacity, 65536);
    assert_true(got.enable_webtransport);
    h3_frame_reader_free(&r);
    test_env_check_leaks(&t);
}

static void test_reader_webtransport_stream(void **state)
{
    (void)state;
    uint8_t in[64];
    quince_writer w = quince_writer_init(in, sizeof(in));
    assert_true(h3_wt_put_bidi_header(&w, 0));
    assert_true(quince_put_bytes(&w, "\x00\x01hello, any bytes \x07\x01", 22));
    size_t len = (size_t)(w.p - in);
    h3_frame_reader_config cfg = {.role = H3_ROLE_REQUEST, .webtransport = true};
    static ev_log log;
    check_all_cuts(&cfg, in, len, 0, &log);
    assert_int_equal(log.n_events, 1);
    assert_int_equal(log.events[0], H3_FEV_WT_STREAM);
    assert_int_equal(log.len, 24 + 22);
    assert_memory_equal(log.bytes + 24, in + 3, 22);

    /* 0x41 after the first frame is not allowed. */
    w = quince_writer_init(in, sizeof(in));
    assert_true(h3_frame_put_headers(&w, (const uint8_t *)"\x00\x00", 2));
    assert_true(h3_wt_put_bidi_header(&w, 0));
    len = (size_t)(w.p - in);
    check_all_cuts(&cfg, in, len, WIRE_ERR(H3_FRAME_UNEXPECTED), &log);
    /* A bad session ID. */
    const uint8_t bad[] = {0x40, 0x41, 0x09};
    check_all_cuts(&cfg, bad, sizeof(bad), WIRE_ERR(H3_ID_ERROR), &log);
}

typedef struct neg_case {
    const char *name;
    h3_stream_role role;
    bool server;
    size_t max;
    const char *hex;
    int expect;
} neg_case;

/* Every violation the reader detects, with the exact H3 error code. */
static void test_reader_negative(void **state)
{
    (void)state;
    const neg_case cases[] = {
        /* HTTP/2 frame types on each kind of stream (RFC 9114 §7.2.8). */
        {"h2 PRIORITY", H3_ROLE_REQUEST, true, 0, "02 00", WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"h2 PING", H3_ROLE_REQUEST, false, 0, "06 08 0000000000000000",
         WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"h2 WINDOW_UPDATE", H3_ROLE_CONTROL, true, 0, "04 00 08 04 00000001",
         WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"h2 CONTINUATION", H3_ROLE_PUSH, false, 0, "09 00", WIRE_ERR(H3_FRAME_UNEXPECTED)},
        /* Control stream rules (§6.2.1, §7.2.4). */
        {"control starts with GOAWAY", H3_ROLE_CONTROL, false, 0, "07 01 00",
         WIRE_ERR(H3_MISSING_SETTINGS)},
        {"control starts with GREASE", H3_ROLE_CONTROL, false, 0, "21 00",
         WIRE_ERR(H3_MISSING_SETTINGS)},
        {"second SETTINGS", H3_ROLE_CONTROL, false, 0, "04 00 04 00",
         WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"DATA on control", H3_ROLE_CONTROL, false, 0, "04 00 00 01 61",
         WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"HEADERS on control", H3_ROLE_CONTROL, false, 0, "04 00 01 02 0000",
         WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"MAX_PUSH_ID to a client", H3_ROLE_CONTROL, false, 0, "04 00 0d 01 05",
         WIRE_ERR(H3_FRAME_UNEXPECTED)},
        /* Request and push stream rules (Table 1, §7.2.5). */
        {"SETTINGS on request", H3_ROLE_REQUEST, true, 0, "04 00", WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"GOAWAY on request", H3_ROLE_REQUEST, false, 0, "07 01 00", WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"PUSH_PROMISE to a server", H3_ROLE_REQUEST, true, 0, "05 03 00 0000",
         WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"PUSH_PROMISE on push", H3_ROLE_PUSH, false, 0, "05 03 00 0000",
         WIRE_ERR(H3_FRAME_UNEXPECTED)},
        {"CANCEL_PUSH on push", H3_ROLE_PUSH, false, 0, "03 01 00", WIRE_ERR(H3_FRAME_UNEXPECTED)},
        /* Layout errors (§7.1). */
        {"GOAWAY with an extra byte", H3_ROLE_CONTROL, false, 0, "04 00 07 02 04 00",
         WIRE_ERR(H3_FRAME_ERROR)},
        {"GOAWAY length 9", H3_ROLE_CONTROL, false, 0, "04 00 07 09", WIRE_ERR(H3_FRAME_ERROR)},
        {"CANCEL_PUSH empty", H3_ROLE_CONTROL, false, 0, "04 00 03 00", WIRE_ERR(H3_FRAME_ERROR)},
        {"MAX_PUSH_ID varint overruns", H3_ROLE_CONTROL, true, 0, "04 00 0d 01 40 01",
         WIRE_ERR(H3_FRAME_ERROR)},
        {"PUSH_PROMISE cut", H3_ROLE_REQUEST, false, 0, "05 01 80", WIRE_ERR(H3_FRAME_ERROR)},
        {"FIN inside a frame header", H3_ROLE_REQUEST, false, 0, "00", WIRE_ERR(H3_FRAME_ERROR)},
        {"FIN inside DATA", H3_ROLE_REQUEST, false, 0, "00 05 6161", WIRE_ERR(H3_FRAME_ERROR)},
        {"FIN inside HEADERS", H3_ROLE_REQUEST, false, 0, "01 05 0000", WIRE_ERR(H3_FRAME_ERROR)},
        {"FIN inside a skipped frame", H3_ROLE_PUSH, false, 0, "21 05 0000",
         WIRE_ERR(H3_FRAME_ERROR)},
        {"FIN on control", H3_ROLE_CONTROL, false, 0, "04 00", WIRE_ERR(H3_CLOSED_CRITICAL_STREAM)},
        /* Bounds (§10.5): a HEADERS, SETTINGS or PUSH_PROMISE over the limit. */
        {"HEADERS over the bound", H3_ROLE_REQUEST, false, 100, "01 40 65",
         WIRE_ERR(H3_EXCESSIVE_LOAD)},
        {"SETTINGS over the bound", H3_ROLE_CONTROL, false, 100, "04 40 65",
         WIRE_ERR(H3_EXCESSIVE_LOAD)},
        {"PUSH_PROMISE of 2^62-1", H3_ROLE_ANY, false, 0, "05 ff ffffffffffffff",
         WIRE_ERR(H3_EXCESSIVE_LOAD)},
        /* DATA and unknown frames are never buffered, so no bound applies. */
        {"huge DATA ends early", H3_ROLE_REQUEST, false, 100, "00 bf ffffffffffffff 00",
         WIRE_ERR(H3_FRAME_ERROR)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t in[64];
        size_t len = test_unhex(cases[i].hex, in, sizeof(in));
        h3_frame_reader_config cfg = {.role = cases[i].role,
                                      .local_is_server = cases[i].server,
                                      .max_frame_payload = cases[i].max};
        static ev_log log;
        print_message("%s\n", cases[i].name);
        check_all_cuts(&cfg, in, len, cases[i].expect, &log);
    }
}

/* The bound is inclusive, and exactly-bound frames are delivered whole. */
static void test_reader_bound_exact(void **state)
{
    (void)state;
    static uint8_t in[300];
    uint8_t section[100];
    memset(section, 0x5a, sizeof(section));
    quince_writer w = quince_writer_init(in, sizeof(in));
    assert_true(h3_frame_put_headers(&w, section, 100));
    size_t len = (size_t)(w.p - in);
    h3_frame_reader_config cfg = {.role = H3_ROLE_REQUEST, .max_frame_payload = 100};
    static ev_log log;
    check_all_cuts(&cfg, in, len, 0, &log);
    assert_int_equal(log.n_events, 1);
    cfg.max_frame_payload = 99;
    check_all_cuts(&cfg, in, len, WIRE_ERR(H3_EXCESSIVE_LOAD), &log);
}

/* Memory: no env means only whole frames work; a failed allocation is reported. */
static void test_reader_memory(void **state)
{
    (void)state;
    const uint8_t in[] = {0x01, 0x03, 0x00, 0x00, 0xd1};
    h3_frame_reader_config cfg = {.role = H3_ROLE_REQUEST};
    h3_frame_reader r;
    size_t used;
    h3_frame_event ev;
    h3_frame_reader_init(&r, &cfg, NULL);
    assert_int_equal(h3_frame_reader_feed(&r, in, sizeof(in), &used, &ev), 0);
    assert_int_equal(ev.type, H3_FEV_FRAME);
    assert_int_equal(used, sizeof(in));
    /* A frame cut after its header needs a buffer, which there is none of. */
    assert_int_equal(h3_frame_reader_feed(&r, in, 3, &used, &ev), H3_WIRE_NO_MEMORY);
    assert_int_equal(h3_frame_reader_feed(&r, in + 3, 2, &used, &ev), H3_WIRE_NO_MEMORY);
    h3_frame_reader_free(&r);

    test_env t;
    test_env_init(&t, 4);
    t.fail_after = 1;
    h3_frame_reader_init(&r, &cfg, &t.env);
    assert_int_equal(h3_frame_reader_feed(&r, in, 3, &used, &ev), H3_WIRE_NO_MEMORY);
    assert_int_equal(h3_wire_error_code(H3_WIRE_NO_MEMORY), 0);
    assert_int_equal(h3_wire_error_code(WIRE_ERR(H3_FRAME_ERROR)), H3_FRAME_ERROR);
    h3_frame_reader_free(&r);
    test_env_check_leaks(&t);

    /* A large buffered frame's buffer is released on the next call; a small one is kept. */
    static uint8_t big[10100];
    static uint8_t section[10000];
    memset(section, 0x42, sizeof(section));
    quince_writer w = quince_writer_init(big, sizeof(big));
    assert_true(h3_frame_put_headers(&w, section, sizeof(section)));
    size_t big_len = (size_t)(w.p - big);
    h3_frame_reader_init(&r, &cfg, &t.env);
    assert_int_equal(h3_frame_reader_feed(&r, big, 100, &used, &ev), 0);
    assert_int_equal(ev.type, H3_FEV_NONE);
    assert_int_equal(t.live_allocs, 1);
    assert_int_equal(h3_frame_reader_feed(&r, big + 100, big_len - 100, &used, &ev), 0);
    assert_int_equal(ev.type, H3_FEV_FRAME);
    assert_int_equal(ev.frame.payload_len, sizeof(section));
    assert_memory_equal(ev.frame.payload, section, sizeof(section));
    assert_int_equal(h3_frame_reader_feed(&r, in, 3, &used, &ev), 0);
    assert_int_equal(t.live_allocs, 1); /* the old buffer went, a small one came */
    assert_true(r.buf_cap <= H3_FRAME_READER_KEEP);
    assert_int_equal(h3_frame_reader_feed(&r, in + 3, 2, &used, &ev), 0);
    assert_int_equal(ev.type, H3_FEV_FRAME);
    assert_int_equal(h3_frame_reader_feed(&r, in, 1, &used, &ev), 0);
    assert_int_equal(t.live_allocs, 1);
    h3_frame_reader_free(&r);
    test_env_check_leaks(&t);
}

/* Random frame sequences (seeded) encoded, cut at random and read back: the
 * events rebuild exactly the frames that were written. */
static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void test_reader_random_sequences(void **state)
{
    (void)state;
    static uint8_t in[65536], body[4096];
    test_env t;
    test_env_init(&t, 21);
    for (uint32_t seed = 1; seed <= 300; seed++) {
        uint32_t x = seed * 2654435761u;
        for (size_t i = 0; i < sizeof(body); i++)
            body[i] = (uint8_t)next_rand(&x);
        /* Expected frames: type, id, payload offset and length in body. */
        struct {
            uint64_t type, id;
            size_t off, len;
        } want[40];
        size_t n_want = 0;
        quince_writer w = quince_writer_init(in, sizeof(in));
        size_t n_frames = 1 + next_rand(&x) % 40;
        for (size_t f = 0; f < n_frames; f++) {
            size_t off = next_rand(&x) % 2048, len = next_rand(&x) % 1500;
            if (next_rand(&x) % 4 == 0)
                len %= 70; /* many small frames, around the 1-byte varint edge */
            uint64_t id = next_rand(&x);
            switch (next_rand(&x) % 4) {
            case 0:
                assert_true(h3_frame_put_data(&w, body + off, len));
                want[n_want].type = H3_FRAME_DATA;
                break;
            case 1:
                assert_true(h3_frame_put_headers(&w, body + off, len));
                want[n_want].type = H3_FRAME_HEADERS;
                break;
            case 2:
                assert_true(h3_frame_put_push_promise(&w, id, body + off, len));
                want[n_want].type = H3_FRAME_PUSH_PROMISE;
                break;
            default:
                assert_true(h3_frame_put_grease(&w, id, body + off, len));
                continue; /* skipped: nothing expected */
            }
            want[n_want].id = want[n_want].type == H3_FRAME_PUSH_PROMISE ? id : 0;
            want[n_want].off = off;
            want[n_want].len = len;
            n_want++;
        }
        size_t len = (size_t)(w.p - in);
        h3_frame_reader_config cfg = {.role = H3_ROLE_REQUEST, .max_frame_payload = 1508};
        h3_frame_reader r;
        h3_frame_reader_init(&r, &cfg, &t.env);
        size_t got = 0, data_at = 0;
        for (size_t off = 0; off < len;) {
            size_t piece = 1 + next_rand(&x) % (1 + (seed % 7) * 300);
            if (piece > len - off)
                piece = len - off;
            size_t at = 0;
            while (at < piece) {
                size_t used;
                h3_frame_event ev;
                assert_int_equal(h3_frame_reader_feed(&r, in + off + at, piece - at, &used, &ev),
                                 0);
                at += used;
                if (ev.type == H3_FEV_NONE)
                    break;
                if (ev.type == H3_FEV_SKIP)
                    continue;
                if (ev.type == H3_FEV_DATA) {
                    assert_true(got > 0 && want[got - 1].type == H3_FRAME_DATA);
                    assert_memory_equal(ev.data, body + want[got - 1].off + data_at, ev.len);
                    data_at += ev.len;
                    assert_int_equal(ev.remaining, want[got - 1].len - data_at);
                    continue;
                }
                assert_true(got < n_want);
                assert_int_equal(ev.frame.type, want[got].type);
                if (ev.type == H3_FEV_DATA_START) {
                    assert_int_equal(ev.frame.length, want[got].len);
                    data_at = 0;
                } else {
                    assert_int_equal(ev.type, H3_FEV_FRAME);
                    assert_int_equal(ev.frame.id, want[got].id);
                    assert_int_equal(ev.frame.payload_len, want[got].len);
                    assert_memory_equal(ev.frame.payload, body + want[got].off, want[got].len);
                }
                got++;
            }
            off += piece;
        }
        assert_int_equal(got, n_want);
        assert_int_equal(h3_frame_reader_finish(&r), 0);
        h3_frame_reader_free(&r);
    }
    test_env_check_leaks(&t);
}

/* With role ANY nothing is forbidden but HTTP/2 types, and SETTINGS may repeat. */
static void test_reader_role_any(void **state)
{
    (void)state;
    uint8_t in[64];
    size_t len = test_unhex("04 00 04 02 0601 00 00 01 00 03 01 05 05 01 07 07 01 08 0d 01 09"
                            "21 00",
                            in, sizeof(in));
    h3_frame_reader_config cfg = {.role = H3_ROLE_ANY};
    static ev_log log;
    check_all_cuts(&cfg, in, len, 0, &log);
    const int want[] = {H3_FEV_FRAME, H3_FEV_FRAME, H3_FEV_DATA_START, H3_FEV_FRAME, H3_FEV_FRAME,
                        H3_FEV_FRAME, H3_FEV_FRAME, H3_FEV_FRAME,      H3_FEV_SKIP};
    assert_int_equal(log.n_events, sizeof(want) / sizeof(want[0]));
    assert_memory_equal(log.events, want, sizeof(want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_payload_length_mismatch),
        cmocka_unit_test(test_uni_stream_headers),
        cmocka_unit_test(test_wt_bidi_header),
        cmocka_unit_test(test_reader_request_stream),
        cmocka_unit_test(test_reader_control_stream),
        cmocka_unit_test(test_reader_webtransport_stream),
        cmocka_unit_test(test_reader_negative),
        cmocka_unit_test(test_reader_bound_exact),
        cmocka_unit_test(test_reader_memory),
        cmocka_unit_test(test_reader_random_sequences),
        cmocka_unit_test(test_reader_role_any),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
