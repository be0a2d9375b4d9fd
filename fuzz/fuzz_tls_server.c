/* libFuzzer target: a server TLS 1.3 engine (RFC 8446) through the whole handshake, fed client
 * messages at every level. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "crypto/tls.h"
#include "fuzz_cert.h"
#include "fuzz_env.h"
#include "fuzz_tls_common.h"

/*
 * Input framing, repeated: level (1 byte, taken mod 4), length (2 bytes, big-endian; cut to
 * what is left), that many handshake bytes, handed to crypto_tls_recv at that level (as
 * fuzz_tls_client). Bit 7 of the very first byte selects a QUIC server (transport parameters
 * configured and required from the client), otherwise TLS over TCP. Unlike
 * fuzz_tls_client_hello, the seeds go past the ClientHello: they are a real client's whole
 * flights (ClientHello, then Finished at the handshake level; with a HelloRetryRequest, the
 * second ClientHello), recorded against this server with the same random stream so that the
 * Finished MACs verify (build with -DQUINCE_FUZZ_GEN: scripts/fuzz_corpus.sh). With
 * -Dcrypto=null the key exchange is cheap and the fuzzer reaches the post-handshake paths.
 */

static const char *const g_alpn[] = {"h3", "hq-interop", NULL};
static const uint8_t g_tp[] = {0x01, 0x02, 0x67, 0x10, 0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static crypto_tls_config server_config(bool quic, const uint16_t *groups)
{
    crypto_tls_config cfg = {
        .is_server = true,
        .alpn = g_alpn,
        .cert_chain = g_chain,
        .cert_chain_lens = g_chain_len,
        .cert_chain_count = 1,
        .private_key = g_key,
        .groups = groups,
        .transport_params = quic ? g_tp : NULL,
        .transport_params_len = quic ? sizeof(g_tp) : 0,
    };
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_cert_once() || size == 0)
        return 0;
    bool quic = (data[0] & 0x80) != 0;
    /* Bit 6: P-256 only, so that a client's X25519 key share gets a HelloRetryRequest. */
    static const uint16_t p256_only[] = {0x0017, 0};
    crypto_tls_config cfg = server_config(quic, (data[0] & 0x40) ? p256_only : NULL);
    crypto_tls *tls = fuzz_tls_new(&cfg, 0x5e7e7);
    if (tls == NULL)
        return 0;
    size_t off = 1;
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
    (void)crypto_tls_server_name(tls);
    (void)crypto_tls_used_hrr(tls);
    if (crypto_tls_handshake_done(tls)) {
        uint8_t out[32];
        (void)crypto_tls_export(tls, "EXPORTER-fuzz", NULL, 0, out, sizeof(out));
    }
    crypto_tls_free(tls);
    return 0;
}

#ifdef QUINCE_FUZZ_GEN
/* Seed generator: our client engine against this server, recording the client's messages. */
typedef struct side {
    crypto_tls *tls;
    uint8_t q[1 << 16]; /* what it sent and the peer has not had yet: level, len, bytes */
    size_t qlen;
} side;

static int gen_send(void *user, crypto_level level, const uint8_t *d, size_t len)
{
    side *s = user;
    if (s->qlen + 3 + len > sizeof(s->q))
        return -1;
    s->q[s->qlen++] = (uint8_t)level;
    s->q[s->qlen++] = (uint8_t)(len >> 8);
    s->q[s->qlen++] = (uint8_t)len;
    memcpy(s->q + s->qlen, d, len);
    s->qlen += len;
    return 0;
}

/* Hand what from queued to its peer; rec (if not NULL) keeps a copy. */
static bool deliver(side *from, side *to, uint8_t *rec, size_t *rec_len)
{
    if (from->qlen == 0)
        return false;
    static uint8_t q[1 << 16];
    size_t n = from->qlen;
    memcpy(q, from->q, n);
    from->qlen = 0;
    if (rec != NULL) {
        memcpy(rec + *rec_len, q, n);
        *rec_len += n;
    }
    for (size_t off = 0; off + 3 <= n;) {
        size_t len = (size_t)q[off + 1] << 8 | q[off + 2];
        crypto_tls_recv(to->tls, (crypto_level)q[off], q + off + 3, len);
        off += 3 + len;
    }
    return true;
}

static void gen(const char *dir, const char *name, bool quic, bool hrr)
{
    static uint8_t rec[1 << 16];
    size_t rec_len = 1;
    rec[0] = (uint8_t)((quic ? 0x80 : 0) | (hrr ? 0x40 : 0));
    static const uint16_t p256_only[] = {0x0017, 0};
    static const char *const calpn[] = {"h3", NULL};
    static side cs, ss;
    memset(&cs, 0, sizeof(cs));
    memset(&ss, 0, sizeof(ss));
    crypto_tls_callbacks ccb = {.user = &cs,
                                .send = gen_send,
                                .set_secret = fuzz_tls_set_secret,
                                .peer_transport_params = fuzz_tls_transport_params};
    crypto_tls_callbacks scb = ccb;
    scb.user = &ss;
    crypto_tls_config scfg = server_config(quic, hrr ? p256_only : NULL);
    crypto_tls_config ccfg = {.alpn = calpn,
                              .server_name = "localhost",
                              .verify_mode = CRYPTO_VERIFY_INSECURE,
                              .transport_params = quic ? g_tp : NULL,
                              .transport_params_len = quic ? sizeof(g_tp) : 0};
    uint64_t crng = 0xc1e47;
    quince_env cenv = *fuzz_env();
    cenv.user = &crng;
    *fuzz_rng() = 0x5e7e7; /* the server's stream, as in LLVMFuzzerTestOneInput */
    ss.tls = crypto_tls_new(fuzz_env(), &scfg, &scb);
    cs.tls = crypto_tls_new(&cenv, &ccfg, &ccb);
    if (ss.tls == NULL || cs.tls == NULL || crypto_tls_start(cs.tls) != 0)
        exit(1);
    for (int i = 0; i < 10; i++) {
        bool a = deliver(&cs, &ss, rec, &rec_len);
        bool b = deliver(&ss, &cs, NULL, NULL);
        if (!a && !b)
            break;
    }
    fprintf(stderr, "%s: %zu bytes, client done %d, server done %d, hrr %d\n", name, rec_len,
            crypto_tls_handshake_done(cs.tls), crypto_tls_handshake_done(ss.tls),
            crypto_tls_used_hrr(ss.tls));
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(rec, 1, rec_len, f) != rec_len)
        exit(1);
    fclose(f);
    crypto_tls_free(cs.tls);
    crypto_tls_free(ss.tls);
}

int main(int argc, char **argv)
{
    if (argc != 2 || !fuzz_cert_once())
        return 2;
    gen(argv[1], "client_quic_full_null.bin", true, false);
    gen(argv[1], "client_tcp_full_null.bin", false, false);
    gen(argv[1], "client_quic_hrr_full_null.bin", true, true);
    return 0;
}
#endif
