/* Tests for tests/sim/netsim.c: the seeded network simulator the transport tests run on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "tests/common/test_env.h"
#include "tests/sim/netsim.h"

typedef struct fixture {
    test_env te;
    netsim *sim;
    int a, b;
} fixture;

static void setup_sim(fixture *f, uint64_t seed, const netsim_link_config *cfg)
{
    test_env_init(&f->te, 1);
    assert_int_equal(netsim_create(&f->sim, &f->te.env, seed, cfg), NETSIM_OK);
    f->a = netsim_add_node(f->sim, "client");
    f->b = netsim_add_node(f->sim, "server");
    assert_int_equal(f->a, 0);
    assert_int_equal(f->b, 1);
}

static void teardown_sim(fixture *f)
{
    netsim_destroy(f->sim);
    test_env_check_leaks(&f->te);
}

/* A payload that says which datagram it is. */
static size_t make_payload(uint8_t *buf, size_t len, uint32_t n)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(n * 131u + i * 7u);
    if (len >= 4) {
        buf[0] = (uint8_t)(n >> 24);
        buf[1] = (uint8_t)(n >> 16);
        buf[2] = (uint8_t)(n >> 8);
        buf[3] = (uint8_t)n;
    }
    return len;
}

static uint32_t payload_id(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_delay_exact(void **state)
{
    (void)state;
    fixture f;
    netsim_link_config c = {.delay_us = 25000};
    setup_sim(&f, 7, &c);
    netsim_link_config back = {.delay_us = 3000};
    assert_int_equal(netsim_set_link(f.sim, f.b, f.a, &back), NETSIM_OK);
    const uint8_t msg[] = "hello";
    assert_int_equal(netsim_next_time(f.sim), NETSIM_NEVER);
    assert_int_equal(netsim_send(f.sim, f.a, f.b, msg, sizeof(msg), 100), NETSIM_QUEUED);
    assert_int_equal(netsim_send(f.sim, f.b, f.a, msg, 3, 200), NETSIM_QUEUED);
    assert_int_equal(netsim_in_flight(f.sim), 2);
    assert_int_equal(netsim_next_time(f.sim), 3200);
    netsim_datagram d;
    assert_int_equal(netsim_pop(f.sim, 3199, &d), 0);
    assert_int_equal(netsim_pop(f.sim, 3200, &d), 1);
    assert_int_equal(d.from, f.b);
    assert_int_equal(d.to, f.a);
    assert_int_equal(d.len, 3);
    assert_int_equal(d.sent_at, 200);
    assert_int_equal(d.deliver_at, 3200);
    assert_int_equal(netsim_next_time(f.sim), 25100);
    assert_int_equal(netsim_pop(f.sim, 25099, &d), 0);
    assert_int_equal(netsim_pop(f.sim, 25100, &d), 1);
    assert_int_equal(d.from, f.a);
    assert_int_equal(d.deliver_at, 25100);
    assert_int_equal(d.len, sizeof(msg));
    assert_memory_equal(d.data, msg, sizeof(msg));
    assert_int_equal(d.flags, 0);
    assert_int_equal(netsim_pop(f.sim, 1000000, &d), 0);
    assert_int_equal(netsim_next_time(f.sim), NETSIM_NEVER);
    netsim_stats st = netsim_get_stats(f.sim, f.a, f.b);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.delivered_bytes, sizeof(msg));
    st = netsim_get_stats(f.sim, -1, -1);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.delivered, 2);
    /* Time never goes backwards. */
    assert_int_equal(netsim_send(f.sim, f.a, f.b, msg, 1, 999999), NETSIM_ERR_ARG);
    assert_int_equal(netsim_send(f.sim, f.a, 5, msg, 1, 1000000), NETSIM_ERR_ARG);
    assert_string_equal(netsim_node_name(f.sim, f.b), "server");
    teardown_sim(&f);
}

/* Sends n datagrams of 100 bytes, 1 ms apart, and pops everything. */
static void run_stream(fixture *f, uint32_t n, uint8_t *delivered_mask)
{
    uint8_t buf[100];
    uint64_t t = 0;
    netsim_datagram d;
    for (uint32_t i = 0; i < n; i++, t += 1000) {
        make_payload(buf, sizeof(buf), i);
        assert_true(netsim_send(f->sim, f->a, f->b, buf, sizeof(buf), t) >= 0);
        while (netsim_pop(f->sim, t, &d) == 1)
            if (delivered_mask != NULL)
                delivered_mask[payload_id(d.data)] = 1;
    }
    while (netsim_pop(f->sim, NETSIM_NEVER - 1, &d) == 1)
        if (delivered_mask != NULL)
            delivered_mask[payload_id(d.data)] = 1;
}

static void test_loss_rate_and_reproducible(void **state)
{
    (void)state;
    netsim_link_config c = {.delay_us = 10000, .jitter_us = 3000, .loss = 0.1};
    uint64_t hash[3];
    netsim_stats st[3];
    static uint8_t mask[10000];
    for (int run = 0; run < 3; run++) {
        fixture f;
        setup_sim(&f, run < 2 ? 42 : 43, &c);
        memset(mask, 0, sizeof(mask));
        run_stream(&f, 10000, mask);
        st[run] = netsim_get_stats(f.sim, f.a, f.b);
        hash[run] = netsim_log_hash(f.sim);
        assert_int_equal(st[run].sent, 10000);
        assert_int_equal(st[run].delivered + st[run].dropped_loss, 10000);
        size_t seen = 0;
        for (size_t i = 0; i < 10000; i++)
            seen += mask[i];
        assert_int_equal(seen, st[run].delivered);
        /* 10% of 10000: sd = 30, so +-150 is five sigma. */
        assert_in_range(st[run].dropped_loss, 850, 1150);
        teardown_sim(&f);
    }
    assert_int_equal(hash[0], hash[1]);
    assert_int_equal(st[0].dropped_loss, st[1].dropped_loss);
    assert_int_not_equal(hash[0], hash[2]);
}

static void test_burst_loss(void **state)
{
    (void)state;
    fixture f;
    /* Bursts start on 2% of datagrams and last 1/0.25 = 4 datagrams on average. */
    netsim_link_config c = {.delay_us = 1000, .burst_enter = 0.02, .burst_exit = 0.25};
    setup_sim(&f, 9, &c);
    static uint8_t mask[20000];
    memset(mask, 0, sizeof(mask));
    run_stream(&f, 20000, mask);
    netsim_stats st = netsim_get_stats(f.sim, f.a, f.b);
    size_t runs = 0, lost = 0;
    for (size_t i = 0; i < 20000; i++) {
        if (!mask[i]) {
            lost++;
            if (i == 0 || mask[i - 1])
                runs++;
        }
    }
    assert_int_equal(lost, st.dropped_loss);
    assert_true(runs > 100);
    /* Random loss would give runs of ~1; bursts average about 4. */
    double mean = (double)lost / (double)runs;
    assert_true(mean > 3.0 && mean < 5.5);
    teardown_sim(&f);
}

static void test_reordering_with_jitter(void **state)
{
    (void)state;
    for (int jitter = 0; jitter < 2; jitter++) {
        fixture f;
        netsim_link_config c = {.delay_us = 10000, .jitter_us = jitter ? 5000 : 0};
        setup_sim(&f, 5, &c);
        uint8_t buf[40];
        for (uint32_t i = 0; i < 200; i++) {
            make_payload(buf, sizeof(buf), i);
            assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), i * 100u), 0);
        }
        netsim_datagram d;
        uint32_t prev = 0, inversions = 0, count = 0;
        uint64_t prev_t = 0;
        while (netsim_pop(f.sim, NETSIM_NEVER - 1, &d) == 1) {
            uint32_t id = payload_id(d.data);
            assert_true(d.deliver_at >= d.sent_at + 10000);
            assert_true(d.deliver_at <= d.sent_at + 10000 + c.jitter_us);
            assert_int_equal(d.sent_at, id * 100u);
            assert_true(d.deliver_at >= prev_t); /* pops come in time order */
            prev_t = d.deliver_at;
            if (count > 0 && id < prev)
                inversions++;
            prev = id;
            count++;
        }
        assert_int_equal(count, 200);
        if (jitter)
            assert_true(inversions > 20);
        else
            assert_int_equal(inversions, 0);
        teardown_sim(&f);
    }
}

static void test_duplication(void **state)
{
    (void)state;
    fixture f;
    netsim_link_config c = {.delay_us = 2000, .jitter_us = 500, .duplicate = 0.3};
    setup_sim(&f, 11, &c);
    static uint8_t copies[2000];
    memset(copies, 0, sizeof(copies));
    uint8_t buf[64], want[64];
    for (uint32_t i = 0; i < 2000; i++) {
        make_payload(buf, sizeof(buf), i);
        assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), i * 10u), 0);
    }
    netsim_datagram d;
    uint64_t flagged = 0;
    while (netsim_pop(f.sim, NETSIM_NEVER - 1, &d) == 1) {
        uint32_t id = payload_id(d.data);
        make_payload(want, sizeof(want), id);
        assert_memory_equal(d.data, want, sizeof(want));
        copies[id]++;
        if (d.flags & NETSIM_F_DUPLICATE)
            flagged++;
    }
    netsim_stats st = netsim_get_stats(f.sim, f.a, f.b);
    assert_int_equal(st.delivered, 2000 + st.duplicated);
    assert_int_equal(flagged, st.duplicated);
    size_t twice = 0;
    for (size_t i = 0; i < 2000; i++) {
        assert_true(copies[i] == 1 || copies[i] == 2);
        twice += copies[i] == 2;
    }
    assert_int_equal(twice, st.duplicated);
    assert_in_range(st.duplicated, 500, 700); /* 600 +- 100 (sd 20) */
    teardown_sim(&f);
}

static void test_corruption(void **state)
{
    (void)state;
    fixture f;
    netsim_link_config c = {.delay_us = 100, .corrupt = 0.25};
    setup_sim(&f, 13, &c);
    uint8_t buf[200], want[200];
    for (uint32_t i = 0; i < 1000; i++) {
        make_payload(buf, sizeof(buf), i);
        buf[0] = buf[1] = buf[2] = buf[3] = 0; /* the id is the send order here */
        assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), i * 1000u), 0);
    }
    netsim_datagram d;
    uint64_t flagged = 0, n = 0;
    while (netsim_pop(f.sim, NETSIM_NEVER - 1, &d) == 1) {
        make_payload(want, sizeof(want), (uint32_t)d.id);
        want[0] = want[1] = want[2] = want[3] = 0;
        unsigned bits = 0;
        for (size_t i = 0; i < sizeof(want); i++)
            bits += (unsigned)__builtin_popcount((unsigned)(d.data[i] ^ want[i]));
        if (d.flags & NETSIM_F_CORRUPTED) {
            assert_int_equal(bits, 1);
            flagged++;
        } else {
            assert_int_equal(bits, 0);
        }
        n++;
    }
    netsim_stats st = netsim_get_stats(f.sim, f.a, f.b);
    assert_int_equal(n, 1000);
    assert_int_equal(st.corrupted, flagged);
    assert_in_range(st.corrupted, 190, 310); /* 250 +- 60 (sd 14) */
    teardown_sim(&f);
}

static void test_rate_spacing_exact(void **state)
{
    (void)state;
    fixture f;
    /* 1 MB/s: a 1000-byte datagram takes exactly 1000 us on the wire. */
    netsim_link_config c = {.delay_us = 10000, .rate_bytes_per_s = 1000000};
    setup_sim(&f, 1, &c);
    uint8_t buf[1000] = {0};
    for (int i = 0; i < 5; i++)
        assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), 0), 0);
    netsim_datagram d;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(netsim_next_time(f.sim), 10000 + 1000 * (uint64_t)(i + 1));
        assert_int_equal(netsim_pop(f.sim, 10000 + 1000 * (uint64_t)(i + 1), &d), 1);
        assert_int_equal(d.id, (uint64_t)i);
    }
    /* An idle link starts at once: sent at 20000, leaves at 21000. */
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), 20000), 0);
    assert_int_equal(netsim_next_time(f.sim), 31000);
    assert_int_equal(netsim_pop(f.sim, 31000, &d), 1);
    netsim_destroy(f.sim);

    /* 3 bytes at 7 B/s: 428571.43 us each; the remainder is carried, no drift. */
    netsim_link_config slow = {.rate_bytes_per_s = 7};
    assert_int_equal(netsim_create(&f.sim, &f.te.env, 1, &slow), NETSIM_OK);
    f.a = netsim_add_node(f.sim, "a");
    f.b = netsim_add_node(f.sim, "b");
    for (int i = 0; i < 7; i++)
        assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 3, 0), 0);
    const uint64_t want[7] = {428571, 857142, 1285714, 1714285, 2142857, 2571428, 3000000};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(netsim_pop(f.sim, NETSIM_NEVER - 1, &d), 1);
        assert_int_equal(d.deliver_at, want[i]);
    }
    teardown_sim(&f);
}

static void test_queue_tail_drop(void **state)
{
    (void)state;
    fixture f;
    netsim_link_config c = {.delay_us = 500, .rate_bytes_per_s = 1000000, .queue_bytes = 3000};
    setup_sim(&f, 1, &c);
    uint8_t buf[1000] = {0};
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1000, 0), NETSIM_QUEUED);
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1000, 0), NETSIM_QUEUED);
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1000, 0), NETSIM_QUEUED);
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1000, 0), NETSIM_DROP_QUEUE);
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1, 999), NETSIM_DROP_QUEUE);
    /* At 1000 the first has left the queue: room for exactly one more. */
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1000, 1000), NETSIM_QUEUED);
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1, 1000), NETSIM_DROP_QUEUE);
    netsim_stats st = netsim_get_stats(f.sim, f.a, f.b);
    assert_int_equal(st.sent, 7);
    assert_int_equal(st.dropped_queue, 3);
    netsim_datagram d;
    const uint64_t want[4] = {1500, 2500, 3500, 4500};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(netsim_pop(f.sim, NETSIM_NEVER - 1, &d), 1);
        assert_int_equal(d.deliver_at, want[i]);
    }
    assert_int_equal(netsim_pop(f.sim, NETSIM_NEVER - 1, &d), 0);
    teardown_sim(&f);
}

static void test_mtu(void **state)
{
    (void)state;
    fixture f;
    netsim_link_config c = {.mtu = 1200};
    setup_sim(&f, 1, &c);
    uint8_t buf[1201] = {0};
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1200, 0), NETSIM_QUEUED);
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, 1201, 0), NETSIM_DROP_MTU);
    assert_int_equal(netsim_get_stats(f.sim, f.a, f.b).dropped_mtu, 1);
    teardown_sim(&f);
}

typedef struct hook_state {
    int client;
    int calls;
} hook_state;

/* Drop the 3rd datagram from the client; cut the 5th to 2 bytes and mark it. */
static bool hook(void *user, netsim_datagram *d)
{
    hook_state *h = user;
    h->calls++;
    if (d->from != h->client)
        return false;
    if (d->seq == 2)
        return true;
    if (d->seq == 4) {
        d->data[0] = 0xee;
        d->len = 2;
    }
    return false;
}

static void test_drop_hook(void **state)
{
    (void)state;
    fixture f;
    netsim_link_config c = {.delay_us = 1000};
    setup_sim(&f, 1, &c);
    hook_state h = {f.a, 0};
    netsim_set_hook(f.sim, hook, &h);
    uint8_t buf[8];
    for (uint32_t i = 0; i < 6; i++) {
        make_payload(buf, sizeof(buf), i);
        int want = i == 2 ? NETSIM_DROP_HOOK : NETSIM_QUEUED;
        assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), i), want);
        /* The server's datagrams count separately: its 3rd passes. */
        assert_int_equal(netsim_send(f.sim, f.b, f.a, buf, sizeof(buf), i), NETSIM_QUEUED);
    }
    assert_int_equal(h.calls, 12);
    netsim_datagram d;
    uint32_t got[6], n = 0;
    while (netsim_pop(f.sim, NETSIM_NEVER - 1, &d) == 1) {
        if (d.from != f.a)
            continue;
        if (d.seq == 4) {
            assert_int_equal(d.len, 2);
            assert_int_equal(d.data[0], 0xee);
            got[n++] = 4;
        } else {
            assert_int_equal(d.len, 8);
            got[n++] = payload_id(d.data);
        }
    }
    assert_int_equal(n, 5);
    const uint32_t want[5] = {0, 1, 3, 4, 5};
    for (int i = 0; i < 5; i++)
        assert_int_equal(got[i], want[i]);
    assert_int_equal(netsim_get_stats(f.sim, f.a, f.b).dropped_hook, 1);
    assert_int_equal(netsim_get_stats(f.sim, f.b, f.a).dropped_hook, 0);
    assert_int_equal(netsim_get_stats(f.sim, f.b, f.a).delivered, 6);
    teardown_sim(&f);
}

/*
 * A toy reliable transfer over netsim_run: the client sends numbered
 * requests one at a time with a 30 ms retransmission timer; the server
 * answers each datagram it gets with the same number.
 */
typedef struct toy {
    bool is_client;
    uint32_t next;                   /* client: request being sent; server: unused */
    uint32_t total;                  /* client: requests to complete */
    bool pending;                    /* has something to send now */
    uint64_t deadline;               /* client retransmission timer */
    uint32_t answers[64], n_answers; /* server: numbers to echo */
    uint64_t retransmits, received;
} toy;

static void toy_recv(void *user, const uint8_t *data, size_t len, int from, uint64_t now)
{
    toy *t = user;
    (void)from;
    assert_int_equal(len, 4);
    uint32_t id = payload_id(data);
    t->received++;
    if (!t->is_client) {
        if (t->n_answers < 64)
            t->answers[t->n_answers++] = id;
        return;
    }
    if (id == t->next) {
        t->next++;
        t->pending = t->next < t->total;
        t->deadline = t->pending ? now + 30000 : NETSIM_NEVER;
    }
}

static size_t toy_send(void *user, uint8_t *buf, size_t cap, int *to, uint64_t now)
{
    toy *t = user;
    (void)to;
    (void)now;
    assert_true(cap >= 4);
    if (t->is_client) {
        if (!t->pending)
            return 0;
        t->pending = false;
        make_payload(buf, 4, t->next);
        return 4;
    }
    if (t->n_answers == 0)
        return 0;
    make_payload(buf, 4, t->answers[--t->n_answers]);
    return 4;
}

static uint64_t toy_next_timeout(void *user)
{
    return ((toy *)user)->deadline;
}

static void toy_on_timeout(void *user, uint64_t now)
{
    toy *t = user;
    t->retransmits++;
    t->pending = true;
    t->deadline = now + 30000;
}

static bool toy_done(void *arg)
{
    const toy *c = arg;
    return c->next == c->total;
}

static void run_toy(uint64_t seed, uint64_t *hash, uint64_t *end, uint64_t *retx)
{
    fixture f;
    netsim_link_config c = {.delay_us = 5000, .jitter_us = 2000, .loss = 0.2, .duplicate = 0.05};
    setup_sim(&f, seed, &c);
    toy cl = {.is_client = true, .total = 100, .pending = true, .deadline = 30000};
    toy sv = {.is_client = false, .deadline = NETSIM_NEVER};
    netsim_endpoint eps[2] = {
        {&cl, f.a, toy_recv, toy_send, toy_next_timeout, toy_on_timeout},
        {&sv, f.b, toy_recv, toy_send, toy_next_timeout, toy_on_timeout},
    };
    assert_int_equal(netsim_run(f.sim, eps, 2, toy_done, &cl, 60000000), NETSIM_OK);
    assert_int_equal(cl.next, 100);
    assert_true(cl.retransmits > 0); /* 20% loss each way over 100 round trips */
    *hash = netsim_log_hash(f.sim);
    *end = netsim_now(f.sim);
    *retx = cl.retransmits;
    /* With nothing left to do, the run reports idleness, and a limit is honoured. */
    sv.n_answers = 0;
    netsim_datagram d;
    uint64_t later = netsim_now(f.sim) + 1000000;
    while (netsim_pop(f.sim, later, &d) == 1)
        ;
    assert_int_equal(netsim_in_flight(f.sim), 0);
    assert_int_equal(netsim_run(f.sim, eps, 2, NULL, NULL, NETSIM_NEVER - 1), NETSIM_ERR_IDLE);
    assert_int_equal(netsim_now(f.sim), later);
    cl.total = 200;
    cl.pending = true;
    cl.deadline = netsim_now(f.sim) + 30000;
    uint64_t limit = netsim_now(f.sim) + 100000;
    assert_int_equal(netsim_run(f.sim, eps, 2, toy_done, &cl, limit), NETSIM_ERR_TIMELIMIT);
    assert_int_equal(netsim_now(f.sim), limit);
    teardown_sim(&f);
}

static void test_run_reproducible(void **state)
{
    (void)state;
    uint64_t h1, h2, h3, e1, e2, e3, r1, r2, r3;
    run_toy(2024, &h1, &e1, &r1);
    run_toy(2024, &h2, &e2, &r2);
    run_toy(2025, &h3, &e3, &r3);
    assert_int_equal(h1, h2);
    assert_int_equal(e1, e2);
    assert_int_equal(r1, r2);
    assert_true(h1 != h3 || e1 != e3);
    /* 100 round trips of >= 10 ms. */
    assert_true(e1 >= 100 * 10000);
}

static uint64_t stuck_timeout(void *user)
{
    (void)user;
    return 5;
}

static void stuck_on_timeout(void *user, uint64_t now)
{
    (void)user;
    (void)now;
}

static void test_run_stuck_timer(void **state)
{
    (void)state;
    fixture f;
    setup_sim(&f, 1, NULL);
    netsim_endpoint eps[2] = {
        {NULL, f.a, NULL, NULL, stuck_timeout, stuck_on_timeout},
        {NULL, f.b, NULL, NULL, NULL, NULL},
    };
    assert_int_equal(netsim_run(f.sim, eps, 2, NULL, NULL, 1000), NETSIM_ERR_BUSY);
    eps[0].node = 7;
    assert_int_equal(netsim_run(f.sim, eps, 2, NULL, NULL, 1000), NETSIM_ERR_ARG);
    teardown_sim(&f);
}

typedef struct trace_counts {
    uint64_t ev[32];
    uint64_t last_deliver_at;
    bool ordered;
} trace_counts;

static void count_trace(void *user, const netsim_datagram *d, int event)
{
    trace_counts *t = user;
    assert_true(event >= 0 && event < 32);
    t->ev[event]++;
    if (event == NETSIM_TRACE_DELIVER) {
        if (d->deliver_at < t->last_deliver_at)
            t->ordered = false;
        t->last_deliver_at = d->deliver_at;
    }
    if (event == NETSIM_TRACE_DUPLICATE)
        assert_true(d->flags & NETSIM_F_DUPLICATE);
}

/* The trace sees every outcome exactly once, in agreement with the counters. */
static void test_trace(void **state)
{
    (void)state;
    fixture f;
    netsim_link_config c = {.delay_us = 3000,
                            .jitter_us = 1000,
                            .loss = 0.1,
                            .duplicate = 0.1,
                            .mtu = 1000,
                            .rate_bytes_per_s = 5000000,
                            .queue_bytes = 5000};
    setup_sim(&f, 77, &c);
    trace_counts t = {.ordered = true};
    netsim_set_trace(f.sim, count_trace, &t);
    uint8_t buf[1100] = {0};
    for (uint32_t i = 0; i < 3000; i++)
        (void)netsim_send(f.sim, f.a, f.b, buf, 250 + (i % 5) * 200, i * 50u);
    netsim_datagram d;
    while (netsim_pop(f.sim, NETSIM_NEVER - 1, &d) == 1)
        ;
    netsim_stats st = netsim_get_stats(f.sim, f.a, f.b);
    assert_int_equal(st.sent, 3000);
    assert_int_equal(t.ev[NETSIM_DROP_MTU], st.dropped_mtu);
    assert_int_equal(st.dropped_mtu, 600); /* every fifth is 1050 bytes */
    assert_int_equal(t.ev[NETSIM_DROP_LOSS], st.dropped_loss);
    assert_int_equal(t.ev[NETSIM_DROP_QUEUE], st.dropped_queue);
    assert_true(st.dropped_queue > 0 && st.dropped_loss > 0 && st.duplicated > 0);
    assert_int_equal(t.ev[NETSIM_QUEUED] + st.dropped_mtu + st.dropped_loss + st.dropped_queue,
                     3000);
    assert_int_equal(t.ev[NETSIM_TRACE_DUPLICATE], st.duplicated);
    assert_int_equal(t.ev[NETSIM_TRACE_DELIVER], st.delivered);
    assert_int_equal(st.delivered, t.ev[NETSIM_QUEUED] + st.duplicated);
    assert_true(t.ordered);
    teardown_sim(&f);
}

static void test_alloc_failure(void **state)
{
    (void)state;
    fixture f;
    setup_sim(&f, 1, NULL);
    uint8_t buf[10] = {0};
    f.te.fail_after = 1;
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), 0), NETSIM_ERR_NOMEM);
    assert_int_equal(netsim_in_flight(f.sim), 0);
    /* The heap's first growth fails after the payload copy succeeded. */
    f.te.fail_after = 2;
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), 0), NETSIM_ERR_NOMEM);
    assert_int_equal(netsim_send(f.sim, f.a, f.b, buf, sizeof(buf), 0), NETSIM_QUEUED);
    teardown_sim(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay_exact),
        cmocka_unit_test(test_loss_rate_and_reproducible),
        cmocka_unit_test(test_burst_loss),
        cmocka_unit_test(test_reordering_with_jitter),
        cmocka_unit_test(test_duplication),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_rate_spacing_exact),
        cmocka_unit_test(test_queue_tail_drop),
        cmocka_unit_test(test_mtu),
        cmocka_unit_test(test_drop_hook),
        cmocka_unit_test(test_run_reproducible),
        cmocka_unit_test(test_run_stuck_timer),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
