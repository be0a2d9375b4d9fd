/* Sans-I/O QPACK decoder (RFC 9204 §2.2, §4.3-§4.5). */
#include <string.h>

#include "h3/huffman.h"
#include "h3/qpack_decoder.h"
#include "h3/qpack_prim.h"
#include "h3/qpack_static.h"
#include "h3/qpack_table.h"

typedef struct blocked_section {
    uint64_t stream_id;
    uint64_t ric; /* Required Insert Count */
    uint8_t *data;
    size_t len;
} blocked_section;

struct h3_qpack_decoder {
    const quince_env *env;
    h3_qpack_table table;
    size_t max_table_capacity;
    size_t max_blocked;
    size_t max_field_section_size;
    size_t max_encoder_buffer;
    size_t max_blocked_bytes;
    h3_qpack_section_cb cb;
    void *cb_user;
    int error; /* sticky fatal error, 0 if none */
    uint64_t wire_error;

    /* Incomplete encoder-stream instruction and the bytes it needs at least. */
    uint8_t *enc_buf;
    size_t enc_len, enc_cap, enc_need;

    /* Scratch for Huffman-decoded encoder-stream strings. */
    uint8_t *scratch;
    size_t scratch_cap;

    /* Field section output: fields plus a string arena that never moves during a decode. */
    h3_field *fields;
    size_t fields_cap;
    uint8_t *arena;
    size_t arena_cap;

    blocked_section *blocked; /* arrival order */
    size_t nblocked, blocked_cap, blocked_bytes;
    uint64_t min_blocked_ric;

    /* Decoder-stream output and the Known Received Count it implies. */
    uint8_t *out;
    size_t out_len, out_cap;
    uint64_t known_received;

    /* The budget charged (NULL: none) with table_charged for the table, enc_cap for
     * enc_buf and blocked_bytes for the blocked sections. */
    quince_budget *budget;
    size_t table_charged;
};

static int fail(h3_qpack_decoder *dec, int err, uint64_t wire)
{
    if (dec->error == 0) {
        dec->error = err;
        dec->wire_error = wire;
    }
    return dec->error;
}

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

h3_qpack_decoder *h3_qpack_decoder_new(const quince_env *env, size_t max_table_capacity,
                                       size_t max_blocked_streams, size_t max_field_section_size)
{
    h3_qpack_decoder *dec = quince_env_calloc(env, sizeof(*dec));
    if (dec == NULL)
        return NULL;
    dec->env = env;
    dec->max_table_capacity = max_table_capacity;
    dec->max_blocked = max_blocked_streams;
    dec->max_field_section_size = max_field_section_size;
    dec->max_encoder_buffer =
        max_table_capacity > (SIZE_MAX - 1024) / 4 ? SIZE_MAX : 4 * max_table_capacity + 1024;
    dec->max_blocked_bytes = (size_t)1 << 20;
    if (h3_qpack_table_init(&dec->table, env, max_table_capacity) != H3_QPACK_OK) {
        quince_env_free(env, dec);
        return NULL;
    }
    return dec;
}

void h3_qpack_decoder_free(h3_qpack_decoder *dec)
{
    if (dec == NULL)
        return;
    const quince_env *env = dec->env;
    h3_qpack_table_free(&dec->table);
    quince_budget_release(dec->budget, dec->table_charged + dec->enc_cap + dec->blocked_bytes);
    for (size_t i = 0; i < dec->nblocked; i++)
        quince_env_free(env, dec->blocked[i].data);
    quince_env_free(env, dec->blocked);
    quince_env_free(env, dec->enc_buf);
    quince_env_free(env, dec->scratch);
    quince_env_free(env, dec->fields);
    quince_env_free(env, dec->arena);
    quince_env_free(env, dec->out);
    quince_env_free(env, dec);
}

void h3_qpack_decoder_set_callback(h3_qpack_decoder *dec, h3_qpack_section_cb cb, void *user)
{
    dec->cb = cb;
    dec->cb_user = user;
}

void h3_qpack_decoder_set_limits(h3_qpack_decoder *dec, size_t max_encoder_buffer,
                                 size_t max_blocked_bytes)
{
    dec->max_encoder_buffer = max_encoder_buffer;
    dec->max_blocked_bytes = max_blocked_bytes;
}

void h3_qpack_decoder_set_budget(h3_qpack_decoder *dec, quince_budget *budget)
{
    if (dec == NULL)
        return;
    /* Anything held already moves along (an assumed capacity, say). */
    size_t held = dec->table_charged + dec->enc_cap + dec->blocked_bytes;
    quince_budget_release(dec->budget, held);
    dec->budget = budget;
    (void)quince_budget_charge(budget, held);
}

/* What the table holds at most with this capacity: the entries (their RFC 9204 §3.2.1
 * size, whose 32 bytes each cover our allocation's overhead) and the ring of slots,
 * which never shrinks. */
static size_t table_cost(const h3_qpack_decoder *dec, size_t capacity)
{
    size_t slots = capacity / H3_QPACK_ENTRY_OVERHEAD;
    if (slots < dec->table.ring_size)
        slots = dec->table.ring_size;
    return capacity + slots * sizeof(h3_qpack_entry);
}

/* RFC 9204 §3.2.3, §7.3: a new capacity, charged before the table may grow to it. */
static int set_capacity(h3_qpack_decoder *dec, size_t capacity)
{
    size_t cost = table_cost(dec, capacity), old = dec->table_charged;
    if (cost > old && !quince_budget_charge(dec->budget, cost - old))
        return H3_QPACK_ERR_LOAD;
    int rc = h3_qpack_table_set_capacity(&dec->table, capacity, UINT64_MAX);
    if (rc != H3_QPACK_OK) {
        if (cost > old)
            quince_budget_release(dec->budget, cost - old);
        return rc;
    }
    cost = table_cost(dec, capacity);
    if (cost < old)
        quince_budget_release(dec->budget, old - cost);
    dec->table_charged = cost;
    return H3_QPACK_OK;
}

int h3_qpack_decoder_assume_capacity(h3_qpack_decoder *dec, size_t capacity)
{
    if (capacity > dec->max_table_capacity)
        return H3_QPACK_ERR_ARG;
    return set_capacity(dec, capacity);
}

/* grow() for enc_buf, whose allocation is charged to the budget. */
static int grow_enc_buf(h3_qpack_decoder *dec, size_t need)
{
    if (need <= dec->enc_cap)
        return H3_QPACK_OK;
    size_t n = dec->enc_cap ? dec->enc_cap : 16;
    while (n < need)
        n = n > SIZE_MAX / 4 ? need : n * 2;
    if (!quince_budget_charge(dec->budget, n - dec->enc_cap))
        return H3_QPACK_ERR_LOAD;
    size_t cap = dec->enc_cap;
    int rc = grow(dec->env, (void **)&dec->enc_buf, &cap, n, 1);
    if (rc != H3_QPACK_OK) {
        quince_budget_release(dec->budget, n - dec->enc_cap);
        return rc;
    }
    dec->enc_cap = n;
    return H3_QPACK_OK;
}

size_t h3_qpack_decoder_blocked(const h3_qpack_decoder *dec)
{
    return dec->nblocked;
}

uint64_t h3_qpack_decoder_insert_count(const h3_qpack_decoder *dec)
{
    return dec->table.insert_count;
}

uint64_t h3_qpack_decoder_wire_error(const h3_qpack_decoder *dec)
{
    return dec->wire_error;
}

int h3_qpack_decoder_entry(const h3_qpack_decoder *dec, uint64_t abs, h3_field *out)
{
    const h3_qpack_entry *e = h3_qpack_table_get(&dec->table, abs);
    if (e == NULL)
        return -1;
    out->name = e->name;
    out->name_len = e->name_len;
    out->value = e->value;
    out->value_len = e->value_len;
    return 0;
}

/* ---- decoder stream output (RFC 9204 §4.4) ---- */

static int emit(h3_qpack_decoder *dec, uint8_t flags, unsigned prefix, uint64_t v)
{
    int rc = grow(dec->env, (void **)&dec->out, &dec->out_cap, dec->out_len + 12, 1);
    if (rc != H3_QPACK_OK)
        return fail(dec, rc, H3_QPACK_INTERNAL_ERROR);
    quince_writer w = quince_writer_init(dec->out + dec->out_len, dec->out_cap - dec->out_len);
    h3_qpack_put_int(&w, flags, prefix, v);
    dec->out_len = (size_t)(w.p - dec->out);
    return H3_QPACK_OK;
}

/* RFC 9204 §4.4.3: the increment brings the Known Received Count to the Insert Count. */
size_t h3_qpack_decoder_pending(h3_qpack_decoder *dec)
{
    if (dec->error == 0 && dec->table.insert_count > dec->known_received) {
        if (emit(dec, 0x00, 6, dec->table.insert_count - dec->known_received) == H3_QPACK_OK)
            dec->known_received = dec->table.insert_count;
    }
    return dec->out_len;
}

size_t h3_qpack_decoder_drain(h3_qpack_decoder *dec, uint8_t *buf, size_t cap)
{
    size_t n = h3_qpack_decoder_pending(dec);
    if (n > cap)
        n = cap;
    if (n > 0) {
        memcpy(buf, dec->out, n);
        memmove(dec->out, dec->out + n, dec->out_len - n);
        dec->out_len -= n;
    }
    return n;
}

/* RFC 9204 §4.4.2 */
int h3_qpack_decoder_cancel_stream(h3_qpack_decoder *dec, uint64_t stream_id)
{
    if (dec->error)
        return dec->error;
    if (stream_id > H3_QPACK_INT_MAX)
        return H3_QPACK_ERR_ARG;
    size_t j = 0;
    for (size_t i = 0; i < dec->nblocked; i++) {
        if (dec->blocked[i].stream_id == stream_id) {
            dec->blocked_bytes -= dec->blocked[i].len;
            quince_budget_release(dec->budget, dec->blocked[i].len);
            quince_env_free(dec->env, dec->blocked[i].data);
        } else {
            dec->blocked[j++] = dec->blocked[i];
        }
    }
    dec->nblocked = j;
    dec->min_blocked_ric = UINT64_MAX;
    for (size_t i = 0; i < dec->nblocked; i++)
        if (dec->blocked[i].ric < dec->min_blocked_ric)
            dec->min_blocked_ric = dec->blocked[i].ric;
    /* A decoder without a dynamic table has nothing to cancel (RFC 9204 §4.4.2). */
    if (dec->max_table_capacity == 0)
        return H3_QPACK_OK;
    return emit(dec, 0x40, 6, stream_id);
}

/* ---- field sections (RFC 9204 §4.5) ---- */

/* RFC 9204 §4.5.1.1 */
static int decode_ric(const h3_qpack_decoder *dec, uint64_t encoded, uint64_t *ric)
{
    if (encoded == 0) {
        *ric = 0;
        return H3_QPACK_OK;
    }
    uint64_t max_entries = dec->max_table_capacity / H3_QPACK_ENTRY_OVERHEAD;
    uint64_t full_range = 2 * max_entries;
    if (encoded > full_range)
        return H3_QPACK_ERR_DECOMPRESSION;
    uint64_t max_value = dec->table.insert_count + max_entries;
    uint64_t max_wrapped = (max_value / full_range) * full_range;
    uint64_t v = max_wrapped + encoded - 1;
    if (v > max_value) {
        if (v <= full_range)
            return H3_QPACK_ERR_DECOMPRESSION;
        v -= full_range;
    }
    if (v == 0)
        return H3_QPACK_ERR_DECOMPRESSION;
    *ric = v;
    return H3_QPACK_OK;
}

/* RFC 9204 §4.5.1: Required Insert Count and Base. */
static int parse_prefix(const h3_qpack_decoder *dec, quince_reader *r, uint64_t *ric,
                        uint64_t *base)
{
    uint64_t enc, delta;
    if (h3_qpack_get_int(r, 8, &enc) != H3_QPACK_OK || quince_reader_empty(r))
        return H3_QPACK_ERR_DECOMPRESSION;
    bool sign = (*r->p & 0x80) != 0;
    if (h3_qpack_get_int(r, 7, &delta) != H3_QPACK_OK)
        return H3_QPACK_ERR_DECOMPRESSION;
    if (decode_ric(dec, enc, ric) != H3_QPACK_OK)
        return H3_QPACK_ERR_DECOMPRESSION;
    if (!sign) {
        *base = *ric + delta;
    } else {
        if (delta >= *ric)
            return H3_QPACK_ERR_DECOMPRESSION;
        *base = *ric - delta - 1;
    }
    return H3_QPACK_OK;
}

typedef struct section_ctx {
    h3_qpack_decoder *dec;
    uint64_t ric, base;
    size_t nfields;
    size_t arena_used;
    size_t total; /* RFC 9114 §4.2.2 field section size */
} section_ctx;

/* Read a string literal of a field line into *out (Huffman-decoded into the arena). */
static int section_string(section_ctx *s, quince_reader *r, unsigned prefix, const uint8_t **out,
                          size_t *out_len)
{
    const uint8_t *raw;
    size_t len;
    bool huff;
    if (h3_qpack_get_string(r, prefix, &raw, &len, &huff) != H3_QPACK_OK)
        return H3_QPACK_ERR_DECOMPRESSION;
    if (!huff) {
        *out = raw;
        *out_len = len;
        return H3_QPACK_OK;
    }
    h3_qpack_decoder *dec = s->dec;
    uint8_t *dst = dec->arena + s->arena_used;
    size_t n;
    if (h3_huffman_decode(raw, len, dst, dec->arena_cap - s->arena_used, &n) != H3_QPACK_OK)
        return H3_QPACK_ERR_DECOMPRESSION;
    s->arena_used += n;
    *out = dst;
    *out_len = n;
    return H3_QPACK_OK;
}

static const h3_qpack_entry *dynamic_ref(section_ctx *s, uint64_t abs)
{
    if (abs >= s->ric)
        return NULL; /* a reference the Required Insert Count does not cover */
    return h3_qpack_table_get(&s->dec->table, abs);
}

/* Resolve a name reference (static or dynamic absolute) into name pointers. */
static int name_ref(section_ctx *s, bool is_static, uint64_t index, bool post_base,
                    const uint8_t **name, size_t *name_len)
{
    if (is_static) {
        const h3_qpack_static_entry *e = h3_qpack_static_get(index);
        if (e == NULL)
            return H3_QPACK_ERR_DECOMPRESSION;
        *name = (const uint8_t *)e->name;
        *name_len = e->name_len;
        return H3_QPACK_OK;
    }
    uint64_t abs;
    if (post_base) {
        abs = s->base + index;
    } else {
        if (index >= s->base)
            return H3_QPACK_ERR_DECOMPRESSION;
        abs = s->base - 1 - index;
    }
    const h3_qpack_entry *e = dynamic_ref(s, abs);
    if (e == NULL)
        return H3_QPACK_ERR_DECOMPRESSION;
    *name = e->name;
    *name_len = e->name_len;
    return H3_QPACK_OK;
}

static int add_field(section_ctx *s, const uint8_t *name, size_t name_len, const uint8_t *value,
                     size_t value_len)
{
    h3_qpack_decoder *dec = s->dec;
    size_t fsize = name_len + value_len + H3_QPACK_ENTRY_OVERHEAD;
    if (fsize > dec->max_field_section_size - s->total || fsize < name_len)
        return H3_QPACK_ERR_DECOMPRESSION;
    s->total += fsize;
    if (grow(dec->env, (void **)&dec->fields, &dec->fields_cap, s->nfields + 1, sizeof(h3_field)) !=
        H3_QPACK_OK)
        return H3_QPACK_ERR_NOMEM;
    h3_field *f = &dec->fields[s->nfields++];
    f->name = name;
    f->name_len = name_len;
    f->value = value;
    f->value_len = value_len;
    return H3_QPACK_OK;
}

/* RFC 9204 §4.5.2-§4.5.6: one field line. */
static int field_line(section_ctx *s, quince_reader *r)
{
    uint8_t b = *r->p;
    uint64_t idx;
    const uint8_t *name, *value;
    size_t name_len, value_len;
    int rc;
    if (b & 0x80) {
        /* §4.5.2 Indexed Field Line: 1 T index(6+) */
        if (h3_qpack_get_int(r, 6, &idx) != H3_QPACK_OK)
            return H3_QPACK_ERR_DECOMPRESSION;
        if (b & 0x40) {
            const h3_qpack_static_entry *e = h3_qpack_static_get(idx);
            if (e == NULL)
                return H3_QPACK_ERR_DECOMPRESSION;
            return add_field(s, (const uint8_t *)e->name, e->name_len, (const uint8_t *)e->value,
                             e->value_len);
        }
        if (idx >= s->base)
            return H3_QPACK_ERR_DECOMPRESSION;
        const h3_qpack_entry *e = dynamic_ref(s, s->base - 1 - idx);
        if (e == NULL)
            return H3_QPACK_ERR_DECOMPRESSION;
        return add_field(s, e->name, e->name_len, e->value, e->value_len);
    }
    if ((b & 0xf0) == 0x10) {
        /* §4.5.3 Indexed Field Line with Post-Base Index: 0001 index(4+) */
        if (h3_qpack_get_int(r, 4, &idx) != H3_QPACK_OK)
            return H3_QPACK_ERR_DECOMPRESSION;
        const h3_qpack_entry *e = dynamic_ref(s, s->base + idx);
        if (e == NULL)
            return H3_QPACK_ERR_DECOMPRESSION;
        return add_field(s, e->name, e->name_len, e->value, e->value_len);
    }
    if (b & 0x40) {
        /* §4.5.4 Literal Field Line with Name Reference: 01 N T index(4+) */
        if (h3_qpack_get_int(r, 4, &idx) != H3_QPACK_OK)
            return H3_QPACK_ERR_DECOMPRESSION;
        rc = name_ref(s, (b & 0x10) != 0, idx, false, &name, &name_len);
    } else if (b & 0x20) {
        /* §4.5.6 Literal Field Line with Literal Name: 001 N H len(3+) */
        rc = section_string(s, r, 3, &name, &name_len);
    } else {
        /* §4.5.5 Literal Field Line with Post-Base Name Reference: 0000 N index(3+) */
        if (h3_qpack_get_int(r, 3, &idx) != H3_QPACK_OK)
            return H3_QPACK_ERR_DECOMPRESSION;
        rc = name_ref(s, false, idx, true, &name, &name_len);
    }
    if (rc != H3_QPACK_OK)
        return rc;
    rc = section_string(s, r, 7, &value, &value_len);
    if (rc != H3_QPACK_OK)
        return rc;
    return add_field(s, name, name_len, value, value_len);
}

/* Decode a section whose Required Insert Count is satisfied and deliver it. */
static int decode_now(h3_qpack_decoder *dec, uint64_t stream_id, const uint8_t *data, size_t len)
{
    quince_reader r = quince_reader_init(data, len);
    section_ctx s = {dec, 0, 0, 0, 0, 0};
    int rc = parse_prefix(dec, &r, &s.ric, &s.base);
    if (rc != H3_QPACK_OK)
        return fail(dec, rc, H3_QPACK_DECOMPRESSION_FAILED);
    /* Huffman output of the whole section fits this; it never moves while fields point in. */
    size_t arena_need = h3_huffman_max_decoded_len(len);
    if (arena_need > dec->max_field_section_size)
        arena_need = dec->max_field_section_size;
    if (grow(dec->env, (void **)&dec->arena, &dec->arena_cap, arena_need, 1) != H3_QPACK_OK)
        return fail(dec, H3_QPACK_ERR_NOMEM, H3_QPACK_INTERNAL_ERROR);
    while (!quince_reader_empty(&r)) {
        rc = field_line(&s, &r);
        if (rc != H3_QPACK_OK)
            return fail(dec, rc,
                        rc == H3_QPACK_ERR_NOMEM ? H3_QPACK_INTERNAL_ERROR
                                                 : H3_QPACK_DECOMPRESSION_FAILED);
    }
    /* RFC 9204 §4.4.1 */
    if (s.ric > 0) {
        rc = emit(dec, 0x80, 7, stream_id);
        if (rc != H3_QPACK_OK)
            return rc;
        if (s.ric > dec->known_received)
            dec->known_received = s.ric;
    }
    if (dec->cb != NULL)
        return dec->cb(dec->cb_user, stream_id, dec->fields, s.nfields);
    return H3_QPACK_OK;
}

/* RFC 9204 §2.1.2, §2.2.1 */
int h3_qpack_decoder_decode(h3_qpack_decoder *dec, uint64_t stream_id, const uint8_t *data,
                            size_t len)
{
    if (dec->error)
        return dec->error;
    if (stream_id > H3_QPACK_INT_MAX)
        return H3_QPACK_ERR_ARG;
    quince_reader r = quince_reader_init(data, len);
    uint64_t ric, base;
    int rc = parse_prefix(dec, &r, &ric, &base);
    if (rc != H3_QPACK_OK)
        return fail(dec, rc, H3_QPACK_DECOMPRESSION_FAILED);
    if (ric <= dec->table.insert_count)
        return decode_now(dec, stream_id, data, len);
    if (dec->nblocked >= dec->max_blocked || len > dec->max_blocked_bytes - dec->blocked_bytes)
        return fail(dec, H3_QPACK_ERR_DECOMPRESSION, H3_QPACK_DECOMPRESSION_FAILED);
    if (grow(dec->env, (void **)&dec->blocked, &dec->blocked_cap, dec->nblocked + 1,
             sizeof(blocked_section)) != H3_QPACK_OK)
        return fail(dec, H3_QPACK_ERR_NOMEM, H3_QPACK_INTERNAL_ERROR);
    /* §7.3: the copy counts against the budget; refused as past max_blocked_bytes. */
    if (!quince_budget_charge(dec->budget, len))
        return fail(dec, H3_QPACK_ERR_DECOMPRESSION, H3_QPACK_DECOMPRESSION_FAILED);
    uint8_t *copy = quince_env_alloc(dec->env, len);
    if (copy == NULL) {
        quince_budget_release(dec->budget, len);
        return fail(dec, H3_QPACK_ERR_NOMEM, H3_QPACK_INTERNAL_ERROR);
    }
    memcpy(copy, data, len);
    blocked_section *b = &dec->blocked[dec->nblocked++];
    b->stream_id = stream_id;
    b->ric = ric;
    b->data = copy;
    b->len = len;
    dec->blocked_bytes += len;
    if (dec->nblocked == 1 || ric < dec->min_blocked_ric)
        dec->min_blocked_ric = ric;
    return H3_QPACK_BLOCKED;
}

/* RFC 9204 §2.2.1: after an insert, decode the sections it unblocks, in arrival order. */
static int unblock(h3_qpack_decoder *dec)
{
    int result = H3_QPACK_OK;
    while (dec->nblocked > 0 && dec->min_blocked_ric <= dec->table.insert_count) {
        size_t i = 0;
        while (dec->blocked[i].ric > dec->table.insert_count)
            i++;
        blocked_section b = dec->blocked[i];
        memmove(&dec->blocked[i], &dec->blocked[i + 1],
                (dec->nblocked - i - 1) * sizeof(blocked_section));
        dec->nblocked--;
        dec->blocked_bytes -= b.len;
        quince_budget_release(dec->budget, b.len);
        dec->min_blocked_ric = UINT64_MAX;
        for (size_t k = 0; k < dec->nblocked; k++)
            if (dec->blocked[k].ric < dec->min_blocked_ric)
                dec->min_blocked_ric = dec->blocked[k].ric;
        int rc = decode_now(dec, b.stream_id, b.data, b.len);
        quince_env_free(dec->env, b.data);
        if (dec->error)
            return dec->error;
        if (rc < 0 && result == H3_QPACK_OK)
            result = rc; /* a callback's error: keep going, report the first */
    }
    return result;
}

/* ---- encoder stream (RFC 9204 §4.3) ---- */

/* Read a string of an encoder instruction, Huffman-decoded into scratch when needed.
 * On truncation *need says how many bytes from start the instruction needs. */
static int enc_string(h3_qpack_decoder *dec, quince_reader *r, unsigned prefix, size_t scratch_off,
                      const uint8_t **out, size_t *out_len, const uint8_t *start, size_t *need)
{
    const uint8_t *raw;
    size_t len;
    bool huff;
    quince_reader t = *r;
    int rc = h3_qpack_get_string(&t, prefix, &raw, &len, &huff);
    if (rc == H3_QPACK_ERR_TRUNCATED) {
        uint64_t n;
        quince_reader u = *r;
        if (h3_qpack_get_int(&u, prefix, &n) == H3_QPACK_OK) {
            size_t hdr = (size_t)(u.p - start);
            *need = n > SIZE_MAX - hdr ? SIZE_MAX : hdr + (size_t)n;
        }
        return rc;
    }
    if (rc != H3_QPACK_OK)
        return H3_QPACK_ERR_ENCODER_STREAM;
    /* An entry longer than the capacity can never be inserted (RFC 9204 §3.2.2);
     * a Huffman string decodes to at least len * 8 / 30 bytes. */
    if ((huff ? len / 4 : len) > dec->table.capacity)
        return H3_QPACK_ERR_ENCODER_STREAM;
    *r = t;
    if (!huff) {
        *out = raw;
        *out_len = len;
        return H3_QPACK_OK;
    }
    size_t max = h3_huffman_max_decoded_len(len);
    if (grow(dec->env, (void **)&dec->scratch, &dec->scratch_cap, scratch_off + max, 1) !=
        H3_QPACK_OK)
        return H3_QPACK_ERR_NOMEM;
    if (h3_huffman_decode(raw, len, dec->scratch + scratch_off, max, out_len) != H3_QPACK_OK)
        return H3_QPACK_ERR_ENCODER_STREAM;
    *out = dec->scratch + scratch_off;
    return H3_QPACK_OK;
}

static int insert(h3_qpack_decoder *dec, const uint8_t *name, size_t name_len, const uint8_t *value,
                  size_t value_len)
{
    int rc = h3_qpack_table_insert(&dec->table, name, name_len, value, value_len, UINT64_MAX);
    if (rc == H3_QPACK_ERR_LIMIT)
        return H3_QPACK_ERR_ENCODER_STREAM;
    return rc;
}

/*
 * Parse and apply one encoder instruction from p[0..len). Returns bytes
 * consumed (> 0), H3_QPACK_ERR_TRUNCATED with *need set (a lower bound on the
 * instruction's length), or a negative error.
 */
static long enc_instruction(h3_qpack_decoder *dec, const uint8_t *p, size_t len, size_t *need)
{
    quince_reader r = quince_reader_init(p, len);
    uint8_t b = p[0];
    uint64_t idx;
    const uint8_t *name = NULL, *value;
    size_t name_len = 0, value_len;
    int rc;
    *need = len + 1;
    if (b & 0x80) {
        /* §4.3.2 Insert with Name Reference: 1 T index(6+) value */
        rc = h3_qpack_get_int(&r, 6, &idx);
        if (rc != H3_QPACK_OK)
            return rc == H3_QPACK_ERR_TRUNCATED ? rc : H3_QPACK_ERR_ENCODER_STREAM;
        /* Check the name reference before waiting for the value. */
        if (b & 0x40) {
            const h3_qpack_static_entry *e = h3_qpack_static_get(idx);
            if (e == NULL)
                return H3_QPACK_ERR_ENCODER_STREAM;
            name = (const uint8_t *)e->name;
            name_len = e->name_len;
        } else {
            /* §3.2.5 relative index on the encoder stream */
            const h3_qpack_entry *e =
                idx < dec->table.insert_count
                    ? h3_qpack_table_get(&dec->table, dec->table.insert_count - 1 - idx)
                    : NULL;
            if (e == NULL)
                return H3_QPACK_ERR_ENCODER_STREAM;
            name = e->name;
            name_len = e->name_len;
        }
        rc = enc_string(dec, &r, 7, 0, &value, &value_len, p, need);
        if (rc != H3_QPACK_OK)
            return rc;
        rc = insert(dec, name, name_len, value, value_len);
    } else if (b & 0x40) {
        /* §4.3.3 Insert with Literal Name: 01 H len(5+) name value */
        rc = enc_string(dec, &r, 5, 0, &name, &name_len, p, need);
        if (rc != H3_QPACK_OK)
            return rc;
        bool name_in_scratch = dec->scratch != NULL && name == dec->scratch;
        rc = enc_string(dec, &r, 7, name_in_scratch ? name_len : 0, &value, &value_len, p, need);
        if (rc != H3_QPACK_OK)
            return rc;
        if (name_in_scratch)
            name = dec->scratch; /* growing scratch for the value may have moved it */
        rc = insert(dec, name, name_len, value, value_len);
    } else if (b & 0x20) {
        /* §4.3.1 Set Dynamic Table Capacity: 001 capacity(5+) */
        rc = h3_qpack_get_int(&r, 5, &idx);
        if (rc != H3_QPACK_OK)
            return rc == H3_QPACK_ERR_TRUNCATED ? rc : H3_QPACK_ERR_ENCODER_STREAM;
        if (idx > dec->max_table_capacity)
            return H3_QPACK_ERR_ENCODER_STREAM;
        rc = set_capacity(dec, (size_t)idx);
        if (rc == H3_QPACK_ERR_LIMIT)
            rc = H3_QPACK_ERR_ENCODER_STREAM;
    } else {
        /* §4.3.4 Duplicate: 000 index(5+) */
        rc = h3_qpack_get_int(&r, 5, &idx);
        if (rc != H3_QPACK_OK)
            return rc == H3_QPACK_ERR_TRUNCATED ? rc : H3_QPACK_ERR_ENCODER_STREAM;
        const h3_qpack_entry *e =
            idx < dec->table.insert_count
                ? h3_qpack_table_get(&dec->table, dec->table.insert_count - 1 - idx)
                : NULL;
        if (e == NULL)
            return H3_QPACK_ERR_ENCODER_STREAM;
        rc = insert(dec, e->name, e->name_len, e->value, e->value_len);
    }
    if (rc != H3_QPACK_OK)
        return rc;
    return (long)(r.p - p);
}

/* Apply one instruction and unblock; returns consumed, TRUNCATED or an error. */
static long enc_step(h3_qpack_decoder *dec, const uint8_t *p, size_t len, size_t *need, int *cb_rc)
{
    uint64_t before = dec->table.insert_count;
    long n = enc_instruction(dec, p, len, need);
    if (n == H3_QPACK_ERR_TRUNCATED)
        return n;
    if (n < 0)
        return fail(dec, (int)n,
                    n == H3_QPACK_ERR_NOMEM  ? H3_QPACK_INTERNAL_ERROR
                    : n == H3_QPACK_ERR_LOAD ? H3_EXCESSIVE_LOAD
                                             : H3_QPACK_ENCODER_STREAM_ERROR);
    if (dec->table.insert_count != before) {
        int rc = unblock(dec);
        if (dec->error)
            return dec->error;
        if (rc < 0 && *cb_rc == H3_QPACK_OK)
            *cb_rc = rc;
    }
    return n;
}

/* RFC 9204 §4.3 */
int h3_qpack_decoder_feed_encoder(h3_qpack_decoder *dec, const uint8_t *data, size_t len)
{
    int cb_rc = H3_QPACK_OK;
    if (dec->error)
        return dec->error;
    /* First complete a buffered instruction, taking no more than it needs. */
    while (dec->enc_len > 0 && len > 0) {
        size_t take = dec->enc_need - dec->enc_len;
        if (take > len)
            take = len;
        int grc = grow_enc_buf(dec, dec->enc_len + take);
        if (grc != H3_QPACK_OK)
            return grc == H3_QPACK_ERR_LOAD
                       ? fail(dec, H3_QPACK_ERR_ENCODER_STREAM, H3_QPACK_ENCODER_STREAM_ERROR)
                       : fail(dec, H3_QPACK_ERR_NOMEM, H3_QPACK_INTERNAL_ERROR);
        memcpy(dec->enc_buf + dec->enc_len, data, take);
        dec->enc_len += take;
        data += take;
        len -= take;
        if (dec->enc_len < dec->enc_need)
            return H3_QPACK_OK;
        size_t need;
        long n = enc_step(dec, dec->enc_buf, dec->enc_len, &need, &cb_rc);
        if (n == H3_QPACK_ERR_TRUNCATED) {
            if (need > dec->max_encoder_buffer)
                return fail(dec, H3_QPACK_ERR_ENCODER_STREAM, H3_QPACK_ENCODER_STREAM_ERROR);
            dec->enc_need = need;
            continue;
        }
        if (n < 0)
            return (int)n;
        /* need is a lower bound and we never took more, so all of it was used;
         * keep any rest all the same. */
        memmove(dec->enc_buf, dec->enc_buf + n, dec->enc_len - (size_t)n);
        dec->enc_len -= (size_t)n;
        dec->enc_need = dec->enc_len + 1;
    }
    while (len > 0) {
        size_t need;
        long n = enc_step(dec, data, len, &need, &cb_rc);
        if (n == H3_QPACK_ERR_TRUNCATED) {
            if (need > dec->max_encoder_buffer)
                return fail(dec, H3_QPACK_ERR_ENCODER_STREAM, H3_QPACK_ENCODER_STREAM_ERROR);
            int grc = grow_enc_buf(dec, len);
            if (grc != H3_QPACK_OK)
                return grc == H3_QPACK_ERR_LOAD
                           ? fail(dec, H3_QPACK_ERR_ENCODER_STREAM, H3_QPACK_ENCODER_STREAM_ERROR)
                           : fail(dec, H3_QPACK_ERR_NOMEM, H3_QPACK_INTERNAL_ERROR);
            memcpy(dec->enc_buf, data, len);
            dec->enc_len = len;
            dec->enc_need = need;
            break;
        }
        if (n < 0)
            return (int)n;
        data += n;
        len -= (size_t)n;
    }
    return cb_rc;
}
