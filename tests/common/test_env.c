/* A deterministic quince_env for tests. */
#include "tests/common/test_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Header placed before each block so that realloc/free can keep counts. */
typedef struct {
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned */
} alloc_hdr;

static void *t_alloc(void *user, size_t size)
{
    test_env *t = user;
    if (t->fail_after > 0 && --t->fail_after == 0)
        return NULL;
    alloc_hdr *h = malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    t->live_allocs++;
    t->total_allocs++;
    return h + 1;
}

static void t_free(void *user, void *ptr)
{
    test_env *t = user;
    if (ptr == NULL)
        return;
    t->live_allocs--;
    free((alloc_hdr *)ptr - 1);
}

static void *t_realloc(void *user, void *ptr, size_t size)
{
    test_env *t = user;
    if (ptr == NULL)
        return t_alloc(user, size);
    if (t->fail_after > 0 && --t->fail_after == 0)
        return NULL;
    alloc_hdr *h = realloc((alloc_hdr *)ptr - 1, sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    return h + 1;
}

/* splitmix64: deterministic, good enough to stand in for a CSPRNG in tests. */
static void t_random(void *user, uint8_t *buf, size_t len)
{
    test_env *t = user;
    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0) {
            uint64_t z = (t->rng_state += 0x9e3779b97f4a7c15ULL);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            z ^= z >> 31;
            memcpy(buf + i, &z, len - i < 8 ? len - i : 8);
        }
    }
}

static int64_t t_wall_clock(void *user)
{
    return ((test_env *)user)->wall_clock;
}

static void t_keylog(void *user, const char *line)
{
    test_env *t = user;
    size_t n = strlen(line);
    if (t->keylog_len + n + 2 <= sizeof(t->keylog)) {
        memcpy(t->keylog + t->keylog_len, line, n);
        t->keylog_len += n;
        t->keylog[t->keylog_len++] = '\n';
        t->keylog[t->keylog_len] = 0;
    }
}

void test_env_init(test_env *t, uint64_t seed)
{
    memset(t, 0, sizeof(*t));
    t->rng_state = seed;
    t->wall_clock = 1795478400; /* 2026-11-24T00:00:00Z */
    t->env.user = t;
    t->env.alloc = t_alloc;
    t->env.realloc = t_realloc;
    t->env.free = t_free;
    t->env.random = t_random;
    t->env.wall_clock = t_wall_clock;
    t->env.keylog = t_keylog;
}

void test_env_check_leaks(const test_env *t)
{
    assert_int_equal(t->live_allocs, 0);
}

uint8_t *test_read_file(const char *path, size_t *len)
{
    char full[4096];
    if (path[0] == '/')
        snprintf(full, sizeof(full), "%s", path);
    else
        snprintf(full, sizeof(full), "%s/%s", QUINCE_SOURCE_ROOT, path);
    FILE *f = fopen(full, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", full);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

size_t test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}
