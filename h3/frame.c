/* HTTP/3 frames (RFC 9114 §7), stream headers (§6.2) and a streaming frame reader. */
#include "h3/frame.h"

#include "base/varint.h"

/* RFC 9114 §7.2, §7.2.8, §11.2.1 */
h3_frame_kind h3_frame_classify(uint64_t type)
{
    switch (type) {
    case H3_FRAME_DATA:
    case H3_FRAME_HEADERS:
    case H3_FRAME_CANCEL_PUSH:
    case H3_FRAME_SETTINGS:
    case H3_FRAME_PUSH_PROMISE:
    case H3_FRAME_GOAWAY:
    case H3_FRAME_MAX_PUSH_ID:
        return H3_FRAME_KIND_KNOWN;
    case H3_FRAME_H2_PRIORITY:
    case H3_FRAME_H2_PING:
    case H3_FRAME_H2_WINDOW_UPDATE:
    case H3_FRAME_H2_CONTINUATION:
        return H3_FRAME_KIND_H2_ONLY;
    default:
        return H3_FRAME_KIND_UNKNOWN;
    }
}

/* RFC 9114 §7.1 */
int h3_frame_header_parse(const uint8_t *data, size_t len, h3_frame_header *out)
{
    quince_reader r = quince_reader_init(data, len);
    uint64_t type, length;
    if (!quince_get_varint(&r, &type) || !quince_get_varint(&r, &length))
        return H3_WIRE_NEED_MORE;
    out->type = type;
    out->length = length;
    return (int)(len - quince_reader_left(&r));
}

size_t h3_frame_header_len(uint64_t type, uint64_t length)
{
    size_t a = quince_varint_len(type), b = quince_varint_len(length);
    return a == 0 || b == 0 ? 0 : a + b;
}

/* RFC 9114 §7.1 */
bool h3_frame_put_header(quince_writer *w, uint64_t type, uint64_t length)
{
    return quince_put_varint(w, type) && quince_put_varint(w, length);
}

/* The payload of CANCEL_PUSH, GOAWAY and MAX_PUSH_ID is exactly one varint. */
static int decode_single_varint(const uint8_t *payload, size_t len, uint64_t *out)
{
    quince_reader r = quince_reader_init(payload, len);
    if (!quince_get_varint(&r, out) || !quince_reader_empty(&r))
        return H3_WIRE_ERROR(H3_FRAME_ERROR);
    return 0;
}

/* RFC 9114 §7.1, §7.2: every payload holds exactly its fields. */
int h3_frame_decode_payload(uint64_t type, const uint8_t *payload, size_t len, h3_frame *out)
{
    out->type = type;
    out->length = len;
    out->id = 0;
    out->payload = payload;
    out->payload_len = len;
    switch (type) {
    case H3_FRAME_CANCEL_PUSH: /* RFC 9114 §7.2.3 */
    case H3_FRAME_GOAWAY:      /* RFC 9114 §7.2.6 */
    case H3_FRAME_MAX_PUSH_ID: /* RFC 9114 §7.2.7 */
        out->payload = NULL;
        out->payload_len = 0;
        return decode_single_varint(payload, len, &out->id);
    case H3_FRAME_PUSH_PROMISE: { /* RFC 9114 §7.2.5 */
        quince_reader r = quince_reader_init(payload, len);
        if (!quince_get_varint(&r, &out->id))
            return H3_WIRE_ERROR(H3_FRAME_ERROR);
        out->payload = r.p;
        out->payload_len = quince_reader_left(&r);
        return 0;
    }
    default:
        if (h3_frame_classify(type) == H3_FRAME_KIND_H2_ONLY)
            return H3_WIRE_ERROR(H3_FRAME_UNEXPECTED); /* RFC 9114 §7.2.8 */
        return 0; /* DATA, HEADERS, SETTINGS, unknown: opaque here */
    }
}

/* RFC 9114 §7.1 */
int h3_frame_decode(const uint8_t *data, size_t len, h3_frame *out)
{
    h3_frame_header h;
    int n = h3_frame_header_parse(data, len, &h);
    if (n < 0)
        return n;
    if (h3_frame_classify(h.type) == H3_FRAME_KIND_H2_ONLY)
        return H3_WIRE_ERROR(H3_FRAME_UNEXPECTED);
    if (h.length > len - (size_t)n)
        return H3_WIRE_NEED_MORE;
    /* A whole frame must fit the int return; larger inputs are for the reader. */
    if (h.length > (uint64_t)(INT32_MAX - n))
        return H3_WIRE_ERROR(H3_EXCESSIVE_LOAD);
    int rc = h3_frame_decode_payload(h.type, data + n, (size_t)h.length, out);
    if (rc < 0)
        return rc;
    return n + (int)h.length;
}

static bool put_frame(quince_writer *w, uint64_t type, const uint8_t *p, size_t len)
{
    return h3_frame_put_header(w, type, len) && quince_put_bytes(w, p, len);
}

/* RFC 9114 §7.2.1 */
bool h3_frame_put_data(quince_writer *w, const uint8_t *data, size_t len)
{
    return put_frame(w, H3_FRAME_DATA, data, len);
}

/* RFC 9114 §7.2.2 */
bool h3_frame_put_headers(quince_writer *w, const uint8_t *section, size_t len)
{
    return put_frame(w, H3_FRAME_HEADERS, section, len);
}

static bool put_varint_frame(quince_writer *w, uint64_t type, uint64_t v)
{
    size_t n = quince_varint_len(v);
    if (n == 0) {
        w->overflow = true;
        return false;
    }
    return h3_frame_put_header(w, type, n) && quince_put_varint(w, v);
}

/* RFC 9114 §7.2.3 */
bool h3_frame_put_cancel_push(quince_writer *w, uint64_t push_id)
{
    return put_varint_frame(w, H3_FRAME_CANCEL_PUSH, push_id);
}

/* RFC 9114 §7.2.5 */
bool h3_frame_put_push_promise(quince_writer *w, uint64_t push_id, const uint8_t *section,
                               size_t len)
{
    size_t n = quince_varint_len(push_id);
    if (n == 0) {
        w->overflow = true;
        return false;
    }
    return h3_frame_put_header(w, H3_FRAME_PUSH_PROMISE, n + (uint64_t)len) &&
           quince_put_varint(w, push_id) && quince_put_bytes(w, section, len);
}

/* RFC 9114 §7.2.6 */
bool h3_frame_put_goaway(quince_writer *w, uint64_t id)
{
    return put_varint_frame(w, H3_FRAME_GOAWAY, id);
}

/* RFC 9114 §7.2.7 */
bool h3_frame_put_max_push_id(quince_writer *w, uint64_t push_id)
{
    return put_varint_frame(w, H3_FRAME_MAX_PUSH_ID, push_id);
}

/* RFC 9114 §7.2.8 */
bool h3_frame_put_grease(quince_writer *w, uint64_t r, const uint8_t *payload, size_t len)
{
    return put_frame(w, h3_grease_codepoint(r), payload, len);
}

/* draft-ietf-webtrans-http3-02 §4: session IDs are client-initiated bidi stream IDs. */
static bool valid_session_id(uint64_t id)
{
    return (id & 3) == 0;
}

/* RFC 9114 §6.2, RFC 9204 §4.2, draft-ietf-webtrans-http3-02 §4.1 */
int h3_uni_header_parse(const uint8_t *data, size_t len, bool webtransport, h3_uni_header *out)
{
    quince_reader r = quince_reader_init(data, len);
    uint64_t type, id = 0;
    if (!quince_get_varint(&r, &type))
        return H3_WIRE_NEED_MORE;
    h3_uni_kind kind;
    switch (type) {
    case H3_STREAM_CONTROL:
        kind = H3_UNI_CONTROL;
        break;
    case H3_STREAM_PUSH: /* RFC 9114 §6.2.2: Push ID follows */
        kind = H3_UNI_PUSH;
        if (!quince_get_varint(&r, &id))
            return H3_WIRE_NEED_MORE;
        break;
    case H3_STREAM_QPACK_ENCODER:
        kind = H3_UNI_QPACK_ENCODER;
        break;
    case H3_STREAM_QPACK_DECODER:
        kind = H3_UNI_QPACK_DECODER;
        break;
    default:
        if (type == H3_STREAM_WEBTRANSPORT && webtransport) {
            kind = H3_UNI_WEBTRANSPORT;
            if (!quince_get_varint(&r, &id))
                return H3_WIRE_NEED_MORE;
            if (!valid_session_id(id))
                return H3_WIRE_ERROR(H3_ID_ERROR);
        } else {
            kind = h3_is_grease(type) ? H3_UNI_RESERVED : H3_UNI_UNKNOWN;
        }
        break;
    }
    out->type = type;
    out->kind = kind;
    out->id = id;
    return (int)(len - quince_reader_left(&r));
}

/* RFC 9114 §6.2 */
bool h3_uni_put_type(quince_writer *w, uint64_t type)
{
    return quince_put_varint(w, type);
}

/* RFC 9114 §6.2.2 */
bool h3_uni_put_push(quince_writer *w, uint64_t push_id)
{
    return quince_put_varint(w, H3_STREAM_PUSH) && quince_put_varint(w, push_id);
}

/* draft-ietf-webtrans-http3-02 §4.1 */
bool h3_uni_put_webtransport(quince_writer *w, uint64_t session_id)
{
    if (!valid_session_id(session_id)) {
        w->overflow = true;
        return false;
    }
    return quince_put_varint(w, H3_STREAM_WEBTRANSPORT) && quince_put_varint(w, session_id);
}

/* draft-ietf-webtrans-http3-02 §4.2 */
int h3_wt_bidi_header_parse(const uint8_t *data, size_t len, uint64_t *session_id)
{
    quince_reader r = quince_reader_init(data, len);
    uint64_t type, id;
    if (!quince_get_varint(&r, &type))
        return H3_WIRE_NEED_MORE;
    if (type != H3_FRAME_WEBTRANSPORT_STREAM)
        return 0;
    if (!quince_get_varint(&r, &id))
        return H3_WIRE_NEED_MORE;
    if (!valid_session_id(id))
        return H3_WIRE_ERROR(H3_ID_ERROR);
    *session_id = id;
    return (int)(len - quince_reader_left(&r));
}

/* draft-ietf-webtrans-http3-02 §4.2 */
bool h3_wt_put_bidi_header(quince_writer *w, uint64_t session_id)
{
    if (!valid_session_id(session_id)) {
        w->overflow = true;
        return false;
    }
    return quince_put_varint(w, H3_FRAME_WEBTRANSPORT_STREAM) && quince_put_varint(w, session_id);
}

/* ---- Streaming reader ---- */

enum {
    ST_HEADER,  /* collecting Type and Length (or 0x41 and session ID) */
    ST_BUFFER,  /* collecting the payload of a frame reported whole */
    ST_DATA,    /* passing DATA payload through */
    ST_SKIP,    /* dropping the payload of an ignored frame */
    ST_WT_DATA, /* the stream became WebTransport: everything is payload */
    ST_ERROR,
};

void h3_frame_reader_init(h3_frame_reader *r, const h3_frame_reader_config *cfg,
                          const quince_env *env)
{
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    if (r->cfg.max_frame_payload == 0)
        r->cfg.max_frame_payload = H3_FRAME_READER_DEFAULT_MAX;
    r->env = env;
    r->state = ST_HEADER;
}

void h3_frame_reader_free(h3_frame_reader *r)
{
    if (r->buf != NULL && r->env != NULL)
        quince_env_free(r->env, r->buf);
    quince_budget_release(r->budget, r->buf_cap);
    r->buf = NULL;
    r->buf_cap = 0;
}

static int fail(h3_frame_reader *r, int err)
{
    r->state = ST_ERROR;
    r->error = err;
    return err;
}

/* RFC 9114 Table 1 and §7.2.4, §7.2.5, §7.2.7: may this known type arrive here? */
static bool frame_allowed(const h3_frame_reader *r, uint64_t type)
{
    switch (r->cfg.role) {
    case H3_ROLE_CONTROL:
        if (type == H3_FRAME_MAX_PUSH_ID && !r->cfg.local_is_server)
            return false;
        return type == H3_FRAME_CANCEL_PUSH || type == H3_FRAME_SETTINGS ||
               type == H3_FRAME_GOAWAY || type == H3_FRAME_MAX_PUSH_ID;
    case H3_ROLE_REQUEST:
        if (type == H3_FRAME_PUSH_PROMISE && r->cfg.local_is_server)
            return false;
        return type == H3_FRAME_DATA || type == H3_FRAME_HEADERS || type == H3_FRAME_PUSH_PROMISE;
    case H3_ROLE_PUSH:
        return type == H3_FRAME_DATA || type == H3_FRAME_HEADERS;
    default:
        return true;
    }
}

/* Decide what to do with a frame whose header is complete (RFC 9114 §7.2). */
static int on_header(h3_frame_reader *r, h3_frame_event *ev)
{
    uint64_t type = r->type;
    bool first = r->frames == 0;
    r->frames++;
    r->hdr_len = 0;
    ev->frame.type = type;
    ev->frame.length = r->length;

    if (h3_frame_classify(type) == H3_FRAME_KIND_H2_ONLY)
        return fail(r, H3_WIRE_ERROR(H3_FRAME_UNEXPECTED)); /* §7.2.8 */
    if (r->cfg.role == H3_ROLE_CONTROL) {
        if (first && type != H3_FRAME_SETTINGS)
            return fail(r, H3_WIRE_ERROR(H3_MISSING_SETTINGS)); /* §6.2.1 */
        if (!first && type == H3_FRAME_SETTINGS)
            return fail(r, H3_WIRE_ERROR(H3_FRAME_UNEXPECTED)); /* §7.2.4 */
    }
    if (type == H3_FRAME_WEBTRANSPORT_STREAM && r->cfg.webtransport &&
        (r->cfg.role == H3_ROLE_REQUEST || r->cfg.role == H3_ROLE_ANY)) {
        /* draft-ietf-webtrans-http3-02 §4.2: the "length" is the session ID
         * and the frame lasts to the end of the stream. */
        if (!first)
            return fail(r, H3_WIRE_ERROR(H3_FRAME_UNEXPECTED));
        if (!valid_session_id(r->length))
            return fail(r, H3_WIRE_ERROR(H3_ID_ERROR));
        ev->type = H3_FEV_WT_STREAM;
        ev->frame.length = 0;
        ev->frame.id = r->length;
        r->state = ST_WT_DATA;
        return 0;
    }
    if (h3_frame_classify(type) == H3_FRAME_KIND_UNKNOWN) {
        ev->type = H3_FEV_SKIP; /* §9: unknown types are ignored */
        r->left = r->length;
        r->state = r->left > 0 ? ST_SKIP : ST_HEADER;
        return 0;
    }
    if (!frame_allowed(r, type))
        return fail(r, H3_WIRE_ERROR(H3_FRAME_UNEXPECTED));
    if (type == H3_FRAME_DATA) {
        ev->type = H3_FEV_DATA_START;
        r->left = r->length;
        r->state = r->left > 0 ? ST_DATA : ST_HEADER;
        return 0;
    }
    if (type == H3_FRAME_CANCEL_PUSH || type == H3_FRAME_GOAWAY || type == H3_FRAME_MAX_PUSH_ID) {
        if (r->length > 8) /* one varint is at most 8 bytes: §7.1 */
            return fail(r, H3_WIRE_ERROR(H3_FRAME_ERROR));
    } else if (r->length > r->cfg.max_frame_payload) {
        return fail(r, H3_WIRE_ERROR(H3_EXCESSIVE_LOAD)); /* §10.5 */
    }
    r->left = r->length;
    r->buf_len = 0;
    r->state = ST_BUFFER;
    ev->type = H3_FEV_NONE; /* the caller goes on to collect the payload */
    return 0;
}

static int finish_frame(h3_frame_reader *r, const uint8_t *payload, h3_frame_event *ev)
{
    r->state = ST_HEADER;
    int rc = h3_frame_decode_payload(r->type, payload, (size_t)r->length, &ev->frame);
    if (rc < 0)
        return fail(r, rc);
    ev->type = H3_FEV_FRAME;
    return 0;
}

static int grow_buffer(h3_frame_reader *r, size_t need)
{
    if (need <= r->buf_cap)
        return 0;
    if (r->env == NULL)
        return fail(r, H3_WIRE_NO_MEMORY);
    /* §10.5: what the peer makes us buffer counts against the connection's memory. */
    if (!quince_budget_charge(r->budget, need - r->buf_cap))
        return fail(r, H3_WIRE_ERROR(H3_EXCESSIVE_LOAD));
    uint8_t *nb = quince_env_realloc(r->env, r->buf, need);
    if (nb == NULL) {
        quince_budget_release(r->budget, need - r->buf_cap);
        return fail(r, H3_WIRE_NO_MEMORY);
    }
    r->buf = nb;
    r->buf_cap = need;
    return 0;
}

int h3_frame_reader_feed(h3_frame_reader *r, const uint8_t *data, size_t len, size_t *consumed,
                         h3_frame_event *ev)
{
    size_t off = 0;
    memset(ev, 0, sizeof(*ev));
    *consumed = 0;
    if (r->state == ST_ERROR)
        return r->error;
    /* The last event's payload may live in buf until this call: between
     * frames, give back a large buffer so that idle streams hold little. */
    if (r->buf_cap > H3_FRAME_READER_KEEP && r->state != ST_BUFFER)
        h3_frame_reader_free(r);
    while (off < len) {
        size_t avail = len - off;
        switch (r->state) {
        case ST_HEADER: {
            size_t need = quince_varint_pair_need(r->hdr, r->hdr_len);
            size_t take = need - r->hdr_len;
            if (take > avail)
                take = avail;
            memcpy(r->hdr + r->hdr_len, data + off, take);
            r->hdr_len += take;
            off += take;
            if (r->hdr_len < quince_varint_pair_need(r->hdr, r->hdr_len))
                break; /* still short; the need grows as lengths become known */
            h3_frame_header h;
            if (h3_frame_header_parse(r->hdr, r->hdr_len, &h) < 0)
                break;
            r->type = h.type;
            r->length = h.length;
            int rc = on_header(r, ev);
            if (rc < 0)
                return rc;
            if (ev->type != H3_FEV_NONE) {
                *consumed = off;
                return 0;
            }
            /* ST_BUFFER: a frame held whole in the input is reported in place. */
            if (r->length <= len - off) {
                rc = finish_frame(r, data + off, ev);
                if (rc < 0)
                    return rc;
                off += (size_t)r->length;
                *consumed = off;
                return 0;
            }
            rc = grow_buffer(r, (size_t)r->length);
            if (rc < 0)
                return rc;
            break;
        }
        case ST_BUFFER: {
            size_t take = r->left < avail ? (size_t)r->left : avail;
            memcpy(r->buf + r->buf_len, data + off, take);
            r->buf_len += take;
            r->left -= take;
            off += take;
            if (r->left == 0) {
                int rc = finish_frame(r, r->buf, ev);
                if (rc < 0)
                    return rc;
                *consumed = off;
                return 0;
            }
            break;
        }
        case ST_DATA: {
            size_t take = r->left < avail ? (size_t)r->left : avail;
            r->left -= take;
            ev->type = H3_FEV_DATA;
            ev->frame.type = H3_FRAME_DATA;
            ev->frame.length = r->length;
            ev->data = data + off;
            ev->len = take;
            ev->remaining = r->left;
            off += take;
            if (r->left == 0)
                r->state = ST_HEADER;
            *consumed = off;
            return 0;
        }
        case ST_SKIP: {
            size_t take = r->left < avail ? (size_t)r->left : avail;
            r->left -= take;
            off += take;
            if (r->left == 0)
                r->state = ST_HEADER;
            break;
        }
        case ST_WT_DATA:
            ev->type = H3_FEV_WT_DATA;
            ev->data = data + off;
            ev->len = avail;
            *consumed = len;
            return 0;
        default:
            return r->error;
        }
    }
    *consumed = off;
    ev->type = H3_FEV_NONE;
    return 0;
}

/* RFC 9114 §6.2.1, §7.1 */
int h3_frame_reader_finish(h3_frame_reader *r)
{
    if (r->state == ST_ERROR)
        return r->error;
    if (r->cfg.role == H3_ROLE_CONTROL)
        return fail(r, H3_WIRE_ERROR(H3_CLOSED_CRITICAL_STREAM));
    if (r->state == ST_WT_DATA)
        return 0;
    if (r->state != ST_HEADER || r->hdr_len != 0)
        return fail(r, H3_WIRE_ERROR(H3_FRAME_ERROR));
    return 0;
}
