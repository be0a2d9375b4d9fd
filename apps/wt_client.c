/* quince-client --webtransport URL [--cert-hash HEX] [--wt-draft D]: echo checks and close
 * against a WebTransport server of any dialect. */
#include "apps/wt_client.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/app_util.h"
#include "io/bridge.h"
#include "io/connect.h"
#include "apps/wt_check.h"
#include "io/posix_env.h"
#include "io/loop.h"
#include "io/udp.h"
#include "bind/bind.h"
#include "quic/quic.h"

/* After the close capsule went out, time left for it to be acknowledged. */
#define LINGER_US 300000
/* The checks' clock: datagram resends. */
#define TICK_US 50000

typedef struct wclient {
    io_client *client;
    bind_conn *bc;
    io_loop *loop;
    io_endpoint *ticker;
    wt_check check;
    wt_session *session;
    bool conn_closed, handshake_done, pinned;
    uint64_t deadline, linger_until, handshake_deadline, handshake_timeout_us;
} wclient;

static void on_closed(void *user, bind_conn *bc, const quic_event *ev)
{
    wclient *c = user;
    (void)bc;
    c->conn_closed = true;
    if (!wt_check_done(&c->check)) {
        char why[400];
        if (!ev->by_peer && !ev->is_app && ev->error_code == 0x12a && c->pinned)
            snprintf(why, sizeof(why),
                     "the server's certificate does not match --cert-hash (TLS alert "
                     "bad_certificate, CRYPTO_ERROR 0x12a): give the cert-sha256 the server "
                     "printed");
        else
            app_explain_close(ev, "the server", why, sizeof(why));
        app_set_failure("%s", why);
    }
}

static void on_handshake_done(void *user, bind_conn *bc)
{
    wclient *c = user;
    c->handshake_done = true;
    /* The URL's own origin: what a page served by that server would send. */
    char origin[300];
    snprintf(origin, sizeof(origin), "https://%s", io_client_authority(c->client));
    if (wt_endpoint_connect(bind_conn_wt(bc), io_client_authority(c->client),
                            io_client_path(c->client), origin, &c->session) != WT_OK) {
        fprintf(stderr, "quince-client: cannot start the session\n");
        io_loop_stop(c->loop);
    }
}

/* The connection's user pointer, that of its wt callbacks: the check. */
static void *conn_user(void *user, bind_conn *bc)
{
    wclient *c = user;
    (void)bc;
    return &c->check;
}

static void on_h3_error(void *user, uint64_t code, const char *reason)
{
    (void)code;
    (void)reason;
    (void)user;
    /* The connection closes with this code: on_closed explains it in one line. */
}

/* The checks' own endpoint on the loop: a timer for resends, the end and --timeout. */
static void on_tick(void *user, uint64_t now)
{
    wclient *c = user;
    if (!c->handshake_done && now >= c->handshake_deadline) {
        if (quic_conn_get_stats(bind_conn_quic(c->bc))->packets_received == 0)
            app_set_failure("no answer from %s within %.3g s: is the server running there, and "
                            "can UDP reach it? (--handshake-timeout S waits longer)",
                            io_client_authority(c->client), (double)c->handshake_timeout_us / 1e6);
        else
            app_set_failure("the handshake with %s did not complete within %.3g s although it "
                            "answered: --verbose or --pcap F shows the exchange",
                            io_client_authority(c->client), (double)c->handshake_timeout_us / 1e6);
        io_loop_stop(c->loop);
        return;
    }
    if (now >= c->deadline) {
        app_set_failure("timed out: the WebTransport checks did not finish within --timeout");
        io_loop_stop(c->loop);
        return;
    }
    wt_check_tick(&c->check, now);
    io_client_kick(c->client);
}

static uint64_t tick_flush(void *user, uint64_t now)
{
    wclient *c = user;
    if (wt_check_done(&c->check) && c->linger_until == 0)
        c->linger_until = now + LINGER_US;
    if (c->conn_closed || (c->linger_until != 0 && now >= c->linger_until)) {
        io_loop_stop(c->loop);
        return IO_TIME_NEVER;
    }
    uint64_t t = now + TICK_US;
    if (c->linger_until != 0 && c->linger_until < t)
        t = c->linger_until;
    return c->deadline < t ? c->deadline : t;
}

bool wt_client_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--webtransport") == 0 || strncmp(argv[i], "--webtransport=", 15) == 0)
            return true;
    return false;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: quince-client --webtransport https://HOST:PORT/PATH [--cert-hash HEX]\n"
            "                     [--wt-draft 02|07|13|14|15|16|auto] [--keylog F] [--qlog-dir D]\n"
            "                     [--pcap F] [--timeout S] [--handshake-timeout S] [--verbose]\n"
            "                     [--help] [--version]\n"
            "  --cert-hash: the server certificate's SHA-256 (else not verified)\n"
            "  --wt-draft: the WebTransport dialects offered (a list such as 02,07, or\n"
            "              auto: all, the newest the server also offers is used)\n"
            "  Options take their value as --flag VALUE or --flag=VALUE.\n");
}

static bool parse_hash(const char *hex, uint8_t out[32])
{
    if (strlen(hex) != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

int wt_client_main(int argc, char **argv)
{
    static wclient cl;
    wclient *c = &cl;
    const char *url = NULL, *hash_hex = NULL, *keylog = NULL, *qlog_dir = NULL,
               *pcap = NULL;
    uint64_t timeout_us = 10000000, handshake_timeout_us = 5000000;
    bool verbose = false;
    uint32_t drafts = WT_DIALECTS_ALL;
    app_args args;
    app_args_init(&args, "quince-client", argc, argv, usage);
    while (app_args_next(&args)) {
        const char *v = NULL;
        if (app_opt_value(&args, "--webtransport", &v))
            url = v;
        else if (app_opt_value(&args, "--cert-hash", &v))
            hash_hex = v;
        else if (app_opt_value(&args, "--wt-draft", &v)) {
            if (!wt_parse_drafts(v, &drafts))
                return app_args_bad_value(&args, "02, 07, 13, 14, 15, 16, a list of them, or auto");
        } else if (app_opt(&args, "--verbose|-v"))
            verbose = true;
        else if (app_opt_value(&args, "--keylog", &v))
            keylog = v;
        else if (app_opt_value(&args, "--pcap", &v))
            pcap = v;
        else if (app_opt_value(&args, "--qlog-dir", &v))
            qlog_dir = v;
        else if (app_opt_seconds(&args, "--timeout", &timeout_us))
            continue;
        else if (app_opt_seconds(&args, "--handshake-timeout", &handshake_timeout_us))
            continue;
        else
            return app_args_unknown(&args);
    }
    if (args.failed)
        return 2;
    if (url == NULL)
        return app_usage_error("quince-client", "--webtransport needs the session's URL");
    uint8_t pin[1][32];
    if (hash_hex != NULL && !parse_hash(hash_hex, pin[0])) {
        fprintf(stderr, "quince-client: --cert-hash takes 64 hex digits\n");
        return 2;
    }
    io_env ienv;
    io_env_init(&ienv);
    ienv.log_prefix = "quince-client";
    ienv.log_max_level = verbose ? INT_MAX : 0;
    if (!app_env_open(&ienv, "quince-client", keylog, qlog_dir, pcap))
        return 1;
    io_client_config cc;
    io_client_config_init(&cc);
    cc.env = &ienv.env;
    cc.udp.capture = ienv.pcap;
    quic_config *cfg = &cc.bind.quic;
    cfg->qlog = qlog_dir != NULL;
    if (hash_hex != NULL) {
        cfg->tls.verify_mode = CRYPTO_VERIFY_PINNED;
        cfg->tls.pinned_sha256 = (const uint8_t(*)[32])pin;
        cfg->tls.pinned_count = 1;
        c->pinned = true;
    } else {
        cfg->tls.verify_mode = CRYPTO_VERIFY_INSECURE;
        fprintf(stderr, "quince-client: warning: without --cert-hash the server's certificate is "
                        "not verified (give the cert-sha256 the server printed)\n");
    }
    cfg->initial_max_data = 16u << 20;
    cfg->initial_max_stream_data_bidi_local = 1u << 20;
    cfg->initial_max_stream_data_bidi_remote = 1u << 20;
    cfg->initial_max_stream_data_uni = 1u << 20;
    cfg->initial_max_streams_bidi = 100;
    cfg->initial_max_streams_uni = 100;
    cfg->max_datagram_frame_size = 65535;
    cfg->cid_len = 8;
    c->deadline = io_now_us() + timeout_us;
    c->handshake_timeout_us = handshake_timeout_us < timeout_us ? handshake_timeout_us : timeout_us;
    c->handshake_deadline = io_now_us() + c->handshake_timeout_us;
    wt_check_init(&c->check, &cc.bind.wtcb);
    c->check.verbose = verbose;
    cc.bind.webtransport = true;
    cc.bind.wtcfg.dialects = drafts;
    cc.bind.h3cb.on_conn_error = on_h3_error;
    cc.bind.cb = (bind_callbacks){.user = c,
                                  .on_conn_new = conn_user,
                                  .on_handshake_done = on_handshake_done,
                                  .on_closed = on_closed};
    int rc = io_client_new(&c->client, NULL, url, &cc);
    if (rc == IO_ERR_ADDR) {
        app_env_close(&ienv, "quince-client");
        return app_usage_error("quince-client", "%s: expected https://HOST:PORT/PATH", url);
    }
    if (rc != IO_OK) {
        fprintf(stderr, "quince-client: %s: %s\n", url, io_strerror(rc));
        app_env_close(&ienv, "quince-client");
        return 1;
    }
    c->bc = io_client_conn(c->client);
    c->loop = io_client_loop(c->client);
    static const io_endpoint_ops tick_ops = {.on_timeout = on_tick, .flush = tick_flush};
    if (io_loop_add_endpoint(c->loop, &tick_ops, c, &c->ticker) != IO_OK) {
        fprintf(stderr, "quince-client: event loop setup failed\n");
        io_client_free(c->client);
        app_env_close(&ienv, "quince-client");
        return 1;
    }
    io_endpoint_kick(c->ticker);
    io_loop_run(c->loop);
    const wt_check *k = &c->check;
    bool ok = wt_check_passed(k);
    printf("session: %s (status %d)\n", k->ready ? "established" : "not established", k->status);
    wt_endpoint *wep = bind_conn_wt(c->bc);
    if (k->ready || k->rejected)
        printf("dialect: %s\n", wt_dialect_name(k->dialect));
    if (wep != NULL) {
        char ws[512];
        wt_endpoint_describe_peer_settings(wep, ws, sizeof(ws));
        printf("server settings: %s\n", ws[0] ? ws : "(none received)");
    }
    printf("bidi echo: %s\n", k->bidi_ok ? "ok" : "FAILED");
    printf("uni echo: %s\n", k->uni_ok ? "ok" : "FAILED");
    printf("datagram echo: %s (%u sent)\n", k->dgram_ok ? "ok" : "FAILED", k->dgrams_sent);
    printf("close: %s (code 0x%x reason \"%s\")\n", k->closed && k->close_sent ? "ok" : "FAILED",
           k->close_code, k->close_reason);
    if (k->failed)
        printf("failure: %s\n", k->why);
    printf("result: %s\n", ok ? "PASS" : "FAIL");
    if (app_failure() != NULL)
        fprintf(stderr, "quince-client: %s\n", app_failure());
    else if (!ok && k->rejected)
        fprintf(stderr,
                "quince-client: the server refused the WebTransport session with HTTP status %d: "
                "check the path (quince-server serves /echo, /chat and /close-me)\n",
                k->status);
    else if (!ok && k->closed && !k->close_sent)
        fprintf(stderr,
                "quince-client: the server closed the WebTransport session first: code %u, "
                "reason \"%s\" (the checks need an echo endpoint such as /echo)\n",
                k->close_code, k->close_reason);
    else if (!ok)
        fprintf(stderr, "quince-client: the WebTransport checks failed: %s\n",
                k->failed ? k->why : "see the report on stdout");
    /* A last CONNECTION_CLOSE, without waiting for the closing period. */
    quic_conn *qc = bind_conn_quic(c->bc);
    quic_conn_close(qc, 0, "done", io_now_us());
    uint8_t buf[IO_TX_DGRAM_CAP];
    quic_addr to;
    int n = quic_conn_send(qc, &to, buf, sizeof(buf), io_now_us());
    if (n > 0) {
        io_addr dst;
        io_addr_from_quic(&to, &dst);
        io_datagram d = {.data = buf, .len = (size_t)n, .peer = dst};
        io_udp_send(io_client_socket(c->client), &d, 1);
    }
    io_loop_remove_endpoint(c->loop, c->ticker);
    io_client_free(c->client);
    app_env_close(&ienv, "quince-client");
    return ok ? 0 : 1;
}
