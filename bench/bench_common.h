/* Shared harness for the benchmarks: timing loops, result rows, a counting deterministic env. */
#ifndef BENCH_BENCH_COMMON_H
#define BENCH_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/backend.h"
#include "base/env.h"

/*
 * Every bench prints rows of one shape so that scripts/bench.sh (and the
 * smoke test) can read them with awk:
 *   <name>  <ns> ns/op  <rate> op/s  [<MB/s> MB/s]      (timed rows)
 *   <name>  <value> <unit>                               (value rows: bytes, counts)
 * MB is 10^6 bytes, as in `openssl speed` (whose "k" is 1000 bytes).
 */

typedef struct bench_opts {
    bool quick;       /* a few iterations per row: checks that everything runs */
    double seconds;   /* target CPU time per timed row */
    const char *only; /* run only rows whose name contains this */
} bench_opts;

/* --quick, --seconds S, --only SUBSTR, --help. Exits on a bad argument. */
void bench_parse_args(int argc, char **argv, bench_opts *o, const char *prog);
/* Whether a row named name is selected by --only. */
bool bench_selected(const bench_opts *o, const char *name);
/* Whether any of the n rows named prefix + suffixes[i] is selected: lets a
 * bench skip the setup of a group of rows that --only leaves out. */
bool bench_any_selected(const bench_opts *o, const char *prefix, const char *const *suffixes,
                        size_t n);
/* Print the header line (program, backend, date, machine). */
void bench_header(const char *prog);

/* Keeps a per-side entry point a real function, for callgrind's --toggle-collect. */
#if defined(__GNUC__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE
#endif

/* Monotonic wall time and this thread's CPU time, in nanoseconds. */
uint64_t bench_wall_ns(void);
uint64_t bench_cpu_ns(void);

/* Runs iters operations; arg is the bench's state. Must not fail silently:
 * call bench_fail on an error. */
typedef void (*bench_fn)(void *arg, uint64_t iters);

/*
 * Time fn: batches grow until one takes about 1/20 of the target, then run
 * until the target time is reached (--quick: 3 single calls). Returns the
 * mean time per operation in ns, measured as this thread's CPU time (like
 * `openssl speed`, which divides by user CPU time): on a machine shared with
 * other work, time spent descheduled does not count.
 */
double bench_time(const bench_opts *o, bench_fn fn, void *arg);

/* A timed row: ns per operation, and MB/s when bytes_per_op > 0. */
void bench_row_time(const char *name, double ns_per_op, size_t bytes_per_op);
/* A value row (memory, sizes, counts). */
void bench_row_value(const char *name, double value, const char *unit);
/* Time fn and print the row, if selected. */
void bench_timed(const bench_opts *o, const char *name, bench_fn fn, void *arg,
                 size_t bytes_per_op);

/* Print the message to stderr and exit(1). */
_Noreturn void bench_fail(const char *what, int rc);

/* Fill buf with a deterministic pattern from seed. */
void bench_fill(uint8_t *buf, size_t len, uint64_t seed);

/*
 * A quince_env whose allocator counts live bytes, the peak and the calls, and
 * whose random source is a seeded PRNG (splitmix64: deterministic, not
 * secure, for benchmarks only). Use &b->env; keep the bench_env in place.
 */
typedef struct bench_env {
    quince_env env;
    uint64_t rng;
    size_t live;     /* bytes currently allocated (payloads, no allocator overhead) */
    size_t peak;     /* highest live since the last bench_env_reset_peak */
    uint64_t allocs; /* alloc + realloc calls */
    uint64_t frees;
} bench_env;

void bench_env_init(bench_env *b, uint64_t seed);
/* Start a new peak measurement from the current live size. */
void bench_env_reset_peak(bench_env *b);

/*
 * The process heap as the C library sees it. mbedTLS (and OpenSSL, in the
 * peer bench) allocate with calloc/free directly, not through quince_env, so
 * the env counters above miss their memory. Where the build allows it
 * (glibc, no sanitizer) the bench binaries interpose malloc, calloc, realloc
 * and free, and while bench_heap_current is set every call is counted there
 * by usable size (what the allocator really hands out).
 */
typedef struct bench_heap {
    int64_t live;
    int64_t peak;
    uint64_t allocs;
} bench_heap;
extern bench_heap *bench_heap_current;
/* Whether the interposer is compiled in (otherwise heap rows are skipped). */
bool bench_heap_hooked(void);
static inline void bench_heap_reset_peak(bench_heap *h)
{
    h->peak = h->live;
}

/*
 * A CA and a leaf certificate it signed (bench.test, 127.0.0.1), both ECDSA
 * P-256 (rsa_bits 0) or both RSA; valid from 2023-11-14 to 2030-03-17 and
 * generated with env's random, so the same seed gives the same bytes. Keys
 * are PKCS#8 or SEC1 DER and parsed. Exits on failure.
 */
#define BENCH_CERT_HOST "bench.test"
#define BENCH_CERT_NOW 1800000000 /* the validity check's "now": 2027-01-15 */
typedef struct bench_certs {
    uint8_t *ca_der, *ca_key_der, *leaf_der, *leaf_key_der;
    size_t ca_len, ca_key_len, leaf_len, leaf_key_len;
    crypto_privkey *ca_key, *leaf_key;
} bench_certs;

void bench_certs_make(const quince_env *env, unsigned rsa_bits, bench_certs *c);
void bench_certs_free(const quince_env *env, bench_certs *c);

#endif
