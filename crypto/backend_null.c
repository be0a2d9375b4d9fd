/* crypto/backend.h for fuzzing builds: identity AEAD, zero masks, fake signatures. */
#include "crypto/backend.h"

#include <string.h>

#include "crypto/x509_check.h"

/* Defined below; called before their definitions. */
static void nl_hash_free(const quince_env *env, crypto_hash_ctx *ctx);
static void nl_aead_free(const quince_env *env, crypto_aead *ctx);
static void nl_hp_free(const quince_env *env, crypto_hp *ctx);
static void nl_kex_free(const quince_env *env, crypto_kex *ctx);
static void nl_privkey_free(const quince_env *env, crypto_privkey *key);
static void nl_pubkey_free(const quince_env *env, crypto_pubkey *key);
static int nl_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len,
                          crypto_pubkey **key);

/*
 * Nothing here is secure. Everything is deterministic and cheap, so that a
 * fuzzer reaches the protocol logic behind the cryptography: the "hash" is a
 * 64-bit mixer stretched to the output length, the AEAD copies and appends a
 * zero tag (which open checks, so the failure path stays reachable), the
 * header-protection mask is zero, both ends of a key exchange get the same
 * secret, and a "signature" is the scheme followed by the hash of the message.
 * Certificates are any DER SEQUENCE.
 */

/* Nothing to share: an object holding only its table, so that callers need no special
 * case. */
struct crypto_shared {
    const crypto_backend *be; /* first: crypto_backend_of */
};

static crypto_shared *nl_shared_new(const quince_env *env)
{
    crypto_shared *s = quince_env_calloc(env, sizeof(crypto_shared));
    if (s != NULL)
        s->be = &crypto_backend_null_table;
    return s;
}

static void nl_shared_free(const quince_env *env, crypto_shared *s)
{
    quince_env_free(env, s);
}

static size_t nl_shared_groups_loaded(const crypto_shared *s)
{
    (void)s;
    return 0; /* no curves here */
}

/* ---- Hashes, HMAC, HKDF ---- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

struct crypto_hash_ctx {
    const crypto_backend *be; /* first: crypto_backend_of */
    crypto_hash_alg alg;
    uint64_t h;
    uint64_t len;
};

static void hash_init(crypto_hash_ctx *c, crypto_hash_alg alg)
{
    c->alg = alg;
    c->h = 0xcbf29ce484222325ULL ^ (uint64_t)alg;
    c->len = 0;
}

#define FNV_PRIME 0x100000001b3ULL

/* FNV-1a, eight bytes a step then the rest: the same digest as a byte loop, with an eighth
 * of the loop tests, each a callback under the fuzzers' comparison tracing (a connection's
 * key schedule hashes some 20 KB here). */
static void hash_update(crypto_hash_ctx *c, const uint8_t *in, size_t len)
{
    uint64_t h = c->h;
    size_t i = 0;
    for (; len - i >= 8; i += 8) {
        h = (h ^ in[i]) * FNV_PRIME;
        h = (h ^ in[i + 1]) * FNV_PRIME;
        h = (h ^ in[i + 2]) * FNV_PRIME;
        h = (h ^ in[i + 3]) * FNV_PRIME;
        h = (h ^ in[i + 4]) * FNV_PRIME;
        h = (h ^ in[i + 5]) * FNV_PRIME;
        h = (h ^ in[i + 6]) * FNV_PRIME;
        h = (h ^ in[i + 7]) * FNV_PRIME;
    }
    for (; i < len; i++)
        h = (h ^ in[i]) * FNV_PRIME;
    c->h = h;
    c->len += len;
}

static void hash_final(const crypto_hash_ctx *c, uint8_t *out)
{
    size_t n = crypto_hash_len(c->alg);
    uint64_t s = mix64(c->h ^ mix64(c->len));
    for (size_t i = 0; i < n; i += 8) {
        s = mix64(s + 0x9e3779b97f4a7c15ULL);
        for (size_t k = 0; k < 8; k++)
            out[i + k] = (uint8_t)(s >> (8 * k));
    }
}

static int nl_hash(crypto_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out)
{
    if (crypto_hash_len(alg) == 0)
        return CRYPTO_ERR_ARGUMENT;
    crypto_hash_ctx c;
    hash_init(&c, alg);
    hash_update(&c, in, len);
    hash_final(&c, out);
    return 0;
}

static crypto_hash_ctx *nl_hash_new(const quince_env *env, crypto_hash_alg alg)
{
    if (crypto_hash_len(alg) == 0)
        return NULL;
    crypto_hash_ctx *c = quince_env_alloc(env, sizeof(*c));
    if (c != NULL)
        c->be = &crypto_backend_null_table;
    if (c != NULL)
        hash_init(c, alg);
    return c;
}

static int nl_hash_update(crypto_hash_ctx *ctx, const uint8_t *in, size_t len)
{
    hash_update(ctx, in, len);
    return 0;
}

static int nl_hash_peek(const crypto_hash_ctx *ctx, uint8_t *out)
{
    hash_final(ctx, out);
    return 0;
}

static void nl_hash_free(const quince_env *env, crypto_hash_ctx *ctx)
{
    quince_env_free(env, ctx);
}

static int nl_hmac(crypto_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *in,
                   size_t len, uint8_t *out)
{
    if (crypto_hash_len(alg) == 0)
        return CRYPTO_ERR_ARGUMENT;
    /* Length-prefixed key, then the message: distinct (key, message) pairs stay distinct. */
    crypto_hash_ctx c;
    uint8_t kl[8];
    for (int i = 0; i < 8; i++)
        kl[i] = (uint8_t)((uint64_t)key_len >> (8 * i));
    hash_init(&c, alg);
    hash_update(&c, kl, sizeof(kl));
    hash_update(&c, key, key_len);
    hash_update(&c, in, len);
    hash_final(&c, out);
    return 0;
}

static int nl_hkdf_extract(crypto_hash_alg alg, const uint8_t *salt, size_t salt_len,
                           const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out)
{
    return nl_hmac(alg, salt, salt_len, ikm, ikm_len, prk_out);
}

/* The RFC 5869 §2.3 chaining, over the stand-in HMAC. */
static int nl_hkdf_expand(crypto_hash_alg alg, const uint8_t *prk, size_t prk_len,
                          const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    size_t hl = crypto_hash_len(alg);
    if (hl == 0 || prk_len < hl || out_len > 255 * hl)
        return CRYPTO_ERR_ARGUMENT;
    uint8_t t[CRYPTO_HASH_MAX_LEN];
    size_t t_len = 0;
    for (uint8_t i = 1; out_len > 0; i++) {
        crypto_hash_ctx c;
        uint8_t kl[8];
        for (int k = 0; k < 8; k++)
            kl[k] = (uint8_t)((uint64_t)prk_len >> (8 * k));
        hash_init(&c, alg);
        hash_update(&c, kl, sizeof(kl));
        hash_update(&c, prk, prk_len);
        hash_update(&c, t, t_len);
        hash_update(&c, info, info_len);
        hash_update(&c, &i, 1);
        hash_final(&c, t);
        t_len = hl;
        size_t n = out_len < hl ? out_len : hl;
        memcpy(out, t, n);
        out += n;
        out_len -= n;
    }
    return 0;
}

/* ---- AEAD and header protection ---- */

struct crypto_aead {
    const crypto_backend *be; /* first: crypto_backend_of */
    crypto_aead_alg alg;
};

static crypto_aead *nl_aead_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key)
{
    if (crypto_aead_key_len(alg) == 0 || key == NULL)
        return NULL;
    crypto_aead *a = quince_env_alloc(env, sizeof(*a));
    if (a != NULL)
        a->be = &crypto_backend_null_table;
    if (a != NULL)
        a->alg = alg;
    return a;
}

static void nl_aead_free(const quince_env *env, crypto_aead *ctx)
{
    quince_env_free(env, ctx);
}

static int nl_aead_seal(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                        const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        uint8_t *out)
{
    (void)ctx;
    (void)nonce;
    (void)aad;
    (void)aad_len;
    if (len > (size_t)INT32_MAX - CRYPTO_AEAD_TAG_LEN)
        return CRYPTO_ERR_ARGUMENT;
    if (len > 0 && out != in)
        memmove(out, in, len);
    memset(out + len, 0, CRYPTO_AEAD_TAG_LEN);
    return (int)(len + CRYPTO_AEAD_TAG_LEN);
}

static int nl_aead_open(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                        const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        uint8_t *out)
{
    (void)ctx;
    (void)nonce;
    (void)aad;
    (void)aad_len;
    if (len < CRYPTO_AEAD_TAG_LEN || len > (size_t)INT32_MAX)
        return CRYPTO_ERR_DECRYPT;
    size_t n = len - CRYPTO_AEAD_TAG_LEN;
    uint8_t acc = 0;
    for (size_t i = 0; i < CRYPTO_AEAD_TAG_LEN; i++)
        acc |= in[n + i];
    if (acc != 0)
        return CRYPTO_ERR_DECRYPT;
    if (n > 0 && out != in)
        memmove(out, in, n);
    return (int)n;
}

struct crypto_hp {
    const crypto_backend *be; /* first: crypto_backend_of */
    crypto_aead_alg alg;
};

static crypto_hp *nl_hp_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key)
{
    if (crypto_aead_key_len(alg) == 0 || key == NULL)
        return NULL;
    crypto_hp *h = quince_env_alloc(env, sizeof(*h));
    if (h != NULL)
        h->be = &crypto_backend_null_table;
    if (h != NULL)
        h->alg = alg;
    return h;
}

static void nl_hp_free(const quince_env *env, crypto_hp *ctx)
{
    quince_env_free(env, ctx);
}

static int nl_hp_mask(crypto_hp *ctx, const uint8_t sample[16], uint8_t mask[5])
{
    (void)ctx;
    (void)sample;
    memset(mask, 0, 5);
    return 0;
}

/* ---- Key exchange ---- */

struct crypto_kex {
    const crypto_backend *be; /* first: crypto_backend_of */
    uint16_t group;
};

static size_t kex_share_len(uint16_t group)
{
    return group == CRYPTO_GROUP_X25519 ? 32 : 65;
}

static crypto_kex *nl_kex_new(const quince_env *env, uint16_t group)
{
    if (group != CRYPTO_GROUP_X25519 && group != CRYPTO_GROUP_SECP256R1)
        return NULL;
    crypto_kex *k = quince_env_alloc(env, sizeof(*k));
    if (k != NULL)
        k->be = &crypto_backend_null_table;
    if (k != NULL)
        k->group = group;
    return k;
}

static void nl_kex_free(const quince_env *env, crypto_kex *ctx)
{
    quince_env_free(env, ctx);
}

static int nl_kex_public(const crypto_kex *ctx, uint8_t *out, size_t cap)
{
    size_t n = kex_share_len(ctx->group);
    if (cap < n)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    /* The same share every time; a P-256 share keeps its uncompressed-point prefix. */
    memset(out, 0x5a, n);
    if (ctx->group == CRYPTO_GROUP_SECP256R1)
        out[0] = 0x04;
    return (int)n;
}

static int nl_kex_derive(crypto_kex *ctx, const uint8_t *peer, size_t peer_len, uint8_t *out,
                         size_t cap)
{
    if (cap < CRYPTO_KEX_MAX_SECRET)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    /* The formats are still checked, so that the rejection paths stay reachable. */
    if (peer == NULL || peer_len != kex_share_len(ctx->group) ||
        (ctx->group == CRYPTO_GROUP_SECP256R1 && peer[0] != 0x04))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    /* Any share gives the same secret, so recorded handshakes replay. */
    memset(out, (int)(ctx->group & 0xff), 32);
    return 32;
}

/* ---- Signatures ---- */

#define NULL_SIG_LEN (2 + 32)

struct crypto_privkey {
    const crypto_backend *be; /* first: crypto_backend_of */
    bool rsa;
};

struct crypto_pubkey {
    const crypto_backend *be; /* first: crypto_backend_of */
    int unused;
};

static bool contains(const uint8_t *data, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(data + i, needle, n) == 0)
            return true;
    }
    return false;
}

static crypto_privkey *nl_privkey_parse(const quince_env *env, const uint8_t *data, size_t len)
{
    if (data == NULL || len == 0)
        return NULL;
    crypto_privkey *k = quince_env_alloc(env, sizeof(*k));
    if (k != NULL)
        k->be = &crypto_backend_null_table;
    if (k != NULL)
        k->rsa = contains(data, len, "RSA");
    return k;
}

static void nl_privkey_free(const quince_env *env, crypto_privkey *key)
{
    quince_env_free(env, key);
}

static bool nl_privkey_supports(const crypto_privkey *key, uint16_t scheme)
{
    if (key == NULL)
        return false;
    if (key->rsa)
        return scheme == CRYPTO_SIG_RSA_PSS_RSAE_SHA256 ||
               scheme == CRYPTO_SIG_RSA_PSS_RSAE_SHA384 || scheme == CRYPTO_SIG_RSA_PSS_RSAE_SHA512;
    return scheme == CRYPTO_SIG_ECDSA_SECP256R1_SHA256;
}

/* scheme (2 bytes) || hash(msg) */
static void null_sig(uint16_t scheme, const uint8_t *msg, size_t len, uint8_t sig[NULL_SIG_LEN])
{
    sig[0] = (uint8_t)(scheme >> 8);
    sig[1] = (uint8_t)scheme;
    nl_hash(CRYPTO_HASH_SHA256, msg, len, sig + 2);
}

static int nl_privkey_sign(const quince_env *env, crypto_privkey *key, uint16_t scheme,
                           const uint8_t *msg, size_t len, uint8_t *sig, size_t cap)
{
    (void)env;
    if (!nl_privkey_supports(key, scheme))
        return CRYPTO_ERR_UNSUPPORTED;
    if (cap < NULL_SIG_LEN)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    null_sig(scheme, msg, len, sig);
    return NULL_SIG_LEN;
}

static void nl_pubkey_free(const quince_env *env, crypto_pubkey *key)
{
    quince_env_free(env, key);
}

static int nl_pubkey_verify(crypto_pubkey *key, uint16_t scheme, const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t sig_len)
{
    if (key == NULL)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    switch (scheme) {
    case CRYPTO_SIG_ECDSA_SECP256R1_SHA256:
    case CRYPTO_SIG_ECDSA_SECP384R1_SHA384:
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA256:
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA384:
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA512:
    case CRYPTO_SIG_RSA_PKCS1_SHA256:
    case CRYPTO_SIG_RSA_PKCS1_SHA384:
    case CRYPTO_SIG_RSA_PKCS1_SHA512:
        break;
    default:
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    }
    uint8_t want[NULL_SIG_LEN];
    null_sig(scheme, msg, len, want);
    if (sig_len != NULL_SIG_LEN || memcmp(sig, want, NULL_SIG_LEN) != 0)
        return CRYPTO_ERR_DECRYPT_ERROR;
    return 0;
}

/* ---- X.509: any single DER SEQUENCE is a certificate ---- */

#define NULL_MAX_CHAIN 10

static bool der_sequence(const uint8_t *der, size_t len)
{
    if (der == NULL)
        return false;
    quince_reader r = quince_reader_init(der, len), v;
    uint8_t tag;
    return crypto_der_get(&r, &tag, &v) && tag == CRYPTO_DER_SEQUENCE && quince_reader_empty(&r);
}

struct crypto_x509_store {
    const crypto_backend *be; /* first: crypto_backend_of */
    size_t count;
};

static crypto_x509_store *nl_x509_store_new(const quince_env *env)
{
    crypto_x509_store *store = quince_env_calloc(env, sizeof(*store));
    if (store != NULL)
        store->be = &crypto_backend_null_table;
    return store;
}

static void nl_x509_store_free(const quince_env *env, crypto_x509_store *store)
{
    quince_env_free(env, store);
}

static int nl_x509_store_add(crypto_x509_store *store, const uint8_t *data, size_t len)
{
    if (store == NULL || data == NULL || len == 0)
        return CRYPTO_ERR_ARGUMENT;
    store->count++;
    return 0;
}

static int nl_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len,
                          crypto_pubkey **key)
{
    *key = NULL;
    if (!der_sequence(der, len))
        return CRYPTO_ERR_BAD_CERTIFICATE;
    *key = quince_env_calloc(env, sizeof(crypto_pubkey));
    if (*key == NULL)
        return CRYPTO_ERR_NOMEM;
    (*key)->be = &crypto_backend_null_table;
    return 0;
}

static int nl_x509_verify(const quince_env *env, const crypto_x509_store *store,
                          const uint8_t *const *certs, const size_t *cert_lens, size_t n_certs,
                          const char *host, int64_t now_unix, crypto_pubkey **leaf_key)
{
    (void)store;
    (void)host;
    (void)now_unix;
    if (leaf_key != NULL)
        *leaf_key = NULL;
    if (certs == NULL || cert_lens == NULL)
        return CRYPTO_ERR_ARGUMENT;
    if (n_certs == 0 || n_certs > NULL_MAX_CHAIN)
        return CRYPTO_ERR_BAD_CERTIFICATE;
    for (size_t i = 0; i < n_certs; i++) {
        if (!der_sequence(certs[i], cert_lens[i]))
            return CRYPTO_ERR_BAD_CERTIFICATE;
    }
    if (leaf_key != NULL)
        return nl_x509_pubkey(env, certs[0], cert_lens[0], leaf_key);
    return 0;
}

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode base64 between begin and end, skipping whitespace; NULL if malformed. */
static uint8_t *b64_decode(const quince_env *env, const uint8_t *p, const uint8_t *end,
                           size_t *out_len)
{
    uint8_t *out = quince_env_alloc(env, (size_t)(end - p) / 4 * 3 + 3);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; p < end; p++) {
        if (*p == '\r' || *p == '\n' || *p == ' ' || *p == '\t' || *p == '=')
            continue;
        int v = b64_value(*p);
        if (v < 0) {
            quince_env_free(env, out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = n;
    return out;
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end, const char *s)
{
    size_t n = strlen(s);
    for (; (size_t)(end - p) >= n; p++) {
        if (memcmp(p, s, n) == 0)
            return p;
    }
    return NULL;
}

static int nl_x509_parse_chain(const quince_env *env, const uint8_t *data, size_t len,
                               uint8_t ***ders, size_t **lens)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char endm[] = "-----END CERTIFICATE-----";
    *ders = NULL;
    *lens = NULL;
    if (data == NULL || len == 0)
        return CRYPTO_ERR_PARSE;
    uint8_t **d = quince_env_calloc(env, NULL_MAX_CHAIN * sizeof(*d));
    size_t *l = quince_env_calloc(env, NULL_MAX_CHAIN * sizeof(*l));
    size_t n = 0;
    int rc = d == NULL || l == NULL ? CRYPTO_ERR_NOMEM : 0;
    const uint8_t *p = data, *end = data + len;
    if (rc == 0 && find(p, end, begin) == NULL) {
        /* One DER certificate. */
        if (!der_sequence(data, len) || (d[0] = quince_env_alloc(env, len)) == NULL) {
            rc = der_sequence(data, len) ? CRYPTO_ERR_NOMEM : CRYPTO_ERR_PARSE;
        } else {
            memcpy(d[0], data, len);
            l[0] = len;
            n = 1;
        }
    }
    while (rc == 0 && (p = find(p, end, begin)) != NULL) {
        const uint8_t *body = p + sizeof(begin) - 1;
        const uint8_t *stop = find(body, end, endm);
        if (stop == NULL || n == NULL_MAX_CHAIN) {
            rc = CRYPTO_ERR_PARSE;
            break;
        }
        d[n] = b64_decode(env, body, stop, &l[n]);
        if (d[n] == NULL || !der_sequence(d[n], l[n])) {
            rc = CRYPTO_ERR_PARSE;
            n += d[n] != NULL;
            break;
        }
        n++;
        p = stop + sizeof(endm) - 1;
    }
    if (rc == 0 && n == 0)
        rc = CRYPTO_ERR_PARSE;
    if (rc != 0) {
        crypto_x509_der_free(env, d, l, n);
        return rc;
    }
    *ders = d;
    *lens = l;
    return (int)n;
}

static int nl_cert_generate(const quince_env *env, const crypto_cert_params *params, uint8_t **der,
                            size_t *der_len, uint8_t **key_der, size_t *key_der_len,
                            crypto_privkey **key)
{
    static const char ec_key[] = "null EC key";
    static const char rsa_key[] = "null RSA key";
    if (params == NULL || params->common_name == NULL || der == NULL || key_der == NULL)
        return CRYPTO_ERR_ARGUMENT;
    *der = NULL;
    *key_der = NULL;
    if (key != NULL)
        *key = NULL;
    /* SEQUENCE { UTF8String common_name }, short enough for one length octet. */
    size_t cn = strlen(params->common_name);
    if (cn > 120)
        return CRYPTO_ERR_ARGUMENT;
    const char *k = params->rsa_bits != 0 ? rsa_key : ec_key;
    size_t klen = strlen(k);
    uint8_t *c = quince_env_alloc(env, cn + 4);
    uint8_t *kd = quince_env_alloc(env, klen);
    crypto_privkey *pk = key != NULL ? nl_privkey_parse(env, (const uint8_t *)k, klen) : NULL;
    if (c == NULL || kd == NULL || (key != NULL && pk == NULL)) {
        quince_env_free(env, c);
        quince_env_free(env, kd);
        nl_privkey_free(env, pk);
        return CRYPTO_ERR_NOMEM;
    }
    c[0] = CRYPTO_DER_SEQUENCE;
    c[1] = (uint8_t)(cn + 2);
    c[2] = 0x0c; /* UTF8String */
    c[3] = (uint8_t)cn;
    memcpy(c + 4, params->common_name, cn);
    memcpy(kd, k, klen);
    *der = c;
    *der_len = cn + 4;
    *key_der = kd;
    *key_der_len = klen;
    if (key != NULL)
        *key = pk;
    return 0;
}

const crypto_backend crypto_backend_null_table = {
    .name = "null",
    .shared_new = nl_shared_new,
    .shared_free = nl_shared_free,
    .shared_groups_loaded = nl_shared_groups_loaded,
    .hash = nl_hash,
    .hash_new = nl_hash_new,
    .hash_update = nl_hash_update,
    .hash_peek = nl_hash_peek,
    .hash_free = nl_hash_free,
    .hmac = nl_hmac,
    .hkdf_extract = nl_hkdf_extract,
    .hkdf_expand = nl_hkdf_expand,
    .aead_new = nl_aead_new,
    .aead_free = nl_aead_free,
    .aead_seal = nl_aead_seal,
    .aead_open = nl_aead_open,
    .hp_new = nl_hp_new,
    .hp_free = nl_hp_free,
    .hp_mask = nl_hp_mask,
    .kex_new = nl_kex_new,
    .kex_free = nl_kex_free,
    .kex_public = nl_kex_public,
    .kex_derive = nl_kex_derive,
    .privkey_parse = nl_privkey_parse,
    .privkey_free = nl_privkey_free,
    .privkey_supports = nl_privkey_supports,
    .privkey_sign = nl_privkey_sign,
    .pubkey_free = nl_pubkey_free,
    .pubkey_verify = nl_pubkey_verify,
    .x509_store_new = nl_x509_store_new,
    .x509_store_add = nl_x509_store_add,
    .x509_store_free = nl_x509_store_free,
    .x509_verify = nl_x509_verify,
    .x509_pubkey = nl_x509_pubkey,
    .x509_parse_chain = nl_x509_parse_chain,
    .cert_generate = nl_cert_generate,
};
