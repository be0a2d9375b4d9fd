/* bench-peer-openssl: the same handshakes and per-packet AEAD with OpenSSL, for comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "bench/bench_common.h"

/*
 * The peer side of the side-by-side table (scripts/bench.sh). It measures
 * what `openssl speed` and `openssl s_time` cannot measure comparably:
 *
 * - Handshakes: OpenSSL's TLS 1.3 client and server in one thread over a
 *   BIO pair, with the very certificates bench-handshake uses (made by
 *   Quince's crypto_cert_generate from the same seed, passed as DER), the
 *   same group, suite, ALPN h3, SNI, chain check against the CA and host
 *   name check. CPU time and heap are counted per side as in
 *   bench-handshake. Differences that remain: this is TLS over TCP
 *   (records: about 22 bytes per flight more) and carries no QUIC transport
 *   parameters; no session tickets (Quince sends none either) and no
 *   middlebox-compatibility records.
 * - AEAD per packet: set nonce, AAD, encrypt 1200 - 27 bytes, tag, through
 *   EVP, as an OpenSSL-backed QUIC stack does for every packet.
 * - Key shares: generation alone and generation + shared secret
 *   (`openssl speed ecdh*` times the shared secret only).
 */

#define PKT 1200
#define HEADER 11
#define TAG 16

static void ossl_fail(const char *what)
{
    fprintf(stderr, "bench-peer-openssl: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* ---- AEAD ---- */

typedef struct aead_state {
    EVP_CIPHER_CTX *ctx;
    uint8_t nonce[12];
    uint8_t aad[HEADER];
    uint8_t in[PKT];
    uint8_t out[PKT];
    uint8_t tag[TAG];
    size_t len;
} aead_state;

static void seal_loop(void *arg, uint64_t iters)
{
    aead_state *s = arg;
    int n;
    for (uint64_t i = 0; i < iters; i++) {
        s->nonce[11] = (uint8_t)i;
        s->nonce[10] = (uint8_t)(i >> 8);
        if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, s->nonce) != 1 ||
            EVP_EncryptUpdate(s->ctx, NULL, &n, s->aad, sizeof(s->aad)) != 1 ||
            EVP_EncryptUpdate(s->ctx, s->out, &n, s->in, (int)s->len) != 1 ||
            EVP_EncryptFinal_ex(s->ctx, s->out + n, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, TAG, s->tag) != 1)
            ossl_fail("seal");
    }
}

static void open_loop(void *arg, uint64_t iters)
{
    aead_state *s = arg;
    int n;
    for (uint64_t i = 0; i < iters; i++) {
        if (EVP_DecryptInit_ex(s->ctx, NULL, NULL, NULL, s->nonce) != 1 ||
            EVP_DecryptUpdate(s->ctx, NULL, &n, s->aad, sizeof(s->aad)) != 1 ||
            EVP_DecryptUpdate(s->ctx, s->out, &n, s->in, (int)s->len) != 1 ||
            EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, TAG, s->tag) != 1 ||
            EVP_DecryptFinal_ex(s->ctx, s->out + n, &n) != 1)
            ossl_fail("open");
    }
}

static void bench_aead(const bench_opts *o, const EVP_CIPHER *cipher, const char *alg)
{
    static aead_state s;
    uint8_t key[32];
    char name[96];
    int n;
    bench_fill(key, sizeof(key), 1);
    bench_fill(s.nonce, sizeof(s.nonce), 2);
    bench_fill(s.aad, sizeof(s.aad), 3);
    s.len = PKT - HEADER - TAG;
    bench_fill(s.in, s.len, 4);
    s.ctx = EVP_CIPHER_CTX_new();
    if (s.ctx == NULL || EVP_EncryptInit_ex(s.ctx, cipher, NULL, key, s.nonce) != 1)
        ossl_fail("EVP_EncryptInit_ex");
    snprintf(name, sizeof(name), "peer.aead.%s.seal.1200", alg);
    bench_timed(o, name, seal_loop, &s, PKT);
    EVP_CIPHER_CTX_free(s.ctx);

    /* One sealed packet to open again and again. */
    s.ctx = EVP_CIPHER_CTX_new();
    s.nonce[10] = s.nonce[11] = 0;
    if (s.ctx == NULL || EVP_EncryptInit_ex(s.ctx, cipher, NULL, key, s.nonce) != 1 ||
        EVP_EncryptUpdate(s.ctx, NULL, &n, s.aad, sizeof(s.aad)) != 1 ||
        EVP_EncryptUpdate(s.ctx, s.in, &n, s.in, (int)s.len) != 1 ||
        EVP_EncryptFinal_ex(s.ctx, s.in + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(s.ctx, EVP_CTRL_AEAD_GET_TAG, TAG, s.tag) != 1)
        ossl_fail("seal");
    EVP_CIPHER_CTX_free(s.ctx);
    s.ctx = EVP_CIPHER_CTX_new();
    if (s.ctx == NULL || EVP_DecryptInit_ex(s.ctx, cipher, NULL, key, s.nonce) != 1)
        ossl_fail("EVP_DecryptInit_ex");
    snprintf(name, sizeof(name), "peer.aead.%s.open.1200", alg);
    bench_timed(o, name, open_loop, &s, PKT);
    EVP_CIPHER_CTX_free(s.ctx);
}

/* ---- Key shares ---- */

typedef struct kex_state {
    const char *type; /* "X25519" or "EC" */
    const char *curve;
    EVP_PKEY *peer;
} kex_state;

static EVP_PKEY *kex_keygen(const kex_state *s)
{
    EVP_PKEY *k = s->curve != NULL ? EVP_PKEY_Q_keygen(NULL, NULL, s->type, s->curve)
                                   : EVP_PKEY_Q_keygen(NULL, NULL, s->type);
    if (k == NULL)
        ossl_fail("EVP_PKEY_Q_keygen");
    return k;
}

static void kex_keygen_loop(void *arg, uint64_t iters)
{
    kex_state *s = arg;
    for (uint64_t i = 0; i < iters; i++)
        EVP_PKEY_free(kex_keygen(s));
}

/* A TLS server's whole key share: a fresh key and the shared secret. */
static void kex_full_loop(void *arg, uint64_t iters)
{
    kex_state *s = arg;
    uint8_t z[32];
    for (uint64_t i = 0; i < iters; i++) {
        EVP_PKEY *k = kex_keygen(s);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k, NULL);
        size_t zlen = sizeof(z);
        if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
            EVP_PKEY_derive_set_peer(ctx, s->peer) != 1 || EVP_PKEY_derive(ctx, z, &zlen) != 1)
            ossl_fail("EVP_PKEY_derive");
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(k);
    }
}

static void bench_kex(const bench_opts *o, const char *type, const char *curve, const char *gname)
{
    kex_state s = {.type = type, .curve = curve};
    char name[96];
    s.peer = kex_keygen(&s);
    snprintf(name, sizeof(name), "peer.kex.%s.keygen", gname);
    bench_timed(o, name, kex_keygen_loop, &s, 0);
    snprintf(name, sizeof(name), "peer.kex.%s.keygen+derive", gname);
    bench_timed(o, name, kex_full_loop, &s, 0);
    EVP_PKEY_free(s.peer);
}

/* ---- Handshakes ---- */

typedef struct peer_side {
    SSL *ssl;
    uint64_t cpu_ns;
    bench_heap heap;
    bool done;
} peer_side;

static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char h3[] = {2, 'h', '3'};
    (void)ssl, (void)arg;
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, h3, sizeof(h3), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

typedef struct hs_ctx {
    SSL_CTX *cctx, *sctx;
    peer_side c, s;
    BIO *cb, *sb;
    size_t c_bytes, s_bytes;
} hs_ctx;

typedef enum peer_op { OP_NEW, OP_STEP, OP_FREE } peer_op;

static void side_op(hs_ctx *h, peer_side *p, peer_op op)
{
    bool client = p == &h->c;
    switch (op) {
    case OP_NEW:
        p->ssl = SSL_new(client ? h->cctx : h->sctx);
        if (p->ssl == NULL)
            ossl_fail("SSL_new");
        if (client) {
            if (BIO_new_bio_pair(&h->cb, 0, &h->sb, 0) != 1)
                ossl_fail("BIO_new_bio_pair");
            SSL_set_bio(p->ssl, h->cb, h->cb);
            SSL_set_connect_state(p->ssl);
            if (SSL_set_tlsext_host_name(p->ssl, BENCH_CERT_HOST) != 1 ||
                SSL_set1_host(p->ssl, BENCH_CERT_HOST) != 1)
                ossl_fail("SSL_set1_host");
        } else {
            SSL_set_bio(p->ssl, h->sb, h->sb);
            SSL_set_accept_state(p->ssl);
        }
        return;
    case OP_STEP:
        if (!p->done) {
            int rc = SSL_do_handshake(p->ssl);
            if (rc == 1)
                p->done = true;
            else if (SSL_get_error(p->ssl, rc) != SSL_ERROR_WANT_READ)
                ossl_fail("SSL_do_handshake");
        }
        return;
    case OP_FREE:
        SSL_free(p->ssl);
        p->ssl = NULL;
        return;
    }
}

/* One function per side, never inlined, for callgrind's --toggle-collect
 * (as bench_client_op / bench_server_op in bench-handshake). */
BENCH_NOINLINE void bench_peer_client_op(hs_ctx *h, peer_op op);
BENCH_NOINLINE void bench_peer_server_op(hs_ctx *h, peer_op op);

void bench_peer_client_op(hs_ctx *h, peer_op op)
{
    side_op(h, &h->c, op);
}

void bench_peer_server_op(hs_ctx *h, peer_op op)
{
    side_op(h, &h->s, op);
}

/* Run one side's step on its CPU clock and heap account. */
/* As in bench-handshake: heap accounting only for the warm-up handshakes. */
static bool count_heap;

static void timed_op(hs_ctx *h, peer_side *p, peer_op op)
{
    bench_heap_current = count_heap ? &p->heap : NULL;
    uint64_t t0 = bench_cpu_ns();
    if (p == &h->c)
        bench_peer_client_op(h, op);
    else
        bench_peer_server_op(h, op);
    p->cpu_ns += bench_cpu_ns() - t0;
    bench_heap_current = NULL;
}

static void handshake(hs_ctx *h)
{
    h->c.done = h->s.done = false;
    bench_heap_reset_peak(&h->c.heap);
    bench_heap_reset_peak(&h->s.heap);
    timed_op(h, &h->c, OP_NEW);
    timed_op(h, &h->s, OP_NEW);
    for (int round = 0; round < 8 && !(h->c.done && h->s.done); round++) {
        timed_op(h, &h->c, OP_STEP);
        timed_op(h, &h->s, OP_STEP);
    }
    if (!h->c.done || !h->s.done || SSL_get_verify_result(h->c.ssl) != X509_V_OK)
        ossl_fail("handshake");
    h->c_bytes = BIO_number_written(h->cb);
    h->s_bytes = BIO_number_written(h->sb);
    timed_op(h, &h->c, OP_FREE);
    timed_op(h, &h->s, OP_FREE);
}

static void bench_hs(const bench_opts *o, const char *group, const char *gname, unsigned rsa_bits,
                     const char *cname, long exact)
{
    char prefix[64], name[128];
    snprintf(prefix, sizeof(prefix), "peer.hs.%s.%s", gname, cname);
    if (!bench_selected(o, prefix))
        return;
    bench_env be;
    bench_env_init(&be, 2000 + (strcmp(gname, "x25519") == 0 ? 0x1d : 0x17));
    bench_certs certs;
    bench_certs_make(&be.env, rsa_bits, &certs);

    const unsigned char *p = certs.ca_der;
    X509 *ca = d2i_X509(NULL, &p, (long)certs.ca_len);
    p = certs.leaf_der;
    X509 *leaf = d2i_X509(NULL, &p, (long)certs.leaf_len);
    p = certs.leaf_key_der;
    EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)certs.leaf_key_len);
    if (ca == NULL || leaf == NULL || key == NULL)
        ossl_fail("d2i (certificates from crypto_cert_generate)");

    static hs_ctx h;
    memset(&h, 0, sizeof(h));
    static const unsigned char alpn[] = {2, 'h', '3'};
    h.sctx = SSL_CTX_new(TLS_server_method());
    h.cctx = SSL_CTX_new(TLS_client_method());
    if (h.sctx == NULL || h.cctx == NULL)
        ossl_fail("SSL_CTX_new");
    SSL_CTX *both[2] = {h.sctx, h.cctx};
    for (int i = 0; i < 2; i++) {
        if (SSL_CTX_set_min_proto_version(both[i], TLS1_3_VERSION) != 1 ||
            SSL_CTX_set_ciphersuites(both[i], "TLS_AES_128_GCM_SHA256") != 1 ||
            SSL_CTX_set1_groups_list(both[i], group) != 1)
            ossl_fail("SSL_CTX settings");
        SSL_CTX_clear_options(both[i], SSL_OP_ENABLE_MIDDLEBOX_COMPAT);
        SSL_CTX_set_session_cache_mode(both[i], SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_num_tickets(h.sctx, 0);
    if (SSL_CTX_use_certificate(h.sctx, leaf) != 1 || SSL_CTX_use_PrivateKey(h.sctx, key) != 1 ||
        SSL_CTX_add1_chain_cert(h.sctx, ca) != 1)
        ossl_fail("server certificate");
    SSL_CTX_set_alpn_select_cb(h.sctx, select_alpn, NULL);
    if (X509_STORE_add_cert(SSL_CTX_get_cert_store(h.cctx), ca) != 1 ||
        SSL_CTX_set_alpn_protos(h.cctx, alpn, sizeof(alpn)) != 0)
        ossl_fail("client trust");
    SSL_CTX_set_verify(h.cctx, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(h.cctx), BENCH_CERT_NOW);

    count_heap = exact == 0;
    handshake(&h); /* warm-up; sizes and memory */
    int64_t c_peak = h.c.heap.peak, s_peak = h.s.heap.peak;
    uint64_t c_allocs = h.c.heap.allocs, s_allocs = h.s.heap.allocs;
    handshake(&h);
    c_allocs = h.c.heap.allocs - c_allocs;
    s_allocs = h.s.heap.allocs - s_allocs;

    count_heap = false;
    long n = 0;
    h.c.cpu_ns = h.s.cpu_ns = 0;
    uint64_t target = (uint64_t)(o->seconds * 1e9);
    uint64_t t0 = bench_wall_ns();
    do {
        handshake(&h);
        n++;
    } while (exact > 0 ? n < exact : o->quick ? n < 2 : bench_wall_ns() - t0 < target);

    snprintf(name, sizeof(name), "%s.client_cpu", prefix);
    bench_row_time(name, (double)h.c.cpu_ns / (double)n, 0);
    snprintf(name, sizeof(name), "%s.server_cpu", prefix);
    bench_row_time(name, (double)h.s.cpu_ns / (double)n, 0);
    /* Both sides' CPU: what one core pays per connection when it is both ends. */
    snprintf(name, sizeof(name), "%s.total_cpu", prefix);
    bench_row_time(name, (double)(h.c.cpu_ns + h.s.cpu_ns) / (double)n, 0);
    snprintf(name, sizeof(name), "%s.bytes.client", prefix);
    bench_row_value(name, (double)h.c_bytes, "bytes");
    snprintf(name, sizeof(name), "%s.bytes.server", prefix);
    bench_row_value(name, (double)h.s_bytes, "bytes");
    if (bench_heap_hooked() && exact == 0) {
        snprintf(name, sizeof(name), "mem.%s.client.heap_peak", prefix);
        bench_row_value(name, (double)c_peak, "bytes");
        snprintf(name, sizeof(name), "mem.%s.server.heap_peak", prefix);
        bench_row_value(name, (double)s_peak, "bytes");
        snprintf(name, sizeof(name), "mem.%s.client.heap_allocs", prefix);
        bench_row_value(name, (double)c_allocs, "calls");
        snprintf(name, sizeof(name), "mem.%s.server.heap_allocs", prefix);
        bench_row_value(name, (double)s_allocs, "calls");
    }

    SSL_CTX_free(h.sctx);
    SSL_CTX_free(h.cctx);
    X509_free(ca);
    X509_free(leaf);
    EVP_PKEY_free(key);
    bench_certs_free(&be.env, &certs);
}

int main(int argc, char **argv)
{
    bench_opts o;
    long exact = 0;
    /* --handshakes N is ours (for callgrind); the rest is the common set. */
    char *rest[64];
    int nrest = 0;
    for (int i = 0; i < argc && nrest < 64; i++) {
        if (strcmp(argv[i], "--handshakes") == 0 && i + 1 < argc) {
            exact = strtol(argv[++i], NULL, 10);
            if (exact <= 0) {
                fprintf(stderr, "bench-peer-openssl: --handshakes wants a positive count\n");
                return 2;
            }
        } else {
            rest[nrest++] = argv[i];
        }
    }
    bench_parse_args(nrest, rest, &o, "bench-peer-openssl [--handshakes N]");
    printf("# bench-peer-openssl: %s\n", OpenSSL_version(OPENSSL_VERSION));
    bench_header("bench-peer-openssl");
    bench_aead(&o, EVP_aes_128_gcm(), "aes-128-gcm");
    bench_aead(&o, EVP_aes_256_gcm(), "aes-256-gcm");
    bench_aead(&o, EVP_chacha20_poly1305(), "chacha20-poly1305");
    bench_kex(&o, "X25519", NULL, "x25519");
    bench_kex(&o, "EC", "P-256", "p256");
    bench_hs(&o, "X25519", "x25519", 0, "ecdsa-p256", exact);
    bench_hs(&o, "P-256", "p256", 0, "ecdsa-p256", exact);
    bench_hs(&o, "X25519", "x25519", 2048, "rsa2048", exact);
    bench_hs(&o, "P-256", "p256", 2048, "rsa2048", exact);
    return 0;
}
