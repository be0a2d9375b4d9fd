/* Writes the client's qlog of a simulated lossy transfer to the file named by argv[1] (checked by
 * check_qlog.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/sim/sim_conn.h"

typedef struct sink {
    FILE *f;
    size_t records;
    bool bad;
} sink;

static sink out;

static void qlog_sink(void *user, const char *rec, size_t len)
{
    (void)user;
    /* RFC 7464: RS, JSON text, LF; one whole record per call. */
    if (len < 3 || rec[0] != 0x1e || rec[len - 1] != '\n')
        out.bad = true;
    fwrite(rec, 1, len, out.f);
    out.records++;
}

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
    out.f = fopen(argv[1], "wb");
    if (out.f == NULL)
        return 2;
    test_env cert_env;
    test_env_init(&cert_env, 7);
    sim_certs certs;
    sim_certs_make(&certs, &cert_env.env, cert_env.wall_clock);
    netsim_link_config l = {.delay_us = 10000, .loss = 0.05, .rate_bytes_per_s = 5000000};
    sim_pair p;
    sim_pair_init(&p, 61, &l, &certs);
    p.t.env.qlog = qlog_sink;
    p.ccfg.qlog = true;
    xfer x = {0};
    p.user = &x;
    p.app = app;
    sim_pair_start(&p);
    int r = sim_pair_run(&p, done, 60000000);
    sim_pair_free(&p);
    sim_certs_free(&certs, &cert_env.env);
    fclose(out.f);
    printf("run %d, %zu records, received %llu\n", r, out.records, (unsigned long long)x.received);
    return r == NETSIM_OK && x.fin && !out.bad && out.records > 10 ? 0 : 1;
}
