/* qlog for QUIC connections: JSON-SEQ records (draft-ietf-quic-qlog-main-schema-14,
 * quic-events-13). */
#ifndef QUIC_QLOG_H
#define QUIC_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic/opt.h"
#include "quic/proto.h"

struct quic_conn;

#if QUINCE_QLOG

/* Every function is a no-op unless the connection was configured with
 * qlog = true and the environment has a qlog sink. Each record goes to the
 * sink whole: 0x1E, one JSON object, '\n' (RFC 7464). */
void quic_qlog_start(struct quic_conn *c, uint64_t now);
/* A packet's plaintext payload (frames are decoded again for the log). */
void quic_qlog_packet(struct quic_conn *c, bool sent, quic_pkt_type type, uint64_t pn,
                      size_t packet_len, const uint8_t *payload, size_t payload_len, uint64_t now);
void quic_qlog_packet_lost(struct quic_conn *c, int space, uint64_t pn, uint64_t now);
/* RFC 9002 Appendix A.3/B.2 values, logged when they changed. */
void quic_qlog_metrics(struct quic_conn *c, uint64_t now);
void quic_qlog_free(struct quic_conn *c);
#else
/* Built without qlog (QUINCE_QLOG 0, base/opt.h): quic/qlog.c is left out. */
static inline void quic_qlog_start(struct quic_conn *c, uint64_t now)
{
    (void)c;
    (void)now;
}
static inline void quic_qlog_packet(struct quic_conn *c, bool sent, quic_pkt_type type,
                                    uint64_t pn, size_t packet_len, const uint8_t *payload,
                                    size_t payload_len, uint64_t now)
{
    (void)c;
    (void)sent;
    (void)type;
    (void)pn;
    (void)packet_len;
    (void)payload;
    (void)payload_len;
    (void)now;
}
static inline void quic_qlog_packet_lost(struct quic_conn *c, int space, uint64_t pn,
                                         uint64_t now)
{
    (void)c;
    (void)space;
    (void)pn;
    (void)now;
}
static inline void quic_qlog_metrics(struct quic_conn *c, uint64_t now)
{
    (void)c;
    (void)now;
}
static inline void quic_qlog_free(struct quic_conn *c)
{
    (void)c;
}
#endif

#endif
