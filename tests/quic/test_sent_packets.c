/* Tests for quic/sent_packets.c (RFC 9002 Appendix A.1): ring, lookup, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "quic/sent_packets.h"
#include "tests/common/test_env.h"

static int push(quic_sent_packets *s, uint64_t pn, uint32_t size, bool ae, bool fl)
{
    quic_sent_packet p = {.pn = pn,
                          .time_sent = pn * 10,
                          .handle = pn + 1,
                          .size = size,
                          .ack_eliciting = ae,
                          .in_flight = fl};
    return quic_sent_packets_push(s, &p);
}

static void test_counters_and_find(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_sent_packets s;
    quic_sent_packets_init(&s, &te.env, 100);
    assert_null(quic_sent_packets_find(&s, 0));
    assert_int_equal(quic_sent_packets_lower_bound(&s, 5), 0);
    assert_int_equal(push(&s, 0, 100, true, true), 0);
    assert_int_equal(push(&s, 3, 200, false, true), 0); /* padding only */
    assert_int_equal(push(&s, 4, 50, false, false), 0); /* ACK only */
    assert_int_equal(push(&s, 4, 50, false, false), QUIC_RECOVERY_ERR_PN_ORDER);
    assert_int_equal(push(&s, 2, 50, false, false), QUIC_RECOVERY_ERR_PN_ORDER);
    assert_int_equal(s.live, 3);
    assert_int_equal(s.bytes_in_flight, 300);
    assert_int_equal(s.ack_eliciting_in_flight, 1);
    assert_int_equal(quic_sent_packets_lower_bound(&s, 1), 1);
    assert_int_equal(quic_sent_packets_lower_bound(&s, 3), 1);
    assert_int_equal(quic_sent_packets_lower_bound(&s, 5), 3);
    quic_sent_packet *p = quic_sent_packets_find(&s, 3);
    assert_non_null(p);
    assert_int_equal(p->handle, 4);
    assert_null(quic_sent_packets_find(&s, 1));
    quic_sent_packets_remove(&s, p, QUIC_SENT_REMOVED_ACKED);
    quic_sent_packets_remove(&s, p, QUIC_SENT_REMOVED_ACKED); /* twice: no effect */
    assert_int_equal(s.live, 2);
    assert_int_equal(s.bytes_in_flight, 100);
    assert_null(quic_sent_packets_find(&s, 3));
    /* The tombstone stays until the packets before it go. */
    quic_sent_packets_trim(&s);
    assert_int_equal(s.len, 3);
    quic_sent_packets_remove(&s, quic_sent_packets_find(&s, 0), QUIC_SENT_REMOVED_LOST);
    quic_sent_packets_trim(&s);
    assert_int_equal(s.len, 1);
    assert_int_equal(quic_sent_packets_at(&s, 0)->pn, 4);
    assert_int_equal(s.ack_eliciting_in_flight, 0);
    assert_int_equal(s.bytes_in_flight, 0);
    quic_sent_packets_free(&s);
    test_env_check_leaks(&te);
}

/* A steady stream wraps the ring many times; lookups stay right. */
static void test_wraparound(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_sent_packets s;
    quic_sent_packets_init(&s, &te.env, 16);
    uint64_t next = 0, oldest = 0;
    for (int i = 0; i < 1000; i++) {
        while (s.live < 16)
            assert_int_equal(push(&s, next++, 1000, true, true), 0);
        assert_int_equal(push(&s, next, 1000, true, true), QUIC_RECOVERY_ERR_FULL);
        assert_int_equal(s.cap, 16);
        for (uint64_t pn = oldest; pn < next; pn++) {
            quic_sent_packet *p = quic_sent_packets_find(&s, pn);
            assert_non_null(p);
            assert_int_equal(p->handle, pn + 1);
        }
        /* Retire the oldest three. */
        for (int k = 0; k < 3; k++)
            quic_sent_packets_remove(&s, quic_sent_packets_find(&s, oldest++),
                                     QUIC_SENT_REMOVED_ACKED);
        quic_sent_packets_trim(&s);
        assert_int_equal(s.len, 13);
    }
    assert_int_equal(s.bytes_in_flight, 13000);
    quic_sent_packets_free(&s);
    test_env_check_leaks(&te);
}

/* At the bound, tombstones behind a live packet are compacted away; growth
 * goes through the allocator and fails cleanly. */
static void test_compaction_and_growth(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_sent_packets s;
    quic_sent_packets_init(&s, &te.env, 40);
    for (uint64_t pn = 0; pn < 40; pn++)
        assert_int_equal(push(&s, pn, 10, true, true), 0);
    assert_int_equal(s.cap, 40); /* 16 -> 32 -> 40 */
    for (uint64_t pn = 1; pn < 40; pn += 2)
        quic_sent_packets_remove(&s, quic_sent_packets_find(&s, pn), QUIC_SENT_REMOVED_ACKED);
    assert_int_equal(s.live, 20);
    for (uint64_t pn = 40; pn < 60; pn++)
        assert_int_equal(push(&s, pn, 10, true, true), 0);
    assert_int_equal(s.len, 40);
    assert_int_equal(push(&s, 60, 10, true, true), QUIC_RECOVERY_ERR_FULL);
    for (uint64_t pn = 0; pn < 60; pn++)
        assert_true((quic_sent_packets_find(&s, pn) != NULL) == (pn >= 40 || pn % 2 == 0));
    quic_sent_packets_clear(&s);
    assert_int_equal(s.live, 0);
    assert_int_equal(s.bytes_in_flight, 0);
    assert_int_equal(push(&s, 61, 10, true, true), 0);
    quic_sent_packets_free(&s);

    quic_sent_packets_init(&s, &te.env, 100);
    te.fail_after = 1;
    assert_int_equal(push(&s, 0, 10, true, true), QUIC_RECOVERY_ERR_NOMEM);
    assert_int_equal(s.live, 0);
    for (uint64_t pn = 0; pn < 16; pn++)
        assert_int_equal(push(&s, pn, 10, true, true), 0);
    te.fail_after = 1; /* growing past 16 fails; nothing is lost */
    assert_int_equal(push(&s, 16, 10, true, true), QUIC_RECOVERY_ERR_NOMEM);
    assert_int_equal(s.live, 16);
    assert_non_null(quic_sent_packets_find(&s, 15));
    assert_int_equal(push(&s, 16, 10, true, true), 0);
    quic_sent_packets_free(&s);

    quic_sent_packets_init(&s, &te.env, 0); /* a zero bound holds nothing */
    assert_int_equal(push(&s, 0, 10, true, true), QUIC_RECOVERY_ERR_FULL);
    quic_sent_packets_free(&s);
    test_env_check_leaks(&te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_and_find),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_compaction_and_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
