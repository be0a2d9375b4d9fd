/* Test harness: h3_conn endpoints over an in-memory transport, and crafted-byte helpers. */
#include "tests/h3/conn_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "h3/frame.h"
#include "h3/qpack_encoder.h"
#include "h3/settings.h"
#include "base/cursor.h"
#include "base/varint.h"

static hx_out *out_find(hx_ep *ep, uint64_t id, bool create)
{
    for (size_t i = 0; i < ep->nout; i++)
        if (ep->out[i].id == id)
            return &ep->out[i];
    if (!create)
        return NULL;
    assert_true(ep->nout < HX_MAX_STREAMS);
    hx_out *o = &ep->out[ep->nout++];
    memset(o, 0, sizeof(*o));
    o->id = id;
    return o;
}

const hx_out *hx_out_stream(const hx_ep *ep, uint64_t id)
{
    return out_find((hx_ep *)ep, id, false);
}

hx_msg *hx_msg_for(hx_ep *ep, uint64_t id)
{
    for (size_t i = 0; i < HX_MAX_MSGS; i++)
        if (ep->msgs[i].used && ep->msgs[i].id == id)
            return &ep->msgs[i];
    for (size_t i = 0; i < HX_MAX_MSGS; i++)
        if (!ep->msgs[i].used) {
            ep->msgs[i].used = true;
            ep->msgs[i].id = id;
            return &ep->msgs[i];
        }
    fail_msg("too many messages");
    return NULL;
}

bool hx_has_reset(const hx_ep *ep, uint64_t id, uint64_t code)
{
    for (size_t i = 0; i < ep->nresets; i++)
        if (ep->resets[i].id == id && ep->resets[i].code == code)
            return true;
    return false;
}

bool hx_has_stop(const hx_ep *ep, uint64_t id, uint64_t code)
{
    for (size_t i = 0; i < ep->nstops; i++)
        if (ep->stops[i].id == id && ep->stops[i].code == code)
            return true;
    return false;
}

/* ---- Transport ---- */

static int t_open(void *user, bool bidi, uint64_t *id)
{
    hx_ep *ep = user;
    uint64_t base = ep->is_server ? 1 : 0;
    if (bidi) {
        *id = ep->next_bidi * 4 + base;
        ep->next_bidi++;
    } else {
        *id = ep->next_uni * 4 + 2 + base;
        ep->next_uni++;
    }
    out_find(ep, *id, true);
    return 0;
}

/* RFC 8470: the streams the test says travelled in early data. */
static bool t_early(void *user, uint64_t id)
{
    const hx_ep *ep = user;
    return ep->early_all || (ep->early_id_set && ep->early_id == id);
}

static bool t_early_now(void *user)
{
    const hx_ep *ep = user;
    return ep->early_now;
}

static int64_t t_write(void *user, uint64_t id, const uint8_t *data, size_t len, bool fin)
{
    hx_ep *ep = user;
    hx_out *o = out_find(ep, id, true);
    assert_false(o->fin);
    assert_false(o->reset);
    size_t n = len;
    if (ep->write_limit && n > ep->write_limit)
        n = ep->write_limit;
    if (ep->stall)
        n = 0;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n)
            cap *= 2;
        o->buf = realloc(o->buf, cap);
        assert_non_null(o->buf);
        o->cap = cap;
    }
    if (n > 0)
        memcpy(o->buf + o->len, data, n);
    o->len += n;
    if (n == len && fin)
        o->fin = true;
    return (int64_t)n;
}

static int t_reset(void *user, uint64_t id, uint64_t code)
{
    hx_ep *ep = user;
    assert_true(ep->nresets < HX_MAX_ACTIONS);
    ep->resets[ep->nresets++] = (hx_action){id, code};
    hx_out *o = out_find(ep, id, true);
    if (!o->fin) {
        o->reset = true;
        o->reset_code = code;
    }
    return 0;
}

static int t_stop(void *user, uint64_t id, uint64_t code)
{
    hx_ep *ep = user;
    assert_true(ep->nstops < HX_MAX_ACTIONS);
    ep->stops[ep->nstops++] = (hx_action){id, code};
    hx_out *o = out_find(ep, id, true);
    o->stop = true;
    o->stop_code = code;
    return 0;
}

static int t_dgram(void *user, const uint8_t *data, size_t len)
{
    hx_ep *ep = user;
    assert_true(ep->ndgrams < HX_MAX_DGRAMS);
    uint8_t *c = malloc(len ? len : 1);
    memcpy(c, data, len);
    ep->dgrams[ep->ndgrams] = c;
    ep->dgram_lens[ep->ndgrams++] = len;
    return 0;
}

static void t_close(void *user, uint64_t code, const char *reason)
{
    hx_ep *ep = user;
    (void)reason;
    assert_false(ep->closed);
    ep->closed = true;
    ep->close_code = code;
}

/* ---- Application ---- */

static void append(char *dst, size_t *len, size_t cap, const void *src, size_t n)
{
    assert_true(*len + n < cap);
    memcpy(dst + *len, src, n);
    *len += n;
    dst[*len] = 0;
}

static void a_headers(void *user, uint64_t id, const h3_field *f, size_t n, bool trailers)
{
    hx_ep *ep = user;
    hx_msg *m = hx_msg_for(ep, id);
    char *dst = trailers ? m->trailers : m->headers;
    size_t *len = trailers ? &m->tlen : &m->hlen;
    size_t cap = trailers ? sizeof(m->trailers) : sizeof(m->headers);
    if (!trailers && m->sections > 0)
        append(dst, len, cap, "--\n", 3);
    if (!trailers)
        m->sections++;
    for (size_t i = 0; i < n; i++) {
        append(dst, len, cap, f[i].name, f[i].name_len);
        append(dst, len, cap, ": ", 2);
        append(dst, len, cap, f[i].value, f[i].value_len);
        append(dst, len, cap, "\n", 1);
    }
    if (ep->headers_hook != NULL)
        ep->headers_hook(ep, id, trailers);
}

static void a_data(void *user, uint64_t id, const uint8_t *d, size_t n)
{
    hx_ep *ep = user;
    hx_msg *m = hx_msg_for(ep, id);
    assert_true(m->body_len + n <= sizeof(m->body));
    memcpy(m->body + m->body_len, d, n);
    m->body_len += n;
}

static void a_end(void *user, uint64_t id)
{
    hx_ep *ep = user;
    hx_msg *m = hx_msg_for(ep, id);
    assert_false(m->ended);
    m->ended = true;
    if (ep->is_server && ep->auto_respond) {
        const char *body = ep->response_body ? ep->response_body : "";
        char cl[24];
        snprintf(cl, sizeof(cl), "%zu", strlen(body));
        const char *kv[] = {":status", "200", "content-type", "text/plain", "content-length",
                            cl,        NULL};
        h3_field f[8];
        size_t nf = hx_fields(f, 8, kv);
        bool empty = body[0] == 0;
        assert_int_equal(h3_conn_submit_response(ep->conn, id, f, nf, empty), H3_OK);
        if (!empty)
            assert_int_equal(
                h3_conn_send_data(ep->conn, id, (const uint8_t *)body, strlen(body), true), H3_OK);
    }
}

static void a_reset(void *user, uint64_t id, uint64_t code, bool local)
{
    hx_ep *ep = user;
    hx_msg *m = hx_msg_for(ep, id);
    m->reset = true;
    m->reset_code = code;
    m->reset_local = local;
}

static void a_dgram(void *user, uint64_t id, const uint8_t *p, size_t n)
{
    hx_ep *ep = user;
    hx_msg *m = hx_msg_for(ep, id);
    assert_true(n <= sizeof(m->dgram));
    memcpy(m->dgram, p, n);
    m->dgram_len = n;
    m->ndgrams++;
}

static void a_settings(void *user, const h3_settings *s)
{
    hx_ep *ep = user;
    (void)s;
    ep->settings_received = true;
}

static void a_goaway(void *user, uint64_t id)
{
    hx_ep *ep = user;
    ep->goaway = id;
    ep->goaways++;
}

static int a_ext(void *user, uint64_t id, uint64_t type, uint64_t session, const uint8_t *d,
                 size_t n, bool fin)
{
    hx_ep *ep = user;
    (void)id;
    ep->ext_type = type;
    ep->ext_session = session;
    assert_true(ep->ext_len + n <= sizeof(ep->ext_data));
    memcpy(ep->ext_data + ep->ext_len, d, n);
    ep->ext_len += n;
    ep->ext_fin = fin;
    return ep->ext_refuse ? 1 : 0;
}

void hx_init_nostart(hx_ep *ep, test_env *te, bool is_server, const h3_config *cfg)
{
    memset(ep, 0, sizeof(*ep));
    ep->te = te;
    ep->is_server = is_server;
    ep->goaway = UINT64_MAX;
    h3_config def;
    if (cfg == NULL) {
        h3_config_init(&def, is_server);
        cfg = &def;
    }
    assert_int_equal(cfg->is_server, is_server);
    h3_transport tp = {ep,      t_open,  t_write, t_reset,    t_stop,
                       t_dgram, t_close, NULL,    t_early, t_early_now, NULL};
    h3_callbacks cb = {ep,
                       a_headers,
                       a_data,
                       a_end,
                       a_reset,
                       NULL,
                       a_dgram,
                       a_settings,
                       a_goaway,
                       NULL,
                       cfg->ext_streams ? a_ext : NULL};
    ep->conn = h3_conn_new(&te->env, cfg, &tp, &cb);
    assert_non_null(ep->conn);
}

void hx_init(hx_ep *ep, test_env *te, bool is_server, const h3_config *cfg)
{
    hx_init_nostart(ep, te, is_server, cfg);
    assert_int_equal(h3_conn_start(ep->conn), H3_OK);
}

void hx_free(hx_ep *ep)
{
    h3_conn_free(ep->conn);
    for (size_t i = 0; i < ep->nout; i++)
        free(ep->out[i].buf);
    for (size_t i = 0; i < ep->ndgrams; i++)
        free(ep->dgrams[i]);
}

void hx_set_write_limit(hx_ep *ep, size_t n)
{
    ep->write_limit = n;
}

/* One direction: returns true if anything moved. */
static bool pump_one(hx_ep *a, hx_ep *b, size_t chunk)
{
    bool moved = false;
    if (a->closed)
        return false;
    for (size_t i = 0; i < a->nout && !b->closed; i++) {
        hx_out *o = &a->out[i];
        if (o->delivered < o->len || (o->fin && !o->fin_delivered)) {
            size_t n = o->len - o->delivered;
            if (chunk && n > chunk)
                n = chunk;
            bool fin = o->fin && o->delivered + n == o->len;
            h3_conn_on_stream_data(b->conn, o->id, o->buf + o->delivered, n, fin);
            o->delivered += n;
            if (fin)
                o->fin_delivered = true;
            moved = true;
        } else if (o->reset && !o->reset_delivered) {
            o->reset_delivered = true;
            h3_conn_on_stream_reset(b->conn, o->id, o->reset_code, o->len);
            moved = true;
        }
        if (o->stop && !o->stop_delivered && !b->closed) {
            o->stop_delivered = true;
            h3_conn_on_stop_sending(b->conn, o->id, o->stop_code);
            moved = true;
        }
    }
    while (a->dgrams_delivered < a->ndgrams && !b->closed) {
        size_t k = a->dgrams_delivered++;
        h3_conn_on_datagram(b->conn, a->dgrams[k], a->dgram_lens[k]);
        moved = true;
    }
    /* Flow control opens again: let each side retry what it buffered. */
    if (!a->stall)
        for (size_t i = 0; i < a->nout && !a->closed; i++)
            if (h3_conn_stream_buffered(a->conn, a->out[i].id) > 0) {
                h3_conn_on_writable(a->conn, a->out[i].id);
                moved = true;
            }
    return moved;
}

int hx_pump(hx_ep *a, hx_ep *b, size_t chunk)
{
    int rounds = 0;
    for (;;) {
        bool m1 = pump_one(a, b, chunk);
        bool m2 = pump_one(b, a, chunk);
        if (!m1 && !m2)
            break;
        rounds++;
        assert_true(rounds < 100000);
    }
    return rounds;
}

size_t hx_fields(h3_field *out, size_t cap, const char *const *kv)
{
    size_t n = 0;
    while (kv[2 * n] != NULL) {
        assert_true(n < cap);
        out[n].name = (const uint8_t *)kv[2 * n];
        out[n].name_len = strlen(kv[2 * n]);
        out[n].value = (const uint8_t *)kv[2 * n + 1];
        out[n].value_len = strlen(kv[2 * n + 1]);
        n++;
    }
    return n;
}

/* ---- Crafted bytes ---- */

void hx_put(hx_buf *b, const void *data, size_t len)
{
    assert_true(b->len + len <= sizeof(b->b));
    memcpy(b->b + b->len, data, len);
    b->len += len;
}

void hx_put_hex(hx_buf *b, const char *hex)
{
    b->len += test_unhex(hex, b->b + b->len, sizeof(b->b) - b->len);
}

void hx_put_varint(hx_buf *b, uint64_t v)
{
    quince_writer w = quince_writer_init(b->b + b->len, sizeof(b->b) - b->len);
    assert_true(quince_put_varint(&w, v));
    b->len = (size_t)(w.p - b->b);
}

void hx_put_control_preface(hx_buf *b, const h3_settings *s)
{
    h3_settings def;
    if (s == NULL) {
        h3_settings_init(&def);
        s = &def;
    }
    hx_put_varint(b, H3_STREAM_CONTROL);
    quince_writer w = quince_writer_init(b->b + b->len, sizeof(b->b) - b->len);
    assert_true(h3_settings_put_frame(&w, s, H3_SETTINGS_NO_GREASE));
    b->len = (size_t)(w.p - b->b);
}

void hx_put_headers(hx_buf *b, test_env *te, const char *const *kv)
{
    h3_field f[32];
    size_t n = hx_fields(f, 32, kv);
    h3_qpack_encoder *enc = h3_qpack_encoder_new(&te->env, 0);
    assert_non_null(enc);
    uint8_t sec[4096];
    size_t len;
    assert_int_equal(h3_qpack_encode(enc, 0, f, n, sec, sizeof(sec), &len), H3_QPACK_OK);
    h3_qpack_encoder_free(enc);
    quince_writer w = quince_writer_init(b->b + b->len, sizeof(b->b) - b->len);
    assert_true(h3_frame_put_headers(&w, sec, len));
    b->len = (size_t)(w.p - b->b);
}

void hx_put_data(hx_buf *b, const void *data, size_t len)
{
    quince_writer w = quince_writer_init(b->b + b->len, sizeof(b->b) - b->len);
    assert_true(h3_frame_put_data(&w, data, len));
    b->len = (size_t)(w.p - b->b);
}

int hx_feed(hx_ep *ep, uint64_t id, const hx_buf *b, bool fin)
{
    return h3_conn_on_stream_data(ep->conn, id, b->b, b->len, fin);
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

void hx_pump_random(hx_ep *a, hx_ep *b, uint64_t seed, size_t max_chunk)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (int steps = 0; steps < 1000000; steps++) {
        hx_ep *from = xorshift(&x) & 1 ? a : b, *to = from == a ? b : a;
        /* Candidates: streams with bytes or a FIN to deliver. */
        size_t cand[HX_MAX_STREAMS], nc = 0;
        for (int pass = 0; pass < 2 && nc == 0; pass++) {
            if (pass == 1) {
                hx_ep *t = from;
                from = to;
                to = t;
            }
            if (from->closed || to->closed)
                continue;
            for (size_t i = 0; i < from->nout; i++) {
                hx_out *o = &from->out[i];
                if (o->delivered < o->len || (o->fin && !o->fin_delivered))
                    cand[nc++] = i;
            }
        }
        if (nc == 0) {
            /* Nothing pending as bytes: finish resets, stops and datagrams in order. */
            hx_pump(a, b, 0);
            return;
        }
        hx_out *o = &from->out[cand[xorshift(&x) % nc]];
        size_t n = o->len - o->delivered;
        size_t c = 1 + (size_t)(xorshift(&x) % max_chunk);
        if (n > c)
            n = c;
        bool fin = o->fin && o->delivered + n == o->len;
        h3_conn_on_stream_data(to->conn, o->id, o->buf + o->delivered, n, fin);
        o->delivered += n;
        if (fin)
            o->fin_delivered = true;
    }
    fail_msg("hx_pump_random did not settle");
}
