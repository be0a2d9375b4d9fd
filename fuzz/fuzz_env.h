/* Shared by the fuzz targets: quince_env allocators on malloc and deterministic random streams. */
#ifndef FUZZ_FUZZ_ENV_H
#define FUZZ_FUZZ_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/env.h"
#include "crypto/crypto.h"

/*
 * The null backend (identity AEAD, stub signatures) whenever the build has it and
 * QUINCE_CRYPTO does not name another: the seeds are recorded with it, so that the
 * fuzzer can write packets that open, and it costs no key generation, ECDHE or
 * signature per input. Without this the backend table's default, mbedTLS first
 * whatever the order of -Dcrypto, made every whole-connection target do real
 * public-key crypto per input (a few hundred executions per CPU second) on
 * packets that then failed to open. crypto_diff names its backends itself.
 */
__attribute__((constructor)) static void fuzz_select_null_backend(void)
{
    const char *want = getenv("QUINCE_CRYPTO");
    if (want == NULL || want[0] == '\0')
        (void)crypto_backend_select("null");
}

/* malloc never sees 0, so that a zero-size request still gives a unique pointer. */
static inline void *fuzz_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size != 0 ? size : 1);
}

static inline void *fuzz_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    return realloc(ptr, size != 0 ? size : 1);
}

static inline void fuzz_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

/* For targets that need no real randomness: every byte 0x5a. */
static inline void fuzz_random_fixed(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x5a, len);
}

/* The state fuzz_random uses when the env has no user; set it per input so
 * that every run of an input is the same run. */
static inline uint64_t *fuzz_rng(void)
{
    static uint64_t state;
    return &state;
}

/* SplitMix64 on the uint64_t at user, or on *fuzz_rng() when user is NULL. */
static inline void fuzz_random(void *user, uint8_t *buf, size_t len)
{
    uint64_t *state = user != NULL ? user : fuzz_rng();
    for (size_t i = 0; i < len; i++) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        buf[i] = (uint8_t)(z ^ (z >> 31));
    }
}

/* malloc with fuzz_random (no user, so *fuzz_rng()). No wall clock. */
static inline const quince_env *fuzz_env(void)
{
    static const quince_env env = {
        .alloc = fuzz_alloc,
        .realloc = fuzz_realloc,
        .free = fuzz_free,
        .random = fuzz_random,
    };
    return &env;
}

/* malloc with fuzz_random_fixed. */
static inline const quince_env *fuzz_env_fixed(void)
{
    static const quince_env env = {
        .alloc = fuzz_alloc,
        .realloc = fuzz_realloc,
        .free = fuzz_free,
        .random = fuzz_random_fixed,
    };
    return &env;
}

/* Blocks allocated through fuzz_env_counting and not yet freed. */
static inline size_t *fuzz_live(void)
{
    static size_t live;
    return &live;
}

static inline void *fuzz_counting_alloc(void *user, size_t size)
{
    (void)user;
    void *p = malloc(size != 0 ? size : 1);
    *fuzz_live() += p != NULL;
    return p;
}

static inline void *fuzz_counting_realloc(void *user, void *ptr, size_t size)
{
    if (ptr == NULL)
        return fuzz_counting_alloc(user, size);
    return realloc(ptr, size != 0 ? size : 1);
}

static inline void fuzz_counting_free(void *user, void *ptr)
{
    (void)user;
    if (ptr != NULL) {
        (*fuzz_live())--;
        free(ptr);
    }
}

/* A counting allocator, no random source: for leak checks in pure parsers. */
static inline const quince_env *fuzz_env_counting(void)
{
    static const quince_env env = {
        .alloc = fuzz_counting_alloc,
        .realloc = fuzz_counting_realloc,
        .free = fuzz_counting_free,
    };
    return &env;
}

#endif
