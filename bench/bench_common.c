/* Shared harness for the benchmarks: timing loops, result rows, a counting deterministic env. */
#include "bench/bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#if BENCH_HEAP_HOOK
#include <malloc.h>
#endif

#include "crypto/backend.h"
#include "quince_config.h"

void bench_parse_args(int argc, char **argv, bench_opts *o, const char *prog)
{
    o->quick = false;
    o->seconds = 1.0;
    o->only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o->seconds = strtod(argv[++i], NULL);
            if (!(o->seconds > 0.0 && o->seconds < 600.0)) {
                fprintf(stderr, "%s: --seconds wants a number in (0, 600)\n", prog);
                exit(2);
            }
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            o->only = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: %s [--quick] [--seconds S] [--only SUBSTRING]\n"
                    "  --quick      a few iterations per row (smoke test)\n"
                    "  --seconds S  target time per timed row (default 1)\n"
                    "  --only X     only the rows whose name contains X\n",
                    prog);
            exit(strcmp(argv[i], "--help") == 0 ? 0 : 2);
        }
    }
}

bool bench_selected(const bench_opts *o, const char *name)
{
    return o->only == NULL || strstr(name, o->only) != NULL;
}

bool bench_any_selected(const bench_opts *o, const char *prefix, const char *const *suffixes,
                        size_t n)
{
    char name[160];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s%s", prefix, suffixes[i]);
        if (bench_selected(o, name))
            return true;
    }
    return false;
}

void bench_header(const char *prog)
{
    struct utsname u;
    char date[32] = "?";
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm) != NULL)
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
    if (uname(&u) != 0)
        strcpy(u.machine, "?");
    printf("# %s: quince %s, crypto backend %s, %s, %s\n", prog, QUINCE_VERSION,
           crypto_backend_name(), u.machine, date);
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_wall_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t bench_cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

double bench_time(const bench_opts *o, bench_fn fn, void *arg)
{
    if (o->quick) {
        uint64_t t0 = bench_cpu_ns();
        fn(arg, 3);
        return (double)(bench_cpu_ns() - t0) / 3.0;
    }
    uint64_t target = (uint64_t)(o->seconds * 1e9);
    uint64_t batch = 1, done = 0, spent = 0;
    fn(arg, 1); /* warm caches and lazy tables */
    while (spent < target) {
        uint64_t t0 = bench_cpu_ns();
        fn(arg, batch);
        uint64_t dt = bench_cpu_ns() - t0;
        done += batch;
        spent += dt;
        if (dt < target / 20 && batch < (UINT64_C(1) << 40))
            batch *= 2;
    }
    return (double)spent / (double)done;
}

void bench_row_time(const char *name, double ns_per_op, size_t bytes_per_op)
{
    if (bytes_per_op > 0)
        printf("%-40s %12.1f ns/op %12.1f op/s %9.1f MB/s\n", name, ns_per_op, 1e9 / ns_per_op,
               (double)bytes_per_op * 1e3 / ns_per_op);
    else
        printf("%-40s %12.1f ns/op %12.1f op/s\n", name, ns_per_op, 1e9 / ns_per_op);
    fflush(stdout);
}

void bench_row_value(const char *name, double value, const char *unit)
{
    printf("%-40s %12.0f %s\n", name, value, unit);
    fflush(stdout);
}

void bench_timed(const bench_opts *o, const char *name, bench_fn fn, void *arg, size_t bytes_per_op)
{
    if (!bench_selected(o, name))
        return;
    bench_row_time(name, bench_time(o, fn, arg), bytes_per_op);
}

_Noreturn void bench_fail(const char *what, int rc)
{
    fprintf(stderr, "bench: %s failed (%d)\n", what, rc);
    exit(1);
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void bench_fill(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(splitmix64(&s) >> 56);
}

/* Each block carries its size in a header so that free can count it. */
#define HDR 16

static void *count_alloc(void *user, size_t size)
{
    bench_env *b = user;
    unsigned char *p = malloc(size + HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof(size));
    b->live += size;
    b->allocs++;
    if (b->live > b->peak)
        b->peak = b->live;
    return p + HDR;
}

static void count_free(void *user, void *ptr)
{
    bench_env *b = user;
    if (ptr == NULL)
        return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t size;
    memcpy(&size, p, sizeof(size));
    b->live -= size;
    b->frees++;
    free(p);
}

static void *count_realloc(void *user, void *ptr, size_t size)
{
    bench_env *b = user;
    if (ptr == NULL)
        return count_alloc(user, size);
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t old;
    memcpy(&old, p, sizeof(old));
    unsigned char *q = realloc(p, size + HDR);
    if (q == NULL)
        return NULL;
    memcpy(q, &size, sizeof(size));
    b->live = b->live - old + size;
    b->allocs++;
    if (b->live > b->peak)
        b->peak = b->live;
    return q + HDR;
}

static void prng_random(void *user, uint8_t *buf, size_t len)
{
    bench_env *b = user;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = splitmix64(&b->rng);
        size_t n = len - i < 8 ? len - i : 8;
        memcpy(buf + i, &v, n);
    }
}

static void *plain_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void *plain_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    return realloc(ptr, size);
}

static void plain_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

/* The benches run as an application would: one crypto_shared for the
 * process (as io/'s environments have), built before anything is counted. */
static const crypto_shared *bench_shared(void)
{
    static crypto_shared *shared;
    if (shared == NULL) {
        bench_env tmp;
        memset(&tmp, 0, sizeof(tmp));
        tmp.rng = 1;
        tmp.env.user = &tmp;
        tmp.env.alloc = plain_alloc;
        tmp.env.realloc = plain_realloc;
        tmp.env.free = plain_free;
        tmp.env.random = prng_random;
        bench_heap *h = bench_heap_current;
        bench_heap_current = NULL;
        shared = crypto_shared_new(&tmp.env);
        bench_heap_current = h;
    }
    return shared;
}

void bench_env_init(bench_env *b, uint64_t seed)
{
    memset(b, 0, sizeof(*b));
    b->rng = seed;
    b->env.user = b;
    b->env.alloc = count_alloc;
    b->env.realloc = count_realloc;
    b->env.free = count_free;
    b->env.random = prng_random;
    b->env.crypto_shared = bench_shared();
}

void bench_env_reset_peak(bench_env *b)
{
    b->peak = b->live;
}

void bench_certs_make(const quince_env *env, unsigned rsa_bits, bench_certs *c)
{
    memset(c, 0, sizeof(*c));
    crypto_cert_params ca = {.common_name = "Quince Bench CA",
                             .not_before_unix = 1700000000,
                             .not_after_unix = 1900000000,
                             .is_ca = true,
                             .rsa_bits = rsa_bits};
    int rc = crypto_cert_generate(env, &ca, &c->ca_der, &c->ca_len, &c->ca_key_der, &c->ca_key_len,
                                  &c->ca_key);
    if (rc < 0)
        bench_fail("crypto_cert_generate (CA)", rc);
    crypto_cert_params leaf = {.common_name = BENCH_CERT_HOST,
                               .dns_name = BENCH_CERT_HOST,
                               .ip_address = "127.0.0.1",
                               .not_before_unix = 1700000000,
                               .not_after_unix = 1900000000,
                               .rsa_bits = rsa_bits,
                               .issuer_der = c->ca_der,
                               .issuer_der_len = c->ca_len,
                               .issuer_key = c->ca_key};
    rc = crypto_cert_generate(env, &leaf, &c->leaf_der, &c->leaf_len, &c->leaf_key_der,
                              &c->leaf_key_len, &c->leaf_key);
    if (rc < 0)
        bench_fail("crypto_cert_generate (leaf)", rc);
}

void bench_certs_free(const quince_env *env, bench_certs *c)
{
    crypto_privkey_free(env, c->ca_key);
    crypto_privkey_free(env, c->leaf_key);
    quince_env_free(env, c->ca_der);
    quince_env_free(env, c->ca_key_der);
    quince_env_free(env, c->leaf_der);
    quince_env_free(env, c->leaf_key_der);
    memset(c, 0, sizeof(*c));
}

bench_heap *bench_heap_current;

#if BENCH_HEAP_HOOK
/* glibc's own entry points, under the names it exports for interposers. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);

static void heap_add(void *p, int64_t old)
{
    bench_heap *h = bench_heap_current;
    if (h == NULL)
        return;
    h->live += (p != NULL ? (int64_t)malloc_usable_size(p) : 0) - old;
    h->allocs++;
    if (h->live > h->peak)
        h->peak = h->live;
}

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);
    heap_add(p, 0);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    heap_add(p, 0);
    return p;
}

void *realloc(void *ptr, size_t size)
{
    int64_t old = ptr != NULL && bench_heap_current ? (int64_t)malloc_usable_size(ptr) : 0;
    void *p = __libc_realloc(ptr, size);
    if (p != NULL || size == 0)
        heap_add(p, old);
    return p;
}

void free(void *ptr)
{
    if (ptr != NULL && bench_heap_current != NULL)
        bench_heap_current->live -= (int64_t)malloc_usable_size(ptr);
    __libc_free(ptr);
}

bool bench_heap_hooked(void)
{
    return true;
}
#else
bool bench_heap_hooked(void)
{
    return false;
}
#endif
