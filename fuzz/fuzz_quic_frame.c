/* Fuzz target: QUIC frames (RFC 9000 §19, RFC 9221): decode, re-encode, decode again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic/frame.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static bool bytes_eq(const uint8_t *a, const uint8_t *b, uint64_t n)
{
    return n == 0 || memcmp(a, b, (size_t)n) == 0;
}

static bool same(const quic_frame *a, const quic_frame *b)
{
    if (a->type != b->type)
        return false;
    uint64_t t = a->type;
    if (t == QUIC_FT_PADDING)
        return a->u.padding.length == b->u.padding.length;
    if (t == QUIC_FT_ACK || t == QUIC_FT_ACK_ECN) {
        const quic_frame_ack *x = &a->u.ack, *y = &b->u.ack;
        if (x->largest != y->largest || x->ack_delay != y->ack_delay ||
            x->first_range != y->first_range || x->range_count != y->range_count ||
            x->ect0 != y->ect0 || x->ect1 != y->ect1 || x->ce != y->ce)
            return false;
        quic_ack_iter i, j;
        quic_ack_range r, s;
        quic_ack_iter_init(&i, x);
        quic_ack_iter_init(&j, y);
        while (quic_ack_iter_next(&i, &r)) {
            if (!quic_ack_iter_next(&j, &s) || r.smallest != s.smallest || r.largest != s.largest)
                return false;
        }
        return !quic_ack_iter_next(&j, &s);
    }
    if (t == QUIC_FT_CRYPTO)
        return a->u.crypto.offset == b->u.crypto.offset &&
               a->u.crypto.length == b->u.crypto.length &&
               bytes_eq(a->u.crypto.data, b->u.crypto.data, a->u.crypto.length);
    if (t == QUIC_FT_NEW_TOKEN)
        return a->u.new_token.length == b->u.new_token.length &&
               bytes_eq(a->u.new_token.token, b->u.new_token.token, a->u.new_token.length);
    if (t >= 0x08 && t <= 0x0f)
        return a->u.stream.stream_id == b->u.stream.stream_id &&
               a->u.stream.offset == b->u.stream.offset &&
               a->u.stream.length == b->u.stream.length && a->u.stream.fin == b->u.stream.fin &&
               bytes_eq(a->u.stream.data, b->u.stream.data, a->u.stream.length);
    if (t == QUIC_FT_NEW_CONNECTION_ID)
        return a->u.new_cid.seq == b->u.new_cid.seq &&
               a->u.new_cid.retire_prior_to == b->u.new_cid.retire_prior_to &&
               a->u.new_cid.cid_len == b->u.new_cid.cid_len &&
               bytes_eq(a->u.new_cid.cid, b->u.new_cid.cid, a->u.new_cid.cid_len) &&
               bytes_eq(a->u.new_cid.reset_token, b->u.new_cid.reset_token, 16);
    if (t == QUIC_FT_PATH_CHALLENGE || t == QUIC_FT_PATH_RESPONSE)
        return bytes_eq(a->u.path.data, b->u.path.data, 8);
    if (t == QUIC_FT_CONNECTION_CLOSE || t == QUIC_FT_CONNECTION_CLOSE_APP)
        return a->u.close.error_code == b->u.close.error_code &&
               a->u.close.frame_type == b->u.close.frame_type &&
               a->u.close.reason_len == b->u.close.reason_len &&
               bytes_eq(a->u.close.reason, b->u.close.reason, a->u.close.reason_len);
    if (t == QUIC_FT_DATAGRAM || t == QUIC_FT_DATAGRAM_LEN)
        return a->u.datagram.length == b->u.datagram.length &&
               bytes_eq(a->u.datagram.data, b->u.datagram.data, a->u.datagram.length);
    /* Integer-only frames. */
    return memcmp(&a->u, &b->u, sizeof(a->u)) == 0;
}

static uint8_t out[1 << 17];

static void run(const uint8_t *data, size_t size, quic_pkt_type pkt)
{
    size_t off = 0;
    while (off < size) {
        quic_frame f, g;
        int n = quic_frame_decode(data + off, size - off, pkt, &f);
        if (n < 0) {
            CHECK(quic_err_is_transport(n));
            return;
        }
        CHECK(n > 0 && (size_t)n <= size - off);
        CHECK(quic_frame_allowed(f.type, pkt));
        (void)quic_frame_is_ack_eliciting(f.type);
        (void)quic_frame_counts_in_flight(f.type);
        quince_writer w = quince_writer_init(out, sizeof(out));
        CHECK(quic_frame_encode(&w, &f));
        size_t m = (size_t)(w.p - out);
        /* Re-encoding uses minimal varints: never longer than the input. */
        CHECK(m <= (size_t)n);
        CHECK(quic_frame_decode(out, m, pkt, &g) == (int)m);
        CHECK(same(&f, &g));
        off += (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const quic_pkt_type pkts[] = {QUIC_PKT_INITIAL, QUIC_PKT_0RTT, QUIC_PKT_HANDSHAKE,
                                  QUIC_PKT_1RTT};
    for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++)
        run(data, size, pkts[i]);
    return 0;
}
