/* QUIC transport parameters (RFC 9000 §18, RFC 9221, 9287, 9368): encode, decode, check. */
#include "quic/transport_params.h"

#include <stddef.h>
#include <string.h>

#include "base/varint.h"

#define TPE QUIC_ERR_TRANSPORT_PARAMETER

/* RFC 9000 §18.2 */
void quic_tp_defaults(quic_transport_params *tp)
{
    memset(tp, 0, sizeof(*tp));
    tp->max_udp_payload_size = QUIC_MAX_UDP_PAYLOAD;
    tp->ack_delay_exponent = 3;
    tp->max_ack_delay = 25;
    tp->active_connection_id_limit = 2;
}

/* Bit index for duplicate detection; -1 for ids we do not know. */
static int known_bit(uint64_t id)
{
    if (id <= QUIC_TP_VERSION_INFORMATION)
        return (int)id;
    if (id == QUIC_TP_MAX_DATAGRAM_FRAME_SIZE)
        return QUIC_TP_VERSION_INFORMATION + 1;
    if (id == QUIC_TP_GREASE_QUIC_BIT)
        return QUIC_TP_VERSION_INFORMATION + 2;
    if (id == QUIC_TP_RESET_STREAM_AT)
        return QUIC_TP_VERSION_INFORMATION + 3;
    if (id == QUIC_TP_RESET_STREAM_AT_DRAFT07)
        return QUIC_TP_VERSION_INFORMATION + 4;
    if (id == QUIC_TP_MIN_ACK_DELAY)
        return QUIC_TP_VERSION_INFORMATION + 5;
    return -1;
}

/* An integer parameter: one varint filling the whole value. */
static bool get_int(quince_reader *v, uint64_t *out)
{
    return quince_get_varint(v, out) && quince_reader_empty(v);
}

static bool get_cid_value(quince_reader *v, quic_cid_value *cid)
{
    size_t len = quince_reader_left(v);
    if (len > QUIC_MAX_CID_LEN)
        return false;
    cid->len = (uint8_t)len;
    return quince_get_copy(v, cid->bytes, len);
}

/* RFC 9000 §18.2 Figure 22 */
static bool get_preferred_address(quince_reader *v, quic_preferred_address *pa)
{
    uint8_t cid_len;
    if (!quince_get_copy(v, pa->ipv4, 4) || !quince_get_u16(v, &pa->ipv4_port) ||
        !quince_get_copy(v, pa->ipv6, 16) || !quince_get_u16(v, &pa->ipv6_port) ||
        !quince_get_u8(v, &cid_len))
        return false;
    /* A zero-length connection ID here is a TRANSPORT_PARAMETER_ERROR. */
    if (cid_len == 0 || cid_len > QUIC_MAX_CID_LEN)
        return false;
    pa->cid.len = cid_len;
    return quince_get_copy(v, pa->cid.bytes, cid_len) &&
           quince_get_copy(v, pa->reset_token, QUIC_STATELESS_RESET_TOKEN_LEN) &&
           quince_reader_empty(v);
}

/* RFC 9368 §3 */
static bool get_version_info(quince_reader *v, bool from_server, quic_transport_params *tp)
{
    size_t len = quince_reader_left(v);
    if (len < 4 || len % 4 != 0)
        return false;
    quince_get_u32(v, &tp->chosen_version);
    if (tp->chosen_version == 0)
        return false;
    bool chosen_listed = false;
    tp->available_count = 0;
    uint32_t ver;
    while (quince_get_u32(v, &ver)) {
        if (ver == 0)
            return false;
        if (ver == tp->chosen_version)
            chosen_listed = true;
        if (tp->available_count < QUIC_TP_MAX_AVAILABLE_VERSIONS)
            tp->available_versions[tp->available_count++] = ver;
    }
    /* A server checks that the client's Chosen Version is among its Available Versions. */
    return from_server || chosen_listed;
}

/*
 * The parameters that are one integer or an empty flag (RFC 9000 §18.2, RFC 9221 §3,
 * RFC 9287 §3, reliable-stream-reset-10 §3), in the order we send them: the id, where
 * the value lives in quic_transport_params, and (integers) the value an absent one
 * stands for. The limits on the integers are checked once, by tp_valid, for what we
 * decode and what we encode alike.
 */
enum { TP_INT, TP_FLAG };
typedef struct tp_simple {
    uint16_t id;
    uint8_t kind;
    uint16_t field;
    uint16_t dflt;
} tp_simple;

#define INT(id, member, dflt)                                                                      \
    {                                                                                              \
        id, TP_INT, offsetof(quic_transport_params, member), dflt                                  \
    }
#define FLAG(id, member)                                                                           \
    {                                                                                              \
        id, TP_FLAG, offsetof(quic_transport_params, member), 0                                    \
    }
static const tp_simple simple_params[] = {
    INT(QUIC_TP_MAX_IDLE_TIMEOUT, max_idle_timeout, 0),
    INT(QUIC_TP_MAX_UDP_PAYLOAD_SIZE, max_udp_payload_size, QUIC_MAX_UDP_PAYLOAD),
    INT(QUIC_TP_INITIAL_MAX_DATA, initial_max_data, 0),
    INT(QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL, initial_max_stream_data_bidi_local, 0),
    INT(QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE, initial_max_stream_data_bidi_remote, 0),
    INT(QUIC_TP_INITIAL_MAX_STREAM_DATA_UNI, initial_max_stream_data_uni, 0),
    INT(QUIC_TP_INITIAL_MAX_STREAMS_BIDI, initial_max_streams_bidi, 0),
    INT(QUIC_TP_INITIAL_MAX_STREAMS_UNI, initial_max_streams_uni, 0),
    INT(QUIC_TP_ACK_DELAY_EXPONENT, ack_delay_exponent, 3),
    INT(QUIC_TP_MAX_ACK_DELAY, max_ack_delay, 25),
    FLAG(QUIC_TP_DISABLE_ACTIVE_MIGRATION, disable_active_migration),
    INT(QUIC_TP_ACTIVE_CONNECTION_ID_LIMIT, active_connection_id_limit, 2),
    INT(QUIC_TP_MAX_DATAGRAM_FRAME_SIZE, max_datagram_frame_size, 0),
    FLAG(QUIC_TP_GREASE_QUIC_BIT, grease_quic_bit),
    FLAG(QUIC_TP_RESET_STREAM_AT, reset_stream_at),
};
#undef INT
#undef FLAG
#define N_SIMPLE (sizeof(simple_params) / sizeof(simple_params[0]))

static uint64_t *simple_int(quic_transport_params *tp, const tp_simple *d)
{
    return (uint64_t *)(void *)((uint8_t *)tp + d->field);
}

static bool *simple_flag(quic_transport_params *tp, const tp_simple *d)
{
    return (bool *)(void *)((uint8_t *)tp + d->field);
}

static uint64_t simple_int_value(const quic_transport_params *tp, const tp_simple *d)
{
    return *(const uint64_t *)(const void *)((const uint8_t *)tp + d->field);
}

static bool simple_flag_value(const quic_transport_params *tp, const tp_simple *d)
{
    return *(const bool *)(const void *)((const uint8_t *)tp + d->field);
}

static int decode_param(uint64_t id, quince_reader *v, bool from_server, quic_transport_params *tp)
{
    for (size_t i = 0; i < N_SIMPLE; i++) {
        const tp_simple *d = &simple_params[i];
        if (d->id != id)
            continue;
        if (d->kind == TP_INT)
            return get_int(v, simple_int(tp, d)) ? QUIC_OK : TPE;
        *simple_flag(tp, d) = true; /* an empty parameter */
        return quince_reader_empty(v) ? QUIC_OK : TPE;
    }
    switch (id) {
    case QUIC_TP_ORIGINAL_DESTINATION_CONNECTION_ID:
        tp->has_original_dcid = true;
        return get_cid_value(v, &tp->original_dcid) ? QUIC_OK : TPE;
    case QUIC_TP_INITIAL_SOURCE_CONNECTION_ID:
        tp->has_initial_scid = true;
        return get_cid_value(v, &tp->initial_scid) ? QUIC_OK : TPE;
    case QUIC_TP_RETRY_SOURCE_CONNECTION_ID:
        tp->has_retry_scid = true;
        return get_cid_value(v, &tp->retry_scid) ? QUIC_OK : TPE;
    case QUIC_TP_STATELESS_RESET_TOKEN:
        tp->has_stateless_reset_token = true;
        if (quince_reader_left(v) != QUIC_STATELESS_RESET_TOKEN_LEN)
            return TPE;
        quince_get_copy(v, tp->stateless_reset_token, QUIC_STATELESS_RESET_TOKEN_LEN);
        return QUIC_OK;
    case QUIC_TP_PREFERRED_ADDRESS:
        tp->has_preferred_address = true;
        return get_preferred_address(v, &tp->preferred_address) ? QUIC_OK : TPE;
    case QUIC_TP_VERSION_INFORMATION:
        tp->has_version_info = true;
        return get_version_info(v, from_server, tp) ? QUIC_OK : TPE;
    case QUIC_TP_RESET_STREAM_AT_DRAFT07: /* reliable-stream-reset-07 §3: empty */
        tp->reset_stream_at = true;
        return quince_reader_empty(v) ? QUIC_OK : TPE;
    case QUIC_TP_MIN_ACK_DELAY: /* draft-ietf-quic-ack-frequency-12 §3 */
        if (!get_int(v, &tp->min_ack_delay) || tp->min_ack_delay >= (UINT64_C(1) << 24))
            return TPE;
        tp->has_min_ack_delay = true;
        return QUIC_OK;
    default:
        return QUIC_OK; /* §18.1: unknown (and reserved) parameters are ignored */
    }
}

/* RFC 9000 §18.2: the limits on the values, for what we decode and what we encode. */
static bool tp_valid(const quic_transport_params *tp)
{
    const quic_preferred_address *pa = &tp->preferred_address;
    return tp->max_udp_payload_size >= QUIC_MIN_INITIAL_DATAGRAM && tp->ack_delay_exponent <= 20 &&
           tp->max_ack_delay < (1u << 14) && tp->active_connection_id_limit >= 2 &&
           tp->initial_max_streams_bidi <= QUIC_MAX_STREAMS_LIMIT &&
           tp->initial_max_streams_uni <= QUIC_MAX_STREAMS_LIMIT &&
           (!tp->has_preferred_address || (pa->cid.len >= 1 && pa->cid.len <= QUIC_MAX_CID_LEN)) &&
           (!tp->has_version_info ||
            (tp->chosen_version != 0 && tp->available_count <= QUIC_TP_MAX_AVAILABLE_VERSIONS));
}

/* RFC 9000 §7.4, §18 */
int quic_tp_decode(const uint8_t *data, size_t len, bool from_server, quic_transport_params *tp)
{
    quic_tp_defaults(tp);
    quince_reader r = quince_reader_init(data, len);
    uint32_t seen = 0;
    while (!quince_reader_empty(&r)) {
        uint64_t id, plen;
        quince_reader v;
        if (!quince_get_varint(&r, &id) || !quince_get_varint(&r, &plen) ||
            plen > quince_reader_left(&r) || !quince_get_sub(&r, (size_t)plen, &v))
            return TPE;
        int bit = known_bit(id);
        if (bit < 0)
            continue;
        /* §7.4: duplicates of a parameter we know are an error. Unknown ids are
         * not tracked: that would need unbounded memory. */
        if (seen & (1u << bit))
            return TPE;
        seen |= 1u << bit;
        /* §18.2: a client must not send server-only parameters. */
        if (!from_server &&
            (id == QUIC_TP_ORIGINAL_DESTINATION_CONNECTION_ID ||
             id == QUIC_TP_STATELESS_RESET_TOKEN || id == QUIC_TP_PREFERRED_ADDRESS ||
             id == QUIC_TP_RETRY_SOURCE_CONNECTION_ID))
            return TPE;
        int err = decode_param(id, &v, from_server, tp);
        if (err != QUIC_OK)
            return err;
    }
    /* draft-ietf-quic-ack-frequency-12 §3: min_ack_delay <= max_ack_delay. */
    if (!tp_valid(tp) || (tp->has_min_ack_delay && tp->min_ack_delay > tp->max_ack_delay * 1000))
        return TPE;
    return QUIC_OK;
}

static bool put_param_hdr(quince_writer *w, uint64_t id, size_t len)
{
    return quince_put_varint(w, id) && quince_put_varint(w, len);
}

static bool put_int(quince_writer *w, uint64_t id, uint64_t v, uint64_t dflt)
{
    if (v == dflt)
        return true;
    size_t l = quince_varint_len(v);
    return l != 0 && put_param_hdr(w, id, l) && quince_put_varint(w, v);
}

static bool put_cid(quince_writer *w, uint64_t id, bool has, const quic_cid_value *c)
{
    if (!has)
        return true;
    if (c->len > QUIC_MAX_CID_LEN)
        return false;
    return put_param_hdr(w, id, c->len) && quince_put_bytes(w, c->bytes, c->len);
}

static bool put_empty(quince_writer *w, uint64_t id, bool on)
{
    return !on || put_param_hdr(w, id, 0);
}

/* RFC 9000 §18.1: reserved ids 31 * N + 27 exercise the peer's skipping. */
static bool put_grease(quince_writer *w, uint32_t grease_id)
{
    uint8_t val[8];
    size_t len = grease_id % sizeof(val);
    for (size_t i = 0; i < len; i++)
        val[i] = (uint8_t)(grease_id >> (i % 4 * 8));
    return put_param_hdr(w, 31 * (uint64_t)grease_id + 27, len) && quince_put_bytes(w, val, len);
}

/* RFC 9000 §18 */
bool quic_tp_encode(quince_writer *w, const quic_transport_params *tp, bool is_server,
                    uint32_t grease_id)
{
    if (!tp_valid(tp)) {
        w->overflow = true;
        return false;
    }
    bool ok = grease_id == 0 || put_grease(w, grease_id);
    if (is_server) {
        ok = ok && put_cid(w, QUIC_TP_ORIGINAL_DESTINATION_CONNECTION_ID, tp->has_original_dcid,
                           &tp->original_dcid);
        if (ok && tp->has_stateless_reset_token)
            ok = put_param_hdr(w, QUIC_TP_STATELESS_RESET_TOKEN, QUIC_STATELESS_RESET_TOKEN_LEN) &&
                 quince_put_bytes(w, tp->stateless_reset_token, QUIC_STATELESS_RESET_TOKEN_LEN);
        if (ok && tp->has_preferred_address) {
            const quic_preferred_address *pa = &tp->preferred_address;
            ok = put_param_hdr(w, QUIC_TP_PREFERRED_ADDRESS, 41 + pa->cid.len) &&
                 quince_put_bytes(w, pa->ipv4, 4) && quince_put_u16(w, pa->ipv4_port) &&
                 quince_put_bytes(w, pa->ipv6, 16) && quince_put_u16(w, pa->ipv6_port) &&
                 quince_put_u8(w, pa->cid.len) && quince_put_bytes(w, pa->cid.bytes, pa->cid.len) &&
                 quince_put_bytes(w, pa->reset_token, QUIC_STATELESS_RESET_TOKEN_LEN);
        }
        ok = ok &&
             put_cid(w, QUIC_TP_RETRY_SOURCE_CONNECTION_ID, tp->has_retry_scid, &tp->retry_scid);
    }
    ok = ok &&
         put_cid(w, QUIC_TP_INITIAL_SOURCE_CONNECTION_ID, tp->has_initial_scid, &tp->initial_scid);
    for (size_t i = 0; ok && i < N_SIMPLE; i++) {
        const tp_simple *d = &simple_params[i];
        if (d->kind == TP_INT)
            ok = put_int(w, d->id, simple_int_value(tp, d), d->dflt);
        else
            ok = put_empty(w, d->id, simple_flag_value(tp, d));
    }
    ok = ok && put_empty(w, QUIC_TP_RESET_STREAM_AT_DRAFT07, tp->reset_stream_at) &&
         (!tp->has_min_ack_delay ||
          put_int(w, QUIC_TP_MIN_ACK_DELAY, tp->min_ack_delay, UINT64_MAX));
    if (ok && tp->has_version_info) {
        ok = put_param_hdr(w, QUIC_TP_VERSION_INFORMATION, 4 + 4 * tp->available_count) &&
             quince_put_u32(w, tp->chosen_version);
        for (size_t i = 0; ok && i < tp->available_count; i++)
            ok = quince_put_u32(w, tp->available_versions[i]);
    }
    if (!ok)
        w->overflow = true;
    return ok;
}
