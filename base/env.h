/* The injected environment: memory, randomness, clocks and log sinks (docs/ARCHITECTURE.md
 * "sans-I/O"). */
#ifndef BASE_ENV_H
#define BASE_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "base/export.h"

/*
 * Every layer (crypto, quic, h3, wt) takes one of these at creation and never
 * reaches the operating system on its own: no malloc, no rand(), no clock.
 * This header has no dependencies so that every layer, crypto/ included, can
 * use it. Only alloc/realloc/free and random are required; the sinks may be NULL.
 */
typedef struct quince_env {
    void *user;
    void *(*alloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *ptr, size_t size);
    void (*free)(void *user, void *ptr);
    /* Fill buf with len cryptographically secure random bytes. */
    void (*random)(void *user, uint8_t *buf, size_t len);
    /* Seconds since the Unix epoch; used only to check certificate validity.
     * NULL means "do not check validity periods" unless a time is configured. */
    int64_t (*wall_clock)(void *user);
    /* Optional sinks. keylog receives one NSS key-log line without newline. */
    void (*log)(void *user, int level, const char *msg);
    void (*keylog)(void *user, const char *line);
    /* qlog (base/qlog.h): one trace per connection. qlog_open starts one, named
     * by the connection's original Destination Connection ID in hex, vantage
     * "client" or "server", and returns the sink's handle for it (NULL: this
     * connection is not logged). qlog_write gets each JSON-SEQ record whole
     * (0x1E, one JSON object, LF); qlog_close ends the trace. qlog_open and
     * qlog_write are both needed; qlog_close may be NULL. */
    void *(*qlog_open)(void *user, const char *name, const char *vantage);
    void (*qlog_write)(void *user, void *trace, const char *record, size_t len);
    void (*qlog_close)(void *user, void *trace);
    /* Optional: tables the crypto backend may share between every connection
     * of this environment, from crypto_shared_new (crypto/crypto.h). Built
     * whole there and only read afterwards, so any thread may use it. NULL:
     * each key share and signature check prepares its own (slower). The
     * library itself keeps nothing process-wide. */
    const void *crypto_shared;
    /* Optional: milliseconds since the Unix epoch, for session-ticket ages
     * (RFC 8446 §4.2.11.1); NULL: wall_clock in whole seconds. */
    int64_t (*wall_clock_ms)(void *user);
} quince_env;

static inline void *quince_env_alloc(const quince_env *env, size_t size)
{
    return env->alloc(env->user, size);
}

static inline void *quince_env_calloc(const quince_env *env, size_t size)
{
    void *p = env->alloc(env->user, size);
    if (p != NULL) {
#if defined(__GNUC__) || defined(__clang__)
        /* The loop below is memset to an optimiser, but not under coverage
         * instrumentation (-fsanitize=fuzzer): there it cost a call per byte,
         * 77,000 per QUIC connection (its size then), most of a whole-connection fuzz run. */
        __builtin_memset(p, 0, size);
#else
        unsigned char *b = (unsigned char *)p;
        for (size_t i = 0; i < size; i++)
            b[i] = 0;
#endif
    }
    return p;
}

static inline void *quince_env_realloc(const quince_env *env, void *ptr, size_t size)
{
    return env->realloc(env->user, ptr, size);
}

static inline void quince_env_free(const quince_env *env, void *ptr)
{
    if (ptr != NULL)
        env->free(env->user, ptr);
}

static inline void quince_env_random(const quince_env *env, uint8_t *buf, size_t len)
{
    env->random(env->user, buf, len);
}

#endif
