/* Fuzz target: QUIC packet headers (RFC 9000 §17), Version Negotiation, coalesced splits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic/packet.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

/* Rebuild what a header said and check it parses back to the same fields. */
static uint8_t out[1 << 17];

static void rebuild(const quic_pkt_header *h, const quic_pkt_parse_opts *opts)
{
    quince_writer w = quince_writer_init(out, sizeof(out));
    quic_pkt_header b;
    if (h->type == QUIC_PKT_VERSION_NEGOTIATION || h->type == QUIC_PKT_UNKNOWN_VERSION) {
        const uint32_t vs[2] = {QUIC_VERSION_1, quic_version_grease(h->version)};
        /* Answer as a server would: the CIDs come back swapped. */
        CHECK(quic_pkt_build_vn(&w, h->first, h->dcid, h->dcid_len, h->scid, h->scid_len, vs, 2));
        CHECK(quic_pkt_parse_header(out, (size_t)(w.p - out), NULL, &b) == QUIC_OK);
        CHECK(b.type == QUIC_PKT_VERSION_NEGOTIATION && b.version_count == 2);
        CHECK(b.dcid_len == h->scid_len && b.scid_len == h->dcid_len);
        CHECK(memcmp(b.dcid, h->scid, h->scid_len) == 0);
        return;
    }
    if (h->type == QUIC_PKT_RETRY) {
        CHECK(quic_pkt_build_retry(&w, h->first, h->version, h->dcid, h->dcid_len, h->scid,
                                   h->scid_len, h->token, h->token_len));
        CHECK(quince_put_bytes(&w, h->retry_tag, QUIC_RETRY_TAG_LEN));
        CHECK(quic_pkt_parse_header(out, (size_t)(w.p - out), NULL, &b) == QUIC_OK);
        CHECK(b.type == QUIC_PKT_RETRY && b.token_len == h->token_len);
        CHECK(memcmp(b.token, h->token, h->token_len) == 0);
        return;
    }
    quic_pkt_builder pb;
    size_t pn_len = quic_pkt_pn_len(h->first);
    if (h->type == QUIC_PKT_1RTT) {
        CHECK(quic_pkt_build_short(&w, &pb, h->dcid, h->dcid_len, 7, pn_len, false, false));
    } else {
        CHECK(quic_pkt_build_long(&w, &pb, h->type, h->version, h->dcid, h->dcid_len, h->scid,
                                  h->scid_len, h->token, h->token_len, 7, pn_len));
    }
    CHECK(quince_put_u8(&w, 0x01));
    CHECK(quic_pkt_finish(&w, &pb, 16));
    size_t n = (size_t)(w.p - out);
    memset(w.p, 0, 16);
    CHECK(quic_pkt_parse_header(out, n + 16, opts, &b) == QUIC_OK);
    CHECK(b.type == h->type && b.version == h->version && b.packet_len == n + 16);
    CHECK(b.dcid_len == h->dcid_len && memcmp(b.dcid, h->dcid, h->dcid_len) == 0);
    CHECK(b.scid_len == h->scid_len && b.token_len == h->token_len);
    CHECK(quic_pkt_read_pn(out + b.pn_offset, pn_len) == 7);
}

static void run(const uint8_t *data, size_t size, const quic_pkt_parse_opts *opts)
{
    size_t off = 0;
    while (off < size) {
        quic_pkt_header h;
        int rc = quic_pkt_parse_header(data + off, size - off, opts, &h);
        int first = quic_pkt_first_len(data + off, size - off, opts);
        if (rc != QUIC_OK) {
            CHECK(first == rc);
            break;
        }
        CHECK(first > 0 && (size_t)first == h.packet_len && h.packet_len <= size - off);
        CHECK(h.pn_offset <= h.packet_len);
        for (size_t i = 0; i < h.version_count; i++)
            (void)quic_pkt_vn_version(&h, i);
        if (h.pn_offset > 0 && h.pn_offset + 4 <= h.packet_len) {
            size_t pn_len = quic_pkt_pn_len(h.first);
            uint32_t pn = quic_pkt_read_pn(data + off + h.pn_offset, pn_len);
            uint64_t full = quic_pn_decode(pn * 977ull, pn, 8 * pn_len);
            CHECK((full & ((1ull << (8 * pn_len)) - 1)) == pn);
            (void)quic_pkt_check_reserved_bits(h.first);
        }
        rebuild(&h, opts);
        off += h.packet_len;
    }
    (void)quic_pkt_stateless_reset_token(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    quic_pkt_parse_opts a = {8, false}, b = {0, true}, c = {size % 21, (size & 1) != 0};
    run(data, size, &a);
    run(data, size, &b);
    run(data, size, &c);
    return 0;
}
