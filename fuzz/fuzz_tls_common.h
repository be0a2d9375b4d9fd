/* Shared by the TLS fuzz targets: crypto_tls callbacks that drop output and secrets. */
#ifndef FUZZ_FUZZ_TLS_COMMON_H
#define FUZZ_FUZZ_TLS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/tls.h"
#include "fuzz_env.h"

/* Handshake bytes the engine sends go nowhere: the peer is the input. */
static inline int fuzz_tls_send(void *user, crypto_level level, const uint8_t *data, size_t len)
{
    (void)user;
    (void)level;
    (void)data;
    (void)len;
    return 0;
}

static inline int fuzz_tls_set_secret(void *user, crypto_level level, bool is_write,
                                      const crypto_suite *suite, const uint8_t *secret, size_t len)
{
    (void)user;
    (void)level;
    (void)is_write;
    (void)suite;
    (void)secret;
    (void)len;
    return 0;
}

/* Reject a parameter block that starts with 0xff to reach the engine's
 * callback-failure path too. */
static inline int fuzz_tls_transport_params(void *user, const uint8_t *data, size_t len,
                                            uint8_t *alert)
{
    (void)user;
    (void)alert;
    return len > 0 && data[0] == 0xff ? CRYPTO_ERR_ILLEGAL_PARAMETER : 0;
}

/* An engine on fuzz_env() with the callbacks above, its random stream set to
 * seed first so that every run of an input is the same run. */
static inline crypto_tls *fuzz_tls_new(const crypto_tls_config *cfg, uint64_t seed)
{
    crypto_tls_callbacks cbs = {
        .send = fuzz_tls_send,
        .set_secret = fuzz_tls_set_secret,
        .peer_transport_params = fuzz_tls_transport_params,
    };
    *fuzz_rng() = seed;
    return crypto_tls_new(fuzz_env(), cfg, &cbs);
}

#endif
