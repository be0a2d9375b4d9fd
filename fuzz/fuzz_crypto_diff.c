/* Differential target: the same inputs to the mbedTLS and OpenSSL backends, which must agree. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "fuzz_env.h"

/*
 * The first byte picks the primitive, the rest feeds it:
 *   0 AEAD seal, then open of the sealed bytes with one bit flipped (or not)
 *   1 header-protection mask
 *   2 hash (one-shot and incremental), HMAC, HKDF extract and expand
 *   3 key shares from the same random bytes: equal public shares; the secret with a
 *     peer share from the input (valid or not) and with the other backend's share
 *     (mbedTLS on the warmed shared group of crypto_shared_new, as an embedder that
 *     hands one to its connections has it; on a group of its own when the group byte
 *     is 0xfe or 0xff, mbedTLS's default)
 *   4 signature verification of (possibly altered) signatures under a fixed key; a real
 *     signature is made by OpenSSL from the same key, or by mbedTLS when bits 2-4 of the
 *     flags byte are all set (an RSA-2048 signature by mbedTLS under ASan costs 3 ms, four
 *     times OpenSSL's, and was most of this target's time)
 * Any difference aborts. Randomness is the input's own bytes, so both sides draw the same.
 */

static const crypto_backend *mb, *os;
/* mbedTLS's loaded, warmed curves (crypto_shared_new), made once: a group loaded per key
 * share rebuilds its comb table for G on every P-256 share, which cost more than the
 * comparison itself. Both backends' key shares are still made and compared per input. */
static crypto_shared *mb_shared;

/* A random stream over bytes of the input, then zeros: the same for both backends. */
typedef struct byte_stream {
    const uint8_t *p;
    size_t left;
} byte_stream;

static void stream_random(void *user, uint8_t *buf, size_t len)
{
    byte_stream *s = user;
    size_t n = len < s->left ? len : s->left;
    memcpy(buf, s->p, n);
    memset(buf + n, 0x42, len - n);
    s->p += n;
    s->left -= n;
}

static quince_env stream_env(byte_stream *s)
{
    quince_env env = {.alloc = fuzz_alloc,
                      .realloc = fuzz_realloc,
                      .free = fuzz_free,
                      .random = stream_random,
                      .user = s};
    return env;
}

static void same(bool ok)
{
    if (!ok)
        abort();
}

/* Take n bytes of input (zero-padded when short). */
static const uint8_t *take(const uint8_t **p, size_t *left, size_t n, uint8_t *buf)
{
    size_t k = n < *left ? n : *left;
    memset(buf, 0, n);
    memcpy(buf, *p, k);
    *p += k;
    *left -= k;
    return buf;
}

static void diff_aead(const uint8_t *p, size_t left)
{
    uint8_t hdr[3], key[32], nonce[12];
    take(&p, &left, sizeof(hdr), hdr);
    crypto_aead_alg alg = (crypto_aead_alg)(hdr[0] % 3);
    take(&p, &left, sizeof(key), key);
    take(&p, &left, sizeof(nonce), nonce);
    size_t aad_len = hdr[1] < left ? hdr[1] : left;
    const uint8_t *aad = p;
    p += aad_len;
    left -= aad_len;
    size_t len = left > 4096 ? 4096 : left;
    const quince_env *env = fuzz_env();
    crypto_aead *a = mb->aead_new(env, alg, key), *b = os->aead_new(env, alg, key);
    same(a != NULL && b != NULL);
    uint8_t *ca = malloc(len + 16), *cb = malloc(len + 16), *pa = malloc(len + 16),
            *pb = malloc(len + 16);
    int na = mb->aead_seal(a, nonce, aad, aad_len, p, len, ca);
    int nb = os->aead_seal(b, nonce, aad, aad_len, p, len, cb);
    same(na == nb && na == (int)(len + 16) && memcmp(ca, cb, len + 16) == 0);
    /* hdr[2]: flip one bit (odd) of the sealed bytes, or none (even). */
    if (hdr[2] & 1)
        ca[(hdr[2] >> 1) % (len + 16)] ^= (uint8_t)(1u << (hdr[2] % 8));
    na = mb->aead_open(a, nonce, aad, aad_len, ca, len + 16, pa);
    nb = os->aead_open(b, nonce, aad, aad_len, ca, len + 16, pb);
    same(na == nb);
    same(na < 0 ? na == CRYPTO_ERR_DECRYPT : memcmp(pa, pb, (size_t)na) == 0);
    same((hdr[2] & 1) ? na < 0 : na == (int)len);
    /* Short input: less than a tag. */
    same(mb->aead_open(a, nonce, aad, aad_len, ca, hdr[0] % 16, pa) ==
         os->aead_open(b, nonce, aad, aad_len, ca, hdr[0] % 16, pb));
    free(ca);
    free(cb);
    free(pa);
    free(pb);
    mb->aead_free(env, a);
    os->aead_free(env, b);
}

static void diff_hp(const uint8_t *p, size_t left)
{
    uint8_t alg_b[1], key[32], sample[16], ma[5], mb_[5];
    take(&p, &left, 1, alg_b);
    take(&p, &left, sizeof(key), key);
    crypto_aead_alg alg = (crypto_aead_alg)(alg_b[0] % 3);
    const quince_env *env = fuzz_env();
    crypto_hp *a = mb->hp_new(env, alg, key), *b = os->hp_new(env, alg, key);
    same(a != NULL && b != NULL);
    /* Every 16 bytes left is another sample under the same key. */
    do {
        take(&p, &left, sizeof(sample), sample);
        same(mb->hp_mask(a, sample, ma) == 0 && os->hp_mask(b, sample, mb_) == 0 &&
             memcmp(ma, mb_, 5) == 0);
    } while (left > 0);
    mb->hp_free(env, a);
    os->hp_free(env, b);
}

static void diff_hash(const uint8_t *p, size_t left)
{
    uint8_t hdr[4];
    take(&p, &left, sizeof(hdr), hdr);
    crypto_hash_alg alg = (crypto_hash_alg)(hdr[0] & 1);
    size_t hl = crypto_hash_len(alg);
    size_t salt_len = hdr[1] < left ? hdr[1] : left;
    const uint8_t *salt = p;
    p += salt_len;
    left -= salt_len;
    size_t info_len = hdr[2] < left ? hdr[2] : left;
    const uint8_t *info = p;
    p += info_len;
    left -= info_len;
    uint8_t a[CRYPTO_HASH_MAX_LEN], b[CRYPTO_HASH_MAX_LEN];
    same(mb->hash(alg, p, left, a) == 0 && os->hash(alg, p, left, b) == 0 && memcmp(a, b, hl) == 0);
    /* Incremental, in two pieces split at hdr[3], peeked in between. */
    const quince_env *env = fuzz_env();
    crypto_hash_ctx *ha = mb->hash_new(env, alg), *hb = os->hash_new(env, alg);
    size_t cut = hdr[3] < left ? hdr[3] : left;
    same(mb->hash_update(ha, p, cut) == 0 && os->hash_update(hb, p, cut) == 0);
    same(mb->hash_peek(ha, a) == 0 && os->hash_peek(hb, b) == 0 && memcmp(a, b, hl) == 0);
    same(mb->hash_update(ha, p + cut, left - cut) == 0 &&
         os->hash_update(hb, p + cut, left - cut) == 0);
    same(mb->hash_peek(ha, a) == 0 && os->hash_peek(hb, b) == 0 && memcmp(a, b, hl) == 0);
    mb->hash_free(env, ha);
    os->hash_free(env, hb);
    /* HMAC with the salt as key (any length, longer than a block too). */
    same(mb->hmac(alg, salt, salt_len, p, left, a) == 0 &&
         os->hmac(alg, salt, salt_len, p, left, b) == 0 && memcmp(a, b, hl) == 0);
    uint8_t prk_a[CRYPTO_HASH_MAX_LEN], prk_b[CRYPTO_HASH_MAX_LEN];
    same(mb->hkdf_extract(alg, salt_len ? salt : NULL, salt_len, p, left, prk_a) == 0 &&
         os->hkdf_extract(alg, salt_len ? salt : NULL, salt_len, p, left, prk_b) == 0 &&
         memcmp(prk_a, prk_b, hl) == 0);
    size_t out_len = (size_t)hdr[3] * 4 + (hdr[0] >> 1);
    uint8_t oa[255 * 4 + 127], ob[255 * 4 + 127];
    int ra = mb->hkdf_expand(alg, prk_a, hl, info, info_len, oa, out_len);
    int rb = os->hkdf_expand(alg, prk_b, hl, info, info_len, ob, out_len);
    same(ra == rb && (ra != 0 || memcmp(oa, ob, out_len) == 0));
}

static void diff_kex(const uint8_t *p, size_t left)
{
    uint8_t g[1];
    take(&p, &left, 1, g);
    uint16_t group = (g[0] & 1) ? CRYPTO_GROUP_SECP256R1 : CRYPTO_GROUP_X25519;
    bool own_group = g[0] >= 0xfe;
    /* Our randomness: the next 64 bytes of input (32 would do for X25519). */
    uint8_t rnd[64], rnd2[64];
    take(&p, &left, sizeof(rnd), rnd);
    take(&p, &left, sizeof(rnd2), rnd2);
    byte_stream sa = {rnd, sizeof(rnd)}, sb = {rnd, sizeof(rnd)};
    quince_env ea = stream_env(&sa), eb = stream_env(&sb);
    if (!own_group)
        ea.crypto_shared = mb_shared;
    crypto_kex *a = mb->kex_new(&ea, group), *b = os->kex_new(&eb, group);
    same(a != NULL && b != NULL);
    uint8_t pa[65], pb[65], za[32], zb[32];
    int na = mb->kex_public(a, pa, sizeof(pa)), nb = os->kex_public(b, pb, sizeof(pb));
    same(na == nb && na > 0 && memcmp(pa, pb, (size_t)na) == 0);
    /* The rest of the input as the peer's share (any length, any bytes). */
    int ra = mb->kex_derive(a, p, left, za, sizeof(za));
    int rb = os->kex_derive(b, p, left, zb, sizeof(zb));
    same(ra == rb && (ra < 0 || memcmp(za, zb, (size_t)ra) == 0));
    /* A real peer, made by the other backend from other random bytes. */
    byte_stream s2 = {rnd2, sizeof(rnd2)};
    quince_env e2 = stream_env(&s2);
    crypto_kex *peer = os->kex_new(&e2, group);
    uint8_t pp[65], zp[32];
    int np = os->kex_public(peer, pp, sizeof(pp));
    ra = mb->kex_derive(a, pp, (size_t)np, za, sizeof(za));
    rb = os->kex_derive(b, pp, (size_t)np, zb, sizeof(zb));
    int rp = os->kex_derive(peer, pa, (size_t)na, zp, sizeof(zp));
    same(ra == 32 && rb == 32 && rp == 32 && memcmp(za, zb, 32) == 0 && memcmp(za, zp, 32) == 0);
    os->kex_free(&e2, peer);
    mb->kex_free(&ea, a);
    os->kex_free(&eb, b);
}

/* One key per kind, generated once by mbedTLS; both backends read its certificate. */
typedef struct fixed_key {
    crypto_privkey *priv, *priv_os; /* mbedTLS's, and the same key read by OpenSSL */
    crypto_pubkey *pub_mb, *pub_os;
} fixed_key;

static fixed_key keys[2]; /* ECDSA P-256, RSA-2048 */

static void make_key(fixed_key *k, unsigned rsa_bits)
{
    uint64_t seed = 0x9e11 + rsa_bits;
    quince_env env = *fuzz_env();
    env.user = &seed;
    crypto_cert_params params = {.common_name = "diff",
                                 .not_before_unix = 1700000000,
                                 .not_after_unix = 1800000000,
                                 .rsa_bits = rsa_bits};
    uint8_t *der, *key_der;
    size_t der_len, key_der_len;
    same(mb->cert_generate(&env, &params, &der, &der_len, &key_der, &key_der_len, &k->priv) == 0);
    same(mb->x509_pubkey(&env, der, der_len, &k->pub_mb) == 0 &&
         os->x509_pubkey(&env, der, der_len, &k->pub_os) == 0);
    k->priv_os = os->privkey_parse(&env, key_der, key_der_len);
    same(k->priv_os != NULL);
    quince_env_free(&env, der);
    quince_env_free(&env, key_der);
}

static void diff_verify(const uint8_t *p, size_t left)
{
    static const uint16_t schemes[] = {
        CRYPTO_SIG_ECDSA_SECP256R1_SHA256, CRYPTO_SIG_ECDSA_SECP384R1_SHA384,
        CRYPTO_SIG_RSA_PSS_RSAE_SHA256,    CRYPTO_SIG_RSA_PSS_RSAE_SHA384,
        CRYPTO_SIG_RSA_PSS_RSAE_SHA512,    CRYPTO_SIG_RSA_PKCS1_SHA256,
    };
    uint8_t hdr[4];
    take(&p, &left, sizeof(hdr), hdr);
    fixed_key *k = &keys[hdr[0] & 1];
    if (k->priv == NULL)
        make_key(k, (hdr[0] & 1) ? 2048 : 0);
    uint16_t scheme = schemes[(hdr[0] >> 1) % (sizeof(schemes) / sizeof(schemes[0]))];
    size_t msg_len = hdr[1] < left ? hdr[1] : left;
    const uint8_t *msg = p;
    p += msg_len;
    left -= msg_len;
    uint8_t sig[CRYPTO_SIG_MAX_LEN];
    size_t sig_len;
    if (hdr[2] & 1) {
        /* The rest of the input is the signature. */
        sig_len = left < sizeof(sig) ? left : sizeof(sig);
        memcpy(sig, p, sig_len);
    } else {
        /* A real signature (if the key can make one), then maybe one bit flipped. */
        uint64_t seed = hdr[3];
        quince_env env = *fuzz_env();
        env.user = &seed;
        same(mb->privkey_supports(k->priv, scheme) == os->privkey_supports(k->priv_os, scheme));
        bool mb_signs = (hdr[2] & 0x1c) == 0x1c;
        int n = !mb_signs ? os->privkey_sign(&env, k->priv_os, scheme, msg, msg_len, sig,
                                                sizeof(sig))
                             : mb->privkey_sign(&env, k->priv, scheme, msg, msg_len, sig,
                                                sizeof(sig));
        if (n <= 0)
            return;
        sig_len = (size_t)n;
        if (hdr[2] & 2)
            sig[(hdr[3] >> 3) % sig_len] ^= (uint8_t)(1u << (hdr[3] & 7));
    }
    int ra = mb->pubkey_verify(k->pub_mb, scheme, msg, msg_len, sig, sig_len);
    int rb = os->pubkey_verify(k->pub_os, scheme, msg, msg_len, sig, sig_len);
    same(ra == rb);
    if (!(hdr[2] & 3) && mb->privkey_supports(k->priv, scheme))
        same(ra == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (mb == NULL) {
        mb = crypto_backend_find("mbedtls");
        os = crypto_backend_find("openssl");
        if (mb == NULL || os == NULL)
            abort();
        mb_shared = mb->shared_new(fuzz_env());
        if (mb->shared_groups_loaded(mb_shared) != 3)
            abort();
    }
    if (size < 1 || size > 8192)
        return 0;
    switch (data[0] % 5) {
    case 0:
        diff_aead(data + 1, size - 1);
        break;
    case 1:
        diff_hp(data + 1, size - 1);
        break;
    case 2:
        diff_hash(data + 1, size - 1);
        break;
    case 3:
        diff_kex(data + 1, size - 1);
        break;
    default:
        diff_verify(data + 1, size - 1);
        break;
    }
    return 0;
}
