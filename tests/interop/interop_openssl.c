/* Interop with OpenSSL over TCP: our TLS 1.3 client vs s_server, our server vs s_client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "crypto/tls.h"
#include "tests/common/test_env.h"
#include "tests/interop/interop_peer.h"

/*
 * One process runs one case, named on the command line:
 *   interop_openssl OPENSSL MODE SUITE GROUP CERT
 * SUITE: aes128gcm, aes256gcm, chacha20. GROUP: x25519, p256.
 * CERT: ecdsa (P-256), rsa (2048), ecdsa384 (P-384), chain (ECDSA with an
 * intermediate CA). MODE, with our client against s_server:
 *   client          handshake, 64 KiB each way, close_notify both ways;
 *   fragmented      the same with s_server's records cut at 512 bytes;
 *   alpn-mismatch   s_server speaks h3 only;
 *   wrong-host      the certificate names other hosts;
 *   expired         our client checks validity three days ahead;
 *   unknown-ca      our client trusts another CA;
 *   key-update      s_server sends a KeyUpdate (refused: RFC 9001 §6);
 * and with our server against s_client:
 *   server          handshake, 64 KiB each way, close_notify both ways;
 *   server-hrr      our server accepts only GROUP, s_client's key share is
 *                   for the other group: a HelloRetryRequest;
 *   server-untrusted  s_client trusts another CA;
 *   server-no-suite   s_client offers only TLS_AES_128_CCM_SHA256;
 *   server-extras     s_client also offers an external PSK and post-handshake
 *                     auth, which our server ignores;
 *   server-sigalgs    s_client offers only rsa_pss_rsae_sha384 (RSA cert);
 *   server-no-sigalg  s_client offers only rsa_pss_rsae_sha256 (ECDSA cert).
 * Certificates are made with openssl req/x509 in a fresh temporary directory;
 * everything (openssl process, directory) is removed whatever the outcome,
 * and the whole case is bounded in time.
 */

#define PAYLOAD_LEN 65536
#define CASE_MS 20000
#define ALARM_SECONDS 30

typedef enum {
    MODE_CLIENT,
    MODE_SERVER,
    MODE_ALPN_MISMATCH,
    MODE_WRONG_HOST,
    MODE_FRAGMENTED,
    MODE_SERVER_HRR,
    MODE_EXPIRED,
    MODE_UNKNOWN_CA,
    MODE_SERVER_UNTRUSTED,
    MODE_SERVER_NO_SUITE,
    MODE_KEY_UPDATE,
    MODE_SERVER_EXTRAS,
    MODE_SERVER_SIGALGS,
    MODE_SERVER_NO_SIGALG,
    MODE_RESUME,        /* ours-client: two connections to one s_server, the second resumed */
    MODE_SERVER_RESUME, /* ours-server: s_client -sess_out, then s_client -sess_in */
} interop_mode;

/* The server's certificate: a leaf signed by a test CA of the same kind, or
 * (chain) an ECDSA P-256 leaf signed by an intermediate CA under the root. */
typedef enum {
    CERT_ECDSA,    /* P-256 */
    CERT_RSA,      /* 2048 bits */
    CERT_ECDSA384, /* P-384 */
    CERT_CHAIN,
} cert_kind;

static struct {
    const char *openssl;
    interop_mode mode;
    uint16_t suite;
    const char *suite_name; /* OpenSSL's name */
    uint16_t group;
    const char *group_name; /* OpenSSL's name */
    cert_kind cert;
} cfg;

/* Everything the cleanup (and the alarm handler) must undo. */
static char g_dir[256];
static volatile pid_t g_child = -1;
static int g_aux_fd = -1;

/* Every file a case creates, so that cleanup needs no directory scan. */
static const char *const g_files[] = {
    "ca.key",     "ca.pem",    "leaf.key",  "leaf.csr",  "leaf.pem", "leaf.ext",
    "inter.key",  "inter.csr", "inter.pem", "inter.ext", "peer.out", "peer.err",
    "peer.trace", "cmd.log",   "other.key", "other.pem", "sess.pem",
};

/* Async-signal-safe path join (the alarm handler uses it). */
static void join(char *out, size_t cap, const char *dir, const char *name)
{
    size_t n = 0;
    for (const char *s = dir; *s && n + 1 < cap; s++)
        out[n++] = *s;
    if (n + 1 < cap)
        out[n++] = '/';
    for (const char *s = name; *s && n + 1 < cap; s++)
        out[n++] = *s;
    out[n] = 0;
}

/* A path inside the case directory; a few rotating buffers. */
static const char *P(const char *name)
{
    static char bufs[8][320];
    static int next;
    char *b = bufs[next++ % 8];
    join(b, sizeof(bufs[0]), g_dir, name);
    return b;
}

static void cleanup_all(void)
{
    if (g_child > 0) {
        kill(g_child, SIGKILL);
        waitpid(g_child, NULL, 0);
        g_child = -1;
    }
    if (g_aux_fd >= 0) {
        close(g_aux_fd);
        g_aux_fd = -1;
    }
    if (g_dir[0] != 0) {
        char path[320];
        for (size_t i = 0; i < sizeof(g_files) / sizeof(g_files[0]); i++) {
            join(path, sizeof(path), g_dir, g_files[i]);
            unlink(path);
        }
        rmdir(g_dir);
        g_dir[0] = 0;
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "interop: case exceeded its time limit; killing openssl\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    cleanup_all();
    _exit(1);
}

static void dump_file(const char *name)
{
    FILE *f = fopen(P(name), "r");
    if (f == NULL)
        return;
    fprintf(stderr, "---- %s ----\n", name);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof(line), f) != NULL && lines++ < 400)
        fputs(line, stderr);
    fclose(f);
    fprintf(stderr, "---- end of %s ----\n", name);
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *p = realloc(buf, cap + 1);
            if (p == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Wait for the child until the deadline; kill it after. Returns its exit
 * status, or -1 if it had to be killed or died of a signal. */
static int wait_child(pid_t pid, int64_t deadline)
{
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (pid == g_child)
                g_child = -1;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        if (r < 0)
            return -1;
        if (interop_now_ms() >= deadline) {
            fprintf(stderr, "interop: openssl (pid %d) did not exit in time; killed\n", (int)pid);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            if (pid == g_child)
                g_child = -1;
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Run openssl with args to completion (certificate making); output to cmd.log. */
static void run_openssl(const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = cfg.openssl;
    for (; args[n - 1] != NULL && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        int log = open(P("cmd.log"), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (null < 0 || log < 0)
            _exit(127);
        dup2(null, 0);
        dup2(log, 1);
        dup2(log, 2);
        execv(cfg.openssl, (char *const *)argv);
        _exit(127);
    }
    g_child = pid;
    int st = wait_child(pid, interop_now_ms() + 15000);
    if (st != 0) {
        dump_file("cmd.log");
        fail_msg("openssl %s failed (status %d)", args[0], st);
    }
}

/* A key and certificate signing request, or with ca_key a self-signed CA. */
static void make_key(const char *name, cert_kind kind, const char *subject, bool self_signed)
{
    const char *newkey = kind == CERT_RSA ? "rsa:2048" : "ec";
    const char *opt = kind == CERT_RSA        ? "rsa_keygen_bits:2048"
                      : kind == CERT_ECDSA384 ? "ec_paramgen_curve:secp384r1"
                                              : "ec_paramgen_curve:prime256v1";
    char key[32], out[32];
    snprintf(key, sizeof(key), "%s.key", name);
    snprintf(out, sizeof(out), "%s.%s", name, self_signed ? "pem" : "csr");
    const char *args[] = {"req",      self_signed ? "-x509" : "-new",
                          "-newkey",  newkey,
                          "-pkeyopt", opt,
                          "-nodes",   "-keyout",
                          P(key),     "-out",
                          P(out),     "-subj",
                          subject,    "-days",
                          "2",        kind == CERT_ECDSA384 ? "-sha384" : "-sha256",
                          "-addext",  "basicConstraints=critical,CA:TRUE",
                          "-addext",  "keyUsage=critical,keyCertSign,cRLSign",
                          NULL};
    if (!self_signed)
        args[13] = NULL; /* a CSR: no validity, no extensions */
    run_openssl(args);
}

/* Sign name.csr with issuer's key into name.pem, with extensions ext. */
static void sign_cert(const char *name, const char *issuer, const char *ext, bool sha384)
{
    char csr[32], pem[32], extf[32], ipem[32], ikey[32];
    snprintf(csr, sizeof(csr), "%s.csr", name);
    snprintf(pem, sizeof(pem), "%s.pem", name);
    snprintf(extf, sizeof(extf), "%s.ext", name);
    snprintf(ipem, sizeof(ipem), "%s.pem", issuer);
    snprintf(ikey, sizeof(ikey), "%s.key", issuer);
    write_text(P(extf), ext);
    static unsigned counter;
    char serial[40];
    snprintf(serial, sizeof(serial), "0x%lx%04x%02x", (unsigned long)time(NULL),
             (unsigned)getpid() & 0xffff, ++counter);
    const char *args[] = {"x509",
                          "-req",
                          "-in",
                          P(csr),
                          "-CA",
                          P(ipem),
                          "-CAkey",
                          P(ikey),
                          "-set_serial",
                          serial,
                          "-days",
                          "2",
                          sha384 ? "-sha384" : "-sha256",
                          "-extfile",
                          P(extf),
                          "-out",
                          P(pem),
                          NULL};
    run_openssl(args);
}

/* The CA (ca.pem), the leaf (leaf.pem, leaf.key) with subjectAltName san,
 * and for CERT_CHAIN the intermediate (inter.pem) between them. */
static void make_certs(cert_kind kind, const char *san)
{
    cert_kind ca_kind = kind == CERT_CHAIN ? CERT_ECDSA : kind;
    bool sha384 = kind == CERT_ECDSA384;
    make_key("ca", ca_kind, "/CN=Quince Interop Test CA", true);
    const char *issuer = "ca";
    if (kind == CERT_CHAIN) {
        make_key("inter", CERT_ECDSA, "/CN=Quince Interop Intermediate CA", false);
        sign_cert("inter", "ca",
                  "basicConstraints=critical,CA:TRUE,pathlen:0\n"
                  "keyUsage=critical,keyCertSign,cRLSign\n",
                  false);
        issuer = "inter";
    }
    make_key("leaf", ca_kind, "/CN=localhost", false);
    char ext[512];
    snprintf(ext, sizeof(ext),
             "basicConstraints=critical,CA:FALSE\n"
             "keyUsage=critical,%s\n"
             "extendedKeyUsage=serverAuth\n"
             "subjectAltName=%s\n",
             kind == CERT_RSA ? "digitalSignature,keyEncipherment" : "digitalSignature", san);
    sign_cert("leaf", issuer, ext, sha384);
}

/* Start openssl with a pipe on its standard input (kept open until the end
 * so that it never sees EOF there) and its output in peer.out / peer.err. */
static void spawn_openssl(const char *const *args)
{
    const char *argv[48];
    size_t n = 0;
    argv[n++] = cfg.openssl;
    for (; args[n - 1] != NULL && n < 47; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    fprintf(stderr, "interop: running");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "\n");
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(P("peer.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(P("peer.err"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0)
            _exit(127);
        dup2(pfd[0], 0);
        dup2(out, 1);
        dup2(err, 2);
        close(pfd[0]);
        execv(cfg.openssl, (char *const *)argv);
        _exit(127);
    }
    close(pfd[0]);
    fcntl(pfd[1], F_SETFL, fcntl(pfd[1], F_GETFL) | O_NONBLOCK);
    g_child = pid;
    g_aux_fd = pfd[1];
}

static bool child_exited(void)
{
    int st;
    if (g_child > 0 && waitpid(g_child, &st, WNOHANG) == g_child) {
        fprintf(stderr, "interop: openssl exited early (status %d)\n",
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        g_child = -1;
        return true;
    }
    return false;
}

static void payload(uint64_t seed, uint8_t *buf, size_t len)
{
    uint64_t s = seed;
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0) {
            uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            z ^= z >> 31;
            for (size_t j = 0; j < 8 && i + j < len; j++)
                buf[i + j] = (uint8_t)(z >> (8 * j));
        }
    }
}

static int reserve_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool file_has(const char *name, const char *needle)
{
    size_t len;
    char *t = (char *)read_all(P(name), &len);
    bool found = t != NULL && strstr(t, needle) != NULL;
    free(t);
    return found;
}

/* Connect to openssl s_server, retrying while it starts; -1 if it could not
 * listen on the port. */
static int connect_to(int port, int64_t deadline)
{
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        int e = errno;
        close(fd);
        bool exited = e == ECONNREFUSED && child_exited();
        if (exited && file_has("peer.err", "Address already in use"))
            return -1; /* another process took the port: the caller retries */
        if (e != ECONNREFUSED || exited || interop_now_ms() >= deadline) {
            dump_file("peer.err");
            fail_msg("cannot connect to s_server on port %d: %s", port, strerror(e));
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---- What OpenSSL says it negotiated (its -trace output) ---- */

typedef struct peer_view {
    unsigned suite;
    unsigned group;
    unsigned sig_scheme; /* CertificateVerify's */
    char alpn[64];
    int server_hellos;
} peer_view;

/* The last ServerHello in the trace is the real one (an earlier one is a
 * HelloRetryRequest); its cipher_suite and key_share NamedGroup lines give
 * the suite and group, the EncryptedExtensions the ALPN. */
static peer_view read_trace(void)
{
    peer_view v;
    memset(&v, 0, sizeof(v));
    size_t len;
    char *t = (char *)read_all(P("peer.trace"), &len);
    if (t == NULL)
        fail_msg("openssl wrote no trace");
    const char *sh = NULL;
    for (const char *p = t; (p = strstr(p, "    ServerHello, Length=")) != NULL; p++) {
        sh = p;
        v.server_hellos++;
    }
    if (sh != NULL) {
        const char *end = strstr(sh, "\n\n");
        const char *c = strstr(sh, "cipher_suite {0x13, 0x");
        if (c != NULL && (end == NULL || c < end))
            v.suite = 0x1300 | (unsigned)strtoul(c + strlen("cipher_suite {0x13, 0x"), NULL, 16);
        const char *g = strstr(sh, "NamedGroup: ");
        if (g != NULL && (end == NULL || g < end)) {
            const char *nl = strchr(g, '\n');
            const char *paren = nl;
            while (paren != NULL && paren > g && *paren != '(')
                paren--;
            if (paren != NULL && *paren == '(')
                v.group = (unsigned)strtoul(paren + 1, NULL, 10);
        }
    }
    const char *cv = strstr(t, "CertificateVerify, Length=");
    if (cv != NULL) {
        const char *sa = strstr(cv, "Signature Algorithm: ");
        const char *open = sa != NULL ? strstr(sa, "(0x") : NULL;
        if (open != NULL)
            v.sig_scheme = (unsigned)strtoul(open + 1, NULL, 16);
    }
    const char *a;
    const char *ee = strstr(t, "EncryptedExtensions");
    if (ee != NULL) {
        a = strstr(ee, "application_layer_protocol_negotiation(16)");
        const char *end = strstr(ee, "\n\n");
        if (a != NULL && (end == NULL || a < end)) {
            const char *nl = strchr(a, '\n');
            if (nl != NULL) {
                nl++;
                while (*nl == ' ')
                    nl++;
                size_t i = 0;
                while (nl[i] != '\n' && nl[i] != 0 && i + 1 < sizeof(v.alpn)) {
                    v.alpn[i] = nl[i];
                    i++;
                }
                v.alpn[i] = 0;
            }
        }
    }
    free(t);
    return v;
}

static bool trace_has(const char *needle)
{
    return file_has("peer.trace", needle);
}

/* ---- The cases ---- */

static const char *const g_alpn[] = {"hq-interop", NULL};

/* RFC 8446 §4.4.3: ECDSA P-256 signs with ecdsa_secp256r1_sha256; an RSA key
 * in TLS 1.3 signs with RSA-PSS, and both peers put rsa_pss_rsae_sha256 first
 * among the RSA schemes. */
static uint16_t expected_scheme(void)
{
    if (cfg.mode == MODE_SERVER_SIGALGS)
        return CRYPTO_SIG_RSA_PSS_RSAE_SHA384;
    switch (cfg.cert) {
    case CERT_RSA:
        return CRYPTO_SIG_RSA_PSS_RSAE_SHA256;
    case CERT_ECDSA384:
        return CRYPTO_SIG_ECDSA_SECP384R1_SHA384;
    default:
        return CRYPTO_SIG_ECDSA_SECP256R1_SHA256;
    }
}

static void check_ours(interop_peer *p)
{
    assert_int_equal(crypto_tls_signature_scheme(p->tls), expected_scheme());
    const crypto_suite *s = crypto_tls_suite(p->tls);
    assert_non_null(s);
    assert_int_equal(s->id, cfg.suite);
    assert_int_equal(crypto_tls_group(p->tls), cfg.group);
    const char *alpn = crypto_tls_alpn(p->tls);
    assert_non_null(alpn);
    assert_string_equal(alpn, "hq-interop");
}

static void check_theirs(void)
{
    peer_view v = read_trace();
    fprintf(stderr,
            "interop: openssl's view: suite 0x%04x group 0x%04x signature 0x%04x alpn '%s' "
            "(%d ServerHello)\n",
            v.suite, v.group, v.sig_scheme, v.alpn, v.server_hellos);
    assert_int_equal(v.suite, cfg.suite);
    assert_int_equal(v.group, cfg.group);
    assert_int_equal(v.sig_scheme, expected_scheme());
    if (cfg.mode == MODE_SERVER_HRR)
        assert_int_equal(v.server_hellos, 2);
    if (cfg.mode == MODE_SERVER_EXTRAS) {
        /* s_client did offer them, and our server answered without PSK. */
        assert_true(trace_has("extension_type=psk(41)"));
        assert_true(trace_has("extension_type=post_handshake_auth(49)"));
    }
    assert_string_equal(v.alpn, "hq-interop");
}

static void check_received(const char *what, const uint8_t *got, size_t got_len,
                           const uint8_t *want, size_t want_len)
{
    if (got_len != want_len)
        fail_msg("%s: %zu bytes, want %zu", what, got_len, want_len);
    for (size_t i = 0; i < want_len; i++)
        if (got[i] != want[i])
            fail_msg("%s: first difference at byte %zu", what, i);
}

static void close_aux(void)
{
    if (g_aux_fd >= 0) {
        close(g_aux_fd);
        g_aux_fd = -1;
    }
}

/* How a negative case must end: our engine's error, the alert (sent by us,
 * or received when err is CRYPTO_ERR_ALERT_RECEIVED) and the line OpenSSL's
 * trace shows for it. */
typedef struct expected_failure {
    int err;
    uint8_t alert;
    const char *trace;
} expected_failure;

static bool expected_failure_of_mode(expected_failure *e)
{
    switch (cfg.mode) {
    case MODE_WRONG_HOST:
        /* The certificate chains to our CA but names other hosts. */
        *e = (expected_failure){CRYPTO_ERR_BAD_CERTIFICATE, CRYPTO_ALERT_BAD_CERTIFICATE,
                                "Level=fatal(2), description=bad certificate(42)"};
        return true;
    case MODE_ALPN_MISMATCH:
        /* OpenSSL 3.0's s_server answers a ClientHello whose ALPN list has
         * none of its protocols with a fatal no_application_protocol alert
         * (120) instead of a ServerHello. */
        *e = (expected_failure){CRYPTO_ERR_ALERT_RECEIVED, CRYPTO_ALERT_NO_APPLICATION_PROTOCOL,
                                "Level=fatal(2), description=no application protocol(120)"};
        return true;
    case MODE_EXPIRED:
        *e = (expected_failure){CRYPTO_ERR_CERT_EXPIRED, CRYPTO_ALERT_CERTIFICATE_EXPIRED,
                                "Level=fatal(2), description=certificate expired(45)"};
        return true;
    case MODE_UNKNOWN_CA:
        *e = (expected_failure){CRYPTO_ERR_UNKNOWN_CA, CRYPTO_ALERT_UNKNOWN_CA,
                                "Level=fatal(2), description=unknown CA(48)"};
        return true;
    case MODE_SERVER_UNTRUSTED:
        /* s_client -verify_return_error refuses our chain. */
        *e = (expected_failure){CRYPTO_ERR_ALERT_RECEIVED, CRYPTO_ALERT_UNKNOWN_CA,
                                "Level=fatal(2), description=unknown CA(48)"};
        return true;
    case MODE_SERVER_NO_SIGALG:
        /* RFC 8446 §4.4.3: the CertificateVerify scheme must be one the
         * client offered; an ECDSA key cannot sign rsa_pss_rsae_sha256. */
        *e = (expected_failure){CRYPTO_ERR_HANDSHAKE_FAILURE, CRYPTO_ALERT_HANDSHAKE_FAILURE,
                                "Level=fatal(2), description=handshake failure(40)"};
        return true;
    case MODE_SERVER_NO_SUITE:
        /* RFC 8446 §4.1.1: no common cipher suite is handshake_failure. */
        *e = (expected_failure){CRYPTO_ERR_HANDSHAKE_FAILURE, CRYPTO_ALERT_HANDSHAKE_FAILURE,
                                "Level=fatal(2), description=handshake failure(40)"};
        return true;
    default:
        return false;
    }
}

/* The handshake returned rc; check it against e, free the peer, and wait for
 * openssl to exit. */
static void check_failure(interop_peer *p, int rc, const expected_failure *e, int64_t deadline)
{
    bool sent = p->alert_sent, got = p->peer_alert_received;
    uint8_t sent_alert = p->sent_alert, got_alert = p->peer_alert;
    uint8_t engine_alert = crypto_tls_alert(p->tls);
    bool done = crypto_tls_handshake_done(p->tls);
    interop_peer_free(p);
    wait_child(g_child, deadline);
    if (rc != e->err || !trace_has(e->trace)) {
        dump_file("peer.err");
        dump_file("peer.trace");
    }
    assert_int_equal(rc, e->err);
    assert_false(done);
    if (e->err == CRYPTO_ERR_ALERT_RECEIVED) {
        assert_true(got);
        assert_int_equal(got_alert, e->alert);
    } else {
        assert_int_equal(engine_alert, e->alert);
        assert_true(sent);
        assert_int_equal(sent_alert, e->alert);
    }
    /* And OpenSSL sent or received that alert. */
    assert_true(trace_has(e->trace));
}

/* Our client against openssl s_server (and the two negative cases). */
static void run_client(test_env *t, int64_t deadline)
{
    const char *san = cfg.mode == MODE_WRONG_HOST ? "DNS:other.example,IP:127.0.0.2"
                                                  : "IP:127.0.0.1,DNS:localhost";
    make_certs(cfg.cert, san);
    /* The port is free when reserve_port returns, but another process may
     * take it before s_server binds it: then try another. */
    int fd = -1;
    for (int attempt = 0; fd < 0; attempt++) {
        if (attempt == 3)
            fail_msg("s_server could not listen (3 ports tried)");
        close_aux();
        int port = reserve_port();
        char accept[64];
        snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
        const char *alpn = cfg.mode == MODE_ALPN_MISMATCH ? "h3" : "hq-interop";
        /* key-update drives s_server's "k" command, which -quiet disables. */
        const char *quiet = cfg.mode == MODE_KEY_UPDATE ? "-ign_eof" : "-quiet";
        const char *args[32] = {"s_server",     "-tls1_3", "-accept",      accept,
                                "-naccept",     "1",       quiet,          "-cert",
                                P("leaf.pem"),  "-key",    P("leaf.key"),  "-ciphersuites",
                                cfg.suite_name, "-groups", cfg.group_name, "-alpn",
                                alpn,           "-trace",  "-msgfile",     P("peer.trace")};
        size_t n = 20;
        if (cfg.cert == CERT_CHAIN) {
            args[n++] = "-cert_chain";
            args[n++] = P("inter.pem");
        }
        if (cfg.mode == MODE_FRAGMENTED) {
            args[n++] = "-max_send_frag";
            args[n++] = "512";
        }
        args[n] = NULL;
        spawn_openssl(args);
        fd = connect_to(port, deadline);
    }

    crypto_x509_store *store = crypto_x509_store_new(&t->env);
    assert_non_null(store);
    size_t ca_len;
    if (cfg.mode == MODE_UNKNOWN_CA)
        make_key("other", CERT_ECDSA, "/CN=Some Other CA", true);
    uint8_t *ca = read_all(P(cfg.mode == MODE_UNKNOWN_CA ? "other.pem" : "ca.pem"), &ca_len);
    assert_non_null(ca);
    assert_int_equal(crypto_x509_store_add(store, ca, ca_len), 0);
    free(ca);
    crypto_tls_config c;
    memset(&c, 0, sizeof(c));
    c.is_server = false;
    c.alpn = g_alpn;
    c.server_name = "127.0.0.1";
    c.verify_mode = CRYPTO_VERIFY_CHAIN;
    c.ca_store = store;
    c.verify_time_unix = (int64_t)time(NULL);
    if (cfg.mode == MODE_EXPIRED)
        c.verify_time_unix += 3 * 86400; /* the certificates are valid for two days */

    uint8_t *ours = malloc(PAYLOAD_LEN), *theirs = malloc(PAYLOAD_LEN);
    assert_non_null(ours);
    assert_non_null(theirs);
    payload(0x51ce0001 + cfg.suite * 7 + cfg.group, ours, PAYLOAD_LEN);
    payload(0x51ce0002 + cfg.suite * 7 + cfg.group, theirs, PAYLOAD_LEN);

    interop_peer p;
    int rc = interop_peer_init(&p, &t->env, &c, fd, "ours/client");
    assert_int_equal(rc, 0);
    p.aux_fd = g_aux_fd;
    p.aux_data = theirs;
    p.aux_len = cfg.mode == MODE_KEY_UPDATE ? 0 : PAYLOAD_LEN;
    rc = interop_peer_handshake(&p, deadline);

    expected_failure e;
    if (expected_failure_of_mode(&e)) {
        check_failure(&p, rc, &e, deadline);
        crypto_x509_store_free(&t->env, store);
        free(ours);
        free(theirs);
        return;
    }
    if (rc != 0) {
        dump_file("peer.err");
        dump_file("peer.trace");
        fail_msg("handshake failed: %s (%d), alert sent %u, alert received %u", crypto_strerror(rc),
                 rc, p.sent_alert, p.peer_alert);
    }
    check_ours(&p);
    if (cfg.mode == MODE_KEY_UPDATE) {
        /* RFC 9001 §6: "Endpoints MUST treat the receipt of a TLS KeyUpdate
         * message as a connection error of type 0x010a", unexpected_message. */
        static const uint8_t k[] = "k\n";
        p.aux_data = k;
        p.aux_len = 2;
        rc = interop_peer_exchange(&p, NULL, 0, 1, deadline);
        bool sent = p.alert_sent;
        uint8_t alert = p.sent_alert;
        uint8_t engine_alert = crypto_tls_alert(p.tls);
        interop_peer_free(&p);
        wait_child(g_child, deadline);
        crypto_x509_store_free(&t->env, store);
        free(ours);
        free(theirs);
        if (rc != CRYPTO_ERR_UNEXPECTED_MESSAGE)
            dump_file("peer.trace");
        assert_true(trace_has("KeyUpdate, Length=1"));
        assert_int_equal(rc, CRYPTO_ERR_UNEXPECTED_MESSAGE);
        assert_int_equal(engine_alert, CRYPTO_ALERT_UNEXPECTED_MESSAGE);
        assert_true(sent);
        assert_int_equal(alert, CRYPTO_ALERT_UNEXPECTED_MESSAGE);
        assert_true(trace_has("Level=fatal(2), description=unexpected_message(10)"));
        return;
    }
    rc = interop_peer_exchange(&p, ours, PAYLOAD_LEN, PAYLOAD_LEN, deadline);
    if (rc != 0) {
        dump_file("peer.err");
        fail_msg("exchange failed: %s (%d)", crypto_strerror(rc), rc);
    }
    check_received("data from s_server", p.app_in.data, p.app_in.len, theirs, PAYLOAD_LEN);
    /* s_server did cut its records: 64 KiB came in at least 128 of them. */
    if (cfg.mode == MODE_FRAGMENTED)
        assert_true(p.records_in >= PAYLOAD_LEN / 512);
    rc = interop_peer_close(&p, deadline);
    assert_int_equal(rc, 0);
    interop_peer_free(&p);
    int st = wait_child(g_child, deadline);
    close_aux();
    if (st != 0)
        dump_file("peer.err");
    assert_int_equal(st, 0);
    size_t got_len;
    uint8_t *got = read_all(P("peer.out"), &got_len);
    assert_non_null(got);
    check_received("data s_server received", got, got_len, ours, PAYLOAD_LEN);
    free(got);
    check_theirs();
    crypto_x509_store_free(&t->env, store);
    free(ours);
    free(theirs);
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static int accept_one(int lfd, int64_t deadline)
{
    for (;;) {
        struct pollfd f = {.fd = lfd, .events = POLLIN, .revents = 0};
        int r = poll(&f, 1, 100);
        if (r > 0) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0) {
                fcntl(fd, F_SETFD, FD_CLOEXEC);
                return fd;
            }
        }
        if (child_exited() || interop_now_ms() >= deadline) {
            dump_file("peer.err");
            fail_msg("s_client did not connect");
        }
    }
}

/* Our server against openssl s_client. */
static void run_server(test_env *t, int64_t deadline)
{
    /* OpenSSL sends a key share for the first of its groups only. */
    const char *hrr_groups = cfg.group == CRYPTO_GROUP_X25519 ? "P-256:X25519" : "X25519:P-256";
    make_certs(cfg.cert, "IP:127.0.0.1,DNS:localhost");
    if (cfg.mode == MODE_SERVER_UNTRUSTED)
        make_key("other", CERT_ECDSA, "/CN=Some Other CA", true);
    int port;
    int lfd = listen_any(&port);
    char connect[64];
    snprintf(connect, sizeof(connect), "127.0.0.1:%d", port);
    const char *args[40] = {"s_client",
                            "-tls1_3",
                            "-connect",
                            connect,
                            "-quiet",
                            "-nocommands",
                            "-verify_return_error",
                            "-CAfile",
                            P(cfg.mode == MODE_SERVER_UNTRUSTED ? "other.pem" : "ca.pem"),
                            "-verify_ip",
                            "127.0.0.1",
                            "-servername",
                            "localhost",
                            "-alpn",
                            "hq-interop",
                            "-ciphersuites",
                            cfg.mode == MODE_SERVER_NO_SUITE ? "TLS_AES_128_CCM_SHA256"
                                                             : cfg.suite_name,
                            "-groups",
                            cfg.mode == MODE_SERVER_HRR ? hrr_groups : cfg.group_name,
                            "-trace",
                            "-msgfile",
                            P("peer.trace")};
    size_t na = 22;
    if (cfg.mode == MODE_SERVER_EXTRAS) {
        /* An external PSK offer (pre_shared_key, psk_key_exchange_modes) and
         * post_handshake_auth: our server ignores both. */
        args[na++] = "-psk";
        args[na++] = "000102030405060708090a0b0c0d0e0f";
        args[na++] = "-enable_pha";
    }
    if (cfg.mode == MODE_SERVER_SIGALGS || cfg.mode == MODE_SERVER_NO_SIGALG) {
        args[na++] = "-sigalgs";
        args[na++] =
            cfg.mode == MODE_SERVER_SIGALGS ? "rsa_pss_rsae_sha384" : "rsa_pss_rsae_sha256";
    }
    args[na] = NULL;
    spawn_openssl(args);
    int fd = accept_one(lfd, deadline);
    close(lfd);

    size_t pem_len, key_len;
    uint8_t *pem = read_all(P("leaf.pem"), &pem_len);
    uint8_t *key_pem = read_all(P("leaf.key"), &key_len);
    assert_non_null(pem);
    assert_non_null(key_pem);
    if (cfg.cert == CERT_CHAIN) {
        /* Leaf first, then the intermediate (RFC 8446 §4.4.2). */
        size_t inter_len;
        uint8_t *inter = read_all(P("inter.pem"), &inter_len);
        assert_non_null(inter);
        uint8_t *both = realloc(pem, pem_len + inter_len + 1);
        assert_non_null(both);
        memcpy(both + pem_len, inter, inter_len + 1);
        pem = both;
        pem_len += inter_len;
        free(inter);
    }
    uint8_t **ders = NULL;
    size_t *lens = NULL;
    int n = crypto_x509_parse_chain(&t->env, pem, pem_len, &ders, &lens);
    assert_int_equal(n, cfg.cert == CERT_CHAIN ? 2 : 1);
    crypto_privkey *key = crypto_privkey_parse(&t->env, key_pem, key_len);
    assert_non_null(key);
    free(pem);
    free(key_pem);

    crypto_tls_config c;
    memset(&c, 0, sizeof(c));
    c.is_server = true;
    c.alpn = g_alpn;
    c.cert_chain = (const uint8_t *const *)ders;
    c.cert_chain_lens = lens;
    c.cert_chain_count = (size_t)n;
    c.private_key = key;
    const uint16_t only_group[] = {cfg.group, 0};
    if (cfg.mode == MODE_SERVER_HRR)
        c.groups = only_group;

    uint8_t *ours = malloc(PAYLOAD_LEN), *theirs = malloc(PAYLOAD_LEN);
    assert_non_null(ours);
    assert_non_null(theirs);
    payload(0x5e7e0001 + cfg.suite * 7 + cfg.group, ours, PAYLOAD_LEN);
    payload(0x5e7e0002 + cfg.suite * 7 + cfg.group, theirs, PAYLOAD_LEN);

    interop_peer p;
    int rc = interop_peer_init(&p, &t->env, &c, fd, "ours/server");
    assert_int_equal(rc, 0);
    p.aux_fd = g_aux_fd;
    p.aux_data = theirs;
    p.aux_len = PAYLOAD_LEN;
    rc = interop_peer_handshake(&p, deadline);
    expected_failure e;
    if (expected_failure_of_mode(&e)) {
        check_failure(&p, rc, &e, deadline);
        crypto_x509_der_free(&t->env, ders, lens, (size_t)n);
        crypto_privkey_free(&t->env, key);
        free(ours);
        free(theirs);
        return;
    }
    if (rc != 0) {
        dump_file("peer.err");
        dump_file("peer.trace");
        fail_msg("handshake failed: %s (%d), alert sent %u, alert received %u", crypto_strerror(rc),
                 rc, p.sent_alert, p.peer_alert);
    }
    check_ours(&p);
    const char *sni = crypto_tls_server_name(p.tls);
    assert_non_null(sni);
    assert_string_equal(sni, "localhost");
    if (cfg.mode == MODE_SERVER_HRR)
        assert_true(crypto_tls_used_hrr(p.tls));
    rc = interop_peer_exchange(&p, ours, PAYLOAD_LEN, PAYLOAD_LEN, deadline);
    if (rc != 0) {
        dump_file("peer.err");
        fail_msg("exchange failed: %s (%d)", crypto_strerror(rc), rc);
    }
    check_received("data from s_client", p.app_in.data, p.app_in.len, theirs, PAYLOAD_LEN);
    rc = interop_peer_close(&p, deadline);
    assert_int_equal(rc, 0);
    interop_peer_free(&p);
    int st = wait_child(g_child, deadline);
    close_aux();
    if (st != 0)
        dump_file("peer.err");
    assert_int_equal(st, 0);
    size_t got_len;
    uint8_t *got = read_all(P("peer.out"), &got_len);
    assert_non_null(got);
    check_received("data s_client received", got, got_len, ours, PAYLOAD_LEN);
    free(got);
    check_theirs();
    crypto_x509_der_free(&t->env, ders, lens, (size_t)n);
    crypto_privkey_free(&t->env, key);
    free(ours);
    free(theirs);
}

/* Sessions our client is handed (RFC 8446 §4.6.1: OpenSSL sends two tickets). */
typedef struct sessions {
    uint8_t last[2048];
    size_t len;
    int count;
} sessions;

static void on_session(void *user, const uint8_t *session, size_t len)
{
    sessions *ss = user;
    assert_true(len <= sizeof(ss->last));
    memcpy(ss->last, session, len);
    ss->len = len;
    ss->count++;
}

/* One connection of our engine over fd: handshake, a short exchange of
 * application data, close. Returns whether the handshake resumed. */
static bool one_connection(test_env *t, const crypto_tls_config *c, int fd, const char *name,
                           int64_t deadline)
{
    interop_peer p;
    assert_int_equal(interop_peer_init(&p, &t->env, c, fd, name), 0);
    p.aux_fd = -1;
    int rc = interop_peer_handshake(&p, deadline);
    if (rc != 0) {
        dump_file("peer.err");
        dump_file("peer.trace");
        fail_msg("%s: handshake failed: %s (%d), alert sent %u, alert received %u", name,
                 crypto_strerror(rc), rc, p.sent_alert, p.peer_alert);
    }
    bool resumed = crypto_tls_resumed(p.tls);
    assert_int_equal(crypto_tls_suite(p.tls)->id, cfg.suite);
    /* The peer's tickets (client) or ours (server) cross with this data. */
    static const uint8_t hello[] = "hello over a resumable session\n";
    rc = interop_peer_exchange(&p, hello, sizeof(hello) - 1, 0, deadline);
    assert_int_equal(rc, 0);
    rc = interop_peer_close(&p, deadline);
    assert_int_equal(rc, 0);
    interop_peer_free(&p);
    return resumed;
}

/* RFC 8446 §2.2 over TCP: our client resumes with s_server's ticket. */
static void run_client_resume(test_env *t, int64_t deadline)
{
    make_certs(cfg.cert, "IP:127.0.0.1,DNS:localhost");
    int port = reserve_port();
    char accept[64];
    snprintf(accept, sizeof(accept), "127.0.0.1:%d", port);
    const char *args[] = {
        "s_server",    "-tls1_3",       "-accept",      accept,        "-naccept",
        "2",           "-quiet",        "-cert",        P("leaf.pem"), "-key",
        P("leaf.key"), "-ciphersuites", cfg.suite_name, "-groups",     cfg.group_name,
        "-alpn",       "hq-interop",    "-trace",       "-msgfile",    P("peer.trace"),
        NULL};
    spawn_openssl(args);
    size_t ca_len;
    uint8_t *ca = read_all(P("ca.pem"), &ca_len);
    assert_non_null(ca);
    crypto_x509_store *store = crypto_x509_store_new(&t->env);
    assert_non_null(store);
    assert_int_equal(crypto_x509_store_add(store, ca, ca_len), 0);
    free(ca);
    crypto_tls_config c;
    memset(&c, 0, sizeof(c));
    c.alpn = g_alpn;
    c.server_name = "127.0.0.1";
    c.verify_mode = CRYPTO_VERIFY_CHAIN;
    c.ca_store = store;
    /* After make_certs: their notBefore is now, to the second. */
    c.verify_time_unix = (int64_t)time(NULL);
    static sessions ss;
    memset(&ss, 0, sizeof(ss));
    c.on_session = on_session;
    c.session_user = &ss;
    bool first = one_connection(t, &c, connect_to(port, deadline), "ours/client#1", deadline);
    assert_false(first);
    fprintf(stderr, "interop: %d sessions from s_server\n", ss.count);
    assert_true(ss.count >= 1);
    static uint8_t stored[2048];
    memcpy(stored, ss.last, ss.len);
    c.session = stored;
    c.session_len = ss.len;
    bool second = one_connection(t, &c, connect_to(port, deadline), "ours/client#2", deadline);
    assert_true(second);
    int st = wait_child(g_child, deadline);
    close_aux();
    assert_int_equal(st, 0);
    /* s_server's trace: the resumed ClientHello's psk extension (41). */
    assert_true(trace_has("extension_type=psk(41)"));
    crypto_x509_store_free(&t->env, store);
}

/* RFC 8446 §2.2 over TCP: s_client stores our ticket (-sess_out) and resumes with it (-sess_in). */
static void run_server_resume(test_env *t, int64_t deadline)
{
    make_certs(cfg.cert, "IP:127.0.0.1,DNS:localhost");
    size_t pem_len, key_len;
    uint8_t *pem = read_all(P("leaf.pem"), &pem_len);
    uint8_t *key_pem = read_all(P("leaf.key"), &key_len);
    assert_non_null(pem);
    assert_non_null(key_pem);
    uint8_t **ders = NULL;
    size_t *lens = NULL;
    int n = crypto_x509_parse_chain(&t->env, pem, pem_len, &ders, &lens);
    assert_int_equal(n, 1);
    crypto_privkey *key = crypto_privkey_parse(&t->env, key_pem, key_len);
    assert_non_null(key);
    free(pem);
    free(key_pem);
    crypto_tls_tickets *tickets = crypto_tls_tickets_new(&t->env, 600, 16);
    assert_non_null(tickets);
    crypto_tls_config c;
    memset(&c, 0, sizeof(c));
    c.is_server = true;
    c.alpn = g_alpn;
    c.cert_chain = (const uint8_t *const *)ders;
    c.cert_chain_lens = lens;
    c.cert_chain_count = (size_t)n;
    c.private_key = key;
    c.tickets = tickets;
    bool resumed[2];
    for (int i = 0; i < 2; i++) {
        int port;
        int lfd = listen_any(&port);
        char connect[64];
        snprintf(connect, sizeof(connect), "127.0.0.1:%d", port);
        const char *args[] = {"s_client",
                              "-tls1_3",
                              "-connect",
                              connect,
                              "-quiet",
                              "-nocommands",
                              "-verify_return_error",
                              "-CAfile",
                              P("ca.pem"),
                              "-servername",
                              "localhost",
                              "-alpn",
                              "hq-interop",
                              "-ciphersuites",
                              cfg.suite_name,
                              "-groups",
                              cfg.group_name,
                              "-trace",
                              "-msgfile",
                              P("peer.trace"),
                              i == 0 ? "-sess_out" : "-sess_in",
                              P("sess.pem"),
                              NULL};
        spawn_openssl(args);
        int fd = accept_one(lfd, deadline);
        close(lfd);
        resumed[i] =
            one_connection(t, &c, fd, i == 0 ? "ours/server#1" : "ours/server#2", deadline);
        close_aux();
        int st = wait_child(g_child, deadline);
        if (st != 0)
            dump_file("peer.err");
        assert_int_equal(st, 0);
        /* s_client's trace: our Certificate the first time only (RFC 8446 §2.2). */
        bool cert = trace_has("    Certificate, Length=");
        fprintf(stderr, "interop: s_client run %d: resumed %d, certificate seen %d\n", i + 1,
                resumed[i], cert);
        assert_int_equal(cert, i == 0);
    }
    assert_false(resumed[0]);
    assert_true(resumed[1]);
    assert_int_equal(crypto_tls_tickets_get_stats(tickets)->resumed, 1);
    crypto_tls_tickets_free(tickets);
    crypto_x509_der_free(&t->env, ders, lens, (size_t)n);
    crypto_privkey_free(&t->env, key);
}

static void test_case(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 0x1e7e0000u + cfg.suite + ((uint64_t)cfg.group << 16));
    /* Certificates are made now: validity is checked against the real clock. */
    t.wall_clock = (int64_t)time(NULL);
    int64_t deadline = interop_now_ms() + CASE_MS;
    if (cfg.mode == MODE_RESUME)
        run_client_resume(&t, deadline);
    else if (cfg.mode == MODE_SERVER_RESUME)
        run_server_resume(&t, deadline);
    else if (cfg.mode == MODE_SERVER || cfg.mode == MODE_SERVER_HRR ||
             cfg.mode == MODE_SERVER_UNTRUSTED || cfg.mode == MODE_SERVER_NO_SUITE ||
             cfg.mode == MODE_SERVER_EXTRAS || cfg.mode == MODE_SERVER_SIGALGS ||
             cfg.mode == MODE_SERVER_NO_SIGALG)
        run_server(&t, deadline);
    else
        run_client(&t, deadline);
    test_env_check_leaks(&t);
}

static int teardown(void **state)
{
    (void)state;
    cleanup_all();
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: interop_openssl OPENSSL "
                    "client|server|alpn-mismatch|wrong-host|fragmented|server-hrr|expired|unknown-"
                    "ca|server-untrusted|server-no-suite|key-update|server-extras|server-sigalgs|"
                    "server-no-sigalg|resume|server-resume "
                    "aes128gcm|aes256gcm|chacha20 x25519|p256 ecdsa|rsa|ecdsa384|chain\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 6)
        return usage();
    cfg.openssl = argv[1];
    if (strcmp(argv[2], "client") == 0)
        cfg.mode = MODE_CLIENT;
    else if (strcmp(argv[2], "server") == 0)
        cfg.mode = MODE_SERVER;
    else if (strcmp(argv[2], "alpn-mismatch") == 0)
        cfg.mode = MODE_ALPN_MISMATCH;
    else if (strcmp(argv[2], "wrong-host") == 0)
        cfg.mode = MODE_WRONG_HOST;
    else if (strcmp(argv[2], "fragmented") == 0)
        cfg.mode = MODE_FRAGMENTED;
    else if (strcmp(argv[2], "server-hrr") == 0)
        cfg.mode = MODE_SERVER_HRR;
    else if (strcmp(argv[2], "expired") == 0)
        cfg.mode = MODE_EXPIRED;
    else if (strcmp(argv[2], "unknown-ca") == 0)
        cfg.mode = MODE_UNKNOWN_CA;
    else if (strcmp(argv[2], "server-untrusted") == 0)
        cfg.mode = MODE_SERVER_UNTRUSTED;
    else if (strcmp(argv[2], "server-no-suite") == 0)
        cfg.mode = MODE_SERVER_NO_SUITE;
    else if (strcmp(argv[2], "key-update") == 0)
        cfg.mode = MODE_KEY_UPDATE;
    else if (strcmp(argv[2], "server-extras") == 0)
        cfg.mode = MODE_SERVER_EXTRAS;
    else if (strcmp(argv[2], "server-sigalgs") == 0)
        cfg.mode = MODE_SERVER_SIGALGS;
    else if (strcmp(argv[2], "server-no-sigalg") == 0)
        cfg.mode = MODE_SERVER_NO_SIGALG;
    else if (strcmp(argv[2], "resume") == 0)
        cfg.mode = MODE_RESUME;
    else if (strcmp(argv[2], "server-resume") == 0)
        cfg.mode = MODE_SERVER_RESUME;
    else
        return usage();
    if (strcmp(argv[3], "aes128gcm") == 0) {
        cfg.suite = CRYPTO_TLS_AES_128_GCM_SHA256;
        cfg.suite_name = "TLS_AES_128_GCM_SHA256";
    } else if (strcmp(argv[3], "aes256gcm") == 0) {
        cfg.suite = CRYPTO_TLS_AES_256_GCM_SHA384;
        cfg.suite_name = "TLS_AES_256_GCM_SHA384";
    } else if (strcmp(argv[3], "chacha20") == 0) {
        cfg.suite = CRYPTO_TLS_CHACHA20_POLY1305_SHA256;
        cfg.suite_name = "TLS_CHACHA20_POLY1305_SHA256";
    } else {
        return usage();
    }
    if (strcmp(argv[4], "x25519") == 0) {
        cfg.group = CRYPTO_GROUP_X25519;
        cfg.group_name = "X25519";
    } else if (strcmp(argv[4], "p256") == 0) {
        cfg.group = CRYPTO_GROUP_SECP256R1;
        cfg.group_name = "P-256";
    } else {
        return usage();
    }
    if (strcmp(argv[5], "ecdsa") == 0)
        cfg.cert = CERT_ECDSA;
    else if (strcmp(argv[5], "rsa") == 0)
        cfg.cert = CERT_RSA;
    else if (strcmp(argv[5], "ecdsa384") == 0)
        cfg.cert = CERT_ECDSA384;
    else if (strcmp(argv[5], "chain") == 0)
        cfg.cert = CERT_CHAIN;
    else
        return usage();

    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/quince-interop-XXXXXX",
             tmp != NULL && tmp[0] != 0 ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm(ALARM_SECONDS);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_case, teardown),
    };
    int rc = cmocka_run_group_tests_name("interop_openssl", tests, NULL, NULL);
    cleanup_all();
    return rc;
}
