/* QPACK known answers: RFC 9204 Appendix B and the qifs interop corpus (decode and round trip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h3/qpack_decoder.h"
#include "h3/qpack_encoder.h"
#include "tests/common/test_env.h"

#define QIFS "tests/vectors/qifs"

/* ---- QIF input files: one field line per line, an empty line ends a set ---- */

typedef struct qif_set {
    h3_field *fields;
    size_t count;
} qif_set;

typedef struct qif {
    uint8_t *text;
    qif_set *sets;
    size_t nsets;
} qif;

/* Parse text (malloc'd, NUL-terminated; q takes it over). */
static void qif_parse(qif *q, uint8_t *text, size_t len)
{
    q->text = text;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += q->text[i] == '\n';
    q->sets = calloc(lines + 1, sizeof(qif_set));
    h3_field *all = calloc(lines + 1, sizeof(h3_field));
    assert_non_null(q->sets);
    assert_non_null(all);
    q->nsets = 0;
    size_t nf = 0;
    qif_set *cur = NULL;
    char *p = (char *)q->text;
    while (*p) {
        char *eol = strchr(p, '\n');
        char *next = eol ? eol + 1 : p + strlen(p);
        if (eol)
            *eol = 0;
        if (*p == '#') {
            /* comment */
        } else if (*p == 0) {
            cur = NULL;
        } else {
            char *tab = strchr(p, '\t');
            assert_non_null(tab);
            if (cur == NULL) {
                cur = &q->sets[q->nsets++];
                cur->fields = &all[nf];
            }
            h3_field *f = &all[nf++];
            f->name = (const uint8_t *)p;
            f->name_len = (size_t)(tab - p);
            f->value = (const uint8_t *)tab + 1;
            f->value_len = strlen(tab + 1);
            cur->count++;
        }
        p = next;
    }
}

static void qif_load(qif *q, const char *path)
{
    size_t len;
    uint8_t *text = test_read_file(path, &len);
    qif_parse(q, text, len);
}

static void qif_free(qif *q)
{
    if (q->nsets > 0)
        free(q->sets[0].fields);
    free(q->sets);
    free(q->text);
}

/* ---- a decoder harness that checks each delivered section against expectations ---- */

typedef struct expect {
    uint64_t *stream_ids; /* sorted distinct non-zero stream IDs */
    size_t nstreams;
    const qif_set *sets;
    bool *done;
    size_t ndone;
} expect;

static void check_fields(const qif_set *want, const h3_field *got, size_t count)
{
    assert_int_equal(count, want->count);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(got[i].name_len, want->fields[i].name_len);
        assert_int_equal(got[i].value_len, want->fields[i].value_len);
        assert_memory_equal(got[i].name, want->fields[i].name, got[i].name_len);
        if (got[i].value_len > 0)
            assert_memory_equal(got[i].value, want->fields[i].value, got[i].value_len);
    }
}

static int on_section(void *user, uint64_t stream_id, const h3_field *fields, size_t count)
{
    expect *e = user;
    size_t k = 0;
    while (k < e->nstreams && e->stream_ids[k] != stream_id)
        k++;
    assert_true(k < e->nstreams);
    assert_false(e->done[k]);
    check_fields(&e->sets[k], fields, count);
    e->done[k] = true;
    e->ndone++;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Decode one qifs output file (block framing of FORMAT.md) against the expected sets. */
static void decode_out_file(const char *path, size_t cap, size_t blocked, const qif_set *sets,
                            size_t nsets)
{
    test_env t;
    test_env_init(&t, 1);
    size_t len;
    uint8_t *data = test_read_file(path, &len);
    uint64_t ids[4096];
    size_t nids = 0;
    for (size_t off = 0; off < len;) {
        assert_true(len - off >= 12);
        uint64_t sid = be(data + off, 8);
        size_t blen = (size_t)be(data + off + 8, 4);
        assert_true(len - off - 12 >= blen);
        if (sid != 0) {
            size_t k = 0;
            while (k < nids && ids[k] != sid)
                k++;
            if (k == nids) {
                assert_true(nids < 4096);
                ids[nids++] = sid;
            }
        }
        off += 12 + blen;
    }
    qsort(ids, nids, sizeof(ids[0]), cmp_u64);
    assert_int_equal(nids, nsets);
    bool done[4096] = {false};
    expect e = {ids, nids, sets, done, 0};

    h3_qpack_decoder *dec = h3_qpack_decoder_new(&t.env, cap, blocked, 1 << 20);
    assert_non_null(dec);
    h3_qpack_decoder_set_callback(dec, on_section, &e);
    /* The corpus convention: the table starts at capacity T (see FORMAT.md). */
    assert_int_equal(h3_qpack_decoder_assume_capacity(dec, cap), H3_QPACK_OK);
    size_t max_blocked_seen = 0;
    for (size_t off = 0; off < len;) {
        uint64_t sid = be(data + off, 8);
        size_t blen = (size_t)be(data + off + 8, 4);
        const uint8_t *b = data + off + 12;
        if (sid == 0) {
            /* Feed the encoder stream in two pieces to exercise reassembly. */
            size_t half = blen / 2;
            assert_int_equal(h3_qpack_decoder_feed_encoder(dec, b, half), H3_QPACK_OK);
            assert_int_equal(h3_qpack_decoder_feed_encoder(dec, b + half, blen - half),
                             H3_QPACK_OK);
        } else {
            int rc = h3_qpack_decoder_decode(dec, sid, b, blen);
            assert_true(rc == H3_QPACK_OK || rc == H3_QPACK_BLOCKED);
        }
        if (h3_qpack_decoder_blocked(dec) > max_blocked_seen)
            max_blocked_seen = h3_qpack_decoder_blocked(dec);
        uint8_t sink[4096];
        while (h3_qpack_decoder_drain(dec, sink, sizeof(sink)) > 0) {
        }
        off += 12 + blen;
    }
    assert_true(max_blocked_seen <= blocked);
    assert_int_equal(h3_qpack_decoder_blocked(dec), 0);
    assert_int_equal(e.ndone, nsets);
    assert_int_equal(h3_qpack_decoder_wire_error(dec), 0);
    h3_qpack_decoder_free(dec);
    free(data);
    test_env_check_leaks(&t);
}

/* Every encoded file of every encoder decodes to its .qif (name.out.T.B.A). */
static void test_qifs_corpus(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s/encoded/qpack-05", QUINCE_SOURCE_ROOT, QIFS);
    DIR *top = opendir(dir);
    assert_non_null(top);
    struct dirent *de;
    size_t files = 0;
    while ((de = readdir(top)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "examples") == 0 ||
            strstr(de->d_name, ".out") != NULL)
            continue;
        char sub[4096 + 256];
        snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
        DIR *d = opendir(sub);
        assert_non_null(d);
        struct dirent *fe;
        while ((fe = readdir(d)) != NULL) {
            char name[256];
            unsigned long T, B, A;
            const char *dot = strstr(fe->d_name, ".out.");
            if (dot == NULL)
                continue;
            assert_int_equal(sscanf(dot, ".out.%lu.%lu.%lu", &T, &B, &A), 3);
            assert_true(A <= 1);
            snprintf(name, sizeof(name), "%s/qifs/%.*s.qif", QIFS, (int)(dot - fe->d_name),
                     fe->d_name);
            qif q;
            qif_load(&q, name);
            char path[8192 + 512];
            snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name);
            decode_out_file(path, T, B, q.sets, q.nsets);
            qif_free(&q);
            files++;
        }
        closedir(d);
    }
    closedir(top);
    /* All qpack-05 outputs of the six encoders copied from the corpus. */
    assert_int_equal(files, 200);
    printf("decoded %zu corpus files\n", files);
}

static void test_draft_examples(void **state)
{
    (void)state;
    qif q;
    qif_load(&q, QIFS "/qifs/draft-examples.qif");
    assert_int_equal(q.nsets, 3);
    decode_out_file(QIFS "/encoded/qpack-05/draft-examples.out", 220, 100, q.sets, q.nsets);
    qif_free(&q);
}

/* examples.out.220.100.1 carries the RFC 9204 Appendix B exchange (B.1, B.2, B.4). */
static void test_rfc_examples_file(void **state)
{
    (void)state;
    static const char text[] = ":path\t/index.html\n\n"
                               ":authority\twww.example.com\n:path\t/sample/path\n\n"
                               ":authority\twww.example.com\n:path\t/\ncustom-key\tcustom-value\n";
    qif q;
    qif_parse(&q, (uint8_t *)strdup(text), strlen(text));
    assert_int_equal(q.nsets, 3);
    decode_out_file(QIFS "/encoded/qpack-05/examples/examples.out.220.100.1", 220, 100, q.sets,
                    q.nsets);
    qif_free(&q);
}

/* ---- RFC 9204 Appendix B, parsed from the RFC text at test time ---- */

typedef struct rfc_step {
    char section; /* '1'..'5' for B.1..B.5 */
    int kind;     /* 0 encoder stream, 1 decoder stream, 2 request stream */
    uint64_t stream_id;
    uint8_t data[128];
    size_t len;
} rfc_step;

static size_t parse_appendix_b(rfc_step *steps, size_t max)
{
    size_t len;
    char *text = (char *)test_read_file("tests/vectors/data/rfc9204-qpack.txt", &len);
    char *p = strstr(text, "\nAppendix B.  Encoding and Decoding Examples");
    assert_non_null(p);
    char *end = strstr(p, "\nAppendix C.");
    assert_non_null(end);
    *end = 0;
    size_t n = 0;
    char section = 0;
    rfc_step *cur = NULL;
    for (char *line = p + 1; line != NULL && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        const char *s = line;
        while (*s == ' ')
            s++;
        if (s[0] == 'B' && s[1] == '.' && s[2] >= '1' && s[2] <= '5' && s[3] == '.') {
            section = s[2];
            cur = NULL;
        } else if (strncmp(s, "Stream: ", 8) == 0) {
            assert_true(n < max);
            cur = &steps[n++];
            memset(cur, 0, sizeof(*cur));
            cur->section = section;
            if (strcmp(s + 8, "Encoder") == 0)
                cur->kind = 0;
            else if (strcmp(s + 8, "Decoder") == 0)
                cur->kind = 1;
            else {
                cur->kind = 2;
                cur->stream_id = strtoull(s + 8, NULL, 10);
            }
        } else if (cur != NULL && strchr(line, '|') != NULL) {
            /* "hhhh hhhh ... | interpretation": hex on the left, if any */
            char *bar = strchr(line, '|');
            char hex[64];
            size_t k = 0;
            bool is_hex = true;
            for (const char *c = line; c < bar; c++) {
                if (*c == ' ')
                    continue;
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                    is_hex = false;
                if (k + 1 < sizeof(hex))
                    hex[k++] = *c;
            }
            hex[k] = 0;
            if (is_hex && k > 0)
                cur->len += test_unhex(hex, cur->data + cur->len, sizeof(cur->data) - cur->len);
        } else if (*s != 0 && strchr(line, '|') == NULL && cur != NULL && s[0] != 'A' &&
                   !(s[0] >= '0' && s[0] <= '9') && s[0] != '^' && strncmp(s, "Size", 4) != 0) {
            cur = NULL; /* prose ends the step */
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

typedef struct rfc_seen {
    uint64_t stream_id;
    h3_field fields[4];
    char store[256];
    size_t count;
    int calls;
} rfc_seen;

static int on_rfc_section(void *user, uint64_t stream_id, const h3_field *fields, size_t count)
{
    rfc_seen *s = user;
    size_t used = 0;
    s->stream_id = stream_id;
    s->count = count;
    s->calls++;
    assert_true(count <= 4);
    for (size_t i = 0; i < count; i++) {
        memcpy(s->store + used, fields[i].name, fields[i].name_len);
        s->store[used + fields[i].name_len] = '=';
        memcpy(s->store + used + fields[i].name_len + 1, fields[i].value, fields[i].value_len);
        used += fields[i].name_len + 1 + fields[i].value_len;
        s->store[used++] = ';';
    }
    s->store[used] = 0;
    return 0;
}

static void test_rfc9204_appendix_b(void **state)
{
    (void)state;
    rfc_step steps[16];
    size_t n = parse_appendix_b(steps, 16);
    /* B.1 stream 0; B.2 encoder, 4, decoder; B.3 encoder, decoder; B.4 encoder, 8,
     * decoder; B.5 encoder. */
    assert_int_equal(n, 10);
    test_env t;
    test_env_init(&t, 2);
    h3_qpack_decoder *dec = h3_qpack_decoder_new(&t.env, 220, 100, 16384);
    rfc_seen seen;
    memset(&seen, 0, sizeof(seen));
    h3_qpack_decoder_set_callback(dec, on_rfc_section, &seen);
    const rfc_step *delayed = NULL;
    static const char *const want[] = {
        ":path=/index.html;",
        ":authority=www.example.com;:path=/sample/path;",
    };
    size_t sections = 0;
    for (size_t i = 0; i < n; i++) {
        const rfc_step *s = &steps[i];
        if (s->kind == 0 && s->section == '4') {
            /* B.4: "The packet containing the encoder stream data is delayed." */
            delayed = s;
            continue;
        }
        if (s->kind == 0) {
            assert_int_equal(h3_qpack_decoder_feed_encoder(dec, s->data, s->len), H3_QPACK_OK);
        } else if (s->kind == 2) {
            int rc = h3_qpack_decoder_decode(dec, s->stream_id, s->data, s->len);
            if (s->section == '4') {
                assert_int_equal(rc, H3_QPACK_BLOCKED);
            } else {
                assert_int_equal(rc, H3_QPACK_OK);
                assert_int_equal(seen.stream_id, s->stream_id);
                assert_string_equal(seen.store, want[sections]);
                sections++;
            }
        } else {
            /* B.4: the application abandons stream 8 before its inserts arrive. */
            if ((s->data[0] & 0xc0) == 0x40)
                assert_int_equal(h3_qpack_decoder_cancel_stream(dec, s->data[0] & 0x3f),
                                 H3_QPACK_OK);
            uint8_t out[64];
            size_t got = h3_qpack_decoder_drain(dec, out, sizeof(out));
            assert_int_equal(got, s->len);
            assert_memory_equal(out, s->data, s->len);
        }
        if (s->kind == 1 && s->section == '4') {
            assert_non_null(delayed);
            assert_int_equal(h3_qpack_decoder_feed_encoder(dec, delayed->data, delayed->len),
                             H3_QPACK_OK);
            assert_int_equal(h3_qpack_decoder_blocked(dec), 0);
        }
    }
    assert_int_equal(sections, 2);
    assert_int_equal(seen.calls, 2); /* stream 8 was cancelled, never delivered */
    /* B.5 final table: Abs 1..4, Size=215. */
    static const char *const table[][2] = {{":path", "/sample/path"},
                                           {"custom-key", "custom-value"},
                                           {":authority", "www.example.com"},
                                           {"custom-key", "custom-value2"}};
    h3_field f;
    assert_int_equal(h3_qpack_decoder_entry(dec, 0, &f), -1);
    size_t size = 0;
    for (uint64_t abs = 1; abs <= 4; abs++) {
        assert_int_equal(h3_qpack_decoder_entry(dec, abs, &f), 0);
        assert_int_equal(f.name_len, strlen(table[abs - 1][0]));
        assert_memory_equal(f.name, table[abs - 1][0], f.name_len);
        assert_int_equal(f.value_len, strlen(table[abs - 1][1]));
        assert_memory_equal(f.value, table[abs - 1][1], f.value_len);
        size += f.name_len + f.value_len + 32;
    }
    assert_int_equal(size, 215);
    assert_int_equal(h3_qpack_decoder_insert_count(dec), 5);
    /* Our decoder then reports the two late inserts with one Insert Count Increment. */
    uint8_t out[8];
    assert_int_equal(h3_qpack_decoder_drain(dec, out, sizeof(out)), 1);
    assert_int_equal(out[0], 0x02);
    h3_qpack_decoder_free(dec);
    test_env_check_leaks(&t);
}

/* ---- errors/: each input is one block; see the table for what each one is ---- */

static void test_error_files(void **state)
{
    (void)state;
    /*
     * err1  1: ff          Required Insert Count integer truncated      -> 0x200
     * err2  1: 00          Delta Base missing                           -> 0x200
     * err3  1: 00ff        Delta Base integer truncated                 -> 0x200
     * err4  1: 0081        sign 1 with Delta Base >= Required Insert Count (0) -> 0x200
     * err5  1: 000041      literal with dynamic name ref, no dynamic table -> 0x200
     * err6  1: 000027      literal name length integer truncated        -> 0x200
     * err7  1: 000051ff    value length integer truncated               -> 0x200
     * err8  1: 0000bf      dynamic index integer truncated              -> 0x200
     * err9  1: 0000c0      VALID in RFC 9204: static index 0 (:authority "")
     * err10 1: 0000fe      VALID in RFC 9204: static index 62 (x-xss-protection; the table has
     *                      99 entries; these two were errors for HPACK-sized tables)
     * err11 0: 01          Duplicate of relative index 1, empty table   -> 0x201
     * err12 0: ff80ffffff ff01 Insert with static name index 2^35+... -> 0x201
     */
    static const struct {
        const char *name;
        uint64_t wire;
        int rc;
    } cases[] = {
        {"err1", 0x200, H3_QPACK_ERR_DECOMPRESSION},
        {"err2", 0x200, H3_QPACK_ERR_DECOMPRESSION},
        {"err3", 0x200, H3_QPACK_ERR_DECOMPRESSION},
        {"err4", 0x200, H3_QPACK_ERR_DECOMPRESSION},
        {"err5", 0x200, H3_QPACK_ERR_DECOMPRESSION},
        {"err6", 0x200, H3_QPACK_ERR_DECOMPRESSION},
        {"err7", 0x200, H3_QPACK_ERR_DECOMPRESSION},
        {"err8", 0x200, H3_QPACK_ERR_DECOMPRESSION},
        {"err9", 0, H3_QPACK_OK},
        {"err10", 0, H3_QPACK_OK},
        {"err11", 0x201, H3_QPACK_ERR_ENCODER_STREAM},
        {"err12", 0x201, H3_QPACK_ERR_ENCODER_STREAM},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        test_env t;
        test_env_init(&t, 3);
        char path[256];
        snprintf(path, sizeof(path), QIFS "/encoded/errors/%s", cases[i].name);
        size_t len;
        uint8_t *data = test_read_file(path, &len);
        assert_true(len >= 12);
        uint64_t sid = be(data, 8);
        size_t blen = (size_t)be(data + 8, 4);
        assert_int_equal(blen, len - 12);
        rfc_seen seen;
        memset(&seen, 0, sizeof(seen));
        h3_qpack_decoder *dec = h3_qpack_decoder_new(&t.env, 4096, 100, 16384);
        h3_qpack_decoder_set_callback(dec, on_rfc_section, &seen);
        int rc = sid == 0 ? h3_qpack_decoder_feed_encoder(dec, data + 12, blen)
                          : h3_qpack_decoder_decode(dec, sid, data + 12, blen);
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(h3_qpack_decoder_wire_error(dec), cases[i].wire);
        if (rc == H3_QPACK_OK)
            assert_string_equal(seen.store, strcmp(cases[i].name, "err9") == 0
                                                ? ":authority=;"
                                                : "x-xss-protection=1; mode=block;");
        h3_qpack_decoder_free(dec);
        free(data);
        test_env_check_leaks(&t);
    }
}

/* ---- our encoder against our decoder over every .qif input ---- */

typedef struct pipe_stats {
    size_t section_bytes, encoder_bytes, blocked_max;
} pipe_stats;

/* cap: the decoder's advertised capacity; enc_max: the encoder's own bound. */
static void roundtrip(const qif *q, size_t cap, size_t enc_max, size_t blocked, bool acks,
                      pipe_stats *st)
{
    test_env t;
    test_env_init(&t, 4);
    h3_qpack_encoder *enc = h3_qpack_encoder_new(&t.env, enc_max);
    assert_non_null(enc);
    assert_int_equal(h3_qpack_encoder_apply_settings(enc, cap, blocked), H3_QPACK_OK);
    h3_qpack_decoder *dec = h3_qpack_decoder_new(&t.env, cap, blocked, 1 << 20);
    assert_non_null(dec);
    uint64_t *ids = calloc(q->nsets, sizeof(uint64_t));
    bool *done = calloc(q->nsets, sizeof(bool));
    for (size_t i = 0; i < q->nsets; i++)
        ids[i] = 4 * i;
    expect e = {ids, q->nsets, q->sets, done, 0};
    h3_qpack_decoder_set_callback(dec, on_section, &e);
    size_t out_cap = 1 << 16;
    uint8_t *out = malloc(out_cap);
    uint8_t *stream = malloc(out_cap);
    memset(st, 0, sizeof(*st));
    for (size_t i = 0; i < q->nsets; i++) {
        size_t olen;
        size_t need = h3_qpack_encode_bound(q->sets[i].fields, q->sets[i].count);
        assert_true(need <= out_cap);
        /* One byte short of the bound is refused without side effects. */
        assert_int_equal(
            h3_qpack_encode(enc, ids[i], q->sets[i].fields, q->sets[i].count, out, need - 1, &olen),
            H3_QPACK_ERR_BUFFER);
        assert_int_equal(olen, need);
        assert_int_equal(
            h3_qpack_encode(enc, ids[i], q->sets[i].fields, q->sets[i].count, out, out_cap, &olen),
            H3_QPACK_OK);
        assert_true(h3_qpack_encoder_blocked_streams(enc) <= blocked);
        st->section_bytes += olen;
        /* The section arrives before the inserts it needs: it must block, then complete. */
        int rc = h3_qpack_decoder_decode(dec, ids[i], out, olen);
        assert_true(rc == H3_QPACK_OK || rc == H3_QPACK_BLOCKED);
        if (h3_qpack_decoder_blocked(dec) > st->blocked_max)
            st->blocked_max = h3_qpack_decoder_blocked(dec);
        size_t n;
        while ((n = h3_qpack_encoder_drain(enc, stream, out_cap)) > 0) {
            st->encoder_bytes += n;
            /* fragment the encoder stream into 7-byte pieces */
            for (size_t off = 0; off < n; off += 7)
                assert_int_equal(
                    h3_qpack_decoder_feed_encoder(dec, stream + off, n - off < 7 ? n - off : 7),
                    H3_QPACK_OK);
        }
        assert_int_equal(h3_qpack_decoder_blocked(dec), 0);
        assert_true(done[i]);
        while ((n = h3_qpack_decoder_drain(dec, stream, out_cap)) > 0) {
            if (acks)
                for (size_t off = 0; off < n; off++) /* one byte at a time */
                    assert_int_equal(h3_qpack_encoder_feed_decoder(enc, stream + off, 1),
                                     H3_QPACK_OK);
        }
    }
    assert_true(st->blocked_max <= blocked);
    assert_int_equal(e.ndone, q->nsets);
    if (acks && cap > 0) {
        assert_int_equal(h3_qpack_encoder_known_received(enc), h3_qpack_encoder_insert_count(enc));
        assert_int_equal(h3_qpack_encoder_blocked_streams(enc), 0);
    }
    if (cap == 0)
        assert_int_equal(h3_qpack_encoder_insert_count(enc), 0);
    h3_qpack_encoder_free(enc);
    h3_qpack_decoder_free(dec);
    free(out);
    free(stream);
    free(ids);
    free(done);
    test_env_check_leaks(&t);
}

static void test_encoder_roundtrip(void **state)
{
    (void)state;
    static const char *const inputs[] = {"draft-examples", "fb-req-hq", "fb-req", "fb-resp-hq",
                                         "fb-resp",        "netbsd-hq", "netbsd"};
    static const size_t caps[] = {0, 256, 4096};
    static const size_t blocked[] = {0, 100};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), QIFS "/qifs/%s.qif", inputs[i]);
        qif q;
        qif_load(&q, path);
        size_t raw = 0;
        for (size_t s = 0; s < q.nsets; s++)
            for (size_t f = 0; f < q.sets[s].count; f++)
                raw += q.sets[s].fields[f].name_len + q.sets[s].fields[f].value_len;
        for (size_t c = 0; c < 3; c++)
            for (size_t b = 0; b < 2; b++)
                for (int a = 1; a >= 0; a--) {
                    pipe_stats st;
                    roundtrip(&q, caps[c], 1 << 16, blocked[b], a == 1, &st);
                    printf("%-14s T=%-4zu B=%-3zu A=%d: %zu -> %zu + %zu bytes, %zu blocked\n",
                           inputs[i], caps[c], blocked[b], a, raw, st.section_bytes,
                           st.encoder_bytes, st.blocked_max);
                    if (blocked[b] == 0)
                        assert_int_equal(st.blocked_max, 0);
                }
        /* A Chromium-like peer (65536, 100 blocked) and an encoder that keeps 4096:
         * the Required Insert Count is encoded against the peer's MaxEntries. */
        for (int a = 1; a >= 0; a--) {
            pipe_stats st;
            roundtrip(&q, 65536, 4096, 100, a == 1, &st);
            printf("%-14s T=65536 (4096 used) B=100 A=%d: %zu -> %zu + %zu bytes\n", inputs[i], a,
                   raw, st.section_bytes, st.encoder_bytes);
        }
        qif_free(&q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9204_appendix_b), cmocka_unit_test(test_rfc_examples_file),
        cmocka_unit_test(test_draft_examples),     cmocka_unit_test(test_qifs_corpus),
        cmocka_unit_test(test_error_files),        cmocka_unit_test(test_encoder_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
