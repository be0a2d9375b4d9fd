/* quince-server's WebTransport demo: /echo, /chat, /close-me sessions (404 otherwise) and the page
 * over HTTP/1.1. */
#include "apps/wt_demo.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/demo_http.h"
#include "apps/wt_echo.h"
#include "io/loop.h"

extern const char wt_demo_index_html[], wt_demo_test_html[];
extern const size_t wt_demo_index_html_len, wt_demo_test_html_len;

#define MAX_CHAT 64
#define CHAT_MAX_MSG 4096
#define CLOSE_ME_CODE 4242u
#define CLOSE_ME_REASON "bye from quince"
#define MAX_HTTP 2
/* Liveness: the page pings every 200 ms ('p' datagrams); a chat page heard from for
 * CHAT_IDLE_US by none of its datagrams or streams is gone (a killed browser closes
 * nothing): its session is closed with CHAT_GONE_CODE and the others see it leave. */
#define CHAT_IDLE_US 5000000u
#define CHAT_GONE_CODE 4408u
#define CHAT_GONE_REASON "page gone: nothing heard for 5 s"

enum { KIND_ECHO = 1, KIND_CHAT, KIND_CLOSE_ME };

typedef struct chat_msg {
    char *text;
    size_t len;
} chat_msg;

/* One demo per process: its callbacks ignore their user pointer, which is the
 * connection's (quince-server's HTTP/3 file server state). */
typedef struct wsrv {
    demo_http *http[MAX_HTTP];
    size_t nhttp;
    wt_echo echo;
    wt_callbacks echo_cb;
    wt_session *chat[MAX_CHAT];
    uint64_t chat_seen[MAX_CHAT]; /* when each chat page was last heard from */
    size_t nchat;
    bool freeing;
    char hash[65];
    uint16_t wt_port;
    const char *const *allowed; /* --wt-allow-origin */
    size_t nallowed;
} wsrv;

static wsrv demo;
static uint64_t (*demo_clock)(void) = io_now_us;

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

/* A chat page leaves: out of the list at once, and the others are told. */
static void chat_remove(wsrv *v, wt_session *s)
{
    for (size_t i = 0; i < v->nchat; i++) {
        if (v->chat[i] == s) {
            v->nchat--;
            v->chat[i] = v->chat[v->nchat];
            v->chat_seen[i] = v->chat_seen[v->nchat];
            if (!v->freeing)
                chat_presence(v);
            return;
        }
    }
}

/* s was heard from (NULL: nobody in particular). Pages that were not, for
 * CHAT_IDLE_US, are gone: every live page pings five times a second, so any
 * page's traffic runs this check for the others. */
static void chat_heard(wsrv *v, wt_session *s)
{
    uint64_t now = demo_clock();
    wt_session *gone[MAX_CHAT];
    size_t ngone = 0;
    for (size_t i = 0; i < v->nchat; i++) {
        if (v->chat[i] == s)
            v->chat_seen[i] = now;
        else if (now - v->chat_seen[i] > CHAT_IDLE_US)
            gone[ngone++] = v->chat[i];
    }
    for (size_t i = 0; i < ngone; i++) {
        out("server: chat page gone (nothing heard for %u s): session closed with %u",
            CHAT_IDLE_US / 1000000u, CHAT_GONE_CODE);
        chat_remove(v, gone[i]);
        wt_session_close(gone[i], CHAT_GONE_CODE, (const uint8_t *)CHAT_GONE_REASON,
                         strlen(CHAT_GONE_REASON));
    }
}

void wt_demo_set_clock(uint64_t (*now_us)(void))
{
    demo_clock = now_us != NULL ? now_us : io_now_us;
}

size_t wt_demo_chat_pages(void)
{
    return demo.nchat;
}

/* ---- WebTransport callbacks ---- */

static int on_request(void *user, wt_session *s)
{
    wsrv *v = &demo;
    (void)user;
    (void)v;
    const char *path = wt_session_path(s);
    int kind = strcmp(path, "/echo") == 0       ? KIND_ECHO
               : strcmp(path, "/chat") == 0     ? KIND_CHAT
               : strcmp(path, "/close-me") == 0 ? KIND_CLOSE_ME
                                                : 0;
    if (kind == 0) {
        int st = wt_session_not_found_status(s);
        out("server: session %s rejected %d", path, st);
        return st;
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
    wsrv *v = &demo;
    (void)user;
    out("server: session %s ready origin %s", wt_session_path(s), wt_session_origin(s));
    out("server: session %s dialect %s", wt_session_path(s),
        wt_dialect_name(wt_session_dialect(s)));
    if (kind_of(s) == KIND_CLOSE_ME) {
        wt_session_close(s, CLOSE_ME_CODE, (const uint8_t *)CLOSE_ME_REASON,
                         strlen(CLOSE_ME_REASON));
    } else if (kind_of(s) == KIND_CHAT && v->nchat < MAX_CHAT) {
        v->chat_seen[v->nchat] = demo_clock();
        v->chat[v->nchat++] = s;
        chat_presence(v);
        chat_heard(v, s);
    }
}

static void on_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    wsrv *v = &demo;
    (void)user;
    out("server: session %s closed code %u reason \"%.*s\"", wt_session_path(s), code, (int)len,
        (const char *)reason);
    if (kind_of(s) == KIND_ECHO)
        out("server: echo totals: %llu datagrams, %llu stream bytes",
            (unsigned long long)v->echo.datagrams, (unsigned long long)v->echo.bytes);
    chat_remove(v, s);
}

static void on_stream_data(void *user, wt_stream *st, const uint8_t *d, size_t len, bool fin)
{
    wsrv *v = &demo;
    (void)user;
    wt_session *s = wt_stream_session(st);
    if (wt_stream_is_local(st))
        return;
    /* "DIALECT?" on a bidi stream: the answer is the session's dialect (the pages show it). */
    if (wt_stream_is_bidi(st) && wt_stream_user(st) == NULL && len >= 8 &&
        memcmp(d, "DIALECT?", 8) == 0) {
        const char *name = wt_dialect_name(wt_session_dialect(s));
        wt_stream_set_user(st, (void *)2);
        if (wt_stream_write(st, (const uint8_t *)name, strlen(name), true) != WT_OK)
            wt_stream_reset(st, 1);
        return;
    }
    if (wt_stream_user(st) == (void *)2)
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
    chat_heard(v, s);
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
    wsrv *v = &demo;
    (void)user;
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
    wsrv *v = &demo;
    (void)user;
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
    wsrv *v = &demo;
    (void)user;
    if (kind_of(s) == KIND_ECHO) {
        v->echo_cb.on_datagram(v->echo_cb.user, s, d, len);
        return;
    }
    if (kind_of(s) != KIND_CHAT || len == 0)
        return;
    chat_heard(v, s);
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
void wt_demo_conn_free(bind_conn *bc)
{
    wsrv *v = &demo;
    wt_endpoint *ep = bind_conn_wt(bc);
    bool left = false;
    for (size_t i = 0; i < v->nchat;) {
        if (wt_session_endpoint(v->chat[i]) == ep) {
            v->nchat--;
            v->chat[i] = v->chat[v->nchat];
            v->chat_seen[i] = v->chat_seen[v->nchat];
            left = true;
        } else {
            i++;
        }
    }
    /* The others see it leave (a connection that ended without closing its sessions). */
    if (left && !v->freeing)
        chat_presence(v);
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
    wsrv *v = &demo;
    (void)user;
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

/* ---- setup ---- */

static void on_refused(void *user, wt_session *s, int status, const char *why)
{
    (void)user;
    out("server: session %s refused %d: %s", s != NULL ? wt_session_path(s) : "?", status, why);
}

/* "host[:port]" of an origin's or authority's text, host and port apart. */
static bool split_hostport(const char *in, char *host, size_t cap, unsigned *port)
{
    const char *c = strrchr(in, ':');
    const char *b = strrchr(in, ']');
    if (c == NULL || (b != NULL && c < b)) {
        *port = 443;
        c = in + strlen(in);
    } else {
        *port = (unsigned)strtoul(c + 1, NULL, 10);
    }
    size_t n = (size_t)(c - in);
    if (n == 0 || n >= cap)
        return false;
    memcpy(host, in, n);
    host[n] = '\0';
    return true;
}

/* The demo's origin policy: --wt-allow-origin entries, the same origin, and the
 * page's own origin (http://HOST:PORT of the demo page, HOST that of :authority). */
static bool origin_ok(void *user, const wt_session *s, const char *origin)
{
    wsrv *v = user;
    for (size_t i = 0; i < v->nallowed; i++)
        if (strcmp(v->allowed[i], "*") == 0 || strcmp(v->allowed[i], origin) == 0)
            return true;
    bool https = strncmp(origin, "https://", 8) == 0, http = strncmp(origin, "http://", 7) == 0;
    if (!https && !http)
        return false;
    char oh[256], ah[256];
    unsigned op, ap;
    if (!split_hostport(origin + (https ? 8 : 7), oh, sizeof(oh), &op) ||
        !split_hostport(wt_session_authority(s), ah, sizeof(ah), &ap) || strcmp(oh, ah) != 0)
        return false;
    if (!https && op == 443 && strchr(origin + 7, ':') == NULL)
        op = 80;
    if (https && op == ap)
        return true;
    for (size_t i = 0; i < v->nhttp; i++)
        if (http && op == demo_http_port(v->http[i]))
            return true;
    return false;
}

void wt_demo_allow_origins(const char *const *origins, size_t n)
{
    demo.allowed = origins;
    demo.nallowed = n;
}

void wt_demo_config(bind_config *cfg)
{
    wt_echo_init(&demo.echo, "/echo", &demo.echo_cb);
    cfg->webtransport = true;
    /* The test page opens 100 streams at once, and a 5 MB one. */
    cfg->wtcfg.max_streams_per_session = 512;
    cfg->h3cfg.max_peer_bidi = 600;
    cfg->h3cfg.max_peer_uni = 600;
    cfg->h3cfg.max_send_buffer = 8u << 20;
    cfg->wtcfg.origin_check = origin_ok;
    cfg->wtcfg.origin_check_user = &demo;
    cfg->wtcb = (wt_callbacks){.on_session_request = on_request,
                               .on_session_refused = on_refused,
                               .on_session_ready = on_ready,
                               .on_session_closed = on_closed,
                               .on_stream_data = on_stream_data,
                               .on_stream_reset = on_stream_reset,
                               .on_stream_stop_sending = on_stop_sending,
                               .on_stream_closed = on_stream_closed,
                               .on_datagram = on_datagram};
}

uint16_t wt_demo_http_start(io_loop *loop, const char *addr, const char *cert_hash,
                            uint16_t wt_port)
{
    snprintf(demo.hash, sizeof(demo.hash), "%s", cert_hash);
    demo.wt_port = wt_port;
    const char *port = strrchr(addr, ':');
    if (port == NULL || demo.nhttp != 0)
        return 0;
    if (strncmp(addr, "localhost:", 10) != 0) {
        demo.http[0] = demo_http_start(loop, addr, on_http, NULL);
        demo.nhttp = demo.http[0] != NULL;
        return demo.http[0] != NULL ? demo_http_port(demo.http[0]) : 0;
    }
    /* localhost: 127.0.0.1 and ::1 on one port, whichever a browser tries first. */
    char a[64];
    snprintf(a, sizeof(a), "127.0.0.1%s", port);
    if ((demo.http[0] = demo_http_start(loop, a, on_http, NULL)) == NULL)
        return 0;
    demo.nhttp = 1;
    uint16_t p = demo_http_port(demo.http[0]);
    snprintf(a, sizeof(a), "[::1]:%u", p);
    if ((demo.http[1] = demo_http_start(loop, a, on_http, NULL)) != NULL)
        demo.nhttp = 2;
    return p;
}

void wt_demo_shutdown(void)
{
    demo.freeing = true;
}

void wt_demo_stop(void)
{
    for (size_t i = 0; i < demo.nhttp; i++)
        demo_http_stop(demo.http[i]);
    demo.nhttp = 0;
    free(page_buf);
    page_buf = NULL;
}
