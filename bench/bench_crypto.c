/* bench-crypto: AEAD, packet protection, key derivation, key exchange and signature speed. */
#include <stdio.h>
#include <string.h>

#include "bench/bench_common.h"
#include "crypto/backend.h"
#include "crypto/packet_protection.h"

/*
 * Everything goes through crypto/backend.h and crypto/packet_protection.h,
 * the same calls the transport makes, so the numbers are what a connection
 * pays per packet. Inputs are fixed patterns and a seeded PRNG.
 */

#define PKT 1200
#define BIG 16384
#define SHORT_DCID 8
#define PN_OFFSET (1 + SHORT_DCID) /* short header: first byte, DCID */
#define PN_LEN 2
#define HEADER (PN_OFFSET + PN_LEN)

static const char *alg_name[] = {"aes-128-gcm", "aes-256-gcm", "chacha20-poly1305"};

typedef struct aead_state {
    crypto_aead *aead;
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];
    uint8_t aad[HEADER];
    uint8_t in[BIG + CRYPTO_AEAD_TAG_LEN];
    uint8_t out[BIG + CRYPTO_AEAD_TAG_LEN];
    size_t len; /* plaintext length */
} aead_state;

/* The nonce changes every packet, as the packet number does. */
static void aead_seal_loop(void *arg, uint64_t iters)
{
    aead_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        s->nonce[11] = (uint8_t)i;
        s->nonce[10] = (uint8_t)(i >> 8);
        int rc = crypto_aead_seal(s->aead, s->nonce, s->aad, sizeof(s->aad), s->in, s->len, s->out);
        if (rc != (int)(s->len + CRYPTO_AEAD_TAG_LEN))
            bench_fail("crypto_aead_seal", rc);
    }
}

/* s->in holds a sealed message for the nonce as it is: open it again and again. */
static void aead_open_loop(void *arg, uint64_t iters)
{
    aead_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        int rc = crypto_aead_open(s->aead, s->nonce, s->aad, sizeof(s->aad), s->in,
                                  s->len + CRYPTO_AEAD_TAG_LEN, s->out);
        if (rc != (int)s->len)
            bench_fail("crypto_aead_open", rc);
    }
}

static void bench_aead(const bench_opts *o, bench_env *be, crypto_aead_alg alg)
{
    static const char *const rows[] = {".seal.1200", ".open.1200", ".seal.16384", ".open.16384"};
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "aead.%s", alg_name[alg]);
    if (!bench_any_selected(o, prefix, rows, 4))
        return;
    static aead_state s;
    const quince_env *env = &be->env;
    uint8_t key[CRYPTO_AEAD_MAX_KEY_LEN];
    char name[96];
    bench_fill(key, sizeof(key), 1);
    bench_fill(s.nonce, sizeof(s.nonce), 2);
    bench_fill(s.aad, sizeof(s.aad), 3);
    s.aead = crypto_aead_new(env, alg, key);
    if (s.aead == NULL)
        bench_fail("crypto_aead_new", 0);
    const size_t sizes[] = {PKT, BIG};
    for (size_t k = 0; k < 2; k++) {
        /* A 1200-byte packet carries 1200 - header - tag bytes of payload;
         * the 16 KB rows seal 16384 bytes as `openssl speed -bytes 16384` does. */
        size_t total = sizes[k];
        s.len = total == PKT ? PKT - HEADER - CRYPTO_AEAD_TAG_LEN : total;
        bench_fill(s.in, s.len, 4);
        snprintf(name, sizeof(name), "aead.%s.seal.%zu", alg_name[alg], total);
        bench_timed(o, name, aead_seal_loop, &s, total);
        /* The open rows decrypt what one seal produced. */
        s.nonce[10] = s.nonce[11] = 0;
        bench_fill(s.in, s.len, 4);
        if (crypto_aead_seal(s.aead, s.nonce, s.aad, sizeof(s.aad), s.in, s.len, s.in) < 0)
            bench_fail("crypto_aead_seal", 0);
        snprintf(name, sizeof(name), "aead.%s.open.%zu", alg_name[alg], total);
        bench_timed(o, name, aead_open_loop, &s, total);
    }
    crypto_aead_free(env, s.aead);
}

typedef struct pp_state {
    crypto_pp tx, rx;
    uint8_t header[HEADER];
    uint8_t pkt[PKT];
    uint8_t sealed[PKT];
    uint64_t pn;
} pp_state;

/* The header is restored each time (protection masks it in place); the
 * payload is simply re-encrypted, which costs the same as fresh plaintext. */
static void pp_protect_loop(void *arg, uint64_t iters)
{
    pp_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        memcpy(s->pkt, s->header, HEADER);
        int rc = crypto_pp_protect(&s->tx, s->pkt, sizeof(s->pkt), PN_OFFSET, s->pn,
                                   PKT - HEADER - CRYPTO_AEAD_TAG_LEN);
        if (rc != PKT)
            bench_fail("crypto_pp_protect", rc);
        s->pn++;
    }
}

/* Unprotect a copy of one protected packet (the 1200-byte copy is part of the
 * cost, about 1% of it). */
static void pp_unprotect_loop(void *arg, uint64_t iters)
{
    pp_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        size_t hl;
        uint64_t pn;
        memcpy(s->pkt, s->sealed, PKT);
        int rc = crypto_pp_unprotect(&s->rx, s->pkt, PKT, PN_OFFSET, 1000, &hl, &pn);
        if (rc != PKT - HEADER - CRYPTO_AEAD_TAG_LEN || pn != 1000)
            bench_fail("crypto_pp_unprotect", rc);
    }
}

static void hp_loop(void *arg, uint64_t iters)
{
    pp_state *s = arg;
    uint8_t mask[5];
    for (uint64_t i = 0; i < iters; i++) {
        s->sealed[HEADER + 4] = (uint8_t)i;
        int rc = crypto_hp_mask(s->tx.hp, s->sealed + HEADER + 2, mask);
        if (rc != 0)
            bench_fail("crypto_hp_mask", rc);
    }
}

static void bench_pp(const bench_opts *o, bench_env *be, crypto_aead_alg alg)
{
    static const char *const pp_rows[] = {".protect.1200", ".unprotect.1200"};
    static const char *const other_rows[] = {".heap", ".env", ".struct", ".mask"};
    char p1[64], p2[64], p3[64];
    snprintf(p1, sizeof(p1), "pp.%s", alg_name[alg]);
    snprintf(p2, sizeof(p2), "mem.crypto_pp.%s", alg_name[alg]);
    snprintf(p3, sizeof(p3), "hp.%s", alg_name[alg]);
    if (!bench_any_selected(o, p1, pp_rows, 2) && !bench_any_selected(o, p2, other_rows, 3) &&
        !bench_any_selected(o, p3, other_rows + 3, 1))
        return;
    static pp_state s;
    const quince_env *env = &be->env;
    crypto_hash_alg hash = alg == CRYPTO_AEAD_AES_256_GCM ? CRYPTO_HASH_SHA384 : CRYPTO_HASH_SHA256;
    uint8_t secret[48];
    char name[96];
    bench_fill(secret, sizeof(secret), 5);
    size_t before = be->live;
    bench_heap heap = {0, 0, 0};
    bench_heap_current = &heap;
    int rc = crypto_pp_init(&s.tx, env, CRYPTO_QUIC_V1, alg, hash, secret, crypto_hash_len(hash));
    bench_heap_current = NULL;
    if (rc != 0)
        bench_fail("crypto_pp_init", rc);
    snprintf(name, sizeof(name), "mem.crypto_pp.%s.heap", alg_name[alg]);
    if (bench_heap_hooked() && bench_selected(o, name))
        bench_row_value(name, (double)heap.live, "bytes");
    snprintf(name, sizeof(name), "mem.crypto_pp.%s.env", alg_name[alg]);
    if (bench_selected(o, name))
        bench_row_value(name, (double)(be->live - before), "bytes");
    snprintf(name, sizeof(name), "mem.crypto_pp.%s.struct", alg_name[alg]);
    if (bench_selected(o, name))
        bench_row_value(name, (double)sizeof(crypto_pp), "bytes");
    rc = crypto_pp_init(&s.rx, env, CRYPTO_QUIC_V1, alg, hash, secret, crypto_hash_len(hash));
    if (rc != 0)
        bench_fail("crypto_pp_init", rc);
    /* Short header, spin 0, key phase 0, 2-byte packet number. */
    s.header[0] = 0x40 | (PN_LEN - 1);
    bench_fill(s.header + 1, SHORT_DCID, 6);
    s.header[PN_OFFSET] = 0x03;
    s.header[PN_OFFSET + 1] = 0xe8; /* pn 1000 */
    memcpy(s.sealed, s.header, HEADER);
    bench_fill(s.sealed + HEADER, PKT - HEADER, 7);
    rc = crypto_pp_protect(&s.tx, s.sealed, PKT, PN_OFFSET, 1000, PKT - HEADER - 16);
    if (rc != PKT)
        bench_fail("crypto_pp_protect", rc);
    bench_fill(s.pkt + HEADER, PKT - HEADER, 7);
    s.pn = 1000;
    snprintf(name, sizeof(name), "pp.%s.protect.1200", alg_name[alg]);
    bench_timed(o, name, pp_protect_loop, &s, PKT);
    snprintf(name, sizeof(name), "pp.%s.unprotect.1200", alg_name[alg]);
    bench_timed(o, name, pp_unprotect_loop, &s, PKT);
    snprintf(name, sizeof(name), "hp.%s.mask", alg_name[alg]);
    bench_timed(o, name, hp_loop, &s, 0);
    crypto_pp_clear(&s.tx, env);
    crypto_pp_clear(&s.rx, env);
}

typedef struct initial_state {
    const quince_env *env;
    uint8_t dcid[8];
} initial_state;

static void initial_secrets_loop(void *arg, uint64_t iters)
{
    initial_state *s = arg;
    uint8_t c[32], sv[32];
    for (uint64_t i = 0; i < iters; i++) {
        s->dcid[0] = (uint8_t)i;
        int rc = crypto_pp_initial_secrets(CRYPTO_QUIC_V1, s->dcid, sizeof(s->dcid), c, sv);
        if (rc != 0)
            bench_fail("crypto_pp_initial_secrets", rc);
    }
}

/* What a server does for a new connection: both directions' keys and contexts. */
static void initial_keys_loop(void *arg, uint64_t iters)
{
    initial_state *s = arg;
    crypto_pp c, sv;
    for (uint64_t i = 0; i < iters; i++) {
        s->dcid[0] = (uint8_t)i;
        int rc = crypto_pp_initial(&c, &sv, s->env, CRYPTO_QUIC_V1, s->dcid, sizeof(s->dcid));
        if (rc != 0)
            bench_fail("crypto_pp_initial", rc);
        crypto_pp_clear(&c, s->env);
        crypto_pp_clear(&sv, s->env);
    }
}

typedef struct kex_state {
    const quince_env *env;
    uint16_t group;
    crypto_kex *mine;
    uint8_t peer[CRYPTO_KEX_MAX_PUBLIC];
    size_t peer_len;
} kex_state;

static void kex_keygen_loop(void *arg, uint64_t iters)
{
    kex_state *s = arg;
    uint8_t pub[CRYPTO_KEX_MAX_PUBLIC];
    for (uint64_t i = 0; i < iters; i++) {
        crypto_kex *k = crypto_kex_new(s->env, s->group);
        if (k == NULL || crypto_kex_public(k, pub, sizeof(pub)) < 0)
            bench_fail("crypto_kex_new", 0);
        crypto_kex_free(s->env, k);
    }
}

static void kex_derive_loop(void *arg, uint64_t iters)
{
    kex_state *s = arg;
    uint8_t z[CRYPTO_KEX_MAX_SECRET];
    for (uint64_t i = 0; i < iters; i++) {
        int rc = crypto_kex_derive(s->mine, s->peer, s->peer_len, z, sizeof(z));
        if (rc != 32)
            bench_fail("crypto_kex_derive", rc);
    }
}

/* One side's whole key share: generate, publish, derive (a TLS server's work). */
static void kex_full_loop(void *arg, uint64_t iters)
{
    kex_state *s = arg;
    uint8_t pub[CRYPTO_KEX_MAX_PUBLIC], z[CRYPTO_KEX_MAX_SECRET];
    for (uint64_t i = 0; i < iters; i++) {
        crypto_kex *k = crypto_kex_new(s->env, s->group);
        if (k == NULL || crypto_kex_public(k, pub, sizeof(pub)) < 0)
            bench_fail("crypto_kex_new", 0);
        int rc = crypto_kex_derive(k, s->peer, s->peer_len, z, sizeof(z));
        if (rc != 32)
            bench_fail("crypto_kex_derive", rc);
        crypto_kex_free(s->env, k);
    }
}

static void bench_kex(const bench_opts *o, bench_env *be, uint16_t group, const char *gname)
{
    static const char *const rows[] = {".keygen", ".derive", ".keygen+derive"};
    static const char *const mem_rows[] = {".env", ".heap"};
    char p1[64], p2[64];
    snprintf(p1, sizeof(p1), "kex.%s", gname);
    snprintf(p2, sizeof(p2), "mem.crypto_kex.%s", gname);
    if (!bench_any_selected(o, p1, rows, 3) && !bench_any_selected(o, p2, mem_rows, 2))
        return;
    kex_state s = {.env = &be->env, .group = group};
    char name[96];
    crypto_kex *peer = crypto_kex_new(s.env, group);
    size_t before = be->live;
    bench_heap heap = {0, 0, 0};
    bench_heap_current = &heap;
    s.mine = crypto_kex_new(s.env, group);
    bench_heap_current = NULL;
    if (peer == NULL || s.mine == NULL)
        bench_fail("crypto_kex_new", 0);
    snprintf(name, sizeof(name), "mem.crypto_kex.%s.env", gname);
    if (bench_selected(o, name))
        bench_row_value(name, (double)(be->live - before), "bytes");
    snprintf(name, sizeof(name), "mem.crypto_kex.%s.heap", gname);
    if (bench_heap_hooked() && bench_selected(o, name))
        bench_row_value(name, (double)heap.live, "bytes");
    int n = crypto_kex_public(peer, s.peer, sizeof(s.peer));
    if (n < 0)
        bench_fail("crypto_kex_public", n);
    s.peer_len = (size_t)n;
    snprintf(name, sizeof(name), "kex.%s.keygen", gname);
    bench_timed(o, name, kex_keygen_loop, &s, 0);
    snprintf(name, sizeof(name), "kex.%s.derive", gname);
    bench_timed(o, name, kex_derive_loop, &s, 0);
    snprintf(name, sizeof(name), "kex.%s.keygen+derive", gname);
    bench_timed(o, name, kex_full_loop, &s, 0);
    crypto_kex_free(s.env, s.mine);
    crypto_kex_free(s.env, peer);
}

typedef struct sig_state {
    const quince_env *env;
    uint16_t scheme;
    crypto_privkey *key;
    crypto_pubkey *pub;
    uint8_t msg[130]; /* the size of a TLS 1.3 CertificateVerify input for SHA-256 */
    uint8_t sig[CRYPTO_SIG_MAX_LEN];
    size_t sig_len;
} sig_state;

static void sign_loop(void *arg, uint64_t iters)
{
    sig_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        s->msg[0] = (uint8_t)i;
        int rc = crypto_privkey_sign(s->env, s->key, s->scheme, s->msg, sizeof(s->msg), s->sig,
                                     sizeof(s->sig));
        if (rc <= 0)
            bench_fail("crypto_privkey_sign", rc);
    }
}

static void verify_loop(void *arg, uint64_t iters)
{
    sig_state *s = arg;
    for (uint64_t i = 0; i < iters; i++) {
        int rc =
            crypto_pubkey_verify(s->pub, s->scheme, s->msg, sizeof(s->msg), s->sig, s->sig_len);
        if (rc != 0)
            bench_fail("crypto_pubkey_verify", rc);
    }
}

static void bench_sig(const bench_opts *o, bench_env *be, unsigned rsa_bits, uint16_t scheme,
                      const char *sname)
{
    static const char *const rows[] = {".sign", ".verify"};
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "sig.%s", sname);
    if (!bench_any_selected(o, prefix, rows, 2))
        return;
    sig_state s = {.env = &be->env, .scheme = scheme};
    char name[96];
    crypto_cert_params cp = {.common_name = "bench",
                             .dns_name = "bench.test",
                             .not_before_unix = 1700000000,
                             .not_after_unix = 1900000000,
                             .rsa_bits = rsa_bits};
    uint8_t *der = NULL, *key_der = NULL;
    size_t der_len = 0, key_der_len = 0;
    int rc = crypto_cert_generate(s.env, &cp, &der, &der_len, &key_der, &key_der_len, &s.key);
    if (rc < 0)
        bench_fail("crypto_cert_generate", rc);
    rc = crypto_x509_pubkey(s.env, der, der_len, &s.pub);
    if (rc < 0)
        bench_fail("crypto_x509_pubkey", rc);
    bench_fill(s.msg, sizeof(s.msg), 8);
    snprintf(name, sizeof(name), "sig.%s.sign", sname);
    bench_timed(o, name, sign_loop, &s, 0);
    s.msg[0] = 0;
    rc = crypto_privkey_sign(s.env, s.key, scheme, s.msg, sizeof(s.msg), s.sig, sizeof(s.sig));
    if (rc <= 0)
        bench_fail("crypto_privkey_sign", rc);
    s.sig_len = (size_t)rc;
    snprintf(name, sizeof(name), "sig.%s.verify", sname);
    bench_timed(o, name, verify_loop, &s, 0);
    crypto_pubkey_free(s.env, s.pub);
    crypto_privkey_free(s.env, s.key);
    quince_env_free(s.env, der);
    quince_env_free(s.env, key_der);
}

/*
 * The primitives of one server handshake, as quince-server on mbedTLS calls them when
 * bench-hold (ALPN h3, a client on OpenSSL, so the server picks ChaCha20-Poly1305)
 * connects: every call below was counted, with its sizes, on the crypto/backend.c
 * dispatch functions of a real server over 3 handshakes (gdb dprintf; see
 * bench/README.md, "What the handshake primitives are"). Each is made here once per
 * iteration with those sizes; none is estimated. Rows: hs.server.<part>, and
 * hs.server.primitives, which makes all of them in one loop.
 */
typedef struct hs_state {
    const quince_env *env;
    crypto_privkey *key;
    uint8_t peer_pub[CRYPTO_KEX_MAX_PUBLIC];
    size_t peer_pub_len;
    crypto_aead *aes, *chacha, *token, *ticket;
    crypto_hp *aes_hp, *chacha_hp;
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];
    uint8_t aad[32]; /* packet headers: fixed, so that the sealed packets open */
    uint8_t buf[1600], out[1600 + CRYPTO_AEAD_TAG_LEN];
    /* sealed packets to open: { aad, payload } */
    uint8_t sealed[9][1500];
} hs_state;

/* Packets of one handshake: AEAD, header length (the AAD), and the length given to
 * crypto_aead_seal (plaintext) or crypto_aead_open (ciphertext with its tag). */
typedef struct hs_pkt {
    bool chacha, open;
    size_t aad, len;
} hs_pkt;
static const hs_pkt hs_pkts[] = {
    {false, true, 27, 1173},  /* client Initial (ClientHello, padded) */
    {false, false, 27, 100},  /* server Initial (ServerHello, ACK) */
    {false, true, 27, 22},    /* client Initial (ACK) */
    {true, false, 26, 1015},  /* server Handshake (EE, Certificate, CV, Finished) */
    {true, true, 26, 61},     /* client Handshake (ACK, Finished) */
    {true, false, 10, 1426},  /* server 1-RTT */
    {true, false, 10, 373},   /* server 1-RTT */
    {true, true, 10, 1054},   /* client 1-RTT (h3 streams) */
    {true, true, 10, 27},     /* client 1-RTT (ACK) */
};
#define HS_PKTS (sizeof(hs_pkts) / sizeof(hs_pkts[0]))

static void hs_fail(const char *what, int rc)
{
    if (rc < 0)
        bench_fail(what, rc);
}

/* RFC 9001 §5.2: both directions' Initial keys (extract, 8 expands, 2 AEAD + 2 HP contexts). */
static void hs_initial(hs_state *s)
{
    static const uint8_t dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    crypto_pp c, sv;
    hs_fail("crypto_pp_initial", crypto_pp_initial(&c, &sv, s->env, CRYPTO_QUIC_V1, dcid, 8));
    crypto_pp_clear(&c, s->env);
    crypto_pp_clear(&sv, s->env);
}

/* X25519: the server's key share and the shared secret. */
static void hs_kex(hs_state *s)
{
    uint8_t pub[CRYPTO_KEX_MAX_PUBLIC], z[CRYPTO_KEX_MAX_SECRET];
    crypto_kex *k = crypto_kex_new(s->env, CRYPTO_GROUP_X25519);
    if (k == NULL || crypto_kex_public(k, pub, sizeof(pub)) < 0)
        bench_fail("crypto_kex_new", 0);
    hs_fail("crypto_kex_derive", crypto_kex_derive(k, s->peer_pub, s->peer_pub_len, z, sizeof(z)));
    crypto_kex_free(s->env, k);
}

/* ECDSA P-256 over the 130-byte CertificateVerify input. */
static void hs_sign(hs_state *s)
{
    uint8_t sig[CRYPTO_SIG_MAX_LEN];
    hs_fail("crypto_privkey_sign", crypto_privkey_sign(s->env, s->key,
                                                       CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                                       s->buf, 130, sig, sizeof(sig)));
}

/* SHA-256 transcript: 7 messages (CH 225, SH 90, EE 127, Certificate 398, CV 79,
 * 2 x Finished 36), 6 digests so far, 2 hashes of the empty string ("derived"). */
static void hs_transcript(hs_state *s)
{
    static const size_t msgs[] = {225, 90, 127, 398, 79, 36, 36};
    static const int peeks[] = {0, 1, 0, 1, 1, 2, 1}; /* digests taken after each */
    uint8_t d[32];
    crypto_hash_ctx *h = crypto_hash_new(s->env, CRYPTO_HASH_SHA256);
    if (h == NULL)
        bench_fail("crypto_hash_new", 0);
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        hs_fail("crypto_hash_update", crypto_hash_update(h, s->buf, msgs[i]));
        for (int k = 0; k < peeks[i]; k++)
            hs_fail("crypto_hash_peek", crypto_hash_peek(h, d));
    }
    hs_fail("crypto_hash", crypto_hash(CRYPTO_HASH_SHA256, NULL, 0, d));
    hs_fail("crypto_hash", crypto_hash(CRYPTO_HASH_SHA256, NULL, 0, d));
    crypto_hash_free(s->env, h);
}

/* TLS 1.3 key schedule (RFC 8446 §7.1) with HKDF-SHA256: 3 extracts; expands with
 * info of 49 ("derived") x2, 54 (traffic secrets) x4, 52 (exporter, resumption master)
 * x2, 21 (ticket PSK) x1, 18 ("finished") x2; HMAC of both Finished; then QUIC keys
 * (RFC 9001 §5.1) for 5 ChaCha20-Poly1305 secrets: 3 expands, an AEAD and an HP context
 * each. */
static void hs_schedule(hs_state *s)
{
    static const struct {
        size_t info, n;
    } ex[] = {{49, 2}, {54, 4}, {52, 2}, {21, 1}, {18, 2}};
    uint8_t prk[32], o[32];
    for (int i = 0; i < 3; i++)
        hs_fail("crypto_hkdf_extract",
                crypto_hkdf_extract(CRYPTO_HASH_SHA256, s->buf, 32, s->buf + 32, 32, prk));
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
        for (size_t k = 0; k < ex[i].n; k++)
            hs_fail("crypto_hkdf_expand", crypto_hkdf_expand(CRYPTO_HASH_SHA256, prk, 32, s->buf,
                                                             ex[i].info, o, 32));
    for (int i = 0; i < 2; i++)
        hs_fail("crypto_hmac", crypto_hmac(CRYPTO_HASH_SHA256, prk, 32, s->buf, 32, o));
    for (int i = 0; i < 5; i++) {
        crypto_pp pp;
        prk[0] = (uint8_t)i;
        hs_fail("crypto_pp_init", crypto_pp_init(&pp, s->env, CRYPTO_QUIC_V1,
                                                 CRYPTO_AEAD_CHACHA20_POLY1305,
                                                 CRYPTO_HASH_SHA256, prk, 32));
        crypto_pp_clear(&pp, s->env);
    }
}

/* 4 stateless reset tokens (HMAC-SHA256 of an 8-byte CID), the NEW_TOKEN token
 * (AES-128-GCM, 20-byte AAD, 8 bytes) and the session ticket (AES-256-GCM, 4, 126). */
static void hs_tokens(hs_state *s)
{
    uint8_t o[32];
    for (int i = 0; i < 4; i++)
        hs_fail("crypto_hmac", crypto_hmac(CRYPTO_HASH_SHA256, s->buf + 64, 32, s->buf, 8, o));
    hs_fail("crypto_aead_seal", crypto_aead_seal(s->token, s->nonce, s->buf, 20, s->buf + 20, 8,
                                                 s->out));
    hs_fail("crypto_aead_seal", crypto_aead_seal(s->ticket, s->nonce, s->buf, 4, s->buf + 4, 126,
                                                 s->out));
}

/* The 9 packets: AEAD and one header-protection mask each. */
static void hs_packets(hs_state *s)
{
    uint8_t mask[5];
    for (size_t i = 0; i < HS_PKTS; i++) {
        const hs_pkt *p = &hs_pkts[i];
        crypto_aead *a = p->chacha ? s->chacha : s->aes;
        int rc;
        if (p->open)
            rc = crypto_aead_open(a, s->nonce, s->aad, p->aad, s->sealed[i], p->len, s->out);
        else
            rc = crypto_aead_seal(a, s->nonce, s->aad, p->aad, s->buf, p->len, s->out);
        if (rc != (int)(p->open ? p->len - CRYPTO_AEAD_TAG_LEN : p->len + CRYPTO_AEAD_TAG_LEN))
            bench_fail(p->open ? "crypto_aead_open" : "crypto_aead_seal", rc);
        hs_fail("crypto_hp_mask", crypto_hp_mask(p->chacha ? s->chacha_hp : s->aes_hp,
                                                 s->out + 4, mask));
    }
}

static void hs_all(hs_state *s)
{
    hs_initial(s);
    hs_kex(s);
    hs_transcript(s);
    hs_schedule(s);
    hs_sign(s);
    hs_tokens(s);
    hs_packets(s);
}

typedef void (*hs_part)(hs_state *s);
typedef struct hs_loop_arg {
    hs_state *s;
    hs_part part;
} hs_loop_arg;

static void hs_loop(void *arg, uint64_t iters)
{
    hs_loop_arg *a = arg;
    for (uint64_t i = 0; i < iters; i++) {
        a->s->buf[0] = (uint8_t)i;
        a->part(a->s);
    }
}

static void bench_hs_server(const bench_opts *o, bench_env *be)
{
    static const char *const rows[] = {".initial-keys", ".x25519", ".transcript", ".key-schedule",
                                       ".ecdsa-p256-sign", ".tokens", ".packets", ".primitives"};
    static const hs_part parts[] = {hs_initial, hs_kex,    hs_transcript, hs_schedule,
                                    hs_sign,    hs_tokens, hs_packets,    hs_all};
    if (!bench_any_selected(o, "hs.server", rows, 8))
        return;
    static hs_state s;
    s.env = &be->env;
    uint8_t key[CRYPTO_AEAD_MAX_KEY_LEN];
    bench_fill(key, sizeof(key), 9);
    bench_fill(s.buf, sizeof(s.buf), 10);
    bench_fill(s.nonce, sizeof(s.nonce), 11);
    bench_fill(s.aad, sizeof(s.aad), 12);
    s.aes = crypto_aead_new(s.env, CRYPTO_AEAD_AES_128_GCM, key);
    s.chacha = crypto_aead_new(s.env, CRYPTO_AEAD_CHACHA20_POLY1305, key);
    s.token = crypto_aead_new(s.env, CRYPTO_AEAD_AES_128_GCM, key);
    s.ticket = crypto_aead_new(s.env, CRYPTO_AEAD_AES_256_GCM, key);
    s.aes_hp = crypto_hp_new(s.env, CRYPTO_AEAD_AES_128_GCM, key);
    s.chacha_hp = crypto_hp_new(s.env, CRYPTO_AEAD_CHACHA20_POLY1305, key);
    if (!s.aes || !s.chacha || !s.token || !s.ticket || !s.aes_hp || !s.chacha_hp)
        bench_fail("crypto_aead_new", 0);
    for (size_t i = 0; i < HS_PKTS; i++) {
        const hs_pkt *p = &hs_pkts[i];
        if (p->open && crypto_aead_seal(p->chacha ? s.chacha : s.aes, s.nonce, s.aad, p->aad,
                                        s.buf, p->len - CRYPTO_AEAD_TAG_LEN, s.sealed[i]) < 0)
            bench_fail("crypto_aead_seal", 0);
    }
    crypto_kex *peer = crypto_kex_new(s.env, CRYPTO_GROUP_X25519);
    int n = peer == NULL ? -1 : crypto_kex_public(peer, s.peer_pub, sizeof(s.peer_pub));
    if (n < 0)
        bench_fail("crypto_kex_public", n);
    s.peer_pub_len = (size_t)n;
    crypto_cert_params cp = {.common_name = "bench",
                             .dns_name = "bench.test",
                             .not_before_unix = 1700000000,
                             .not_after_unix = 1900000000};
    uint8_t *der = NULL, *key_der = NULL;
    size_t der_len = 0, key_der_len = 0;
    if (crypto_cert_generate(s.env, &cp, &der, &der_len, &key_der, &key_der_len, &s.key) < 0)
        bench_fail("crypto_cert_generate", 0);
    char name[64];
    for (size_t i = 0; i < 8; i++) {
        hs_loop_arg a = {&s, parts[i]};
        snprintf(name, sizeof(name), "hs.server%s", rows[i]);
        bench_timed(o, name, hs_loop, &a, 0);
    }
    crypto_privkey_free(s.env, s.key);
    quince_env_free(s.env, der);
    quince_env_free(s.env, key_der);
    crypto_kex_free(s.env, peer);
    crypto_aead_free(s.env, s.aes);
    crypto_aead_free(s.env, s.chacha);
    crypto_aead_free(s.env, s.token);
    crypto_aead_free(s.env, s.ticket);
    crypto_hp_free(s.env, s.aes_hp);
    crypto_hp_free(s.env, s.chacha_hp);
}

int main(int argc, char **argv)
{
    bench_opts o;
    bench_env be;
    bench_parse_args(argc, argv, &o, "bench-crypto");
    bench_env_init(&be, 42);
    bench_header("bench-crypto");

    for (int alg = 0; alg < 3; alg++)
        bench_aead(&o, &be, (crypto_aead_alg)alg);
    for (int alg = 0; alg < 3; alg++)
        bench_pp(&o, &be, (crypto_aead_alg)alg);

    initial_state is = {.env = &be.env, .dcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08}};
    bench_timed(&o, "pp.initial_secrets", initial_secrets_loop, &is, 0);
    bench_timed(&o, "pp.initial_keys", initial_keys_loop, &is, 0);

    bench_kex(&o, &be, CRYPTO_GROUP_X25519, "x25519");
    bench_kex(&o, &be, CRYPTO_GROUP_SECP256R1, "p256");
    bench_sig(&o, &be, 0, CRYPTO_SIG_ECDSA_SECP256R1_SHA256, "ecdsa-p256");
    bench_sig(&o, &be, 2048, CRYPTO_SIG_RSA_PSS_RSAE_SHA256, "rsa2048-pss");
    bench_hs_server(&o, &be);

    if (be.live != 0) {
        fprintf(stderr, "bench-crypto: %zu bytes still allocated\n", be.live);
        return 1;
    }
    return 0;
}
