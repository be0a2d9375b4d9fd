/* quince-client's HTTP/3 side: GETs multiplexed on one connection (RFC 9114), bodies to files. */
#include "apps/h3_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/app_util.h"
#include "bind/bind.h"

typedef struct h3cli_req {
    char *path, *out_path;
    FILE *out;
    uint64_t id, bytes;
    int64_t content_length;
    bool started, done, failed;
    bool retried; /* RFC 8470 §5.2: answered 425 in 0-RTT, sent again after the handshake */
} h3cli_req;

struct h3cli {
    bool early_logged;
    size_t retries;
    bind_conn *bc; /* set by h3cli_attach */
    char *authority;
    h3cli_req *reqs;
    size_t n, cap, ndone, nfailed;
    bool verbose, handshake_done, started, closed, closed_by_peer;
};

static h3cli_req *find(h3cli *c, uint64_t id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->reqs[i].started && c->reqs[i].id == id)
            return &c->reqs[i];
    return NULL;
}

static void finish(h3cli *c, h3cli_req *r, const char *why)
{
    if (r->done)
        return;
    r->done = true;
    c->ndone++;
    if (r->out != NULL) {
        if (fclose(r->out) != 0 && why == NULL)
            why = "cannot write the output file";
        r->out = NULL;
    }
    if (why != NULL) {
        r->failed = true;
        c->nfailed++;
        if (app_failure() == NULL || c->verbose)
            fprintf(stderr, "quince-client: %s: %s\n", r->path, why);
    } else if (c->verbose) {
        fprintf(stderr, "quince-client: %s: %llu bytes\n", r->path, (unsigned long long)r->bytes);
    }
}

static void on_headers(void *user, uint64_t id, const h3_field *f, size_t n, bool trailers)
{
    h3cli *c = user;
    h3cli_req *r = find(c, id);
    if (r == NULL || trailers)
        return;
    int status = h3_conn_stream_status(bind_conn_h3(c->bc), id);
    if (status < 200)
        return; /* interim */
    for (size_t i = 0; i < n; i++) {
        if (f[i].name_len == 14 && memcmp(f[i].name, "content-length", 14) == 0) {
            int64_t v = 0;
            for (size_t k = 0; k < f[i].value_len && k < 19; k++)
                v = v * 10 + (f[i].value[k] - '0');
            r->content_length = v;
        }
    }
    /* RFC 8470 §5.2: a request sent in early data and answered 425 (Too Early) goes
     * again once the handshake is complete, never in early data (once). */
    if (status == 425 && !r->retried && h3_conn_stream_early(bind_conn_h3(c->bc), id)) {
        r->retried = true;
        r->started = false;
        c->retries++;
        if (c->verbose)
            fprintf(stderr,
                    "quince-client: %s: 425 Too Early for the 0-RTT request; sending it again "
                    "after the handshake\n",
                    r->path);
        return;
    }
    if (status != 200) {
        char why[32];
        snprintf(why, sizeof(why), "status %d", status);
        finish(c, r, why);
        return;
    }
    r->out = fopen(r->out_path, "wb");
    if (r->out == NULL)
        finish(c, r, "cannot open the output file");
}

static void on_data(void *user, uint64_t id, const uint8_t *data, size_t len)
{
    h3cli *c = user;
    h3cli_req *r = find(c, id);
    if (r == NULL || r->done || r->out == NULL)
        return;
    if (fwrite(data, 1, len, r->out) != len) {
        finish(c, r, "cannot write the output file");
        return;
    }
    r->bytes += len;
}

static void on_end(void *user, uint64_t id)
{
    h3cli *c = user;
    h3cli_req *r = find(c, id);
    if (r == NULL)
        return;
    /* h3 checks content-length against the DATA it saw (RFC 9114 §4.1.2). */
    finish(c, r, NULL);
}

static void on_stream_reset(void *user, uint64_t id, uint64_t code, bool local)
{
    h3cli *c = user;
    h3cli_req *r = find(c, id);
    if (r == NULL)
        return;
    char why[64];
    snprintf(why, sizeof(why), "stream reset (%s, 0x%llx)", local ? "by us" : "by the server",
             (unsigned long long)code);
    finish(c, r, why);
}

static void on_conn_error(void *user, uint64_t code, const char *reason)
{
    (void)user;
    /* The connection closes with this code: on_closed explains it in one line. */
    (void)code;
    (void)reason;
}

/* RFC 9114 §5.2: the server is going away; requests below id go on. */
static void on_goaway(void *user, uint64_t id)
{
    (void)user;
    fprintf(stderr, "quince-client: GOAWAY %llu from the server\n", (unsigned long long)id);
}

h3cli *h3cli_new(const char *authority, bool verbose)
{
    h3cli *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->verbose = verbose;
    c->authority = strdup(authority);
    if (c->authority == NULL) {
        h3cli_free(c);
        return NULL;
    }
    return c;
}

void h3cli_config(bind_config *cfg)
{
    cfg->h3 = true;
    h3_config_init(&cfg->h3cfg, false);
    cfg->h3cb = (h3_callbacks){.on_headers = on_headers,
                               .on_data = on_data,
                               .on_end = on_end,
                               .on_stream_reset = on_stream_reset,
                               .on_goaway = on_goaway,
                               .on_conn_error = on_conn_error};
}

void h3cli_attach(h3cli *c, bind_conn *bc)
{
    c->bc = bc;
}

void h3cli_free(h3cli *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        if (c->reqs[i].out != NULL)
            fclose(c->reqs[i].out);
        free(c->reqs[i].path);
        free(c->reqs[i].out_path);
    }
    free(c->reqs);
    free(c->authority);
    free(c);
}

int h3cli_add(h3cli *c, const char *path, const char *out_path)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        h3cli_req *nr = realloc(c->reqs, cap * sizeof(*nr));
        if (nr == NULL)
            return -1;
        c->reqs = nr;
        c->cap = cap;
    }
    h3cli_req *r = &c->reqs[c->n];
    memset(r, 0, sizeof(*r));
    r->path = strdup(path);
    r->out_path = strdup(out_path);
    r->content_length = -1;
    if (r->path == NULL || r->out_path == NULL) {
        free(r->path);
        free(r->out_path);
        return -1;
    }
    c->n++;
    return 0;
}

void h3cli_on_handshake_done(h3cli *c)
{
    c->handshake_done = true;
    if (c->verbose)
        fprintf(stderr, "quince-client: handshake done, ALPN %s\n",
                quic_conn_alpn(bind_conn_quic(c->bc)));
}

void h3cli_on_closed(h3cli *c, const quic_event *ev)
{
    if (c->closed)
        return;
    c->closed = true;
    c->closed_by_peer = ev->by_peer;
    if (ev->by_peer || c->ndone < c->n) {
        char why[400];
        app_explain_close(ev, "the server", why, sizeof(why));
        app_set_failure("%s", why);
    }
}

/* RFC 9114 §4.1: one request stream per GET; all at once as the stream limit allows. */
static void submit(h3cli *c)
{
    h3_conn *h = bind_conn_h3(c->bc);
    for (size_t i = 0; i < c->n; i++) {
        h3cli_req *r = &c->reqs[i];
        if (r->started || r->done)
            continue;
        /* RFC 8470 §5.2: a retry never goes in early data. */
        if (r->retried && !c->handshake_done)
            continue;
        /* The first request goes at once; the others wait for the server's SETTINGS
         * so that the QPACK dynamic table can carry their common fields. */
        if (i > 0 && h3_conn_peer_settings(h) == NULL)
            return;
        h3_field f[6] = {
            {(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3},
            {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
            {(const uint8_t *)":authority", 10, (const uint8_t *)c->authority,
             strlen(c->authority)},
            {(const uint8_t *)":path", 5, (const uint8_t *)r->path, strlen(r->path)},
            {(const uint8_t *)"user-agent", 10, (const uint8_t *)"quince-client", 13},
            {(const uint8_t *)"accept", 6, (const uint8_t *)"*/*", 3},
        };
        int rc = h3_conn_submit_request(h, f, 6, true, &r->id);
        if (rc == H3_ERR_TRANSPORT || rc == H3_ERR_BLOCKED)
            return; /* the peer's stream limit: again once it grows */
        if (rc == H3_ERR_ARG && !c->handshake_done)
            return; /* 0-RTT: the binding starts HTTP/3 at its next turn */
        if (rc != H3_OK) {
            finish(c, r, "cannot send the request");
            continue;
        }
        r->started = true;
    }
}

void h3cli_process(h3cli *c)
{
    if (c->closed || (c->bc != NULL && h3_conn_error(bind_conn_h3(c->bc)) != 0)) {
        for (size_t i = 0; i < c->n; i++)
            finish(c, &c->reqs[i], "connection closed");
        return;
    }
    /* The binding started HTTP/3 with the handshake, or earlier for 0-RTT:
     * GETs are safe to replay (RFC 9114 §10.9), so the first goes at once. */
    bool early =
        !c->handshake_done && c->bc != NULL && quic_conn_early_data_ready(bind_conn_quic(c->bc));
    if (!c->handshake_done && !early)
        return;
    if (early && c->verbose && !c->early_logged) {
        fprintf(stderr, "quince-client: sending the first GET in 0-RTT\n");
        c->early_logged = true;
    }
    submit(c);
}

size_t h3cli_done(const h3cli *c)
{
    return c->ndone;
}

size_t h3cli_failed(const h3cli *c)
{
    return c->nfailed;
}

size_t h3cli_retries(const h3cli *c)
{
    return c->retries;
}

size_t h3cli_count(const h3cli *c)
{
    return c->n;
}

uint64_t h3cli_body_bytes(const h3cli *c)
{
    uint64_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->reqs[i].bytes;
    return n;
}

bool h3cli_handshake_done(const h3cli *c)
{
    return c->handshake_done;
}

bool h3cli_closed(const h3cli *c, bool *by_peer)
{
    if (by_peer != NULL)
        *by_peer = c->closed_by_peer;
    return c->closed;
}

uint64_t h3cli_qpack_inserts_sent(const h3cli *c)
{
    return h3_conn_qpack_inserts_sent(bind_conn_h3(c->bc));
}

uint64_t h3cli_qpack_inserts_received(const h3cli *c)
{
    return h3_conn_qpack_inserts_received(bind_conn_h3(c->bc));
}
