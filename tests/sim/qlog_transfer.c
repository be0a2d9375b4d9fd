/* Writes the qlogs of a simulated lossy transfer, one file per connection and side, into the
 * directory argv[1] (checked by check_qlog.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/sim/qlog_sink.h"
#include "tests/sim/sim_conn.h"

typedef struct xfer {
    uint64_t sid, written, received;
    bool opened, fin;
} xfer;

#define SIZE (300 * 1024)

static void app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    xfer *x = p->user;
    (void)now;
    static uint8_t buf[16384];
    if (!is_server && ev == NULL) {
        if (!x->opened && quic_conn_is_established(p->client)) {
            quic_conn_open_stream(p->client, true, &x->sid);
            x->opened = true;
        }
        while (x->opened && x->written < SIZE) {
            size_t n = sizeof(buf) < SIZE - x->written ? sizeof(buf) : SIZE - x->written;
            memset(buf, (int)(x->written & 0xff), n);
            int64_t k = quic_stream_write(p->client, x->sid, buf, n, x->written + n == SIZE);
            if (k <= 0)
                break;
            x->written += (uint64_t)k;
        }
    }
    if (is_server && ev != NULL && ev->type == QUIC_EVENT_STREAM_READABLE) {
        bool fin = false;
        int64_t k;
        while ((k = quic_stream_read(p->server, ev->stream_id, buf, sizeof(buf), &fin)) > 0)
            x->received += (uint64_t)k;
        if (fin)
            x->fin = true;
    }
}

static bool done(sim_pair *p)
{
    return ((xfer *)p->user)->fin;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    test_env cert_env;
    test_env_init(&cert_env, 7);
    sim_certs certs;
    sim_certs_make(&certs, &cert_env.env, cert_env.wall_clock);
    netsim_link_config l = {.delay_us = 10000, .loss = 0.05, .rate_bytes_per_s = 5000000};
    sim_pair p;
    sim_pair_init(&p, 61, &l, &certs);
    qlog_sink_attach(&p.t.env, argv[1]);
    p.ccfg.qlog = true;
    p.scfg.qlog = true;
    xfer x = {0};
    p.user = &x;
    p.app = app;
    sim_pair_start(&p);
    int r = sim_pair_run(&p, done, 60000000);
    sim_pair_free(&p);
    sim_certs_free(&certs, &cert_env.env);
    qlog_sink *q = &qlog_sink_state;
    printf("run %d, %zu traces, %zu records, received %llu\n", r, q->traces, q->records,
           (unsigned long long)x.received);
    return r == NETSIM_OK && x.fin && !q->bad && q->traces == 2 && q->open == 0 && q->records > 10
               ? 0
               : 1;
}
