/* Our TLS 1.3 endpoint over TCP for the interop tests: engine + record layer + poll loop. */
#include "tests/interop/interop_peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *level_name(crypto_level level)
{
    static const char *const names[] = {"initial", "early", "handshake", "app"};
    return level < CRYPTO_LEVEL_COUNT ? names[level] : "?";
}

int64_t interop_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cb_send(void *user, crypto_level level, const uint8_t *data, size_t len)
{
    interop_peer *p = user;
    fprintf(stderr, "[%s] send %zu handshake bytes at %s\n", p->name, len, level_name(level));
    if (p->capture_sent != NULL) {
        uint8_t hdr[3] = {(uint8_t)level, (uint8_t)(len >> 8), (uint8_t)len};
        fwrite(hdr, 1, sizeof(hdr), p->capture_sent);
        fwrite(data, 1, len, p->capture_sent);
    }
    return tls_record_write(&p->rl, level, TLS_CT_HANDSHAKE, data, len);
}

static int cb_set_secret(void *user, crypto_level level, bool is_write, const crypto_suite *suite,
                         const uint8_t *secret, size_t len)
{
    interop_peer *p = user;
    fprintf(stderr, "[%s] %s secret for %s (suite 0x%04x)\n", p->name, is_write ? "write" : "read",
            level_name(level), suite != NULL ? suite->id : 0);
    return tls_record_install(&p->rl, level, is_write, suite, secret, len);
}

static int cb_transport_params(void *user, const uint8_t *data, size_t len, uint8_t *alert)
{
    /* TLS over TCP: no peer sends quic_transport_parameters. */
    interop_peer *p = user;
    (void)data;
    fprintf(stderr, "[%s] unexpected quic_transport_parameters (%zu bytes)\n", p->name, len);
    *alert = CRYPTO_ALERT_UNSUPPORTED_EXTENSION;
    return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
}

int interop_peer_init(interop_peer *p, const quince_env *env, const crypto_tls_config *config,
                      int fd, const char *name)
{
    memset(p, 0, sizeof(*p));
    p->env = env;
    p->fd = fd;
    p->aux_fd = -1;
    p->is_server = config->is_server;
    p->name = name;
    tls_record_init(&p->rl, env, !config->is_server);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return CRYPTO_ERR_INTERNAL;
    p->callbacks.user = p;
    p->callbacks.send = cb_send;
    p->callbacks.set_secret = cb_set_secret;
    p->callbacks.peer_transport_params = cb_transport_params;
    /* For making fuzz seeds by hand: QUINCE_INTEROP_CAPTURE=file records the
     * handshake messages received, QUINCE_INTEROP_CAPTURE_SENT=file those
     * sent, in the fuzz_tls_client framing. Unset in the test runs. */
    const char *cap = getenv("QUINCE_INTEROP_CAPTURE");
    const char *sent = getenv("QUINCE_INTEROP_CAPTURE_SENT");
    if (cap != NULL)
        p->capture = fopen(cap, "wb");
    if (sent != NULL)
        p->capture_sent = fopen(sent, "wb");
    p->tls = crypto_tls_new(env, config, &p->callbacks);
    if (p->tls == NULL)
        return CRYPTO_ERR_NOMEM;
    if (!config->is_server) {
        int rc = crypto_tls_start(p->tls);
        if (rc != 0) {
            fprintf(stderr, "[%s] crypto_tls_start: %s\n", name, crypto_strerror(rc));
            return rc;
        }
    }
    return 0;
}

void interop_peer_free(interop_peer *p)
{
    if (p->tls != NULL)
        crypto_tls_free(p->tls);
    p->tls = NULL;
    tls_record_free(&p->rl);
    tls_bytes_free(&p->app_in);
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    if (p->capture != NULL)
        fclose(p->capture);
    if (p->capture_sent != NULL)
        fclose(p->capture_sent);
    p->capture = p->capture_sent = NULL;
}

/* The fatal alert for err goes out at our highest write level: that is the
 * key the peer expects next from us (RFC 8446 §6). */
static void fail_with(interop_peer *p, int err, uint8_t alert)
{
    if (p->err != 0)
        return;
    p->err = err;
    p->sent_alert = alert;
    fprintf(stderr, "[%s] error %s (%d): sending alert %u\n", p->name, crypto_strerror(err), err,
            alert);
    crypto_level level = tls_record_top_level(&p->rl, true);
    if (tls_record_write_alert(&p->rl, level, alert) == 0)
        p->alert_sent = true;
}

/* RFC 8446 §5.1: keys change only at record boundaries, and the engine
 * installs them while it handles the message before the change. A key for
 * application data is used for reading only once the handshake is complete:
 * the server learns the client's application secret before the client's
 * Finished, which still comes under the handshake key. */
static void update_read_level(interop_peer *p)
{
    crypto_level top = tls_record_top_level(&p->rl, false);
    bool done = crypto_tls_handshake_done(p->tls);
    if (top == CRYPTO_LEVEL_APP && !done)
        top = CRYPTO_LEVEL_HANDSHAKE;
    if (top != p->rl.read_level)
        fprintf(stderr, "[%s] reading at %s\n", p->name, level_name(top));
    tls_record_set_read_level(&p->rl, top);
    if (done) {
        p->rl.accept_ccs = false;
        if (!p->done_logged) {
            const crypto_suite *s = crypto_tls_suite(p->tls);
            const char *alpn = crypto_tls_alpn(p->tls);
            fprintf(stderr, "[%s] handshake done: suite 0x%04x group 0x%04x alpn %s hrr %d\n",
                    p->name, s != NULL ? s->id : 0, crypto_tls_group(p->tls),
                    alpn != NULL ? alpn : "(none)", crypto_tls_used_hrr(p->tls));
            p->done_logged = true;
        }
    }
}

static void capture(interop_peer *p, const tls_record *rec)
{
    if (p->capture == NULL)
        return;
    uint8_t hdr[3] = {(uint8_t)rec->level, (uint8_t)(rec->len >> 8), (uint8_t)rec->len};
    fwrite(hdr, 1, sizeof(hdr), p->capture);
    fwrite(rec->data, 1, rec->len, p->capture);
}

static void handle_record(interop_peer *p, const tls_record *rec)
{
    p->records_in++;
    switch (rec->type) {
    case TLS_CT_HANDSHAKE: {
        capture(p, rec);
        int rc = crypto_tls_recv(p->tls, rec->level, rec->data, rec->len);
        if (rc != 0) {
            fail_with(p, rc, crypto_tls_alert(p->tls));
            return;
        }
        update_read_level(p);
        return;
    }
    case TLS_CT_APPLICATION_DATA:
        if (rec->level != CRYPTO_LEVEL_APP) {
            fail_with(p, CRYPTO_ERR_UNEXPECTED_MESSAGE, CRYPTO_ALERT_UNEXPECTED_MESSAGE);
            return;
        }
        if (tls_bytes_append(&p->app_in, rec->data, rec->len) != 0)
            fail_with(p, CRYPTO_ERR_NOMEM, CRYPTO_ALERT_INTERNAL_ERROR);
        return;
    case TLS_CT_ALERT:
        /* §6: exactly one two-byte alert per record. */
        if (rec->len != 2) {
            fail_with(p, CRYPTO_ERR_DECODE_ERROR, CRYPTO_ALERT_DECODE_ERROR);
            return;
        }
        if (rec->data[1] == CRYPTO_ALERT_CLOSE_NOTIFY) {
            fprintf(stderr, "[%s] close_notify received\n", p->name);
            p->peer_closed = true;
            return;
        }
        fprintf(stderr, "[%s] alert received: level %u description %u\n", p->name, rec->data[0],
                rec->data[1]);
        p->peer_alert = rec->data[1];
        p->peer_alert_received = true;
        if (p->err == 0)
            p->err = CRYPTO_ERR_ALERT_RECEIVED;
        return;
    default:
        fail_with(p, CRYPTO_ERR_UNEXPECTED_MESSAGE, CRYPTO_ALERT_UNEXPECTED_MESSAGE);
        return;
    }
}

static void process_input(interop_peer *p)
{
    while (p->err == 0 && !p->peer_closed) {
        tls_record rec;
        int rc = tls_record_next(&p->rl, &rec);
        if (rc == 0)
            return;
        if (rc < 0) {
            fail_with(p, rc, p->rl.alert);
            return;
        }
        handle_record(p, &rec);
    }
}

/* One round of poll: flush records, pump aux, read and handle records.
 * Returns false once nothing more can happen (error sent, or EOF). */
static bool step(interop_peer *p, int64_t deadline)
{
    struct pollfd fds[2];
    nfds_t n = 0;
    fds[n].fd = p->fd;
    fds[n].events = (short)((p->eof ? 0 : POLLIN) | (p->rl.out.len > 0 ? POLLOUT : 0));
    fds[n].revents = 0;
    n++;
    bool aux = p->aux_fd >= 0 && p->aux_off < p->aux_len;
    if (aux) {
        fds[n].fd = p->aux_fd;
        fds[n].events = POLLOUT;
        fds[n].revents = 0;
        n++;
    }
    int64_t wait = deadline - interop_now_ms();
    if (wait <= 0)
        return false;
    if (poll(fds, n, (int)(wait > 200 ? 200 : wait)) < 0 && errno != EINTR)
        return false;
    if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
        while (p->rl.out.len > 0) {
            ssize_t w = send(p->fd, p->rl.out.data, p->rl.out.len, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                fprintf(stderr, "[%s] send: %s\n", p->name, strerror(errno));
                p->rl.out.len = 0;
                p->eof = true;
                return false;
            }
            tls_bytes_consume(&p->rl.out, (size_t)w);
        }
    }
    if (aux && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t w = write(p->aux_fd, p->aux_data + p->aux_off, p->aux_len - p->aux_off);
        if (w > 0)
            p->aux_off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            fprintf(stderr, "[%s] aux write: %s\n", p->name, strerror(errno));
            p->aux_off = p->aux_len;
        }
    }
    if (!p->eof && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
        uint8_t buf[65536];
        for (;;) {
            ssize_t r = recv(p->fd, buf, sizeof(buf), 0);
            if (r == 0) {
                fprintf(stderr, "[%s] TCP EOF\n", p->name);
                p->eof = true;
                break;
            }
            if (r < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    fprintf(stderr, "[%s] recv: %s\n", p->name, strerror(errno));
                    p->eof = true;
                }
                break;
            }
            if (tls_record_feed(&p->rl, buf, (size_t)r) != 0) {
                fail_with(p, CRYPTO_ERR_NOMEM, CRYPTO_ALERT_INTERNAL_ERROR);
                break;
            }
        }
        process_input(p);
    }
    return true;
}

/* Flush what is queued (an alert after an error) within a short grace time. */
static void flush_out(interop_peer *p, int64_t deadline)
{
    while (p->rl.out.len > 0 && interop_now_ms() < deadline && !p->eof) {
        struct pollfd f = {.fd = p->fd, .events = POLLOUT, .revents = 0};
        if (poll(&f, 1, 100) <= 0)
            continue;
        ssize_t w = send(p->fd, p->rl.out.data, p->rl.out.len, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        tls_bytes_consume(&p->rl.out, (size_t)w);
    }
}

int interop_peer_handshake(interop_peer *p, int64_t deadline)
{
    while (p->err == 0 && !crypto_tls_handshake_done(p->tls)) {
        if (p->eof || p->peer_closed) {
            fprintf(stderr, "[%s] peer closed during the handshake\n", p->name);
            return CRYPTO_ERR_INTERNAL;
        }
        if (!step(p, deadline) && interop_now_ms() >= deadline) {
            fprintf(stderr, "[%s] handshake timed out\n", p->name);
            return CRYPTO_ERR_INTERNAL;
        }
    }
    if (p->err != 0) {
        flush_out(p, interop_now_ms() + 1000);
        return p->err;
    }
    return 0;
}

int interop_peer_exchange(interop_peer *p, const uint8_t *data, size_t len, size_t expect_len,
                          int64_t deadline)
{
    if (len > 0) {
        int rc = tls_record_write(&p->rl, CRYPTO_LEVEL_APP, TLS_CT_APPLICATION_DATA, data, len);
        if (rc != 0)
            return rc;
    }
    while (p->err == 0 &&
           (p->app_in.len < expect_len || p->rl.out.len > 0 || p->aux_off < p->aux_len)) {
        if (p->eof || p->peer_closed) {
            fprintf(stderr, "[%s] peer closed after %zu of %zu bytes\n", p->name, p->app_in.len,
                    expect_len);
            return CRYPTO_ERR_INTERNAL;
        }
        if (!step(p, deadline) && interop_now_ms() >= deadline) {
            fprintf(stderr,
                    "[%s] exchange timed out: received %zu of %zu, %zu unsent, aux %zu/%zu\n",
                    p->name, p->app_in.len, expect_len, p->rl.out.len, p->aux_off, p->aux_len);
            return CRYPTO_ERR_INTERNAL;
        }
    }
    if (p->err != 0) {
        flush_out(p, interop_now_ms() + 1000);
        return p->err;
    }
    return 0;
}

int interop_peer_close(interop_peer *p, int64_t deadline)
{
    int rc = tls_record_write_alert(&p->rl, tls_record_top_level(&p->rl, true),
                                    CRYPTO_ALERT_CLOSE_NOTIFY);
    if (rc != 0)
        return rc;
    flush_out(p, deadline);
    shutdown(p->fd, SHUT_WR);
    while (p->err == 0 && !p->peer_closed && !p->eof) {
        if (!step(p, deadline) && interop_now_ms() >= deadline) {
            fprintf(stderr, "[%s] close timed out\n", p->name);
            return CRYPTO_ERR_INTERNAL;
        }
    }
    return p->err;
}
