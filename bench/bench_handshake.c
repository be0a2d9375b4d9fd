/* bench-handshake: full in-memory TLS 1.3-for-QUIC handshakes: CPU per side, bytes, memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "crypto/tls.h"

/*
 * Both engines run in this thread; the handshake bytes of each level go
 * straight to the other side (what QUIC CRYPTO frames would carry, without
 * packets). Each side has its own counting allocator and its own CPU-time
 * account, so the client's and the server's cost are reported apart. The
 * client checks the server's chain (leaf + CA) against a store holding the
 * CA, and the name bench.test, as a real client does.
 *
 * --handshakes N runs exactly N handshakes per configuration (for callgrind:
 * bench_client_op and bench_server_op hold each side's whole work).
 */

#define OUT_CAP (32 * 1024)

typedef struct hs_side {
    bench_env be;
    bench_heap heap; /* everything the side allocates, mbedTLS's calloc included */
    crypto_tls_config cfg;
    crypto_tls_callbacks cb;
    crypto_tls *tls;
    uint8_t out[CRYPTO_LEVEL_COUNT][OUT_CAP];
    size_t out_len[CRYPTO_LEVEL_COUNT];
    size_t sent; /* handshake bytes sent in this handshake */
    uint64_t cpu_ns;
    size_t live_at_new; /* live bytes right after crypto_tls_new */
    size_t live_at_done;
    int64_t heap_at_new;
    int64_t heap_at_done;
} hs_side;

static int on_send(void *user, crypto_level level, const uint8_t *data, size_t len)
{
    hs_side *s = user;
    if (s->out_len[level] + len > OUT_CAP)
        return CRYPTO_ERR_NOMEM;
    memcpy(s->out[level] + s->out_len[level], data, len);
    s->out_len[level] += len;
    s->sent += len;
    return 0;
}

static int on_secret(void *user, crypto_level level, bool is_write, const crypto_suite *suite,
                     const uint8_t *secret, size_t len)
{
    (void)user, (void)level, (void)is_write, (void)suite, (void)secret, (void)len;
    return 0;
}

static int on_tp(void *user, const uint8_t *data, size_t len, uint8_t *alert)
{
    (void)user, (void)data, (void)len, (void)alert;
    return 0;
}

typedef enum hs_op { HS_NEW, HS_START, HS_RECV, HS_FREE } hs_op;

static int side_op(hs_side *s, hs_op op, crypto_level level, const uint8_t *data, size_t len)
{
    switch (op) {
    case HS_NEW:
        s->tls = crypto_tls_new(&s->be.env, &s->cfg, &s->cb);
        return s->tls != NULL ? 0 : CRYPTO_ERR_NOMEM;
    case HS_START:
        return crypto_tls_start(s->tls);
    case HS_RECV:
        return crypto_tls_recv(s->tls, level, data, len);
    case HS_FREE:
        crypto_tls_free(s->tls);
        s->tls = NULL;
        return 0;
    }
    return CRYPTO_ERR_ARGUMENT;
}

/* One function per side, never inlined, so that callgrind can count each
 * side alone (--toggle-collect=bench_client_op). */
BENCH_NOINLINE int bench_client_op(hs_side *s, hs_op op, crypto_level level, const uint8_t *data,
                                   size_t len);
BENCH_NOINLINE int bench_server_op(hs_side *s, hs_op op, crypto_level level, const uint8_t *data,
                                   size_t len);

int bench_client_op(hs_side *s, hs_op op, crypto_level level, const uint8_t *data, size_t len)
{
    return side_op(s, op, level, data, len);
}

int bench_server_op(hs_side *s, hs_op op, crypto_level level, const uint8_t *data, size_t len)
{
    return side_op(s, op, level, data, len);
}

/* Heap accounting costs a malloc_usable_size per call (mbedTLS makes
 * thousands): it is on for the two warm-up handshakes that give the memory
 * figures, and off while timing and under callgrind (--handshakes). */
static bool count_heap;

static int timed_op(hs_side *s, hs_op op, crypto_level level, const uint8_t *data, size_t len)
{
    bench_heap_current = count_heap ? &s->heap : NULL;
    uint64_t t0 = bench_cpu_ns();
    int rc = s->cfg.is_server ? bench_server_op(s, op, level, data, len)
                              : bench_client_op(s, op, level, data, len);
    s->cpu_ns += bench_cpu_ns() - t0;
    bench_heap_current = NULL;
    return rc;
}

/* Hand everything from has queued to to, level by level. */
static int deliver(hs_side *from, hs_side *to)
{
    for (int lvl = 0; lvl < CRYPTO_LEVEL_COUNT; lvl++) {
        size_t n = from->out_len[lvl];
        if (n == 0)
            continue;
        from->out_len[lvl] = 0;
        int rc = timed_op(to, HS_RECV, (crypto_level)lvl, from->out[lvl], n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One complete handshake. */
static void handshake(hs_side *c, hs_side *s)
{
    c->sent = s->sent = 0;
    bench_env_reset_peak(&c->be);
    bench_env_reset_peak(&s->be);
    bench_heap_reset_peak(&c->heap);
    bench_heap_reset_peak(&s->heap);
    int rc = timed_op(c, HS_NEW, 0, NULL, 0);
    if (rc == 0)
        rc = timed_op(s, HS_NEW, 0, NULL, 0);
    c->live_at_new = c->be.live;
    s->live_at_new = s->be.live;
    c->heap_at_new = c->heap.live;
    s->heap_at_new = s->heap.live;
    if (rc == 0)
        rc = timed_op(c, HS_START, 0, NULL, 0);
    for (int round = 0; rc == 0 && round < 4; round++) {
        rc = deliver(c, s);
        if (rc == 0)
            rc = deliver(s, c);
    }
    if (rc != 0 || !crypto_tls_handshake_done(c->tls) || !crypto_tls_handshake_done(s->tls)) {
        fprintf(stderr, "handshake: client error %d alert %u, server error %d alert %u\n",
                c->tls ? crypto_tls_error(c->tls) : 0, c->tls ? crypto_tls_alert(c->tls) : 0,
                s->tls ? crypto_tls_error(s->tls) : 0, s->tls ? crypto_tls_alert(s->tls) : 0);
        bench_fail("handshake", rc);
    }
    c->live_at_done = c->be.live;
    s->live_at_done = s->be.live;
    c->heap_at_done = c->heap.live;
    s->heap_at_done = s->heap.live;
    timed_op(c, HS_FREE, 0, NULL, 0);
    timed_op(s, HS_FREE, 0, NULL, 0);
}

static void bench_config(const bench_opts *o, uint16_t group, const char *gname, unsigned rsa_bits,
                         const char *cname, long exact)
{
    char prefix[64], name[128];
    snprintf(prefix, sizeof(prefix), "hs.%s.%s", gname, cname);
    if (!bench_selected(o, prefix))
        return;

    static hs_side c, s;
    static const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00,  /* initial_max_data */
                                 0x01, 0x04, 0x80, 0x00, 0x75, 0x30}; /* max_idle_timeout */
    static const char *const alpn[] = {"h3", NULL};
    const uint16_t groups[] = {group, 0};
    memset(&c, 0, sizeof(c));
    memset(&s, 0, sizeof(s));
    bench_env_init(&c.be, 1000 + group);
    bench_env_init(&s.be, 2000 + group);

    bench_certs certs;
    bench_certs_make(&s.be.env, rsa_bits, &certs);
    crypto_x509_store *store = crypto_x509_store_new(&c.be.env);
    if (store == NULL || crypto_x509_store_add(store, certs.ca_der, certs.ca_len) < 0)
        bench_fail("crypto_x509_store_add", 0);
    const uint8_t *chain[2] = {certs.leaf_der, certs.ca_der};
    size_t chain_lens[2] = {certs.leaf_len, certs.ca_len};

    c.cfg = (crypto_tls_config){.groups = groups,
                                .alpn = alpn,
                                .server_name = BENCH_CERT_HOST,
                                .verify_mode = CRYPTO_VERIFY_CHAIN,
                                .ca_store = store,
                                .verify_time_unix = BENCH_CERT_NOW,
                                .transport_params = tp,
                                .transport_params_len = sizeof(tp)};
    s.cfg = (crypto_tls_config){.is_server = true,
                                .groups = groups,
                                .alpn = alpn,
                                .cert_chain = chain,
                                .cert_chain_lens = chain_lens,
                                .cert_chain_count = 2,
                                .private_key = certs.leaf_key,
                                .transport_params = tp,
                                .transport_params_len = sizeof(tp)};
    c.cb = (crypto_tls_callbacks){
        .user = &c, .send = on_send, .set_secret = on_secret, .peer_transport_params = on_tp};
    s.cb = (crypto_tls_callbacks){
        .user = &s, .send = on_send, .set_secret = on_secret, .peer_transport_params = on_tp};

    size_t c_base = c.be.live, s_base = s.be.live;
    count_heap = exact == 0;
    handshake(&c, &s); /* warm-up, and the memory and size figures */
    int64_t ch_peak = c.heap.peak, sh_peak = s.heap.peak;
    int64_t ch_new = c.heap_at_new, sh_new = s.heap_at_new;
    int64_t ch_done = c.heap_at_done, sh_done = s.heap_at_done;
    int64_t ch_end = c.heap.live, sh_end = s.heap.live;
    size_t c_peak = c.be.peak - c_base, s_peak = s.be.peak - s_base;
    size_t c_sent = c.sent, s_sent = s.sent;
    uint64_t c_allocs = c.be.allocs, s_allocs = s.be.allocs;
    size_t c_new = c.live_at_new - c_base, s_new = s.live_at_new - s_base;
    size_t c_done = c.live_at_done - c_base, s_done = s.live_at_done - s_base;
    uint64_t c_allocs0 = c.be.allocs, s_allocs0 = s.be.allocs;
    uint64_t ch_allocs = c.heap.allocs, sh_allocs = s.heap.allocs;
    handshake(&c, &s);
    c_allocs = c.be.allocs - c_allocs0;
    s_allocs = s.be.allocs - s_allocs0;
    ch_allocs = c.heap.allocs - ch_allocs;
    sh_allocs = s.heap.allocs - sh_allocs;

    count_heap = false;
    long n = 0;
    c.cpu_ns = s.cpu_ns = 0;
    uint64_t target = (uint64_t)(o->seconds * 1e9);
    uint64_t t0 = bench_wall_ns();
    for (;;) {
        handshake(&c, &s);
        n++;
        if (exact > 0 ? n >= exact : o->quick ? n >= 2 : bench_wall_ns() - t0 >= target)
            break;
    }

    snprintf(name, sizeof(name), "%s.client_cpu", prefix);
    bench_row_time(name, (double)c.cpu_ns / (double)n, 0);
    snprintf(name, sizeof(name), "%s.server_cpu", prefix);
    bench_row_time(name, (double)s.cpu_ns / (double)n, 0);
    /* Both sides' CPU: what one core pays per connection when it is both ends. */
    snprintf(name, sizeof(name), "%s.total_cpu", prefix);
    bench_row_time(name, (double)(c.cpu_ns + s.cpu_ns) / (double)n, 0);
    snprintf(name, sizeof(name), "%s.bytes.client", prefix);
    bench_row_value(name, (double)c_sent, "bytes");
    snprintf(name, sizeof(name), "%s.bytes.server", prefix);
    bench_row_value(name, (double)s_sent, "bytes");
    snprintf(name, sizeof(name), "mem.%s.client.env_peak", prefix);
    bench_row_value(name, (double)c_peak, "bytes");
    snprintf(name, sizeof(name), "mem.%s.server.env_peak", prefix);
    bench_row_value(name, (double)s_peak, "bytes");
    snprintf(name, sizeof(name), "mem.%s.client.env_new", prefix);
    bench_row_value(name, (double)c_new, "bytes");
    snprintf(name, sizeof(name), "mem.%s.server.env_new", prefix);
    bench_row_value(name, (double)s_new, "bytes");
    snprintf(name, sizeof(name), "mem.%s.client.env_done", prefix);
    bench_row_value(name, (double)c_done, "bytes");
    snprintf(name, sizeof(name), "mem.%s.server.env_done", prefix);
    bench_row_value(name, (double)s_done, "bytes");
    if (bench_heap_hooked() && exact == 0) {
        /* The heap account starts at 0 before the first crypto_tls_new. */
        snprintf(name, sizeof(name), "mem.%s.client.heap_peak", prefix);
        bench_row_value(name, (double)ch_peak, "bytes");
        snprintf(name, sizeof(name), "mem.%s.server.heap_peak", prefix);
        bench_row_value(name, (double)sh_peak, "bytes");
        snprintf(name, sizeof(name), "mem.%s.client.heap_new", prefix);
        bench_row_value(name, (double)ch_new, "bytes");
        snprintf(name, sizeof(name), "mem.%s.server.heap_new", prefix);
        bench_row_value(name, (double)sh_new, "bytes");
        snprintf(name, sizeof(name), "mem.%s.client.heap_done", prefix);
        bench_row_value(name, (double)ch_done, "bytes");
        snprintf(name, sizeof(name), "mem.%s.server.heap_done", prefix);
        bench_row_value(name, (double)sh_done, "bytes");
        snprintf(name, sizeof(name), "mem.%s.client.heap_allocs", prefix);
        bench_row_value(name, (double)ch_allocs, "calls");
        snprintf(name, sizeof(name), "mem.%s.server.heap_allocs", prefix);
        bench_row_value(name, (double)sh_allocs, "calls");
        /* The first handshake may leave caches in long-lived objects (mbedTLS
         * keeps RSA blinding values in the server's key and R^2 mod N in the
         * CA's key in the client's store); after that every handshake must
         * give back what it took, but for the blinding values, which mbedTLS
         * squares per signature in place and whose limb arrays grow (never
         * shrink) up to the modulus size: a few hundred bytes at most. */
        if (c.heap.live - ch_end > 1024 || s.heap.live - sh_end > 1024) {
            fprintf(stderr,
                    "bench-handshake: heap grows per handshake: client %lld -> %lld, "
                    "server %lld -> %lld\n",
                    (long long)ch_end, (long long)c.heap.live, (long long)sh_end,
                    (long long)s.heap.live);
            exit(1);
        }
    }
    snprintf(name, sizeof(name), "mem.%s.client.env_allocs", prefix);
    bench_row_value(name, (double)c_allocs, "calls");
    snprintf(name, sizeof(name), "mem.%s.server.env_allocs", prefix);
    bench_row_value(name, (double)s_allocs, "calls");

    crypto_x509_store_free(&c.be.env, store);
    bench_certs_free(&s.be.env, &certs);
    if (c.be.live != 0 || s.be.live != 0) {
        fprintf(stderr, "bench-handshake: leak: client %zu, server %zu bytes\n", c.be.live,
                s.be.live);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    bench_opts o;
    long exact = 0;
    /* --handshakes N is ours; the rest is the common set. */
    char *rest[64];
    int nrest = 0;
    for (int i = 0; i < argc && nrest < 64; i++) {
        if (strcmp(argv[i], "--handshakes") == 0 && i + 1 < argc) {
            exact = strtol(argv[++i], NULL, 10);
            if (exact <= 0) {
                fprintf(stderr, "bench-handshake: --handshakes wants a positive count\n");
                return 2;
            }
        } else {
            rest[nrest++] = argv[i];
        }
    }
    bench_parse_args(nrest, rest, &o, "bench-handshake [--handshakes N]");
    bench_header("bench-handshake");
    bench_config(&o, CRYPTO_GROUP_X25519, "x25519", 0, "ecdsa-p256", exact);
    bench_config(&o, CRYPTO_GROUP_SECP256R1, "p256", 0, "ecdsa-p256", exact);
    bench_config(&o, CRYPTO_GROUP_X25519, "x25519", 2048, "rsa2048", exact);
    bench_config(&o, CRYPTO_GROUP_SECP256R1, "p256", 2048, "rsa2048", exact);
    return 0;
}
