/* Shared by the streaming-reader fuzz targets: an FNV-1a digest of the events of one reading. */
#ifndef FUZZ_FUZZ_DIGEST_H
#define FUZZ_FUZZ_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* Two readings of the same stream (in pieces, all at once) must give equal digests. */
typedef struct fuzz_digest {
    uint64_t h;
    uint64_t events;
} fuzz_digest;

#define FUZZ_DIGEST_INIT                                                                           \
    {                                                                                              \
        0xcbf29ce484222325ULL, 0                                                                   \
    }

static inline void fuzz_mix(fuzz_digest *d, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 0x100000001b3ULL;
}

#endif
