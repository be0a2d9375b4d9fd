/* Zeroing of secrets that the compiler may not drop as a dead store. */
#ifndef QUINCE_BASE_WIPE_H
#define QUINCE_BASE_WIPE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Zero n bytes at p, even when p is never read again (keys, secrets, nonces before they
 * are freed). With GCC and Clang: memset, then an empty asm that takes p and clobbers
 * memory, so the stores must happen; elsewhere a volatile byte loop. The byte loop was
 * what every compiler got before: under the fuzzers' instrumentation it cost a coverage
 * callback and a sanitizer check per byte (a QUIC connection wipes ten packet-protection
 * contexts when it is freed).
 */
static inline void quince_wipe(void *p, size_t n)
{
    if (p == NULL || n == 0)
        return;
#if defined(__GNUC__) || defined(__clang__)
    __builtin_memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    volatile uint8_t *b = p;
    while (n-- > 0)
        *b++ = 0;
#endif
}

#endif
