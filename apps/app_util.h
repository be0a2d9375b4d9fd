/* Shared pieces of the command-line apps: files, options and output. */
#ifndef APPS_APP_UTIL_H
#define APPS_APP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/env.h"
#include "crypto/crypto.h"

/* The loop, the sockets and the connection are io/'s: io_server (io/serve.h)
 * and io_client (io/connect.h, which also splits URLs). */

/* Read a whole file (at most max bytes) into a malloc'd buffer. */
uint8_t *app_read_file(const char *path, size_t max, size_t *len);
/* "30", "2.5": seconds into microseconds; false on bad text. */
bool app_parse_seconds(const char *text, uint64_t *us);
/* --quic-version: a comma-separated list of QUIC versions ("v1", "v2" or hex such as
 * 0x6b3343cf; RFC 9369 §3.1), only versions Quince speaks, at most cap of them; out is
 * 0-terminated when fewer. */
bool app_parse_versions(const char *text, uint32_t *out, size_t cap);
/* "v1", "v2" or the hex value. */
const char *app_version_name(uint32_t v, char *buf, size_t cap);

struct io_env;
struct quic_event;
/*
 * What closed a connection, as one line saying what went wrong and what to do:
 * "the server refused the handshake: TLS alert no_application_protocol
 * (CRYPTO_ERROR 0x178): it offers none of our ALPNs: try --alpn h3 or --alpn
 * hq-interop". Error codes by name (QUIC transport, TLS alerts, HTTP/3, QPACK)
 * with the peer's reason phrase. peer is "the server" or "the client".
 */
void app_explain_close(const struct quic_event *ev, const char *peer, char *buf, size_t cap);
/* The run's failure, the first one reported wins: apps print it as their last
 * (and with --verbose not only) line. */
void app_set_failure(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
const char *app_failure(void);
/* A byte count and a rate for people: "1.05 MB", "84.2 Mbit/s". */
void app_format_bytes(uint64_t n, char *buf, size_t cap);
void app_format_rate(uint64_t bytes, uint64_t us, char *buf, size_t cap);

/* The apps' environment sinks, the same in every mode: the NSS key log goes to
 * keylog, or to $SSLKEYLOGFILE when keylog is NULL (Wireshark's convention);
 * qlog_dir (created if missing) gets one file per connection; pcap (when not
 * NULL) is a pcapng capture with the secrets inside (io/pcap.h: give
 * e->pcap to the sockets' io_udp_config.capture). On failure one line on
 * stderr says which file and why; returns false (exit 1). */
bool app_env_open(struct io_env *e, const char *prog, const char *keylog, const char *qlog_dir,
                  const char *pcap);
/* After the connections are gone: write the capture (reporting where) and
 * close the sinks. Returns false when the capture could not be written. */
bool app_env_close(struct io_env *e, const char *prog);

/*
 * Command-line options, the same in every app:
 *   --flag value  and  --flag=value;  -o value for a short alias;
 *   --help / -h prints the usage on stdout and exits 0;
 *   --version prints "PROG VERSION" and exits 0;
 *   an unknown option, a missing value or a bad value is one line on stderr
 *   naming the option (with the nearest known name when one is close), exit 2;
 *   "--" ends the options; anything else is an operand.
 *
 *     app_args a;
 *     app_args_init(&a, "quince-x", argc, argv, usage);
 *     while (app_args_next(&a)) {
 *         const char *v;
 *         if (app_opt(&a, "--verbose|-v"))          verbose = true;
 *         else if (app_opt_value(&a, "--root", &v)) root = v;
 *         else if (app_opt_seconds(&a, "--timeout", &timeout_us)) {}
 *         else if (app_operand(&a, &v))              url = v;
 *         else return app_args_unknown(&a);
 *     }
 *     if (a.failed) return 2;
 *
 * A name may list aliases separated by '|'. A value check that fails after
 * app_opt_value: return app_args_bad_value(&a, "what was expected").
 */
typedef void (*app_usage_fn)(FILE *out);

#define APP_ARGS_MAX_TRIED 64

typedef struct app_args {
    const char *prog;
    int argc;
    char **argv;
    int i;                    /* index of the current argument */
    app_usage_fn usage;       /* may be NULL */
    const char *arg;          /* the current argument, as given */
    const char *opt;          /* the option's name as given (without "=value") */
    const char *value;        /* the value once an option with a value matched */
    size_t opt_len;           /* length of the name part of arg */
    const char *inline_value; /* after '=', or NULL */
    bool options_done;        /* after "--" */
    bool failed;              /* an error was printed: exit 2 */
    /* names tested against the current argument, for "did you mean" */
    const char *tried[APP_ARGS_MAX_TRIED];
    size_t ntried;
} app_args;

void app_args_init(app_args *a, const char *prog, int argc, char **argv, app_usage_fn usage);
/* Advance to the next argument; false at the end or after an error. Handles
 * --help, -h and --version itself (printing and exiting 0). */
bool app_args_next(app_args *a);
/* A flag without a value: true when the argument is one of names (an
 * "=value" after it is an error). */
bool app_opt(app_args *a, const char *names);
/* An option with a value (--name value or --name=value): true with *value set
 * when it matched; a missing value is an error (prints, a->failed, false). */
bool app_opt_value(app_args *a, const char *names, const char **value);
/* An option whose value is a duration in seconds ("30", "2.5"). */
bool app_opt_seconds(app_args *a, const char *names, uint64_t *us);
/* An option whose value is an unsigned integer in [min, max]. */
bool app_opt_uint(app_args *a, const char *names, uint64_t min, uint64_t max, uint64_t *out);
/* A non-option argument (true with *value set). */
bool app_operand(app_args *a, const char **value);
/* The current argument matched nothing: print "unknown option" (or
 * "unexpected argument") naming it; returns 2 for main to return. */
int app_args_unknown(app_args *a);
/* The last matched option's value is not acceptable: "PROG: --opt VALUE:
 * expected WHAT"; sets a->failed and returns 2. */
int app_args_bad_value(app_args *a, const char *expected);
/* One-line error: "PROG: message\n" on stderr; returns 2 (usage errors). */
int app_usage_error(const char *prog, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A PEM chain and its key from files (client certificates); false with a
 * message on stderr. Free with crypto_cert_chain_free / crypto_privkey_free. */
bool app_load_credentials(const quince_env *env, const char *prog, const char *cert_file,
                          const char *key_file, crypto_cert_chain *chain, crypto_privkey **key);
/* A CA store from a PEM file; NULL with a message on stderr. */
crypto_x509_store *app_load_ca(const quince_env *env, const char *prog, const char *file);
/* crypto_tls_config.on_session (and quic_config.on_new_token) for a file:
 * user is its path; each session (token) replaces the one before (written to
 * PATH.tmp, then renamed). */
void app_store_session(void *user, const uint8_t *session, size_t len);
/* SHA-256 of bytes as 64 hex digits into out[65]. */
void app_sha256_hex(const uint8_t *data, size_t len, char out[65]);

#endif
