/* Tests for h3/capsule.c (RFC 9297 capsules and datagrams). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "h3/capsule.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

#define WIRE_ERR(code) H3_WIRE_ERROR(code)

static void test_encode_known_answers(void **state)
{
    (void)state;
    uint8_t buf[64], want[64];
    size_t n;
    /* CLOSE_WEBTRANSPORT_SESSION code 0x102, message "bye". */
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_close_wt(&w, 0x102, (const uint8_t *)"bye", 3));
    n = test_unhex("6843 07 00000102 627965", want, sizeof(want));
    assert_int_equal(w.p - buf, n);
    assert_memory_equal(buf, want, n);
    /* REGISTER_DATAGRAM_NO_CONTEXT, format WEB_TRANSPORT, no additional data
     * (draft-ietf-masque-h3-datagram-04 §11.4). */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_register_no_context(&w, H3_DATAGRAM_FORMAT_WEBTRANSPORT, NULL, 0));
    n = test_unhex("80ff37a2 04 80ff7c00", want, sizeof(want));
    assert_int_equal(w.p - buf, n);
    assert_memory_equal(buf, want, n);
    /* DATAGRAM capsule. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_datagram(&w, (const uint8_t *)"hi", 2));
    n = test_unhex("00 02 6869", want, sizeof(want));
    assert_memory_equal(buf, want, n);
    /* GREASE capsule: type 0x29 * 1 + 0x17 = 0x40 (a two-byte varint). */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_grease(&w, 1, (const uint8_t *)"z", 1));
    n = test_unhex("4040 01 7a", want, sizeof(want));
    assert_memory_equal(buf, want, n);
    assert_true(h3_capsule_is_grease(0x17));
    assert_true(h3_capsule_is_grease(0x40));
    assert_false(h3_capsule_is_grease(0x41));
    assert_false(h3_capsule_is_grease(0x00));
    /* Too small a buffer. */
    for (size_t cap = 0; cap < 10; cap++) {
        w = quince_writer_init(buf, cap);
        assert_false(h3_capsule_put_close_wt(&w, 0x102, (const uint8_t *)"bye", 3));
    }
}

static void test_decode_roundtrip(void **state)
{
    (void)state;
    static uint8_t buf[4096];
    uint8_t msg[1100];
    memset(msg, 'm', sizeof(msg));
    h3_capsule c;
    test_env t;
    test_env_init(&t, 10);
    const size_t lens[] = {0, 1, 59, 60, 1024};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        quince_writer w = quince_writer_init(buf, sizeof(buf));
        assert_true(h3_capsule_put_close_wt(&w, 0xfffffffe, msg, lens[i]));
        assert_true(h3_capsule_put_datagram(&w, msg, lens[i]));
        assert_true(h3_capsule_put_register_no_context(&w, 0x1234, msg, lens[i]));
        size_t total = (size_t)(w.p - buf), off = 0;
        int n = h3_capsule_decode(buf, total, &c);
        assert_true(n > 0);
        assert_int_equal(c.type, H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION);
        assert_int_equal(c.error_code, 0xfffffffe);
        assert_int_equal(c.data_len, lens[i]);
        for (int cut = 0; cut < n; cut++)
            assert_int_equal(h3_capsule_decode(buf, (size_t)cut, &c), H3_WIRE_NEED_MORE);
        /* The data stream ending inside the capsule is malformed (RFC 9297 §3.3). */
        for (int cut = 1; cut < n; cut++) {
            h3_capsule_reader r;
            h3_capsule_reader_init(&r, 0, &t.env);
            size_t used;
            h3_capsule_event ev;
            assert_int_equal(h3_capsule_reader_feed(&r, buf, (size_t)cut, &used, &ev), 0);
            assert_int_equal(ev.type, H3_CEV_NONE);
            assert_int_equal(h3_capsule_reader_finish(&r), WIRE_ERR(H3_MESSAGE_ERROR));
            h3_capsule_reader_free(&r);
        }
        off += (size_t)n;
        n = h3_capsule_decode(buf + off, total - off, &c);
        assert_true(n > 0);
        assert_int_equal(c.type, H3_CAPSULE_DATAGRAM);
        assert_int_equal(c.value_len, lens[i]);
        assert_memory_equal(c.value, msg, lens[i]);
        off += (size_t)n;
        n = h3_capsule_decode(buf + off, total - off, &c);
        assert_true(n > 0);
        assert_int_equal(c.type, H3_CAPSULE_REGISTER_DATAGRAM_NO_CONTEXT);
        assert_int_equal(c.format_type, 0x1234);
        assert_int_equal(c.data_len, lens[i]);
        off += (size_t)n;
        assert_int_equal(off, total);
    }
    test_env_check_leaks(&t);
    /* The message limit: 1024 bytes is accepted, 1025 is not (draft-02 §5). */
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_false(h3_capsule_put_close_wt(&w, 1, msg, 1025));
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_header(&w, H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION, 4 + 1025));
    assert_true(quince_put_u32(&w, 1));
    assert_true(quince_put_bytes(&w, msg, 1025));
    assert_int_equal(h3_capsule_decode(buf, (size_t)(w.p - buf), &c), WIRE_ERR(H3_MESSAGE_ERROR));
    /* Close capsules too short for the error code, a registration without its type. */
    const uint8_t short_close[] = {0x68, 0x43, 0x03, 0x00, 0x00, 0x01};
    assert_int_equal(h3_capsule_decode(short_close, sizeof(short_close), &c),
                     WIRE_ERR(H3_MESSAGE_ERROR));
    const uint8_t empty_reg[] = {0x80, 0xff, 0x37, 0xa2, 0x00};
    assert_int_equal(h3_capsule_decode(empty_reg, sizeof(empty_reg), &c),
                     WIRE_ERR(H3_MESSAGE_ERROR));
    const uint8_t cut_reg[] = {0x80, 0xff, 0x37, 0xa2, 0x01, 0x80};
    assert_int_equal(h3_capsule_decode(cut_reg, sizeof(cut_reg), &c), WIRE_ERR(H3_MESSAGE_ERROR));
}

/* ---- Reader ---- */

typedef struct cap_log {
    uint8_t bytes[16384];
    size_t len;
    int events[64];
    size_t n;
} cap_log;

static void cap_log_put(cap_log *l, const void *p, size_t n)
{
    if (n == 0)
        return;
    assert_true(l->len + n <= sizeof(l->bytes));
    memcpy(l->bytes + l->len, p, n);
    l->len += n;
}

static int run_capsules(size_t bound, const quince_env *env, const uint8_t *in, size_t len,
                        unsigned step, cap_log *log)
{
    h3_capsule_reader r;
    h3_capsule_reader_init(&r, bound, env);
    memset(log, 0, sizeof(*log));
    uint32_t x = step * 40503u + 7;
    size_t off = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t piece = len - off;
        if (step == 1) {
            piece = 1;
        } else if (step > 1) {
            x = x * 1664525u + 1013904223u;
            piece = 1 + (x >> 20) % (step * 5);
            if (piece > len - off)
                piece = len - off;
        }
        size_t at = 0;
        while (at < piece) {
            size_t used;
            h3_capsule_event ev;
            rc = h3_capsule_reader_feed(&r, in + off + at, piece - at, &used, &ev);
            if (rc < 0)
                break;
            at += used;
            if (ev.type == H3_CEV_NONE) {
                assert_int_equal(at, piece);
                break;
            }
            assert_true(used > 0);
            assert_true(log->n < 64);
            log->events[log->n++] = (int)ev.type;
            uint64_t rec[4] = {ev.capsule.type, ev.capsule.length, ev.capsule.error_code,
                               ev.capsule.format_type};
            cap_log_put(log, rec, sizeof(rec));
            if (ev.type == H3_CEV_CAPSULE) {
                cap_log_put(log, ev.capsule.value, ev.capsule.value_len);
                cap_log_put(log, ev.capsule.data, ev.capsule.data_len);
            }
        }
        off += piece;
    }
    if (rc == 0)
        rc = h3_capsule_reader_finish(&r);
    else
        assert_int_equal(h3_capsule_reader_finish(&r), rc);
    h3_capsule_reader_free(&r);
    return rc;
}

static void check_capsule_cuts(size_t bound, const uint8_t *in, size_t len, int expect,
                               cap_log *ref)
{
    test_env t;
    test_env_init(&t, 11);
    static cap_log other;
    assert_int_equal(run_capsules(bound, &t.env, in, len, 0, ref), expect);
    for (unsigned step = 1; step < 10; step++) {
        assert_int_equal(run_capsules(bound, &t.env, in, len, step, &other), expect);
        assert_int_equal(other.n, ref->n);
        assert_memory_equal(other.events, ref->events, ref->n * sizeof(int));
        assert_int_equal(other.len, ref->len);
        assert_memory_equal(other.bytes, ref->bytes, ref->len);
    }
    test_env_check_leaks(&t);
}

/* What Chromium sends on a CONNECT stream: GREASE, a registration, later a close. */
static void test_reader_in_pieces(void **state)
{
    (void)state;
    static uint8_t in[8192];
    uint8_t pad[3000];
    memset(pad, 0xab, sizeof(pad));
    quince_writer w = quince_writer_init(in, sizeof(in));
    assert_true(h3_capsule_put_grease(&w, 12345, pad, 17));
    assert_true(h3_capsule_put_register_no_context(&w, H3_DATAGRAM_FORMAT_WEBTRANSPORT, NULL, 0));
    assert_true(h3_capsule_put_datagram(&w, (const uint8_t *)"ping", 4));
    assert_true(h3_capsule_put_header(&w, 0x1234567, sizeof(pad))); /* unknown, over the bound */
    assert_true(quince_put_bytes(&w, pad, sizeof(pad)));
    assert_true(h3_capsule_put_datagram(&w, pad, 2000)); /* over the bound: dropped */
    assert_true(h3_capsule_put_datagram(&w, NULL, 0));
    assert_true(h3_capsule_put_close_wt(&w, 42, (const uint8_t *)"done", 4));
    size_t len = (size_t)(w.p - in);
    static cap_log log;
    check_capsule_cuts(1100, in, len, 0, &log);
    const int want[] = {H3_CEV_SKIP,    H3_CEV_CAPSULE, H3_CEV_CAPSULE, H3_CEV_SKIP,
                        H3_CEV_DROPPED, H3_CEV_CAPSULE, H3_CEV_CAPSULE};
    assert_int_equal(log.n, sizeof(want) / sizeof(want[0]));
    assert_memory_equal(log.events, want, sizeof(want));

    /* Byte by byte, checking the decoded fields. */
    test_env t;
    test_env_init(&t, 12);
    h3_capsule_reader r;
    h3_capsule_reader_init(&r, 1100, &t.env);
    uint32_t close_code = 0;
    uint64_t format = 0;
    int datagrams = 0;
    for (size_t i = 0; i < len; i++) {
        size_t used;
        h3_capsule_event ev;
        assert_int_equal(h3_capsule_reader_feed(&r, in + i, 1, &used, &ev), 0);
        assert_int_equal(used, 1);
        if (ev.type != H3_CEV_CAPSULE)
            continue;
        if (ev.capsule.type == H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION) {
            close_code = ev.capsule.error_code;
            assert_int_equal(ev.capsule.data_len, 4);
            assert_memory_equal(ev.capsule.data, "done", 4);
        } else if (ev.capsule.type == H3_CAPSULE_REGISTER_DATAGRAM_NO_CONTEXT) {
            format = ev.capsule.format_type;
        } else if (ev.capsule.type == H3_CAPSULE_DATAGRAM) {
            datagrams++;
        }
    }
    assert_int_equal(h3_capsule_reader_finish(&r), 0);
    assert_int_equal(close_code, 42);
    assert_int_equal(format, H3_DATAGRAM_FORMAT_WEBTRANSPORT);
    assert_int_equal(datagrams, 2);
    h3_capsule_reader_free(&r);
    test_env_check_leaks(&t);
}

/* Unknown capsules are skipped without buffering: a reader with no allocator
 * skips a 1 MB unknown capsule fed in small pieces. */
static void test_unknown_not_buffered(void **state)
{
    (void)state;
    static uint8_t in[1 << 20];
    quince_writer w = quince_writer_init(in, sizeof(in));
    assert_true(h3_capsule_put_header(&w, h3_capsule_grease_type(99), sizeof(in) - 16));
    size_t hdr = (size_t)(w.p - in);
    memset(in + hdr, 0x11, sizeof(in) - 16);
    w.p += sizeof(in) - 16;
    assert_true(h3_capsule_put_datagram(&w, (const uint8_t *)"ok", 2));
    size_t len = (size_t)(w.p - in);
    h3_capsule_reader r;
    h3_capsule_reader_init(&r, 0, NULL);
    int skips = 0, caps = 0;
    for (size_t off = 0; off < len;) {
        size_t piece = len - off < 1000 ? len - off : 1000, at = 0;
        while (at < piece) {
            size_t used;
            h3_capsule_event ev;
            assert_int_equal(h3_capsule_reader_feed(&r, in + off + at, piece - at, &used, &ev), 0);
            at += used;
            if (ev.type == H3_CEV_NONE)
                break;
            skips += ev.type == H3_CEV_SKIP;
            caps += ev.type == H3_CEV_CAPSULE;
        }
        off += piece;
    }
    assert_int_equal(skips, 1);
    assert_int_equal(caps, 1);
    assert_int_equal(h3_capsule_reader_finish(&r), 0);
    h3_capsule_reader_free(&r);
}

static void test_reader_negative(void **state)
{
    (void)state;
    static uint8_t in[4096];
    uint8_t msg[1100];
    memset(msg, 'r', sizeof(msg));
    static cap_log log;
    quince_writer w;

    /* A 1024-byte close message is accepted... */
    w = quince_writer_init(in, sizeof(in));
    assert_true(h3_capsule_put_close_wt(&w, 7, msg, 1024));
    check_capsule_cuts(0, in, (size_t)(w.p - in), 0, &log);
    assert_int_equal(log.n, 1);
    /* ... even with the smallest bound ... */
    check_capsule_cuts(1, in, (size_t)(w.p - in), 0, &log);
    /* ... and 1025 bytes is H3_MESSAGE_ERROR. */
    w = quince_writer_init(in, sizeof(in));
    assert_true(h3_capsule_put_header(&w, H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION, 4 + 1025));
    assert_true(quince_put_u32(&w, 7));
    assert_true(quince_put_bytes(&w, msg, 1025));
    check_capsule_cuts(0, in, (size_t)(w.p - in), WIRE_ERR(H3_MESSAGE_ERROR), &log);
    /* A close capsule of 3 bytes. */
    const uint8_t short_close[] = {0x68, 0x43, 0x03, 0x00, 0x00, 0x01};
    check_capsule_cuts(0, short_close, sizeof(short_close), WIRE_ERR(H3_MESSAGE_ERROR), &log);
    /* Anything after a close capsule: H3_MESSAGE_ERROR (draft-02 §5). */
    w = quince_writer_init(in, sizeof(in));
    assert_true(h3_capsule_put_close_wt(&w, 0, NULL, 0));
    assert_true(h3_capsule_put_grease(&w, 0, NULL, 0));
    check_capsule_cuts(0, in, (size_t)(w.p - in), WIRE_ERR(H3_MESSAGE_ERROR), &log);
    assert_int_equal(log.n, 1);
    /* A registration over the bound: H3_EXCESSIVE_LOAD. */
    w = quince_writer_init(in, sizeof(in));
    assert_true(h3_capsule_put_register_no_context(&w, 1, msg, 1100));
    check_capsule_cuts(1100, in, (size_t)(w.p - in), WIRE_ERR(H3_EXCESSIVE_LOAD), &log);
    check_capsule_cuts(1101, in, (size_t)(w.p - in), 0, &log);
    /* A registration without its format type. */
    const uint8_t empty_reg[] = {0x80, 0xff, 0x37, 0xa2, 0x00};
    check_capsule_cuts(0, empty_reg, sizeof(empty_reg), WIRE_ERR(H3_MESSAGE_ERROR), &log);
    /* The stream ends inside a capsule header or value (RFC 9297 §3.3). */
    const uint8_t cut_hdr[] = {0x40};
    check_capsule_cuts(0, cut_hdr, sizeof(cut_hdr), WIRE_ERR(H3_MESSAGE_ERROR), &log);
    const uint8_t cut_val[] = {0x00, 0x05, 0x01};
    check_capsule_cuts(0, cut_val, sizeof(cut_val), WIRE_ERR(H3_MESSAGE_ERROR), &log);
    const uint8_t cut_skip[] = {0x17, 0x05, 0x01};
    check_capsule_cuts(0, cut_skip, sizeof(cut_skip), WIRE_ERR(H3_MESSAGE_ERROR), &log);
    /* Allocation failure. */
    test_env t;
    test_env_init(&t, 13);
    t.fail_after = 1;
    h3_capsule_reader r;
    h3_capsule_reader_init(&r, 0, &t.env);
    size_t used;
    h3_capsule_event ev;
    assert_int_equal(h3_capsule_reader_feed(&r, cut_val, sizeof(cut_val), &used, &ev),
                     H3_WIRE_NO_MEMORY);
    h3_capsule_reader_free(&r);
    test_env_check_leaks(&t);
}

/* A large capsule's buffer is released between capsules, a small one kept. */
static void test_reader_buffer_release(void **state)
{
    (void)state;
    static uint8_t in[12000];
    static uint8_t payload[10000];
    memset(payload, 0x33, sizeof(payload));
    quince_writer w = quince_writer_init(in, sizeof(in));
    assert_true(h3_capsule_put_datagram(&w, payload, sizeof(payload)));
    assert_true(h3_capsule_put_datagram(&w, payload, 100));
    size_t len = (size_t)(w.p - in), first = len - 103;
    test_env t;
    test_env_init(&t, 14);
    h3_capsule_reader r;
    h3_capsule_reader_init(&r, 0, &t.env);
    size_t used;
    h3_capsule_event ev;
    assert_int_equal(h3_capsule_reader_feed(&r, in, 10, &used, &ev), 0);
    assert_int_equal(ev.type, H3_CEV_NONE);
    assert_int_equal(t.live_allocs, 1);
    assert_int_equal(h3_capsule_reader_feed(&r, in + 10, first - 10, &used, &ev), 0);
    assert_int_equal(ev.type, H3_CEV_CAPSULE);
    assert_int_equal(ev.capsule.value_len, sizeof(payload));
    assert_memory_equal(ev.capsule.value, payload, sizeof(payload));
    assert_int_equal(h3_capsule_reader_feed(&r, in + first, 3, &used, &ev), 0);
    assert_int_equal(t.live_allocs, 1);
    assert_true(r.buf_cap <= H3_CAPSULE_READER_KEEP);
    assert_int_equal(h3_capsule_reader_feed(&r, in + first + 3, len - first - 3, &used, &ev), 0);
    assert_int_equal(ev.type, H3_CEV_CAPSULE);
    assert_int_equal(ev.capsule.value_len, 100);
    assert_int_equal(h3_capsule_reader_finish(&r), 0);
    h3_capsule_reader_free(&r);
    test_env_check_leaks(&t);
}

/* ---- HTTP/3 Datagrams (RFC 9297 §2.1) ---- */

static void test_datagram_prefix(void **state)
{
    (void)state;
    uint8_t buf[32];
    uint64_t sid;
    const uint8_t *p;
    size_t plen;
    const uint64_t ids[] = {0, 4, 252, 256, 65532, 65536, (H3_DATAGRAM_MAX_QUARTER_STREAM_ID)*4};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        quince_writer w = quince_writer_init(buf, sizeof(buf));
        assert_true(h3_datagram_put_prefix(&w, ids[i]));
        assert_true(quince_put_bytes(&w, "xy", 2));
        size_t len = (size_t)(w.p - buf);
        assert_int_equal(len, h3_datagram_prefix_len(ids[i]) + 2);
        assert_int_equal(h3_datagram_parse(buf, len, &sid, &p, &plen), 0);
        assert_int_equal(sid, ids[i]);
        assert_int_equal(plen, 2);
        assert_memory_equal(p, "xy", 2);
        /* An empty payload is legal; a cut prefix is H3_DATAGRAM_ERROR. */
        assert_int_equal(h3_datagram_parse(buf, len - 2, &sid, &p, &plen), 0);
        assert_int_equal(plen, 0);
        for (size_t cut = 0; cut < len - 2; cut++)
            assert_int_equal(h3_datagram_parse(buf, cut, &sid, &p, &plen),
                             WIRE_ERR(H3_DATAGRAM_ERROR));
    }
    const uint8_t known[] = {0x01, 0xde, 0xad}; /* quarter ID 1: stream 4 */
    assert_int_equal(h3_datagram_parse(known, sizeof(known), &sid, &p, &plen), 0);
    assert_int_equal(sid, 4);
    /* Quarter Stream ID 2^60 is beyond the largest stream ID. */
    const uint8_t too_big[] = {0xd0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(h3_datagram_parse(too_big, sizeof(too_big), &sid, &p, &plen),
                     WIRE_ERR(H3_DATAGRAM_ERROR));
    /* Only client-initiated bidirectional stream IDs have a prefix. */
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_false(h3_datagram_put_prefix(&w, 1));
    assert_int_equal(h3_datagram_prefix_len(2), 0);
    assert_int_equal(h3_datagram_prefix_len(QUINCE_VARINT_MAX + 1), 0);
}

/* draft-ietf-webtrans-http3-16 §4.7 (WT_DRAIN_SESSION) and §5.6.2-§5.6.5 (flow control):
 * exact bytes, round trips, a value where none belongs or more than one varint. */
static void test_wt_capsules(void **state)
{
    (void)state;
    uint8_t buf[32];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_drain(&w));
    const uint8_t drain[] = {0x80, 0x00, 0x78, 0xae, 0x00};
    assert_int_equal(w.p - buf, sizeof(drain));
    assert_memory_equal(buf, drain, sizeof(drain));
    h3_capsule c;
    assert_int_equal(h3_capsule_decode(buf, sizeof(drain), &c), (int)sizeof(drain));
    assert_int_equal(c.type, H3_CAPSULE_WT_DRAIN_SESSION);
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_wt_flow(&w, H3_CAPSULE_WT_MAX_DATA, 65536));
    const uint8_t maxd[] = {0x99, 0x0b, 0x4d, 0x3d, 0x04, 0x80, 0x01, 0x00, 0x00};
    assert_int_equal(w.p - buf, sizeof(maxd));
    assert_memory_equal(buf, maxd, sizeof(maxd));
    static const uint64_t types[] = {H3_CAPSULE_WT_MAX_DATA,
                                     H3_CAPSULE_WT_MAX_STREAMS_BIDI,
                                     H3_CAPSULE_WT_MAX_STREAMS_UNI,
                                     H3_CAPSULE_WT_DATA_BLOCKED,
                                     H3_CAPSULE_WT_STREAMS_BLOCKED_BIDI,
                                     H3_CAPSULE_WT_STREAMS_BLOCKED_UNI};
    for (size_t i = 0; i < 6; i++) {
        w = quince_writer_init(buf, sizeof(buf));
        assert_true(h3_capsule_put_wt_flow(&w, types[i], 1000 + i));
        int n = (int)(w.p - buf);
        assert_int_equal(h3_capsule_decode(buf, (size_t)n, &c), n);
        assert_int_equal(c.type, types[i]);
        assert_int_equal(c.value_int, 1000 + i);
    }
    /* Not a flow-control type: refused by the encoder. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_false(h3_capsule_put_wt_flow(&w, H3_CAPSULE_DATAGRAM, 1));
    /* DRAIN with a value, MAX_DATA with two varints or none: H3_MESSAGE_ERROR. */
    const uint8_t bad1[] = {0x80, 0x00, 0x78, 0xae, 0x01, 0x00};
    assert_int_equal(h3_capsule_decode(bad1, sizeof(bad1), &c), H3_WIRE_ERROR(H3_MESSAGE_ERROR));
    const uint8_t bad2[] = {0x99, 0x0b, 0x4d, 0x3d, 0x02, 0x01, 0x01};
    assert_int_equal(h3_capsule_decode(bad2, sizeof(bad2), &c), H3_WIRE_ERROR(H3_MESSAGE_ERROR));
    const uint8_t bad3[] = {0x99, 0x0b, 0x4d, 0x40, 0x00};
    assert_int_equal(h3_capsule_decode(bad3, sizeof(bad3), &c), H3_WIRE_ERROR(H3_MESSAGE_ERROR));
    /* The reader hands them over whole. */
    h3_capsule_reader r;
    h3_capsule_reader_init(&r, 0, NULL);
    size_t used;
    h3_capsule_event ev;
    assert_int_equal(h3_capsule_reader_feed(&r, maxd, sizeof(maxd), &used, &ev), 0);
    assert_int_equal(ev.type, H3_CEV_CAPSULE);
    assert_int_equal(ev.capsule.value_int, 65536);
    h3_capsule_reader_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_known_answers),  cmocka_unit_test(test_decode_roundtrip),
        cmocka_unit_test(test_reader_in_pieces),      cmocka_unit_test(test_unknown_not_buffered),
        cmocka_unit_test(test_reader_negative),       cmocka_unit_test(test_datagram_prefix),
        cmocka_unit_test(test_reader_buffer_release), cmocka_unit_test(test_wt_capsules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
