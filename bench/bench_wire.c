/* bench-wire: QUIC frame coding, stream reassembly and the HTTP/3 frame reader, in bytes/s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "h3/frame.h"
#include "quic/frame.h"
#include "quic/stream_buf.h"

/*
 * The per-packet work of the wire layers without cryptography: what a
 * connection spends on a 1200-byte packet once it is decrypted (decode),
 * or before it is encrypted (encode). Inputs are fixed patterns.
 */

#define PKT 1200
#define STREAM_CHUNK 1150  /* STREAM data in a 1200-byte packet: header, frame header, tag */
#define XFER (1024 * 1024) /* one stream_buf / reader operation moves 1 MiB */

/* ---- STREAM frames ---- */

typedef struct stream_state {
    uint8_t data[STREAM_CHUNK];
    uint8_t pkt[PKT];
    size_t pkt_len;
    uint64_t offset;
} stream_state;

static void stream_encode_loop(void *arg, uint64_t iters)
{
    stream_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        quince_writer w = quince_writer_init(s->pkt, sizeof(s->pkt));
        if (!quic_frame_encode_stream(&w, 4, s->offset, s->data, STREAM_CHUNK, false, true))
            bench_fail("quic_frame_encode_stream", 0);
        s->offset += STREAM_CHUNK;
    }
}

static void stream_decode_loop(void *arg, uint64_t iters)
{
    stream_state *s = arg;
    quic_frame f;
    for (uint64_t i = 0; i < iters; i++) {
        int n = quic_frame_decode(s->pkt, s->pkt_len, QUIC_PKT_1RTT, &f);
        if (n != (int)s->pkt_len || f.u.stream.length != STREAM_CHUNK)
            bench_fail("quic_frame_decode (STREAM)", n);
    }
}

/* ---- ACK frames ---- */

typedef struct ack_state {
    quic_ranges rs;
    uint8_t pkt[PKT];
    size_t pkt_len;
    size_t ranges;
} ack_state;

static void ack_encode_loop(void *arg, uint64_t iters)
{
    ack_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        quince_writer w = quince_writer_init(s->pkt, sizeof(s->pkt));
        size_t n = quic_frame_encode_ack(&w, &s->rs, 25, NULL, 0);
        if (n != s->ranges)
            bench_fail("quic_frame_encode_ack", (int)n);
    }
}

static void ack_decode_loop(void *arg, uint64_t iters)
{
    ack_state *s = arg;
    quic_frame f;
    for (uint64_t i = 0; i < iters; i++) {
        int n = quic_frame_decode(s->pkt, s->pkt_len, QUIC_PKT_1RTT, &f);
        if (n != (int)s->pkt_len || f.u.ack.range_count + 1 != s->ranges)
            bench_fail("quic_frame_decode (ACK)", n);
    }
}

/* Decode and walk every range, as loss detection will. */
static void ack_walk_loop(void *arg, uint64_t iters)
{
    ack_state *s = arg;
    quic_frame f;
    for (uint64_t i = 0; i < iters; i++) {
        int n = quic_frame_decode(s->pkt, s->pkt_len, QUIC_PKT_1RTT, &f);
        if (n != (int)s->pkt_len)
            bench_fail("quic_frame_decode (ACK)", n);
        quic_ack_iter it;
        quic_ack_range r;
        size_t count = 0;
        quic_ack_iter_init(&it, &f.u.ack);
        while (quic_ack_iter_next(&it, &r))
            count++;
        if (count != s->ranges)
            bench_fail("quic_ack_iter", (int)count);
    }
}

static void bench_ack(const bench_opts *o, bench_env *be, size_t ranges)
{
    static ack_state s;
    char name[96];
    quic_ranges_init(&s.rs, &be->env, ranges, true);
    /* Ranges of 3 packets with 2 missing between them, from packet 1000000 up. */
    for (size_t i = 0; i < ranges; i++) {
        uint64_t start = 1000000 + 5 * (uint64_t)i;
        if (quic_ranges_add(&s.rs, start, start + 3) != QUIC_OK)
            bench_fail("quic_ranges_add", 0);
    }
    s.ranges = ranges;
    quince_writer w = quince_writer_init(s.pkt, sizeof(s.pkt));
    if (quic_frame_encode_ack(&w, &s.rs, 25, NULL, 0) != ranges)
        bench_fail("quic_frame_encode_ack", 0);
    s.pkt_len = (size_t)(w.p - s.pkt);
    snprintf(name, sizeof(name), "frame.ack.%zu.bytes", ranges);
    if (bench_selected(o, name))
        bench_row_value(name, (double)s.pkt_len, "bytes");
    snprintf(name, sizeof(name), "frame.ack.%zu.encode", ranges);
    bench_timed(o, name, ack_encode_loop, &s, 0);
    snprintf(name, sizeof(name), "frame.ack.%zu.decode", ranges);
    bench_timed(o, name, ack_decode_loop, &s, 0);
    snprintf(name, sizeof(name), "frame.ack.%zu.decode+walk", ranges);
    bench_timed(o, name, ack_walk_loop, &s, 0);
    quic_ranges_free(&s.rs);
}

/* ---- A packet full of small control frames ---- */

typedef struct small_state {
    uint8_t pkt[PKT];
    size_t pkt_len;
    size_t frames;
} small_state;

static void small_decode_loop(void *arg, uint64_t iters)
{
    small_state *s = arg;
    quic_frame f;
    for (uint64_t i = 0; i < iters; i++) {
        size_t off = 0, count = 0;
        while (off < s->pkt_len) {
            int n = quic_frame_decode(s->pkt + off, s->pkt_len - off, QUIC_PKT_1RTT, &f);
            if (n <= 0)
                bench_fail("quic_frame_decode (MAX_STREAM_DATA)", n);
            off += (size_t)n;
            count++;
        }
        if (count != s->frames)
            bench_fail("small frame count", (int)count);
    }
}

/* ---- Stream reassembly ---- */

typedef struct sb_state {
    const quince_env *env;
    uint8_t *data; /* XFER bytes */
    uint8_t sink[64 * 1024];
    size_t *order; /* chunk indices in arrival order (duplicates allowed) */
    size_t n_order;
    size_t n_chunks;
} sb_state;

static void sb_loop(void *arg, uint64_t iters)
{
    sb_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        quic_stream_buf sb;
        size_t got = 0;
        quic_stream_buf_init(&sb, s->env, 256 * 1024, 256, NULL);
        for (size_t k = 0; k < s->n_order; k++) {
            size_t c = s->order[k];
            size_t off = c * STREAM_CHUNK;
            size_t len = off + STREAM_CHUNK <= XFER ? STREAM_CHUNK : XFER - off;
            int rc = quic_stream_buf_write(&sb, off, s->data + off, len, off + len == XFER);
            if (rc != QUIC_OK)
                bench_fail("quic_stream_buf_write", rc);
            got += quic_stream_buf_read(&sb, s->sink, sizeof(s->sink));
        }
        if (got != XFER || !quic_stream_buf_finished(&sb))
            bench_fail("stream_buf transfer", (int)got);
        quic_stream_buf_free(&sb);
    }
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Arrival orders: in order; each window of w chunks reversed; each window of
 * w shuffled with every dup-th chunk sent twice (a retransmission). */
static void sb_order(sb_state *s, size_t window, bool shuffle, size_t dup)
{
    uint64_t x = 88172645463325252u;
    s->n_order = 0;
    for (size_t base = 0; base < s->n_chunks; base += window) {
        size_t n = s->n_chunks - base < window ? s->n_chunks - base : window;
        size_t first = s->n_order;
        for (size_t j = 0; j < n; j++)
            s->order[s->n_order++] = base + (shuffle ? j : n - 1 - j);
        if (shuffle) {
            for (size_t j = n - 1; j > 0; j--) {
                size_t r = (size_t)(rng_next(&x) % (j + 1));
                size_t t = s->order[first + j];
                s->order[first + j] = s->order[first + r];
                s->order[first + r] = t;
            }
        }
        if (dup > 0)
            for (size_t j = 0; j < n; j += dup)
                s->order[s->n_order++] = s->order[first + j];
    }
}

static void bench_stream_buf(const bench_opts *o, bench_env *be)
{
    static sb_state s;
    s.env = &be->env;
    s.n_chunks = (XFER + STREAM_CHUNK - 1) / STREAM_CHUNK;
    s.data = malloc(XFER);
    s.order = malloc(sizeof(size_t) * s.n_chunks * 2);
    if (s.data == NULL || s.order == NULL)
        bench_fail("malloc", 0);
    bench_fill(s.data, XFER, 11);

    sb_order(&s, 1, false, 0);
    bench_timed(o, "stream_buf.inorder.1M", sb_loop, &s, XFER);
    sb_order(&s, 16, false, 0);
    bench_timed(o, "stream_buf.reversed16.1M", sb_loop, &s, XFER);
    sb_order(&s, 32, true, 8);
    bench_timed(o, "stream_buf.shuffled32+dup.1M", sb_loop, &s, XFER);
    free(s.data);
    free(s.order);
}

/* Memory of a stream_buf holding n KiB: unread in-order bytes, and the same
 * bytes received as 1 KiB pieces with a 1 KiB hole before each. */
static void bench_stream_buf_mem(const bench_opts *o, bench_env *be)
{
    static uint8_t chunk[1024];
    char name[96];
    const size_t sizes[] = {1, 16, 64, 256};
    bench_fill(chunk, sizeof(chunk), 12);
    for (size_t k = 0; k < 4; k++) {
        for (int holes = 0; holes < 2; holes++) {
            snprintf(name, sizeof(name), "mem.stream_buf.%zuk.%s", sizes[k],
                     holes ? "holes" : "inorder");
            if (!bench_selected(o, name))
                continue;
            quic_stream_buf sb;
            bench_heap heap = {0, 0, 0};
            size_t before = be->live;
            bench_heap_current = &heap;
            quic_stream_buf_init(&sb, &be->env, 1024 * 1024, 1024, NULL);
            for (size_t i = 0; i < sizes[k]; i++) {
                uint64_t off = holes ? (2 * i + 1) * 1024 : i * 1024;
                int rc = quic_stream_buf_write(&sb, off, chunk, sizeof(chunk), false);
                if (rc != QUIC_OK)
                    bench_fail("quic_stream_buf_write", rc);
            }
            bench_heap_current = NULL;
            bench_row_value(name, (double)(be->live - before), "bytes");
            bench_heap_current = &heap;
            quic_stream_buf_free(&sb);
            bench_heap_current = NULL;
            if (be->live != before || heap.live != 0)
                bench_fail("stream_buf memory not returned", 0);
        }
    }
    if (bench_selected(o, "mem.stream_buf.struct"))
        bench_row_value("mem.stream_buf.struct", (double)sizeof(quic_stream_buf), "bytes");
}

/* ---- HTTP/3 frame reader ---- */

typedef struct h3_state {
    const quince_env *env;
    uint8_t *stream;
    size_t len;
    size_t piece; /* bytes handed to the reader per call (a STREAM frame's worth) */
    size_t expect_payload;
    uint64_t expect_frames;
} h3_state;

static void h3_loop(void *arg, uint64_t iters)
{
    h3_state *s = arg;
    h3_frame_reader_config cfg = {.role = H3_ROLE_ANY};
    for (uint64_t i = 0; i < iters; i++) {
        h3_frame_reader r;
        size_t payload = 0;
        uint64_t frames = 0;
        h3_frame_reader_init(&r, &cfg, s->env);
        for (size_t off = 0; off < s->len;) {
            size_t end = off + s->piece < s->len ? off + s->piece : s->len;
            while (off < end) {
                size_t used = 0;
                h3_frame_event ev;
                int rc = h3_frame_reader_feed(&r, s->stream + off, end - off, &used, &ev);
                if (rc < 0)
                    bench_fail("h3_frame_reader_feed", rc);
                off += used;
                if (ev.type == H3_FEV_DATA)
                    payload += ev.len;
                else if (ev.type == H3_FEV_FRAME) {
                    payload += ev.frame.payload_len;
                    frames++;
                } else if (ev.type == H3_FEV_DATA_START)
                    frames++;
                else if (ev.type == H3_FEV_NONE)
                    break;
            }
        }
        if (h3_frame_reader_finish(&r) != 0 || payload != s->expect_payload ||
            frames != s->expect_frames)
            bench_fail("h3 frame reader", (int)frames);
        h3_frame_reader_free(&r);
    }
}

/* frames of type with payload bytes each, back to back: XFER bytes or so. */
static void h3_build(h3_state *s, uint64_t type, size_t payload, size_t count)
{
    static uint8_t body[16384];
    bench_fill(body, sizeof(body), 13);
    s->stream = malloc(count * (payload + 16));
    if (s->stream == NULL)
        bench_fail("malloc", 0);
    quince_writer w = quince_writer_init(s->stream, count * (payload + 16));
    for (size_t i = 0; i < count; i++) {
        bool ok = type == H3_FRAME_DATA ? h3_frame_put_data(&w, body, payload)
                                        : h3_frame_put_headers(&w, body, payload);
        if (!ok)
            bench_fail("h3_frame_put", 0);
    }
    s->len = (size_t)(w.p - s->stream);
    s->expect_payload = payload * count;
    s->expect_frames = count;
}

static void bench_h3(const bench_opts *o, bench_env *be)
{
    static h3_state s;
    s.env = &be->env;
    h3_build(&s, H3_FRAME_DATA, 16384, 64);
    s.piece = STREAM_CHUNK;
    bench_timed(o, "h3.reader.data16k.pieces1150.1M", h3_loop, &s, s.len);
    s.piece = s.len;
    bench_timed(o, "h3.reader.data16k.whole.1M", h3_loop, &s, s.len);
    free(s.stream);
    /* HEADERS sections of 200 bytes: small frames, buffered when split. */
    h3_build(&s, H3_FRAME_HEADERS, 200, 1024);
    s.piece = s.len;
    bench_timed(o, "h3.reader.headers200.whole.x1024", h3_loop, &s, s.len);
    s.piece = STREAM_CHUNK;
    bench_timed(o, "h3.reader.headers200.pieces1150.x1024", h3_loop, &s, s.len);
    free(s.stream);
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_env be;
    bench_parse_args(argc, argv, &o, "bench-wire");
    bench_env_init(&be, 7);
    bench_header("bench-wire");

    static stream_state ss;
    bench_fill(ss.data, sizeof(ss.data), 10);
    ss.offset = 1u << 20;
    bench_timed(&o, "frame.stream.encode.1150", stream_encode_loop, &ss, STREAM_CHUNK);
    {
        quince_writer w = quince_writer_init(ss.pkt, sizeof(ss.pkt));
        if (!quic_frame_encode_stream(&w, 4, 1u << 20, ss.data, STREAM_CHUNK, false, true))
            bench_fail("quic_frame_encode_stream", 0);
        ss.pkt_len = (size_t)(w.p - ss.pkt);
    }
    bench_timed(&o, "frame.stream.decode.1150", stream_decode_loop, &ss, STREAM_CHUNK);

    const size_t ack_sizes[] = {1, 16, 64, 200};
    for (size_t i = 0; i < 4; i++)
        bench_ack(&o, &be, ack_sizes[i]);

    static small_state sm;
    quince_writer w = quince_writer_init(sm.pkt, sizeof(sm.pkt));
    for (uint64_t id = 0; quince_writer_left(&w) >= 16; id += 4, sm.frames++) {
        quic_frame f = {.type = QUIC_FT_MAX_STREAM_DATA,
                        .u.max_stream_data = {.stream_id = id, .max = 1000000 + id * 4096}};
        if (!quic_frame_encode(&w, &f))
            bench_fail("quic_frame_encode", 0);
    }
    sm.pkt_len = (size_t)(w.p - sm.pkt);
    if (bench_selected(&o, "frame.max_stream_data.count"))
        bench_row_value("frame.max_stream_data.count", (double)sm.frames, "frames/packet");
    bench_timed(&o, "frame.max_stream_data.decode.packet", small_decode_loop, &sm, sm.pkt_len);

    bench_stream_buf(&o, &be);
    bench_stream_buf_mem(&o, &be);
    bench_h3(&o, &be);

    if (be.live != 0) {
        fprintf(stderr, "bench-wire: %zu bytes still allocated\n", be.live);
        return 1;
    }
    return 0;
}
