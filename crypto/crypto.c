/* The public helpers of crypto/crypto.h that any backend shares: chains, short-lived certificates.
 */
#include "crypto/crypto.h"

#include <string.h>

#include "crypto/backend.h"
#include "crypto/tls.h"
#include "crypto/x509_check.h"

/* RFC 8446 §4.4.2 */
int crypto_cert_chain_parse(const quince_env *env, const uint8_t *data, size_t len,
                            crypto_cert_chain *chain)
{
    if (chain != NULL)
        memset(chain, 0, sizeof(*chain));
    if (env == NULL || data == NULL || chain == NULL)
        return CRYPTO_ERR_ARGUMENT;
    uint8_t **ders = NULL;
    size_t *lens = NULL;
    int n = crypto_x509_parse_chain(env, data, len, &ders, &lens);
    if (n < 0)
        return n;
    if (n == 0) {
        crypto_x509_der_free(env, ders, lens, 0);
        return CRYPTO_ERR_PARSE;
    }
    chain->certs = (const uint8_t *const *)ders;
    chain->lens = lens;
    chain->count = (size_t)n;
    return n;
}

/* (no RFC section) */
void crypto_cert_chain_free(const quince_env *env, crypto_cert_chain *chain)
{
    if (chain == NULL || chain->certs == NULL)
        return;
    /* The arrays came from crypto_x509_parse_chain, which hands them out mutable. */
    crypto_x509_der_free(env, (uint8_t **)(uintptr_t)chain->certs, (size_t *)(uintptr_t)chain->lens,
                         chain->count);
    memset(chain, 0, sizeof(*chain));
}

/* RFC 8446 §4.4.2 */
void crypto_tls_config_set_credentials(crypto_tls_config *config, const crypto_cert_chain *chain,
                                       crypto_privkey *key)
{
    config->cert_chain = chain->certs;
    config->cert_chain_lens = chain->lens;
    config->cert_chain_count = chain->count;
    config->private_key = key;
}

/* draft-ietf-webtrans-http3-02 §6.2 */
int crypto_short_lived_cert_generate(const quince_env *env, const char *dns_name,
                                     const char *ip_address, int64_t now_unix, unsigned days,
                                     crypto_short_lived_cert *out)
{
    if (out != NULL)
        memset(out, 0, sizeof(*out));
    uint8_t ip[16];
    if (env == NULL || out == NULL || days == 0 || days > CRYPTO_SHORT_LIVED_MAX_DAYS ||
        (dns_name == NULL && ip_address == NULL) || (dns_name != NULL && dns_name[0] == '\0') ||
        (ip_address != NULL && crypto_ip_parse(ip_address, strlen(ip_address), ip) == 0))
        return CRYPTO_ERR_ARGUMENT;
    crypto_cert_params p = {
        .common_name = dns_name != NULL ? dns_name : ip_address,
        .dns_name = dns_name,
        .ip_address = ip_address,
        .not_before_unix = now_unix - 3600,
        .not_after_unix = now_unix - 3600 + (int64_t)days * 86400,
    };
    int rc = crypto_cert_generate(env, &p, &out->der, &out->der_len, &out->key_der,
                                  &out->key_der_len, &out->key);
    if (rc < 0)
        goto fail;
    rc = crypto_hash(CRYPTO_HASH_SHA256, out->der, out->der_len, out->sha256);
    if (rc < 0)
        goto fail;
    uint8_t **certs = quince_env_alloc(env, sizeof(*certs));
    size_t *lens = quince_env_alloc(env, sizeof(*lens));
    if (certs == NULL || lens == NULL) {
        quince_env_free(env, certs);
        quince_env_free(env, lens);
        rc = CRYPTO_ERR_NOMEM;
        goto fail;
    }
    certs[0] = out->der;
    lens[0] = out->der_len;
    out->chain.certs = (const uint8_t *const *)certs;
    out->chain.lens = lens;
    out->chain.count = 1;
    return 0;
fail:
    crypto_short_lived_cert_free(env, out);
    return rc;
}

/* (no RFC section) */
void crypto_short_lived_cert_free(const quince_env *env, crypto_short_lived_cert *c)
{
    if (c == NULL)
        return;
    /* The chain's arrays point at der; only the arrays are the chain's own. */
    quince_env_free(env, (void *)(uintptr_t)c->chain.certs);
    quince_env_free(env, (void *)(uintptr_t)c->chain.lens);
    quince_env_free(env, c->der);
    quince_env_free(env, c->key_der);
    crypto_privkey_free(env, c->key);
    memset(c, 0, sizeof(*c));
}

/* RFC 8446 §4.4.3: the CertificateVerify a mismatched key makes never verifies; find out at start. */
QUINCE_API int crypto_cert_key_match(const quince_env *env, const crypto_cert_chain *chain,
                                     crypto_privkey *key)
{
    if (env == NULL || chain == NULL || key == NULL || chain->count == 0)
        return CRYPTO_ERR_ARGUMENT;
    static const uint16_t schemes[] = {CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                       CRYPTO_SIG_ECDSA_SECP384R1_SHA384,
                                       CRYPTO_SIG_RSA_PSS_RSAE_SHA256};
    uint16_t scheme = 0;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]) && scheme == 0; i++)
        if (crypto_privkey_supports(key, schemes[i]))
            scheme = schemes[i];
    if (scheme == 0)
        return CRYPTO_ERR_UNSUPPORTED;
    crypto_pubkey *pub = NULL;
    int rc = crypto_x509_pubkey(env, chain->certs[0], chain->lens[0], &pub);
    if (rc < 0 || pub == NULL)
        return CRYPTO_ERR_PARSE;
    static const uint8_t msg[] = "quince: does this key belong to this certificate?";
    uint8_t sig[CRYPTO_SIG_MAX_LEN];
    int n = crypto_privkey_sign(env, key, scheme, msg, sizeof(msg), sig, sizeof(sig));
    if (n < 0)
        rc = n;
    else
        rc = crypto_pubkey_verify(pub, scheme, msg, sizeof(msg), sig, (size_t)n) == 0
                 ? CRYPTO_OK
                 : CRYPTO_ERR_DECRYPT_ERROR;
    crypto_pubkey_free(env, pub);
    return rc;
}

/* (no RFC section) */
void *crypto_heap_calloc(const quince_env *env, size_t n, size_t size)
{
    if (env == NULL || (size != 0 && n > SIZE_MAX / size))
        return NULL;
    size_t bytes = n * size;
    return quince_env_calloc(env, bytes > 0 ? bytes : 1);
}

/* (no RFC section) */
void crypto_heap_free(const quince_env *env, void *p)
{
    if (env != NULL)
        quince_env_free(env, p);
}
