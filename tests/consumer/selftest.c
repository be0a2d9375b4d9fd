/* A program built outside the tree against installed headers only: a QUIC handshake in memory. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "h3/h3.h"
#include "io/posix_env.h"
#include "quic/quic.h"
#include "quince_config.h"
#include "wt/wt.h"

/*
 * What tests/consumer checks until io/'s serve() lands (then wt_echo_server.c
 * takes its place): a generated short-lived certificate configures a server
 * endpoint, a client that pins the certificate's SHA-256 completes a
 * handshake with it through datagrams handed across in memory, and the
 * HTTP/3 and WebTransport configurations initialise.
 */
int main(void)
{
    quince_env env = io_env_default();
    crypto_short_lived_cert cert;
    int rc =
        crypto_short_lived_cert_generate(&env, NULL, "127.0.0.1", (int64_t)time(NULL), 14, &cert);
    if (rc < 0) {
        fprintf(stderr, "certificate: %s\n", crypto_strerror(rc));
        return 1;
    }
    static const char *const alpn[] = {"h3", NULL};
    quic_config scfg, ccfg;
    memset(&scfg, 0, sizeof(scfg));
    memset(&ccfg, 0, sizeof(ccfg));
    scfg.is_server = true;
    scfg.tls.alpn = alpn;
    crypto_tls_config_set_credentials(&scfg.tls, &cert.chain, cert.key);
    ccfg.tls.alpn = alpn;
    ccfg.tls.server_name = "127.0.0.1";
    ccfg.tls.verify_mode = CRYPTO_VERIFY_PINNED;
    ccfg.tls.pinned_sha256 = (const uint8_t(*)[32]) & cert.sha256;
    ccfg.tls.pinned_count = 1;

    quic_addr caddr = {.family = 4, .ip = {[10] = 0xff, [11] = 0xff, 127, 0, 0, 1}, .port = 50000};
    quic_addr saddr = caddr;
    saddr.port = 4433;
    uint64_t now = 1000000;
    quic_endpoint *ep = quic_endpoint_new(&env, &scfg);
    quic_conn *client = quic_conn_client_new(&env, &ccfg, &caddr, &saddr, now);
    if (ep == NULL || client == NULL) {
        fprintf(stderr, "configuration refused\n");
        return 1;
    }
    uint8_t buf[1500];
    quic_addr to;
    for (int round = 0; round < 50 && !quic_conn_is_established(client); round++, now += 1000) {
        int n;
        while ((n = quic_conn_send(client, &to, buf, sizeof(buf), now)) > 0)
            quic_endpoint_recv(ep, &caddr, &saddr, buf, (size_t)n, now);
        while ((n = quic_endpoint_send(ep, &to, buf, sizeof(buf), now)) > 0)
            quic_conn_recv(client, &saddr, buf, (size_t)n, now);
    }
    int ok = quic_conn_is_established(client) && strcmp(quic_conn_alpn(client), "h3") == 0;

    h3_config h3cfg;
    h3_config_init(&h3cfg, true);
    wt_config wtcfg;
    wt_config_init(&wtcfg, true);

    printf("quince %s: handshake %s, cert-sha256: ", QUINCE_VERSION, ok ? "done" : "FAILED");
    for (size_t i = 0; i < sizeof(cert.sha256); i++)
        printf("%02x", cert.sha256[i]);
    printf("\n");
    quic_conn_free(client);
    quic_endpoint_free(ep);
    crypto_short_lived_cert_free(&env, &cert);
    return ok ? 0 : 1;
}
