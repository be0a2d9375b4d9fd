/* Sans-I/O QPACK encoder (RFC 9204 §2.1, §4.3-§4.5) with a single-pass insertion policy. */
#include <string.h>

#include "h3/qpack_encoder.h"
#include "h3/qpack_prim.h"
#include "h3/qpack_static.h"
#include "h3/qpack_table.h"

/* Sections with a non-zero Required Insert Count await acknowledgment (RFC 9204 §2.1.1). */
typedef struct outstanding {
    uint64_t stream_id;
    uint64_t ric;
    uint64_t min_ref; /* lowest absolute index referenced: entries from here are pinned */
} outstanding;

/* How one field is represented, decided before the section is written. */
enum { REP_STATIC, REP_DYNAMIC, REP_NAME_STATIC, REP_NAME_DYNAMIC, REP_LITERAL };
typedef struct rep {
    uint8_t kind;
    bool never;     /* N bit: intermediaries must not index it either */
    uint64_t index; /* static index or absolute index */
} rep;

#define MAX_OUTSTANDING 1024
/* Fields seen recently: one is inserted only when it shows up again. */
#define HISTORY 64

struct h3_qpack_encoder {
    const quince_env *env;
    h3_qpack_table table;
    size_t max_table_capacity;  /* ours */
    uint64_t peer_max_capacity; /* for Required Insert Count encoding */
    uint64_t peer_blocked;
    bool settings;
    bool static_only;
    bool huffman;
    int error;
    uint64_t wire_error;
    uint64_t known_received;

    outstanding *sections;
    size_t nsections, sections_cap;

    uint8_t *out; /* encoder-stream bytes */
    size_t out_len, out_cap;

    uint8_t in[16]; /* incomplete decoder-stream instruction */
    size_t in_len;

    rep *reps;
    size_t reps_cap;

    uint32_t history[HISTORY];
    size_t history_pos;
};

static int grow(const quince_env *env, void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return H3_QPACK_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n = n > SIZE_MAX / 4 ? need : n * 2;
    void *p = quince_env_realloc(env, *buf, n * elem);
    if (p == NULL)
        return H3_QPACK_ERR_NOMEM;
    *buf = p;
    *cap = n;
    return H3_QPACK_OK;
}

h3_qpack_encoder *h3_qpack_encoder_new(const quince_env *env, size_t max_table_capacity)
{
    h3_qpack_encoder *enc = quince_env_calloc(env, sizeof(*enc));
    if (enc == NULL)
        return NULL;
    enc->env = env;
    enc->max_table_capacity = max_table_capacity;
    enc->huffman = true;
    h3_qpack_table_init(&enc->table, env, 0);
    return enc;
}

void h3_qpack_encoder_free(h3_qpack_encoder *enc)
{
    if (enc == NULL)
        return;
    h3_qpack_table_free(&enc->table);
    quince_env_free(enc->env, enc->sections);
    quince_env_free(enc->env, enc->out);
    quince_env_free(enc->env, enc->reps);
    quince_env_free(enc->env, enc);
}

void h3_qpack_encoder_set_policy(h3_qpack_encoder *enc, bool static_only, bool huffman)
{
    enc->static_only = static_only;
    enc->huffman = huffman;
}

static int emit_begin(h3_qpack_encoder *enc, size_t max, quince_writer *w)
{
    if (grow(enc->env, (void **)&enc->out, &enc->out_cap, enc->out_len + max, 1) != H3_QPACK_OK)
        return H3_QPACK_ERR_NOMEM;
    *w = quince_writer_init(enc->out + enc->out_len, enc->out_cap - enc->out_len);
    return H3_QPACK_OK;
}

static void emit_end(h3_qpack_encoder *enc, const quince_writer *w)
{
    enc->out_len = (size_t)(w->p - enc->out);
}

/* RFC 9204 §3.2.3, §4.3.1, §5 */
int h3_qpack_encoder_apply_settings(h3_qpack_encoder *enc, uint64_t peer_max_table_capacity,
                                    uint64_t peer_blocked_streams)
{
    if (enc->settings)
        return H3_QPACK_ERR_ARG;
    enc->settings = true;
    enc->peer_max_capacity = peer_max_table_capacity;
    enc->peer_blocked = peer_blocked_streams;
    size_t cap = enc->max_table_capacity;
    if (peer_max_table_capacity < cap)
        cap = (size_t)peer_max_table_capacity;
    h3_qpack_table_free(&enc->table);
    if (h3_qpack_table_init(&enc->table, enc->env, cap) != H3_QPACK_OK)
        return H3_QPACK_ERR_NOMEM;
    if (cap == 0)
        return H3_QPACK_OK;
    /* Without both the table memory and the instruction queued, stay static-only. */
    if (h3_qpack_table_set_capacity(&enc->table, cap, 0) != H3_QPACK_OK)
        return H3_QPACK_ERR_NOMEM;
    quince_writer w;
    if (emit_begin(enc, 12, &w) != H3_QPACK_OK) {
        h3_qpack_table_set_capacity(&enc->table, 0, 0);
        return H3_QPACK_ERR_NOMEM;
    }
    h3_qpack_put_int(&w, 0x20, 5, cap);
    emit_end(enc, &w);
    return H3_QPACK_OK;
}

size_t h3_qpack_encoder_pending(const h3_qpack_encoder *enc)
{
    return enc->out_len;
}

size_t h3_qpack_encoder_drain(h3_qpack_encoder *enc, uint8_t *buf, size_t cap)
{
    size_t n = enc->out_len < cap ? enc->out_len : cap;
    if (n > 0) {
        memcpy(buf, enc->out, n);
        memmove(enc->out, enc->out + n, enc->out_len - n);
        enc->out_len -= n;
    }
    return n;
}

uint64_t h3_qpack_encoder_insert_count(const h3_qpack_encoder *enc)
{
    return enc->table.insert_count;
}

uint64_t h3_qpack_encoder_known_received(const h3_qpack_encoder *enc)
{
    return enc->known_received;
}

uint64_t h3_qpack_encoder_wire_error(const h3_qpack_encoder *enc)
{
    return enc->wire_error;
}

static bool stream_blocking(const h3_qpack_encoder *enc, uint64_t stream_id)
{
    for (size_t i = 0; i < enc->nsections; i++)
        if (enc->sections[i].stream_id == stream_id && enc->sections[i].ric > enc->known_received)
            return true;
    return false;
}

/* RFC 9204 §2.1.2: streams with a section that references unacknowledged entries. */
size_t h3_qpack_encoder_blocked_streams(const h3_qpack_encoder *enc)
{
    size_t n = 0;
    for (size_t i = 0; i < enc->nsections; i++) {
        const outstanding *s = &enc->sections[i];
        if (s->ric <= enc->known_received)
            continue;
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            if (enc->sections[j].stream_id == s->stream_id &&
                enc->sections[j].ric > enc->known_received)
                first = false;
        n += first;
    }
    return n;
}

size_t h3_qpack_encode_bound(const h3_field *fields, size_t count)
{
    size_t n = 20;
    for (size_t i = 0; i < count; i++)
        n += 24 + fields[i].name_len + fields[i].value_len;
    return n;
}

/* Newest dynamic entry matching name (and value when exact); -1 when none. */
static int64_t find_dynamic(const h3_qpack_table *t, const h3_field *f, bool exact, uint64_t lowest)
{
    for (uint64_t i = t->insert_count; i > t->dropped && i > lowest; i--) {
        const h3_qpack_entry *e = h3_qpack_table_get(t, i - 1);
        if (e->name_len != f->name_len || (f->name_len && memcmp(e->name, f->name, f->name_len)))
            continue;
        if (!exact)
            return (int64_t)(i - 1);
        if (e->value_len == f->value_len &&
            (f->value_len == 0 || memcmp(e->value, f->value, f->value_len) == 0))
            return (int64_t)(i - 1);
    }
    return -1;
}

/* RFC 9204 §4.3.2, §4.3.3: insert a field, naming it by reference when possible. */
static int insert_field(h3_qpack_encoder *enc, const h3_field *f, int static_name, int64_t dyn_name)
{
    quince_writer w;
    size_t max = 24 + f->name_len + f->value_len;
    if (emit_begin(enc, max, &w) != H3_QPACK_OK)
        return H3_QPACK_ERR_NOMEM;
    if (static_name >= 0) {
        h3_qpack_put_int(&w, 0xc0, 6, (uint64_t)static_name);
    } else if (dyn_name >= 0) {
        h3_qpack_put_int(&w, 0x80, 6, enc->table.insert_count - 1 - (uint64_t)dyn_name);
    } else {
        h3_qpack_put_string(&w, 0x40, 5, f->name, f->name_len, enc->huffman);
    }
    h3_qpack_put_string(&w, 0x00, 7, f->value, f->value_len, enc->huffman);
    int rc = h3_qpack_table_insert(&enc->table, f->name, f->name_len, f->value, f->value_len,
                                   UINT64_MAX);
    if (rc != H3_QPACK_OK)
        return rc;
    emit_end(enc, &w);
    return H3_QPACK_OK;
}

static bool name_is(const h3_field *f, const char *name)
{
    size_t n = strlen(name);
    return f->name_len == n && memcmp(f->name, name, n) == 0;
}

/* RFC 9204 §7.1.3: values guessable by probing the table are never indexed. */
static bool sensitive(const h3_field *f)
{
    return name_is(f, "authorization") || name_is(f, "proxy-authorization") ||
           (name_is(f, "cookie") && f->value_len < 20);
}

static uint32_t field_hash(const h3_field *f)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < f->name_len; i++)
        h = (h ^ f->name[i]) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (size_t i = 0; i < f->value_len; i++)
        h = (h ^ f->value[i]) * 16777619u;
    return h | 1; /* 0 marks an empty slot */
}

/* Whether the field was seen lately; remembers it either way. */
static bool seen_before(h3_qpack_encoder *enc, const h3_field *f)
{
    uint32_t h = field_hash(f);
    for (size_t i = 0; i < HISTORY; i++)
        if (enc->history[i] == h)
            return true;
    enc->history[enc->history_pos] = h;
    enc->history_pos = (enc->history_pos + 1) % HISTORY;
    return false;
}

/* RFC 9204 §2.1.1: entries at or above this absolute index must not be evicted. */
static uint64_t pinned_from(const h3_qpack_encoder *enc)
{
    uint64_t lim = UINT64_MAX;
    for (size_t i = 0; i < enc->nsections; i++)
        if (enc->sections[i].min_ref < lim)
            lim = enc->sections[i].min_ref;
    return lim;
}

/* RFC 9204 §2.1, Appendix C: choose each field's representation, inserting as we go. */
static int plan(h3_qpack_encoder *enc, uint64_t stream_id, const h3_field *fields, size_t count,
                uint64_t *ric_out, uint64_t *min_ref_out)
{
    h3_qpack_table *t = &enc->table;
    bool use_dynamic = !enc->static_only && t->capacity > 0 && enc->nsections < MAX_OUTSTANDING;
    bool can_block = stream_blocking(enc, stream_id) ||
                     h3_qpack_encoder_blocked_streams(enc) < enc->peer_blocked;
    uint64_t limit = pinned_from(enc);
    /* Keep the encoder stream within a few tables' worth if the caller lags, and
     * stop inserting while half a table of inserts awaits acknowledgment: a
     * peer that does not acknowledge could not use them anyway. */
    bool may_insert = use_dynamic && enc->out_len < 4 * t->capacity + 4096 &&
                      t->insert_count - enc->known_received < t->capacity / 64 + 1;
    uint64_t ric = 0, min_ref = UINT64_MAX;
    for (size_t i = 0; i < count; i++) {
        const h3_field *f = &fields[i];
        rep *r = &enc->reps[i];
        int exact;
        int s = h3_qpack_static_find(f->name, f->name_len, f->value, f->value_len, &exact);
        if (s >= 0 && exact) {
            r->never = false;
            r->kind = REP_STATIC;
            r->index = (uint64_t)s;
            continue;
        }
        r->kind = s >= 0 ? REP_NAME_STATIC : REP_LITERAL;
        r->index = s >= 0 ? (uint64_t)s : 0;
        r->never = sensitive(f);
        if (!use_dynamic || r->never)
            continue;
        /* Usable entries: acknowledged ones, or any while this stream may block. */
        uint64_t usable_end = can_block ? t->insert_count : enc->known_received;
        int64_t d = find_dynamic(t, f, true, 0);
        if (d < 0 && may_insert && seen_before(enc, f)) {
            size_t esize = h3_qpack_entry_size(f->name_len, f->value_len);
            int64_t dn = s >= 0 ? -1 : find_dynamic(t, f, false, 0);
            uint64_t lim = limit < min_ref ? limit : min_ref;
            if (dn >= 0 && (uint64_t)dn < lim)
                lim = (uint64_t)dn; /* keep the name we copy from */
            if (esize <= t->capacity / 2 && h3_qpack_table_can_insert(t, esize, lim)) {
                int rc = insert_field(enc, f, s, dn);
                if (rc != H3_QPACK_OK)
                    return rc;
                d = (int64_t)(t->insert_count - 1);
                usable_end = can_block ? t->insert_count : enc->known_received;
            }
        }
        if (d >= 0 && (uint64_t)d < usable_end) {
            r->kind = REP_DYNAMIC;
            r->index = (uint64_t)d;
        } else if (s < 0) {
            int64_t dn = find_dynamic(t, f, false, 0);
            if (dn < 0 || (uint64_t)dn >= usable_end)
                continue;
            r->kind = REP_NAME_DYNAMIC;
            r->index = (uint64_t)dn;
        } else {
            continue;
        }
        if (r->index + 1 > ric)
            ric = r->index + 1;
        if (r->index < min_ref)
            min_ref = r->index;
    }
    *ric_out = ric;
    *min_ref_out = min_ref;
    return H3_QPACK_OK;
}

/* RFC 9204 §4.5 */
int h3_qpack_encode(h3_qpack_encoder *enc, uint64_t stream_id, const h3_field *fields, size_t count,
                    uint8_t *out, size_t cap, size_t *out_len)
{
    if (enc->error)
        return enc->error;
    if (stream_id > H3_QPACK_INT_MAX)
        return H3_QPACK_ERR_ARG;
    size_t bound = h3_qpack_encode_bound(fields, count);
    if (cap < bound) {
        *out_len = bound;
        return H3_QPACK_ERR_BUFFER;
    }
    if (grow(enc->env, (void **)&enc->reps, &enc->reps_cap, count ? count : 1, sizeof(rep)) !=
            H3_QPACK_OK ||
        grow(enc->env, (void **)&enc->sections, &enc->sections_cap, enc->nsections + 1,
             sizeof(outstanding)) != H3_QPACK_OK)
        return H3_QPACK_ERR_NOMEM;
    uint64_t ric, min_ref;
    int rc = plan(enc, stream_id, fields, count, &ric, &min_ref);
    if (rc != H3_QPACK_OK)
        return rc;

    quince_writer w = quince_writer_init(out, cap);
    /* §4.5.1.1: Base = Required Insert Count, so Delta Base is 0 with sign 0. */
    uint64_t max_entries = enc->peer_max_capacity / H3_QPACK_ENTRY_OVERHEAD;
    uint64_t encoded_ric = ric == 0 ? 0 : ric % (2 * max_entries) + 1;
    h3_qpack_put_int(&w, 0x00, 8, encoded_ric);
    h3_qpack_put_int(&w, 0x00, 7, 0);
    uint64_t base = ric;
    for (size_t i = 0; i < count; i++) {
        const h3_field *f = &fields[i];
        const rep *r = &enc->reps[i];
        switch (r->kind) {
        case REP_STATIC: /* §4.5.2 */
            h3_qpack_put_int(&w, 0xc0, 6, r->index);
            break;
        case REP_DYNAMIC: /* §4.5.2 */
            h3_qpack_put_int(&w, 0x80, 6, base - 1 - r->index);
            break;
        case REP_NAME_STATIC: /* §4.5.4 */
            h3_qpack_put_int(&w, r->never ? 0x70 : 0x50, 4, r->index);
            h3_qpack_put_string(&w, 0x00, 7, f->value, f->value_len, enc->huffman);
            break;
        case REP_NAME_DYNAMIC: /* §4.5.4 */
            h3_qpack_put_int(&w, 0x40, 4, base - 1 - r->index);
            h3_qpack_put_string(&w, 0x00, 7, f->value, f->value_len, enc->huffman);
            break;
        default: /* §4.5.6 */
            h3_qpack_put_string(&w, r->never ? 0x30 : 0x20, 3, f->name, f->name_len, enc->huffman);
            h3_qpack_put_string(&w, 0x00, 7, f->value, f->value_len, enc->huffman);
            break;
        }
    }
    if (w.overflow)
        return H3_QPACK_ERR_BUFFER; /* cannot happen: bound covers every representation */
    if (ric > 0) {
        outstanding *o = &enc->sections[enc->nsections++];
        o->stream_id = stream_id;
        o->ric = ric;
        o->min_ref = min_ref;
    }
    *out_len = (size_t)(w.p - out);
    return H3_QPACK_OK;
}

void h3_qpack_encoder_forget_stream(h3_qpack_encoder *enc, uint64_t stream_id)
{
    size_t j = 0;
    for (size_t i = 0; i < enc->nsections; i++)
        if (enc->sections[i].stream_id != stream_id)
            enc->sections[j++] = enc->sections[i];
    enc->nsections = j;
}

static int dec_fail(h3_qpack_encoder *enc)
{
    enc->error = H3_QPACK_ERR_DECODER_STREAM;
    enc->wire_error = H3_QPACK_DECODER_STREAM_ERROR;
    return enc->error;
}

/* One decoder-stream instruction: consumed bytes, TRUNCATED, or an error. */
static int dec_instruction(h3_qpack_encoder *enc, const uint8_t *p, size_t len)
{
    quince_reader r = quince_reader_init(p, len);
    uint64_t v;
    uint8_t b = p[0];
    unsigned prefix = (b & 0x80) ? 7 : 6;
    int rc = h3_qpack_get_int(&r, prefix, &v);
    if (rc == H3_QPACK_ERR_TRUNCATED)
        return rc;
    if (rc != H3_QPACK_OK)
        return dec_fail(enc);
    if (b & 0x80) {
        /* §4.4.1 Section Acknowledgment: the oldest outstanding section of the stream. */
        size_t i = 0;
        while (i < enc->nsections && enc->sections[i].stream_id != v)
            i++;
        if (i == enc->nsections)
            return dec_fail(enc);
        if (enc->sections[i].ric > enc->known_received)
            enc->known_received = enc->sections[i].ric;
        memmove(&enc->sections[i], &enc->sections[i + 1],
                (enc->nsections - i - 1) * sizeof(outstanding));
        enc->nsections--;
    } else if (b & 0x40) {
        /* §4.4.2 Stream Cancellation */
        h3_qpack_encoder_forget_stream(enc, v);
    } else {
        /* §4.4.3 Insert Count Increment */
        if (v == 0 || v > enc->table.insert_count - enc->known_received)
            return dec_fail(enc);
        enc->known_received += v;
    }
    return (int)(r.p - p);
}

/* RFC 9204 §4.4 */
int h3_qpack_encoder_feed_decoder(h3_qpack_encoder *enc, const uint8_t *data, size_t len)
{
    if (enc->error)
        return enc->error;
    while (len > 0) {
        int n;
        if (enc->in_len > 0) {
            /* Instructions are at most 10 bytes: complete the buffered one byte by byte. */
            enc->in[enc->in_len++] = *data++;
            len--;
            n = dec_instruction(enc, enc->in, enc->in_len);
            if (n == H3_QPACK_ERR_TRUNCATED) {
                if (enc->in_len == sizeof(enc->in))
                    return dec_fail(enc);
                continue;
            }
            if (n < 0)
                return n;
            enc->in_len = 0;
            continue;
        }
        n = dec_instruction(enc, data, len);
        if (n == H3_QPACK_ERR_TRUNCATED) {
            if (len >= sizeof(enc->in))
                return dec_fail(enc);
            memcpy(enc->in, data, len);
            enc->in_len = len;
            return H3_QPACK_OK;
        }
        if (n < 0)
            return n;
        data += n;
        len -= (size_t)n;
    }
    return H3_QPACK_OK;
}
