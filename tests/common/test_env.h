/* A deterministic quince_env for tests: seeded PRNG, counting allocator, fixed clock. */
#ifndef TESTS_COMMON_TEST_ENV_H
#define TESTS_COMMON_TEST_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "base/env.h"

typedef struct test_env {
    quince_env env;
    uint64_t rng_state;
    size_t live_allocs;   /* allocations not yet freed */
    size_t total_allocs;
    size_t fail_after;    /* 0: never; n: the n-th allocation from now fails */
    int64_t wall_clock;   /* returned by env.wall_clock */
    char keylog[8192];    /* keylog lines appended, '\n'-separated */
    size_t keylog_len;
} test_env;

/* Initialise with a seed; wall clock starts at 2026-11-24T00:00:00Z. */
void test_env_init(test_env *t, uint64_t seed);
/* Fails the test (cmocka) if allocations leaked. */
void test_env_check_leaks(const test_env *t);
/* Read a whole file (relative paths are taken from the source root), malloc'd. */
uint8_t *test_read_file(const char *path, size_t *len);
/* Decode hex (whitespace ignored) into out; returns the length. */
size_t test_unhex(const char *hex, uint8_t *out, size_t cap);

#endif
