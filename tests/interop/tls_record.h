/* A TLS 1.3 record layer over a byte stream, for the interop tests only (RFC 8446 §5). */
#ifndef TESTS_INTEROP_TLS_RECORD_H
#define TESTS_INTEROP_TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/backend.h"
#include "crypto/tls.h"

/*
 * The engine (crypto/tls.h) speaks handshake messages per encryption level,
 * as QUIC wants; TLS over TCP adds records around them. This layer is pure:
 * bytes from the socket go in with tls_record_feed, records to send collect
 * in `out`. Which read key protects the next record is the caller's choice
 * (tls_record_set_read_level), since only the handshake knows when it moves.
 */

/* ContentType (RFC 8446 §5.1). */
#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT 21
#define TLS_CT_HANDSHAKE 22
#define TLS_CT_APPLICATION_DATA 23

#define TLS_ALERT_LEVEL_WARNING 1
#define TLS_ALERT_LEVEL_FATAL 2
#define TLS_ALERT_RECORD_OVERFLOW 22 /* not used by the engine, so not in tls.h */

#define TLS_RECORD_HEADER_LEN 5
#define TLS_MAX_PLAINTEXT 16384          /* 2^14 */
#define TLS_MAX_CIPHERTEXT (16384 + 256) /* 2^14 + 256 */

/* A growable byte buffer (malloc: this is test code, outside quince_env). */
typedef struct tls_bytes {
    uint8_t *data;
    size_t len;
    size_t cap;
} tls_bytes;

int tls_bytes_append(tls_bytes *b, const uint8_t *data, size_t len);
void tls_bytes_consume(tls_bytes *b, size_t n);
void tls_bytes_free(tls_bytes *b);

/* One direction's key at one level: AEAD, static IV and sequence number (§5.3). */
typedef struct tls_record_key {
    crypto_aead *aead;
    uint8_t iv[CRYPTO_AEAD_NONCE_LEN];
    uint64_t seq;
} tls_record_key;

typedef struct tls_record_layer {
    const quince_env *env;
    bool is_client;
    tls_record_key read[CRYPTO_LEVEL_COUNT];
    tls_record_key write[CRYPTO_LEVEL_COUNT];
    crypto_level read_level; /* INITIAL: records are not protected */
    bool accept_ccs; /* until the peer's Finished: drop a ChangeCipherSpec, take a clear alert */
    tls_bytes out;   /* records ready for the socket */
    tls_bytes in;    /* bytes from the socket not yet parsed */
    uint8_t plain[TLS_MAX_CIPHERTEXT];
    uint8_t alert; /* after an error: the alert to send */
    size_t ccs_dropped;
} tls_record_layer;

/* One record as received: its content type and level, and its plaintext
 * (valid until the next call). */
typedef struct tls_record {
    uint8_t type;
    crypto_level level;
    const uint8_t *data;
    size_t len;
} tls_record;

void tls_record_init(tls_record_layer *rl, const quince_env *env, bool is_client);
void tls_record_free(tls_record_layer *rl);

/* RFC 8446 §7.3: key = HKDF-Expand-Label(secret, "key", "", key_length),
 * iv = HKDF-Expand-Label(secret, "iv", "", iv_length); the sequence number
 * starts again at 0. */
int tls_record_install(tls_record_layer *rl, crypto_level level, bool is_write,
                       const crypto_suite *suite, const uint8_t *secret, size_t secret_len);
bool tls_record_has_key(const tls_record_layer *rl, crypto_level level, bool is_write);
/* The highest level with a key installed, INITIAL if none. */
crypto_level tls_record_top_level(const tls_record_layer *rl, bool is_write);
void tls_record_set_read_level(tls_record_layer *rl, crypto_level level);

/* Append records of `type` holding data to `out`, cut at 2^14 bytes, protected
 * with the write key of level (INITIAL: plaintext). Handshake and alert data
 * must not be empty. Returns 0 or a negative CRYPTO_ERR_*. */
int tls_record_write(tls_record_layer *rl, crypto_level level, uint8_t type, const uint8_t *data,
                     size_t len);
/* An alert record (fatal unless close_notify). */
int tls_record_write_alert(tls_record_layer *rl, crypto_level level, uint8_t description);

int tls_record_feed(tls_record_layer *rl, const uint8_t *data, size_t len);
/* The next complete record: 1 and *rec filled, 0 if more bytes are needed,
 * or a negative CRYPTO_ERR_* with rl->alert set to the alert to send
 * (bad_record_mac, record_overflow, unexpected_message, decode_error). */
int tls_record_next(tls_record_layer *rl, tls_record *rec);

#endif
