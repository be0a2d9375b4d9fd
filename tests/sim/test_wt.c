/* Sim tests: WebTransport over our QUIC connections (wt/quic_glue.c): the quince-client
 * checks (bidi, uni and datagram echo, close with code and reason) against the /echo server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apps/wt_check.h"
#include "tests/sim/sim_conn.h"
#include "apps/wt_echo.h"
#include "wt/quic_glue.h"

static test_env cert_env;
static sim_certs certs;

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 12);
    sim_certs_make(&certs, &cert_env.env, cert_env.wall_clock);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sim_certs_free(&certs, &cert_env.env);
    test_env_check_leaks(&cert_env);
    return 0;
}

typedef struct wtt {
    sim_pair *p;
    wt_quic *cw, *sw;
    bool cstarted, sstarted, connected;
    wt_check check;
    wt_callbacks ccb, scb;
    wt_echo echo;
    bool server_closed;
    uint32_t server_code;
    char server_reason[128];
    wt_session *client_session;
    const char *path;
    /* Server-initiated close: the client records what reached it. */
    bool client_saw_close;
    uint32_t client_code;
    char client_reason[128];
} wtt;

static wtt *g_t; /* the server's close callback needs the test state besides the echo */

static void s_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    (void)user;
    (void)s;
    g_t->server_closed = true;
    g_t->server_code = code;
    if (len >= sizeof(g_t->server_reason))
        len = sizeof(g_t->server_reason) - 1;
    memcpy(g_t->server_reason, reason, len);
    g_t->server_reason[len] = '\0';
}

#define SERVER_CLOSE_CODE 4242u
#define SERVER_CLOSE_REASON "bye from quince"

static void s_ready_close(void *user, wt_session *s)
{
    (void)user;
    assert_int_equal(wt_session_close(s, SERVER_CLOSE_CODE, (const uint8_t *)SERVER_CLOSE_REASON,
                                      strlen(SERVER_CLOSE_REASON)),
                     WT_OK);
}

static void c_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    (void)user;
    (void)s;
    /* The session is gone after this call: the check must stop using it. */
    g_t->check.s = NULL;
    g_t->check.closed = true;
    g_t->client_saw_close = true;
    g_t->client_code = code;
    if (len >= sizeof(g_t->client_reason))
        len = sizeof(g_t->client_reason) - 1;
    memcpy(g_t->client_reason, reason, len);
    g_t->client_reason[len] = '\0';
}

static void app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    wtt *t = p->user;
    quic_conn *qc = is_server ? p->server : p->client;
    if (qc == NULL)
        return;
    wt_quic **w = is_server ? &t->sw : &t->cw;
    if (*w == NULL) {
        wt_config cfg;
        wt_config_init(&cfg, is_server);
        *w =
            wt_quic_new(&p->t.env, qc, &cfg, NULL, NULL, is_server ? &t->scb : &t->ccb, NULL, NULL);
        assert_non_null(*w);
    }
    bool *started = is_server ? &t->sstarted : &t->cstarted;
    if (!*started && quic_conn_is_established(qc)) {
        assert_int_equal(wt_quic_start(*w, now), WT_OK);
        *started = true;
        if (!is_server) {
            assert_int_equal(wt_endpoint_connect(wt_quic_endpoint(*w), "example.test", t->path,
                                                 "https://example.test", &t->client_session),
                             WT_OK);
        }
    }
    if (ev != NULL) {
        int rc = wt_quic_on_event(*w, ev, now);
        assert_true(rc >= 0);
        return;
    }
    if (!is_server)
        wt_check_tick(&t->check, now);
}

static bool done(sim_pair *p)
{
    wtt *t = p->user;
    if (strcmp(t->path, "/close-me") == 0)
        return p->client_closed || p->server_closed || (t->client_saw_close && t->server_closed);
    if (p->client_closed || p->server_closed || t->check.failed)
        return true;
    return t->check.closed && t->server_closed;
}

static void run(uint64_t seed, double loss, const char *path)
{
    sim_pair p;
    netsim_link_config l = {.delay_us = 10000, .loss = loss, .rate_bytes_per_s = 12500000};
    sim_pair_init(&p, seed, &l, &certs);
    p.ccfg.max_datagram_frame_size = 1200;
    p.scfg.max_datagram_frame_size = 1200;
    wtt *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    g_t = t;
    t->p = &p;
    t->path = path;
    wt_check_init(&t->check, &t->ccb);
    wt_echo_init(&t->echo, "/echo", &t->scb);
    t->scb.on_session_closed = s_closed;
    if (strcmp(path, "/close-me") == 0) {
        /* The server accepts (the echo handler's path) and closes at once. */
        t->echo.path = "/close-me";
        t->scb.on_session_ready = s_ready_close;
        t->ccb.on_session_closed = c_closed;
    }
    p.user = t;
    p.app = app;
    sim_pair_start(&p);
    int r = sim_pair_run(&p, done, 120000000);
    assert_int_equal(r, NETSIM_OK);
    if (strcmp(path, "/echo") == 0) {
        if (!wt_check_passed(&t->check))
            fprintf(stderr, "check failed: %s\n", t->check.why);
        assert_true(wt_check_passed(&t->check));
        assert_true(t->check.bidi_ok);
        assert_true(t->check.uni_ok);
        assert_true(t->check.dgram_ok);
        /* The server saw the client's close capsule. */
        assert_true(t->server_closed);
        assert_int_equal(t->server_code, WT_CHECK_CLOSE_CODE);
        assert_string_equal(t->server_reason, WT_CHECK_CLOSE_REASON);
        assert_int_equal(t->echo.sessions, 1);
        assert_true(t->echo.bytes >= WT_CHECK_BIDI_LEN + WT_CHECK_UNI_LEN);
        assert_true(t->echo.datagrams >= 1);
        if (loss > 0)
            assert_true(quic_conn_get_stats(p.client)->packets_lost +
                            quic_conn_get_stats(p.server)->packets_lost >
                        0);
    } else if (strcmp(path, "/close-me") == 0) {
        /* The capsule's code and reason reached the client under loss. */
        assert_true(t->check.ready);
        assert_true(t->client_saw_close);
        assert_int_equal(t->client_code, SERVER_CLOSE_CODE);
        assert_string_equal(t->client_reason, SERVER_CLOSE_REASON);
        assert_true(t->server_closed);
        assert_int_equal(t->server_code, SERVER_CLOSE_CODE);
    } else {
        assert_true(t->check.rejected);
        assert_int_equal(t->check.status, 404);
        assert_int_equal(t->echo.sessions, 0);
    }
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    wt_quic_free(t->cw);
    wt_quic_free(t->sw);
    sim_pair_free(&p);
    free(t);
}

static void test_echo_no_loss(void **state)
{
    (void)state;
    run(1, 0.0, "/echo");
}

static void test_echo_loss5(void **state)
{
    (void)state;
    for (uint64_t seed = 2; seed < 6; seed++)
        run(seed, 0.05, "/echo");
}

static void test_rejected_404(void **state)
{
    (void)state;
    run(7, 0.05, "/nope");
}

static void test_server_close_loss5(void **state)
{
    (void)state;
    for (uint64_t seed = 8; seed < 11; seed++)
        run(seed, 0.05, "/close-me");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_no_loss),
        cmocka_unit_test(test_echo_loss5),
        cmocka_unit_test(test_rejected_404),
        cmocka_unit_test(test_server_close_loss5),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
