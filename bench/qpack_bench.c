/* Micro-benchmark: QPACK decoding of qifs corpus files (and encoding of their .qif inputs). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "h3/qpack_decoder.h"
#include "h3/qpack_encoder.h"

static void *b_alloc(void *u, size_t n)
{
    (void)u;
    return malloc(n ? n : 1);
}
static void *b_realloc(void *u, void *p, size_t n)
{
    (void)u;
    return realloc(p, n ? n : 1);
}
static void b_free(void *u, void *p)
{
    (void)u;
    free(p);
}
static void b_random(void *u, uint8_t *b, size_t n)
{
    (void)u;
    memset(b, 0, n);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int count_cb(void *user, uint64_t sid, const h3_field *f, size_t n)
{
    (void)sid;
    size_t *bytes = user;
    for (size_t i = 0; i < n; i++)
        *bytes += f[i].name_len + f[i].value_len;
    return 0;
}

/* Decode a qifs .out file (T from its name) iterations times. */
static void bench_decode(const quince_env *env, const char *path, size_t cap, int iterations)
{
    size_t len;
    uint8_t *data = read_file(path, &len);
    size_t decoded = 0;
    double t0 = now_s();
    for (int it = 0; it < iterations; it++) {
        h3_qpack_decoder *dec = h3_qpack_decoder_new(env, cap, 100, 1 << 20);
        h3_qpack_decoder_set_callback(dec, count_cb, &decoded);
        h3_qpack_decoder_assume_capacity(dec, cap);
        for (size_t off = 0; off + 12 <= len;) {
            uint64_t sid = be(data + off, 8);
            size_t blen = (size_t)be(data + off + 8, 4);
            int rc = sid == 0 ? h3_qpack_decoder_feed_encoder(dec, data + off + 12, blen)
                              : h3_qpack_decoder_decode(dec, sid, data + off + 12, blen);
            if (rc < 0) {
                fprintf(stderr, "%s: error %d\n", path, rc);
                exit(1);
            }
            uint8_t sink[256];
            while (h3_qpack_decoder_drain(dec, sink, sizeof(sink)) > 0) {
            }
            off += 12 + blen;
        }
        h3_qpack_decoder_free(dec);
    }
    double dt = now_s() - t0;
    printf("decode %-60s %8.1f MB/s encoded, %8.1f MB/s of header bytes\n", path,
           (double)len * iterations / dt / 1e6, (double)decoded / dt / 1e6);
    free(data);
}

/* Encode a .qif (with immediate acknowledgments) iterations times. */
static void bench_encode(const quince_env *env, const char *path, size_t cap, int iterations)
{
    size_t len;
    char *text = (char *)read_file(path, &len);
    /* parse into sets */
    h3_field *fields = calloc(len + 1, sizeof(h3_field));
    size_t *starts = calloc(len + 2, sizeof(size_t));
    size_t nf = 0, ns = 0;
    bool open = false;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        char *next = eol ? eol + 1 : p + strlen(p);
        if (eol)
            *eol = 0;
        char *tab = strchr(p, '\t');
        if (*p == 0) {
            open = false;
        } else if (*p != '#' && tab != NULL) {
            if (!open) {
                starts[ns++] = nf;
                open = true;
            }
            fields[nf].name = (const uint8_t *)p;
            fields[nf].name_len = (size_t)(tab - p);
            fields[nf].value = (const uint8_t *)tab + 1;
            fields[nf].value_len = strlen(tab + 1);
            nf++;
        }
        p = next;
    }
    starts[ns] = nf;
    size_t raw = 0;
    for (size_t i = 0; i < nf; i++)
        raw += fields[i].name_len + fields[i].value_len;
    uint8_t *out = malloc(1 << 20);
    uint8_t *es = malloc(1 << 20);
    size_t produced = 0;
    double t0 = now_s();
    for (int it = 0; it < iterations; it++) {
        h3_qpack_encoder *enc = h3_qpack_encoder_new(env, cap);
        h3_qpack_decoder *dec = h3_qpack_decoder_new(env, cap, 100, 1 << 20);
        h3_qpack_encoder_apply_settings(enc, cap, 100);
        for (size_t s = 0; s < ns; s++) {
            size_t olen;
            if (h3_qpack_encode(enc, 4 * s, fields + starts[s], starts[s + 1] - starts[s], out,
                                1 << 20, &olen) != H3_QPACK_OK) {
                fprintf(stderr, "encode failed\n");
                exit(1);
            }
            produced += olen;
            size_t n = h3_qpack_encoder_drain(enc, es, 1 << 20);
            produced += n;
            h3_qpack_decoder_feed_encoder(dec, es, n);
            h3_qpack_decoder_decode(dec, 4 * s, out, olen);
            n = h3_qpack_decoder_drain(dec, es, 1 << 20);
            h3_qpack_encoder_feed_decoder(enc, es, n);
        }
        h3_qpack_encoder_free(enc);
        h3_qpack_decoder_free(dec);
    }
    double dt = now_s() - t0;
    printf("encode+decode %-53s %8.1f MB/s of header bytes (%zu -> %zu bytes, T=%zu)\n", path,
           (double)raw * iterations / dt / 1e6, raw, produced / (size_t)iterations, cap);
    free(out);
    free(es);
    free(fields);
    free(starts);
    free(text);
}

int main(int argc, char **argv)
{
    int iterations = argc > 1 ? atoi(argv[1]) : 50;
    const char *root = argc > 2 ? argv[2] : QUINCE_SOURCE_ROOT;
    quince_env env = {0};
    env.alloc = b_alloc;
    env.realloc = b_realloc;
    env.free = b_free;
    env.random = b_random;
    static const struct {
        const char *file;
        size_t cap;
    } dec_files[] = {
        {"tests/vectors/qifs/encoded/qpack-05/ls-qpack/fb-req.out.4096.100.1", 4096},
        {"tests/vectors/qifs/encoded/qpack-05/nghttp3/fb-req.out.4096.100.1", 4096},
        {"tests/vectors/qifs/encoded/qpack-05/quinn/netbsd.out.4096.100.1", 4096},
        {"tests/vectors/qifs/encoded/qpack-05/f5/fb-req.out.512.100.0", 512},
    };
    char path[4096];
    for (size_t i = 0; i < sizeof(dec_files) / sizeof(dec_files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", root, dec_files[i].file);
        bench_decode(&env, path, dec_files[i].cap, iterations);
    }
    snprintf(path, sizeof(path), "%s/tests/vectors/qifs/qifs/fb-req.qif", root);
    bench_encode(&env, path, 4096, iterations / 5 + 1);
    bench_encode(&env, path, 0, iterations / 5 + 1);
    return 0;
}
