/* Shared by the fuzz targets that run a TLS server: one generated ECDSA certificate, made
 * once per process with a fixed seed so that every run sees the same key. */
#ifndef FUZZ_FUZZ_CERT_H
#define FUZZ_FUZZ_CERT_H

#include <stdbool.h>

#include "crypto/crypto.h"
#include "fuzz_env.h"

static uint8_t *g_cert, *g_key_der;
static size_t g_cert_len, g_key_len;
static crypto_privkey *g_key;
static const uint8_t *g_chain[1];
static size_t g_chain_len[1];

/* The certificate for localhost (g_chain, g_chain_len, g_key); false if it cannot be made. */
static inline bool fuzz_cert_once(void)
{
    if (g_key != NULL)
        return true;
    *fuzz_rng() = 0x5eed;
    crypto_cert_params p = {.common_name = "localhost",
                            .dns_name = "localhost",
                            .not_before_unix = 1700000000,
                            .not_after_unix = 1800000000};
    if (crypto_cert_generate(fuzz_env(), &p, &g_cert, &g_cert_len, &g_key_der, &g_key_len,
                             &g_key) != 0)
        return false;
    g_chain[0] = g_cert;
    g_chain_len[0] = g_cert_len;
    return true;
}

#endif
