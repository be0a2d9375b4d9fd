/* libFuzzer target: a QUIC server endpoint (RFC 9000 §5.2, §6, §8.1, §10.3): demultiplexing,
 * Version Negotiation, Retry tokens, stateless resets, half-open limits and rate limits. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "quic/quic.h"
#include "fuzz_cert.h"
#include "fuzz_env.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

/*
 * Input, repeated: a control byte, a length (2 bytes, big-endian; cut to what is left) and
 * that many bytes. Control bit 7 set: time passes (len milliseconds, no datagram) and the
 * endpoint's timers run; otherwise the bytes are one datagram from client address number
 * (control & 7) on IP number ((control >> 3) & 3). After each step everything the endpoint
 * sends is counted and dropped. Small limits (2 half-open before Retry, 4 in all, 3 per
 * address, 5 resets and 5 VN a second) let short inputs reach every branch; the checks are
 * that those limits hold. With -Dcrypto=null Initials and Retry tokens can be written by
 * the fuzzer; seeds: a client Initial, one with a token, an unknown version, short headers.
 */

static const char *const g_alpn[] = {"h3", NULL};
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_cert_once())
        return 0;
    *fuzz_rng() = 0xe4d;
    quic_config cfg = {0};
    cfg.is_server = true;
    cfg.tls.alpn = g_alpn;
    cfg.tls.cert_chain = g_chain;
    cfg.tls.cert_chain_lens = g_chain_len;
    cfg.tls.cert_chain_count = 1;
    cfg.tls.private_key = g_key;
    cfg.retry_threshold = 2;
    cfg.max_half_open = 4;
    cfg.max_half_open_per_addr = 3;
    cfg.max_connections = 6;
    cfg.stateless_reset_rate = 5;
    cfg.vn_rate = 5;
    cfg.max_conn_memory = 256 * 1024;
    memset(cfg.reset_key, 0x42, sizeof(cfg.reset_key));
    quic_endpoint *ep = quic_endpoint_new(fuzz_env(), &cfg);
    if (ep == NULL)
        return 0;
    uint64_t start = 1000000, now = start;
    size_t off = 0;
    uint8_t buf[1500];
    while (size - off >= 3) {
        uint8_t ctl = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (ctl & 0x80) {
            now += (uint64_t)len * 1000;
            quic_endpoint_on_timeout(ep, now);
        } else {
            if (len > size - off)
                len = size - off;
            quic_addr from = {.family = 4, .port = (uint16_t)(4000 + (ctl & 7))};
            from.ip[0] = 10;
            from.ip[3] = (uint8_t)((ctl >> 3) & 3);
            quic_addr to = {.family = 4, .port = 443};
            quic_endpoint_recv(ep, &from, &to, data + off, len, now);
            off += len;
        }
        quic_addr dest;
        for (int i = 0; i < 256 && quic_endpoint_send(ep, &dest, buf, sizeof(buf), now) > 0; i++)
            ;
        const quic_endpoint_stats *st = quic_endpoint_get_stats(ep);
        CHECK(quic_endpoint_conn_count(ep) <= cfg.max_connections);
        CHECK(st->half_open <= cfg.max_half_open);
        /* A bucket of 5, refilled at 5 a second. */
        uint64_t allowed = 5 + (now - start) * 5 / 1000000;
        CHECK(st->stateless_resets <= allowed);
        CHECK(st->version_negotiations <= allowed);
        CHECK(st->memory <= 6 * cfg.max_conn_memory);
    }
    quic_endpoint_free(ep);
    return 0;
}
