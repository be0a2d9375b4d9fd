/* QUIC frames: decoding and encoding of every RFC 9000 §19 frame and DATAGRAM (RFC 9221). */
#include "quic/frame.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "base/varint.h"

#define FE QUIC_ERR_FRAME_ENCODING

bool quic_frame_type_known(uint64_t type)
{
    return type <= QUIC_FT_HANDSHAKE_DONE || type == QUIC_FT_DATAGRAM ||
           type == QUIC_FT_DATAGRAM_LEN || type == QUIC_FT_RESET_STREAM_AT ||
           type == QUIC_FT_IMMEDIATE_ACK || type == QUIC_FT_ACK_FREQUENCY;
}

/* RFC 9000 §12.4 Table 3, RFC 9221 §4 (DATAGRAM: 0-RTT and 1-RTT only). */
bool quic_frame_allowed(uint64_t type, quic_pkt_type pkt)
{
    switch (pkt) {
    case QUIC_PKT_INITIAL:
    case QUIC_PKT_HANDSHAKE:
        return type == QUIC_FT_PADDING || type == QUIC_FT_PING || type == QUIC_FT_ACK ||
               type == QUIC_FT_ACK_ECN || type == QUIC_FT_CRYPTO ||
               type == QUIC_FT_CONNECTION_CLOSE;
    case QUIC_PKT_0RTT:
        return type != QUIC_FT_ACK && type != QUIC_FT_ACK_ECN && type != QUIC_FT_CRYPTO &&
               type != QUIC_FT_HANDSHAKE_DONE && type != QUIC_FT_NEW_TOKEN &&
               type != QUIC_FT_PATH_RESPONSE && type != QUIC_FT_RETIRE_CONNECTION_ID;
    case QUIC_PKT_1RTT:
        return true;
    default:
        return false; /* Retry and Version Negotiation packets carry no frames */
    }
}

/* RFC 9002 §2 (ack-eliciting) */
bool quic_frame_is_ack_eliciting(uint64_t type)
{
    return type != QUIC_FT_PADDING && type != QUIC_FT_ACK && type != QUIC_FT_ACK_ECN &&
           type != QUIC_FT_CONNECTION_CLOSE && type != QUIC_FT_CONNECTION_CLOSE_APP;
}

/* RFC 9002 §2 (in flight): PADDING counts, ACK and CONNECTION_CLOSE do not. */
bool quic_frame_counts_in_flight(uint64_t type)
{
    return type != QUIC_FT_ACK && type != QUIC_FT_ACK_ECN && type != QUIC_FT_CONNECTION_CLOSE &&
           type != QUIC_FT_CONNECTION_CLOSE_APP;
}

/* RFC 9000 §19.3.1: walk the ranges once, checking none goes below zero. */
static bool ack_ranges_valid(quince_reader r, uint64_t count, uint64_t smallest)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t gap, len;
        if (!quince_get_varint(&r, &gap) || !quince_get_varint(&r, &len))
            return false;
        /* largest = smallest - gap - 2; the range is [largest - len, largest]. */
        if (smallest < 2 || gap > smallest - 2)
            return false;
        uint64_t largest = smallest - gap - 2;
        if (len > largest)
            return false;
        smallest = largest - len;
    }
    return true;
}

/* RFC 9000 §19.3 */
static int decode_ack(quince_reader *r, quic_frame *f)
{
    quic_frame_ack *a = &f->u.ack;
    a->ecn = f->type == QUIC_FT_ACK_ECN;
    if (!quince_get_varint(r, &a->largest) || !quince_get_varint(r, &a->ack_delay) ||
        !quince_get_varint(r, &a->range_count) || !quince_get_varint(r, &a->first_range))
        return FE;
    if (a->first_range > a->largest)
        return FE;
    const uint8_t *start = r->p;
    /* Each pair takes at least two bytes: reject impossible counts before walking. */
    if (a->range_count > quince_reader_left(r) / 2)
        return FE;
    for (uint64_t i = 0; i < a->range_count; i++) {
        uint64_t v;
        if (!quince_get_varint(r, &v) || !quince_get_varint(r, &v))
            return FE;
    }
    a->ranges = start;
    a->ranges_len = (size_t)(r->p - start);
    if (!ack_ranges_valid(quince_reader_init(start, a->ranges_len), a->range_count,
                          a->largest - a->first_range))
        return FE;
    if (a->ecn) {
        if (!quince_get_varint(r, &a->ect0) || !quince_get_varint(r, &a->ect1) ||
            !quince_get_varint(r, &a->ce))
            return FE;
    } else {
        a->ect0 = a->ect1 = a->ce = 0;
    }
    return QUIC_OK;
}

void quic_ack_iter_init(quic_ack_iter *it, const quic_frame_ack *ack)
{
    it->r = quince_reader_init(ack->ranges, ack->ranges_len);
    it->remaining = ack->range_count;
    it->next_largest = ack->largest;
    it->first_len = ack->first_range;
    it->first = true;
    it->done = false;
}

bool quic_ack_iter_next(quic_ack_iter *it, quic_ack_range *out)
{
    if (it->done)
        return false;
    if (it->first) {
        it->first = false;
        out->largest = it->next_largest;
        out->smallest = it->next_largest - it->first_len;
        it->next_largest = out->smallest;
        return true;
    }
    uint64_t gap, len;
    if (it->remaining == 0 || !quince_get_varint(&it->r, &gap) ||
        !quince_get_varint(&it->r, &len) || it->next_largest < gap + 2 ||
        it->next_largest - gap - 2 < len) {
        it->done = true; /* only reachable for frames that decode rejected */
        return false;
    }
    it->remaining--;
    out->largest = it->next_largest - gap - 2;
    out->smallest = out->largest - len;
    it->next_largest = out->smallest;
    return true;
}

static bool get_bytes_v(quince_reader *r, uint64_t len, const uint8_t **out)
{
    return len <= quince_reader_left(r) && quince_get_bytes(r, (size_t)len, out);
}

/*
 * The frames made of varint fields only, in wire order (RFC 9000 §19.2, §19.4, §19.5,
 * §19.9-§19.14, §19.16, §19.20; draft-ietf-quic-reliable-stream-reset-10 §4;
 * draft-ietf-quic-ack-frequency-12 §4, §5): each field is named by its offset
 * in quic_frame, so that one loop decodes and one loop encodes all of them.
 */
typedef struct varint_frame {
    uint8_t type;
    uint8_t n_fields;
    uint8_t field[4];
} varint_frame;

#define FIELD(member) ((uint8_t)offsetof(quic_frame, u.member))
static const varint_frame varint_frames[] = {
    {QUIC_FT_PING, 0, {0}},
    {QUIC_FT_HANDSHAKE_DONE, 0, {0}},
    {QUIC_FT_IMMEDIATE_ACK, 0, {0}},
    {QUIC_FT_RESET_STREAM,
     3,
     {FIELD(reset_stream.stream_id), FIELD(reset_stream.app_error),
      FIELD(reset_stream.final_size)}},
    {QUIC_FT_RESET_STREAM_AT,
     4,
     {FIELD(reset_stream_at.stream_id), FIELD(reset_stream_at.app_error),
      FIELD(reset_stream_at.final_size), FIELD(reset_stream_at.reliable_size)}},
    {QUIC_FT_STOP_SENDING, 2, {FIELD(stop_sending.stream_id), FIELD(stop_sending.app_error)}},
    {QUIC_FT_MAX_DATA, 1, {FIELD(max_data.max)}},
    {QUIC_FT_MAX_STREAM_DATA, 2, {FIELD(max_stream_data.stream_id), FIELD(max_stream_data.max)}},
    {QUIC_FT_MAX_STREAMS_BIDI, 1, {FIELD(max_streams.max)}},
    {QUIC_FT_MAX_STREAMS_UNI, 1, {FIELD(max_streams.max)}},
    {QUIC_FT_DATA_BLOCKED, 1, {FIELD(data_blocked.limit)}},
    {QUIC_FT_STREAM_DATA_BLOCKED,
     2,
     {FIELD(stream_data_blocked.stream_id), FIELD(stream_data_blocked.limit)}},
    {QUIC_FT_STREAMS_BLOCKED_BIDI, 1, {FIELD(streams_blocked.limit)}},
    {QUIC_FT_STREAMS_BLOCKED_UNI, 1, {FIELD(streams_blocked.limit)}},
    {QUIC_FT_RETIRE_CONNECTION_ID, 1, {FIELD(retire_cid.seq)}},
    {QUIC_FT_ACK_FREQUENCY,
     4,
     {FIELD(ack_frequency.seq), FIELD(ack_frequency.threshold),
      FIELD(ack_frequency.max_ack_delay_us), FIELD(ack_frequency.reordering)}},
};
#undef FIELD
_Static_assert(sizeof(quic_frame) <= UINT8_MAX, "a field's offset fits in a byte");

static const varint_frame *varint_frame_of(uint64_t type)
{
    for (size_t i = 0; i < sizeof(varint_frames) / sizeof(varint_frames[0]); i++)
        if (varint_frames[i].type == type)
            return &varint_frames[i];
    return NULL;
}

static uint64_t *varint_field(quic_frame *f, const varint_frame *vf, size_t i)
{
    return (uint64_t *)(void *)((uint8_t *)f + vf->field[i]);
}

static uint64_t varint_value(const quic_frame *f, const varint_frame *vf, size_t i)
{
    return *(const uint64_t *)(const void *)((const uint8_t *)f + vf->field[i]);
}

/* The limits on a varint frame's values, for decoding and encoding alike. */
static bool varint_frame_valid(const quic_frame *f)
{
    switch (f->type) {
    case QUIC_FT_MAX_STREAMS_BIDI: /* §19.11 */
    case QUIC_FT_MAX_STREAMS_UNI:
        return f->u.max_streams.max <= QUIC_MAX_STREAMS_LIMIT;
    case QUIC_FT_STREAMS_BLOCKED_BIDI: /* §19.14: FRAME_ENCODING_ERROR chosen over STREAM_LIMIT */
    case QUIC_FT_STREAMS_BLOCKED_UNI:
        return f->u.streams_blocked.limit <= QUIC_MAX_STREAMS_LIMIT;
    case QUIC_FT_RESET_STREAM_AT:
        /* "If the Reliable Size is larger than the Final Size ... FRAME_ENCODING_ERROR." */
        return f->u.reset_stream_at.reliable_size <= f->u.reset_stream_at.final_size;
    default:
        return true;
    }
}

/* RFC 9000 §19 */
static int decode_body(quince_reader *r, quic_frame *f)
{
    uint64_t t = f->type;
    const varint_frame *vf = varint_frame_of(t);
    if (vf != NULL) {
        for (size_t i = 0; i < vf->n_fields; i++)
            if (!quince_get_varint(r, varint_field(f, vf, i)))
                return FE;
        return varint_frame_valid(f) ? QUIC_OK : FE;
    }
    switch (t) {
    case QUIC_FT_ACK:
    case QUIC_FT_ACK_ECN:
        return decode_ack(r, f);
    case QUIC_FT_CRYPTO: /* §19.6 */
        if (!quince_get_varint(r, &f->u.crypto.offset) ||
            !quince_get_varint(r, &f->u.crypto.length) ||
            !get_bytes_v(r, f->u.crypto.length, &f->u.crypto.data))
            return FE;
        if (f->u.crypto.length > QUINCE_VARINT_MAX - f->u.crypto.offset)
            return FE;
        return QUIC_OK;
    case QUIC_FT_NEW_TOKEN: /* §19.7: an empty token is a FRAME_ENCODING_ERROR */
        if (!quince_get_varint(r, &f->u.new_token.length) || f->u.new_token.length == 0 ||
            !get_bytes_v(r, f->u.new_token.length, &f->u.new_token.token))
            return FE;
        return QUIC_OK;
    case QUIC_FT_NEW_CONNECTION_ID: { /* §19.15 */
        uint8_t len;
        if (!quince_get_varint(r, &f->u.new_cid.seq) ||
            !quince_get_varint(r, &f->u.new_cid.retire_prior_to) || !quince_get_u8(r, &len))
            return FE;
        if (len < 1 || len > QUIC_MAX_CID_LEN || f->u.new_cid.retire_prior_to > f->u.new_cid.seq)
            return FE;
        f->u.new_cid.cid_len = len;
        if (!quince_get_bytes(r, len, &f->u.new_cid.cid) ||
            !quince_get_bytes(r, QUIC_STATELESS_RESET_TOKEN_LEN, &f->u.new_cid.reset_token))
            return FE;
        return QUIC_OK;
    }
    case QUIC_FT_PATH_CHALLENGE: /* §19.17, §19.18 */
    case QUIC_FT_PATH_RESPONSE:
        return quince_get_bytes(r, QUIC_PATH_CHALLENGE_LEN, &f->u.path.data) ? QUIC_OK : FE;
    case QUIC_FT_CONNECTION_CLOSE: /* §19.19 */
    case QUIC_FT_CONNECTION_CLOSE_APP:
        if (!quince_get_varint(r, &f->u.close.error_code))
            return FE;
        f->u.close.frame_type = 0;
        if (t == QUIC_FT_CONNECTION_CLOSE && !quince_get_varint(r, &f->u.close.frame_type))
            return FE;
        if (!quince_get_varint(r, &f->u.close.reason_len) ||
            !get_bytes_v(r, f->u.close.reason_len, &f->u.close.reason))
            return FE;
        return QUIC_OK;
    case QUIC_FT_DATAGRAM: /* RFC 9221 §4: no Length, data runs to the end of the packet */
        f->u.datagram.length = quince_reader_left(r);
        return get_bytes_v(r, f->u.datagram.length, &f->u.datagram.data) ? QUIC_OK : FE;
    case QUIC_FT_DATAGRAM_LEN:
        if (!quince_get_varint(r, &f->u.datagram.length) ||
            !get_bytes_v(r, f->u.datagram.length, &f->u.datagram.data))
            return FE;
        return QUIC_OK;
    default:
        break;
    }
    if (t >= QUIC_FT_STREAM && t <= (QUIC_FT_STREAM | 0x07)) { /* §19.8 */
        f->u.stream.offset = 0;
        f->u.stream.fin = (t & QUIC_STREAM_FLAG_FIN) != 0;
        if (!quince_get_varint(r, &f->u.stream.stream_id))
            return FE;
        if ((t & QUIC_STREAM_FLAG_OFF) && !quince_get_varint(r, &f->u.stream.offset))
            return FE;
        if (t & QUIC_STREAM_FLAG_LEN) {
            if (!quince_get_varint(r, &f->u.stream.length))
                return FE;
        } else {
            f->u.stream.length = quince_reader_left(r);
        }
        if (!get_bytes_v(r, f->u.stream.length, &f->u.stream.data))
            return FE;
        /* §19.8: the largest offset cannot exceed 2^62-1. */
        if (f->u.stream.length > QUINCE_VARINT_MAX - f->u.stream.offset)
            return FE;
        return QUIC_OK;
    }
    return FE;
}

/* RFC 9000 §12.4 */
int quic_frame_decode(const uint8_t *data, size_t len, quic_pkt_type pkt, quic_frame *f)
{
    if (len == 0 || len > INT_MAX)
        return QUIC_ERR_ARGUMENT;
    memset(f, 0, sizeof(*f));
    quince_reader r = quince_reader_init(data, len);
    if (!quince_get_varint(&r, &f->type))
        return FE;
    /* §12.4: the frame type must use the shortest encoding. */
    if ((size_t)(r.p - data) != quince_varint_len(f->type))
        return QUIC_ERR_PROTOCOL_VIOLATION;
    if (!quic_frame_type_known(f->type))
        return FE;
    if (!quic_frame_allowed(f->type, pkt))
        return QUIC_ERR_PROTOCOL_VIOLATION;
    if (f->type == QUIC_FT_PADDING) {
        /* §19.1: take the whole run at once; padding is often most of a packet. */
        while (!quince_reader_empty(&r) && r.p[0] == 0)
            r.p++;
        f->u.padding.length = (size_t)(r.p - data);
        return (int)f->u.padding.length;
    }
    int err = decode_body(&r, f);
    if (err != QUIC_OK)
        return err;
    return (int)(r.p - data);
}

static bool put_data(quince_writer *w, const uint8_t *data, uint64_t len)
{
    if (len > SIZE_MAX || (len > 0 && data == NULL)) {
        w->overflow = true;
        return false;
    }
    return quince_put_bytes(w, data, (size_t)len);
}

static bool fail(quince_writer *w)
{
    w->overflow = true;
    return false;
}

/* RFC 9000 §19.8: type carries the OFF and LEN bits to write (OFF is added when offset is
 * not zero) and FIN. */
static bool put_stream(quince_writer *w, uint64_t type, uint64_t stream_id, uint64_t offset,
                       const uint8_t *data, uint64_t len)
{
    if (len > QUINCE_VARINT_MAX - offset)
        return fail(w);
    if (offset != 0)
        type |= QUIC_STREAM_FLAG_OFF;
    bool ok = quince_put_varint(w, type) && quince_put_varint(w, stream_id);
    if (ok && (type & QUIC_STREAM_FLAG_OFF))
        ok = quince_put_varint(w, offset);
    if (ok && (type & QUIC_STREAM_FLAG_LEN))
        ok = quince_put_varint(w, len);
    return ok && put_data(w, data, len);
}

/* RFC 9000 §19.6 */
static bool put_crypto(quince_writer *w, uint64_t offset, const uint8_t *data, uint64_t len)
{
    if (len > QUINCE_VARINT_MAX - offset)
        return fail(w);
    return quince_put_varint(w, QUIC_FT_CRYPTO) && quince_put_varint(w, offset) &&
           quince_put_varint(w, len) && put_data(w, data, len);
}

static bool encode_ack_frame(quince_writer *w, const quic_frame_ack *a, uint64_t type)
{
    quic_ack_iter it;
    quic_ack_range rg;
    quic_frame_ack tmp = *a;
    quic_ack_iter_init(&it, &tmp);
    if (!quic_ack_iter_next(&it, &rg))
        return fail(w);
    bool ok = quince_put_varint(w, type) && quince_put_varint(w, rg.largest) &&
              quince_put_varint(w, a->ack_delay) && quince_put_varint(w, a->range_count) &&
              quince_put_varint(w, rg.largest - rg.smallest);
    uint64_t prev_smallest = rg.smallest;
    for (uint64_t i = 0; ok && i < a->range_count; i++) {
        if (!quic_ack_iter_next(&it, &rg))
            return fail(w);
        ok = quince_put_varint(w, prev_smallest - rg.largest - 2) &&
             quince_put_varint(w, rg.largest - rg.smallest);
        prev_smallest = rg.smallest;
    }
    if (ok && type == QUIC_FT_ACK_ECN)
        ok = quince_put_varint(w, a->ect0) && quince_put_varint(w, a->ect1) &&
             quince_put_varint(w, a->ce);
    return ok;
}

/* RFC 9000 §19 */
bool quic_frame_encode(quince_writer *w, const quic_frame *f)
{
    uint64_t t = f->type;
    const varint_frame *vf = varint_frame_of(t);
    if (vf != NULL) {
        if (!varint_frame_valid(f))
            return fail(w);
        bool ok = quince_put_varint(w, t);
        for (size_t i = 0; ok && i < vf->n_fields; i++)
            ok = quince_put_varint(w, varint_value(f, vf, i));
        return ok;
    }
    switch (t) {
    case QUIC_FT_PADDING: {
        uint8_t *at = quince_put_reserve(w, f->u.padding.length);
        if (at == NULL)
            return false;
        memset(at, 0, f->u.padding.length);
        return true;
    }
    case QUIC_FT_ACK:
    case QUIC_FT_ACK_ECN:
        return encode_ack_frame(w, &f->u.ack, t);
    case QUIC_FT_CRYPTO:
        return put_crypto(w, f->u.crypto.offset, f->u.crypto.data, f->u.crypto.length);
    case QUIC_FT_NEW_TOKEN:
        if (f->u.new_token.length == 0)
            return fail(w);
        return quince_put_varint(w, t) && quince_put_varint(w, f->u.new_token.length) &&
               put_data(w, f->u.new_token.token, f->u.new_token.length);
    case QUIC_FT_NEW_CONNECTION_ID:
        if (f->u.new_cid.cid_len < 1 || f->u.new_cid.cid_len > QUIC_MAX_CID_LEN ||
            f->u.new_cid.retire_prior_to > f->u.new_cid.seq || f->u.new_cid.cid == NULL ||
            f->u.new_cid.reset_token == NULL)
            return fail(w);
        return quince_put_varint(w, t) && quince_put_varint(w, f->u.new_cid.seq) &&
               quince_put_varint(w, f->u.new_cid.retire_prior_to) &&
               quince_put_u8(w, f->u.new_cid.cid_len) &&
               quince_put_bytes(w, f->u.new_cid.cid, f->u.new_cid.cid_len) &&
               quince_put_bytes(w, f->u.new_cid.reset_token, QUIC_STATELESS_RESET_TOKEN_LEN);
    case QUIC_FT_PATH_CHALLENGE:
    case QUIC_FT_PATH_RESPONSE:
        if (f->u.path.data == NULL)
            return fail(w);
        return quince_put_varint(w, t) &&
               quince_put_bytes(w, f->u.path.data, QUIC_PATH_CHALLENGE_LEN);
    case QUIC_FT_CONNECTION_CLOSE:
    case QUIC_FT_CONNECTION_CLOSE_APP:
        if (!quince_put_varint(w, t) || !quince_put_varint(w, f->u.close.error_code))
            return false;
        if (t == QUIC_FT_CONNECTION_CLOSE && !quince_put_varint(w, f->u.close.frame_type))
            return false;
        return quince_put_varint(w, f->u.close.reason_len) &&
               put_data(w, f->u.close.reason, f->u.close.reason_len);
    case QUIC_FT_DATAGRAM:
        return quince_put_varint(w, t) && put_data(w, f->u.datagram.data, f->u.datagram.length);
    case QUIC_FT_DATAGRAM_LEN:
        return quince_put_varint(w, t) && quince_put_varint(w, f->u.datagram.length) &&
               put_data(w, f->u.datagram.data, f->u.datagram.length);
    default:
        break;
    }
    if (t >= QUIC_FT_STREAM && t <= (QUIC_FT_STREAM | 0x07))
        return put_stream(w,
                          QUIC_FT_STREAM | (t & (QUIC_STREAM_FLAG_OFF | QUIC_STREAM_FLAG_LEN)) |
                              (f->u.stream.fin ? QUIC_STREAM_FLAG_FIN : 0),
                          f->u.stream.stream_id, f->u.stream.offset, f->u.stream.data,
                          f->u.stream.length);
    return fail(w);
}

/* RFC 9000 §19.3, §13.2.3: largest range first, as many as fit. */
size_t quic_frame_encode_ack(quince_writer *w, const quic_ranges *rs, uint64_t ack_delay,
                             const quic_ecn_counts *ecn, size_t max_ranges)
{
    size_t n = quic_ranges_count(rs);
    if (n == 0 || w->overflow)
        return 0;
    if (max_ranges != 0 && n > max_ranges)
        n = max_ranges;
    quic_range top = quic_ranges_from_largest(rs, 0);
    uint64_t largest = top.end - 1;
    /* Fixed part: find how many ranges fit, then write once. */
    size_t ecn_len = ecn ? quince_varint_len(ecn->ect0) + quince_varint_len(ecn->ect1) +
                               quince_varint_len(ecn->ce)
                         : 0;
    size_t left = quince_writer_left(w);
    size_t fixed = 1 + quince_varint_len(largest) + quince_varint_len(ack_delay) +
                   quince_varint_len(top.end - 1 - top.start) + ecn_len;
    if (quince_varint_len(ack_delay) == 0 || fixed + 1 > left)
        return 0;
    size_t body = 0, count = 1;
    uint64_t prev_smallest = top.start;
    for (size_t i = 1; i < n; i++) {
        quic_range rg = quic_ranges_from_largest(rs, i);
        size_t add = quince_varint_len(prev_smallest - rg.end - 1) +
                     quince_varint_len(rg.end - 1 - rg.start);
        if (fixed + quince_varint_len(count) + body + add > left)
            break;
        body += add;
        count++;
        prev_smallest = rg.start;
    }
    bool ok = quince_put_varint(w, ecn ? QUIC_FT_ACK_ECN : QUIC_FT_ACK) &&
              quince_put_varint(w, largest) && quince_put_varint(w, ack_delay) &&
              quince_put_varint(w, count - 1) && quince_put_varint(w, top.end - 1 - top.start);
    prev_smallest = top.start;
    for (size_t i = 1; ok && i < count; i++) {
        quic_range rg = quic_ranges_from_largest(rs, i);
        ok = quince_put_varint(w, prev_smallest - rg.end - 1) &&
             quince_put_varint(w, rg.end - 1 - rg.start);
        prev_smallest = rg.start;
    }
    if (ok && ecn)
        ok = quince_put_varint(w, ecn->ect0) && quince_put_varint(w, ecn->ect1) &&
             quince_put_varint(w, ecn->ce);
    return ok ? count : 0;
}

/* RFC 9000 §19.8. Written directly rather than through quic_frame_encode, so that an
 * image that sends only STREAM and CRYPTO frames this way links no other encoder. */
bool quic_frame_encode_stream(quince_writer *w, uint64_t stream_id, uint64_t offset,
                              const uint8_t *data, size_t len, bool fin, bool with_len)
{
    return put_stream(w,
                      QUIC_FT_STREAM | (with_len ? QUIC_STREAM_FLAG_LEN : 0) |
                          (fin ? QUIC_STREAM_FLAG_FIN : 0),
                      stream_id, offset, data, len);
}

/* RFC 9000 §19.6 */
bool quic_frame_encode_crypto(quince_writer *w, uint64_t offset, const uint8_t *data, size_t len)
{
    return put_crypto(w, offset, data, len);
}

size_t quic_frame_stream_header_len(uint64_t stream_id, uint64_t offset, size_t len, bool with_len)
{
    return 1 + quince_varint_len(stream_id) + (offset ? quince_varint_len(offset) : 0) +
           (with_len ? quince_varint_len(len) : 0);
}

size_t quic_frame_crypto_header_len(uint64_t offset, size_t len)
{
    return 1 + quince_varint_len(offset) + quince_varint_len(len);
}

/* Largest n <= want with hdr + len(Length field for n) + n <= space. */
static size_t fit_with_len(size_t space, size_t hdr, size_t want)
{
    static const size_t lens[] = {1, 2, 4, 8};
    static const uint64_t lim[] = {63, 16383, 1073741823, QUINCE_VARINT_MAX};
    size_t best = 0;
    for (size_t i = 0; i < 4; i++) {
        if (hdr + lens[i] > space)
            break;
        size_t n = space - hdr - lens[i];
        if (n > want)
            n = want;
        if (n > lim[i])
            n = (size_t)lim[i];
        if (n > best)
            best = n;
    }
    return best;
}

size_t quic_frame_stream_fit(size_t space, uint64_t stream_id, uint64_t offset, size_t want,
                             bool with_len)
{
    size_t hdr = quic_frame_stream_header_len(stream_id, offset, 0, false);
    if (want > QUINCE_VARINT_MAX - offset)
        want = (size_t)(QUINCE_VARINT_MAX - offset);
    if (with_len)
        return fit_with_len(space, hdr, want);
    if (hdr >= space)
        return 0;
    return space - hdr < want ? space - hdr : want;
}

size_t quic_frame_crypto_fit(size_t space, uint64_t offset, size_t want)
{
    size_t hdr = 1 + quince_varint_len(offset);
    if (want > QUINCE_VARINT_MAX - offset)
        want = (size_t)(QUINCE_VARINT_MAX - offset);
    return fit_with_len(space, hdr, want);
}
