/* Size image: both roles with HTTP/3 and WebTransport, as a gateway would use
 * them: a WebTransport server for local browsers (echoing each stream) and a
 * WebTransport client session to a cloud service, both on the binding (bind/).
 * scripts/size.sh measures it as the full image. */
#include <string.h>

#include "bind/bind.h"
#include "board.h"
#include "crypto/crypto.h"
#include "wt/wt.h"

static int on_session_request(void *user, wt_session *s)
{
    (void)user;
    return strcmp(wt_session_path(s), "/telemetry") == 0 ? 200 : wt_session_not_found_status(s);
}

static void on_stream_data(void *user, wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    (void)user;
    wt_stream_write(st, data, len, fin);
}

static void on_datagram(void *user, wt_session *s, const uint8_t *data, size_t len)
{
    (void)user;
    wt_session_send_datagram(s, data, len);
}

static void on_session_ready(void *user, wt_session *s)
{
    (void)user;
    wt_stream *st;
    if (wt_session_open_stream(s, false, &st) == 0)
        wt_stream_write(st, (const uint8_t *)"hello", 5, true);
}

static void pump_server(bind_server *srv, uint8_t *pkt, size_t cap)
{
    quic_addr from, to = {.family = 4, .ip = {192, 0, 2, 10}, .port = 443};
    size_t n = board_udp_recv(pkt, cap, &from);
    uint64_t now = board_now_us();
    if (n > 0)
        bind_server_recv(srv, &from, &to, pkt, n, now);
    if (now >= bind_server_next_timeout(srv))
        bind_server_on_timeout(srv, now);
    int len;
    while ((len = bind_server_send(srv, &to, pkt, cap, now)) > 0)
        board_udp_send(pkt, (size_t)len, &to);
}

static void pump_client(bind_conn *bc, uint8_t *pkt, size_t cap)
{
    quic_addr from, to;
    size_t n = board_udp_recv(pkt, cap, &from);
    uint64_t now = board_now_us();
    if (n > 0)
        bind_conn_recv(bc, &from, pkt, n, now);
    if (now >= bind_conn_next_timeout(bc))
        bind_conn_on_timeout(bc, now);
    int len;
    while ((len = bind_conn_send(bc, &to, pkt, cap, now)) > 0)
        board_udp_send(pkt, (size_t)len, &to);
}

int main(void)
{
    quince_env env;
    board_env(&env);
    size_t cert_len, key_len, ca_len;
    const uint8_t *cert = board_cert(&cert_len);
    const uint8_t *key_der = board_key(&key_len);
    const uint8_t *ca = board_ca(&ca_len);
    crypto_privkey *key = crypto_privkey_parse(&env, key_der, key_len);
    crypto_x509_store *store = crypto_x509_store_new(&env);
    if (key == NULL || store == NULL || crypto_x509_store_add(store, ca, ca_len) != 0)
        return 1;

    /* The local WebTransport server. */
    bind_config scfg;
    bind_config_init(&scfg, true);
    const uint8_t *chain[1] = {cert};
    scfg.quic.tls.cert_chain = chain;
    scfg.quic.tls.cert_chain_lens = &cert_len;
    scfg.quic.tls.cert_chain_count = 1;
    scfg.quic.tls.private_key = key;
    scfg.webtransport = true;
    scfg.wtcb.on_session_request = on_session_request;
    scfg.wtcb.on_stream_data = on_stream_data;
    scfg.wtcb.on_datagram = on_datagram;
    bind_server *srv = bind_server_new(&env, &scfg);

    /* The session to the cloud. */
    bind_config ccfg;
    bind_config_init(&ccfg, false);
    ccfg.quic.tls.server_name = "cloud.example";
    ccfg.quic.tls.ca_store = store;
    ccfg.webtransport = true;
    ccfg.wtcb.on_session_ready = on_session_ready;
    ccfg.wtcb.on_stream_data = on_stream_data;
    quic_addr local = {.family = 4, .ip = {192, 0, 2, 10}, .port = 4433};
    quic_addr cloud = {.family = 4, .ip = {198, 51, 100, 7}, .port = 443};
    bind_conn *bc = bind_conn_client_new(&env, &ccfg, &local, &cloud, board_now_us());
    if (srv == NULL || bc == NULL)
        return 1;
    wt_session *session;
    if (wt_endpoint_connect(bind_conn_wt(bc), "cloud.example", "/ingest", NULL, &session) != 0)
        return 1;

    static uint8_t pkt[1452];
    while (!bind_conn_is_closed(bc)) {
        pump_server(srv, pkt, sizeof(pkt));
        pump_client(bc, pkt, sizeof(pkt));
    }
    bind_conn_free(bc);
    bind_server_free(srv);
    crypto_x509_store_free(&env, store);
    crypto_privkey_free(&env, key);
    return 0;
}
