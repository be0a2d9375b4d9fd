/* A deterministic in-process network simulator: seeded delay, jitter, loss, duplication,
 * corruption, rate. */
#include "tests/sim/netsim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NETSIM_NAME_MAX 32
#define NETSIM_SEND_BUF 65536
#define NETSIM_MAX_BURST 100000

/* One datagram waiting in the bottleneck queue of a rate-limited link. */
typedef struct qentry {
    uint64_t done_at; /* when its last bit leaves the link */
    size_t len;
} qentry;

typedef struct nlink {
    netsim_link_config cfg;
    uint64_t rng[4];
    bool in_burst;
    uint64_t busy_until; /* end of the current serialisation */
    uint64_t carry;      /* remainder of len * 1e6 / rate, so spacing never drifts */
    qentry *q;
    size_t qhead, qcount, qcap, qbytes;
    netsim_stats st;
} nlink;

typedef struct event {
    uint64_t order; /* tie-break: events due at the same time keep send order */
    netsim_datagram d;
} event;

struct netsim {
    quince_env env;
    int nodes;
    char names[NETSIM_MAX_NODES][NETSIM_NAME_MAX];
    uint64_t node_seq[NETSIM_MAX_NODES];
    nlink links[NETSIM_MAX_NODES][NETSIM_MAX_NODES];
    uint64_t now;
    uint64_t next_id, next_order;
    event *heap;
    size_t hn, hcap;
    uint8_t *popped; /* payload of the last datagram popped, owned here */
    netsim_hook hook;
    void *hook_user;
    netsim_trace trace;
    void *trace_user;
    uint64_t hash;
    uint8_t send_ecn, last_ecn;
    /* NETSIM_RECORD_CORPUS: a pair run's first datagrams each way, as fuzz seeds. */
    FILE *rec[NETSIM_MAX_NODES];
    size_t rec_count[NETSIM_MAX_NODES], rec_bytes[NETSIM_MAX_NODES];
};

#define REC_RUNS 2       /* pair runs recorded per test program */
#define REC_DATAGRAMS 24 /* datagrams kept per direction */
#define REC_BYTES 16000  /* bytes kept per direction */

/* splitmix64: expands the seed into xoshiro state. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static uint64_t rng_next(uint64_t s[4])
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* True with probability p; draws only when p is strictly between 0 and 1,
 * so that an unused feature does not consume randomness. */
static bool chance(nlink *k, double p)
{
    if (p <= 0.0)
        return false;
    if (p >= 1.0)
        return true;
    return (double)(rng_next(k->rng) >> 11) * 0x1.0p-53 < p;
}

/* Uniform in [0, max]. */
static uint64_t uniform(nlink *k, uint64_t max)
{
    if (max == 0)
        return 0;
    if (max == UINT64_MAX)
        return rng_next(k->rng);
    return rng_next(k->rng) % (max + 1);
}

int netsim_create(netsim **out, const quince_env *env, uint64_t seed,
                  const netsim_link_config *link_default)
{
    if (out == NULL || env == NULL)
        return NETSIM_ERR_ARG;
    netsim *s = quince_env_calloc(env, sizeof(*s));
    if (s == NULL)
        return NETSIM_ERR_NOMEM;
    s->env = *env;
    s->hash = 0xcbf29ce484222325ULL;
    for (int i = 0; i < NETSIM_MAX_NODES; i++) {
        for (int j = 0; j < NETSIM_MAX_NODES; j++) {
            nlink *k = &s->links[i][j];
            if (link_default != NULL)
                k->cfg = *link_default;
            uint64_t x = seed ^ ((uint64_t)(i * NETSIM_MAX_NODES + j + 1) * 0xd1b54a32d192ed03ULL);
            for (int w = 0; w < 4; w++)
                k->rng[w] = splitmix64(&x);
        }
    }
    *out = s;
    return NETSIM_OK;
}

void netsim_destroy(netsim *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->hn; i++)
        quince_env_free(&s->env, s->heap[i].d.data);
    quince_env_free(&s->env, s->heap);
    quince_env_free(&s->env, s->popped);
    for (int i = 0; i < NETSIM_MAX_NODES; i++)
        for (int j = 0; j < NETSIM_MAX_NODES; j++)
            quince_env_free(&s->env, s->links[i][j].q);
    quince_env env = s->env;
    quince_env_free(&env, s);
}

int netsim_add_node(netsim *s, const char *name)
{
    if (s == NULL)
        return NETSIM_ERR_ARG;
    if (s->nodes >= NETSIM_MAX_NODES)
        return NETSIM_ERR_FULL;
    int id = s->nodes++;
    if (name == NULL)
        name = "";
    size_t n = strlen(name);
    if (n >= NETSIM_NAME_MAX)
        n = NETSIM_NAME_MAX - 1;
    memcpy(s->names[id], name, n);
    s->names[id][n] = '\0';
    return id;
}

static bool valid_node(const netsim *s, int n)
{
    return n >= 0 && n < s->nodes;
}

const char *netsim_node_name(const netsim *s, int node)
{
    return valid_node(s, node) ? s->names[node] : NULL;
}

int netsim_set_link(netsim *s, int from, int to, const netsim_link_config *cfg)
{
    if (s == NULL || cfg == NULL || !valid_node(s, from) || !valid_node(s, to))
        return NETSIM_ERR_ARG;
    s->links[from][to].cfg = *cfg;
    return NETSIM_OK;
}

void netsim_set_hook(netsim *s, netsim_hook hook, void *user)
{
    s->hook = hook;
    s->hook_user = user;
}

void netsim_set_trace(netsim *s, netsim_trace trace, void *user)
{
    s->trace = trace;
    s->trace_user = user;
}

static void emit_trace(netsim *s, const netsim_datagram *d, int event)
{
    if (s->trace != NULL)
        s->trace(s->trace_user, d, event);
}

static bool event_before(const event *a, const event *b)
{
    if (a->d.deliver_at != b->d.deliver_at)
        return a->d.deliver_at < b->d.deliver_at;
    return a->order < b->order;
}

static int heap_push(netsim *s, const netsim_datagram *d)
{
    if (s->hn == s->hcap) {
        size_t cap = s->hcap ? s->hcap * 2 : 64;
        event *h = quince_env_realloc(&s->env, s->heap, cap * sizeof(*h));
        if (h == NULL)
            return NETSIM_ERR_NOMEM;
        s->heap = h;
        s->hcap = cap;
    }
    size_t i = s->hn++;
    event e = {s->next_order++, *d};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&e, &s->heap[parent]))
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = e;
    return NETSIM_OK;
}

static event heap_pop(netsim *s)
{
    event top = s->heap[0];
    event last = s->heap[--s->hn];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->hn)
            break;
        if (c + 1 < s->hn && event_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!event_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->hn > 0)
        s->heap[i] = last;
    return top;
}

/* Forget queued datagrams that have finished serialising by now. */
static void queue_expire(nlink *k, uint64_t now)
{
    while (k->qcount > 0 && k->q[k->qhead].done_at <= now) {
        k->qbytes -= k->q[k->qhead].len;
        k->qhead = (k->qhead + 1) % k->qcap;
        k->qcount--;
    }
}

static int queue_push(netsim *s, nlink *k, uint64_t done_at, size_t len)
{
    if (k->qcount == k->qcap) {
        size_t cap = k->qcap ? k->qcap * 2 : 16;
        qentry *q = quince_env_alloc(&s->env, cap * sizeof(*q));
        if (q == NULL)
            return NETSIM_ERR_NOMEM;
        for (size_t i = 0; i < k->qcount; i++)
            q[i] = k->q[(k->qhead + i) % k->qcap];
        quince_env_free(&s->env, k->q);
        k->q = q;
        k->qcap = cap;
        k->qhead = 0;
    }
    k->q[(k->qhead + k->qcount) % k->qcap] = (qentry){done_at, len};
    k->qcount++;
    k->qbytes += len;
    return NETSIM_OK;
}

static uint8_t *dup_bytes(netsim *s, const uint8_t *data, size_t len)
{
    uint8_t *p = quince_env_alloc(&s->env, len > 0 ? len : 1);
    if (p != NULL && len > 0)
        memcpy(p, data, len);
    return p;
}

int netsim_send(netsim *s, int from, int to, const uint8_t *data, size_t len, uint64_t now)
{
    if (s == NULL || !valid_node(s, from) || !valid_node(s, to) || (data == NULL && len > 0) ||
        now < s->now)
        return NETSIM_ERR_ARG;
    s->now = now;
    nlink *k = &s->links[from][to];
    const netsim_link_config *c = &k->cfg;
    netsim_datagram d;
    memset(&d, 0, sizeof(d));
    d.id = s->next_id++;
    d.seq = s->node_seq[from]++;
    d.from = from;
    d.to = to;
    d.sent_at = now;
    d.len = len;
    d.ecn = s->send_ecn & 3;
    s->send_ecn = 0;
    d.data = dup_bytes(s, data, len);
    if (d.data == NULL)
        return NETSIM_ERR_NOMEM;
    k->st.sent++;
    k->st.sent_bytes += len;
    if (s->rec[from] != NULL && s->rec_count[from] < REC_DATAGRAMS &&
        s->rec_bytes[from] + len + 2 <= REC_BYTES && len <= 0xffff) {
        /* fuzz_quic_server / fuzz_quic_client framing: length (2 bytes BE), datagram */
        uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
        fwrite(hdr, 1, 2, s->rec[from]);
        fwrite(data, 1, len, s->rec[from]);
        s->rec_count[from]++;
        s->rec_bytes[from] += len + 2;
    }

    int outcome = NETSIM_QUEUED;
    if (s->hook != NULL) {
        size_t before = d.len;
        if (s->hook(s->hook_user, &d))
            outcome = NETSIM_DROP_HOOK;
        if (d.len > before)
            d.len = before; /* the hook may shrink, never grow, the buffer */
    }
    if (outcome == NETSIM_QUEUED && c->mtu > 0 && d.len > c->mtu)
        outcome = NETSIM_DROP_MTU;
    if (c->ecn_bleach)
        d.ecn = 0;

    /* The bottleneck: serialise at the rate behind a bounded FIFO. */
    uint64_t leave = now;
    if (outcome == NETSIM_QUEUED && c->rate_bytes_per_s > 0) {
        queue_expire(k, now);
        if (c->queue_bytes > 0 && k->qbytes + d.len > c->queue_bytes) {
            outcome = NETSIM_DROP_QUEUE;
        } else {
            if (c->ecn_mark_bytes > 0 && k->qbytes > c->ecn_mark_bytes && d.ecn != 0 &&
                d.ecn != 3) {
                d.ecn = 3; /* CE */
                k->st.ecn_marked++;
            }
            uint64_t start = now;
            if (k->busy_until > now)
                start = k->busy_until;
            else
                k->carry = 0;
            uint64_t work = (uint64_t)d.len * 1000000u + k->carry;
            k->carry = work % c->rate_bytes_per_s;
            k->busy_until = start + work / c->rate_bytes_per_s;
            leave = k->busy_until;
            if (queue_push(s, k, leave, d.len) < 0) {
                quince_env_free(&s->env, d.data);
                return NETSIM_ERR_NOMEM;
            }
        }
    }

    /* Loss on the path past the bottleneck: bursts first, then random. */
    if (outcome == NETSIM_QUEUED) {
        if (c->burst_enter > 0.0) {
            if (k->in_burst ? chance(k, c->burst_exit) : chance(k, c->burst_enter))
                k->in_burst = !k->in_burst;
            if (k->in_burst)
                outcome = NETSIM_DROP_LOSS;
        }
        if (outcome == NETSIM_QUEUED && chance(k, c->loss))
            outcome = NETSIM_DROP_LOSS;
    }

    switch (outcome) {
    case NETSIM_DROP_HOOK:
        k->st.dropped_hook++;
        break;
    case NETSIM_DROP_MTU:
        k->st.dropped_mtu++;
        break;
    case NETSIM_DROP_LOSS:
        k->st.dropped_loss++;
        break;
    case NETSIM_DROP_QUEUE:
        k->st.dropped_queue++;
        break;
    default:
        break;
    }
    if (outcome != NETSIM_QUEUED) {
        emit_trace(s, &d, outcome);
        quince_env_free(&s->env, d.data);
        return outcome;
    }

    if (d.len > 0 && chance(k, c->corrupt)) {
        uint64_t bit = uniform(k, (uint64_t)d.len * 8 - 1);
        d.data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        d.flags |= NETSIM_F_CORRUPTED;
        k->st.corrupted++;
    }
    d.deliver_at = leave + c->delay_us + uniform(k, c->jitter_us);
    bool dup = chance(k, c->duplicate);
    netsim_datagram copy = d;
    if (dup) {
        copy.data = dup_bytes(s, d.data, d.len);
        if (copy.data == NULL) {
            quince_env_free(&s->env, d.data);
            return NETSIM_ERR_NOMEM;
        }
        copy.flags |= NETSIM_F_DUPLICATE;
        copy.deliver_at = leave + c->delay_us + uniform(k, c->jitter_us);
    }
    if (heap_push(s, &d) < 0) {
        quince_env_free(&s->env, d.data);
        if (dup)
            quince_env_free(&s->env, copy.data);
        return NETSIM_ERR_NOMEM;
    }
    if (dup) {
        if (heap_push(s, &copy) < 0) {
            quince_env_free(&s->env, copy.data);
            return NETSIM_ERR_NOMEM;
        }
        k->st.duplicated++;
    }
    emit_trace(s, &d, NETSIM_QUEUED);
    if (dup)
        emit_trace(s, &copy, NETSIM_TRACE_DUPLICATE);
    return NETSIM_QUEUED;
}

uint64_t netsim_next_time(const netsim *s)
{
    return s->hn > 0 ? s->heap[0].d.deliver_at : NETSIM_NEVER;
}

uint64_t netsim_now(const netsim *s)
{
    return s->now;
}

size_t netsim_in_flight(const netsim *s)
{
    return s->hn;
}

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 0x100000001b3ULL;
    }
}

static void hash_u64(uint64_t *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    hash_bytes(h, b, 8);
}

int netsim_pop(netsim *s, uint64_t now, netsim_datagram *d)
{
    if (s == NULL || d == NULL)
        return NETSIM_ERR_ARG;
    if (now > s->now)
        s->now = now;
    if (s->hn == 0 || s->heap[0].d.deliver_at > now)
        return 0;
    event e = heap_pop(s);
    quince_env_free(&s->env, s->popped);
    s->popped = e.d.data;
    *d = e.d;
    s->last_ecn = d->ecn;
    nlink *k = &s->links[d->from][d->to];
    k->st.delivered++;
    k->st.delivered_bytes += d->len;
    hash_u64(&s->hash, d->deliver_at);
    hash_u64(&s->hash, (uint64_t)d->from << 32 | (uint64_t)d->to);
    hash_u64(&s->hash, d->flags);
    hash_u64(&s->hash, d->len);
    hash_bytes(&s->hash, d->data, d->len);
    emit_trace(s, d, NETSIM_TRACE_DELIVER);
    return 1;
}

void netsim_set_send_ecn(netsim *s, uint8_t ecn)
{
    s->send_ecn = ecn & 3;
}

uint8_t netsim_last_ecn(const netsim *s)
{
    return s->last_ecn;
}

netsim_stats netsim_get_stats(const netsim *s, int from, int to)
{
    netsim_stats t;
    memset(&t, 0, sizeof(t));
    if (from >= 0 || to >= 0) {
        if (valid_node(s, from) && valid_node(s, to))
            t = s->links[from][to].st;
        return t;
    }
    for (int i = 0; i < s->nodes; i++) {
        for (int j = 0; j < s->nodes; j++) {
            const netsim_stats *x = &s->links[i][j].st;
            t.sent += x->sent;
            t.sent_bytes += x->sent_bytes;
            t.delivered += x->delivered;
            t.delivered_bytes += x->delivered_bytes;
            t.dropped_hook += x->dropped_hook;
            t.dropped_mtu += x->dropped_mtu;
            t.dropped_loss += x->dropped_loss;
            t.dropped_queue += x->dropped_queue;
            t.duplicated += x->duplicated;
            t.corrupted += x->corrupted;
            t.ecn_marked += x->ecn_marked;
        }
    }
    return t;
}

uint64_t netsim_log_hash(const netsim *s)
{
    return s->hash;
}

static int endpoint_of(const netsim_endpoint *eps, size_t n, int node)
{
    for (size_t i = 0; i < n; i++)
        if (eps[i].node == node)
            return (int)i;
    return -1;
}

/* Let every endpoint send all it has at the current instant. */
static int drain_sends(netsim *s, netsim_endpoint *eps, size_t n, uint8_t *buf)
{
    for (size_t i = 0; i < n; i++) {
        netsim_endpoint *e = &eps[i];
        if (e->send_poll == NULL)
            continue;
        for (int count = 0;; count++) {
            if (count >= NETSIM_MAX_BURST)
                return NETSIM_ERR_BUSY;
            int to = eps[(i + 1) % n].node;
            size_t len = e->send_poll(e->user, buf, NETSIM_SEND_BUF, &to, s->now);
            if (len == 0)
                break;
            if (len > NETSIM_SEND_BUF)
                return NETSIM_ERR_ARG;
            int rc = netsim_send(s, e->node, to, buf, len, s->now);
            if (rc < 0)
                return rc;
        }
    }
    return NETSIM_OK;
}

int netsim_run(netsim *s, netsim_endpoint *eps, size_t n, bool (*done)(void *arg), void *arg,
               uint64_t time_limit)
{
    if (s == NULL || eps == NULL || n == 0)
        return NETSIM_ERR_ARG;
    for (size_t i = 0; i < n; i++)
        if (!valid_node(s, eps[i].node))
            return NETSIM_ERR_ARG;
    uint8_t *buf = quince_env_alloc(&s->env, NETSIM_SEND_BUF);
    if (buf == NULL)
        return NETSIM_ERR_NOMEM;
    int rc;
    uint64_t last = s->now;
    size_t same_instant = 0;
    for (;;) {
        /* An endpoint whose timer never moves would spin at one instant. */
        same_instant = s->now == last ? same_instant + 1 : 0;
        last = s->now;
        if (same_instant > NETSIM_MAX_BURST) {
            rc = NETSIM_ERR_BUSY;
            break;
        }
        rc = drain_sends(s, eps, n, buf);
        if (rc < 0)
            break;
        if (done != NULL && done(arg)) {
            rc = NETSIM_OK;
            break;
        }
        uint64_t t = netsim_next_time(s);
        for (size_t i = 0; i < n; i++) {
            uint64_t to =
                eps[i].next_timeout != NULL ? eps[i].next_timeout(eps[i].user) : NETSIM_NEVER;
            if (to < t)
                t = to;
        }
        if (t == NETSIM_NEVER) {
            rc = NETSIM_ERR_IDLE;
            break;
        }
        if (t > time_limit) {
            if (time_limit > s->now)
                s->now = time_limit;
            rc = NETSIM_ERR_TIMELIMIT;
            break;
        }
        if (t > s->now)
            s->now = t;
        netsim_datagram d;
        while (netsim_pop(s, s->now, &d) == 1) {
            int i = endpoint_of(eps, n, d.to);
            if (i >= 0 && eps[i].recv != NULL)
                eps[i].recv(eps[i].user, d.data, d.len, d.from, s->now);
        }
        for (size_t i = 0; i < n; i++) {
            if (eps[i].next_timeout != NULL && eps[i].on_timeout != NULL &&
                eps[i].next_timeout(eps[i].user) <= s->now)
                eps[i].on_timeout(eps[i].user, s->now);
        }
    }
    quince_env_free(&s->env, buf);
    return rc;
}

int netsim_run_pair(netsim *s, int cnode, int snode, const netsim_pair_ops *ops, void *owner,
                    bool (*done)(void *arg), void *arg, uint64_t time_limit)
{
    /* scripts/fuzz_corpus.sh sets NETSIM_RECORD_CORPUS to a directory: the client's and the
     * server's first datagrams of the first runs become seeds (a null-crypto build's packets
     * are what the fuzz build can open). */
    static int recorded;
    const char *dir = getenv("NETSIM_RECORD_CORPUS");
    if (dir != NULL && recorded < REC_RUNS) {
        char path[512];
        const char *who[2] = {"client", "server"};
        int nodes2[2] = {cnode, snode};
        for (int i = 0; i < 2; i++) {
            snprintf(path, sizeof(path), "%s/%s-%ld-%d.bin", dir, who[i], (long)getpid(), recorded);
            s->rec[nodes2[i]] = fopen(path, "wb");
            s->rec_count[nodes2[i]] = s->rec_bytes[nodes2[i]] = 0;
        }
        recorded++;
    }
    netsim_side sides[2] = {{.owner = owner, .is_server = false},
                            {.owner = owner, .is_server = true}};
    int nodes[2] = {cnode, snode};
    netsim_endpoint eps[2];
    for (size_t i = 0; i < 2; i++)
        eps[i] = (netsim_endpoint){.user = &sides[i],
                                   .node = nodes[i],
                                   .recv = ops->recv,
                                   .send_poll = ops->send_poll,
                                   .next_timeout = ops->next_timeout,
                                   .on_timeout = ops->on_timeout};
    int rc = netsim_run(s, eps, 2, done, arg, time_limit);
    for (int i = 0; i < 2; i++) {
        int node = i == 0 ? cnode : snode;
        if (s->rec[node] != NULL) {
            fclose(s->rec[node]);
            s->rec[node] = NULL;
        }
    }
    return rc;
}
