/* QUIC packet headers (RFC 9000 §17, RFC 8999, RFC 9369 §3.2) up to the packet number. */
#ifndef QUIC_PACKET_H
#define QUIC_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cursor.h"
#include "base/env.h"
#include "quic/error.h"
#include "quic/proto.h"

/*
 * A parsed header. Pointers refer into the parsed datagram. Only the parts
 * that header protection leaves readable are parsed: the reserved bits, the
 * packet number length and the packet number come after the caller removes
 * header protection (quic_pkt_pn_len(), quic_pkt_read_pn()).
 */
typedef struct quic_pkt_header {
    quic_pkt_type type;
    uint8_t first;    /* first byte, still protected */
    uint32_t version; /* 0 for short headers and Version Negotiation */
    uint8_t dcid_len;
    uint8_t scid_len;
    const uint8_t *dcid;
    const uint8_t *scid;
    const uint8_t *token; /* Initial: Token; Retry: Retry Token */
    size_t token_len;
    const uint8_t *retry_tag; /* Retry: the 16-byte Retry Integrity Tag */
    const uint8_t *versions;  /* Version Negotiation: the Supported Version list */
    size_t version_count;
    uint64_t length;   /* long header Length field: packet number + payload */
    size_t pn_offset;  /* from the start of the packet (0 when there is none) */
    size_t packet_len; /* bytes of this packet in the datagram (the rest follows) */
} quic_pkt_header;

typedef struct quic_pkt_parse_opts {
    size_t short_dcid_len;     /* the length of our connection IDs (short headers) */
    bool allow_fixed_bit_zero; /* we sent grease_quic_bit (RFC 9287 §3) */
} quic_pkt_parse_opts;

/*
 * Parse the first packet of a datagram (or of what remains of it). Returns
 * QUIC_OK or QUIC_ERR_DROP (truncated, fixed bit 0 when not allowed, CID
 * longer than 20 bytes in v1/v2, Length past the datagram, empty Retry token).
 * A long header of an unsupported version parses as QUIC_PKT_UNKNOWN_VERSION
 * with its invariant fields (RFC 8999 §5.1: CIDs up to 255 bytes) so that a
 * server can answer with Version Negotiation.
 */
int quic_pkt_parse_header(const uint8_t *data, size_t len, const quic_pkt_parse_opts *opts,
                          quic_pkt_header *h);

/* RFC 9000 §12.2: size of the first packet of a coalesced datagram, or QUIC_ERR_DROP. */
int quic_pkt_first_len(const uint8_t *data, size_t len, const quic_pkt_parse_opts *opts);

/* After header protection removal: the packet number length from the first byte. */
static inline size_t quic_pkt_pn_len(uint8_t first)
{
    return (size_t)(first & QUIC_HDR_PN_LEN_MASK) + 1;
}
/* RFC 9000 §17.2, §17.3.1: non-zero reserved bits after unprotection: PROTOCOL_VIOLATION. */
int quic_pkt_check_reserved_bits(uint8_t first);
/* Read the truncated packet number (pn_len bytes) at p. */
uint32_t quic_pkt_read_pn(const uint8_t *p, size_t pn_len);

/* RFC 9000 §17.1, Appendix A.2: bytes (1..4) to send full_pn with; largest_acked
 * is UINT64_MAX when nothing was acknowledged in this space. */
size_t quic_pn_encode_len(uint64_t full_pn, uint64_t largest_acked);
/* RFC 9000 Appendix A.3: largest_pn is UINT64_MAX before any packet was processed. */
uint64_t quic_pn_decode(uint64_t largest_pn, uint64_t truncated_pn, size_t pn_nbits);

/* RFC 9369 §3.2: the long-header type bits of a version; -1 if unsupported. */
int quic_pkt_long_type_bits(uint32_t version, quic_pkt_type type);

/* A header being built: remembers where to back-fill the Length field. */
typedef struct quic_pkt_builder {
    uint8_t *start;     /* first byte of the packet */
    uint8_t *length_at; /* long header: the Length field; NULL for short */
    size_t length_len;  /* 2 or 4 */
    uint8_t *pn_at;
    size_t pn_len;
} quic_pkt_builder;

/*
 * RFC 9000 §17.2: write a long header (Initial, 0-RTT or Handshake) through
 * the packet number, reserving the Length field. token is for Initial only.
 * pn_len is 1..4 (see quic_pn_encode_len). The caller then writes frames and
 * calls quic_pkt_finish().
 */
bool quic_pkt_build_long(quince_writer *w, quic_pkt_builder *b, quic_pkt_type type,
                         uint32_t version, const uint8_t *dcid, size_t dcid_len,
                         const uint8_t *scid, size_t scid_len, const uint8_t *token,
                         size_t token_len, uint64_t pn, size_t pn_len);

/* RFC 9000 §17.3.1: a 1-RTT header. */
bool quic_pkt_build_short(quince_writer *w, quic_pkt_builder *b, const uint8_t *dcid,
                          size_t dcid_len, uint64_t pn, size_t pn_len, bool spin, bool key_phase);

/*
 * Pad the payload with PADDING (zero bytes) so the datagram that began at
 * datagram_start reaches min_len once the AEAD tag (tag_len) is added:
 * RFC 9000 §14.1 (QUIC_MIN_INITIAL_DATAGRAM). Call before quic_pkt_finish().
 */
bool quic_pkt_pad_to(quince_writer *w, const uint8_t *datagram_start, size_t min_len,
                     size_t tag_len);

/*
 * Finish a packet: pad so that header protection has its sample (RFC 9001
 * §5.4.2: packet number + payload >= 4 bytes), then back-fill the Length
 * field (long headers) counting the tag_len bytes the AEAD will append.
 */
bool quic_pkt_finish(quince_writer *w, quic_pkt_builder *b, size_t tag_len);

/* RFC 9000 §17.2.1: a Version Negotiation packet answering a client's
 * dcid/scid (echoed swapped). unused: random bits for the first byte. */
bool quic_pkt_build_vn(quince_writer *w, uint8_t unused, const uint8_t *client_dcid,
                       size_t client_dcid_len, const uint8_t *client_scid, size_t client_scid_len,
                       const uint32_t *versions, size_t count);
/* The i-th version of a parsed Version Negotiation packet. */
uint32_t quic_pkt_vn_version(const quic_pkt_header *h, size_t i);
/* RFC 9000 §15: a reserved version 0x?a?a?a?a from random bits. */
static inline uint32_t quic_version_grease(uint32_t random)
{
    return (random & 0xf0f0f0f0u) | 0x0a0a0a0au;
}

/* RFC 9000 §17.2.5: a Retry packet without its tag (the caller appends the
 * 16-byte tag computed by crypto over quic_pkt_retry_pseudo()). */
bool quic_pkt_build_retry(quince_writer *w, uint8_t unused, uint32_t version, const uint8_t *dcid,
                          size_t dcid_len, const uint8_t *scid, size_t scid_len,
                          const uint8_t *token, size_t token_len);
/* RFC 9001 §5.8: the Retry pseudo-packet: ODCID Length, ODCID, then the Retry
 * packet without its tag. */
bool quic_pkt_retry_pseudo(quince_writer *w, const uint8_t *odcid, size_t odcid_len,
                           const uint8_t *retry, size_t retry_len_without_tag);

/* RFC 9000 §10.3: the token candidate of a datagram (its last 16 bytes), or
 * NULL when it is too short to be a stateless reset. */
const uint8_t *quic_pkt_stateless_reset_token(const uint8_t *data, size_t len);
/* Constant-time comparison of two 16-byte tokens. */
bool quic_token_equal(const uint8_t *a, const uint8_t *b);
/* RFC 9000 §10.3: build a stateless reset of len bytes (>= 21) ending in token;
 * the rest is random from env, with a short-header first byte. */
bool quic_pkt_build_stateless_reset(quince_writer *w, const quince_env *env, size_t len,
                                    const uint8_t *token);

#endif
