/* QUIC packet headers (RFC 9000 §17, RFC 8999, RFC 9369 §3.2) up to the packet number. */
#include "quic/packet.h"

#include <limits.h>
#include <string.h>

#include "base/varint.h"

/* RFC 9000 §17.2, RFC 9369 §3.2 */
int quic_pkt_long_type_bits(uint32_t version, quic_pkt_type type)
{
    static const int v1[] = {0, 1, 2, 3}; /* Initial, 0-RTT, Handshake, Retry */
    static const int v2[] = {1, 2, 3, 0};
    if ((unsigned)type > QUIC_PKT_RETRY)
        return -1;
    if (version == QUIC_VERSION_1)
        return v1[type];
    if (QUINCE_QUIC_V2 && version == QUIC_VERSION_2)
        return v2[type];
    return -1;
}

static quic_pkt_type long_type_from_bits(uint32_t version, unsigned bits)
{
    static const quic_pkt_type v1[] = {QUIC_PKT_INITIAL, QUIC_PKT_0RTT, QUIC_PKT_HANDSHAKE,
                                       QUIC_PKT_RETRY};
    static const quic_pkt_type v2[] = {QUIC_PKT_RETRY, QUIC_PKT_INITIAL, QUIC_PKT_0RTT,
                                       QUIC_PKT_HANDSHAKE};
    return QUINCE_QUIC_V2 && version == QUIC_VERSION_2 ? v2[bits & 3] : v1[bits & 3];
}

static bool get_cid(quince_reader *r, size_t max, uint8_t *len, const uint8_t **cid)
{
    return quince_get_u8(r, len) && *len <= max && quince_get_bytes(r, *len, cid);
}

/* RFC 9000 §17.2.1 */
static int parse_vn(quince_reader *r, quic_pkt_header *h)
{
    if (!get_cid(r, QUIC_INVARIANT_MAX_CID_LEN, &h->dcid_len, &h->dcid) ||
        !get_cid(r, QUIC_INVARIANT_MAX_CID_LEN, &h->scid_len, &h->scid))
        return QUIC_ERR_DROP;
    size_t left = quince_reader_left(r);
    if (left == 0 || left % 4 != 0)
        return QUIC_ERR_DROP;
    h->versions = r->p;
    h->version_count = left / 4;
    return QUIC_OK;
}

/* RFC 9000 §17.2 */
static int parse_long(quince_reader *r, const quic_pkt_parse_opts *opts, const uint8_t *start,
                      quic_pkt_header *h)
{
    if (!quince_get_u32(r, &h->version))
        return QUIC_ERR_DROP;
    if (h->version == QUIC_VERSION_NEGOTIATION) {
        h->type = QUIC_PKT_VERSION_NEGOTIATION;
        return parse_vn(r, h);
    }
    if (!quic_version_is_supported(h->version)) {
        /* RFC 8999 §5.1: only the invariant fields mean anything. */
        h->type = QUIC_PKT_UNKNOWN_VERSION;
        if (!get_cid(r, QUIC_INVARIANT_MAX_CID_LEN, &h->dcid_len, &h->dcid) ||
            !get_cid(r, QUIC_INVARIANT_MAX_CID_LEN, &h->scid_len, &h->scid))
            return QUIC_ERR_DROP;
        return QUIC_OK;
    }
    /* RFC 9000 §17.2: a fixed bit of 0 is dropped unless grease_quic_bit (RFC 9287 §3). */
    if (!(h->first & QUIC_HDR_FIXED_BIT) && !opts->allow_fixed_bit_zero)
        return QUIC_ERR_DROP;
    /* RFC 9000 §17.2: CIDs above 20 bytes in v1 are dropped. */
    if (!get_cid(r, QUIC_MAX_CID_LEN, &h->dcid_len, &h->dcid) ||
        !get_cid(r, QUIC_MAX_CID_LEN, &h->scid_len, &h->scid))
        return QUIC_ERR_DROP;
    h->type = long_type_from_bits(h->version, (h->first >> 4) & 3);
    if (h->type == QUIC_PKT_RETRY) { /* §17.2.5 */
        size_t left = quince_reader_left(r);
        if (left <= QUIC_RETRY_TAG_LEN)
            return QUIC_ERR_DROP; /* §17.2.5.2: an empty Retry Token is discarded */
        h->token_len = left - QUIC_RETRY_TAG_LEN;
        quince_get_bytes(r, h->token_len, &h->token);
        quince_get_bytes(r, QUIC_RETRY_TAG_LEN, &h->retry_tag);
        return QUIC_OK;
    }
    if (h->type == QUIC_PKT_INITIAL) { /* §17.2.2 */
        uint64_t tl;
        if (!quince_get_varint(r, &tl) || tl > quince_reader_left(r))
            return QUIC_ERR_DROP;
        h->token_len = (size_t)tl;
        if (tl > 0)
            quince_get_bytes(r, h->token_len, &h->token);
    }
    if (!quince_get_varint(r, &h->length) || h->length > quince_reader_left(r))
        return QUIC_ERR_DROP;
    h->pn_offset = (size_t)(r->p - start);
    h->packet_len = h->pn_offset + (size_t)h->length;
    return QUIC_OK;
}

/* RFC 9000 §17, RFC 8999 §5 */
int quic_pkt_parse_header(const uint8_t *data, size_t len, const quic_pkt_parse_opts *opts,
                          quic_pkt_header *h)
{
    static const quic_pkt_parse_opts none = {0, false};
    if (opts == NULL)
        opts = &none;
    memset(h, 0, sizeof(*h));
    quince_reader r = quince_reader_init(data, len);
    if (!quince_get_u8(&r, &h->first))
        return QUIC_ERR_DROP;
    h->packet_len = len;
    if (h->first & QUIC_HDR_FORM_LONG)
        return parse_long(&r, opts, data, h);
    /* RFC 9000 §17.3.1 */
    h->type = QUIC_PKT_1RTT;
    if (!(h->first & QUIC_HDR_FIXED_BIT) && !opts->allow_fixed_bit_zero)
        return QUIC_ERR_DROP;
    if (opts->short_dcid_len > QUIC_MAX_CID_LEN)
        return QUIC_ERR_ARGUMENT;
    h->dcid_len = (uint8_t)opts->short_dcid_len;
    if (!quince_get_bytes(&r, h->dcid_len, &h->dcid) || quince_reader_empty(&r))
        return QUIC_ERR_DROP;
    h->pn_offset = 1 + h->dcid_len;
    return QUIC_OK;
}

/* RFC 9000 §12.2 */
int quic_pkt_first_len(const uint8_t *data, size_t len, const quic_pkt_parse_opts *opts)
{
    quic_pkt_header h;
    if (len > INT_MAX)
        return QUIC_ERR_ARGUMENT;
    int err = quic_pkt_parse_header(data, len, opts, &h);
    if (err != QUIC_OK)
        return err;
    return (int)h.packet_len;
}

/* RFC 9000 §17.2, §17.3.1 */
int quic_pkt_check_reserved_bits(uint8_t first)
{
    uint8_t mask = (first & QUIC_HDR_FORM_LONG) ? QUIC_HDR_LONG_RESERVED : QUIC_HDR_SHORT_RESERVED;
    return (first & mask) ? QUIC_ERR_PROTOCOL_VIOLATION : QUIC_OK;
}

uint32_t quic_pkt_read_pn(const uint8_t *p, size_t pn_len)
{
    uint32_t v = 0;
    for (size_t i = 0; i < pn_len && i < 4; i++)
        v = (v << 8) | p[i];
    return v;
}

/* RFC 9000 §17.1, Appendix A.2 */
size_t quic_pn_encode_len(uint64_t full_pn, uint64_t largest_acked)
{
    uint64_t unacked;
    if (largest_acked == UINT64_MAX)
        unacked = full_pn + 1;
    else if (full_pn > largest_acked)
        unacked = full_pn - largest_acked;
    else
        unacked = 1;
    /* ceil((log2(unacked) + 1) / 8): the smallest k with unacked <= 2^(8k-1). */
    for (size_t k = 1; k < 4; k++)
        if (unacked <= ((uint64_t)1 << (8 * k - 1)))
            return k;
    return 4;
}

/* RFC 9000 Appendix A.3 */
uint64_t quic_pn_decode(uint64_t largest_pn, uint64_t truncated_pn, size_t pn_nbits)
{
    if (pn_nbits < 8 || pn_nbits > 32)
        return truncated_pn;
    uint64_t expected = largest_pn + 1; /* UINT64_MAX (none yet) wraps to 0 */
    uint64_t win = (uint64_t)1 << pn_nbits;
    uint64_t hwin = win / 2;
    uint64_t mask = win - 1;
    uint64_t candidate = (expected & ~mask) | (truncated_pn & mask);
    if (expected >= hwin && candidate <= expected - hwin && candidate < ((uint64_t)1 << 62) - win)
        return candidate + win;
    if (candidate > expected + hwin && candidate >= win)
        return candidate - win;
    return candidate;
}

static bool put_pn(quince_writer *w, quic_pkt_builder *b, uint64_t pn, size_t pn_len)
{
    b->pn_at = quince_put_reserve(w, pn_len);
    if (b->pn_at == NULL)
        return false;
    b->pn_len = pn_len;
    for (size_t i = pn_len; i-- > 0; pn >>= 8)
        b->pn_at[i] = (uint8_t)pn;
    return true;
}

/* RFC 9000 §17.2.2-17.2.4 */
bool quic_pkt_build_long(quince_writer *w, quic_pkt_builder *b, quic_pkt_type type,
                         uint32_t version, const uint8_t *dcid, size_t dcid_len,
                         const uint8_t *scid, size_t scid_len, const uint8_t *token,
                         size_t token_len, uint64_t pn, size_t pn_len)
{
    int bits = quic_pkt_long_type_bits(version, type);
    memset(b, 0, sizeof(*b));
    if (bits < 0 || type == QUIC_PKT_RETRY || dcid_len > QUIC_MAX_CID_LEN ||
        scid_len > QUIC_MAX_CID_LEN || pn_len < 1 || pn_len > 4 ||
        (type != QUIC_PKT_INITIAL && token_len > 0)) {
        w->overflow = true;
        return false;
    }
    b->start = w->p;
    bool ok = quince_put_u8(w, (uint8_t)(QUIC_HDR_FORM_LONG | QUIC_HDR_FIXED_BIT |
                                         ((unsigned)bits << 4) | (pn_len - 1))) &&
              quince_put_u32(w, version) && quince_put_u8(w, (uint8_t)dcid_len) &&
              quince_put_bytes(w, dcid, dcid_len) && quince_put_u8(w, (uint8_t)scid_len) &&
              quince_put_bytes(w, scid, scid_len);
    if (ok && type == QUIC_PKT_INITIAL)
        ok = quince_put_varint(w, token_len) && quince_put_bytes(w, token, token_len);
    if (!ok)
        return false;
    /* Two bytes cover any packet up to 16383 bytes; the writer says how big it can get. */
    b->length_len = quince_writer_left(w) <= 16383 ? 2 : 4;
    b->length_at = quince_put_reserve(w, b->length_len);
    return b->length_at != NULL && put_pn(w, b, pn, pn_len);
}

/* RFC 9000 §17.3.1 */
bool quic_pkt_build_short(quince_writer *w, quic_pkt_builder *b, const uint8_t *dcid,
                          size_t dcid_len, uint64_t pn, size_t pn_len, bool spin, bool key_phase)
{
    memset(b, 0, sizeof(*b));
    if (dcid_len > QUIC_MAX_CID_LEN || pn_len < 1 || pn_len > 4) {
        w->overflow = true;
        return false;
    }
    b->start = w->p;
    uint8_t first = (uint8_t)(QUIC_HDR_FIXED_BIT | (spin ? QUIC_HDR_SPIN_BIT : 0) |
                              (key_phase ? QUIC_HDR_KEY_PHASE : 0) | (pn_len - 1));
    return quince_put_u8(w, first) && quince_put_bytes(w, dcid, dcid_len) &&
           put_pn(w, b, pn, pn_len);
}

static bool put_zeros(quince_writer *w, size_t n)
{
    uint8_t *at = quince_put_reserve(w, n);
    if (at == NULL)
        return false;
    memset(at, 0, n);
    return true;
}

/* RFC 9000 §14.1 */
bool quic_pkt_pad_to(quince_writer *w, const uint8_t *datagram_start, size_t min_len,
                     size_t tag_len)
{
    if (w->overflow)
        return false;
    size_t cur = (size_t)(w->p - datagram_start) + tag_len;
    return cur >= min_len || put_zeros(w, min_len - cur);
}

/* RFC 9000 §17.2, RFC 9001 §5.4.2 */
bool quic_pkt_finish(quince_writer *w, quic_pkt_builder *b, size_t tag_len)
{
    if (w->overflow || b->pn_at == NULL)
        return false;
    /* The header protection sample starts 4 bytes after the packet number
     * field and is 16 bytes long: pad until it lies inside the packet. */
    size_t body = (size_t)(w->p - b->pn_at) + tag_len;
    if (body < 20 && !put_zeros(w, 20 - body))
        return false;
    if (b->length_at == NULL)
        return true;
    uint64_t length = (uint64_t)(w->p - b->pn_at) + tag_len;
    if (quince_varint_len(length) > b->length_len) {
        w->overflow = true;
        return false;
    }
    quince_varint_write_fixed(b->length_at, length, b->length_len);
    return true;
}

/* RFC 9000 §17.2.1, §6 */
bool quic_pkt_build_vn(quince_writer *w, uint8_t unused, const uint8_t *client_dcid,
                       size_t client_dcid_len, const uint8_t *client_scid, size_t client_scid_len,
                       const uint32_t *versions, size_t count)
{
    if (client_dcid_len > QUIC_INVARIANT_MAX_CID_LEN ||
        client_scid_len > QUIC_INVARIANT_MAX_CID_LEN || count == 0) {
        w->overflow = true;
        return false;
    }
    /* The 0x40 bit set so that the packet looks like any other to middleboxes. */
    bool ok =
        quince_put_u8(w, (uint8_t)(QUIC_HDR_FORM_LONG | QUIC_HDR_FIXED_BIT | (unused & 0x3f))) &&
        quince_put_u32(w, QUIC_VERSION_NEGOTIATION) && quince_put_u8(w, (uint8_t)client_scid_len) &&
        quince_put_bytes(w, client_scid, client_scid_len) &&
        quince_put_u8(w, (uint8_t)client_dcid_len) &&
        quince_put_bytes(w, client_dcid, client_dcid_len);
    for (size_t i = 0; ok && i < count; i++)
        ok = quince_put_u32(w, versions[i]);
    return ok;
}

uint32_t quic_pkt_vn_version(const quic_pkt_header *h, size_t i)
{
    if (i >= h->version_count)
        return 0;
    const uint8_t *p = h->versions + 4 * i;
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* RFC 9000 §17.2.5 */
bool quic_pkt_build_retry(quince_writer *w, uint8_t unused, uint32_t version, const uint8_t *dcid,
                          size_t dcid_len, const uint8_t *scid, size_t scid_len,
                          const uint8_t *token, size_t token_len)
{
    int bits = quic_pkt_long_type_bits(version, QUIC_PKT_RETRY);
    if (bits < 0 || dcid_len > QUIC_MAX_CID_LEN || scid_len > QUIC_MAX_CID_LEN || token_len == 0) {
        w->overflow = true;
        return false;
    }
    return quince_put_u8(w, (uint8_t)(QUIC_HDR_FORM_LONG | QUIC_HDR_FIXED_BIT |
                                      ((unsigned)bits << 4) | (unused & 0x0f))) &&
           quince_put_u32(w, version) && quince_put_u8(w, (uint8_t)dcid_len) &&
           quince_put_bytes(w, dcid, dcid_len) && quince_put_u8(w, (uint8_t)scid_len) &&
           quince_put_bytes(w, scid, scid_len) && quince_put_bytes(w, token, token_len);
}

/* RFC 9001 §5.8 */
bool quic_pkt_retry_pseudo(quince_writer *w, const uint8_t *odcid, size_t odcid_len,
                           const uint8_t *retry, size_t retry_len_without_tag)
{
    if (odcid_len > QUIC_MAX_CID_LEN) {
        w->overflow = true;
        return false;
    }
    return quince_put_u8(w, (uint8_t)odcid_len) && quince_put_bytes(w, odcid, odcid_len) &&
           quince_put_bytes(w, retry, retry_len_without_tag);
}

/* RFC 9000 §10.3 */
const uint8_t *quic_pkt_stateless_reset_token(const uint8_t *data, size_t len)
{
    if (len < QUIC_MIN_STATELESS_RESET)
        return NULL;
    return data + len - QUIC_STATELESS_RESET_TOKEN_LEN;
}

/* RFC 9000 §10.3.1: compare without leaking where the tokens differ. */
bool quic_token_equal(const uint8_t *a, const uint8_t *b)
{
    uint8_t d = 0;
    for (size_t i = 0; i < QUIC_STATELESS_RESET_TOKEN_LEN; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

/* RFC 9000 §10.3 */
bool quic_pkt_build_stateless_reset(quince_writer *w, const quince_env *env, size_t len,
                                    const uint8_t *token)
{
    if (len < QUIC_MIN_STATELESS_RESET) {
        w->overflow = true;
        return false;
    }
    uint8_t *at = quince_put_reserve(w, len);
    if (at == NULL)
        return false;
    size_t rnd = len - QUIC_STATELESS_RESET_TOKEN_LEN;
    quince_env_random(env, at, rnd);
    at[0] = (uint8_t)((at[0] & 0x3f) | QUIC_HDR_FIXED_BIT); /* looks like a short header */
    memcpy(at + rnd, token, QUIC_STATELESS_RESET_TOKEN_LEN);
    return true;
}
