/* quince-server's WebTransport mode: /echo, /chat (the demo), /close-me, 404 otherwise, plus the
 * page. */
#include "apps/wt_server.h"
#include "apps/wt_serve.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apps/app_util.h"
#include "apps/demo_http.h"
#include "crypto/backend.h"
#include "io/env.h"
#include "io/loop.h"
#include "io/udp.h"
#include "bind/bind.h"
#include "h3/h3_codes.h"
#include "quic/quic.h"
#include "apps/wt_echo.h"

extern const char wt_demo_index_html[], wt_demo_test_html[];
extern const size_t wt_demo_index_html_len, wt_demo_test_html_len;

#define SEND_BUDGET 2048
#define MAX_CHAT 64
#define CHAT_MAX_MSG 4096
#define CLOSE_ME_CODE 4242u
#define CLOSE_ME_REASON "bye from quince"

enum { KIND_ECHO = 1, KIND_CHAT, KIND_CLOSE_ME };

typedef struct chat_msg {
    char *text;
    size_t len;
} chat_msg;

typedef struct wsrv {
    const quince_env *env;
    bind_config cfg;
    io_udp sock;
    bind_server *bs;
    io_loop *loop;
    io_endpoint *ep;
    demo_http *http;
    app_tx tx;
    quic_addr local;
    wt_echo echo;
    wt_callbacks echo_cb;
    wt_session *chat[MAX_CHAT];
    size_t nchat;
    bool freeing;
    uint64_t deadline;
    char hash[65];
    uint16_t wt_port;
    const wt_callbacks *app_cb; /* wt_app_serve: the application's; NULL: the demo's */
} wsrv;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* ---- the chat demo: uni streams broadcast, datagrams ('p' ping echoed, 'd' drawing relayed) ----
 */

static void chat_send(wt_session *s, const char *text, size_t len)
{
    wt_stream *st;
    if (wt_session_open_stream(s, false, &st) == WT_OK &&
        wt_stream_write(st, (const uint8_t *)text, len, true) != WT_OK)
        wt_stream_reset(st, 1);
}

static void chat_broadcast(wsrv *v, const char *text, size_t len)
{
    for (size_t i = 0; i < v->nchat; i++)
        chat_send(v->chat[i], text, len);
}

static void chat_presence(wsrv *v)
{
    char m[64];
    int n = snprintf(m, sizeof(m), "{\"peers\":%zu}", v->nchat);
    chat_broadcast(v, m, (size_t)n);
}

/* ---- WebTransport callbacks ---- */

static int on_request(void *user, wt_session *s)
{
    wsrv *v = user;
    (void)v;
    const char *path = wt_session_path(s);
    int kind = strcmp(path, "/echo") == 0       ? KIND_ECHO
               : strcmp(path, "/chat") == 0     ? KIND_CHAT
               : strcmp(path, "/close-me") == 0 ? KIND_CLOSE_ME
                                                : 0;
    if (kind == 0) {
        out("server: session %s rejected 404", path);
        return 404;
    }
    wt_session_set_user(s, (void *)(uintptr_t)kind);
    return 200;
}

static int kind_of(wt_session *s)
{
    return (int)(uintptr_t)wt_session_user(s);
}

static void on_ready(void *user, wt_session *s)
{
    wsrv *v = user;
    out("server: session %s ready origin %s", wt_session_path(s), wt_session_origin(s));
    if (kind_of(s) == KIND_CLOSE_ME) {
        wt_session_close(s, CLOSE_ME_CODE, (const uint8_t *)CLOSE_ME_REASON,
                         strlen(CLOSE_ME_REASON));
    } else if (kind_of(s) == KIND_CHAT && v->nchat < MAX_CHAT) {
        v->chat[v->nchat++] = s;
        chat_presence(v);
    }
}

static void on_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    wsrv *v = user;
    out("server: session %s closed code %u reason \"%.*s\"", wt_session_path(s), code, (int)len,
        (const char *)reason);
    if (kind_of(s) == KIND_ECHO)
        out("server: echo totals: %llu datagrams, %llu stream bytes",
            (unsigned long long)v->echo.datagrams, (unsigned long long)v->echo.bytes);
    for (size_t i = 0; i < v->nchat; i++) {
        if (v->chat[i] == s) {
            v->chat[i] = v->chat[--v->nchat];
            if (!v->freeing)
                chat_presence(v);
            break;
        }
    }
}

static void on_stream_data(void *user, wt_stream *st, const uint8_t *d, size_t len, bool fin)
{
    wsrv *v = user;
    wt_session *s = wt_stream_session(st);
    if (wt_stream_is_local(st))
        return;
    if (kind_of(s) == KIND_ECHO) {
        /* "RESET <code>" at the start of a bidi stream: the server resets it with that code. */
        if (wt_stream_is_bidi(st) && wt_stream_user(st) == NULL && len >= 6 &&
            memcmp(d, "RESET ", 6) == 0) {
            char num[16];
            size_t n = len - 6 < sizeof(num) - 1 ? len - 6 : sizeof(num) - 1;
            memcpy(num, d + 6, n);
            num[n] = '\0';
            uint32_t code = (uint32_t)strtoul(num, NULL, 10);
            out("server: resetting stream %llu with code %u", (unsigned long long)wt_stream_id(st),
                code);
            wt_stream_reset(st, code);
            return;
        }
        if (wt_stream_is_bidi(st))
            wt_stream_set_user(st, (void *)1);
        v->echo_cb.on_stream_data(v->echo_cb.user, st, d, len, fin);
        if (fin)
            out("server: %s stream %llu fin", wt_stream_is_bidi(st) ? "bidi" : "uni",
                (unsigned long long)wt_stream_id(st));
        return;
    }
    if (kind_of(s) != KIND_CHAT || wt_stream_is_bidi(st))
        return;
    chat_msg *m = wt_stream_user(st);
    if (m == NULL) {
        m = calloc(1, sizeof(*m));
        if (m == NULL || (m->text = malloc(CHAT_MAX_MSG)) == NULL) {
            free(m);
            wt_stream_stop_sending(st, 1);
            return;
        }
        wt_stream_set_user(st, m);
    }
    if (len > CHAT_MAX_MSG - m->len) {
        wt_stream_stop_sending(st, 1);
        return;
    }
    memcpy(m->text + m->len, d, len);
    m->len += len;
    if (fin)
        chat_broadcast(v, m->text, m->len);
}

static void on_stream_reset(void *user, wt_stream *st, uint32_t code)
{
    wsrv *v = user;
    out("server: stream %llu reset by the peer with code %u", (unsigned long long)wt_stream_id(st),
        code);
    if (kind_of(wt_stream_session(st)) == KIND_ECHO)
        v->echo_cb.on_stream_reset(v->echo_cb.user, st, code);
}

static void on_stop_sending(void *user, wt_stream *st, uint32_t code)
{
    (void)user;
    out("server: stream %llu stop-sending by the peer with code %u",
        (unsigned long long)wt_stream_id(st), code);
}

static void on_stream_closed(void *user, wt_stream *st)
{
    wsrv *v = user;
    wt_session *s = wt_stream_session(st);
    if (kind_of(s) == KIND_ECHO) {
        if (!wt_stream_is_bidi(st))
            v->echo_cb.on_stream_closed(v->echo_cb.user, st);
        return;
    }
    if (kind_of(s) == KIND_CHAT && !wt_stream_is_bidi(st) && !wt_stream_is_local(st)) {
        chat_msg *m = wt_stream_user(st);
        if (m != NULL) {
            free(m->text);
            free(m);
        }
    }
}

static void on_datagram(void *user, wt_session *s, const uint8_t *d, size_t len)
{
    wsrv *v = user;
    if (kind_of(s) == KIND_ECHO) {
        v->echo_cb.on_datagram(v->echo_cb.user, s, d, len);
        return;
    }
    if (kind_of(s) != KIND_CHAT || len == 0)
        return;
    if (d[0] == 'p') {
        /* A ping: the server times a round trip of its own, 'q' out and 'r' back. */
        char q[32];
        int n = snprintf(q, sizeof(q), "q%llu", (unsigned long long)io_now_us());
        wt_session_send_datagram(s, (const uint8_t *)q, (size_t)n);
    } else if (d[0] == 'r' && len < 32) {
        char num[32], rep[32];
        memcpy(num, d + 1, len - 1);
        num[len - 1] = '\0';
        uint64_t sent = strtoull(num, NULL, 10), now = io_now_us();
        int n =
            snprintf(rep, sizeof(rep), "R%llu", (unsigned long long)(now >= sent ? now - sent : 0));
        wt_session_send_datagram(s, (const uint8_t *)rep, (size_t)n);
    } else if (d[0] == 'd') {
        for (size_t i = 0; i < v->nchat; i++)
            if (v->chat[i] != s)
                wt_session_send_datagram(v->chat[i], d, len);
    }
}

/* ---- connections ---- */

/* A connection goes: its chat sessions leave quietly (as when the demo freed
 * connections itself), then the binding frees its sessions. */
static void on_conn_free(void *user, bind_conn *bc)
{
    wsrv *v = user;
    wt_endpoint *ep = bind_conn_wt(bc);
    for (size_t i = 0; i < v->nchat;) {
        if (wt_session_endpoint(v->chat[i]) == ep)
            v->chat[i] = v->chat[--v->nchat];
        else
            i++;
    }
}

/* Every connection runs WebTransport with the demo's callbacks (or the
 * application's); the binding creates and frees them (bind/bind.h). */
static void wt_server_config(wsrv *v)
{
    bind_config *c = &v->cfg;
    bind_config_init(c, true);
    c->webtransport = true;
    c->wtcfg.max_streams_per_session = 512;
    c->h3cfg.max_peer_bidi = 600;
    c->h3cfg.max_peer_uni = 600;
    c->h3cfg.max_send_buffer = 8u << 20;
    if (v->app_cb != NULL) {
        c->wtcb = *v->app_cb;
        c->cb.user = v->app_cb->user; /* the connections' user pointer */
    } else {
        c->wtcb = (wt_callbacks){.on_session_request = on_request,
                                 .on_session_ready = on_ready,
                                 .on_session_closed = on_closed,
                                 .on_stream_data = on_stream_data,
                                 .on_stream_reset = on_stream_reset,
                                 .on_stream_stop_sending = on_stop_sending,
                                 .on_stream_closed = on_stream_closed,
                                 .on_datagram = on_datagram};
        c->cb.user = v;
        c->cb.on_conn_free = on_conn_free;
    }
}

static void on_datagrams(void *user, const io_batch *b)
{
    wsrv *v = user;
    app_bind_server_recv(v->bs, &v->local, b);
}

static void on_timeout(void *user, uint64_t now)
{
    wsrv *v = user;
    if (v->deadline != 0 && now >= v->deadline) {
        out("server: timeout");
        io_loop_stop(v->loop);
        return;
    }
    bind_server_on_timeout(v->bs, now);
}

static uint64_t flush(void *user, uint64_t now)
{
    wsrv *v = user;
    bool blocked = app_tx_pending(&v->tx) && app_tx_flush(&v->tx, &v->sock) == 1;
    bool more = app_send_bind_server(&v->tx, &v->sock, v->ep, v->bs, SEND_BUDGET, now, &blocked);
    uint64_t t = bind_server_next_timeout(v->bs);
    if (v->deadline != 0 && v->deadline < t)
        t = v->deadline;
    if (more && !blocked)
        t = now;
    return t;
}

/* ---- the page over HTTP/1.1 ---- */

static char *fill_template(const wsrv *v, const char *tpl, size_t *len)
{
    size_t cap = strlen(tpl) + 1024, n = 0;
    char *o = malloc(cap);
    if (o == NULL)
        return NULL;
    for (const char *p = tpl; *p != '\0';) {
        char port[8];
        const char *rep = NULL;
        size_t skip = 0;
        if (strncmp(p, "{{CERT_HASH}}", 13) == 0) {
            rep = v->hash;
            skip = 13;
        } else if (strncmp(p, "{{WT_PORT}}", 11) == 0) {
            snprintf(port, sizeof(port), "%u", v->wt_port);
            rep = port;
            skip = 11;
        }
        if (rep != NULL) {
            size_t rl = strlen(rep);
            if (n + rl + 1 > cap)
                break;
            memcpy(o + n, rep, rl);
            n += rl;
            p += skip;
        } else {
            if (n + 2 > cap)
                break;
            o[n++] = *p++;
        }
    }
    o[n] = '\0';
    *len = n;
    return o;
}

static char *page_buf;

static void on_http(void *user, const char *method, const char *path, const uint8_t *body,
                    size_t body_len, demo_http_response *r)
{
    wsrv *v = user;
    free(page_buf);
    page_buf = NULL;
    r->status = 404;
    r->content_type = "text/plain";
    r->body = "not found\n";
    r->body_len = strlen(r->body);
    if (strcmp(method, "POST") == 0 && strcmp(path, "/log") == 0) {
        out("page: %.*s", (int)body_len, (const char *)body);
        r->status = 204;
        r->body = "";
        r->body_len = 0;
        return;
    }
    if (strcmp(method, "GET") != 0)
        return;
    char clean[256];
    size_t plen = strcspn(path, "?#");
    if (plen >= sizeof(clean))
        return;
    memcpy(clean, path, plen);
    clean[plen] = '\0';
    path = clean;
    if (strncmp(path, "/hold", 5) == 0) {
        /* A response held for 3 s: headless Chromium's virtual time waits for it, so
         * that a screenshot shows the page after real round trips (scripts/screenshot.sh). */
        r->status = 200;
        r->body = "held\n";
        r->body_len = 5;
        r->delay_ms = 3000;
        return;
    }
    const char *tpl = strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0
                          ? wt_demo_index_html
                      : strcmp(path, "/test") == 0 ? wt_demo_test_html
                                                   : NULL;
    if (tpl == NULL)
        return;
    size_t n;
    page_buf = fill_template(v, tpl, &n);
    if (page_buf == NULL)
        return;
    r->status = 200;
    r->content_type = "text/html; charset=utf-8";
    r->body = page_buf;
    r->body_len = n;
}

/* ---- main ---- */

bool wt_server_wanted(int argc, char **argv)
{
    if (argc <= 1)
        return true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--demo") == 0 || strcmp(argv[i], "--webtransport") == 0 ||
            strcmp(argv[i], "--http") == 0)
            return true;
    return false;
}

static void usage(void)
{
    fprintf(stderr, "usage: quince-server [--demo] [--listen ADDR:PORT] [--http ADDR:PORT]\n"
                    "                     [--timeout S]\n"
                    "  WebTransport (draft-02) on UDP --listen (default 127.0.0.1:4433) and the\n"
                    "  demo page over HTTP/1.1 on TCP --http (default 127.0.0.1:8080); port 0:\n"
                    "  any free one. --timeout: exit after S seconds (default: never).\n");
}

/* The server loop: WebTransport on listen_at (UDP), the page on http_at (TCP; NULL:
 * none), with the demo's callbacks or app_cb. */
static int serve(const char *listen_at, const char *http_at, uint64_t timeout_us,
                 const wt_callbacks *app_cb)
{
    static wsrv srv;
    wsrv *v = &srv;
    io_env ienv;
    io_env_init(&ienv);
    ienv.log_prefix = "quince-server";
    v->env = &ienv.env;
    if (io_udp_open(&v->sock, listen_at, NULL) != IO_OK) {
        fprintf(stderr, "quince-server: cannot bind UDP %s\n", listen_at);
        return 1;
    }
    app_addr_to_quic(&v->sock.local, &v->local);
    v->wt_port = io_addr_port(&v->sock.local);

    /* Chromium's serverCertificateHashes: ECDSA P-256, valid at most 14 days. */
    int64_t now_s = (int64_t)time(NULL);
    crypto_cert_params cp = {.common_name = "quince",
                             .dns_name = "localhost",
                             .ip_address = "127.0.0.1",
                             .not_before_unix = now_s - 3600,
                             .not_after_unix = now_s + 13 * 86400};
    uint8_t *der = NULL, *key_der = NULL;
    size_t der_len = 0, key_len = 0;
    crypto_privkey *key = NULL;
    if (crypto_cert_generate(v->env, &cp, &der, &der_len, &key_der, &key_len, &key) < 0) {
        fprintf(stderr, "quince-server: certificate generation failed\n");
        return 1;
    }
    uint8_t h[32];
    crypto_hash(CRYPTO_HASH_SHA256, der, der_len, h);
    app_hex(h, 32, v->hash);
    const uint8_t *chain[1] = {der};
    size_t chain_len[1] = {der_len};
    const char *alpn[] = {"h3", NULL};
    v->app_cb = app_cb;
    wt_echo_init(&v->echo, "/echo", &v->echo_cb);
    wt_server_config(v);
    v->cfg.quic.is_server = true;
    v->cfg.quic.tls.alpn = alpn;
    v->cfg.quic.tls.cert_chain = chain;
    v->cfg.quic.tls.cert_chain_lens = chain_len;
    v->cfg.quic.tls.cert_chain_count = 1;
    v->cfg.quic.tls.private_key = key;
    v->cfg.quic.initial_max_data = 64u << 20;
    v->cfg.quic.initial_max_stream_data_bidi_remote = 1u << 20;
    v->cfg.quic.initial_max_stream_data_bidi_local = 1u << 20;
    v->cfg.quic.initial_max_stream_data_uni = 1u << 20;
    v->cfg.quic.initial_max_streams_bidi = 500;
    v->cfg.quic.initial_max_streams_uni = 500;
    v->cfg.quic.max_datagram_frame_size = 65535;
    v->cfg.quic.max_idle_timeout_ms = 60000;
    v->cfg.quic.cid_len = 8;
    v->bs = bind_server_new(v->env, &v->cfg);
    if (v->bs == NULL) {
        fprintf(stderr, "quince-server: bad QUIC configuration\n");
        return 1;
    }
    static const io_endpoint_ops ops = {
        .on_datagrams = on_datagrams, .on_timeout = on_timeout, .flush = flush};
    app_tx_init(&v->tx);
    if (!app_loop_open(&v->loop, &ops, v, &v->ep, &v->sock, "quince-server"))
        return 1;
    v->http = http_at != NULL ? demo_http_start(v->loop, http_at, on_http, v) : NULL;
    if (http_at != NULL && v->http == NULL) {
        fprintf(stderr, "quince-server: cannot listen on TCP %s\n", http_at);
        return 1;
    }
    if (timeout_us > 0)
        v->deadline = io_now_us() + timeout_us;
    char bound[80];
    io_addr_format(&v->sock.local, bound, sizeof(bound));
    out("cert-sha256: %s", v->hash);
    if (v->http == NULL) {
        out("webtransport: https://%s/ (UDP)", bound);
    } else {
        out("webtransport: https://%s/echo (UDP; also /chat, /close-me)", bound);
        out("http-port: %u", demo_http_port(v->http));
        out("open http://127.0.0.1:%u/ in Chromium (Ctrl-C to stop)", demo_http_port(v->http));
    }
    io_endpoint_kick(v->ep);
    int sig = io_loop_run(v->loop);
    out("server: exiting (%s)", sig > 0 ? "signal" : sig < 0 ? io_strerror(sig) : "stopped");
    /* Sessions end without wire signals: the chat must not broadcast meanwhile. */
    v->freeing = true;
    bind_server_free(v->bs);
    v->freeing = false;
    demo_http_stop(v->http);
    free(page_buf);
    io_loop_destroy(v->loop);
    io_udp_close(&v->sock);
    crypto_privkey_free(v->env, key);
    quince_env_free(v->env, der);
    quince_env_free(v->env, key_der);
    io_env_cleanup(&ienv);
    return sig < 0 ? 1 : 0;
}

int wt_server_main(int argc, char **argv)
{
    const char *listen_at = "127.0.0.1:4433", *http_at = "127.0.0.1:8080";
    uint64_t timeout_us = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--demo") == 0 || strcmp(a, "--webtransport") == 0)
            continue;
        if (strcmp(a, "--listen") == 0 && has_val)
            listen_at = argv[++i];
        else if (strcmp(a, "--http") == 0 && has_val)
            http_at = argv[++i];
        else if (strcmp(a, "--timeout") == 0 && has_val) {
            if (!app_parse_seconds(argv[++i], &timeout_us)) {
                usage();
                return 2;
            }
        } else {
            usage();
            return strcmp(a, "--help") == 0 ? 0 : 2;
        }
    }
    return serve(listen_at, http_at, timeout_us, NULL);
}

int wt_app_serve(const char *listen_at, const wt_callbacks *cb)
{
    return serve(listen_at, NULL, 0, cb);
}
