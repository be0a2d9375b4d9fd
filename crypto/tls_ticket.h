/* Session tickets and stored sessions: formats, sealing, anti-replay (RFC 8446 §4.6.1, §8). */
#ifndef CRYPTO_TLS_TICKET_H
#define CRYPTO_TLS_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/tls.h"
#include "crypto/tls_msg.h"

/*
 * Two formats of our own, both versioned and parsed by pure functions:
 *
 * - The ticket's plaintext (the server's state, sealed so that the server
 *   keeps nothing per client, RFC 8446 §4.6.1 "stateless"): suite, issue
 *   time, lifetime, ticket_age_add, max_early_data, the PSK, the ALPN, SNI
 *   and the early-data context (QUIC: the transport parameters 0-RTT relies
 *   on, RFC 9000 §7.4.1). Sealed with AES-256-GCM under the current key of a
 *   crypto_tls_tickets: key id (4 bytes, the AAD) | nonce (12) | ciphertext | tag.
 *
 * - The client's session (what on_session hands the application and
 *   config.session gives back): the same facts plus the opaque ticket and
 *   the server's transport parameters.
 */

#define TLS_TICKET_VERSION 1
#define TLS_SESSION_VERSION 1
#define TLS_TICKET_KEY_ID_LEN 4
#define TLS_TICKET_NONCE_LEN 12
#define TLS_TICKET_OVERHEAD (TLS_TICKET_KEY_ID_LEN + TLS_TICKET_NONCE_LEN + 16)
/* RFC 8446 §4.6.1: "Servers MUST NOT use any value greater than 604800 seconds". */
#define TLS_TICKET_MAX_LIFETIME 604800
/* Early data is taken only when the ticket's age the client reports is within
 * this of the age the server computes (RFC 8446 §8.3): clocks may be whole
 * seconds (env->wall_clock without wall_clock_ms), so the window is wide. */
#define TLS_EARLY_AGE_WINDOW_MS 10000

typedef struct tls_ticket_state {
    uint16_t suite;
    int64_t issued_ms;
    uint32_t lifetime;
    uint32_t age_add;
    uint32_t max_early_data;
    crypto_tls_span psk;
    crypto_tls_span alpn;
    crypto_tls_span sni;
    crypto_tls_span context;
} tls_ticket_state;

/* Pure: 0, or CRYPTO_ERR_DECODE_ERROR for anything but a well-formed state. */
int crypto_tls_ticket_state_parse(const uint8_t *data, size_t len, tls_ticket_state *st);
int crypto_tls_ticket_state_encode(const tls_ticket_state *st, uint8_t *buf, size_t cap);

typedef struct crypto_tls_session {
    uint16_t suite;
    int64_t received_ms;
    uint32_t lifetime;
    uint32_t age_add;
    uint32_t max_early_data;
    crypto_tls_span psk;
    crypto_tls_span ticket;
    crypto_tls_span alpn;
    crypto_tls_span sni;
    crypto_tls_span transport_params;
} crypto_tls_session;

/* Pure: 0, or CRYPTO_ERR_PARSE for anything but a well-formed session. */
int crypto_tls_session_parse(const uint8_t *data, size_t len, crypto_tls_session *s);
int crypto_tls_session_encode(const crypto_tls_session *s, uint8_t *buf, size_t cap);

/* Seal st into a ticket (out: at most cap bytes); returns its length. */
int tls_ticket_seal(crypto_tls_tickets *t, const tls_ticket_state *st, int64_t now_unix,
                    uint8_t *out, size_t cap);
/* Open a ticket into plain (cap bytes) and parse it into st (spans into
 * plain). CRYPTO_ERR_DECRYPT for a ticket under no key we hold (another
 * server, a rotated-out key, tampering), CRYPTO_ERR_DECODE_ERROR. */
int tls_ticket_open(crypto_tls_tickets *t, const uint8_t *ticket, size_t len, uint8_t *plain,
                    size_t cap, tls_ticket_state *st);
/* RFC 8446 §8.2: record a ClientHello (by its binder) for early data. True
 * if it was not seen within the window and is now recorded; false for a
 * replay, or when the register is full of live entries (refuse: safe). */
bool tls_ticket_strike(crypto_tls_tickets *t, const uint8_t *binder, size_t len, int64_t now_unix);
uint32_t tls_tickets_lifetime(const crypto_tls_tickets *t);
/* The counters, for the engine to count resumptions and accepted early data. */
crypto_tls_tickets_stats *tls_tickets_stats(crypto_tls_tickets *t);

#endif
