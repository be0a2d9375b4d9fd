/* quince-server's HTTP/3 side: GET/HEAD of static files over h3 (RFC 9114), 404 otherwise. */
#include "apps/h3_server.h"
#include "apps/app_util.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define H3SRV_CHUNK 16384
#define H3SRV_MAX_PATH 1024
/* Bodies of at least H3SRV_MAP_MIN bytes are copied into the stream straight from a read-only
 * mapping of the file, H3SRV_WINDOW bytes of it at a time (bounded address space, also on
 * 32-bit hosts): one copy where pread into a chunk and the chunk into the stream were two
 * (the pread was 17% of the server's CPU serving a large file). Anything mmap cannot take (a
 * pipe, address space) falls back to pread. */
#define H3SRV_MAP_MIN (256 * 1024)
#define H3SRV_WINDOW (8u * 1024 * 1024)

typedef struct h3srv_resp {
    uint64_t id;
    int fd;
    uint64_t size, off;
    uint8_t *map;     /* the mapped window of the file, or NULL */
    uint64_t map_off; /* its offset in the file (page-aligned) */
    size_t map_len;   /* its length */
    bool no_map;      /* mmap failed once: pread from now on */
    struct h3srv_resp *next;
} h3srv_resp;

struct h3srv_conn {
    bind_conn *bc;
    h3srv_open_fn open_file;
    void *open_user;
    h3srv_stats *stats;
    bool verbose, closed;
    uint64_t requests;
    const char *const *early_refused; /* path prefixes not served from 0-RTT */
    size_t n_early_refused;
    h3srv_resp *resps;
};

/* The pread path's bounce buffer: a body piece only passes through it on its way into the
 * stream (h3_conn_send_data copies it at once), so one serves every connection of the
 * (single-threaded) server; a 16 KiB chunk in each h3srv_conn was RSS and page faults per
 * connection. */
static uint8_t g_chunk[H3SRV_CHUNK];

static bool name_is(const h3_field *f, const char *name)
{
    size_t n = strlen(name);
    return f->name_len == n && memcmp(f->name, name, n) == 0;
}

static void resp_free(h3srv_conn *c, h3srv_resp *r)
{
    for (h3srv_resp **pp = &c->resps; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    if (r->map != NULL)
        munmap(r->map, r->map_len);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

static h3srv_resp *resp_find(h3srv_conn *c, uint64_t id)
{
    for (h3srv_resp *r = c->resps; r != NULL; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

/* A file truncated while it is mapped raises SIGBUS on the pages past its new end. While
 * a piece of a mapping is being copied into the stream, [g_copy_lo, g_copy_hi) is that
 * piece: a SIGBUS inside it gets a page of zeroes mapped over the faulting page (the copy
 * then completes) and sets g_bus, and the response is reset before anything of that copy
 * is sent (RESET_STREAM drops unsent data). A SIGBUS anywhere else is not ours: the
 * default action. */
static const uint8_t *volatile g_copy_lo, *volatile g_copy_hi;
static volatile sig_atomic_t g_bus;
static long g_page;

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    const uint8_t *a = si->si_addr;
    if (g_copy_lo != NULL && a >= g_copy_lo && a < g_copy_hi) {
        void *page = (void *)((uintptr_t)a & ~(uintptr_t)(g_page - 1));
        if (mmap(page, (size_t)g_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
            MAP_FAILED) {
            g_bus = 1;
            return;
        }
    }
    signal(sig, SIG_DFL);
}

static bool sigbus_ready(void)
{
    static int state; /* 0: not yet, 1: installed, -1: failed */
    if (state == 0) {
        g_page = sysconf(_SC_PAGESIZE);
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        state = g_page > 0 && sigaction(SIGBUS, &sa, NULL) == 0 ? 1 : -1;
    }
    return state == 1;
}

/* The mapped bytes at the response's offset, at most n of them (0: use pread). */
static size_t resp_map(h3srv_resp *r, size_t n, const uint8_t **p)
{
    if (r->no_map || r->size < H3SRV_MAP_MIN)
        return 0;
    if (r->map == NULL || r->off < r->map_off || r->off >= r->map_off + r->map_len) {
        if (r->map != NULL)
            munmap(r->map, r->map_len);
        r->map = NULL;
        if (!sigbus_ready()) {
            r->no_map = true;
            return 0;
        }
        uint64_t start = r->off & ~(uint64_t)(g_page - 1);
        uint64_t len = r->size - start < H3SRV_WINDOW ? r->size - start : H3SRV_WINDOW;
        void *m = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, r->fd, (off_t)start);
        if (m == MAP_FAILED) {
            r->no_map = true;
            return 0;
        }
        madvise(m, (size_t)len, MADV_SEQUENTIAL);
        r->map = m;
        r->map_off = start;
        r->map_len = (size_t)len;
    }
    size_t in = (size_t)(r->off - r->map_off);
    *p = r->map + in;
    return n < r->map_len - in ? n : r->map_len - in;
}

/* Body pieces go to h3 while its buffer for the stream is empty: the rest
 * follows when QUIC makes the stream writable again. */
static void resp_pump(h3srv_conn *c, h3srv_resp *r)
{
    h3_conn *h = bind_conn_h3(c->bc);
    while (r->off < r->size && h3_conn_stream_buffered(h, r->id) == 0) {
        size_t n = H3SRV_CHUNK;
        if (n > r->size - r->off)
            n = (size_t)(r->size - r->off);
        const uint8_t *data = NULL;
        size_t m = resp_map(r, n, &data);
        g_bus = 0;
        if (m > 0) {
            n = m;
            g_copy_lo = data;
            g_copy_hi = data + n;
        } else {
            ssize_t got = pread(r->fd, g_chunk, n, (off_t)r->off);
            if (got != (ssize_t)n)
                g_bus = 1;
            data = g_chunk;
        }
        bool end = r->off + n == r->size;
        int rc = g_bus ? H3_OK : h3_conn_send_data(h, r->id, data, n, end);
        g_copy_lo = g_copy_hi = NULL;
        if (g_bus) {
            /* The file shrank under us: abort the response (RFC 9114 §4.1.1). */
            g_bus = 0;
            h3_conn_reset_stream(h, r->id, H3_INTERNAL_ERROR);
            resp_free(c, r);
            return;
        }
        if (rc == H3_ERR_BLOCKED)
            return;
        if (rc != H3_OK) {
            resp_free(c, r);
            return;
        }
        r->off += n;
    }
    if (r->off >= r->size) {
        c->stats->served++;
        resp_free(c, r);
    }
}

static void respond_simple(h3srv_conn *c, uint64_t id, const char *status, const char *body)
{
    char cl[24];
    snprintf(cl, sizeof(cl), "%zu", strlen(body));
    h3_field f[3] = {
        {(const uint8_t *)":status", 7, (const uint8_t *)status, strlen(status)},
        {(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl)},
        {(const uint8_t *)"content-type", 12, (const uint8_t *)"text/plain", 10},
    };
    h3_conn *h = bind_conn_h3(c->bc);
    if (h3_conn_submit_response(h, id, f, 3, body[0] == '\0') == H3_OK && body[0] != '\0')
        h3_conn_send_data(h, id, (const uint8_t *)body, strlen(body), true);
}

static const char *content_type(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0 || strcmp(dot, ".htm") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript";
    if (strcmp(dot, ".txt") == 0)
        return "text/plain";
    return "application/octet-stream";
}

/* RFC 9114 §4.1: a request's header section (validated by h3) arrived. */
static void on_headers(void *user, uint64_t id, const h3_field *f, size_t n, bool trailers)
{
    h3srv_conn *c = user;
    if (trailers)
        return;
    const h3_field *method = NULL, *pathf = NULL;
    for (size_t i = 0; i < n; i++) {
        if (name_is(&f[i], ":method"))
            method = &f[i];
        else if (name_is(&f[i], ":path"))
            pathf = &f[i];
    }
    c->requests++;
    c->stats->requests++;
    bool get = method != NULL && method->value_len == 3 && memcmp(method->value, "GET", 3) == 0;
    bool head = method != NULL && method->value_len == 4 && memcmp(method->value, "HEAD", 4) == 0;
    if (!get && !head) {
        if (c->verbose)
            fprintf(stderr, "quince-server: h3 stream %llu: method not allowed\n",
                    (unsigned long long)id);
        respond_simple(c, id, "405", "method not allowed\n");
        return;
    }
    char path[H3SRV_MAX_PATH];
    size_t plen = pathf != NULL ? pathf->value_len : 0;
    const uint8_t *q = pathf != NULL ? memchr(pathf->value, '?', plen) : NULL;
    if (q != NULL)
        plen = (size_t)(q - pathf->value);
    if (pathf == NULL || plen == 0 || plen >= sizeof(path) - 16 ||
        memchr(pathf->value, '\0', plen) != NULL) {
        respond_simple(c, id, "400", "bad request\n");
        return;
    }
    memcpy(path, pathf->value, plen);
    path[plen] = '\0';
    if (path[plen - 1] == '/')
        strcat(path, "index.html");
    /* RFC 8470 §5.2: a request that arrived in 0-RTT (h3_conn_stream_early, from
     * quic_stream_early through bind) could be a replay: paths that are not safe to
     * replay get 425, and the client sends them again after the handshake. */
    bool early = h3_conn_stream_early(bind_conn_h3(c->bc), id);
    if (early)
        c->stats->early++;
    for (size_t i = 0; early && i < c->n_early_refused; i++) {
        if (strncmp(path, c->early_refused[i], strlen(c->early_refused[i])) != 0)
            continue;
        c->stats->too_early++;
        if (c->verbose)
            fprintf(stderr, "quince-server: h3 stream %llu: %s %s 425 Too Early [0-RTT]\n",
                    (unsigned long long)id, get ? "GET" : "HEAD", path);
        h3_conn_refuse_early(bind_conn_h3(c->bc), id);
        return;
    }
    uint64_t size = 0;
    int fd = c->open_file(c->open_user, path, &size);
    if (fd < 0) {
        c->stats->not_found++;
        if (c->verbose)
            fprintf(stderr, "quince-server: h3 stream %llu: %s %s 404\n", (unsigned long long)id,
                    get ? "GET" : "HEAD", path);
        respond_simple(c, id, "404", "not found\n");
        return;
    }
    if (c->verbose)
        fprintf(stderr, "quince-server: h3 stream %llu: %s %s 200 (%llu bytes)%s\n",
                (unsigned long long)id, get ? "GET" : "HEAD", path, (unsigned long long)size,
                early ? " [0-RTT]" : "");
    char cl[24];
    snprintf(cl, sizeof(cl), "%llu", (unsigned long long)size);
    const char *ct = content_type(path);
    h3_field rf[4] = {
        {(const uint8_t *)":status", 7, (const uint8_t *)"200", 3},
        {(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl)},
        {(const uint8_t *)"content-type", 12, (const uint8_t *)ct, strlen(ct)},
        {(const uint8_t *)"server", 6, (const uint8_t *)"quince", 6},
    };
    bool end = head || size == 0;
    if (h3_conn_submit_response(bind_conn_h3(c->bc), id, rf, 4, end) != H3_OK || end) {
        close(fd);
        if (end)
            c->stats->served++;
        return;
    }
    h3srv_resp *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        close(fd);
        h3_conn_reset_stream(bind_conn_h3(c->bc), id, H3_INTERNAL_ERROR);
        return;
    }
    r->id = id;
    r->fd = fd;
    r->size = size;
    r->next = c->resps;
    c->resps = r;
    resp_pump(c, r);
}

static void on_stream_reset(void *user, uint64_t id, uint64_t code, bool local)
{
    h3srv_conn *c = user;
    (void)code;
    (void)local;
    h3srv_resp *r = resp_find(c, id);
    if (r != NULL)
        resp_free(c, r);
}

static void on_stop_sending(void *user, uint64_t id, uint64_t code)
{
    on_stream_reset(user, id, code, false);
}

static void on_conn_error(void *user, uint64_t code, const char *reason)
{
    (void)user;
    fprintf(stderr, "quince-server: h3 connection error 0x%llx %s\n", (unsigned long long)code,
            reason != NULL ? reason : "");
}

void h3srv_conn_writable(h3srv_conn *c, uint64_t id)
{
    h3srv_resp *r = c != NULL ? resp_find(c, id) : NULL;
    if (r != NULL)
        resp_pump(c, r);
}

void h3srv_config(bind_config *cfg)
{
    cfg->h3 = true;
    h3_config_init(&cfg->h3cfg, true);
    cfg->h3cb = (h3_callbacks){.on_headers = on_headers,
                               .on_stream_reset = on_stream_reset,
                               .on_stop_sending = on_stop_sending,
                               .on_conn_error = on_conn_error};
}

h3srv_conn *h3srv_conn_new(bind_conn *bc, h3srv_open_fn open_file, void *open_user,
                           h3srv_stats *stats, bool verbose)
{
    h3srv_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->bc = bc;
    c->open_file = open_file;
    c->open_user = open_user;
    c->stats = stats;
    c->verbose = verbose;
    return c;
}

void h3srv_conn_refuse_early(h3srv_conn *c, const char *const *prefixes, size_t n)
{
    if (c == NULL)
        return;
    c->early_refused = prefixes;
    c->n_early_refused = n;
}

void h3srv_conn_free(h3srv_conn *c)
{
    if (c == NULL)
        return;
    h3_conn *h = bind_conn_h3(c->bc);
    uint64_t in = h != NULL ? h3_conn_qpack_inserts_received(h) : 0;
    uint64_t out = h != NULL ? h3_conn_qpack_inserts_sent(h) : 0;
    c->stats->qpack_inserts_received += in;
    c->stats->qpack_inserts_sent += out;
    fprintf(stderr,
            "quince-server: h3 connection done: requests %llu qpack-inserts-received %llu "
            "qpack-inserts-sent %llu key-updates %llu\n",
            (unsigned long long)c->requests, (unsigned long long)in, (unsigned long long)out,
            (unsigned long long)quic_conn_get_stats(bind_conn_quic(c->bc))->key_updates);
    const quic_conn_stats *qs = quic_conn_get_stats(bind_conn_quic(c->bc));
    fprintf(stderr,
            "quince-server: paths: pmtu %llu (probes %llu, lost %llu, black holes %llu); "
            "migrations %llu, path challenges %llu, paths validated %llu\n",
            (unsigned long long)qs->pmtu, (unsigned long long)qs->pmtu_probes_sent,
            (unsigned long long)qs->pmtu_probes_lost, (unsigned long long)qs->pmtu_black_holes,
            (unsigned long long)qs->migrations, (unsigned long long)qs->path_challenges_sent,
            (unsigned long long)qs->paths_validated);
    fprintf(stderr,
            "quince-server: recovery: packets sent %llu lost %llu (spurious %llu); congestion "
            "events %llu (undone %llu); ecn %s, ce reported %llu\n",
            (unsigned long long)qs->packets_sent, (unsigned long long)qs->packets_lost,
            (unsigned long long)qs->packets_lost_spurious,
            (unsigned long long)qs->congestion_events,
            (unsigned long long)qs->congestion_events_undone,
            qs->ecn_failed ? "failed validation" : "on", (unsigned long long)qs->ecn_ce_reported);
    char v1[16], v2[16];
    fprintf(stderr, "quince-server: quic version %s (first flight %s)\n",
            app_version_name(qs->version, v1, sizeof(v1)),
            app_version_name(qs->original_version, v2, sizeof(v2)));
    while (c->resps != NULL)
        resp_free(c, c->resps);
    free(c);
}

void h3srv_conn_closed(h3srv_conn *c, const quic_event *ev)
{
    if (c == NULL)
        return;
    c->closed = true;
    if (c->verbose)
        fprintf(stderr, "quince-server: connection closed (%s error 0x%llx%s)\n",
                ev->is_app ? "application" : "transport", (unsigned long long)ev->error_code,
                ev->by_peer ? ", by the peer" : "");
}
