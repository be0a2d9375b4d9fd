/* Writes the qlogs of a simulated WebTransport session (the quince-client checks against the /echo
 * handler: bidi, uni and datagram echo, then the close capsule) over a lossy link into the
 * directory argv[1], one file per connection and side; qvis_check.py then loads them as qvis
 * would. argv[2] (optional) is the seed. argv[3] (optional): also a pcapng of the client's
 * datagrams (sent and received, with the run's TLS secrets in a Decryption Secrets Block, as
 * quince-client --pcap writes), at the simulator's addresses 192.0.2.1:4433 -> 192.0.2.2:443. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apps/wt_check.h"
#include "apps/wt_echo.h"
#include "io/bridge.h"
#include "io/pcap.h"
#include "tests/sim/qlog_sink.h"
#include "tests/sim/sim_bind.h"

typedef struct run_state {
    bool connected, server_closed;
    wt_check check;
    wt_callbacks ccb, scb;
    wt_echo echo;
    wt_session *client_session;
} run_state;

static run_state st;
static io_pcap *pcap;

static void on_datagram(sim_bind *b, bool client_sent, const uint8_t *data, size_t len)
{
    io_addr local, peer;
    io_addr_from_quic(&b->caddr, &local);
    io_addr_from_quic(&b->saddr, &peer);
    io_pcap_datagram(pcap, client_sent, &local, &peer, data, len);
}

/* The run's NSS key-log lines (both sides write into the one test environment). */
static void pcap_secrets(const test_env *t)
{
    char line[512];
    size_t start = 0;
    for (size_t i = 0; i < t->keylog_len; i++) {
        if (t->keylog[i] != '\n')
            continue;
        size_t n = i - start < sizeof(line) - 1 ? i - start : sizeof(line) - 1;
        memcpy(line, t->keylog + start, n);
        line[n] = '\0';
        io_pcap_keylog(pcap, line);
        start = i + 1;
    }
}

static void s_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    (void)user;
    (void)s;
    (void)code;
    (void)reason;
    (void)len;
    st.server_closed = true;
}

static void tick(sim_bind *p, bool is_server, uint64_t now)
{
    if (is_server || !quic_conn_is_established(bind_conn_quic(p->client)))
        return;
    if (!st.connected) {
        st.connected = true;
        if (wt_endpoint_connect(bind_conn_wt(p->client), "example.test", "/echo",
                                "https://example.test", &st.client_session) != WT_OK)
            st.check.failed = true;
    }
    wt_check_tick(&st.check, now);
}

static bool done(sim_bind *p)
{
    if (p->client_closed || p->server_closed || st.check.failed)
        return true;
    return st.check.closed && st.server_closed;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 3;
    test_env cert_env;
    test_env_init(&cert_env, 12);
    sim_certs certs;
    sim_certs_make(&certs, &cert_env.env, cert_env.wall_clock);
    sim_bind p;
    netsim_link_config l = {.delay_us = 10000, .loss = 0.05, .rate_bytes_per_s = 12500000};
    sim_bind_init(&p, seed, &l, &certs);
    qlog_sink_attach(&p.t.env, argv[1]);
    p.ccfg.quic.qlog = true;
    p.scfg.quic.qlog = true;
    p.ccfg.quic.max_datagram_frame_size = 1200;
    p.scfg.quic.max_datagram_frame_size = 1200;
    wt_check_init(&st.check, &st.ccb);
    wt_echo_init(&st.echo, "/echo", &st.scb);
    st.scb.on_session_closed = s_closed;
    p.ccfg.webtransport = true;
    p.scfg.webtransport = true;
    p.ccfg.wtcb = st.ccb;
    p.scfg.wtcb = st.scb;
    p.client_user = st.ccb.user;
    p.server_user = st.scb.user;
    p.tick = tick;
    if (argc > 3) {
        if (io_pcap_open(&pcap, argv[3]) != IO_OK)
            return 1;
        p.on_datagram = on_datagram;
    }
    sim_bind_start(&p);
    int r = sim_bind_run(&p, done, 120000000);
    if (pcap != NULL) {
        pcap_secrets(&p.t);
        if (io_pcap_close(pcap) != IO_OK)
            r = -1;
    }
    uint64_t lost = quic_conn_get_stats(bind_conn_quic(p.client))->packets_lost;
    bool passed = wt_check_passed(&st.check);
    sim_bind_free(&p);
    sim_certs_free(&certs, &cert_env.env);
    qlog_sink *q = &qlog_sink_state;
    printf("run %d, session %s, client packets lost %llu, %zu traces, %zu records\n", r,
           passed ? "passed" : "FAILED", (unsigned long long)lost, q->traces, q->records);
    return r == NETSIM_OK && passed && !q->bad && q->traces == 2 && q->open == 0 ? 0 : 1;
}
