/* QUIC server endpoint: many connections on one socket, VN, Retry, stateless reset (RFC 9000 §5.2,
 * §6, §8.1, §10.3). */
#include "quic/endpoint.h"

#include <string.h>

#include "crypto/backend.h"
#include "quic/conn_internal.h"
#include "quic/packet.h"
#include "base/varint.h"

#define STATELESS_QUEUE QUIC_OPT_STATELESS_QUEUE
#define STATELESS_MAX 1300

/*
 * What the endpoint does per datagram and per timer does not grow with the number of
 * connections: a hash map from CID to connection kept up to date as CIDs come and go (the
 * connection tells quic_endpoint_on_cid), a binary heap of connections by their next
 * timeout, and a queue of connections that may have something to send (woken by a datagram
 * received, a timer, or the application through quic_conn_wake). Each connection knows its
 * index in the table (quic_conn.ep_slot); its entry knows its heap index and its queue links.
 */
typedef struct ep_conn {
    quic_conn *conn;
    quic_cid_value first_dcid; /* the DCID of the client Initial that created it */
    bool accepted;             /* returned by quic_endpoint_accept */
    bool queued;               /* in the send queue */
    quic_conn *q_prev, *q_next;
    uint64_t timer; /* its next timeout when last asked: the heap's key */
    size_t heap_at;
    bool half_open;   /* counted in the endpoint's half-open totals (handshake not done) */
    uint8_t host[17]; /* the client's address family and IP: the per-address key */
} ep_conn;

/* A token bucket: at most rate a second, in bursts of at most rate. */
typedef struct rate_bucket {
    uint64_t last; /* when tokens was last topped up */
    uint32_t tokens;
    bool started;
} rate_bucket;

typedef struct stateless_pkt {
    quic_addr to;
    size_t len;
    uint8_t data[STATELESS_MAX];
} stateless_pkt;

/* Half-open connections per client address, for admit(): the same kind of table. */
typedef struct host_slot {
    uint32_t count; /* 0: empty */
    uint8_t host[17];
} host_slot;

/* Open addressing, linear probing, deletion by backward shift; at most half full. */
typedef struct cid_slot {
    quic_conn *conn; /* NULL: empty */
    uint8_t len;
    uint8_t cid[QUIC_MAX_CID_LEN];
} cid_slot;

struct quic_endpoint {
    const quince_env *env;
    cid_slot *map;
    size_t map_cap, map_used; /* capacity a power of two */
    uint64_t hash_key[2];     /* keyed hashing: a peer cannot aim CIDs at one chain */
    quic_config cfg;
    ep_conn *conns;
    size_t n, cap;
    quic_conn **heap; /* n entries, ordered by ep_conn.timer */
    quic_conn *q_head, *q_tail;
    quic_conn *train;  /* the connection whose turn it is */
    size_t train_sent; /* datagrams it gave in this turn */
    stateless_pkt *sq;
    size_t sq_head, sq_count;
    crypto_aead *token_aead;
    quic_endpoint_stats stats;
    quic_endpoint_callbacks cb;
    quic_conn *last;   /* the connection of the last datagram received */
    uint8_t rx_ecn;    /* ECN codepoint of the datagram being received */
    uint8_t tx_ecn;    /* ECN codepoint for the datagram quic_endpoint_send wrote last */
    size_t unaccepted; /* connections quic_endpoint_accept has not returned yet */
    rate_bucket resets, vns;
    quince_budget mem; /* its connections' budgets together (quic_config.max_endpoint_memory) */
    size_t half_open;  /* connections whose handshake is not done, and per address: */
    host_slot *hosts;
    size_t hosts_cap, hosts_used;
};

/* RFC 9000 §5.2 */
quic_endpoint *quic_endpoint_new(const quince_env *env, const quic_config *config)
{
    if (env == NULL || config == NULL)
        return NULL;
    quic_endpoint *ep = quince_env_calloc(env, sizeof(*ep));
    if (ep == NULL)
        return NULL;
    ep->env = env;
    ep->cfg = *config;
    ep->cfg.is_server = true;
    if (ep->cfg.cid_len == 0)
        ep->cfg.cid_len = QUIC_OPT_CID_LEN; /* demultiplexing needs CIDs */
#define DEF(f, v)                                                                                  \
    if (ep->cfg.f == 0)                                                                            \
    ep->cfg.f = (v)
    DEF(max_connections, QUIC_OPT_MAX_CONNECTIONS);
    DEF(max_half_open, QUIC_OPT_MAX_HALF_OPEN);
    DEF(max_half_open_per_addr, QUIC_OPT_MAX_HALF_OPEN_PER_ADDR);
    DEF(retry_threshold, QUIC_OPT_RETRY_THRESHOLD);
    DEF(stateless_reset_rate, QUIC_OPT_STATELESS_RESET_RATE);
    DEF(vn_rate, QUIC_OPT_VN_RATE);
    DEF(max_endpoint_memory, QUIC_OPT_MAX_ENDPOINT_MEMORY);
#undef DEF
    ep->mem.limit = ep->cfg.max_endpoint_memory;
    static const uint8_t zero[32];
    if (memcmp(ep->cfg.reset_key, zero, sizeof(zero)) == 0)
        quince_env_random(env, ep->cfg.reset_key, sizeof(ep->cfg.reset_key));
    uint8_t key[16];
    quince_env_random(env, key, sizeof(key));
    ep->token_aead = crypto_aead_new(env, CRYPTO_AEAD_AES_128_GCM, key);
    memset(key, 0, sizeof(key));
    /* The stateless queue is allocated when its first packet waits (issue 14). */
    quince_env_random(env, (uint8_t *)ep->hash_key, sizeof(ep->hash_key));
    if (ep->token_aead == NULL) {
        quic_endpoint_free(ep);
        return NULL;
    }
    return ep;
}

/* (no RFC section) */
void quic_endpoint_free(quic_endpoint *ep)
{
    if (ep == NULL)
        return;
    for (size_t i = 0; i < ep->n; i++) {
        if (ep->cb.on_conn_free != NULL)
            ep->cb.on_conn_free(ep->cb.user, ep->conns[i].conn);
        ep->conns[i].conn->ep = NULL;
        quic_conn_free(ep->conns[i].conn);
    }
    quince_env_free(ep->env, ep->conns);
    quince_env_free(ep->env, ep->heap);
    quince_env_free(ep->env, ep->map);
    quince_env_free(ep->env, ep->hosts);
    quince_env_free(ep->env, ep->sq);
    if (ep->token_aead != NULL)
        crypto_aead_free(ep->env, ep->token_aead);
    quince_env_free(ep->env, ep);
}

/* (no RFC section) */
void quic_endpoint_set_callbacks(quic_endpoint *ep, const quic_endpoint_callbacks *cb)
{
    if (ep == NULL)
        return;
    if (cb != NULL)
        ep->cb = *cb;
    else
        memset(&ep->cb, 0, sizeof(ep->cb));
}

/* (no RFC section) */
quic_conn *quic_endpoint_last_conn(const quic_endpoint *ep)
{
    return ep != NULL ? ep->last : NULL;
}

/* RFC 9000 §13.4.2 */
uint8_t quic_endpoint_ecn(const quic_endpoint *ep)
{
    return ep != NULL ? ep->tx_ecn : QUIC_ECN_NOT_ECT;
}

/* (no RFC section) */
const quic_endpoint_stats *quic_endpoint_get_stats(const quic_endpoint *ep)
{
    return ep != NULL ? &ep->stats : NULL;
}

static size_t addr_bytes(const quic_addr *a, uint8_t *out)
{
    out[0] = a != NULL ? a->family : 0;
    memcpy(out + 1, a != NULL ? a->ip : (const uint8_t[16]){0}, 16);
    out[17] = (uint8_t)((a != NULL ? a->port : 0) >> 8);
    out[18] = (uint8_t)(a != NULL ? a->port : 0);
    return 19;
}

/* RFC 9000 §8.1.2: a token bound to the client's address. */
int quic_endpoint_make_token(quic_endpoint *ep, const quic_addr *addr, const quic_cid_value *odcid,
                             const quic_cid_value *rscid, uint64_t now, uint8_t *out, size_t cap)
{
    uint8_t plain[8 + 1 + 20 + 1 + 20];
    size_t n = 0;
    for (int i = 7; i >= 0; i--)
        plain[n++] = (uint8_t)(now >> (8 * i));
    plain[n++] = odcid->len;
    memcpy(plain + n, odcid->bytes, odcid->len);
    n += odcid->len;
    plain[n++] = rscid->len;
    memcpy(plain + n, rscid->bytes, rscid->len);
    n += rscid->len;
    if (cap < CRYPTO_AEAD_NONCE_LEN + n + CRYPTO_AEAD_TAG_LEN)
        return QUIC_ERR_BUFFER_TOO_SMALL;
    uint8_t aad[19];
    addr_bytes(addr, aad);
    quince_env_random(ep->env, out, CRYPTO_AEAD_NONCE_LEN);
    int k = crypto_aead_seal(ep->token_aead, out, aad, sizeof(aad), plain, n,
                             out + CRYPTO_AEAD_NONCE_LEN);
    if (k < 0)
        return QUIC_ERR_INTERNAL;
    return CRYPTO_AEAD_NONCE_LEN + k;
}

/* NEW_TOKEN tokens are bound to the address without its port; 'N' first keeps
 * a Retry token from ever opening as one and the other way round. */
static void new_token_aad(const quic_addr *addr, uint8_t aad[20])
{
    aad[0] = QUIC_NEW_TOKEN_MARK;
    addr_bytes(addr, aad + 1);
    aad[18] = aad[19] = 0;
}

/* RFC 9000 §8.1.3 */
int quic_endpoint_make_new_token(quic_endpoint *ep, const quic_addr *addr, uint64_t now,
                                 uint8_t *out, size_t cap)
{
    if (cap < QUIC_NEW_TOKEN_LEN)
        return QUIC_ERR_BUFFER_TOO_SMALL;
    uint8_t plain[8], aad[20];
    for (int i = 7; i >= 0; i--)
        plain[7 - i] = (uint8_t)(now >> (8 * i));
    new_token_aad(addr, aad);
    out[0] = QUIC_NEW_TOKEN_MARK;
    quince_env_random(ep->env, out + 1, CRYPTO_AEAD_NONCE_LEN);
    int k = crypto_aead_seal(ep->token_aead, out + 1, aad, sizeof(aad), plain, sizeof(plain),
                             out + 1 + CRYPTO_AEAD_NONCE_LEN);
    return k < 0 ? QUIC_ERR_INTERNAL : 1 + CRYPTO_AEAD_NONCE_LEN + k;
}

int quic_endpoint_check_new_token(quic_endpoint *ep, const quic_addr *addr, const uint8_t *token,
                                  size_t len, uint64_t now)
{
    if (len != QUIC_NEW_TOKEN_LEN || token[0] != QUIC_NEW_TOKEN_MARK)
        return QUIC_ERR_DROP;
    uint8_t plain[8 + CRYPTO_AEAD_TAG_LEN], aad[20];
    new_token_aad(addr, aad);
    int k =
        crypto_aead_open(ep->token_aead, token + 1, aad, sizeof(aad),
                         token + 1 + CRYPTO_AEAD_NONCE_LEN, len - 1 - CRYPTO_AEAD_NONCE_LEN, plain);
    if (k != 8)
        return QUIC_ERR_DROP;
    uint64_t issued = 0;
    for (int i = 0; i < 8; i++)
        issued = (issued << 8) | plain[i];
    if (now < issued || now - issued > (uint64_t)QUIC_OPT_NEW_TOKEN_LIFETIME_S * 1000000)
        return QUIC_ERR_DROP;
    return QUIC_OK;
}

int quic_endpoint_check_token(quic_endpoint *ep, const quic_addr *addr, const uint8_t *token,
                              size_t len, uint64_t now, quic_cid_value *odcid,
                              quic_cid_value *rscid)
{
    uint8_t plain[QUIC_RETRY_TOKEN_MAX];
    if (len < CRYPTO_AEAD_NONCE_LEN + CRYPTO_AEAD_TAG_LEN + 10 || len > QUIC_RETRY_TOKEN_MAX)
        return QUIC_ERR_DROP;
    uint8_t aad[19];
    addr_bytes(addr, aad);
    int k = crypto_aead_open(ep->token_aead, token, aad, sizeof(aad), token + CRYPTO_AEAD_NONCE_LEN,
                             len - CRYPTO_AEAD_NONCE_LEN, plain);
    if (k < 10)
        return QUIC_ERR_DROP;
    uint64_t issued = 0;
    for (int i = 0; i < 8; i++)
        issued = (issued << 8) | plain[i];
    if (now < issued || now - issued > (uint64_t)QUIC_OPT_RETRY_TOKEN_LIFETIME_MS * 1000)
        return QUIC_ERR_DROP;
    size_t p = 8;
    odcid->len = plain[p++];
    if (odcid->len > QUIC_MAX_CID_LEN || p + odcid->len + 1 > (size_t)k)
        return QUIC_ERR_DROP;
    memcpy(odcid->bytes, plain + p, odcid->len);
    p += odcid->len;
    rscid->len = plain[p++];
    if (rscid->len > QUIC_MAX_CID_LEN || p + rscid->len != (size_t)k)
        return QUIC_ERR_DROP;
    memcpy(rscid->bytes, plain + p, rscid->len);
    return QUIC_OK;
}

/* RFC 9000 §10.3, §21.1: stateless answers are cheap for an attacker to provoke; a bucket
 * bounds how many go out. */
static bool rate_take(rate_bucket *b, uint32_t rate, uint64_t now)
{
    if (!b->started || now < b->last) {
        b->started = true;
        b->tokens = rate;
        b->last = now;
    }
    uint64_t elapsed = now - b->last;
    if (elapsed > 1000000)
        elapsed = 1000000; /* a second refills the bucket whole */
    uint64_t add = elapsed * rate / 1000000;
    if (add > 0) {
        if (add >= rate - b->tokens) {
            b->tokens = rate;
            b->last = now;
        } else {
            b->tokens += (uint32_t)add;
            b->last += add * 1000000 / rate; /* keep the fraction of a token earned */
        }
    }
    if (b->tokens == 0)
        return false;
    b->tokens--;
    return true;
}

static stateless_pkt *sq_push(quic_endpoint *ep, const quic_addr *to)
{
    if (ep->sq_count >= STATELESS_QUEUE) {
        ep->stats.dropped++; /* a flood: stay silent rather than queue without bound */
        return NULL;
    }
    /* Allocated for the first packet, freed when quic_endpoint_send empties it. */
    if (ep->sq == NULL && (ep->sq = quince_env_alloc(ep->env, STATELESS_QUEUE * sizeof(stateless_pkt))) == NULL)
        return NULL;
    stateless_pkt *s = &ep->sq[(ep->sq_head + ep->sq_count) % STATELESS_QUEUE];
    ep->sq_count++;
    if (to != NULL)
        s->to = *to;
    else
        memset(&s->to, 0, sizeof(s->to));
    s->len = 0;
    return s;
}

/* SipHash-like mixing is more than a table needs; a keyed multiply-xorshift over the
 * bytes, finished with a 64-bit avalanche, spreads any CIDs a peer picks. */
static size_t cid_hash(const quic_endpoint *ep, const uint8_t *cid, size_t len)
{
    uint64_t h = ep->hash_key[0] ^ len;
    for (size_t i = 0; i < len; i++)
        h = (h ^ cid[i]) * 0x100000001b3ull + ep->hash_key[1];
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h;
}

static void map_insert(quic_endpoint *ep, const uint8_t *cid, size_t len, quic_conn *c)
{
    size_t mask = ep->map_cap - 1;
    for (size_t i = cid_hash(ep, cid, len) & mask;; i = (i + 1) & mask) {
        cid_slot *sl = &ep->map[i];
        if (sl->conn == NULL) {
            sl->conn = c;
            sl->len = (uint8_t)len;
            memcpy(sl->cid, cid, len);
            ep->map_used++;
            return;
        }
    }
}

/* Double the table (or make the first); false when out of memory. */
static bool map_grow(quic_endpoint *ep)
{
    /* 16 slots hold a first connection's CIDs at most half full; doubling after that. */
    size_t cap = ep->map_cap ? ep->map_cap * 2 : 16;
    cid_slot *old = ep->map, *m = quince_env_calloc(ep->env, cap * sizeof(*m));
    if (m == NULL)
        return false;
    size_t old_cap = ep->map_cap;
    ep->map = m;
    ep->map_cap = cap;
    ep->map_used = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].conn != NULL)
            map_insert(ep, old[i].cid, old[i].len, old[i].conn);
    quince_env_free(ep->env, old);
    return true;
}

static bool map_put(quic_endpoint *ep, const uint8_t *cid, size_t len, quic_conn *c)
{
    if (2 * (ep->map_used + 1) > ep->map_cap && !map_grow(ep))
        return false;
    map_insert(ep, cid, len, c);
    return true;
}

static quic_conn *map_get(const quic_endpoint *ep, const uint8_t *cid, size_t len)
{
    if (ep->map_cap == 0)
        return NULL;
    size_t mask = ep->map_cap - 1;
    for (size_t i = cid_hash(ep, cid, len) & mask; ep->map[i].conn != NULL; i = (i + 1) & mask) {
        const cid_slot *sl = &ep->map[i];
        if (sl->len == len && memcmp(sl->cid, cid, len) == 0)
            return sl->conn;
    }
    return NULL;
}

/* Remove the (cid, c) entry; later entries of the chain move back into the hole. */
static void map_del(quic_endpoint *ep, const uint8_t *cid, size_t len, const quic_conn *c)
{
    if (ep->map_cap == 0)
        return;
    size_t mask = ep->map_cap - 1, i = cid_hash(ep, cid, len) & mask;
    for (;; i = (i + 1) & mask) {
        const cid_slot *sl = &ep->map[i];
        if (sl->conn == NULL)
            return;
        if (sl->conn == c && sl->len == len && memcmp(sl->cid, cid, len) == 0)
            break;
    }
    ep->map_used--;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        cid_slot *sl = &ep->map[j];
        if (sl->conn == NULL)
            break;
        size_t home = cid_hash(ep, sl->cid, sl->len) & mask;
        /* Move it back unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            ep->map[i] = *sl;
            i = j;
        }
    }
    ep->map[i].conn = NULL;
}

static ep_conn *entry_of(quic_endpoint *ep, const quic_conn *c)
{
    return &ep->conns[c->ep_slot];
}

void quic_endpoint_on_cid(quic_endpoint *ep, quic_conn *c, const quic_cid_value *cid, bool added)
{
    if (added)
        map_put(ep, cid->bytes, cid->len, c); /* out of memory: that CID goes unrouted */
    else
        map_del(ep, cid->bytes, cid->len, c);
}

static ep_conn *find_conn(quic_endpoint *ep, const quic_pkt_header *h)
{
    /* A long header may still carry the client's first DCID, which is in the map too. */
    quic_conn *c = map_get(ep, h->dcid, h->dcid_len);
    if (c == NULL)
        return NULL;
    ep_conn *e = entry_of(ep, c);
    if (h->type == QUIC_PKT_1RTT && e->first_dcid.len == h->dcid_len &&
        memcmp(e->first_dcid.bytes, h->dcid, h->dcid_len) == 0) {
        /* Not one of ours: unless a CID of ours is the same bytes, no route. */
        for (size_t k = 0; k < QUIC_MAX_LOCAL_CIDS; k++) {
            const quic_local_cid *l = &c->lcid[k];
            if (l->in_use && l->cid.len == h->dcid_len &&
                memcmp(l->cid.bytes, h->dcid, h->dcid_len) == 0)
                return e;
        }
        return NULL;
    }
    return e;
}

/* ---- The timer heap (a binary min-heap on ep_conn.timer) ---- */

static uint64_t heap_key(quic_endpoint *ep, size_t i)
{
    return entry_of(ep, ep->heap[i])->timer;
}

static void heap_set(quic_endpoint *ep, size_t i, quic_conn *c)
{
    ep->heap[i] = c;
    entry_of(ep, c)->heap_at = i;
}

static void heap_fix(quic_endpoint *ep, size_t i)
{
    quic_conn *c = ep->heap[i];
    uint64_t key = entry_of(ep, c)->timer;
    while (i > 0 && heap_key(ep, (i - 1) / 2) > key) {
        heap_set(ep, i, ep->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        uint64_t best = key;
        if (l < ep->n && heap_key(ep, l) < best) {
            m = l;
            best = heap_key(ep, l);
        }
        if (l + 1 < ep->n && heap_key(ep, l + 1) < best)
            m = l + 1;
        if (m == i)
            break;
        heap_set(ep, i, ep->heap[m]);
        i = m;
    }
    heap_set(ep, i, c);
}

/* ---- Half-open connections, in all and per client address (kept as they change) ---- */

static void host_key(const quic_addr *a, uint8_t key[17])
{
    static const quic_addr none;
    if (a == NULL)
        a = &none;
    key[0] = a->family;
    memcpy(key + 1, a->ip, 16);
}

static size_t host_hash(const quic_endpoint *ep, const uint8_t key[17])
{
    return cid_hash(ep, key, 17);
}

static host_slot *host_find(const quic_endpoint *ep, const uint8_t key[17])
{
    if (ep->hosts_cap == 0)
        return NULL;
    size_t mask = ep->hosts_cap - 1;
    for (size_t i = host_hash(ep, key) & mask; ep->hosts[i].count != 0; i = (i + 1) & mask)
        if (memcmp(ep->hosts[i].host, key, 17) == 0)
            return &ep->hosts[i];
    return NULL;
}

static void host_insert(quic_endpoint *ep, const uint8_t key[17], uint32_t count)
{
    size_t mask = ep->hosts_cap - 1;
    size_t i = host_hash(ep, key) & mask;
    while (ep->hosts[i].count != 0)
        i = (i + 1) & mask;
    ep->hosts[i].count = count;
    memcpy(ep->hosts[i].host, key, 17);
    ep->hosts_used++;
}

/* false when out of memory: the address then goes uncounted. */
static bool host_inc(quic_endpoint *ep, const uint8_t key[17])
{
    host_slot *h = host_find(ep, key);
    if (h != NULL) {
        h->count++;
        return true;
    }
    if (2 * (ep->hosts_used + 1) > ep->hosts_cap) {
        size_t cap = ep->hosts_cap ? ep->hosts_cap * 2 : 16, old_cap = ep->hosts_cap;
        host_slot *old = ep->hosts, *m = quince_env_calloc(ep->env, cap * sizeof(*m));
        if (m == NULL)
            return false;
        ep->hosts = m;
        ep->hosts_cap = cap;
        ep->hosts_used = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].count != 0)
                host_insert(ep, old[i].host, old[i].count);
        quince_env_free(ep->env, old);
    }
    host_insert(ep, key, 1);
    return true;
}

static void host_dec(quic_endpoint *ep, const uint8_t key[17])
{
    host_slot *h = host_find(ep, key);
    if (h == NULL || --h->count > 0)
        return;
    /* Empty now: backward shift, as in map_del. */
    size_t mask = ep->hosts_cap - 1, i = (size_t)(h - ep->hosts);
    ep->hosts_used--;
    for (size_t j = (i + 1) & mask; ep->hosts[j].count != 0; j = (j + 1) & mask) {
        size_t home = host_hash(ep, ep->hosts[j].host) & mask;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            ep->hosts[i] = ep->hosts[j];
            i = j;
        }
    }
    ep->hosts[i].count = 0;
    if (ep->hosts_used == 0) { /* no half-open connection left: an idle server keeps no table */
        quince_env_free(ep->env, ep->hosts);
        ep->hosts = NULL;
        ep->hosts_cap = 0;
    }
}

static bool is_half_open(const quic_conn *c)
{
    return !c->handshake_complete && c->state < QUIC_STATE_CLOSING;
}

/* A connection whose handshake completed (or that is closing) leaves the half-open counts. */
static void half_open_update(quic_endpoint *ep, ep_conn *e)
{
    if (e->half_open && !is_half_open(e->conn)) {
        e->half_open = false;
        ep->half_open--;
        host_dec(ep, e->host);
    }
}

/* Ask the connection for its next timeout again and move it in the heap. */
static void retime(quic_endpoint *ep, quic_conn *c)
{
    ep_conn *e = entry_of(ep, c);
    half_open_update(ep, e);
    uint64_t t = quic_conn_is_closed(c) ? 0 : quic_conn_next_timeout(c);
    if (t != e->timer) {
        e->timer = t;
        heap_fix(ep, e->heap_at);
    }
}

/* ---- The send queue ---- */

void quic_endpoint_wake(quic_endpoint *ep, quic_conn *c)
{
    ep_conn *e = entry_of(ep, c);
    if (e->queued)
        return;
    e->queued = true;
    e->q_next = NULL;
    e->q_prev = ep->q_tail;
    if (ep->q_tail != NULL)
        entry_of(ep, ep->q_tail)->q_next = c;
    else
        ep->q_head = c;
    ep->q_tail = c;
}

static void unqueue(quic_endpoint *ep, quic_conn *c)
{
    ep_conn *e = entry_of(ep, c);
    if (!e->queued)
        return;
    if (e->q_prev != NULL)
        entry_of(ep, e->q_prev)->q_next = e->q_next;
    else
        ep->q_head = e->q_next;
    if (e->q_next != NULL)
        entry_of(ep, e->q_next)->q_prev = e->q_prev;
    else
        ep->q_tail = e->q_prev;
    e->queued = false;
    e->q_prev = e->q_next = NULL;
}

static void send_vn(quic_endpoint *ep, const quic_addr *from, const quic_pkt_header *h,
                    uint64_t now)
{
    if (!rate_take(&ep->vns, ep->cfg.vn_rate, now)) {
        ep->stats.rate_limited++;
        return;
    }
    stateless_pkt *s = sq_push(ep, from);
    if (s == NULL)
        return;
    uint8_t r;
    quince_env_random(ep->env, &r, 1);
    uint32_t grease;
    quince_env_random(ep->env, (uint8_t *)&grease, sizeof(grease));
#if QUINCE_QUIC_V2
    uint32_t versions[] = {QUIC_VERSION_1, QUIC_VERSION_2, quic_version_grease(grease)};
#else
    uint32_t versions[] = {QUIC_VERSION_1, quic_version_grease(grease)};
#endif
    quince_writer w = quince_writer_init(s->data, sizeof(s->data));
    if (!quic_pkt_build_vn(&w, r, h->dcid, h->dcid_len, h->scid, h->scid_len, versions,
                           sizeof(versions) / sizeof(versions[0]))) {
        ep->sq_count--;
        return;
    }
    s->len = (size_t)(w.p - s->data);
    ep->stats.version_negotiations++;
}

/* RFC 9000 §17.2.5, §8.1.2 */
static void send_retry(quic_endpoint *ep, const quic_addr *from, const quic_pkt_header *h,
                       uint64_t now)
{
    stateless_pkt *s = sq_push(ep, from);
    if (s == NULL)
        return;
    quic_cid_value odcid = {.len = h->dcid_len}, rscid = {.len = ep->cfg.cid_len};
    memcpy(odcid.bytes, h->dcid, h->dcid_len);
    quince_env_random(ep->env, rscid.bytes, rscid.len);
    uint8_t token[QUIC_RETRY_TOKEN_MAX];
    int tl = quic_endpoint_make_token(ep, from, &odcid, &rscid, now, token, sizeof(token));
    uint8_t r;
    quince_env_random(ep->env, &r, 1);
    quince_writer w = quince_writer_init(s->data, sizeof(s->data) - CRYPTO_RETRY_TAG_LEN);
    if (tl < 0 || !quic_pkt_build_retry(&w, r, h->version, h->scid, h->scid_len, rscid.bytes,
                                        rscid.len, token, (size_t)tl)) {
        ep->sq_count--;
        return;
    }
    size_t len = (size_t)(w.p - s->data);
    if (crypto_retry_tag(ep->env, h->version, odcid.bytes, odcid.len, s->data, len,
                         s->data + len) != 0) {
        ep->sq_count--;
        return;
    }
    s->len = len + CRYPTO_RETRY_TAG_LEN;
    ep->stats.retries++;
}

/* RFC 9000 §8.1.3, §5.2.2, §10.2: an Initial that we do not take but which is otherwise valid
 * (it opens with the Initial keys of its DCID) gets a CONNECTION_CLOSE, sent statelessly in an
 * Initial under the same keys: INVALID_TOKEN for a token we cannot validate (the client will
 * not accept another Retry, so silence would only leave it to time out), CONNECTION_REFUSED
 * when the endpoint is full. */
static void send_initial_close(quic_endpoint *ep, const quic_addr *from, const quic_pkt_header *h,
                               const uint8_t *data, uint64_t code)
{
    crypto_pp ck, sk;
    if (crypto_pp_initial(&ck, &sk, ep->env, h->version, h->dcid, h->dcid_len) != 0) {
        ep->stats.dropped++;
        return;
    }
    /* Open a copy: the datagram is the caller's. */
    uint8_t *copy = quince_env_alloc(ep->env, h->packet_len);
    bool valid = false;
    if (copy != NULL) {
        memcpy(copy, data, h->packet_len);
        size_t hl;
        uint64_t pn;
        valid = crypto_pp_unprotect(&ck, copy, h->packet_len, h->pn_offset, 0, &hl, &pn) >= 0;
        quince_env_free(ep->env, copy);
    }
    stateless_pkt *s = valid ? sq_push(ep, from) : NULL;
    if (s == NULL) {
        ep->stats.dropped++;
        goto out;
    }
    quince_writer w = quince_writer_init(s->data, sizeof(s->data) - CRYPTO_AEAD_TAG_LEN);
    quic_pkt_builder b;
    /* Our SCID is the DCID the client chose for us (the Retry's SCID, if the token was ours). */
    if (!quic_pkt_build_long(&w, &b, QUIC_PKT_INITIAL, h->version, h->scid, h->scid_len, h->dcid,
                             h->dcid_len, NULL, 0, 0, 1) ||
        !quince_put_varint(&w, QUIC_FT_CONNECTION_CLOSE) || !quince_put_varint(&w, code) ||
        !quince_put_varint(&w, 0) || !quince_put_varint(&w, 0) ||
        !quic_pkt_finish(&w, &b, CRYPTO_AEAD_TAG_LEN)) {
        ep->sq_count--;
        goto out;
    }
    size_t pn_offset = (size_t)(b.pn_at - b.start);
    size_t payload_len = (size_t)(w.p - b.pn_at) - b.pn_len;
    int n = crypto_pp_protect(&sk, s->data, sizeof(s->data), pn_offset, 0, payload_len);
    if (n < 0) {
        ep->sq_count--;
        goto out;
    }
    s->len = (size_t)n;
    if (code == QUIC_TE_INVALID_TOKEN)
        ep->stats.invalid_tokens++;
    else
        ep->stats.refused++;
out:
    crypto_pp_clear(&ck, ep->env);
    crypto_pp_clear(&sk, ep->env);
}

/* RFC 9000 §10.3: for a short header we cannot place, smaller than what came in. */
static void send_reset(quic_endpoint *ep, const quic_addr *from, const quic_pkt_header *h,
                       size_t in_len, uint64_t now)
{
    if (in_len <= QUIC_MIN_STATELESS_RESET + 1 || h->dcid_len != ep->cfg.cid_len)
        return;
    if (!rate_take(&ep->resets, ep->cfg.stateless_reset_rate, now)) {
        ep->stats.rate_limited++;
        return;
    }
    size_t len = in_len - 1 < 42 ? in_len - 1 : 42;
    stateless_pkt *s = sq_push(ep, from);
    if (s == NULL)
        return;
    uint8_t mac[32];
    crypto_hmac(CRYPTO_HASH_SHA256, ep->cfg.reset_key, sizeof(ep->cfg.reset_key), h->dcid,
                h->dcid_len, mac);
    quince_writer w = quince_writer_init(s->data, sizeof(s->data));
    if (!quic_pkt_build_stateless_reset(&w, ep->env, len, mac)) {
        ep->sq_count--;
        return;
    }
    s->len = (size_t)(w.p - s->data);
    ep->stats.stateless_resets++;
}

enum { ADMIT, ADMIT_RETRY, ADMIT_REFUSE };

/* RFC 9000 §5.2.2, §8.1, §21.1: may a client Initial open a connection? validated: it carried
 * a Retry token of ours for this address. Half-open connections (handshake not complete)
 * cost handshake CPU and memory for packets anyone can send: past a threshold of them every
 * new client proves its address first (Retry), past the limits it is refused. */
static int admit(quic_endpoint *ep, const quic_addr *from, bool validated)
{
    static const quic_addr none;
    if (from == NULL)
        from = &none;
    uint8_t key[17];
    host_key(from, key);
    const host_slot *hs = host_find(ep, key);
    size_t half = ep->half_open, mine = hs != NULL ? hs->count : 0;
    ep->stats.half_open = half;
    ep->stats.memory = ep->mem.used;
    if (ep->n >= ep->cfg.max_connections || half >= ep->cfg.max_half_open ||
        mine >= ep->cfg.max_half_open_per_addr ||
        quince_budget_room(&ep->mem) < QUIC_OPT_MAX_CONN_MEMORY / 16)
        return ADMIT_REFUSE;
    if (!validated && (ep->cfg.retry || half >= ep->cfg.retry_threshold))
        return ADMIT_RETRY;
    return ADMIT;
}

static int add_conn(quic_endpoint *ep, quic_conn *c, const quic_pkt_header *h)
{
    if (ep->n == ep->cap) {
        size_t cap = ep->cap ? ep->cap * 2 : 4;
        ep_conn *n = quince_env_realloc(ep->env, ep->conns, cap * sizeof(*n));
        if (n == NULL)
            return QUIC_ERR_NOMEM;
        ep->conns = n;
        quic_conn **heap = quince_env_realloc(ep->env, ep->heap, cap * sizeof(*heap));
        if (heap == NULL)
            return QUIC_ERR_NOMEM;
        ep->heap = heap;
        ep->cap = cap;
    }
    /* Every CID it answers to: ours, and the client's first DCID (for its Initials). */
    size_t put = 0;
    bool ok = map_put(ep, h->dcid, h->dcid_len, c);
    for (size_t k = 0; ok && k < QUIC_MAX_LOCAL_CIDS; k++) {
        const quic_local_cid *l = &c->lcid[k];
        if (l->in_use && (ok = map_put(ep, l->cid.bytes, l->cid.len, c)))
            put = k + 1;
    }
    if (!ok) {
        map_del(ep, h->dcid, h->dcid_len, c);
        for (size_t k = 0; k < put; k++)
            if (c->lcid[k].in_use)
                map_del(ep, c->lcid[k].cid.bytes, c->lcid[k].cid.len, c);
        return QUIC_ERR_NOMEM;
    }
    size_t i = ep->n++;
    ep_conn *e = &ep->conns[i];
    memset(e, 0, sizeof(*e));
    e->conn = c;
    c->ep = ep;
    c->ep_slot = i;
    e->first_dcid.len = h->dcid_len;
    memcpy(e->first_dcid.bytes, h->dcid, h->dcid_len);
    e->timer = quic_conn_next_timeout(c);
    heap_set(ep, i, c);
    heap_fix(ep, i);
    quic_endpoint_wake(ep, c);
    host_key(&c->remote, e->host);
    if (is_half_open(c) && host_inc(ep, e->host)) {
        e->half_open = true;
        ep->half_open++;
    }
    ep->stats.connections = ep->n;
    return QUIC_OK;
}

/* A first Initial with no connection yet (RFC 9000 §7, §8.1, §17.2.2): refuse,
 * Retry, or a new connection. A frame of its own (the configuration copy):
 * quic_endpoint_recv stays under the 1 KB of stack a core function may take
 * (tests/stack/check_stack.py). */
static int accept_initial(quic_endpoint *ep, const quic_addr *from, const quic_addr *to,
                          const uint8_t *data, size_t len, uint64_t now, const quic_pkt_header *h)
    __attribute__((noinline));
static int accept_initial(quic_endpoint *ep, const quic_addr *from, const quic_addr *to,
                          const uint8_t *data, size_t len, uint64_t now, const quic_pkt_header *h)
{
    quic_cid_value dcid = {.len = h->dcid_len}, scid = {.len = h->scid_len};
    memcpy(dcid.bytes, h->dcid, h->dcid_len);
    memcpy(scid.bytes, h->scid, h->scid_len);
    quic_cid_value odcid, rscid;
    bool retried = h->token_len > 0 &&
                   quic_endpoint_check_token(ep, from, h->token, h->token_len, now, &odcid,
                                             &rscid) == QUIC_OK &&
                   rscid.len == dcid.len && memcmp(rscid.bytes, dcid.bytes, dcid.len) == 0;
    /* RFC 9000 §8.1.3: a NEW_TOKEN token of ours validates the address, as a
     * Retry would; one that does not (expired, another address) is as no
     * token: a server that wants validation sends a Retry. */
    bool is_new_token = h->token_len == QUIC_NEW_TOKEN_LEN && h->token[0] == QUIC_NEW_TOKEN_MARK;
    bool token_valid =
        !retried && is_new_token &&
        quic_endpoint_check_new_token(ep, from, h->token, h->token_len, now) == QUIC_OK;
    switch (admit(ep, from, retried || token_valid)) {
    case ADMIT_REFUSE:
        send_initial_close(ep, from, h, data, QUIC_TE_CONNECTION_REFUSED);
        return QUIC_OK;
    case ADMIT_RETRY:
        if (h->token_len == 0 || is_new_token)
            send_retry(ep, from, h, now);
        else
            send_initial_close(ep, from, h, data, QUIC_TE_INVALID_TOKEN);
        return QUIC_OK;
    default:
        break;
    }
    quic_config cfg = ep->cfg;
    cfg.version = h->version;
    quic_conn *c = quic_conn_server_new(ep->env, &cfg, to, from, &dcid, &scid,
                                        retried ? &odcid : NULL, retried ? &rscid : NULL, now);
    if (c == NULL) {
        ep->stats.dropped++;
        return QUIC_OK;
    }
    c->mem.parent = &ep->mem;
    /* The client repeats its token in every Initial (RFC 9000 §17.2.2). */
    c->initial_token_seen = h->token_len > 0;
    if (token_valid) {
        c->address_validated = true;
        ep->stats.new_tokens_accepted++;
    }
    if (ep->cfg.new_tokens) {
        c->new_token_len = 0;
        int tl = quic_endpoint_make_new_token(ep, from, now, c->new_token, sizeof(c->new_token));
        if (tl > 0) {
            c->new_token_len = (size_t)tl;
            c->new_token_pending = true; /* sent once the handshake is done */
        }
    }
    quic_conn_recv_ecn(c, from, data, len, ep->rx_ecn, now);
    if (quic_conn_get_stats(c)->packets_received == 0) {
        /* Nothing in it could be opened: no state for garbage (§14.1 and §21.1). */
        quic_conn_free(c);
        ep->stats.dropped++;
        return QUIC_OK;
    }
    if (add_conn(ep, c, h) != QUIC_OK) {
        quic_conn_free(c);
        return QUIC_ERR_NOMEM;
    }
    ep->stats.accepted++;
    ep->last = c;
    if (ep->cb.on_conn_new != NULL) {
        entry_of(ep, c)->accepted = true;
        ep->cb.on_conn_new(ep->cb.user, c);
        retime(ep, c);
    } else {
        ep->unaccepted++;
    }
    return QUIC_OK;
}

/* Take c out of every structure and free it (its on_conn_free was called). */
static void remove_conn(quic_endpoint *ep, quic_conn *c)
{
    ep_conn *e = entry_of(ep, c);
    unqueue(ep, c);
    if (e->half_open) {
        e->half_open = false;
        ep->half_open--;
        host_dec(ep, e->host);
    }
    if (ep->train == c)
        ep->train = NULL;
    if (ep->last == c)
        ep->last = NULL;
    map_del(ep, e->first_dcid.bytes, e->first_dcid.len, c);
    for (size_t k = 0; k < QUIC_MAX_LOCAL_CIDS; k++)
        if (c->lcid[k].in_use)
            map_del(ep, c->lcid[k].cid.bytes, c->lcid[k].cid.len, c);
    /* Out of the heap: the last entry takes its place. */
    size_t h = e->heap_at, last = ep->n - 1;
    if (h != last) {
        heap_set(ep, h, ep->heap[last]);
    }
    /* Out of the table likewise (after the heap, which reads the table). */
    size_t slot = c->ep_slot;
    ep->n--;
    if (h != last)
        heap_fix(ep, h);
    if (slot != last) {
        ep->conns[slot] = ep->conns[last];
        ep->conns[slot].conn->ep_slot = slot;
    }
    c->ep = NULL;
    quic_conn_free(c);
    ep->stats.connections = ep->n;
}

/* RFC 9000 §5.2 */
int quic_endpoint_recv(quic_endpoint *ep, const quic_addr *from, const quic_addr *to,
                       const uint8_t *data, size_t len, uint64_t now)
{
    return quic_endpoint_recv_ecn(ep, from, to, data, len, QUIC_ECN_NOT_ECT, now);
}

/* RFC 9000 §5.2, §13.4.1 */
int quic_endpoint_recv_ecn(quic_endpoint *ep, const quic_addr *from, const quic_addr *to,
                           const uint8_t *data, size_t len, uint8_t ecn, uint64_t now)
{
    if (ep == NULL || data == NULL)
        return QUIC_ERR_ARGUMENT;
    ep->stats.datagrams++;
    ep->last = NULL;
    ep->rx_ecn = ecn & 3;
    quic_pkt_parse_opts po = {.short_dcid_len = ep->cfg.cid_len};
    quic_pkt_header h;
    if (quic_pkt_parse_header(data, len, &po, &h) != QUIC_OK) {
        ep->stats.dropped++;
        return QUIC_OK;
    }
    ep_conn *e = find_conn(ep, &h);
    if (e != NULL) {
        quic_conn *c = e->conn;
        ep->last = c;
        quic_conn_recv_ecn(c, from, data, len, ep->rx_ecn, now);
        /* It may owe an ACK or a reply, and its timers moved. */
        quic_endpoint_wake(ep, c);
        retime(ep, c);
        return QUIC_OK;
    }
    if (h.type == QUIC_PKT_1RTT) {
        send_reset(ep, from, &h, len, now);
        return QUIC_OK;
    }
    if (h.type == QUIC_PKT_UNKNOWN_VERSION) {
        /* RFC 9000 §6.1, §14.1: only for datagrams big enough to be a first Initial. */
        if (len >= QUIC_MIN_INITIAL_DATAGRAM)
            send_vn(ep, from, &h, now);
        else
            ep->stats.dropped++;
        return QUIC_OK;
    }
    if (h.type != QUIC_PKT_INITIAL || len < QUIC_MIN_INITIAL_DATAGRAM || h.dcid_len < 8) {
        ep->stats.dropped++;
        return QUIC_OK;
    }
    return accept_initial(ep, from, to, data, len, now, &h);
}

/* RFC 9000 §5.2 */
int quic_endpoint_send(quic_endpoint *ep, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now)
{
    if (ep == NULL || buf == NULL)
        return QUIC_ERR_ARGUMENT;
    ep->tx_ecn = QUIC_ECN_NOT_ECT; /* stateless replies go out unmarked */
    while (ep->sq_count > 0) {
        stateless_pkt *s = &ep->sq[ep->sq_head];
        ep->sq_head = (ep->sq_head + 1) % STATELESS_QUEUE;
        ep->sq_count--;
        int n = -1;
        if (s->len <= cap) {
            memcpy(buf, s->data, s->len);
            if (to != NULL)
                *to = s->to;
            n = (int)s->len;
        }
        if (ep->sq_count == 0) {
            quince_env_free(ep->env, ep->sq);
            ep->sq = NULL;
            ep->sq_head = 0;
        }
        if (n >= 0)
            return n;
    }
    if (ep->sq != NULL) { /* a packet taken back after sq_push (it could not be built) */
        quince_env_free(ep->env, ep->sq);
        ep->sq = NULL;
        ep->sq_head = 0;
    }
    /* One connection at a time, up to a train of datagrams each turn; a connection that has
     * nothing more leaves the queue until something wakes it. */
    while (ep->train != NULL || ep->q_head != NULL) {
        quic_conn *c = ep->train;
        if (c == NULL) {
            c = ep->q_head;
            unqueue(ep, c);
            ep->train = c;
            ep->train_sent = 0;
        }
        int n = quic_conn_send(c, to, buf, cap, now);
        if (n > 0) {
            ep->tx_ecn = quic_conn_ecn(c);
            if (++ep->train_sent >= QUIC_OPT_ENDPOINT_TRAIN) {
                /* Its turn is over; it may have more: to the back of the queue. */
                ep->train = NULL;
                quic_endpoint_wake(ep, c);
                retime(ep, c);
            }
            return n;
        }
        ep->train = NULL;
        retime(ep, c);
    }
    return 0;
}

/* RFC 9000 §10.1 */
uint64_t quic_endpoint_next_timeout(const quic_endpoint *ep)
{
    if (ep == NULL || ep->n == 0)
        return QUIC_TIME_NEVER;
    return ep->conns[ep->heap[0]->ep_slot].timer;
}

/* RFC 9000 §10.1 */
int quic_endpoint_on_timeout(quic_endpoint *ep, uint64_t now)
{
    if (ep == NULL)
        return QUIC_ERR_ARGUMENT;
    /* Only the connections whose time has come, earliest first. */
    while (ep->n > 0 && entry_of(ep, ep->heap[0])->timer <= now) {
        quic_conn *c = ep->heap[0];
        if (quic_conn_next_timeout(c) <= now)
            quic_conn_on_timeout(c, now);
        if (quic_conn_is_closed(c)) {
            /* Forget it: further packets for its CIDs get stateless resets. */
            if (ep->cb.on_conn_free != NULL)
                ep->cb.on_conn_free(ep->cb.user, c);
            if (!entry_of(ep, c)->accepted)
                ep->unaccepted--;
            remove_conn(ep, c);
            continue;
        }
        if (ep->cb.on_conn_timer != NULL)
            ep->cb.on_conn_timer(ep->cb.user, c);
        quic_endpoint_wake(ep, c);
        ep_conn *e = entry_of(ep, c);
        uint64_t t = quic_conn_next_timeout(c);
        /* A timer that does not move past now would spin: look again next call. */
        e->timer = t > now ? t : now + 1;
        heap_fix(ep, e->heap_at);
    }
    return QUIC_OK;
}

/* RFC 9000 §5.2.2 */
quic_conn *quic_endpoint_accept(quic_endpoint *ep)
{
    if (ep == NULL || ep->unaccepted == 0)
        return NULL;
    for (size_t i = 0; i < ep->n; i++) {
        if (!ep->conns[i].accepted) {
            ep->conns[i].accepted = true;
            ep->unaccepted--;
            return ep->conns[i].conn;
        }
    }
    return NULL;
}

/* (no RFC section) */
size_t quic_endpoint_conn_count(const quic_endpoint *ep)
{
    return ep != NULL ? ep->n : 0;
}

/* (no RFC section) */
quic_conn *quic_endpoint_conn_at(const quic_endpoint *ep, size_t i)
{
    return ep != NULL && i < ep->n ? ep->conns[i].conn : NULL;
}
