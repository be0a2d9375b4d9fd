/* quince-client: downloads URLs over one QUIC connection (io_client) with HTTP/3 or hq-interop
 * (HTTP/0.9 over QUIC); --webtransport: the WebTransport checks (apps/wt_client.c). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/app_util.h"
#include "apps/h3_client.h"
#include "apps/wt_client.h"
#include "bind/bind.h"
#include "crypto/crypto.h"
#include "io/bridge.h"
#include "io/connect.h"
#include "io/posix_env.h"
#include "io/loop.h"
#include "quic/quic.h"

/*
 * hq-interop, as the QUIC interop runner uses it: each request is
 * "GET /path\r\n" on a new client bidirectional stream, closed with FIN; the
 * response is the file's bytes then FIN. A reset stream is a failed download.
 */

#define MAX_URLS 1024
#define MAX_PATH_TEXT 1024

typedef struct download {
    char path[MAX_PATH_TEXT];
    char *out_path;
    FILE *out;
    uint64_t stream_id;
    uint64_t bytes;
    bool started, done, failed;
} download;

typedef struct client {
    io_client *client; /* the socket, the loop and the bind_conn (io/connect.h) */
    quic_conn *conn;   /* the bind_conn's */
    h3cli *h3;         /* ALPN h3: HTTP/3 requests (apps/h3_client.c) instead of hq-interop */
    download *dls;
    size_t ndl, ndone;
    uint64_t deadline;
    uint64_t close_deadline;
    uint64_t start, handshake_deadline, handshake_timeout_us, timeout_us;
    uint64_t last_progress, done_at;
    bool progress; /* a progress line on a terminal */
    bool progress_shown;
    char target[300]; /* host:port, for messages */
    bool handshake_done, closing, failed, want_key_update, key_update_done;
    bool want_migrate, migrated; /* --migrate (issue 10) */
    /* Keep-alive while responses are due (issue 10): a PING after KEEPALIVE_US without
     * response bytes, so that a restarted server's stateless reset ends us at once. */
    uint64_t ka_bytes, ka_since, ka_ping;
    bool verbose;
} client;

#define KEEPALIVE_US 250000

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: quince-client [--alpn A] [--insecure|--ca F] [-o|--output DIR] [--keylog F]\n"
        "                     [--qlog-dir D] [--pcap F] [--chacha20] [--key-update] [--timeout S]\n"
        "                     [--handshake-timeout S] [--no-gso] [--cert F --key F]\n"
        "                     [--session-file F] [--token-file F] [--migrate] [--verbose] [--help]\n"
        "                     [--quic-version LIST] [--version] URL...\n"
        "       quince-client --webtransport URL [--cert-hash HEX] [--keylog F] [--qlog-dir D]\n"
        "                     [--pcap F] [--timeout S] [--verbose]\n"
        "  Options take their value as --flag VALUE or --flag=VALUE.\n"
        "  URL: https://host:port/path (host: name, IPv4 or [IPv6] literal); all URLs\n"
        "  must name the same host and port: they share one connection.\n"
        "  --alpn: h3 (default: HTTP/3, requests multiplexed) or hq-interop (HTTP/0.9)\n"
        "  --timeout S: give up after S seconds (default 30); --handshake-timeout S: report\n"
        "  a server that does not answer after S seconds (default 5)\n"
        "  --keylog F: NSS key log (default: $SSLKEYLOGFILE when set); --qlog-dir D: one\n"
        "  qlog per connection (qvis); --pcap F: pcapng of every datagram with the TLS\n"
        "  secrets inside (tshark -r F decrypts it)\n"
        "  --cert/--key: a client certificate chain (PEM) and key, sent when asked\n"
        "  --session-file: resume the TLS session stored in F (if any), sending the first\n"
        "  GET in 0-RTT when it allows; store new sessions there\n"
        "  --token-file: present the server's NEW_TOKEN token kept in F (no Retry round\n"
        "  trip); keep the next one there\n"
        "  --migrate: move to a new local port after 1 MB of responses (RFC 9000 §9.2)\n"
        "  --quic-version LIST: QUIC versions (v1, v2 or hex), comma-separated, preferred\n"
        "  first; the first flight uses the first, the server may move the connection to\n"
        "  any of them (RFC 9368; default v1,v2)\n");
}

static void fail_download(client *c, download *d, const char *why)
{
    if (d->done)
        return;
    /* After a connection failure its one line says it all. */
    if (app_failure() == NULL || c->verbose)
        fprintf(stderr, "quince-client: %s: %s\n", d->path, why);
    d->done = d->failed = true;
    c->ndone++;
    if (d->out != NULL) {
        fclose(d->out);
        d->out = NULL;
    }
}

static download *find_download(client *c, uint64_t id)
{
    for (size_t i = 0; i < c->ndl; i++)
        if (c->dls[i].started && c->dls[i].stream_id == id)
            return &c->dls[i];
    return NULL;
}

static void read_stream(client *c, download *d)
{
    static uint8_t buf[65536];
    for (;;) {
        bool fin = false;
        int64_t n = quic_stream_read(c->conn, d->stream_id, buf, sizeof(buf), &fin);
        if (n < 0) {
            fail_download(c, d, "stream read failed");
            return;
        }
        if (n > 0 && fwrite(buf, 1, (size_t)n, d->out) != (size_t)n) {
            fail_download(c, d, "cannot write the output file");
            return;
        }
        d->bytes += (uint64_t)n;
        if (fin) {
            int rc = fclose(d->out);
            d->out = NULL;
            if (rc != 0) {
                fail_download(c, d, "cannot write the output file");
                return;
            }
            d->done = true;
            c->ndone++;
            if (c->verbose)
                fprintf(stderr, "quince-client: %s: %llu bytes\n", d->path,
                        (unsigned long long)d->bytes);
            return;
        }
        if (n == 0)
            return;
    }
}

/* ---- the connection's events, from the binding (bind/bind.h) ---- */

static void *on_conn_new(void *user, bind_conn *bc)
{
    client *c = user;
    c->conn = bind_conn_quic(bc);
    if (c->h3 == NULL)
        return c;
    h3cli_attach(c->h3, bc);
    return c->h3;
}

static void on_handshake_done(void *user, bind_conn *bc)
{
    client *c = user;
    (void)bc;
    if (c->h3 != NULL) {
        h3cli_on_handshake_done(c->h3);
        return;
    }
    c->handshake_done = true;
    if (c->verbose)
        fprintf(stderr, "quince-client: handshake done, ALPN %s\n", quic_conn_alpn(c->conn));
}

static void on_closed(void *user, bind_conn *bc, const quic_event *ev)
{
    client *c = user;
    (void)bc;
    if (c->h3 != NULL) {
        h3cli_on_closed(c->h3, ev);
        return;
    }
    if (!c->closing || ev->by_peer) {
        char why[400];
        app_explain_close(ev, "the server", why, sizeof(why));
        app_set_failure("%s", why);
        for (size_t i = 0; i < c->ndl; i++)
            fail_download(c, &c->dls[i], "connection closed");
    }
    c->closing = true;
}

/* hq-interop: the stream events (without HTTP/3 the binding passes them all). */
static void on_quic_event(void *user, bind_conn *bc, const quic_event *ev)
{
    client *c = user;
    (void)bc;
    download *d;
    switch (ev->type) {
    case QUIC_EVENT_STREAM_READABLE:
        d = find_download(c, ev->stream_id);
        if (d != NULL && !d->done)
            read_stream(c, d);
        break;
    case QUIC_EVENT_STREAM_RESET:
        d = find_download(c, ev->stream_id);
        if (d != NULL)
            fail_download(c, d, "stream reset by the server (not found)");
        break;
    default:
        break;
    }
}

static void start_requests(client *c)
{
    char req[MAX_PATH_TEXT + 8];
    for (size_t i = 0; i < c->ndl; i++) {
        download *d = &c->dls[i];
        if (d->started || d->done)
            continue;
        if (quic_conn_open_stream(c->conn, true, &d->stream_id) < 0)
            return; /* the peer's stream limit: try again once it grows */
        d->started = true;
        int n = snprintf(req, sizeof(req), "GET %s\r\n", d->path);
        if (quic_stream_write(c->conn, d->stream_id, (const uint8_t *)req, (size_t)n, true) != n)
            fail_download(c, d, "cannot send the request");
    }
}

static uint64_t body_bytes(const client *c)
{
    if (c->h3 != NULL)
        return h3cli_body_bytes(c->h3);
    uint64_t n = 0;
    for (size_t i = 0; i < c->ndl; i++)
        n += c->dls[i].bytes;
    return n;
}

/*
 * The application's turn, after each turn of the loop (io_client owns the
 * socket, the loop and the binding; it sends what this queued at the start of
 * the next turn): requests once the handshake is done and as the peer's
 * stream limit grows, a key update mid-transfer, the close once every download
 * ended. Returns false when the run is over.
 */
/* The progress line on a terminal (stderr), at most 4 times a second. */
static void show_progress(client *c, uint64_t now, bool last)
{
    if (!c->progress || (!last && now - c->last_progress < 250000))
        return;
    c->last_progress = now;
    uint64_t got = body_bytes(c);
    if (last) {
        if (c->progress_shown)
            fprintf(stderr, "\r\033[K");
        return;
    }
    char b[32], r[32];
    app_format_bytes(got, b, sizeof(b));
    app_format_rate(got, now - c->start, r, sizeof(r));
    fprintf(stderr, "\r\033[Kquince-client: %zu/%zu files, %s, %s, %.1f s", c->ndone, c->ndl, b,
            r, (double)(now - c->start) / 1e6);
    c->progress_shown = true;
}

static bool step(client *c, uint64_t now)
{
    if (!c->handshake_done && now >= c->handshake_deadline && !c->closing) {
        const quic_conn_stats *st = quic_conn_get_stats(c->conn);
        if (st->packets_received == 0)
            app_set_failure("no answer from %s within %.3g s: is the server running there, and "
                            "can UDP reach it? (--handshake-timeout S waits longer)",
                            c->target, (double)c->handshake_timeout_us / 1e6);
        else
            app_set_failure("the handshake with %s did not complete within %.3g s although it "
                            "answered: --verbose or --pcap F shows the exchange",
                            c->target, (double)c->handshake_timeout_us / 1e6);
        c->failed = true;
        return false;
    }
    if (now >= c->deadline) {
        app_set_failure("timed out after %.3g s with %zu of %zu downloads done: raise --timeout S",
                        (double)c->timeout_us / 1e6, c->ndone, c->ndl);
        c->failed = true;
        return false;
    }
    show_progress(c, now, false);
    if (c->close_deadline != 0 && now >= c->close_deadline)
        return false;
    if (c->h3 != NULL) {
        h3cli_process(c->h3);
        c->handshake_done = h3cli_handshake_done(c->h3);
        c->ndone = h3cli_done(c->h3);
        if (h3cli_closed(c->h3, NULL))
            c->closing = true;
    } else if (c->handshake_done && !c->closing) {
        start_requests(c);
    }
    /* Mid-transfer: once response bytes flow, or at the latest before closing. */
    if (c->want_key_update && !c->key_update_done && c->handshake_done && !c->closing &&
        (body_bytes(c) > 0 || c->ndone == c->ndl) && quic_conn_key_update(c->conn) == 0) {
        c->key_update_done = true;
        if (c->verbose)
            fprintf(stderr, "quince-client: key update initiated\n");
    }
    if (c->handshake_done && !c->closing && c->ndone < c->ndl) {
        uint64_t b = body_bytes(c);
        if (b != c->ka_bytes || c->ka_since == 0) {
            c->ka_bytes = b;
            c->ka_since = now;
        } else if (now - c->ka_since >= KEEPALIVE_US && now - c->ka_ping >= KEEPALIVE_US &&
                   quic_conn_ping(c->conn) == 0) {
            c->ka_ping = now;
        }
    }
    /* RFC 9000 §9.2: a new local port once 1 MB of responses arrived. */
    if (c->want_migrate && !c->migrated && c->handshake_done && !c->closing &&
        body_bytes(c) >= 1000000) {
        c->migrated = true;
        int rc = io_client_migrate(c->client);
        if (rc != IO_OK)
            app_set_failure("--migrate: %s", io_strerror(rc));
        else if (c->verbose)
            fprintf(stderr, "quince-client: migrated to port %u\n",
                    (unsigned)io_addr_port(&io_client_socket(c->client)->local));
    }
    if (!c->closing && c->ndone == c->ndl) {
        c->done_at = now;
        quic_conn_close(c->conn, 0, "done", now);
        c->closing = true;
    }
    if (c->closing && c->close_deadline == 0)
        c->close_deadline = now + 1000000;
    if (c->closing && quic_conn_is_closed(c->conn))
        return false;
    io_client_kick(c->client);
    return true;
}

/* Milliseconds (rounded up) until our own next deadline: the loop wakes for
 * the connection's timers by itself. */
static int wait_ms(const client *c, uint64_t now)
{
    uint64_t t = c->deadline;
    if (c->close_deadline != 0 && c->close_deadline < t)
        t = c->close_deadline;
    if (!c->handshake_done && c->handshake_deadline < t)
        t = c->handshake_deadline;
    if (c->progress && now + 250000 < t)
        t = now + 250000;
    if (c->handshake_done && !c->closing && c->ndone < c->ndl && now + KEEPALIVE_US < t)
        t = now + KEEPALIVE_US;
    uint64_t ms = t > now ? (t - now + 999) / 1000 : 0;
    return ms > 60000 ? 60000 : (int)ms;
}

int main(int argc, char **argv)
{
    if (wt_client_wanted(argc, argv))
        return wt_client_main(argc, argv); /* --webtransport URL: the WebTransport checks */
    const char *alpn_name = "h3", *ca_file = NULL, *out_dir = ".", *keylog = NULL, *qlog_dir = NULL,
               *pcap = NULL;
    const char *cert_file = NULL, *key_file = NULL, *session_file = NULL, *token_file = NULL;
    bool insecure = false, chacha = false;
    uint64_t timeout_us = 30000000, handshake_timeout_us = 5000000;
    bool no_gso = false;
    uint32_t versions[QUIC_MAX_VERSIONS] = {0};
    static client cl;
    client *c = &cl;
    const char *urls[MAX_URLS];
    size_t nurls = 0;

    app_args args;
    app_args_init(&args, "quince-client", argc, argv, usage);
    while (app_args_next(&args)) {
        const char *v = NULL;
        if (app_opt_value(&args, "--alpn", &v))
            alpn_name = v;
        else if (app_opt_value(&args, "--ca", &v))
            ca_file = v;
        else if (app_opt(&args, "--insecure|-k"))
            insecure = true;
        else if (app_opt_value(&args, "--cert", &v))
            cert_file = v;
        else if (app_opt_value(&args, "--key", &v))
            key_file = v;
        else if (app_opt_value(&args, "--session-file", &v))
            session_file = v;
        else if (app_opt_value(&args, "--token-file", &v))
            token_file = v;
        else if (app_opt_value(&args, "--output|-o", &v))
            out_dir = v;
        else if (app_opt_value(&args, "--keylog", &v))
            keylog = v;
        else if (app_opt_value(&args, "--pcap", &v))
            pcap = v;
        else if (app_opt_value(&args, "--qlog-dir", &v))
            qlog_dir = v;
        else if (app_opt(&args, "--chacha20"))
            chacha = true;
        else if (app_opt(&args, "--key-update"))
            c->want_key_update = true;
        else if (app_opt(&args, "--migrate"))
            c->want_migrate = true;
        else if (app_opt_value(&args, "--quic-version", &v)) { /* issue 10 */
            if (!app_parse_versions(v, versions, QUIC_MAX_VERSIONS))
                return app_args_bad_value(&args, "QUIC versions such as v1 or v2,v1");
        }
        else if (app_opt(&args, "--no-gso"))
            no_gso = true;
        else if (app_opt(&args, "--verbose|-v"))
            c->verbose = true;
        else if (app_opt_seconds(&args, "--timeout", &timeout_us))
            continue;
        else if (app_opt_seconds(&args, "--handshake-timeout", &handshake_timeout_us))
            continue;
        else if (app_operand(&args, &v)) {
            if (nurls == MAX_URLS)
                return app_usage_error("quince-client", "too many URLs (%d at most)", MAX_URLS);
            urls[nurls++] = v;
        } else
            return app_args_unknown(&args);
    }
    if (args.failed)
        return 2;
    if (nurls == 0)
        return app_usage_error("quince-client",
                               "no URL given: quince-client --insecure "
                               "https://HOST:PORT/PATH (--help lists the options)");
    if (insecure && ca_file != NULL)
        return app_usage_error("quince-client", "--insecure and --ca exclude each other: give one");
    if (!insecure && ca_file == NULL)
        return app_usage_error("quince-client", "give --ca FILE to verify the server, or "
                                                "--insecure to skip verification");

    if ((cert_file == NULL) != (key_file == NULL))
        return app_usage_error("quince-client", "--cert and --key go together");

    /* All URLs share one connection: same host and port. */
    char host[256], port[16];
    c->dls = calloc(nurls, sizeof(*c->dls));
    if (c->dls == NULL)
        return 1;
    c->ndl = nurls;
    for (size_t i = 0; i < nurls; i++) {
        char h[256], p[16];
        const char *path;
        if (!io_url_split(urls[i], h, sizeof(h), p, sizeof(p), &path) ||
            strlen(path) >= MAX_PATH_TEXT || strpbrk(path, "\r\n ") != NULL) {
            fprintf(stderr, "quince-client: bad URL %s\n", urls[i]);
            return 2;
        }
        if (i == 0) {
            memcpy(host, h, sizeof(h));
            memcpy(port, p, sizeof(p));
        } else if (strcmp(h, host) != 0 || strcmp(p, port) != 0) {
            fprintf(stderr, "quince-client: %s: every URL must name %s:%s\n", urls[i], host, port);
            return 2;
        }
        download *d = &c->dls[i];
        snprintf(d->path, sizeof(d->path), "%s", path);
        const char *seg = strrchr(path, '/');
        seg = seg != NULL ? seg + 1 : path;
        if (*seg == '\0' || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0)
            seg = "index.html";
        size_t olen = strlen(out_dir) + strlen(seg) + 2;
        d->out_path = malloc(olen);
        if (d->out_path == NULL)
            return 1;
        snprintf(d->out_path, olen, "%s/%s", out_dir, seg);
    }

    io_env ienv;
    io_env_init(&ienv);
    ienv.log_prefix = "quince-client";
    if (!app_env_open(&ienv, "quince-client", keylog, qlog_dir, pcap))
        return 1;
    quic_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.qlog = qlog_dir != NULL;
    cfg.version = versions[0];
    memcpy(cfg.versions, versions, sizeof(cfg.versions));
    const char *alpn[] = {alpn_name, NULL};
    static const uint16_t chacha_only[] = {CRYPTO_TLS_CHACHA20_POLY1305_SHA256, 0};
    crypto_x509_store *store = NULL;
    cfg.tls.alpn = alpn;
    cfg.tls.server_name = host;
    if (chacha)
        cfg.tls.cipher_suites = chacha_only;
    if (insecure) {
        cfg.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    } else {
        size_t len = 0;
        uint8_t *pem = app_read_file(ca_file, 1 << 20, &len);
        store = crypto_x509_store_new(&ienv.env);
        if (pem == NULL || store == NULL || crypto_x509_store_add(store, pem, len) < 0) {
            fprintf(stderr, "quince-client: cannot load CA file %s\n", ca_file);
            return 1;
        }
        free(pem);
        cfg.tls.verify_mode = CRYPTO_VERIFY_CHAIN;
        cfg.tls.ca_store = store;
    }
    size_t session_len = 0;
    uint8_t *session =
        session_file != NULL ? app_read_file(session_file, 1 << 16, &session_len) : NULL;
    if (session_file != NULL) {
        /* RFC 8446 §4.6.1: offered if still usable; new tickets replace it. */
        cfg.tls.session = session;
        cfg.tls.session_len = session_len;
        cfg.tls.on_session = app_store_session;
        cfg.tls.session_user = (void *)session_file;
        cfg.tls.early_data = true; /* the first GET in 0-RTT when the session allows */
    }
    size_t token_len = 0;
    uint8_t *token = token_file != NULL ? app_read_file(token_file, 1 << 12, &token_len) : NULL;
    if (token_file != NULL) {
        /* RFC 9000 §8.1.3: kept per server by the file the user names. */
        cfg.token = token;
        cfg.token_len = token_len;
        cfg.on_new_token = app_store_session;
        cfg.new_token_user = (void *)token_file;
    }
    crypto_cert_chain client_chain = {0};
    crypto_privkey *client_key = NULL;
    if (cert_file != NULL) {
        if (!app_load_credentials(&ienv.env, "quince-client", cert_file, key_file, &client_chain,
                                  &client_key))
            return 1;
        crypto_tls_config_set_credentials(&cfg.tls, &client_chain, client_key);
    }
    /* Room for large downloads without waiting on MAX_DATA round trips. */
    cfg.initial_max_data = 16 * 1024 * 1024;
    cfg.cid_len = 8;
    cfg.initial_max_stream_data_bidi_local = 4 * 1024 * 1024;

    for (size_t i = 0; i < c->ndl && strcmp(alpn_name, "h3") != 0; i++) {
        c->dls[i].out = fopen(c->dls[i].out_path, "wb");
        if (c->dls[i].out == NULL) {
            fprintf(stderr, "quince-client: cannot create %s\n", c->dls[i].out_path);
            return 1;
        }
    }

    c->start = io_now_us();
    c->deadline = c->start + timeout_us;
    c->timeout_us = timeout_us;
    c->handshake_timeout_us = handshake_timeout_us;
    if (c->handshake_timeout_us > timeout_us)
        c->handshake_timeout_us = timeout_us;
    c->handshake_deadline = c->start + c->handshake_timeout_us;
    c->progress = !c->verbose && isatty(2);
    snprintf(c->target, sizeof(c->target), strchr(host, ':') != NULL ? "[%s]:%s" : "%s:%s", host,
             port);
    /* The TLS engine's own diagnostics (the state a handshake failed in) with --verbose. */
    ienv.log_max_level = c->verbose ? INT_MAX : 0;
    if (strcmp(alpn_name, "h3") == 0) {
        /* RFC 9114 §3.2: :authority is the URL's host and port. */
        char authority[300];
        snprintf(authority, sizeof(authority), strchr(host, ':') != NULL ? "[%s]:%s" : "%s:%s",
                 host, port);
        c->h3 = h3cli_new(authority, c->verbose);
        for (size_t i = 0; c->h3 != NULL && i < c->ndl; i++) {
            if (h3cli_add(c->h3, c->dls[i].path, c->dls[i].out_path) != 0) {
                h3cli_free(c->h3);
                c->h3 = NULL;
            }
        }
        if (c->h3 == NULL) {
            fprintf(stderr, "quince-client: out of memory\n");
            return 1;
        }
    }
    io_client_config cc;
    io_client_config_init(&cc);
    cc.env = &ienv.env;
    /* --no-gso: one datagram per send, so that a capture on lo sees each packet alone. */
    cc.udp.disable_gso = no_gso;
    cc.udp.capture = ienv.pcap;
    cc.bind.quic = cfg;
    cc.bind.h3 = false;
    if (c->h3 != NULL)
        h3cli_config(&cc.bind);
    cc.bind.cb = (bind_callbacks){.user = c,
                                  .on_conn_new = on_conn_new,
                                  .on_handshake_done = on_handshake_done,
                                  .on_closed = on_closed,
                                  .on_quic_event = on_quic_event};
    /* The first URL names the server for all (they were checked to agree). */
    int rc = io_client_new(&c->client, NULL, urls[0], &cc);
    if (rc != IO_OK) {
        if (rc == IO_ERR_RESOLVE)
            fprintf(stderr, "quince-client: cannot resolve %s\n", host);
        else if (rc == IO_ERR_CONFIG)
            fprintf(stderr, "quince-client: cannot create the connection\n");
        else
            fprintf(stderr, "quince-client: cannot connect: %s\n", io_strerror(rc));
        return 1;
    }
    /* 0-RTT: the first GET goes before the first send, with the Initial. */
    if (c->h3 != NULL)
        h3cli_process(c->h3);
    /* io_client_run, with our step after each turn. */
    io_loop *loop = io_client_loop(c->client);
    int turn = 1; /* io_loop_run_once: 1 go on, a caught signal's number, or an error */
    while (turn == 1 && step(c, io_now_us()))
        turn = io_loop_run_once(loop, wait_ms(c, io_now_us()));
    show_progress(c, io_now_us(), true);
    if (turn < 0) {
        app_set_failure("event loop: %s", io_strerror(turn));
        c->failed = true;
    } else if (turn > 1) {
        app_set_failure("interrupted by signal %d", turn);
        c->failed = true;
        /* RFC 9000 §10.2: tell the server, then wait out the closing period
         * (at most 1 s; a second signal ends it at once). */
        if (!quic_conn_is_closed(c->conn)) {
            quic_conn_close(c->conn, c->h3 != NULL ? H3_NO_ERROR : 0, "client interrupted",
                            io_now_us());
            io_client_kick(c->client);
            uint64_t end = io_now_us() + 1000000;
            while (!quic_conn_is_closed(c->conn) && io_now_us() < end &&
                   io_loop_run_once(loop, 10) == 1) {
            }
        }
    }
    bool report = app_failure() == NULL || c->verbose;

    size_t ok = 0;
    if (c->h3 != NULL) {
        ok = h3cli_done(c->h3) - h3cli_failed(c->h3);
        if (h3cli_done(c->h3) < h3cli_count(c->h3) && report)
            fprintf(stderr, "quince-client: %zu requests not finished\n",
                    h3cli_count(c->h3) - h3cli_done(c->h3));
        if (report)
            fprintf(stderr,
                    "quince-client: h3 qpack-inserts-sent %llu qpack-inserts-received %llu\n",
                    (unsigned long long)h3cli_qpack_inserts_sent(c->h3),
                    (unsigned long long)h3cli_qpack_inserts_received(c->h3));
        for (size_t i = 0; i < c->ndl; i++)
            c->dls[i].done = true;
    }
    for (size_t i = 0; i < c->ndl && c->h3 == NULL; i++) {
        download *d = &c->dls[i];
        if (!d->done)
            fail_download(c, d, "not finished");
        if (!d->failed)
            ok++;
    }
    const crypto_tls *tls = quic_conn_tls(c->conn);
    static const char *const early_names[] = {"none", "offered", "accepted", "rejected"};
    if (tls != NULL && report)
        fprintf(stderr, "quince-client: tls resumed %s, early data %s\n",
                crypto_tls_resumed(tls) ? "yes" : "no", early_names[crypto_tls_early_data(tls)]);
    const quic_conn_stats *st = quic_conn_get_stats(c->conn);
    if (report) {
        /* The summary: bytes, time, throughput, RTT and loss. */
        uint64_t end = c->done_at != 0 ? c->done_at : io_now_us();
        uint64_t bytes = body_bytes(c), srtt = 0, min_rtt = 0;
        bool have_rtt = quic_conn_get_rtt(c->conn, &srtt, &min_rtt);
        char b[32], r[32];
        app_format_bytes(bytes, b, sizeof(b));
        app_format_rate(bytes, end - c->start, r, sizeof(r));
        fprintf(stderr,
                "quince-client: %zu/%zu downloads ok: %s in %.3f s (%s); RTT %.2f ms (min %.2f); "
                "packets sent %llu received %llu lost %llu; key-updates: %llu\n",
                ok, c->ndl, b, (double)(end - c->start) / 1e6, r,
                have_rtt ? (double)srtt / 1e3 : 0.0, have_rtt ? (double)min_rtt / 1e3 : 0.0,
                (unsigned long long)st->packets_sent, (unsigned long long)st->packets_received,
                (unsigned long long)st->packets_lost, (unsigned long long)st->key_updates);
    }
    if (report) /* a failure stays one line (tests/apps/test_failures.py) */
        fprintf(stderr,
                "quince-client: pmtu %llu (probes %llu, lost %llu, black holes %llu); migrations "
                "%llu, paths validated %llu\n",
                (unsigned long long)st->pmtu, (unsigned long long)st->pmtu_probes_sent,
                (unsigned long long)st->pmtu_probes_lost, (unsigned long long)st->pmtu_black_holes,
                (unsigned long long)st->migrations, (unsigned long long)st->paths_validated);
    if (report && quic_conn_remote(c->conn) != NULL) {
        io_addr ra;
        char at[64];
        io_addr_from_quic(quic_conn_remote(c->conn), &ra);
        if (io_addr_format(&ra, at, sizeof(at)) > 0)
            fprintf(stderr, "quince-client: server address %s\n", at);
    }
    if (report) {
        char v1[16], v2[16];
        fprintf(stderr, "quince-client: quic version %s (first flight %s)\n",
                app_version_name(st->version, v1, sizeof(v1)),
                app_version_name(st->original_version, v2, sizeof(v2)));
    }
    if (c->want_key_update && !c->key_update_done) {
        app_set_failure("the key update could not be initiated");
        c->failed = true;
    }
    if (app_failure() != NULL) {
        fprintf(stderr, "quince-client: %s\n", app_failure());
        c->failed = true;
    }
    bool success = !c->failed && ok == c->ndl;

    io_client_free(c->client);
    h3cli_free(c->h3);
    if (store != NULL)
        crypto_x509_store_free(&ienv.env, store);
    crypto_cert_chain_free(&ienv.env, &client_chain);
    if (client_key != NULL)
        crypto_privkey_free(&ienv.env, client_key);
    free(session);
    free(token);
    app_env_close(&ienv, "quince-client");
    for (size_t i = 0; i < c->ndl; i++)
        free(c->dls[i].out_path);
    free(c->dls);
    return success ? 0 : 1;
}
