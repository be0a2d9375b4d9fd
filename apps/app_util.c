/* Shared pieces of the command-line apps: files, options and output. */
#include "apps/app_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <sys/stat.h>

#include "crypto/crypto.h"
#include "h3/h3.h"
#include "io/pcap.h"
#include "quic/quic.h"
#include "io/posix_env.h"
#include "io/udp.h"
#include "quince_config.h"

uint8_t *app_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                buf = NULL;
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

bool app_parse_seconds(const char *text, uint64_t *us)
{
    char *end = NULL;
    double s = strtod(text, &end);
    if (end == text || *end != '\0' || !(s >= 0) || s > 1e6)
        return false;
    *us = (uint64_t)(s * 1e6);
    return true;
}

#define APP_QUIC_V1 0x00000001u /* RFC 9000 §15 */
#define APP_QUIC_V2 0x6b3343cfu /* RFC 9369 §3.1 */

bool app_parse_versions(const char *text, uint32_t *out, size_t cap)
{
    size_t n = 0;
    const char *p = text;
    for (size_t i = 0; i < cap; i++)
        out[i] = 0;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
        uint32_t v = 0;
        if (len == 2 && strncmp(p, "v1", 2) == 0) {
            v = APP_QUIC_V1;
        } else if (len == 2 && strncmp(p, "v2", 2) == 0) {
            v = APP_QUIC_V2;
        } else if (len > 0 && len < 16) {
            char tmp[16];
            memcpy(tmp, p, len);
            tmp[len] = '\0';
            char *end = NULL;
            unsigned long x = strtoul(tmp, &end, 16);
            if (*end == '\0')
                v = (uint32_t)x;
        }
        if ((v != APP_QUIC_V1 && v != APP_QUIC_V2) || n == cap)
            return false;
        out[n++] = v;
        if (e == NULL)
            return true;
        p = e + 1;
    }
}

const char *app_version_name(uint32_t v, char *buf, size_t cap)
{
    if (v == APP_QUIC_V1)
        return "v1";
    if (v == APP_QUIC_V2)
        return "v2";
    snprintf(buf, cap, "0x%08x", (unsigned)v);
    return buf;
}

/* What to do about a TLS alert, by who raised it. */
static const char *alert_hint(unsigned alert, bool by_peer)
{
    switch (alert) {
    case 120: /* no_application_protocol */
        return by_peer ? "it offers none of our ALPNs: try --alpn h3 or --alpn hq-interop"
                       : "the peer offered none of ours: match --alpn on both sides";
    case 48: /* unknown_ca */
    case 42: /* bad_certificate */
    case 46: /* certificate_unknown */
    case 43: /* unsupported_certificate */
        return by_peer ? "our certificate was refused: check that the peer trusts its CA"
                       : "the server's certificate is not trusted: give --ca FILE with the CA "
                         "that signed it, or --insecure (WebTransport: --cert-hash HEX, the "
                         "cert-sha256 the server printed)";
    case 45: /* certificate_expired */
        return by_peer ? "our certificate has expired: renew it"
                       : "the server's certificate has expired (or the clock is wrong): renew "
                         "it";
    case 112: /* unrecognized_name */
        return "the certificate does not name this host: use the name it was issued for";
    case 40: /* handshake_failure */
        return "no cipher suite, group or signature algorithm in common: check --chacha20 "
               "and the key type";
    case 51: /* decrypt_error */
        return "a signature or Finished did not verify: does the key match the certificate?";
    case 70: /* protocol_version */
        return "TLS 1.3 is required on both sides";
    default:
        return "run with --verbose, --qlog-dir D or --pcap F to see the exchange";
    }
}

/* What to do about a transport or application error. */
static const char *code_hint(uint64_t code, bool is_app, bool by_peer)
{
    if (!is_app) {
        switch (code) {
        case 0x0:
            return by_peer ? "it ended the connection normally (before we were done?)" : "";
        case 0x2:
            return "the server is at its connection limit: try again later";
        case 0x8:
            return "the transport parameters were refused: a version or extension mismatch";
        case 0xb:
            return "the Retry or NEW_TOKEN token was refused: try again";
        default:
            return "a protocol error: --qlog-dir D records the exchange for qvis";
        }
    }
    switch (code) {
    case 0x100: /* H3_NO_ERROR */
        return by_peer ? "it ended the connection normally" : "";
    case 0x10a: /* H3_MISSING_SETTINGS */
    case 0x105: /* H3_FRAME_UNEXPECTED */
    case 0x101: /* H3_GENERAL_PROTOCOL_ERROR */
        return "an HTTP/3 protocol error: --qlog-dir D records the frames for qvis";
    case 0x10b: /* H3_REQUEST_REJECTED */
        return "the server refused the request: try again later";
    case 0x110: /* H3_VERSION_FALLBACK */
        return "the server wants HTTP/1.1 or HTTP/2 for this request";
    default:
        return "--qlog-dir D records the exchange for qvis";
    }
}

void app_explain_close(const quic_event *ev, const char *peer, char *buf, size_t cap)
{
    char what[160];
    bool by_peer = ev->by_peer;
    uint64_t code = ev->error_code;
    const char *hint;
    if (!ev->is_app && code >= 0x100 && code <= 0x1ff) {
        const char *alert = crypto_alert_name((unsigned)(code & 0xff));
        snprintf(what, sizeof(what), "TLS alert %s (CRYPTO_ERROR 0x%llx)",
                 alert != NULL ? alert : "unknown", (unsigned long long)code);
        hint = alert_hint((unsigned)(code & 0xff), by_peer);
    } else {
        const char *name = ev->is_app ? h3_error_name(code) : quic_transport_error_name(code);
        snprintf(what, sizeof(what), "%s%s (0x%llx)", name != NULL ? name : "error",
                 ev->is_app && name == NULL ? " from the application" : "",
                 (unsigned long long)code);
        hint = code_hint(code, ev->is_app, by_peer);
    }
    /* The peer's reason phrase, printable bytes only, quoted. */
    char reason[140] = "";
    if (ev->data != NULL && ev->len > 0) {
        size_t n = 0;
        reason[n++] = ' ';
        reason[n++] = '"';
        for (size_t i = 0; i < ev->len && n + 2 < sizeof(reason); i++) {
            uint8_t ch = ev->data[i];
            reason[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
        }
        reason[n++] = '"';
        reason[n] = '\0';
    }
    bool idle = !by_peer && code == 0 && !ev->is_app && ev->data != NULL && ev->len == 12 &&
                memcmp(ev->data, "idle timeout", 12) == 0;
    if (idle)
        snprintf(buf, cap,
                 "the connection went idle: %s stopped answering (is it still "
                 "running?)",
                 peer);
    else if (by_peer)
        snprintf(buf, cap, "%s closed the connection: %s%s%s%s", peer, what, reason,
                 hint[0] ? ": " : "", hint);
    else
        snprintf(buf, cap, "the connection failed here: %s%s%s%s", what, reason,
                 hint[0] ? ": " : "", hint);
}

static char failure_line[512];

void app_set_failure(const char *fmt, ...)
{
    if (failure_line[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(failure_line, sizeof(failure_line), fmt, ap);
    va_end(ap);
}

const char *app_failure(void)
{
    return failure_line[0] != '\0' ? failure_line : NULL;
}

void app_format_bytes(uint64_t n, char *buf, size_t cap)
{
    if (n < 10000)
        snprintf(buf, cap, "%llu bytes", (unsigned long long)n);
    else if (n < 1000000)
        snprintf(buf, cap, "%.1f kB", (double)n / 1e3);
    else if (n < 1000000000ull)
        snprintf(buf, cap, "%.2f MB", (double)n / 1e6);
    else
        snprintf(buf, cap, "%.2f GB", (double)n / 1e9);
}

void app_format_rate(uint64_t bytes, uint64_t us, char *buf, size_t cap)
{
    double bits = (double)bytes * 8 / ((double)(us ? us : 1) / 1e6);
    if (bits < 1e6)
        snprintf(buf, cap, "%.1f kbit/s", bits / 1e3);
    else if (bits < 1e9)
        snprintf(buf, cap, "%.1f Mbit/s", bits / 1e6);
    else
        snprintf(buf, cap, "%.2f Gbit/s", bits / 1e9);
}

bool app_env_open(io_env *e, const char *prog, const char *keylog, const char *qlog_dir,
                  const char *pcap)
{
    if (pcap != NULL) {
        io_pcap *p = NULL;
        if (io_pcap_open(&p, pcap) != IO_OK) {
            fprintf(stderr, "%s: cannot create the capture %s: %s\n", prog, pcap, strerror(errno));
            return false;
        }
        io_env_set_pcap(e, p);
    }
    const char *kl = keylog != NULL ? keylog : getenv("SSLKEYLOGFILE");
    if (io_env_set_keylog_file(e, keylog) != IO_OK) {
        fprintf(stderr, "%s: cannot open the key log %s: %s (check the path%s)\n", prog, kl,
                strerror(errno), keylog == NULL ? ", from SSLKEYLOGFILE" : "");
        return false;
    }
    if (qlog_dir != NULL) {
        if (mkdir(qlog_dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: cannot create the qlog directory %s: %s\n", prog, qlog_dir,
                    strerror(errno));
            return false;
        }
        if (io_env_set_qlog_dir(e, qlog_dir) != IO_OK) {
            fprintf(stderr, "%s: --qlog-dir %s: %s (give a directory)\n", prog, qlog_dir,
                    strerror(errno));
            return false;
        }
    }
    return true;
}

bool app_env_close(io_env *e, const char *prog)
{
    bool ok = true;
    io_pcap *p = e->pcap;
    if (p != NULL) {
        uint64_t n = io_pcap_count(p);
        io_env_set_pcap(e, NULL);
        if (io_pcap_close(p) != IO_OK) {
            fprintf(stderr, "%s: cannot write the capture: %s\n", prog, strerror(errno));
            ok = false;
        } else {
            fprintf(stderr, "%s: capture: %llu datagrams, TLS secrets included\n", prog,
                    (unsigned long long)n);
        }
    }
    io_env_cleanup(e);
    return ok;
}

/* ---- command-line options ---- */

void app_args_init(app_args *a, const char *prog, int argc, char **argv, app_usage_fn usage)
{
    memset(a, 0, sizeof(*a));
    a->prog = prog;
    a->argc = argc;
    a->argv = argv;
    a->i = 0;
    a->usage = usage;
}

bool app_args_next(app_args *a)
{
    if (a->failed || a->i + 1 >= a->argc)
        return false;
    a->i++;
    a->arg = a->argv[a->i];
    a->opt = a->arg;
    a->value = NULL;
    a->inline_value = NULL;
    a->ntried = 0;
    a->opt_len = strlen(a->arg);
    bool is_opt = !a->options_done && a->arg[0] == '-' && a->arg[1] != '\0';
    if (is_opt && strcmp(a->arg, "--") == 0) {
        a->options_done = true;
        return app_args_next(a);
    }
    if (is_opt && a->arg[1] == '-') {
        const char *eq = strchr(a->arg, '=');
        if (eq != NULL) {
            a->opt_len = (size_t)(eq - a->arg);
            a->inline_value = eq + 1;
        }
    }
    if (is_opt && a->inline_value == NULL) {
        if (strcmp(a->arg, "--help") == 0 || strcmp(a->arg, "-h") == 0) {
            if (a->usage != NULL)
                a->usage(stdout);
            else
                printf("usage: %s [options]\n", a->prog);
            exit(0);
        }
        if (strcmp(a->arg, "--version") == 0) {
            printf("%s %s (quince QUIC + HTTP/3 + WebTransport)\n", a->prog, QUINCE_VERSION);
            exit(0);
        }
    }
    return true;
}

static bool is_option(const app_args *a)
{
    return !a->options_done && a->arg[0] == '-' && a->arg[1] != '\0';
}

/* Is the current option one of "names" ('|'-separated)? */
static bool name_matches(app_args *a, const char *names)
{
    if (!is_option(a))
        return false;
    if (a->ntried < APP_ARGS_MAX_TRIED)
        a->tried[a->ntried++] = names;
    for (const char *p = names; *p != '\0';) {
        const char *end = strchr(p, '|');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == a->opt_len && memcmp(p, a->arg, n) == 0)
            return true;
        p += n + (end != NULL);
    }
    return false;
}

static void print_opt_error(app_args *a, const char *what)
{
    fprintf(stderr, "%s: %.*s: %s (%s --help lists the options)\n", a->prog, (int)a->opt_len,
            a->arg, what, a->prog);
    a->failed = true;
}

bool app_opt(app_args *a, const char *names)
{
    if (a->failed || !name_matches(a, names))
        return false;
    if (a->inline_value != NULL) {
        print_opt_error(a, "takes no value");
        return false;
    }
    return true;
}

bool app_opt_value(app_args *a, const char *names, const char **value)
{
    if (a->failed || !name_matches(a, names))
        return false;
    if (a->inline_value != NULL) {
        a->value = a->inline_value;
    } else if (a->i + 1 < a->argc && strncmp(a->argv[a->i + 1], "--", 2) != 0) {
        a->value = a->argv[++a->i];
    } else {
        print_opt_error(a, "needs a value");
        return false;
    }
    *value = a->value;
    return true;
}

bool app_opt_seconds(app_args *a, const char *names, uint64_t *us)
{
    const char *v;
    if (!app_opt_value(a, names, &v))
        return false;
    if (!app_parse_seconds(v, us)) {
        app_args_bad_value(a, "seconds, such as 5 or 0.5");
        return false;
    }
    return true;
}

bool app_opt_uint(app_args *a, const char *names, uint64_t min, uint64_t max, uint64_t *out)
{
    const char *v;
    if (!app_opt_value(a, names, &v))
        return false;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 0);
    if (end == v || *end != '\0' || v[0] == '-' || n < min || n > max) {
        char what[80];
        snprintf(what, sizeof(what), "a number from %llu to %llu", (unsigned long long)min,
                 (unsigned long long)max);
        app_args_bad_value(a, what);
        return false;
    }
    *out = n;
    return true;
}

bool app_operand(app_args *a, const char **value)
{
    if (a->failed || is_option(a))
        return false;
    *value = a->arg;
    return true;
}

/* Levenshtein distance of two short strings (bounded to 63 characters). */
static size_t edit_distance(const char *s, size_t sn, const char *t, size_t tn)
{
    size_t row[64];
    if (sn > 63 || tn > 63)
        return 99;
    for (size_t j = 0; j <= tn; j++)
        row[j] = j;
    for (size_t i = 1; i <= sn; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= tn; j++) {
            size_t up = row[j];
            size_t best = diag + (s[i - 1] != t[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[tn];
}

int app_args_unknown(app_args *a)
{
    if (a->failed)
        return 2;
    a->failed = true;
    if (!is_option(a)) {
        fprintf(stderr, "%s: unexpected argument '%s' (%s --help shows the usage)\n", a->prog,
                a->arg, a->prog);
        return 2;
    }
    /* The nearest name tested against this argument, if it is close. */
    const char *best = NULL;
    size_t best_len = 0, best_d = 3;
    for (size_t k = 0; k < a->ntried; k++) {
        for (const char *p = a->tried[k]; *p != '\0';) {
            const char *end = strchr(p, '|');
            size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
            size_t d = edit_distance(a->arg, a->opt_len, p, n);
            if (n > a->opt_len && a->opt_len > 3 && memcmp(p, a->arg, a->opt_len) == 0)
                d = 1; /* a prefix of the name */
            if (n > 2 && d < best_d) {
                best = p;
                best_len = n;
                best_d = d;
            }
            p += n + (end != NULL);
        }
    }
    if (best != NULL)
        fprintf(stderr, "%s: unknown option %.*s (did you mean %.*s? %s --help lists them)\n",
                a->prog, (int)a->opt_len, a->arg, (int)best_len, best, a->prog);
    else
        fprintf(stderr, "%s: unknown option %.*s (%s --help lists the options)\n", a->prog,
                (int)a->opt_len, a->arg, a->prog);
    return 2;
}

int app_args_bad_value(app_args *a, const char *expected)
{
    fprintf(stderr, "%s: %.*s %s: expected %s\n", a->prog, (int)a->opt_len, a->arg,
            a->value != NULL ? a->value : "", expected);
    a->failed = true;
    return 2;
}

int app_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}
bool app_load_credentials(const quince_env *env, const char *prog, const char *cert_file,
                          const char *key_file, crypto_cert_chain *chain, crypto_privkey **key)
{
    size_t clen = 0, klen = 0;
    uint8_t *cpem = app_read_file(cert_file, 1 << 20, &clen);
    uint8_t *kpem = app_read_file(key_file, 1 << 20, &klen);
    *key = kpem != NULL ? crypto_privkey_parse(env, kpem, klen) : NULL;
    int n = cpem != NULL ? crypto_cert_chain_parse(env, cpem, clen, chain) : -1;
    free(cpem);
    if (kpem != NULL)
        memset(kpem, 0, klen);
    free(kpem);
    if (n < 1 || *key == NULL) {
        fprintf(stderr, "%s: cannot load %s / %s\n", prog, cert_file, key_file);
        if (n >= 1)
            crypto_cert_chain_free(env, chain);
        if (*key != NULL)
            crypto_privkey_free(env, *key);
        *key = NULL;
        return false;
    }
    return true;
}

crypto_x509_store *app_load_ca(const quince_env *env, const char *prog, const char *file)
{
    size_t len = 0;
    uint8_t *pem = app_read_file(file, 1 << 20, &len);
    crypto_x509_store *store = crypto_x509_store_new(env);
    if (pem == NULL || store == NULL || crypto_x509_store_add(store, pem, len) < 0) {
        fprintf(stderr, "%s: cannot load CA file %s\n", prog, file);
        free(pem);
        if (store != NULL)
            crypto_x509_store_free(env, store);
        return NULL;
    }
    free(pem);
    return store;
}

void app_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t d[CRYPTO_SHA256_LEN];
    if (crypto_hash(CRYPTO_HASH_SHA256, data, len, d) < 0)
        memset(d, 0, sizeof(d));
    for (size_t i = 0; i < sizeof(d); i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[64] = '\0';
}

void app_store_session(void *user, const uint8_t *session, size_t len)
{
    const char *path = user;
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return;
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return;
    bool ok = fwrite(session, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        remove(tmp);
}
