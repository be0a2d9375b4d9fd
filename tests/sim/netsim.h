/* A deterministic in-process network simulator: seeded delay, jitter, loss, duplication,
 * corruption, rate. */
#ifndef TESTS_SIM_NETSIM_H
#define TESTS_SIM_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"

/*
 * A discrete-event simulation in virtual time (microseconds). Nodes exchange
 * datagrams over one link per ordered pair of nodes; each link applies, in
 * this order: the drop/mutate hook, the MTU, the rate limit with its bounded
 * FIFO queue (tail drop), loss past the bottleneck (bursty, then random),
 * corruption (one random bit), delay + jitter, and duplication (the copy gets
 * its own jitter).
 * Every link draws from its own PRNG (xoshiro256** seeded through splitmix64
 * from the seed and the link), so the same seed and the same sends give the
 * same deliveries at the same times, and traffic on one link does not change
 * the luck of another.
 */

#define NETSIM_NEVER UINT64_MAX
#define NETSIM_MAX_NODES 8

enum {
    NETSIM_OK = 0,
    NETSIM_ERR_ARG = -1,       /* bad node, NULL, time going backwards */
    NETSIM_ERR_NOMEM = -2,     /* the environment's allocator failed */
    NETSIM_ERR_FULL = -3,      /* NETSIM_MAX_NODES nodes already */
    NETSIM_ERR_TIMELIMIT = -4, /* netsim_run reached its virtual time limit */
    NETSIM_ERR_IDLE = -5,      /* netsim_run: nothing in flight and no timer: stuck */
    NETSIM_ERR_BUSY = -6,      /* netsim_run: an endpoint kept sending without end */
};

/* Outcome of netsim_send (>= 0). */
enum {
    NETSIM_QUEUED = 0,
    NETSIM_DROP_HOOK = 1,
    NETSIM_DROP_MTU = 2,
    NETSIM_DROP_LOSS = 3,
    NETSIM_DROP_QUEUE = 4,
};

/* Flags on a delivered datagram. */
enum { NETSIM_F_DUPLICATE = 1, NETSIM_F_CORRUPTED = 2 };

typedef struct netsim_link_config {
    uint64_t delay_us;  /* one-way propagation delay */
    uint64_t jitter_us; /* extra delay drawn uniformly from [0, jitter_us]: reorders */
    double loss;        /* probability a datagram is lost (outside a burst) */
    /* Gilbert-Elliott bursts: per datagram, enter a burst with burst_enter,
     * leave it with burst_exit; inside a burst every datagram is lost. 0: off. */
    double burst_enter;
    double burst_exit;
    double duplicate;          /* probability a second copy is delivered too */
    double corrupt;            /* probability one random bit of the payload flips */
    uint64_t rate_bytes_per_s; /* serialisation rate; 0: unlimited */
    size_t queue_bytes;        /* bytes waiting or serialising before tail drop; 0: unbounded */
    size_t mtu;                /* largest datagram; 0: no limit */
    /* ECN (RFC 3168): an ECT datagram that finds more than this many bytes
     * queued at the bottleneck leaves marked CE (0: never); bleach clears
     * every datagram's codepoint (a path that drops ECN). */
    size_t ecn_mark_bytes;
    bool ecn_bleach;
} netsim_link_config;

typedef struct netsim_stats {
    uint64_t sent, sent_bytes;
    uint64_t delivered, delivered_bytes;
    uint64_t dropped_hook, dropped_mtu, dropped_loss, dropped_queue;
    uint64_t duplicated, corrupted;
    uint64_t ecn_marked; /* set to CE at the bottleneck */
} netsim_stats;

/* A datagram in flight, as the hook sees it and as netsim_pop delivers it. */
typedef struct netsim_datagram {
    uint64_t id;  /* order of netsim_send calls, from 0; a duplicate keeps it */
    uint64_t seq; /* n-th datagram sent by `from` (to anyone), from 0 */
    int from, to;
    uint64_t sent_at, deliver_at;
    uint8_t *data;
    size_t len;
    unsigned flags; /* NETSIM_F_* */
    uint8_t ecn;    /* ECN codepoint (low two bits of the IP TOS) */
} netsim_datagram;

/* Called for every sent datagram before the link acts: may rewrite data (len
 * may shrink, not grow) and returns true to drop it. */
typedef bool (*netsim_hook)(void *user, netsim_datagram *d);

/* Called for each send outcome (NETSIM_QUEUED or a NETSIM_DROP_*, after the
 * hook), for each duplicate created (NETSIM_TRACE_DUPLICATE) and for each
 * delivery (NETSIM_TRACE_DELIVER): for logs and precise assertions. */
enum { NETSIM_TRACE_DUPLICATE = 16, NETSIM_TRACE_DELIVER = 17 };
typedef void (*netsim_trace)(void *user, const netsim_datagram *d, int event);

typedef struct netsim netsim;

/* Create with a seed; link_default applies to every pair not configured later
 * (NULL: an ideal link, no delay). Memory comes from env. */
int netsim_create(netsim **out, const quince_env *env, uint64_t seed,
                  const netsim_link_config *link_default);
void netsim_destroy(netsim *s);

/* Add a node; returns its id (0, 1, ...) or NETSIM_ERR_FULL. The name is a
 * label; by convention the node's address ("192.0.2.1:443") so that tests
 * can build their path addresses from it. */
int netsim_add_node(netsim *s, const char *name);
const char *netsim_node_name(const netsim *s, int node);
/* Configure the link from -> to (one direction). */
int netsim_set_link(netsim *s, int from, int to, const netsim_link_config *cfg);
void netsim_set_hook(netsim *s, netsim_hook hook, void *user);
void netsim_set_trace(netsim *s, netsim_trace trace, void *user);

/* Send a copy of data from one node to another at virtual time now (never
 * earlier than the last time used). Returns a NETSIM_QUEUED/NETSIM_DROP_*
 * outcome or a negative error. */
int netsim_send(netsim *s, int from, int to, const uint8_t *data, size_t len, uint64_t now);

/* The ECN codepoint of the next netsim_send (then back to 0, Not-ECT): a
 * send_poll callback sets it for the datagram it returns. */
void netsim_set_send_ecn(netsim *s, uint8_t ecn);
/* The ECN codepoint of the datagram netsim_pop delivered last. */
uint8_t netsim_last_ecn(const netsim *s);

/* When the next datagram arrives, or NETSIM_NEVER. */
uint64_t netsim_next_time(const netsim *s);
/* Pop the next datagram due at or before now (earliest first, then in send
 * order) into d: returns 1, or 0 when none is due. d->data stays valid until
 * the next pop or netsim_destroy. Advances the clock to now. */
int netsim_pop(netsim *s, uint64_t now, netsim_datagram *d);
/* The virtual clock: the latest time given to send/pop/run. */
uint64_t netsim_now(const netsim *s);
/* Datagrams in flight. */
size_t netsim_in_flight(const netsim *s);

/* Counters of one link, or of all links with from = to = -1. */
netsim_stats netsim_get_stats(const netsim *s, int from, int to);
/* A running hash (FNV-1a, 64-bit) of every delivery: time, nodes, flags, bytes.
 * Two runs with the same seed and inputs give the same value. */
uint64_t netsim_log_hash(const netsim *s);

/*
 * An abstract sans-I/O endpoint living on one node.
 * - recv: a datagram for this node arrived at now.
 * - send_poll: write the next datagram into buf (cap bytes) and return its
 *   length, 0 when there is nothing to send; *to is preset to the peer given
 *   in netsim_run (the other endpoint when there are two) and may be changed.
 * - next_timeout: absolute deadline or NETSIM_NEVER.
 * - on_timeout: the deadline passed.
 */
typedef struct netsim_endpoint {
    void *user;
    int node;
    void (*recv)(void *user, const uint8_t *data, size_t len, int from, uint64_t now);
    size_t (*send_poll)(void *user, uint8_t *buf, size_t cap, int *to, uint64_t now);
    uint64_t (*next_timeout)(void *user);
    void (*on_timeout)(void *user, uint64_t now);
} netsim_endpoint;

/*
 * Drive n endpoints (endpoint i's default peer is endpoint (i+1) % n) from
 * the current virtual time: let each send all it has, deliver what is due,
 * fire due timers, and jump to the next event, until done(arg) is true
 * (returns NETSIM_OK), time_limit is passed (NETSIM_ERR_TIMELIMIT, clock left
 * at time_limit), nothing can happen any more (NETSIM_ERR_IDLE), or an
 * endpoint sends more than 100000 datagrams at one instant or a timer never
 * moves (NETSIM_ERR_BUSY).
 * done may be NULL (run to the limit or idle).
 */
int netsim_run(netsim *s, netsim_endpoint *eps, size_t n, bool (*done)(void *arg), void *arg,
               uint64_t time_limit);

/* One side of a client/server pair run by netsim_run_pair: the user of its callbacks. */
typedef struct netsim_side {
    void *owner;
    bool is_server;
} netsim_side;

/* The callbacks both sides of a pair share (user: the side's netsim_side). */
typedef struct netsim_pair_ops {
    void (*recv)(void *user, const uint8_t *data, size_t len, int from, uint64_t now);
    size_t (*send_poll)(void *user, uint8_t *buf, size_t cap, int *to, uint64_t now);
    uint64_t (*next_timeout)(void *user);
    void (*on_timeout)(void *user, uint64_t now);
} netsim_pair_ops;

/* netsim_run with two endpoints: a client on cnode and a server on snode, each
 * the other's default peer, with ops and owner. */
int netsim_run_pair(netsim *s, int cnode, int snode, const netsim_pair_ops *ops, void *owner,
                    bool (*done)(void *arg), void *arg, uint64_t time_limit);

#endif
