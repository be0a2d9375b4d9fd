/* libFuzzer target: our QPACK encoder against our decoder, with input-driven delivery order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h3/qpack_decoder.h"
#include "h3/qpack_encoder.h"
#include "fuzz_env.h"

/*
 * Input: 3 configuration bytes (table capacity, blocked streams, policy), then
 * operations: encode a field list, deliver some encoder-stream bytes, deliver
 * the next field section, deliver decoder-stream bytes (acknowledgments) or
 * not. Every section must decode to exactly the fields encoded, and neither
 * side may report an error: the encoder must respect the decoder's limits
 * whatever the order of delivery.
 */

static void f_random(void *u, uint8_t *b, size_t n)
{
    (void)u;
    memset(b, 0, n);
}

#define MAX_SECTIONS 64
#define MAX_FIELDS 8

typedef struct section {
    h3_field fields[MAX_FIELDS];
    size_t count;
    uint8_t *bytes;
    size_t len;
    int state; /* 0 encoded, 1 delivered, 2 decoded */
} section;

typedef struct run {
    section sections[MAX_SECTIONS];
    size_t nsections, next_delivery;
} run;

static int on_section(void *user, uint64_t stream_id, const h3_field *f, size_t n)
{
    run *r = user;
    if (stream_id % 4 != 0 || stream_id / 4 >= r->nsections)
        abort();
    section *s = &r->sections[stream_id / 4];
    if (s->state != 1 || n != s->count)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (f[i].name_len != s->fields[i].name_len || f[i].value_len != s->fields[i].value_len ||
            memcmp(f[i].name, s->fields[i].name, f[i].name_len) != 0 ||
            (f[i].value_len && memcmp(f[i].value, s->fields[i].value, f[i].value_len) != 0))
            abort();
    }
    s->state = 2;
    return 0;
}

static const char *const names[] = {":method", ":path",    ":authority", "user-agent",
                                    "cookie",  "x-custom", "accept",     "content-type"};
static const char *const values[] = {"GET",
                                     "/",
                                     "/index.html",
                                     "www.example.com",
                                     "a=b; c=d",
                                     "",
                                     "text/html; charset=utf-8",
                                     "0123456789abcdef"};

typedef struct input {
    const uint8_t *p, *end;
} input;

static uint8_t next(input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

/* A string from the dictionaries or from the input itself. */
static void pick(input *in, const char *const *dict, const uint8_t **s, size_t *len)
{
    uint8_t b = next(in);
    if (b < 0xc0) {
        *s = (const uint8_t *)dict[b & 7];
        *len = strlen(dict[b & 7]);
        return;
    }
    size_t n = b & 0x1f;
    if (n > (size_t)(in->end - in->p))
        n = (size_t)(in->end - in->p);
    *s = in->p;
    *len = n;
    in->p += n;
}

static void deliver_encoder(h3_qpack_encoder *enc, h3_qpack_decoder *dec, size_t max)
{
    uint8_t buf[512];
    while (max > 0) {
        size_t n = h3_qpack_encoder_drain(enc, buf, max < sizeof(buf) ? max : sizeof(buf));
        if (n == 0)
            break;
        if (h3_qpack_decoder_feed_encoder(dec, buf, n) != H3_QPACK_OK)
            abort();
        max -= n;
    }
}

static void deliver_section(run *r, h3_qpack_decoder *dec)
{
    if (r->next_delivery >= r->nsections)
        return;
    size_t k = r->next_delivery++;
    section *s = &r->sections[k];
    s->state = 1;
    int rc = h3_qpack_decoder_decode(dec, 4 * (uint64_t)k, s->bytes, s->len);
    if (rc != H3_QPACK_OK && rc != H3_QPACK_BLOCKED)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[8] = {0, 64, 100, 128, 256, 512, 4096, 65536};
    static const size_t blocked_opts[4] = {0, 1, 2, 100};
    input in = {data, data + size};
    quince_env env = {0};
    env.alloc = fuzz_alloc;
    env.realloc = fuzz_realloc;
    env.free = fuzz_free;
    env.random = f_random;
    size_t cap = caps[next(&in) & 7];
    size_t blocked = blocked_opts[next(&in) & 3];
    uint8_t policy = next(&in);
    run *r = calloc(1, sizeof(run));
    h3_qpack_encoder *enc = h3_qpack_encoder_new(&env, (policy & 4) ? 200 : 1 << 16);
    h3_qpack_decoder *dec = h3_qpack_decoder_new(&env, cap, blocked, 1 << 20);
    if (r == NULL || enc == NULL || dec == NULL)
        abort();
    h3_qpack_decoder_set_callback(dec, on_section, r);
    h3_qpack_encoder_apply_settings(enc, cap, blocked);
    h3_qpack_encoder_set_policy(enc, (policy & 1) != 0, (policy & 2) != 0);
    bool acks = (policy & 8) == 0;
    uint8_t buf[512];
    while (in.p < in.end) {
        uint8_t op = next(&in);
        switch (op & 3) {
        case 0: {
            if (r->nsections == MAX_SECTIONS)
                break;
            section *s = &r->sections[r->nsections];
            s->count = (op >> 2) % (MAX_FIELDS + 1);
            for (size_t i = 0; i < s->count; i++) {
                pick(&in, names, &s->fields[i].name, &s->fields[i].name_len);
                pick(&in, values, &s->fields[i].value, &s->fields[i].value_len);
            }
            size_t bound = h3_qpack_encode_bound(s->fields, s->count);
            s->bytes = malloc(bound);
            if (s->bytes == NULL ||
                h3_qpack_encode(enc, 4 * (uint64_t)r->nsections, s->fields, s->count, s->bytes,
                                bound, &s->len) != H3_QPACK_OK)
                abort();
            if (h3_qpack_encoder_blocked_streams(enc) > blocked)
                abort();
            r->nsections++;
            break;
        }
        case 1:
            deliver_encoder(enc, dec, (size_t)(op >> 2) * 8 + 1);
            break;
        case 2:
            deliver_section(r, dec);
            break;
        default: {
            size_t n;
            while ((n = h3_qpack_decoder_drain(dec, buf, sizeof(buf))) > 0)
                if (acks && h3_qpack_encoder_feed_decoder(enc, buf, n) != H3_QPACK_OK)
                    abort();
            break;
        }
        }
    }
    /* Deliver everything; every section must then be decoded. */
    while (r->next_delivery < r->nsections)
        deliver_section(r, dec);
    deliver_encoder(enc, dec, SIZE_MAX);
    if (h3_qpack_decoder_blocked(dec) != 0)
        abort();
    for (size_t k = 0; k < r->nsections; k++) {
        if (r->sections[k].state != 2)
            abort();
        free(r->sections[k].bytes);
    }
    h3_qpack_encoder_free(enc);
    h3_qpack_decoder_free(dec);
    free(r);
    return 0;
}
