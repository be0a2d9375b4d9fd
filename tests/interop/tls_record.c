/* A TLS 1.3 record layer over a byte stream, for the interop tests only (RFC 8446 §5). */
#include "tests/interop/tls_record.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/hkdf_label.h"
#include "base/cursor.h"

int tls_bytes_append(tls_bytes *b, const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (p == NULL)
            return CRYPTO_ERR_NOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void tls_bytes_consume(tls_bytes *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void tls_bytes_free(tls_bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void tls_record_init(tls_record_layer *rl, const quince_env *env, bool is_client)
{
    memset(rl, 0, sizeof(*rl));
    rl->env = env;
    rl->is_client = is_client;
    rl->read_level = CRYPTO_LEVEL_INITIAL;
    rl->accept_ccs = true;
}

static void key_clear(const quince_env *env, tls_record_key *k)
{
    if (k->aead != NULL)
        crypto_aead_free(env, k->aead);
    memset(k, 0, sizeof(*k));
}

void tls_record_free(tls_record_layer *rl)
{
    for (int i = 0; i < CRYPTO_LEVEL_COUNT; i++) {
        key_clear(rl->env, &rl->read[i]);
        key_clear(rl->env, &rl->write[i]);
    }
    tls_bytes_free(&rl->out);
    tls_bytes_free(&rl->in);
}

/* RFC 8446 §7.3 */
int tls_record_install(tls_record_layer *rl, crypto_level level, bool is_write,
                       const crypto_suite *suite, const uint8_t *secret, size_t secret_len)
{
    if (level <= CRYPTO_LEVEL_INITIAL || level >= CRYPTO_LEVEL_COUNT || suite == NULL ||
        secret_len != crypto_hash_len(suite->hash))
        return CRYPTO_ERR_ARGUMENT;
    uint8_t key[CRYPTO_AEAD_MAX_KEY_LEN];
    size_t key_len = crypto_aead_key_len(suite->aead);
    tls_record_key *k = is_write ? &rl->write[level] : &rl->read[level];
    key_clear(rl->env, k);
    int rc =
        crypto_hkdf_expand_label(suite->hash, secret, secret_len, "key", NULL, 0, key, key_len);
    if (rc == 0)
        rc = crypto_hkdf_expand_label(suite->hash, secret, secret_len, "iv", NULL, 0, k->iv,
                                      sizeof(k->iv));
    if (rc != 0)
        return rc;
    k->aead = crypto_aead_new(rl->env, suite->aead, key);
    memset(key, 0, sizeof(key));
    return k->aead != NULL ? 0 : CRYPTO_ERR_NOMEM;
}

bool tls_record_has_key(const tls_record_layer *rl, crypto_level level, bool is_write)
{
    if (level >= CRYPTO_LEVEL_COUNT)
        return false;
    if (level == CRYPTO_LEVEL_INITIAL)
        return true;
    return (is_write ? rl->write[level] : rl->read[level]).aead != NULL;
}

crypto_level tls_record_top_level(const tls_record_layer *rl, bool is_write)
{
    crypto_level top = CRYPTO_LEVEL_INITIAL;
    for (int i = CRYPTO_LEVEL_INITIAL + 1; i < CRYPTO_LEVEL_COUNT; i++)
        if (tls_record_has_key(rl, (crypto_level)i, is_write))
            top = (crypto_level)i;
    return top;
}

void tls_record_set_read_level(tls_record_layer *rl, crypto_level level)
{
    rl->read_level = level;
}

/* RFC 8446 §5.3: the 64-bit sequence number, big-endian, left-padded to the
 * IV length and XORed with the static IV. */
static void make_nonce(const tls_record_key *k, uint8_t nonce[CRYPTO_AEAD_NONCE_LEN])
{
    memcpy(nonce, k->iv, CRYPTO_AEAD_NONCE_LEN);
    for (int i = 0; i < 8; i++)
        nonce[CRYPTO_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(k->seq >> (8 * i));
}

/* RFC 8446 §5.1 (plaintext) and §5.2 (TLSCiphertext) */
static int write_one(tls_record_layer *rl, crypto_level level, uint8_t type, const uint8_t *data,
                     size_t len)
{
    uint8_t rec[TLS_RECORD_HEADER_LEN + TLS_MAX_PLAINTEXT + 1 + CRYPTO_AEAD_TAG_LEN];
    quince_writer w = quince_writer_init(rec, sizeof(rec));
    if (level == CRYPTO_LEVEL_INITIAL) {
        /* legacy_record_version: 0x0301 is allowed for an initial ClientHello
         * and is what deployed clients send; 0x0303 everywhere else. */
        quince_put_u8(&w, type);
        quince_put_u16(&w, rl->is_client ? 0x0301 : 0x0303);
        quince_put_u16(&w, (uint16_t)len);
        quince_put_bytes(&w, data, len);
        return tls_bytes_append(&rl->out, rec, (size_t)(w.p - rec));
    }
    tls_record_key *k = &rl->write[level];
    if (k->aead == NULL)
        return CRYPTO_ERR_ARGUMENT;
    /* TLSInnerPlaintext: content, real type, no padding. */
    size_t inner = len + 1;
    quince_put_u8(&w, TLS_CT_APPLICATION_DATA);
    quince_put_u16(&w, 0x0303);
    quince_put_u16(&w, (uint16_t)(inner + CRYPTO_AEAD_TAG_LEN));
    uint8_t *body = w.p;
    quince_put_bytes(&w, data, len);
    quince_put_u8(&w, type);
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];
    make_nonce(k, nonce);
    int n = crypto_aead_seal(k->aead, nonce, rec, TLS_RECORD_HEADER_LEN, body, inner, body);
    if (n < 0)
        return n;
    if ((size_t)n != inner + CRYPTO_AEAD_TAG_LEN)
        return CRYPTO_ERR_INTERNAL;
    k->seq++;
    return tls_bytes_append(&rl->out, rec, TLS_RECORD_HEADER_LEN + (size_t)n);
}

int tls_record_write(tls_record_layer *rl, crypto_level level, uint8_t type, const uint8_t *data,
                     size_t len)
{
    if (level >= CRYPTO_LEVEL_COUNT)
        return CRYPTO_ERR_ARGUMENT;
    /* §5.1: no zero-length fragments of Handshake or Alert. */
    if (len == 0 && type != TLS_CT_APPLICATION_DATA)
        return CRYPTO_ERR_ARGUMENT;
    size_t off = 0;
    do {
        size_t n = len - off > TLS_MAX_PLAINTEXT ? TLS_MAX_PLAINTEXT : len - off;
        int rc = write_one(rl, level, type, data + off, n);
        if (rc != 0)
            return rc;
        off += n;
    } while (off < len);
    return 0;
}

/* RFC 8446 §6 */
int tls_record_write_alert(tls_record_layer *rl, crypto_level level, uint8_t description)
{
    uint8_t a[2] = {description == CRYPTO_ALERT_CLOSE_NOTIFY ? TLS_ALERT_LEVEL_WARNING
                                                             : TLS_ALERT_LEVEL_FATAL,
                    description};
    return tls_record_write(rl, level, TLS_CT_ALERT, a, sizeof(a));
}

int tls_record_feed(tls_record_layer *rl, const uint8_t *data, size_t len)
{
    return tls_bytes_append(&rl->in, data, len);
}

static int fail(tls_record_layer *rl, uint8_t alert, int err)
{
    rl->alert = alert;
    return err;
}

static int unexpected(tls_record_layer *rl)
{
    return fail(rl, CRYPTO_ALERT_UNEXPECTED_MESSAGE, CRYPTO_ERR_UNEXPECTED_MESSAGE);
}

/* RFC 8446 §5.1, §5.2, §5.4 */
int tls_record_next(tls_record_layer *rl, tls_record *rec)
{
    for (;;) {
        quince_reader r = quince_reader_init(rl->in.data, rl->in.len);
        uint8_t type;
        uint16_t version, length;
        const uint8_t *body;
        if (!quince_get_u8(&r, &type) || !quince_get_u16(&r, &version) ||
            !quince_get_u16(&r, &length))
            return 0;
        (void)version; /* legacy_record_version: MUST be ignored */
        if (length > TLS_MAX_CIPHERTEXT)
            return fail(rl, TLS_ALERT_RECORD_OVERFLOW, CRYPTO_ERR_DECODE_ERROR);
        if (!quince_get_bytes(&r, length, &body))
            return 0;
        size_t consumed = TLS_RECORD_HEADER_LEN + length;

        /* §5: an unprotected change_cipher_spec of the single byte 0x01 is
         * dropped between the first ClientHello and the peer's Finished. */
        if (type == TLS_CT_CHANGE_CIPHER_SPEC) {
            if (!rl->accept_ccs || length != 1 || body[0] != 0x01)
                return unexpected(rl);
            rl->ccs_dropped++;
            tls_bytes_consume(&rl->in, consumed);
            continue;
        }

        if (rl->read_level == CRYPTO_LEVEL_INITIAL) {
            if (length > TLS_MAX_PLAINTEXT)
                return fail(rl, TLS_ALERT_RECORD_OVERFLOW, CRYPTO_ERR_DECODE_ERROR);
            if (type != TLS_CT_HANDSHAKE && type != TLS_CT_ALERT)
                return unexpected(rl);
            if (length == 0)
                return unexpected(rl);
            memcpy(rl->plain, body, length);
            rec->type = type;
            rec->level = CRYPTO_LEVEL_INITIAL;
            rec->data = rl->plain;
            rec->len = length;
            tls_bytes_consume(&rl->in, consumed);
            return 1;
        }

        /* A peer that has not switched its write key yet sends its alert in
         * the clear: OpenSSL's client does so when it rejects the server's
         * certificate. Take it (two bytes, before the peer's Finished) so
         * that the real reason is reported. */
        if (type == TLS_CT_ALERT && rl->accept_ccs && length == 2) {
            memcpy(rl->plain, body, length);
            rec->type = type;
            rec->level = CRYPTO_LEVEL_INITIAL;
            rec->data = rl->plain;
            rec->len = length;
            tls_bytes_consume(&rl->in, consumed);
            return 1;
        }
        /* Protected: the outer type is always application_data. */
        if (type != TLS_CT_APPLICATION_DATA)
            return unexpected(rl);
        tls_record_key *k = &rl->read[rl->read_level];
        if (k->aead == NULL)
            return fail(rl, CRYPTO_ALERT_INTERNAL_ERROR, CRYPTO_ERR_INTERNAL);
        if (length < CRYPTO_AEAD_TAG_LEN + 1)
            return fail(rl, CRYPTO_ALERT_BAD_RECORD_MAC, CRYPTO_ERR_DECRYPT);
        uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];
        make_nonce(k, nonce);
        int n = crypto_aead_open(k->aead, nonce, rl->in.data, TLS_RECORD_HEADER_LEN, body, length,
                                 rl->plain);
        if (n < 0)
            return fail(rl, CRYPTO_ALERT_BAD_RECORD_MAC, CRYPTO_ERR_DECRYPT);
        k->seq++;
        /* §5.4: the real type is the last non-zero byte; all zeros is an error. */
        size_t plen = (size_t)n;
        while (plen > 0 && rl->plain[plen - 1] == 0)
            plen--;
        if (plen == 0)
            return unexpected(rl);
        uint8_t inner = rl->plain[--plen];
        if (plen > TLS_MAX_PLAINTEXT)
            return fail(rl, TLS_ALERT_RECORD_OVERFLOW, CRYPTO_ERR_DECODE_ERROR);
        if (inner != TLS_CT_HANDSHAKE && inner != TLS_CT_ALERT && inner != TLS_CT_APPLICATION_DATA)
            return unexpected(rl);
        if (plen == 0 && inner != TLS_CT_APPLICATION_DATA)
            return unexpected(rl);
        rec->type = inner;
        rec->level = rl->read_level;
        rec->data = rl->plain;
        rec->len = plen;
        tls_bytes_consume(&rl->in, consumed);
        return 1;
    }
}
