/* Shared by the whole-connection QUIC fuzz targets: idle clock ticks skipped, and checked. */
#ifndef FUZZ_FUZZ_QUIC_TICK_H
#define FUZZ_FUZZ_QUIC_TICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "quic/quic.h"
#include "fuzz_digest.h"

/*
 * In quic_server and quic_client an empty datagram is a clock tick of 1 ms: the connection
 * receives it, its events are polled, it sends what it has and its timers run when due.
 * The fuzzer writes long runs of them (two zero bytes each), and each costs a full
 * receive and send. A tick is idle when its datagram was empty and it changed nothing the
 * harness can see: no event, nothing sent, no timer run, and no QUIC_EVENT_CLOSED so far
 * (a closing connection answers an empty datagram with CONNECTION_CLOSE, sparingly). After
 * an idle tick the state differs from the one before only in the clock, so the next empty
 * datagram is idle too unless a timer falls due by its end: while quic_conn_next_timeout
 * is later than that, the tick is skipped (the clock still moves), as an event loop sleeps
 * until the next timeout after a send that had nothing. Every input runs both ways in the
 * replay build (suite fuzz, FUZZ_TICK_CHECK): the digests of what each run did (events,
 * datagrams sent, timers, with their times, and the connection's final statistics) must be
 * equal, or the target aborts.
 */

#if defined(QUINCE_FUZZING) && QUINCE_FUZZING
#define FUZZ_TICK_CHECK 0
#else
#define FUZZ_TICK_CHECK 1
#endif

typedef struct fuzz_tick {
    bool skip;   /* skip idle ticks (false: run every one) */
    bool idle;   /* the last tick was idle */
    bool closed; /* QUIC_EVENT_CLOSED was seen */
    fuzz_digest log;
} fuzz_tick;

static inline void fuzz_tick_begin(fuzz_tick *t, size_t len)
{
    t->idle = len == 0 && !t->closed;
}

static inline void fuzz_tick_event(fuzz_tick *t, const quic_event *ev, uint64_t now)
{
    t->idle = false;
    if (ev->type == QUIC_EVENT_CLOSED)
        t->closed = true;
    if (FUZZ_TICK_CHECK) {
        uint64_t rec[4] = {now, (uint64_t)ev->type, ev->stream_id, ev->error_code};
        fuzz_mix(&t->log, rec, sizeof(rec));
    }
}

static inline void fuzz_tick_sent(fuzz_tick *t, const uint8_t *d, size_t n, uint64_t now)
{
    t->idle = false;
    if (FUZZ_TICK_CHECK) {
        uint64_t rec[2] = {now, n};
        fuzz_mix(&t->log, rec, sizeof(rec));
        fuzz_mix(&t->log, d, n);
    }
}

static inline void fuzz_tick_timer(fuzz_tick *t, uint64_t now)
{
    t->idle = false;
    if (FUZZ_TICK_CHECK)
        fuzz_mix(&t->log, &now, sizeof(now));
}

/* Whether the tick from now to now + 1 ms, an empty datagram, may be skipped. */
static inline bool fuzz_tick_skip(const fuzz_tick *t, const quic_conn *c, uint64_t now)
{
    return t->skip && t->idle && quic_conn_next_timeout(c) > now + 1000;
}

/* The digest of the run: what it did, then where it ended. */
static inline uint64_t fuzz_tick_end(fuzz_tick *t, const quic_conn *c, uint64_t now)
{
    if (FUZZ_TICK_CHECK && c != NULL) {
        const quic_conn_stats *st = quic_conn_get_stats(c);
        uint64_t rec[5] = {now, quic_conn_next_timeout(c), quic_conn_is_established(c),
                           quic_conn_is_closed(c), t->closed};
        fuzz_mix(&t->log, rec, sizeof(rec));
        fuzz_mix(&t->log, st, sizeof(*st));
    }
    return t->log.h;
}

/* One input: the run with idle ticks skipped; in the replay build the same input once
 * more with every tick taken, and an abort unless both did the same. */
static inline void fuzz_tick_run_input(uint64_t (*run)(const uint8_t *, size_t, bool skip),
                                       const uint8_t *data, size_t size)
{
    uint64_t fast = run(data, size, true);
    if (FUZZ_TICK_CHECK && fast != run(data, size, false))
        abort();
}

#endif
