/* Tests for quic/pmtud.c (RFC 8899, RFC 9000 §14.3): the probe sequence against a path of known
 * size, MAX_PROBES, black holes, the raise timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "quic/pmtud.h"

/* Drive a search against a path that carries up to path bytes, probe by probe,
 * and return the number of probes sent; each probe is acknowledged or lost. */
static unsigned search(quic_pmtud *m, uint32_t path, uint64_t *pn, uint64_t now)
{
    unsigned n = 0;
    uint32_t size;
    while ((size = quic_pmtud_probe_size(m, now)) != 0) {
        assert_true(size > quic_pmtud_current(m));
        assert_true(size <= m->max);
        quic_pmtud_on_probe_sent(m, *pn, size);
        assert_int_equal(quic_pmtud_probe_size(m, now), 0); /* one at a time */
        if (size <= path)
            assert_true(quic_pmtud_on_acked(m, *pn, size, now));
        else
            assert_false(quic_pmtud_on_lost(m, *pn, now));
        (*pn)++;
        n++;
        assert_true(n < 200);
    }
    return n;
}

static void test_starts_at_base_until_confirmed(void **state)
{
    (void)state;
    quic_pmtud m;
    quic_pmtud_init(&m, 1452, true);
    assert_int_equal(quic_pmtud_current(&m), 1200);
    assert_int_equal(quic_pmtud_probe_size(&m, 0), 0); /* not before the handshake */
    quic_pmtud_start(&m, 0);
    assert_int_equal(quic_pmtud_probe_size(&m, 0), 1452); /* MAX_PLPMTU first */
}

static void test_settles_exactly(void **state)
{
    (void)state;
    static const uint32_t paths[] = {1200, 1201, 1252, 1322, 1392, 1452, 1500, 8952};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        quic_pmtud m;
        quic_pmtud_init(&m, 8952, true);
        quic_pmtud_set_max(&m, 65527); /* a larger peer limit changes nothing */
        assert_int_equal(m.max, 8952);
        quic_pmtud_start(&m, 0);
        uint64_t pn = 0;
        unsigned probes = search(&m, paths[i], &pn, 0);
        uint32_t want = paths[i] < 8952 ? paths[i] : 8952;
        assert_int_equal(quic_pmtud_current(&m), want);
        assert_int_equal(m.state, QUIC_PMTUD_SEARCH_COMPLETE);
        if (want == 8952)
            assert_int_equal(probes, 1);
        /* Every failing size cost MAX_PROBES losses. */
        assert_int_equal(m.probes_lost % QUIC_PMTUD_MAX_PROBES, 0);
    }
}

/* Two losses of a size then an ACK: the size is not given up. */
static void test_max_probes(void **state)
{
    (void)state;
    quic_pmtud m;
    quic_pmtud_init(&m, 1452, true);
    quic_pmtud_start(&m, 0);
    for (uint64_t pn = 10; pn < 10 + QUIC_PMTUD_MAX_PROBES - 1; pn++) {
        assert_int_equal(quic_pmtud_probe_size(&m, 0), 1452);
        quic_pmtud_on_probe_sent(&m, pn, 1452);
        quic_pmtud_on_lost(&m, pn, 0);
    }
    assert_int_equal(quic_pmtud_probe_size(&m, 0), 1452);
    quic_pmtud_on_probe_sent(&m, 20, 1452);
    /* Other packets' fates do not count. */
    assert_false(quic_pmtud_on_lost(&m, 19, 0));
    assert_false(quic_pmtud_on_acked(&m, 21, 1200, 0));
    assert_true(quic_pmtud_on_acked(&m, 20, 1452, 0));
    assert_int_equal(quic_pmtud_current(&m), 1452);
    assert_int_equal(m.state, QUIC_PMTUD_SEARCH_COMPLETE);
    /* A third loss in a row would have failed it: start again and see. */
    quic_pmtud_init(&m, 1452, true);
    quic_pmtud_start(&m, 0);
    for (uint64_t pn = 0; pn < QUIC_PMTUD_MAX_PROBES; pn++) {
        quic_pmtud_on_probe_sent(&m, pn, quic_pmtud_probe_size(&m, 0));
        quic_pmtud_on_lost(&m, pn, 0);
    }
    assert_int_equal(m.bad, 1452);
    assert_int_equal(quic_pmtud_probe_size(&m, 0), 1326); /* halfway */
}

static void test_peer_limit_and_disabled(void **state)
{
    (void)state;
    quic_pmtud m;
    quic_pmtud_init(&m, 1452, true);
    quic_pmtud_set_max(&m, 1300); /* the peer's max_udp_payload_size */
    quic_pmtud_start(&m, 0);
    uint64_t pn = 0;
    assert_int_equal(search(&m, 1500, &pn, 0), 1);
    assert_int_equal(quic_pmtud_current(&m), 1300);
    quic_pmtud_init(&m, 1452, false);
    quic_pmtud_start(&m, 0);
    assert_int_equal(quic_pmtud_probe_size(&m, 0), 0);
    assert_int_equal(quic_pmtud_current(&m), 1200);
    /* A maximum at the base has nothing to search. */
    quic_pmtud_init(&m, 1000, true);
    quic_pmtud_start(&m, 0);
    assert_int_equal(m.max, 1200);
    assert_int_equal(quic_pmtud_probe_size(&m, 0), 0);
}

/* RFC 8899 §4.3: PTOs with nothing large acknowledged drop to the base and search again. */
static void test_black_hole(void **state)
{
    (void)state;
    quic_pmtud m;
    quic_pmtud_init(&m, 1452, true);
    quic_pmtud_start(&m, 0);
    uint64_t pn = 0;
    search(&m, 1500, &pn, 0);
    assert_int_equal(quic_pmtud_current(&m), 1452);
    /* One PTO, then a large packet acknowledged: no black hole. */
    assert_false(quic_pmtud_on_pto(&m, 1000));
    quic_pmtud_on_acked(&m, pn++, 1452, 1000);
    assert_false(quic_pmtud_on_pto(&m, 2000));
    /* A small packet acknowledged between PTOs does not clear the suspicion. */
    quic_pmtud_on_acked(&m, pn++, 1200, 2000);
    assert_true(quic_pmtud_on_pto(&m, 3000));
    assert_int_equal(quic_pmtud_current(&m), 1200);
    assert_int_equal(m.black_holes, 1);
    /* PTOs while a probe is out do not count (the probe may be their cause). */
    uint32_t size = quic_pmtud_probe_size(&m, 3000);
    quic_pmtud_on_probe_sent(&m, pn, size);
    quic_pmtud_restart(&m, 3000);
    m.cur = 1300; /* as if a search had reached it */
    quic_pmtud_on_probe_sent(&m, pn, 1452);
    assert_false(quic_pmtud_on_pto(&m, 3100));
    assert_false(quic_pmtud_on_pto(&m, 3200));
    assert_int_equal(quic_pmtud_current(&m), 1300);
    quic_pmtud_restart(&m, 3300);
    /* The path now carries 1252: the new search finds it. */
    search(&m, 1252, &pn, 3000);
    assert_int_equal(quic_pmtud_current(&m), 1252);
    /* At the base PTOs are not a PMTU matter. */
    quic_pmtud_restart(&m, 4000);
    assert_false(quic_pmtud_on_pto(&m, 4000));
    assert_false(quic_pmtud_on_pto(&m, 5000));
}

/* RFC 8899 §5.1.1: PMTU_RAISE_TIMER after a search that stopped below the maximum. */
static void test_raise_timer(void **state)
{
    (void)state;
    quic_pmtud m;
    quic_pmtud_init(&m, 1452, true);
    quic_pmtud_start(&m, 0);
    uint64_t pn = 0;
    search(&m, 1300, &pn, 0);
    assert_int_equal(quic_pmtud_current(&m), 1300);
    assert_int_equal(quic_pmtud_probe_size(&m, QUIC_PMTUD_RAISE_TIMER_US - 1), 0);
    /* The path grew meanwhile. */
    search(&m, 1452, &pn, QUIC_PMTUD_RAISE_TIMER_US);
    assert_int_equal(quic_pmtud_current(&m), 1452);
    assert_int_equal(quic_pmtud_probe_size(&m, 10 * QUIC_PMTUD_RAISE_TIMER_US), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_at_base_until_confirmed),
        cmocka_unit_test(test_settles_exactly),
        cmocka_unit_test(test_max_probes),
        cmocka_unit_test(test_peer_limit_and_disabled),
        cmocka_unit_test(test_black_hole),
        cmocka_unit_test(test_raise_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
