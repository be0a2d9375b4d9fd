/* libFuzzer target: a client TLS 1.3 engine after crypto_tls_start, fed server messages. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "crypto/backend.h"
#include "crypto/tls.h"
#include "fuzz_env.h"
#include "fuzz_tls_common.h"

/*
 * Input framing, repeated: level (1 byte, taken mod 4), length (2 bytes,
 * big-endian; cut to what is left), that many handshake bytes, handed to
 * crypto_tls_recv at that level. Bit 7 of the very first byte selects a QUIC
 * client (transport parameters configured and required from the server);
 * without it the client speaks TLS over TCP, as the OpenSSL flights in the
 * corpus do. The certificate is checked in insecure mode (the signature is
 * still verified), so that the fuzzer reaches CertificateVerify and Finished.
 */

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
    crypto_tls *tls = fuzz_tls_new(&cfg, 0xc1e47);
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
