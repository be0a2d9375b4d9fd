/* Test harness: WebTransport endpoints over h3_conn over in-memory streams, recording app. */
#include "tests/wt/wt_pair.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

uint32_t wp_dialects;
bool wp_h3_lets_early_through;

static wp_out *out_find(wp_ep *ep, uint64_t id, bool create)
{
    for (size_t i = 0; i < ep->nout; i++)
        if (ep->out[i].id == id)
            return &ep->out[i];
    if (!create)
        return NULL;
    assert_true(ep->nout < WP_MAX_STREAMS);
    wp_out *o = &ep->out[ep->nout++];
    memset(o, 0, sizeof(*o));
    o->id = id;
    return o;
}

const wp_out *wp_out_stream(const wp_ep *ep, uint64_t id)
{
    return out_find((wp_ep *)ep, id, false);
}

bool wp_sent_reset(const wp_ep *ep, uint64_t id, uint64_t *code)
{
    const wp_out *o = wp_out_stream(ep, id);
    if (o == NULL || !o->reset)
        return false;
    *code = o->reset_code;
    return true;
}

bool wp_sent_stop(const wp_ep *ep, uint64_t id, uint64_t *code)
{
    const wp_out *o = wp_out_stream(ep, id);
    if (o == NULL || !o->stop)
        return false;
    *code = o->stop_code;
    return true;
}

/* ---- Transport ---- */

static int t_open(void *user, bool bidi, uint64_t *id)
{
    wp_ep *ep = user;
    uint64_t base = ep->is_server ? 1 : 0;
    if (bidi)
        *id = ep->next_bidi++ * 4 + base;
    else
        *id = ep->next_uni++ * 4 + 2 + base;
    out_find(ep, *id, true);
    return 0;
}

static int64_t t_write(void *user, uint64_t id, const uint8_t *data, size_t len, bool fin)
{
    wp_ep *ep = user;
    wp_out *o = out_find(ep, id, true);
    assert_false(o->fin);
    assert_false(o->reset);
    if (o->len + len > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + len)
            cap *= 2;
        o->buf = realloc(o->buf, cap);
        assert_non_null(o->buf);
        o->cap = cap;
    }
    if (len > 0)
        memcpy(o->buf + o->len, data, len);
    o->len += len;
    if (fin)
        o->fin = true;
    return (int64_t)len;
}

static int t_reset(void *user, uint64_t id, uint64_t code)
{
    wp_out *o = out_find(user, id, true);
    if (!o->fin && !o->reset) {
        o->reset = true;
        o->reset_code = code;
    }
    return 0;
}

/* RESET_STREAM_AT: the harness delivers every written byte in order anyway;
 * it records the reliable size the sender promised. */
static int t_reset_at(void *user, uint64_t id, uint64_t code, uint64_t reliable)
{
    wp_out *o = out_find(user, id, true);
    if (!o->fin && !o->reset) {
        o->reset = true;
        o->reset_code = code;
        o->reset_reliable = reliable;
    }
    return 0;
}

static int t_stop(void *user, uint64_t id, uint64_t code)
{
    wp_out *o = out_find(user, id, true);
    if (!o->stop) {
        o->stop = true;
        o->stop_code = code;
    }
    return 0;
}

static int t_dgram(void *user, const uint8_t *data, size_t len)
{
    wp_ep *ep = user;
    assert_true(ep->ndgrams < WP_MAX_DGRAMS);
    uint8_t *c = malloc(len ? len : 1);
    memcpy(c, data, len);
    ep->dgrams[ep->ndgrams] = c;
    ep->dgram_lens[ep->ndgrams++] = len;
    return 0;
}

static void t_close(void *user, uint64_t code, const char *reason)
{
    wp_ep *ep = user;
    (void)reason;
    if (!ep->closed) {
        ep->closed = true;
        ep->close_code = code;
    }
}

/* ---- Recording application ---- */

wp_rx *wp_rx_for(wp_ep *ep, uint64_t id)
{
    wp_app *a = &ep->app;
    for (size_t i = 0; i < a->nrx; i++)
        if (a->rx[i].id == id)
            return &a->rx[i];
    assert_true(a->nrx < WP_MAX_STREAMS);
    wp_rx *r = &a->rx[a->nrx++];
    memset(r, 0, sizeof(*r));
    r->id = id;
    return r;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    assert_true(n < cap);
    memcpy(dst, src, n + 1);
}

static int a_request(void *user, wt_session *s)
{
    wp_ep *ep = user;
    ep->app.requests++;
    ep->app.last_session = s;
    copy_str(ep->app.last_path, sizeof(ep->app.last_path), wt_session_path(s));
    copy_str(ep->app.last_origin, sizeof(ep->app.last_origin), wt_session_origin(s));
    copy_str(ep->app.last_authority, sizeof(ep->app.last_authority), wt_session_authority(s));
    ep->app.protocols_seen = wt_session_protocol_count(s);
    if (ep->app.select_protocol != NULL)
        ep->app.select_rc = wt_session_select_protocol(s, ep->app.select_protocol);
    return ep->app.accept_status ? ep->app.accept_status : 200;
}

static void a_ready(void *user, wt_session *s)
{
    wp_ep *ep = user;
    ep->app.ready++;
    ep->app.last_session = s;
}

static void a_rejected(void *user, wt_session *s, int status)
{
    wp_ep *ep = user;
    (void)s;
    ep->app.rejected++;
    ep->app.last_status = status;
}

static void a_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    wp_ep *ep = user;
    (void)s;
    ep->app.closed++;
    ep->app.close_code = code;
    assert_true(len <= sizeof(ep->app.close_reason));
    if (len > 0)
        memcpy(ep->app.close_reason, reason, len);
    ep->app.close_reason_len = len;
}

static void a_open(void *user, wt_session *s, wt_stream *st)
{
    (void)s;
    wp_rx *r = wp_rx_for(user, wt_stream_id(st));
    r->opened = true;
    r->st = st;
}

static void a_data(void *user, wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    wp_rx *r = wp_rx_for(user, wt_stream_id(st));
    assert_false(r->fin);
    assert_true(r->len + len <= sizeof(r->data));
    if (len > 0)
        memcpy(r->data + r->len, data, len);
    r->len += len;
    r->fin = fin;
}

static void a_reset(void *user, wt_stream *st, uint32_t code)
{
    wp_rx *r = wp_rx_for(user, wt_stream_id(st));
    r->reset = true;
    r->reset_code = code;
}

static void a_stop(void *user, wt_stream *st, uint32_t code)
{
    wp_rx *r = wp_rx_for(user, wt_stream_id(st));
    r->stop = true;
    r->stop_code = code;
}

static void a_stream_closed(void *user, wt_stream *st)
{
    wp_rx *r = wp_rx_for(user, wt_stream_id(st));
    assert_false(r->closed);
    r->closed = true;
    r->st = NULL;
}

static void a_datagram(void *user, wt_session *s, const uint8_t *data, size_t len)
{
    wp_ep *ep = user;
    wp_app *a = &ep->app;
    assert_true(a->ndgram < WP_MAX_DGRAMS);
    assert_true(len <= sizeof(a->dgram[0]));
    memcpy(a->dgram[a->ndgram], data, len);
    a->dgram_len[a->ndgram] = len;
    a->dgram_session[a->ndgram++] = s;
}

static void a_draining(void *user, wt_session *s)
{
    wp_ep *ep = user;
    (void)s;
    ep->app.draining++;
}

static void a_credit(void *user, wt_session *s)
{
    wp_ep *ep = user;
    (void)s;
    ep->app.credit++;
}

static void a_refused(void *user, wt_session *s, int status, const char *why)
{
    wp_ep *ep = user;
    (void)s;
    ep->app.refused++;
    ep->app.refused_status = status;
    snprintf(ep->app.refused_why, sizeof(ep->app.refused_why), "%s", why);
}

/* Plain h3 application: remember the first :status. */
static void h_headers(void *user, uint64_t id, const h3_field *f, size_t n, bool trailers)
{
    wp_ep *ep = user;
    (void)trailers;
    if (!ep->is_server && ep->status_seen == 0)
        ep->status_seen = h3_conn_stream_status(ep->h3, id);
    if (ep->headers_len > 0)
        return;
    for (size_t i = 0; i < n; i++) {
        assert_true(ep->headers_len + f[i].name_len + f[i].value_len + 3 <
                    sizeof(ep->headers_seen));
        memcpy(ep->headers_seen + ep->headers_len, f[i].name, f[i].name_len);
        ep->headers_len += f[i].name_len;
        memcpy(ep->headers_seen + ep->headers_len, ": ", 2);
        ep->headers_len += 2;
        memcpy(ep->headers_seen + ep->headers_len, f[i].value, f[i].value_len);
        ep->headers_len += f[i].value_len;
        ep->headers_seen[ep->headers_len++] = '\n';
    }
    ep->headers_seen[ep->headers_len] = 0;
}

static void h_data(void *user, uint64_t id, const uint8_t *d, size_t n)
{
    wp_ep *ep = user;
    (void)id;
    assert_true(ep->data_len + n <= sizeof(ep->data_seen));
    memcpy(ep->data_seen + ep->data_len, d, n);
    ep->data_len += n;
}

static void h_end(void *user, uint64_t id)
{
    wp_ep *ep = user;
    (void)id;
    ep->end_seen = true;
}

/* RFC 8470: every stream travelled in early data while the test says so. */
static bool t_early(void *user, uint64_t id)
{
    const wp_ep *ep = user;
    (void)id;
    return ep->early;
}

static const h3_transport *transport_for(wp_ep *ep, h3_transport *tp)
{
    *tp = (h3_transport){.user = ep,
                         .open_stream = t_open,
                         .write = t_write,
                         .reset_stream = t_reset,
                         .stop_sending = t_stop,
                         .send_datagram = t_dgram,
                         .close = t_close,
                         .reset_stream_at = t_reset_at,
                         .stream_early = t_early};
    return tp;
}

void wp_init(wp_ep *ep, test_env *te, bool is_server, const wt_config *cfg, bool echo)
{
    wp_init_chain(ep, te, is_server, cfg, echo, NULL);
}

static void init_with(wp_ep *ep, test_env *te, bool is_server, const wt_config *cfg, bool echo,
                      const h3_callbacks *chain, const wt_callbacks *app_cb)
{
    memset(ep, 0, sizeof(*ep));
    ep->te = te;
    ep->is_server = is_server;
    wt_config c;
    if (cfg != NULL) {
        c = *cfg;
    } else {
        wt_config_init(&c, is_server);
        c.max_datagram_frame = 1200;
        if (wp_dialects != 0)
            c.dialects = wp_dialects;
    }
    wt_callbacks cb;
    if (echo) {
        wt_echo_init(&ep->echo, "/echo", &cb);
    } else {
        cb = (wt_callbacks){.user = ep,
                            .on_session_request = a_request,
                            .on_session_ready = a_ready,
                            .on_session_rejected = a_rejected,
                            .on_session_closed = a_closed,
                            .on_stream_open = a_open,
                            .on_stream_data = a_data,
                            .on_stream_reset = a_reset,
                            .on_stream_stop_sending = a_stop,
                            .on_stream_closed = a_stream_closed,
                            .on_datagram = a_datagram,
                            .on_session_refused = a_refused,
                            .on_session_draining = a_draining,
                            .on_session_credit = a_credit};
    }
    if (app_cb != NULL)
        cb = *app_cb;
    h3_config hc;
    h3_config_init(&hc, is_server);
    hc.refuse_unsafe_early = !wp_h3_lets_early_through;
    wt_config_h3(&c, &hc);
    h3_transport tp;
    h3_callbacks none = {0};
    ep->h3 = h3_conn_new(&te->env, &hc, transport_for(ep, &tp), chain != NULL ? chain : &none);
    assert_non_null(ep->h3);
    ep->wt = wt_endpoint_new(&te->env, &c, ep->h3, &cb);
    assert_non_null(ep->wt);
    assert_int_equal(h3_conn_start(ep->h3), H3_OK);
}

void wp_init_chain(wp_ep *ep, test_env *te, bool is_server, const wt_config *cfg, bool echo,
                   const h3_callbacks *chain)
{
    init_with(ep, te, is_server, cfg, echo, chain, NULL);
}

void wp_init_cb(wp_ep *ep, test_env *te, bool is_server, const wt_config *cfg,
                const wt_callbacks *cb)
{
    init_with(ep, te, is_server, cfg, false, NULL, cb);
}

void wp_init_h3(wp_ep *ep, test_env *te, bool is_server, const h3_config *cfg)
{
    memset(ep, 0, sizeof(*ep));
    ep->te = te;
    ep->is_server = is_server;
    h3_transport tp;
    h3_callbacks cb = {.user = ep, .on_headers = h_headers, .on_data = h_data, .on_end = h_end};
    ep->h3 = h3_conn_new(&te->env, cfg, transport_for(ep, &tp), &cb);
    assert_non_null(ep->h3);
    assert_int_equal(h3_conn_start(ep->h3), H3_OK);
}

void wp_free(wp_ep *ep)
{
    if (ep->wt != NULL)
        wt_endpoint_free(ep->wt);
    h3_conn_free(ep->h3);
    for (size_t i = 0; i < ep->nout; i++)
        free(ep->out[i].buf);
    for (size_t i = 0; i < ep->ndgrams; i++)
        free(ep->dgrams[i]);
}

void wp_hold(wp_ep *ep, uint64_t id)
{
    assert_true(ep->nhold < WP_MAX_HOLD);
    ep->hold[ep->nhold++] = id;
}

void wp_release(wp_ep *ep, uint64_t id)
{
    for (size_t i = 0; i < ep->nhold; i++)
        if (ep->hold[i] == id)
            ep->hold[i] = ep->hold[--ep->nhold];
}

static bool held(const wp_ep *ep, uint64_t id)
{
    for (size_t i = 0; i < ep->nhold; i++)
        if (ep->hold[i] == id)
            return true;
    return false;
}

/* One round from a to b; true if anything moved. */
static bool pump_one(wp_ep *a, wp_ep *b)
{
    bool moved = false;
    for (size_t i = 0; i < a->nout; i++) {
        wp_out *o = &a->out[i];
        if (held(a, o->id))
            continue;
        if (o->delivered < o->len || (o->fin && !o->fin_delivered)) {
            size_t n = o->len - o->delivered;
            bool fin = o->fin;
            o->delivered = o->len;
            o->fin_delivered = fin;
            h3_conn_on_stream_data(b->h3, o->id, o->buf + o->delivered - n, n, fin);
            moved = true;
        }
        if (o->reset && !o->reset_delivered) {
            o->reset_delivered = true;
            h3_conn_on_stream_reset(b->h3, o->id, o->reset_code, o->len + o->reset_final_add);
            moved = true;
        }
        if (o->stop && !o->stop_delivered) {
            o->stop_delivered = true;
            h3_conn_on_stop_sending(b->h3, o->id, o->stop_code);
            moved = true;
        }
    }
    while (a->dgrams_delivered < a->ndgrams) {
        size_t i = a->dgrams_delivered++;
        h3_conn_on_datagram(b->h3, a->dgrams[i], a->dgram_lens[i]);
        moved = true;
    }
    return moved;
}

void wp_pump(wp_ep *a, wp_ep *b)
{
    for (int round = 0; round < 100; round++) {
        bool m1 = pump_one(a, b);
        bool m2 = pump_one(b, a);
        if (!m1 && !m2)
            return;
    }
    fail_msg("pump did not settle");
}

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The record format of fuzz/fuzz_wt_server.c: op (0 data, 1 data+fin,
 * 2 datagram), stream id byte (not for datagrams), 16-bit length, bytes. */
size_t wp_flight(const wp_ep *ep, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < ep->nout; i++) {
        const wp_out *o = &ep->out[i];
        if (o->id > 255)
            continue;
        for (size_t off = 0; off < o->len || (off == 0 && o->fin);) {
            size_t len = o->len - off > 512 ? 512 : o->len - off;
            bool last = off + len == o->len;
            assert_true(n + 4 + len <= cap);
            out[n++] = last && o->fin ? 1 : 0;
            out[n++] = (uint8_t)o->id;
            put16(out + n, len);
            n += 2;
            memcpy(out + n, o->buf + off, len);
            n += len;
            off += len;
            if (len == 0)
                break;
        }
    }
    for (size_t i = 0; i < ep->ndgrams; i++) {
        assert_true(n + 3 + ep->dgram_lens[i] <= cap);
        out[n++] = 2;
        put16(out + n, ep->dgram_lens[i]);
        n += 2;
        memcpy(out + n, ep->dgrams[i], ep->dgram_lens[i]);
        n += ep->dgram_lens[i];
    }
    return n;
}
