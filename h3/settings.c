/* HTTP/3 SETTINGS (RFC 9114 §7.2.4) with the QPACK, CONNECT, datagram and WebTransport settings. */
#include "h3/settings.h"

#include "h3/frame.h"
#include "base/varint.h"

/* The settings this module understands, in the order they are sent. */
enum { K_QMTC, K_MFSS, K_QBS, K_ECP, K_DGRAM, K_DGRAM04, K_WT, K_COUNT };

static const uint64_t known_ids[K_COUNT] = {
    H3_SETTING_QPACK_MAX_TABLE_CAPACITY,
    H3_SETTING_MAX_FIELD_SECTION_SIZE,
    H3_SETTING_QPACK_BLOCKED_STREAMS,
    H3_SETTING_ENABLE_CONNECT_PROTOCOL,
    H3_SETTING_H3_DATAGRAM,
    H3_SETTING_H3_DATAGRAM_DRAFT04,
    H3_SETTING_ENABLE_WEBTRANSPORT,
};

static int known_index(uint64_t id)
{
    for (int i = 0; i < K_COUNT; i++)
        if (known_ids[i] == id)
            return i;
    return -1;
}

static bool is_boolean(int k)
{
    return k >= K_ECP;
}

/* RFC 9114 §7.2.4.1 and §11.2.2: identifiers HTTP/2 defined with no HTTP/3 meaning. */
static bool is_h2_only(uint64_t id)
{
    return id >= H3_SETTING_H2_ENABLE_PUSH && id <= H3_SETTING_H2_MAX_FRAME_SIZE;
}

/* RFC 9114 §7.2.4.1 */
void h3_settings_init(h3_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->max_field_section_size = H3_SETTING_UNLIMITED;
}

static void store_known(h3_settings *s, int k, uint64_t v)
{
    switch (k) {
    case K_QMTC:
        s->qpack_max_table_capacity = v;
        break;
    case K_MFSS:
        s->max_field_section_size = v;
        break;
    case K_QBS:
        s->qpack_blocked_streams = v;
        break;
    case K_ECP:
        s->enable_connect_protocol = v != 0;
        break;
    case K_DGRAM:
        s->h3_datagram = v != 0;
        break;
    case K_DGRAM04:
        s->h3_datagram_draft04 = v != 0;
        break;
    default:
        s->enable_webtransport = v != 0;
        break;
    }
    s->present |= 1u << k;
}

static uint64_t load_known(const h3_settings *s, int k)
{
    switch (k) {
    case K_QMTC:
        return s->qpack_max_table_capacity;
    case K_MFSS:
        return s->max_field_section_size;
    case K_QBS:
        return s->qpack_blocked_streams;
    case K_ECP:
        return s->enable_connect_protocol;
    case K_DGRAM:
        return s->h3_datagram;
    case K_DGRAM04:
        return s->h3_datagram_draft04;
    default:
        return s->enable_webtransport;
    }
}

/* RFC 9114 §7.2.4.1 */
int h3_settings_set(h3_settings *s, uint64_t id, uint64_t value)
{
    /* 0x00 is reserved too (RFC 9114 Table 3); GREASE goes through put_frame's argument. */
    if (value > QUINCE_VARINT_MAX || id > QUINCE_VARINT_MAX || id == 0 || is_h2_only(id) ||
        h3_is_grease(id))
        return H3_WIRE_ERROR(H3_SETTINGS_ERROR);
    int k = known_index(id);
    if (k >= 0) {
        if (is_boolean(k) && value > 1)
            return H3_WIRE_ERROR(H3_SETTINGS_ERROR);
        store_known(s, k, value);
        return 0;
    }
    for (size_t i = 0; i < s->n_extra; i++)
        if (s->extra[i].id == id)
            return H3_WIRE_ERROR(H3_SETTINGS_ERROR);
    if (s->n_extra == H3_SETTINGS_MAX_EXTRA)
        return H3_WIRE_ERROR(H3_SETTINGS_ERROR);
    s->extra[s->n_extra].id = id;
    s->extra[s->n_extra].value = value;
    s->n_extra++;
    return 0;
}

/* RFC 9114 §7.2.4.1 */
size_t h3_settings_list(const h3_settings *s, h3_setting *out, size_t cap)
{
    size_t n = 0;
    for (int k = 0; k < K_COUNT; k++) {
        if (!(s->present & (1u << k)))
            continue;
        if (n < cap)
            out[n] = (h3_setting){known_ids[k], load_known(s, k)};
        n++;
    }
    for (size_t i = 0; i < s->n_extra; i++, n++)
        if (n < cap)
            out[n] = s->extra[i];
    return n;
}

/* RFC 9114 §7.2.4.1 */
bool h3_settings_get(const h3_settings *s, uint64_t id, uint64_t *value)
{
    int k = known_index(id);
    if (k >= 0) {
        if (!(s->present & (1u << k)))
            return false;
        *value = load_known(s, k);
        return true;
    }
    for (size_t i = 0; i < s->n_extra; i++) {
        if (s->extra[i].id == id) {
            *value = s->extra[i].value;
            return true;
        }
    }
    return false;
}

/* RFC 9114 §7.2.4, §7.2.4.1 */
int h3_settings_decode(const uint8_t *payload, size_t len, h3_settings *s)
{
    uint64_t seen[H3_SETTINGS_MAX_COUNT];
    size_t n = 0;
    quince_reader r = quince_reader_init(payload, len);
    h3_settings_init(s);
    while (!quince_reader_empty(&r)) {
        uint64_t id, value;
        if (!quince_get_varint(&r, &id) || !quince_get_varint(&r, &value))
            return H3_WIRE_ERROR(H3_FRAME_ERROR); /* §7.1: a setting cut short */
        if (n == H3_SETTINGS_MAX_COUNT)
            return H3_WIRE_ERROR(H3_EXCESSIVE_LOAD);
        for (size_t i = 0; i < n; i++)
            if (seen[i] == id)
                return H3_WIRE_ERROR(H3_SETTINGS_ERROR); /* §7.2.4: duplicate */
        seen[n++] = id;
        if (is_h2_only(id))
            return H3_WIRE_ERROR(H3_SETTINGS_ERROR);
        if (h3_is_grease(id))
            continue; /* §7.2.4.1: no meaning */
        int k = known_index(id);
        if (k >= 0) {
            if (is_boolean(k) && value > 1)
                return H3_WIRE_ERROR(H3_SETTINGS_ERROR);
            store_known(s, k, value);
        } else if (s->n_extra < H3_SETTINGS_MAX_EXTRA) {
            /* Not understood here: kept for extensions, otherwise ignored. */
            s->extra[s->n_extra].id = id;
            s->extra[s->n_extra].value = value;
            s->n_extra++;
        }
    }
    return 0;
}

static size_t pair_len(uint64_t id, uint64_t value)
{
    return quince_varint_len(id) + quince_varint_len(value);
}

static uint64_t grease_value(uint64_t grease)
{
    return grease & 0x3fffffff;
}

size_t h3_settings_payload_len(const h3_settings *s, uint64_t grease)
{
    size_t n = 0;
    for (int k = 0; k < K_COUNT; k++)
        if (s->present & (1u << k))
            n += pair_len(known_ids[k], load_known(s, k));
    for (size_t i = 0; i < s->n_extra; i++)
        n += pair_len(s->extra[i].id, s->extra[i].value);
    if (grease != H3_SETTINGS_NO_GREASE)
        n += pair_len(h3_grease_codepoint(grease), grease_value(grease));
    return n;
}

/* RFC 9114 §7.2.4 */
bool h3_settings_put_frame(quince_writer *w, const h3_settings *s, uint64_t grease)
{
    /* MAX_FIELD_SECTION_SIZE "unlimited" has no encoding: leave it out. */
    if ((s->present & H3_SP_MAX_FIELD_SECTION_SIZE) &&
        s->max_field_section_size > QUINCE_VARINT_MAX) {
        w->overflow = true;
        return false;
    }
    bool ok = h3_frame_put_header(w, H3_FRAME_SETTINGS, h3_settings_payload_len(s, grease));
    for (int k = 0; k < K_COUNT && ok; k++)
        if (s->present & (1u << k))
            ok = quince_put_varint(w, known_ids[k]) && quince_put_varint(w, load_known(s, k));
    for (size_t i = 0; i < s->n_extra && ok; i++)
        ok = quince_put_varint(w, s->extra[i].id) && quince_put_varint(w, s->extra[i].value);
    if (ok && grease != H3_SETTINGS_NO_GREASE)
        ok = quince_put_varint(w, h3_grease_codepoint(grease)) &&
             quince_put_varint(w, grease_value(grease));
    return ok;
}
