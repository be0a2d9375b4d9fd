/* Size image: a QUIC client (TLS 1.3, one bidirectional stream, a DATAGRAM) over
 * the board's UDP, as a sensor would use it. Built client-only (-Dserver=false
 * -Dh3=false), it is what scripts/size.sh measures as the client-only image. */
#include <string.h>

#include "base/opt.h"
#include "board.h"
#include "crypto/crypto.h"
#include "quic/quic.h"
#if QUINCE_CRYPTO_MBEDTLS
#include <mbedtls/platform.h>
#endif

static const char *const k_alpn[] = {"sensor/1", NULL};

#if QUINCE_CRYPTO_MBEDTLS && defined(MBEDTLS_PLATFORM_MEMORY)
/* mbedTLS's heap in the board's environment too (crypto/crypto.h: its hooks
 * are process-wide, so the pointer to the environment is the program's). */
static const quince_env *g_env;
static void *tls_calloc(size_t n, size_t size)
{
    return crypto_heap_calloc(g_env, n, size);
}
static void tls_free(void *p)
{
    crypto_heap_free(g_env, p);
}
#endif

int main(void)
{
    quince_env env;
    board_env(&env);
#if QUINCE_CRYPTO_MBEDTLS && defined(MBEDTLS_PLATFORM_MEMORY)
    g_env = &env;
    mbedtls_platform_set_calloc_free(tls_calloc, tls_free);
#endif
    size_t ca_len;
    const uint8_t *ca = board_ca(&ca_len);
    crypto_x509_store *store = crypto_x509_store_new(&env);
    if (store == NULL || crypto_x509_store_add(store, ca, ca_len) != 0)
        return 1;

    quic_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tls.alpn = k_alpn;
    cfg.tls.server_name = "collector.example";
    cfg.tls.ca_store = store;
    cfg.max_datagram_frame_size = 1200;
    quic_addr local = {.family = 4, .ip = {192, 0, 2, 10}, .port = 4433};
    quic_addr peer = {.family = 4, .ip = {192, 0, 2, 1}, .port = 443};
    quic_conn *c = quic_conn_client_new(&env, &cfg, &local, &peer, board_now_us());
    if (c == NULL)
        return 1;

    static uint8_t pkt[1452];
    uint64_t stream = 0;
    bool opened = false;
    while (!quic_conn_is_closed(c)) {
        quic_addr from;
        size_t n = board_udp_recv(pkt, sizeof(pkt), &from);
        uint64_t now = board_now_us();
        if (n > 0)
            quic_conn_recv(c, &from, pkt, n, now);
        if (now >= quic_conn_next_timeout(c))
            quic_conn_on_timeout(c, now);
        quic_event ev;
        while (quic_conn_poll_event(c, &ev)) {
            if (ev.type == QUIC_EVENT_HANDSHAKE_DONE && !opened &&
                quic_conn_open_stream(c, true, &stream) == 0) {
                opened = true;
                static const uint8_t reading[] = "t=21.5";
                quic_stream_write(c, stream, reading, sizeof(reading) - 1, true);
                quic_conn_send_datagram(c, reading, sizeof(reading) - 1);
            } else if (ev.type == QUIC_EVENT_STREAM_READABLE) {
                uint8_t buf[64];
                bool fin = false;
                while (quic_stream_read(c, ev.stream_id, buf, sizeof(buf), &fin) > 0)
                    ;
                if (fin)
                    quic_conn_close(c, 0, "done", now);
            }
        }
        quic_addr to;
        int len;
        while ((len = quic_conn_send(c, &to, pkt, sizeof(pkt), now)) > 0)
            board_udp_send(pkt, (size_t)len, &to);
    }
    quic_conn_free(c);
    crypto_x509_store_free(&env, store);
    return 0;
}
