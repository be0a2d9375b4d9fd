/* The backend table: which backends are built, the default one, and the calls that dispatch. */
#include "crypto/backend.h"

#include <stdlib.h>
#include <string.h>

#include "quince_config.h"

/* More than one backend built: the default is chosen at run time and remembered. */
#define CRYPTO_SEVERAL_BACKENDS                                                                    \
    (QUINCE_CRYPTO_MBEDTLS + QUINCE_CRYPTO_OPENSSL + QUINCE_CRYPTO_NULL > 1)
#if CRYPTO_SEVERAL_BACKENDS && !defined(__STDC_NO_THREADS__)
#include <threads.h>
#endif

#include "crypto/x509_check.h"

/* In the order of preference for the default: the reference first. */
static const crypto_backend *const built[] = {
#if QUINCE_CRYPTO_MBEDTLS
    &crypto_backend_mbedtls_table,
#endif
#if QUINCE_CRYPTO_OPENSSL
    &crypto_backend_openssl_table,
#endif
#if QUINCE_CRYPTO_NULL
    &crypto_backend_null_table,
#endif
};

#define N_BUILT (sizeof(built) / sizeof(built[0]))

/* (no RFC section) */
const crypto_backend *crypto_backend_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < N_BUILT; i++) {
        if (strcmp(built[i]->name, name) == 0)
            return built[i];
    }
    return NULL;
}

/* (no RFC section) */
const char *crypto_backends_built(void)
{
    return QUINCE_CRYPTO_BACKENDS;
}

#if CRYPTO_SEVERAL_BACKENDS
/*
 * The default: chosen once, from QUINCE_CRYPTO or the first built, unless
 * crypto_backend_select set it before. The choice is made once under
 * call_once (where the C library has <threads.h>), so that threads starting
 * connections together agree; crypto_backend_select is for the start of main.
 * This pointer and its once-flag are the only process-wide state of the core
 * (tests/stack/check_nm.py allows exactly them), and only in a build with
 * several backends: a build with one (the embedded configuration) has none.
 */
static const crypto_backend *g_default;

static void choose_default(void)
{
    if (g_default != NULL)
        return;
    const char *want = getenv("QUINCE_CRYPTO");
    const crypto_backend *be = want != NULL && want[0] != '\0' ? crypto_backend_find(want) : NULL;
    g_default = be != NULL ? be : built[0];
}

#ifndef __STDC_NO_THREADS__
static once_flag g_once = ONCE_FLAG_INIT;
#define CHOOSE_ONCE() call_once(&g_once, choose_default)
#else
#define CHOOSE_ONCE() choose_default()
#endif

const crypto_backend *crypto_backend_default(void)
{
    CHOOSE_ONCE();
    return g_default;
}

/* (no RFC section) */
int crypto_backend_select(const char *name)
{
    const crypto_backend *be = crypto_backend_find(name);
    if (be == NULL)
        return CRYPTO_ERR_UNSUPPORTED;
    CHOOSE_ONCE();
    g_default = be;
    return 0;
}
#else
/* One backend built: it is the default, with nothing to remember. */
const crypto_backend *crypto_backend_default(void)
{
    return built[0];
}

/* (no RFC section) */
int crypto_backend_select(const char *name)
{
    return crypto_backend_find(name) != NULL ? 0 : CRYPTO_ERR_UNSUPPORTED;
}
#endif

/* (no RFC section) */
const char *crypto_backend_default_name(void)
{
    return crypto_backend_default()->name;
}

const char *crypto_backend_name(void)
{
    return crypto_backend_default()->name;
}

/* (no RFC section) */
crypto_shared *crypto_shared_new(const quince_env *env)
{
    return env != NULL ? crypto_backend_default()->shared_new(env) : NULL;
}

/* (no RFC section) */
void crypto_shared_free(const quince_env *env, crypto_shared *s)
{
    if (s != NULL)
        crypto_backend_of(s)->shared_free(env, s);
}

size_t crypto_shared_groups_loaded(const crypto_shared *s)
{
    return s != NULL ? crypto_backend_of(s)->shared_groups_loaded(s) : 0;
}

/* ---- What every backend shares ---- */

/* (no RFC section) */
size_t crypto_hash_len(crypto_hash_alg alg)
{
    switch (alg) {
    case CRYPTO_HASH_SHA256:
        return 32;
    case CRYPTO_HASH_SHA384:
        return 48;
    }
    return 0;
}

size_t crypto_aead_key_len(crypto_aead_alg alg)
{
    switch (alg) {
    case CRYPTO_AEAD_AES_128_GCM:
        return 16;
    case CRYPTO_AEAD_AES_256_GCM:
    case CRYPTO_AEAD_CHACHA20_POLY1305:
        return 32;
    }
    return 0;
}

/* (no RFC section) */
void crypto_x509_der_free(const quince_env *env, uint8_t **ders, size_t *lens, size_t n)
{
    if (ders != NULL) {
        for (size_t i = 0; i < n; i++)
            quince_env_free(env, ders[i]);
    }
    quince_env_free(env, ders);
    quince_env_free(env, lens);
}

/* RFC 5280 §4.1.2.7 */
int crypto_x509_spki_sha256(const uint8_t *der, size_t len, uint8_t out[32])
{
    crypto_x509_info info;
    if (crypto_x509_info_parse(der, len, &info) != 0)
        return CRYPTO_ERR_PARSE;
    return crypto_hash(CRYPTO_HASH_SHA256, info.spki.p, quince_reader_left(&info.spki), out);
}

/* One INTEGER's magnitude: the sign octet DER adds before a high bit dropped. */
static bool sig_integer(quince_reader *r, const uint8_t **p, size_t *len)
{
    uint8_t tag;
    quince_reader v;
    if (!crypto_der_get(r, &tag, &v) || tag != CRYPTO_DER_INTEGER)
        return false;
    size_t n = quince_reader_left(&v);
    const uint8_t *b = v.p;
    /* X.690 §8.3.2: minimal (no redundant leading octet); X.690 §8.3.3: positive. */
    if (n == 0 || (b[0] & 0x80) != 0 || (n > 1 && b[0] == 0 && (b[1] & 0x80) == 0))
        return false;
    if (b[0] == 0) {
        b++;
        n--;
    }
    if (n == 0 || n > 66)
        return false;
    *p = b;
    *len = n;
    return true;
}

bool crypto_ecdsa_sig_parse(const uint8_t *sig, size_t sig_len, const uint8_t **r, size_t *r_len,
                            const uint8_t **s, size_t *s_len)
{
    if (sig == NULL)
        return false;
    quince_reader in = quince_reader_init(sig, sig_len), seq;
    uint8_t tag;
    return crypto_der_get(&in, &tag, &seq) && tag == CRYPTO_DER_SEQUENCE &&
           quince_reader_left(&in) == 0 && sig_integer(&seq, r, r_len) &&
           sig_integer(&seq, s, s_len) && quince_reader_left(&seq) == 0;
}

/* ---- Dispatch: new objects from the default backend, the rest to their own ---- */

/* (no RFC section) */
int crypto_hash(crypto_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out)
{
    return crypto_backend_default()->hash(alg, in, len, out);
}

crypto_hash_ctx *crypto_hash_new(const quince_env *env, crypto_hash_alg alg)
{
    return crypto_backend_default()->hash_new(env, alg);
}

int crypto_hash_update(crypto_hash_ctx *ctx, const uint8_t *in, size_t len)
{
    return crypto_backend_of(ctx)->hash_update(ctx, in, len);
}

int crypto_hash_peek(const crypto_hash_ctx *ctx, uint8_t *out)
{
    return crypto_backend_of(ctx)->hash_peek(ctx, out);
}

void crypto_hash_free(const quince_env *env, crypto_hash_ctx *ctx)
{
    if (ctx != NULL)
        crypto_backend_of(ctx)->hash_free(env, ctx);
}

int crypto_hmac(crypto_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *in,
                size_t len, uint8_t *out)
{
    return crypto_backend_default()->hmac(alg, key, key_len, in, len, out);
}

int crypto_hkdf_extract(crypto_hash_alg alg, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out)
{
    return crypto_backend_default()->hkdf_extract(alg, salt, salt_len, ikm, ikm_len, prk_out);
}

int crypto_hkdf_expand(crypto_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len)
{
    return crypto_backend_default()->hkdf_expand(alg, prk, prk_len, info, info_len, out, out_len);
}

crypto_aead *crypto_aead_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key)
{
    return crypto_backend_default()->aead_new(env, alg, key);
}

void crypto_aead_free(const quince_env *env, crypto_aead *ctx)
{
    if (ctx != NULL)
        crypto_backend_of(ctx)->aead_free(env, ctx);
}

int crypto_aead_seal(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                     uint8_t *out)
{
    return crypto_backend_of(ctx)->aead_seal(ctx, nonce, aad, aad_len, in, len, out);
}

int crypto_aead_open(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                     uint8_t *out)
{
    return crypto_backend_of(ctx)->aead_open(ctx, nonce, aad, aad_len, in, len, out);
}

crypto_hp *crypto_hp_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key)
{
    return crypto_backend_default()->hp_new(env, alg, key);
}

void crypto_hp_free(const quince_env *env, crypto_hp *ctx)
{
    if (ctx != NULL)
        crypto_backend_of(ctx)->hp_free(env, ctx);
}

int crypto_hp_mask(crypto_hp *ctx, const uint8_t sample[16], uint8_t mask[5])
{
    return crypto_backend_of(ctx)->hp_mask(ctx, sample, mask);
}

crypto_kex *crypto_kex_new(const quince_env *env, uint16_t group)
{
    return crypto_backend_default()->kex_new(env, group);
}

void crypto_kex_free(const quince_env *env, crypto_kex *ctx)
{
    if (ctx != NULL)
        crypto_backend_of(ctx)->kex_free(env, ctx);
}

int crypto_kex_public(const crypto_kex *ctx, uint8_t *out, size_t cap)
{
    return crypto_backend_of(ctx)->kex_public(ctx, out, cap);
}

int crypto_kex_derive(crypto_kex *ctx, const uint8_t *peer, size_t peer_len, uint8_t *out,
                      size_t cap)
{
    return crypto_backend_of(ctx)->kex_derive(ctx, peer, peer_len, out, cap);
}

/* (no RFC section) */
crypto_privkey *crypto_privkey_parse(const quince_env *env, const uint8_t *data, size_t len)
{
    return crypto_backend_default()->privkey_parse(env, data, len);
}

/* (no RFC section) */
void crypto_privkey_free(const quince_env *env, crypto_privkey *key)
{
    if (key != NULL)
        crypto_backend_of(key)->privkey_free(env, key);
}

bool crypto_privkey_supports(const crypto_privkey *key, uint16_t scheme)
{
    return key != NULL && crypto_backend_of(key)->privkey_supports(key, scheme);
}

int crypto_privkey_sign(const quince_env *env, crypto_privkey *key, uint16_t scheme,
                        const uint8_t *msg, size_t len, uint8_t *sig, size_t cap)
{
    if (key == NULL)
        return CRYPTO_ERR_UNSUPPORTED;
    return crypto_backend_of(key)->privkey_sign(env, key, scheme, msg, len, sig, cap);
}

void crypto_pubkey_free(const quince_env *env, crypto_pubkey *key)
{
    if (key != NULL)
        crypto_backend_of(key)->pubkey_free(env, key);
}

int crypto_pubkey_verify(crypto_pubkey *key, uint16_t scheme, const uint8_t *msg, size_t len,
                         const uint8_t *sig, size_t sig_len)
{
    if (key == NULL)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    return crypto_backend_of(key)->pubkey_verify(key, scheme, msg, len, sig, sig_len);
}

/* (no RFC section) */
crypto_x509_store *crypto_x509_store_new(const quince_env *env)
{
    return crypto_backend_default()->x509_store_new(env);
}

/* RFC 5280 §6 */
int crypto_x509_store_add(crypto_x509_store *store, const uint8_t *data, size_t len)
{
    if (store == NULL)
        return CRYPTO_ERR_ARGUMENT;
    return crypto_backend_of(store)->x509_store_add(store, data, len);
}

/* (no RFC section) */
void crypto_x509_store_free(const quince_env *env, crypto_x509_store *store)
{
    if (store != NULL)
        crypto_backend_of(store)->x509_store_free(env, store);
}

int crypto_x509_verify(const quince_env *env, const crypto_x509_store *store,
                       const uint8_t *const *certs, const size_t *cert_lens, size_t n_certs,
                       const char *host, int64_t now_unix, crypto_pubkey **leaf_key)
{
    if (store == NULL) {
        if (leaf_key != NULL)
            *leaf_key = NULL;
        return CRYPTO_ERR_ARGUMENT;
    }
    return crypto_backend_of(store)->x509_verify(env, store, certs, cert_lens, n_certs, host,
                                                 now_unix, leaf_key);
}

int crypto_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len, crypto_pubkey **key)
{
    return crypto_backend_default()->x509_pubkey(env, der, len, key);
}

/* RFC 7468 §5 */
int crypto_x509_parse_chain(const quince_env *env, const uint8_t *data, size_t len, uint8_t ***ders,
                            size_t **lens)
{
    return crypto_backend_default()->x509_parse_chain(env, data, len, ders, lens);
}

/* RFC 5280 §4.1 */
int crypto_cert_generate(const quince_env *env, const crypto_cert_params *params, uint8_t **der,
                         size_t *der_len, uint8_t **key_der, size_t *key_der_len,
                         crypto_privkey **key)
{
    /* A certificate is signed by its issuer's backend. */
    const crypto_backend *be = params != NULL && params->issuer_key != NULL
                                   ? crypto_backend_of(params->issuer_key)
                                   : crypto_backend_default();
    return be->cert_generate(env, params, der, der_len, key_der, key_der_len, key);
}
