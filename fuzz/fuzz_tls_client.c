/* libFuzzer target: a client TLS 1.3 engine after crypto_tls_start, fed server messages. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "crypto/backend.h"
#include "crypto/tls.h"

/*
 * Input framing, repeated: level (1 byte, taken mod 4), length (2 bytes,
 * big-endian; cut to what is left), that many handshake bytes, handed to
 * crypto_tls_recv at that level. Bit 7 of the very first byte selects a QUIC
 * client (transport parameters configured and required from the server);
 * without it the client speaks TLS over TCP, as the OpenSSL flights in the
 * corpus do. The certificate is checked in insecure mode (the signature is
 * still verified), so that the fuzzer reaches CertificateVerify and Finished.
 */

/* A quic_env on malloc with a deterministic random stream, reset per input
 * so that every run of an input is the same run. No wall clock. */
static uint64_t g_rng;

static void *f_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size != 0 ? size : 1);
}

static void *f_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    return realloc(ptr, size != 0 ? size : 1);
}

static void f_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static void f_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++) {
        uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        buf[i] = (uint8_t)(z ^ (z >> 31));
    }
}

static const quic_env g_env = {
    .alloc = f_alloc,
    .realloc = f_realloc,
    .free = f_free,
    .random = f_random,
};

static int cb_send(void *user, crypto_level level, const uint8_t *data, size_t len)
{
    (void)user;
    (void)level;
    (void)data;
    (void)len;
    return 0;
}

static int cb_set_secret(void *user, crypto_level level, bool is_write, const crypto_suite *suite,
                         const uint8_t *secret, size_t len)
{
    (void)user;
    (void)level;
    (void)is_write;
    (void)suite;
    (void)secret;
    (void)len;
    return 0;
}

static int cb_transport_params(void *user, const uint8_t *data, size_t len, uint8_t *alert)
{
    (void)user;
    (void)alert;
    return len > 0 && data[0] == 0xff ? CRYPTO_ERR_ILLEGAL_PARAMETER : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const alpn[] = {"hq-interop", "h3", NULL};
    static const uint8_t tp[] = {0x01, 0x02, 0x67, 0x10, 0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
    bool quic = size > 0 && (data[0] & 0x80) != 0;
    crypto_tls_config cfg = {
        .is_server = false,
        .alpn = alpn,
        .server_name = "localhost",
        .verify_mode = CRYPTO_VERIFY_INSECURE,
        .transport_params = quic ? tp : NULL,
        .transport_params_len = quic ? sizeof(tp) : 0,
    };
    crypto_tls_callbacks cbs = {
        .send = cb_send,
        .set_secret = cb_set_secret,
        .peer_transport_params = cb_transport_params,
    };
    g_rng = 0xc1e47;
    crypto_tls *tls = crypto_tls_new(&g_env, &cfg, &cbs);
    if (tls == NULL)
        return 0;
    if (crypto_tls_start(tls) != 0) {
        crypto_tls_free(tls);
        return 0;
    }
    size_t off = 0;
    while (size - off >= 3) {
        crypto_level level = (crypto_level)(data[off] & 3);
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        int rc = crypto_tls_recv(tls, level, data + off, len);
        off += len;
        if (rc != 0)
            break;
    }
    (void)crypto_tls_handshake_done(tls);
    (void)crypto_tls_alert(tls);
    (void)crypto_tls_alpn(tls);
    (void)crypto_tls_suite(tls);
    (void)crypto_tls_group(tls);
    (void)crypto_tls_used_hrr(tls);
    crypto_tls_free(tls);
    return 0;
}
