/* libFuzzer target: NEW_TOKEN tokens (RFC 9000 §8.1.3) presented to a server endpoint. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quince_config.h"

#include "fuzz_env.h"
#include "quic/endpoint.h"
#include "quic/quic.h"

/*
 * The input is the token of a client's Initial, checked as a NEW_TOKEN token
 * and as a Retry token for one address; the first byte also picks the
 * address family. Only a token this endpoint made may pass: the target
 * checks that one it makes does, for its address and not another's.
 */

static quic_endpoint *g_ep;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_ep == NULL) {
        quic_config cfg = {.is_server = true, .retry = true, .new_tokens = true};
        *fuzz_rng() = 0x70c3;
        g_ep = quic_endpoint_new(fuzz_env(), &cfg); /* kept for the process's life */
        if (g_ep == NULL)
            abort();
    }
    quic_addr a;
    memset(&a, 0, sizeof(a));
    a.family = size > 0 && (data[0] & 1) ? 6 : 4;
    a.ip[0] = 192;
    a.ip[3] = 7;
    a.port = 5555;
    uint64_t now = 1000000;
    int ok = quic_endpoint_check_new_token(g_ep, &a, data, size, now);
    quic_cid_value od, rs;
    int retry_ok = quic_endpoint_check_token(g_ep, &a, data, size, now, &od, &rs);
    /* Nobody forges a token: what passes was made here (the corpus has none).
     * The null backend's AEAD takes any all-zero tag: no such promise there. */
    if (!QUINCE_CRYPTO_NULL && (ok == QUIC_OK || retry_ok == QUIC_OK))
        abort();
    uint8_t tok[QUIC_NEW_TOKEN_LEN];
    int n = quic_endpoint_make_new_token(g_ep, &a, now, tok, sizeof(tok));
    quic_addr b = a;
    b.ip[3] ^= 1;
    if (n != QUIC_NEW_TOKEN_LEN ||
        quic_endpoint_check_new_token(g_ep, &a, tok, (size_t)n, now + 1) != QUIC_OK ||
        (!QUINCE_CRYPTO_NULL &&
         quic_endpoint_check_new_token(g_ep, &b, tok, (size_t)n, now + 1) == QUIC_OK))
        abort();
    return 0;
}
