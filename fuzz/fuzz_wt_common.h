/* Shared by the wt fuzz targets: a malloc environment and in-memory WebTransport endpoints. */
#ifndef FUZZ_FUZZ_WT_COMMON_H
#define FUZZ_FUZZ_WT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wt/codes.h"
#include "apps/wt_echo.h"
#include "wt/wt.h"
#include "base/budget.h"
#include "fuzz_env.h"

#define FZ_MAX_STREAMS 64
#define FZ_MAX_OUT 4096 /* bytes kept per stream for the other side */

/* The bytes (buf) come last: only the fields before them are cleared when a stream is
 * taken, as only buf[0..len) is ever read. */
typedef struct fz_out {
    uint64_t id;
    size_t len, delivered;
    bool fin, fin_delivered;
    bool reset, reset_delivered;
    uint64_t reset_code;
    uint8_t buf[FZ_MAX_OUT];
} fz_out;

/* The streams (out, 256 KiB) come last: fz_ep_init clears the fields before them, and
 * out[0..nout) is set up as streams are taken. Clearing the whole struct per input was
 * nine tenths of the WebTransport targets' time. */
typedef struct fz_ep {
    wt_endpoint *wt;
    h3_conn *h3;
    bool is_server;
    uint64_t next_bidi, next_uni;
    size_t nout;
    uint8_t dgram[1500];
    size_t dgram_len;
    bool has_dgram;
    wt_session *session; /* client: the session it opened */
    quince_budget budget; /* h3's and wt's charges, checked when the endpoint goes */
    fz_out out[FZ_MAX_STREAMS];
} fz_ep;

static fz_out *fz_out_for(fz_ep *ep, uint64_t id)
{
    for (size_t i = 0; i < ep->nout; i++)
        if (ep->out[i].id == id)
            return &ep->out[i];
    if (ep->nout == FZ_MAX_STREAMS)
        return NULL;
    fz_out *o = &ep->out[ep->nout++];
    memset(o, 0, offsetof(fz_out, buf));
    o->id = id;
    return o;
}

static int fz_open(void *u, bool bidi, uint64_t *id)
{
    fz_ep *ep = u;
    uint64_t base = ep->is_server ? 1 : 0;
    *id = bidi ? ep->next_bidi++ * 4 + base : ep->next_uni++ * 4 + 2 + base;
    return 0;
}
static int64_t fz_write(void *u, uint64_t id, const uint8_t *d, size_t n, bool fin)
{
    fz_out *o = fz_out_for(u, id);
    if (o == NULL)
        return (int64_t)n; /* dropped: a sink */
    size_t take = n < FZ_MAX_OUT - o->len ? n : FZ_MAX_OUT - o->len;
    if (take > 0)
        memcpy(o->buf + o->len, d, take);
    o->len += take;
    if (fin)
        o->fin = true;
    return (int64_t)n;
}
static int fz_reset(void *u, uint64_t id, uint64_t code)
{
    fz_out *o = fz_out_for(u, id);
    if (o != NULL && !o->reset) {
        o->reset = true;
        o->reset_code = code;
    }
    return 0;
}
static int fz_stop(void *u, uint64_t id, uint64_t code)
{
    (void)u;
    (void)id;
    (void)code;
    return 0;
}
static int fz_dgram(void *u, const uint8_t *d, size_t n)
{
    fz_ep *ep = u;
    if (n <= sizeof(ep->dgram)) {
        memcpy(ep->dgram, d, n);
        ep->dgram_len = n;
        ep->has_dgram = true;
    }
    return 0;
}
static void fz_close(void *u, uint64_t code, const char *reason)
{
    (void)u;
    (void)code;
    (void)reason;
}

/* A client forgets its session when the library frees it. */
static void fz_session_gone(void *user, wt_session *s)
{
    fz_ep *ep = user;
    if (ep->session == s)
        ep->session = NULL;
}
static void fz_rejected(void *user, wt_session *s, int status)
{
    (void)status;
    fz_session_gone(user, s);
}
static void fz_closed(void *user, wt_session *s, uint32_t code, const uint8_t *r, size_t n)
{
    (void)code;
    (void)r;
    (void)n;
    fz_session_gone(user, s);
}

/* A server runs apps/wt_echo at "/echo"; a client only follows its session's life. */
static bool fz_ep_init(fz_ep *ep, bool is_server, wt_echo *echo)
{
    memset(ep, 0, offsetof(fz_ep, out));
    ep->is_server = is_server;
    wt_config cfg;
    wt_config_init(&cfg, is_server);
    cfg.max_datagram_frame = 1200;
    cfg.max_buffered_streams = 4;
    cfg.max_buffered_bytes = 4096;
    cfg.max_sessions = 4;
    cfg.max_streams_per_session = 8;
    wt_callbacks cb;
    memset(&cb, 0, sizeof(cb));
    if (is_server) {
        wt_echo_init(echo, "/echo", &cb);
    } else {
        cb.user = ep;
        cb.on_session_rejected = fz_rejected;
        cb.on_session_closed = fz_closed;
    }
    h3_transport tp = {.user = ep,
                       .open_stream = fz_open,
                       .write = fz_write,
                       .reset_stream = fz_reset,
                       .stop_sending = fz_stop,
                       .send_datagram = fz_dgram,
                       .close = fz_close};
    h3_config hc;
    h3_config_init(&hc, is_server);
    wt_config_h3(&cfg, &hc);
    h3_callbacks none;
    memset(&none, 0, sizeof(none));
    ep->h3 = h3_conn_new(fuzz_env_fixed(), &hc, &tp, &none);
    if (ep->h3 == NULL)
        return false;
    ep->wt = wt_endpoint_new(fuzz_env_fixed(), &cfg, ep->h3, &cb);
    if (ep->wt == NULL) {
        h3_conn_free(ep->h3);
        return false;
    }
    /* A small budget, so that the refusals run too (fz_ep_free checks it). */
    ep->budget.limit = 16384;
    h3_conn_set_budget(ep->h3, &ep->budget);
    wt_endpoint_set_budget(ep->wt, &ep->budget);
    h3_conn_start(ep->h3);
    return true;
}

/* The endpoint, then the h3_conn it ran on. */
static inline void fz_ep_free(fz_ep *ep)
{
    wt_endpoint_free(ep->wt);
    h3_conn_free(ep->h3);
    /* Never above its limit, and every byte given back. */
    if (ep->budget.used != 0 || ep->budget.peak > ep->budget.limit)
        abort();
}

/* Deliver what a wrote to b; true if anything moved. */
static inline bool fz_pump_one(fz_ep *a, fz_ep *b)
{
    bool moved = false;
    for (size_t i = 0; i < a->nout; i++) {
        fz_out *o = &a->out[i];
        if (o->delivered < o->len || (o->fin && !o->fin_delivered)) {
            size_t from = o->delivered;
            o->delivered = o->len;
            o->fin_delivered = o->fin;
            h3_conn_on_stream_data(b->h3, o->id, o->buf + from, o->len - from, o->fin);
            moved = true;
        }
        if (o->reset && !o->reset_delivered) {
            o->reset_delivered = true;
            h3_conn_on_stream_reset(b->h3, o->id, o->reset_code, o->len);
            moved = true;
        }
    }
    if (a->has_dgram) {
        a->has_dgram = false;
        h3_conn_on_datagram(b->h3, a->dgram, a->dgram_len);
        moved = true;
    }
    return moved;
}

static inline void fz_pump(fz_ep *a, fz_ep *b)
{
    for (int i = 0; i < 32; i++) {
        bool m1 = fz_pump_one(a, b);
        bool m2 = fz_pump_one(b, a);
        if (!m1 && !m2)
            return;
    }
}

/* A stream or datagram code from one input byte: half WebTransport application
 * codes, half plain HTTP/3 codes. */
static inline uint64_t fz_code_for(uint8_t b)
{
    return b & 1 ? wt_error_to_http3(b >> 1) : (uint64_t)(0x100 + (b >> 1));
}

/* One operation of the fuzz input at *off, fed to ep's HTTP/3 connection as if
 * QUIC delivered it: stream data (with or without FIN), a datagram, a stream
 * reset or a STOP_SENDING. A reset's final size comes from the operation byte
 * divided by 5: 0 unknown (as in the first corpora), 50 (the largest) near 2^62, else that
 * many KiB. Returns false when the input has no whole operation left. */
static inline bool fz_ep_feed(fz_ep *ep, const uint8_t *data, size_t size, size_t *off)
{
    size_t o = *off;
    uint8_t q = data[o] / 5;
    uint8_t op = data[o++] % 5;
    if (op <= 1) {
        if (size - o < 3)
            return false;
        uint64_t id = data[o];
        size_t len = (size_t)data[o + 1] << 8 | data[o + 2];
        o += 3;
        if (len > size - o)
            len = size - o;
        h3_conn_on_stream_data(ep->h3, id, data + o, len, op == 1);
        o += len;
    } else if (op == 2) {
        if (size - o < 2)
            return false;
        size_t len = (size_t)data[o] << 8 | data[o + 1];
        o += 2;
        if (len > size - o)
            len = size - o;
        h3_conn_on_datagram(ep->h3, data + o, len);
        o += len;
    } else {
        if (size - o < 2)
            return false;
        uint64_t id = data[o];
        uint64_t code = fz_code_for(data[o + 1]);
        o += 2;
        uint64_t final_size = q == 0    ? H3_FINAL_SIZE_UNKNOWN
                              : q == 50 ? ((uint64_t)1 << 62) - 1
                                        : (uint64_t)q << 10;
        if (op == 3)
            h3_conn_on_stream_reset(ep->h3, id, code, final_size);
        else
            h3_conn_on_stop_sending(ep->h3, id, code);
    }
    *off = o;
    return true;
}

#endif

