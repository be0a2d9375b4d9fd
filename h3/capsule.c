/* The Capsule Protocol (RFC 9297 §3) and the HTTP/3 Datagram prefix (RFC 9297 §2.1). */
#include "h3/capsule.h"

#include "base/varint.h"

/* The WebTransport -13..-16 flow-control capsules: one varint each (§5.6.2-§5.6.5). */
static bool is_wt_flow(uint64_t type)
{
    return type == H3_CAPSULE_WT_MAX_DATA || type == H3_CAPSULE_WT_MAX_STREAMS_BIDI ||
           type == H3_CAPSULE_WT_MAX_STREAMS_UNI || type == H3_CAPSULE_WT_DATA_BLOCKED ||
           type == H3_CAPSULE_WT_STREAMS_BLOCKED_BIDI || type == H3_CAPSULE_WT_STREAMS_BLOCKED_UNI;
}

static bool is_known(uint64_t type)
{
    return type == H3_CAPSULE_DATAGRAM || type == H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION ||
           type == H3_CAPSULE_REGISTER_DATAGRAM_NO_CONTEXT || type == H3_CAPSULE_WT_DRAIN_SESSION ||
           type == H3_CAPSULE_WT_MAX_STREAM_DATA || type == H3_CAPSULE_WT_STREAM_DATA_BLOCKED ||
           is_wt_flow(type);
}

/* RFC 9297 §3.3: a value must hold exactly its fields. */
int h3_capsule_decode_value(uint64_t type, const uint8_t *value, size_t len, h3_capsule *out)
{
    memset(out, 0, sizeof(*out));
    out->type = type;
    out->length = len;
    out->value = value;
    out->value_len = len;
    quince_reader r = quince_reader_init(value, len);
    switch (type) {
    case H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION: /* draft-ietf-webtrans-http3-02 §5 */
        if (!quince_get_u32(&r, &out->error_code) ||
            quince_reader_left(&r) > H3_CLOSE_WT_MAX_MESSAGE)
            return H3_WIRE_ERROR(H3_MESSAGE_ERROR);
        break;
    case H3_CAPSULE_REGISTER_DATAGRAM_NO_CONTEXT: /* draft-ietf-masque-h3-datagram-04 §4.4.2 */
        if (!quince_get_varint(&r, &out->format_type))
            return H3_WIRE_ERROR(H3_MESSAGE_ERROR);
        break;
    case H3_CAPSULE_WT_DRAIN_SESSION: /* draft-ietf-webtrans-http3-16 §4.7: Length 0 */
        if (len != 0)
            return H3_WIRE_ERROR(H3_MESSAGE_ERROR);
        break;
    default:
        if (is_wt_flow(type)) { /* draft-ietf-webtrans-http3-16 §5.6.2-§5.6.5 */
            if (!quince_get_varint(&r, &out->value_int) || !quince_reader_empty(&r))
                return H3_WIRE_ERROR(H3_MESSAGE_ERROR);
        }
        break;
    }
    /* Other types (DATAGRAM, RFC 9297 §3.5, and unknown ones): the value is opaque. */
    out->data = r.p;
    out->data_len = quince_reader_left(&r);
    return 0;
}

/* RFC 9297 §3.2 */
int h3_capsule_decode(const uint8_t *data, size_t len, h3_capsule *out)
{
    quince_reader r = quince_reader_init(data, len);
    uint64_t type, length;
    if (!quince_get_varint(&r, &type) || !quince_get_varint(&r, &length))
        return H3_WIRE_NEED_MORE;
    size_t n = len - quince_reader_left(&r);
    if (length > quince_reader_left(&r))
        return H3_WIRE_NEED_MORE;
    if (length > (uint64_t)(INT32_MAX - n))
        return H3_WIRE_ERROR(H3_EXCESSIVE_LOAD);
    int rc = h3_capsule_decode_value(type, r.p, (size_t)length, out);
    if (rc < 0)
        return rc;
    return (int)(n + length);
}

/* RFC 9297 §3.2 */
bool h3_capsule_put_header(quince_writer *w, uint64_t type, uint64_t length)
{
    return quince_put_varint(w, type) && quince_put_varint(w, length);
}

/* RFC 9297 §3.5 */
bool h3_capsule_put_datagram(quince_writer *w, const uint8_t *payload, size_t len)
{
    return h3_capsule_put_header(w, H3_CAPSULE_DATAGRAM, len) && quince_put_bytes(w, payload, len);
}

/* draft-ietf-webtrans-http3-02 §5 */
bool h3_capsule_put_close_wt(quince_writer *w, uint32_t error_code, const uint8_t *message,
                             size_t len)
{
    if (len > H3_CLOSE_WT_MAX_MESSAGE) {
        w->overflow = true;
        return false;
    }
    return h3_capsule_put_header(w, H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION, 4 + len) &&
           quince_put_u32(w, error_code) && quince_put_bytes(w, message, len);
}

/* draft-ietf-masque-h3-datagram-04 §4.4.2 */
bool h3_capsule_put_register_no_context(quince_writer *w, uint64_t format_type,
                                        const uint8_t *extra, size_t len)
{
    size_t n = quince_varint_len(format_type);
    if (n == 0) {
        w->overflow = true;
        return false;
    }
    return h3_capsule_put_header(w, H3_CAPSULE_REGISTER_DATAGRAM_NO_CONTEXT, n + (uint64_t)len) &&
           quince_put_varint(w, format_type) && quince_put_bytes(w, extra, len);
}

/* draft-ietf-webtrans-http3-16 §4.7 */
bool h3_capsule_put_drain(quince_writer *w)
{
    return h3_capsule_put_header(w, H3_CAPSULE_WT_DRAIN_SESSION, 0);
}

/* draft-ietf-webtrans-http3-16 §5.6.2-§5.6.5 */
bool h3_capsule_put_wt_flow(quince_writer *w, uint64_t type, uint64_t value)
{
    size_t n = quince_varint_len(value);
    if (n == 0 || !is_wt_flow(type)) {
        w->overflow = true;
        return false;
    }
    return h3_capsule_put_header(w, type, n) && quince_put_varint(w, value);
}

/* RFC 9297 §5.4 */
bool h3_capsule_put_grease(quince_writer *w, uint64_t r, const uint8_t *payload, size_t len)
{
    return h3_capsule_put_header(w, h3_capsule_grease_type(r), len) &&
           quince_put_bytes(w, payload, len);
}

/* ---- Reader ---- */

enum { CST_HEADER, CST_BUFFER, CST_SKIP, CST_ERROR };

void h3_capsule_reader_init(h3_capsule_reader *r, size_t max_capsule, const quince_env *env)
{
    memset(r, 0, sizeof(*r));
    if (max_capsule == 0)
        max_capsule = H3_CAPSULE_READER_DEFAULT_MAX;
    if (max_capsule < H3_CAPSULE_READER_MIN_MAX)
        max_capsule = H3_CAPSULE_READER_MIN_MAX;
    r->max_capsule = max_capsule;
    r->env = env;
    r->state = CST_HEADER;
}

void h3_capsule_reader_free(h3_capsule_reader *r)
{
    if (r->buf != NULL && r->env != NULL)
        quince_env_free(r->env, r->buf);
    quince_budget_release(r->budget, r->buf_cap);
    r->buf = NULL;
    r->buf_cap = 0;
}

static int cfail(h3_capsule_reader *r, int err)
{
    r->state = CST_ERROR;
    r->error = err;
    return err;
}

/* RFC 9297 §3.2, §3.5; draft-ietf-webtrans-http3-02 §5 */
static int on_capsule_header(h3_capsule_reader *r, h3_capsule_event *ev)
{
    r->hdr_len = 0;
    ev->capsule.type = r->type;
    ev->capsule.length = r->length;
    r->left = r->length;
    if (!is_known(r->type)) {
        ev->type = H3_CEV_SKIP; /* §3.2: unknown capsules are silently skipped */
        r->state = r->left > 0 ? CST_SKIP : CST_HEADER;
        return 0;
    }
    if (r->type == H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION &&
        (r->length < 4 || r->length > 4 + H3_CLOSE_WT_MAX_MESSAGE))
        return cfail(r, H3_WIRE_ERROR(H3_MESSAGE_ERROR));
    if (r->length > r->max_capsule) {
        if (r->type != H3_CAPSULE_DATAGRAM)
            return cfail(r, H3_WIRE_ERROR(H3_EXCESSIVE_LOAD));
        ev->type = H3_CEV_DROPPED; /* §3.5: too large to use, do not buffer */
        r->state = CST_SKIP;
        return 0;
    }
    r->buf_len = 0;
    r->state = CST_BUFFER;
    ev->type = H3_CEV_NONE;
    return 0;
}

static int finish_capsule(h3_capsule_reader *r, const uint8_t *value, h3_capsule_event *ev)
{
    r->state = CST_HEADER;
    int rc = h3_capsule_decode_value(r->type, value, (size_t)r->length, &ev->capsule);
    if (rc < 0)
        return cfail(r, rc);
    if (r->type == H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION)
        r->closed = true;
    ev->type = H3_CEV_CAPSULE;
    return 0;
}

int h3_capsule_reader_feed(h3_capsule_reader *r, const uint8_t *data, size_t len, size_t *consumed,
                           h3_capsule_event *ev)
{
    size_t off = 0;
    memset(ev, 0, sizeof(*ev));
    *consumed = 0;
    if (r->state == CST_ERROR)
        return r->error;
    /* As in the frame reader: a large buffer is released between capsules. */
    if (r->buf_cap > H3_CAPSULE_READER_KEEP && r->state != CST_BUFFER)
        h3_capsule_reader_free(r);
    while (off < len) {
        size_t avail = len - off;
        switch (r->state) {
        case CST_HEADER: {
            if (r->closed) /* draft-ietf-webtrans-http3-02 §5: nothing may follow */
                return cfail(r, H3_WIRE_ERROR(H3_MESSAGE_ERROR));
            size_t need = quince_varint_pair_need(r->hdr, r->hdr_len);
            size_t take = need - r->hdr_len < avail ? need - r->hdr_len : avail;
            memcpy(r->hdr + r->hdr_len, data + off, take);
            r->hdr_len += take;
            off += take;
            if (r->hdr_len < quince_varint_pair_need(r->hdr, r->hdr_len))
                break;
            quince_reader hr = quince_reader_init(r->hdr, r->hdr_len);
            if (!quince_get_varint(&hr, &r->type) || !quince_get_varint(&hr, &r->length))
                break;
            int rc = on_capsule_header(r, ev);
            if (rc < 0)
                return rc;
            if (ev->type != H3_CEV_NONE) {
                *consumed = off;
                return 0;
            }
            if (r->length <= len - off) { /* whole in the input: decode in place */
                rc = finish_capsule(r, data + off, ev);
                if (rc < 0)
                    return rc;
                off += (size_t)r->length;
                *consumed = off;
                return 0;
            }
            if (r->length > r->buf_cap) {
                if (r->env == NULL)
                    return cfail(r, H3_WIRE_NO_MEMORY);
                size_t more = (size_t)r->length - r->buf_cap;
                if (!quince_budget_charge(r->budget, more)) {
                    /* The connection's memory is full: as for a capsule over the bound. */
                    if (r->type != H3_CAPSULE_DATAGRAM)
                        return cfail(r, H3_WIRE_ERROR(H3_EXCESSIVE_LOAD));
                    ev->type = H3_CEV_DROPPED;
                    r->state = CST_SKIP;
                    *consumed = off;
                    return 0;
                }
                uint8_t *nb = quince_env_realloc(r->env, r->buf, (size_t)r->length);
                if (nb == NULL) {
                    quince_budget_release(r->budget, more);
                    return cfail(r, H3_WIRE_NO_MEMORY);
                }
                r->buf = nb;
                r->buf_cap = (size_t)r->length;
            }
            break;
        }
        case CST_BUFFER: {
            size_t take = r->left < avail ? (size_t)r->left : avail;
            memcpy(r->buf + r->buf_len, data + off, take);
            r->buf_len += take;
            r->left -= take;
            off += take;
            if (r->left == 0) {
                int rc = finish_capsule(r, r->buf, ev);
                if (rc < 0)
                    return rc;
                *consumed = off;
                return 0;
            }
            break;
        }
        case CST_SKIP: {
            size_t take = r->left < avail ? (size_t)r->left : avail;
            r->left -= take;
            off += take;
            if (r->left == 0)
                r->state = CST_HEADER;
            break;
        }
        default:
            return r->error;
        }
    }
    *consumed = off;
    ev->type = H3_CEV_NONE;
    return 0;
}

/* RFC 9297 §3.3 */
int h3_capsule_reader_finish(h3_capsule_reader *r)
{
    if (r->state == CST_ERROR)
        return r->error;
    if (r->state != CST_HEADER || r->hdr_len != 0)
        return cfail(r, H3_WIRE_ERROR(H3_MESSAGE_ERROR));
    return 0;
}

/* ---- HTTP/3 Datagrams ---- */

/* RFC 9297 §2.1 */
int h3_datagram_parse(const uint8_t *data, size_t len, uint64_t *stream_id, const uint8_t **payload,
                      size_t *payload_len)
{
    quince_reader r = quince_reader_init(data, len);
    uint64_t qsid;
    if (!quince_get_varint(&r, &qsid) || qsid > H3_DATAGRAM_MAX_QUARTER_STREAM_ID)
        return H3_WIRE_ERROR(H3_DATAGRAM_ERROR);
    *stream_id = qsid * 4;
    *payload = r.p;
    *payload_len = quince_reader_left(&r);
    return 0;
}

size_t h3_datagram_prefix_len(uint64_t stream_id)
{
    if ((stream_id & 3) != 0 || stream_id > QUINCE_VARINT_MAX)
        return 0;
    return quince_varint_len(stream_id / 4);
}

/* RFC 9297 §2.1 */
bool h3_datagram_put_prefix(quince_writer *w, uint64_t stream_id)
{
    if (h3_datagram_prefix_len(stream_id) == 0) {
        w->overflow = true;
        return false;
    }
    return quince_put_varint(w, stream_id / 4);
}
