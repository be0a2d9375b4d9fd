/* Our TLS 1.3 endpoint over TCP for the interop tests: engine + record layer + poll loop. */
#ifndef TESTS_INTEROP_INTEROP_PEER_H
#define TESTS_INTEROP_INTEROP_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/tls.h"
#include "tests/interop/tls_record.h"

/*
 * One connection: the engine's handshake bytes travel in records over a
 * non-blocking TCP socket. The loop also pumps an optional "aux" pipe (the
 * standard input of the openssl process), so that a single thread drives
 * both without deadlock. Deadlines are CLOCK_MONOTONIC milliseconds.
 */
typedef struct interop_peer {
    const quince_env *env;
    crypto_tls *tls;
    crypto_tls_callbacks callbacks; /* outlives the engine, which may keep a pointer */
    tls_record_layer rl;
    int fd;
    bool is_server;
    const char *name; /* log prefix */
    /* Outcome. */
    int err;            /* first engine or record-layer error, 0 if none */
    uint8_t sent_alert; /* the alert we sent after err */
    bool alert_sent;
    uint8_t peer_alert; /* description of a fatal alert received */
    bool peer_alert_received;
    bool peer_closed; /* close_notify received */
    bool eof;         /* TCP FIN received */
    bool done_logged;
    tls_bytes app_in; /* application data received */
    size_t records_in;
    /* The aux pipe: data to write to aux_fd, as the socket loop runs. */
    int aux_fd;
    const uint8_t *aux_data;
    size_t aux_len;
    size_t aux_off;
    /* When set: every received handshake message is appended here in the
     * fuzz_tls_client framing (level byte, 16-bit length, bytes). */
    FILE *capture;
    FILE *capture_sent; /* the same for the handshake bytes we send */
} interop_peer;

/* fd: a connected TCP socket (made non-blocking here); the peer owns it. */
int interop_peer_init(interop_peer *p, const quince_env *env, const crypto_tls_config *config,
                      int fd, const char *name);
void interop_peer_free(interop_peer *p);

int64_t interop_now_ms(void);

/* Run until the handshake completes (0), fails (the error) or the deadline
 * passes (CRYPTO_ERR_INTERNAL, logged). */
int interop_peer_handshake(interop_peer *p, int64_t deadline);
/* Send data as application data and run until expect_len bytes have arrived
 * in app_in and every byte (ours and aux) has been written. */
int interop_peer_exchange(interop_peer *p, const uint8_t *data, size_t len, size_t expect_len,
                          int64_t deadline);
/* Send close_notify, half-close, and run until the peer closes (close_notify
 * or FIN). */
int interop_peer_close(interop_peer *p, int64_t deadline);

#endif
