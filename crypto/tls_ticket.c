/* Session tickets and stored sessions: formats, sealing, anti-replay (RFC 8446 §4.6.1, §8). */
#include "crypto/tls_ticket.h"

#include <string.h>

#include "base/cursor.h"
#include "crypto/backend.h"

#define DEFAULT_LIFETIME 86400
#define DEFAULT_REPLAY_SLOTS 4096
#define STRIKE_ID_LEN 16

typedef struct ticket_key {
    uint8_t id[TLS_TICKET_KEY_ID_LEN];
    crypto_aead *aead;
    int64_t created;
} ticket_key;

typedef struct strike {
    uint8_t id[STRIKE_ID_LEN];
    int64_t expires; /* 0: free */
} strike;

struct crypto_tls_tickets {
    const quince_env *env;
    uint32_t lifetime;
    ticket_key keys[2]; /* [cur] seals; both open */
    size_t cur;
    strike *strikes;
    size_t n_strikes;
    crypto_tls_tickets_stats stats;
};

static bool new_key(crypto_tls_tickets *t, ticket_key *k, int64_t now)
{
    uint8_t key[32];
    quince_env_random(t->env, key, sizeof(key));
    quince_env_random(t->env, k->id, sizeof(k->id));
    crypto_aead *a = crypto_aead_new(t->env, CRYPTO_AEAD_AES_256_GCM, key);
    memset(key, 0, sizeof(key));
    if (a == NULL)
        return false;
    if (k->aead != NULL)
        crypto_aead_free(t->env, k->aead);
    k->aead = a;
    k->created = now;
    return true;
}

/* RFC 8446 §4.6.1 */
crypto_tls_tickets *crypto_tls_tickets_new(const quince_env *env, uint32_t lifetime_s,
                                           size_t replay_slots)
{
    if (env == NULL || lifetime_s > TLS_TICKET_MAX_LIFETIME)
        return NULL;
    crypto_tls_tickets *t = quince_env_calloc(env, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->env = env;
    t->lifetime = lifetime_s ? lifetime_s : DEFAULT_LIFETIME;
    t->n_strikes = replay_slots ? replay_slots : DEFAULT_REPLAY_SLOTS;
    t->strikes = quince_env_calloc(env, t->n_strikes * sizeof(strike));
    int64_t now = env->wall_clock != NULL ? env->wall_clock(env->user) : 0;
    if (t->strikes == NULL || !new_key(t, &t->keys[0], now)) {
        crypto_tls_tickets_free(t);
        return NULL;
    }
    return t;
}

/* RFC 8446 §4.6.1 */
void crypto_tls_tickets_rotate(crypto_tls_tickets *t, int64_t now_unix)
{
    if (t == NULL)
        return;
    size_t next = 1 - t->cur;
    if (new_key(t, &t->keys[next], now_unix))
        t->cur = next;
}

/* (no RFC section) */
void crypto_tls_tickets_free(crypto_tls_tickets *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < 2; i++)
        if (t->keys[i].aead != NULL)
            crypto_aead_free(t->env, t->keys[i].aead);
    quince_env_free(t->env, t->strikes);
    quince_env_free(t->env, t);
}

/* (no RFC section) */
const crypto_tls_tickets_stats *crypto_tls_tickets_get_stats(const crypto_tls_tickets *t)
{
    return t != NULL ? &t->stats : NULL;
}

crypto_tls_tickets_stats *tls_tickets_stats(crypto_tls_tickets *t)
{
    return &t->stats;
}

uint32_t tls_tickets_lifetime(const crypto_tls_tickets *t)
{
    return t->lifetime;
}

static bool get_span(quince_reader *r, int prefix, crypto_tls_span *out)
{
    size_t len;
    if (prefix == 1) {
        uint8_t l;
        if (!quince_get_u8(r, &l))
            return false;
        len = l;
    } else {
        uint16_t l;
        if (!quince_get_u16(r, &l))
            return false;
        len = l;
    }
    out->len = len;
    return quince_get_bytes(r, len, &out->p);
}

static void put_span(quince_writer *w, int prefix, crypto_tls_span s)
{
    size_t max = prefix == 1 ? 0xff : 0xffff;
    if (s.len > max) {
        w->overflow = true;
        return;
    }
    if (prefix == 1)
        quince_put_u8(w, (uint8_t)s.len);
    else
        quince_put_u16(w, (uint16_t)s.len);
    quince_put_bytes(w, s.p, s.len);
}

static bool psk_len_ok(uint16_t suite, size_t len)
{
    const crypto_suite *cs = crypto_suite_by_id(suite);
    return cs != NULL && crypto_hash_len(cs->hash) == len;
}

int crypto_tls_ticket_state_parse(const uint8_t *data, size_t len, tls_ticket_state *st)
{
    memset(st, 0, sizeof(*st));
    quince_reader r = quince_reader_init(data, len);
    uint8_t version;
    uint64_t issued;
    if (!quince_get_u8(&r, &version) || version != TLS_TICKET_VERSION ||
        !quince_get_u16(&r, &st->suite) || !quince_get_u64(&r, &issued) ||
        !quince_get_u32(&r, &st->lifetime) || !quince_get_u32(&r, &st->age_add) ||
        !quince_get_u32(&r, &st->max_early_data) || !get_span(&r, 1, &st->psk) ||
        !get_span(&r, 1, &st->alpn) || !get_span(&r, 1, &st->sni) ||
        !get_span(&r, 2, &st->context) || !quince_reader_empty(&r))
        return CRYPTO_ERR_DECODE_ERROR;
    if (!psk_len_ok(st->suite, st->psk.len) || st->lifetime > TLS_TICKET_MAX_LIFETIME ||
        issued > (uint64_t)INT64_MAX)
        return CRYPTO_ERR_DECODE_ERROR;
    st->issued_ms = (int64_t)issued;
    return 0;
}

int crypto_tls_ticket_state_encode(const tls_ticket_state *st, uint8_t *buf, size_t cap)
{
    quince_writer w = quince_writer_init(buf, cap);
    quince_put_u8(&w, TLS_TICKET_VERSION);
    quince_put_u16(&w, st->suite);
    quince_put_u64(&w, (uint64_t)st->issued_ms);
    quince_put_u32(&w, st->lifetime);
    quince_put_u32(&w, st->age_add);
    quince_put_u32(&w, st->max_early_data);
    put_span(&w, 1, st->psk);
    put_span(&w, 1, st->alpn);
    put_span(&w, 1, st->sni);
    put_span(&w, 2, st->context);
    return w.overflow ? CRYPTO_ERR_BUFFER_TOO_SMALL : (int)(w.p - buf);
}

int crypto_tls_session_parse(const uint8_t *data, size_t len, crypto_tls_session *s)
{
    memset(s, 0, sizeof(*s));
    if (data == NULL)
        return CRYPTO_ERR_PARSE;
    quince_reader r = quince_reader_init(data, len);
    uint8_t version;
    uint64_t received;
    if (!quince_get_u8(&r, &version) || version != TLS_SESSION_VERSION ||
        !quince_get_u16(&r, &s->suite) || !quince_get_u64(&r, &received) ||
        !quince_get_u32(&r, &s->lifetime) || !quince_get_u32(&r, &s->age_add) ||
        !quince_get_u32(&r, &s->max_early_data) || !get_span(&r, 1, &s->psk) ||
        !get_span(&r, 2, &s->ticket) || !get_span(&r, 1, &s->alpn) || !get_span(&r, 1, &s->sni) ||
        !get_span(&r, 2, &s->transport_params) || !quince_reader_empty(&r))
        return CRYPTO_ERR_PARSE;
    if (!psk_len_ok(s->suite, s->psk.len) || s->ticket.len == 0 ||
        s->lifetime > TLS_TICKET_MAX_LIFETIME || received > (uint64_t)INT64_MAX)
        return CRYPTO_ERR_PARSE;
    s->received_ms = (int64_t)received;
    return 0;
}

int crypto_tls_session_encode(const crypto_tls_session *s, uint8_t *buf, size_t cap)
{
    quince_writer w = quince_writer_init(buf, cap);
    quince_put_u8(&w, TLS_SESSION_VERSION);
    quince_put_u16(&w, s->suite);
    quince_put_u64(&w, (uint64_t)s->received_ms);
    quince_put_u32(&w, s->lifetime);
    quince_put_u32(&w, s->age_add);
    quince_put_u32(&w, s->max_early_data);
    put_span(&w, 1, s->psk);
    put_span(&w, 2, s->ticket);
    put_span(&w, 1, s->alpn);
    put_span(&w, 1, s->sni);
    put_span(&w, 2, s->transport_params);
    return w.overflow ? CRYPTO_ERR_BUFFER_TOO_SMALL : (int)(w.p - buf);
}

/* The AEAD nonce: 12 random bytes per ticket (a key seals at most a few
 * million tickets before it rotates: far from GCM's random-nonce bound). */
int tls_ticket_seal(crypto_tls_tickets *t, const tls_ticket_state *st, int64_t now_unix,
                    uint8_t *out, size_t cap)
{
    ticket_key *k = &t->keys[t->cur];
    if (now_unix - k->created >= (int64_t)t->lifetime)
        crypto_tls_tickets_rotate(t, now_unix);
    k = &t->keys[t->cur];
    if (cap < TLS_TICKET_OVERHEAD)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    uint8_t *body = out + TLS_TICKET_KEY_ID_LEN + TLS_TICKET_NONCE_LEN;
    int n = crypto_tls_ticket_state_encode(st, body, cap - TLS_TICKET_OVERHEAD);
    if (n < 0)
        return n;
    memcpy(out, k->id, TLS_TICKET_KEY_ID_LEN);
    uint8_t *nonce = out + TLS_TICKET_KEY_ID_LEN;
    quince_env_random(t->env, nonce, TLS_TICKET_NONCE_LEN);
    int sealed =
        crypto_aead_seal(k->aead, nonce, out, TLS_TICKET_KEY_ID_LEN, body, (size_t)n, body);
    if (sealed < 0)
        return sealed;
    t->stats.issued++;
    return TLS_TICKET_KEY_ID_LEN + TLS_TICKET_NONCE_LEN + sealed;
}

int tls_ticket_open(crypto_tls_tickets *t, const uint8_t *ticket, size_t len, uint8_t *plain,
                    size_t cap, tls_ticket_state *st)
{
    if (len < TLS_TICKET_OVERHEAD || len - TLS_TICKET_OVERHEAD > cap)
        return CRYPTO_ERR_DECRYPT;
    for (size_t i = 0; i < 2; i++) {
        ticket_key *k = &t->keys[(t->cur + i) % 2];
        if (k->aead == NULL || memcmp(k->id, ticket, TLS_TICKET_KEY_ID_LEN) != 0)
            continue;
        const uint8_t *nonce = ticket + TLS_TICKET_KEY_ID_LEN;
        const uint8_t *ct = nonce + TLS_TICKET_NONCE_LEN;
        int n = crypto_aead_open(k->aead, nonce, ticket, TLS_TICKET_KEY_ID_LEN, ct,
                                 len - TLS_TICKET_KEY_ID_LEN - TLS_TICKET_NONCE_LEN, plain);
        if (n < 0)
            return CRYPTO_ERR_DECRYPT;
        return crypto_tls_ticket_state_parse(plain, (size_t)n, st);
    }
    return CRYPTO_ERR_DECRYPT;
}

/* RFC 8446 §8.2: a bounded register of the ClientHellos that carried early
 * data, each kept as long as it could be replayed with an acceptable age. */
bool tls_ticket_strike(crypto_tls_tickets *t, const uint8_t *binder, size_t len, int64_t now_unix)
{
    uint8_t id[STRIKE_ID_LEN] = {0};
    memcpy(id, binder, len < STRIKE_ID_LEN ? len : STRIKE_ID_LEN);
    /* Open addressing from the id's first bytes: probing is bounded by the size. */
    size_t start = (((size_t)id[0] << 24) | ((size_t)id[1] << 16) | ((size_t)id[2] << 8) | id[3]) %
                   t->n_strikes;
    strike *free_slot = NULL;
    for (size_t i = 0; i < t->n_strikes; i++) {
        strike *s = &t->strikes[(start + i) % t->n_strikes];
        bool live = s->expires > now_unix;
        if (live && memcmp(s->id, id, STRIKE_ID_LEN) == 0) {
            t->stats.early_replayed++;
            return false;
        }
        if (!live && free_slot == NULL)
            free_slot = s;
        if (s->expires == 0)
            break; /* never used: nothing further along this probe */
    }
    if (free_slot == NULL)
        return false;
    memcpy(free_slot->id, id, STRIKE_ID_LEN);
    free_slot->expires = now_unix + TLS_EARLY_AGE_WINDOW_MS / 1000 + 2;
    return true;
}
