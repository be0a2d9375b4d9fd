/* Fuzz target: STREAM/CRYPTO reassembly (RFC 9000 §2.2, §4.5) checked against a byte model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic/stream_buf.h"
#include "fuzz_env.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

#define WINDOW 300
#define SPAN 2048

static size_t live_bytes;

static void *f_alloc(void *user, size_t size)
{
    (void)user;
    size_t *p = malloc(sizeof(size_t) + size);
    if (p == NULL)
        return NULL;
    *p = size;
    live_bytes += size;
    return p + 1;
}

static void *f_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    size_t *p = ptr ? (size_t *)ptr - 1 : NULL;
    size_t old = p ? *p : 0;
    size_t *q = realloc(p, sizeof(size_t) + size);
    if (q == NULL)
        return NULL;
    live_bytes = live_bytes - old + size;
    *q = size;
    return q + 1;
}

static void f_free(void *user, void *ptr)
{
    (void)user;
    if (ptr == NULL)
        return;
    size_t *p = (size_t *)ptr - 1;
    live_bytes -= *p;
    free(p);
}

static uint8_t src[SPAN + 256];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    quince_env env = {.alloc = f_alloc, .realloc = f_realloc, .free = f_free, .random = fuzz_random_fixed};
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 31 + 7);
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &env, WINDOW, 8, NULL);
    static uint8_t got[SPAN + 256]; /* bytes a QUIC_OK write stored */
    memset(got, 0, sizeof(got));
    uint64_t max_end = 0;
    /* Each op: 4 bytes: kind|flags, offset (2), length. */
    for (size_t i = 0; i + 4 <= size; i += 4) {
        uint8_t kind = data[i];
        uint64_t off = (((uint64_t)data[i + 1] << 8) | data[i + 2]) % SPAN;
        size_t len = data[i + 3];
        bool fin = (kind & 0x80) != 0;
        uint64_t had_final = sb.has_final, final = sb.final_size;
        switch (kind & 3) {
        case 0:
        case 1: {
            int rc = quic_stream_buf_write(&sb, off, src + off, len, fin);
            uint64_t end = off + len;
            if (rc == QUIC_OK) {
                if (end > max_end)
                    max_end = end;
                memset(got + off, 1, len);
                CHECK(!had_final || end <= final);
            } else if (rc == QUIC_ERR_FINAL_SIZE) {
                CHECK((had_final && (end > final || (fin && end != final))) ||
                      (fin && end < max_end));
            } else {
                CHECK(rc == QUIC_ERR_LIMIT || rc == QUIC_ERR_BUDGET);
                if (rc == QUIC_ERR_BUDGET && end > max_end)
                    max_end = end; /* the peer did send up to there */
            }
            break;
        }
        case 2: {
            uint8_t out[256];
            size_t before = (size_t)sb.read_offset;
            size_t n = quic_stream_buf_read(&sb, out, len);
            CHECK(n <= len);
            CHECK(memcmp(out, src + before, n) == 0);
            break;
        }
        default: {
            int rc = quic_stream_buf_set_final(&sb, off);
            CHECK(rc == QUIC_OK || rc == QUIC_ERR_FINAL_SIZE);
            if (rc == QUIC_OK)
                CHECK(off >= max_end && (!had_final || off == final));
            break;
        }
        }
        /* The charge is exactly what is allocated plus the per-piece overhead. */
        CHECK(sb.held == live_bytes + sb.n_segs * QUIC_STREAM_SEG_OVERHEAD);
        CHECK(sb.n_segs <= 9); /* max_segs, plus a piece at the read offset */
        /* No stall: a byte stored at the read offset can be read. */
        size_t ready;
        quic_stream_buf_peek(&sb, &ready);
        if (sb.read_offset < sizeof(got) && got[sb.read_offset] && !sb.has_final)
            CHECK(ready > 0);
        if (sb.has_final)
            CHECK(sb.read_offset <= sb.final_size);
    }
    quic_stream_buf_free(&sb);
    CHECK(live_bytes == 0);
    return 0;
}
