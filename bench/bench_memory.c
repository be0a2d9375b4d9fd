/* Heap of an idle established connection (each role, QUIC-only and with HTTP/3) and of a
 * server endpoint before its first connection: what an embedder must budget per connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "bind/bind.h"
#include "crypto/crypto.h"

/*
 * Each side has its own counting quince_env; while one side is driven,
 * bench_heap_current is that side's, so what mbedTLS allocates through libc
 * inside the call is counted for that side too (the interposer in
 * bench_common.c). The env's own blocks are kept out of the libc count, so
 * the two add up without counting anything twice.
 */
typedef struct side {
    bench_env counted; /* Quince's allocations (payload bytes) */
    quince_env env;    /* counted.env with the libc count paused inside */
    bench_heap libc;   /* what else was allocated during this side's calls: mbedTLS */
} side;

static void *side_alloc(void *user, size_t size)
{
    side *s = user;
    bench_heap *h = bench_heap_current;
    bench_heap_current = NULL;
    void *p = s->counted.env.alloc(s->counted.env.user, size);
    bench_heap_current = h;
    return p;
}

static void *side_realloc(void *user, void *ptr, size_t size)
{
    side *s = user;
    bench_heap *h = bench_heap_current;
    bench_heap_current = NULL;
    void *p = s->counted.env.realloc(s->counted.env.user, ptr, size);
    bench_heap_current = h;
    return p;
}

static void side_free(void *user, void *ptr)
{
    side *s = user;
    bench_heap *h = bench_heap_current;
    bench_heap_current = NULL;
    s->counted.env.free(s->counted.env.user, ptr);
    bench_heap_current = h;
}

static void side_init(side *s, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    bench_env_init(&s->counted, seed);
    s->env = s->counted.env;
    s->env.user = s;
    s->env.alloc = side_alloc;
    s->env.realloc = side_realloc;
    s->env.free = side_free;
}

static int64_t side_total(const side *s)
{
    return (int64_t)s->counted.live + s->libc.live;
}

#define ENTER(s) (bench_heap_current = &(s)->libc)
#define LEAVE() (bench_heap_current = NULL)

static const char *const alpn_h3[] = {"h3", NULL};
static const char *const alpn_hq[] = {"hq-interop", NULL};

typedef struct pair {
    side *cs, *ss;
    bind_conn *client;
    bind_server *server;
    quic_addr caddr, saddr;
    bool client_done, server_done;
} pair;

static void *c_new(void *user, bind_conn *bc)
{
    (void)bc;
    return user;
}

static void c_done(void *user, bind_conn *bc)
{
    (void)bc;
    ((pair *)user)->client_done = true;
}

static void s_done(void *user, bind_conn *bc)
{
    (void)bc;
    ((pair *)user)->server_done = true;
}

static void addr_of(quic_addr *a, uint8_t last, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    a->ip[0] = 192;
    a->ip[2] = 2;
    a->ip[3] = last;
    a->port = port;
}

/* Move every datagram both ways at `now`; returns how many moved. */
static int exchange(pair *p, uint64_t now)
{
    static uint8_t buf[1500];
    int moved = 0;
    for (;;) {
        quic_addr to;
        ENTER(p->cs);
        int n = bind_conn_send(p->client, &to, buf, sizeof(buf), now);
        LEAVE();
        if (n <= 0)
            break;
        ENTER(p->ss);
        bind_server_recv(p->server, &p->caddr, &p->saddr, buf, (size_t)n, now);
        LEAVE();
        moved++;
    }
    for (;;) {
        quic_addr to;
        ENTER(p->ss);
        int n = bind_server_send(p->server, &to, buf, sizeof(buf), now);
        LEAVE();
        if (n <= 0)
            break;
        ENTER(p->cs);
        bind_conn_recv(p->client, &p->saddr, buf, (size_t)n, now);
        LEAVE();
        moved++;
    }
    return moved;
}

typedef struct idle_result {
    int64_t endpoint;           /* server, before its first connection */
    int64_t client, server;     /* per connection, idle after the handshake */
    int64_t client_tls, server_tls; /* of which mbedTLS (libc) */
    int64_t client_peak, server_peak;
    int64_t left; /* libc bytes still allocated after both were freed */
} idle_result;

static void run_idle(const bench_certs *certs, crypto_x509_store *store, bool h3,
                     idle_result *r)
{
    side cs, ss;
    side_init(&cs, 1);
    side_init(&ss, 2);
    pair p = {.cs = &cs, .ss = &ss};
    addr_of(&p.caddr, 1, 4433);
    addr_of(&p.saddr, 2, 443);

    const uint8_t *chain[1] = {certs->leaf_der};
    size_t chain_lens[1] = {certs->leaf_len};
    bind_config ccfg, scfg;
    bind_config_init(&ccfg, false);
    bind_config_init(&scfg, true);
    ccfg.h3 = scfg.h3 = h3;
    ccfg.quic.tls.alpn = scfg.quic.tls.alpn = h3 ? alpn_h3 : alpn_hq;
    ccfg.quic.tls.server_name = BENCH_CERT_HOST;
    ccfg.quic.tls.verify_mode = CRYPTO_VERIFY_CHAIN;
    ccfg.quic.tls.ca_store = store;
    scfg.quic.tls.cert_chain = chain;
    scfg.quic.tls.cert_chain_lens = chain_lens;
    scfg.quic.tls.cert_chain_count = 1;
    scfg.quic.tls.private_key = certs->leaf_key;
    ccfg.cb = (bind_callbacks){.user = &p, .on_conn_new = c_new, .on_handshake_done = c_done};
    scfg.cb = (bind_callbacks){.user = &p, .on_conn_new = c_new, .on_handshake_done = s_done};

    uint64_t now = 1000000;
    ENTER(&ss);
    p.server = bind_server_new(&ss.env, &scfg);
    LEAVE();
    if (p.server == NULL)
        bench_fail("bind_server_new", -1);
    r->endpoint = side_total(&ss);
    bench_env_reset_peak(&cs.counted);
    bench_heap_reset_peak(&cs.libc);

    ENTER(&cs);
    p.client = bind_conn_client_new(&cs.env, &ccfg, &p.caddr, &p.saddr, now);
    LEAVE();
    if (p.client == NULL)
        bench_fail("bind_conn_client_new", -1);
    for (int i = 0; i < 50 && !(p.client_done && p.server_done); i++) {
        now += 1000;
        exchange(&p, now);
    }
    if (!(p.client_done && p.server_done))
        bench_fail("handshake did not complete", -1);
    /* Idle: let every timer but the idle timeout fire (delayed ACKs, the
     * HTTP/3 control streams, HANDSHAKE_DONE's acknowledgment, the probe
     * timer), then measure. */
    for (int i = 0; i < 20; i++) {
        now += 100 * 1000;
        ENTER(&cs);
        bind_conn_on_timeout(p.client, now);
        LEAVE();
        ENTER(&ss);
        bind_server_on_timeout(p.server, now);
        LEAVE();
        exchange(&p, now);
    }
    if (bind_conn_is_closed(p.client) || bind_server_conn_count(p.server) != 1)
        bench_fail("connection closed while idle", -1);
    r->client = side_total(&cs);
    r->server = side_total(&ss) - r->endpoint;
    r->client_tls = cs.libc.live;
    r->server_tls = ss.libc.live;
    r->client_peak = (int64_t)cs.counted.peak + cs.libc.peak;
    r->server_peak = (int64_t)ss.counted.peak + ss.libc.peak;

    ENTER(&cs);
    bind_conn_free(p.client);
    LEAVE();
    ENTER(&ss);
    bind_server_free(p.server);
    LEAVE();
    r->left = cs.libc.live + ss.libc.live;
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_parse_args(argc, argv, &o, "bench-memory");
    bench_header("bench-memory");
    if (!bench_heap_hooked())
        printf("# no libc interposer in this build: mbedTLS's heap is not counted\n");

    bench_env setup;
    bench_env_init(&setup, 7);
    bench_certs certs;
    bench_certs_make(&setup.env, 0, &certs);
    crypto_x509_store *store = crypto_x509_store_new(&setup.env);
    if (store == NULL || crypto_x509_store_add(store, certs.ca_der, certs.ca_len) != 0)
        bench_fail("CA store", -1);

    /* What an application shares between its connections (crypto_shared_new:
     * mbedTLS's prepared curve groups), counted once for the process. */
    {
        side sh;
        side_init(&sh, 9);
        sh.env.crypto_shared = NULL;
        ENTER(&sh);
        crypto_shared *cs = crypto_shared_new(&sh.env);
        LEAVE();
        if (cs == NULL)
            bench_fail("crypto_shared_new", -1);
        if (bench_selected(&o, "mem.crypto_shared"))
            bench_row_value("mem.crypto_shared", (double)side_total(&sh), "bytes");
        ENTER(&sh);
        crypto_shared_free(&sh.env, cs);
        LEAVE();
    }

    /* A first pair, not reported: what mbedTLS keeps for the process (the
     * backend's shared curve groups, when it has them) is not any one
     * connection's. */
    idle_result warm;
    memset(&warm, 0, sizeof(warm));
    run_idle(&certs, store, false, &warm);
    if (bench_selected(&o, "mem.process.mbedtls"))
        bench_row_value("mem.process.mbedtls", (double)warm.left, "bytes");

    static const struct {
        const char *name;
        bool h3;
    } kinds[] = {{"quic", false}, {"h3", true}};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        idle_result r;
        memset(&r, 0, sizeof(r));
        run_idle(&certs, store, kinds[k].h3, &r);
        char name[96];
#define ROW(suffix, v)                                                        \
    do {                                                                      \
        snprintf(name, sizeof(name), "mem.%s.%s", kinds[k].name, suffix);     \
        if (bench_selected(&o, name))                                         \
            bench_row_value(name, (double)(v), "bytes");                      \
    } while (0)
        ROW("client.idle", r.client);
        ROW("client.idle.mbedtls", r.client_tls);
        ROW("client.peak", r.client_peak);
        ROW("server.idle", r.server);
        ROW("server.idle.mbedtls", r.server_tls);
        ROW("server.peak", r.server_peak);
        ROW("endpoint.empty", r.endpoint);
#undef ROW
    }
    crypto_x509_store_free(&setup.env, store);
    bench_certs_free(&setup.env, &certs);
    return 0;
}
