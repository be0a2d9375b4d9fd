/* qlog for QUIC connections: transport, recovery, security and connectivity events
 * (draft-ietf-quic-qlog-quic-events-04, the qlog 0.3 format qvis loads) through base/qlog.h. */
#ifndef QUIC_QLOG_H
#define QUIC_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/qlog.h"
#include "quic/proto.h"

struct quic_conn;

/* Every function below is a no-op unless the connection was configured with
 * qlog = true and the environment has the qlog sinks. */
/* Open the trace (one per connection, named by the original DCID) and log
 * connection_started, the versions and the local parameters. */
#if QUINCE_QLOG
void quic_qlog_start(struct quic_conn *c, uint64_t now);
/* A packet's plaintext payload (frames are decoded again for the log). */
void quic_qlog_packet(struct quic_conn *c, bool sent, quic_pkt_type type, uint64_t pn,
                      size_t packet_len, const uint8_t *payload, size_t payload_len, uint64_t now);
/* transport:packet_dropped, trigger as in quic-events-04 §5.7. */
void quic_qlog_packet_dropped(struct quic_conn *c, quic_pkt_type type, size_t len,
                              const char *trigger, uint64_t now);
void quic_qlog_packet_lost(struct quic_conn *c, int space, uint64_t pn, uint64_t now);
/* RFC 9002 Appendix A.3/B.2 values and the congestion state, logged when they changed. */
void quic_qlog_metrics(struct quic_conn *c, uint64_t now);
/* transport:parameters_set of the peer's transport parameters (owner remote). */
void quic_qlog_peer_params(struct quic_conn *c, uint64_t now);
/* security:key_updated for a level's keys (1-RTT key updates: generation > 0). */
void quic_qlog_key_updated(struct quic_conn *c, int level, bool is_write, uint64_t generation,
                           const char *trigger, uint64_t now);
/* connectivity:connection_state_updated (quic-events-04 §4.6 names). */
void quic_qlog_state(struct quic_conn *c, const char *new_state, uint64_t now);
/* connectivity:connection_closed. */
void quic_qlog_closed(struct quic_conn *c, bool by_peer, bool is_app, uint64_t code,
                      const char *reason, const char *trigger, uint64_t now);
/* The PLPMTU changed or its search completed (RFC 8899). */
void quic_qlog_mtu_updated(struct quic_conn *c, uint32_t old_mtu, uint32_t new_mtu, bool done,
                           uint64_t now);
void quic_qlog_free(struct quic_conn *c);
#else /* !QUINCE_QLOG: left out of the build, every call does nothing */
static inline void quic_qlog_start(struct quic_conn *c, uint64_t now)
{
    (void)c, (void)now;
}
static inline void quic_qlog_packet(struct quic_conn *c, bool sent, quic_pkt_type type, uint64_t pn,
                                    size_t packet_len, const uint8_t *payload, size_t payload_len,
                                    uint64_t now)
{
    (void)c, (void)sent, (void)type, (void)pn, (void)packet_len, (void)payload, (void)payload_len,
        (void)now;
}
static inline void quic_qlog_packet_dropped(struct quic_conn *c, quic_pkt_type type, size_t len,
                                            const char *trigger, uint64_t now)
{
    (void)c, (void)type, (void)len, (void)trigger, (void)now;
}
static inline void quic_qlog_packet_lost(struct quic_conn *c, int space, uint64_t pn, uint64_t now)
{
    (void)c, (void)space, (void)pn, (void)now;
}
static inline void quic_qlog_metrics(struct quic_conn *c, uint64_t now)
{
    (void)c, (void)now;
}
static inline void quic_qlog_peer_params(struct quic_conn *c, uint64_t now)
{
    (void)c, (void)now;
}
static inline void quic_qlog_key_updated(struct quic_conn *c, int level, bool is_write,
                                         uint64_t generation, const char *trigger, uint64_t now)
{
    (void)c, (void)level, (void)is_write, (void)generation, (void)trigger, (void)now;
}
static inline void quic_qlog_state(struct quic_conn *c, const char *new_state, uint64_t now)
{
    (void)c, (void)new_state, (void)now;
}
static inline void quic_qlog_closed(struct quic_conn *c, bool by_peer, bool is_app, uint64_t code,
                                    const char *reason, const char *trigger, uint64_t now)
{
    (void)c, (void)by_peer, (void)is_app, (void)code, (void)reason, (void)trigger, (void)now;
}
static inline void quic_qlog_mtu_updated(struct quic_conn *c, uint32_t old_mtu, uint32_t new_mtu,
                                         bool done, uint64_t now)
{
    (void)c, (void)old_mtu, (void)new_mtu, (void)done, (void)now;
}
static inline void quic_qlog_free(struct quic_conn *c)
{
    (void)c;
}
#endif

#endif
