/* qlog traces: one JSON-SEQ trace per connection in the qlog 0.3 format that qvis loads
 * (draft-ietf-quic-qlog-main-schema-05 §6.2; events of draft-ietf-quic-qlog-quic-events-04
 * and draft-ietf-quic-qlog-h3-events-04). */
#ifndef BASE_QLOG_H
#define BASE_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "base/opt.h"

/*
 * Every layer logs through this one writer, so that a connection's QUIC,
 * recovery, HTTP/3, QPACK and WebTransport events land in one trace, in the
 * order they happen. quic_conn opens the trace (when its configuration asks
 * for qlog and the environment has the qlog sinks); the binding hands the
 * same pointer to h3 and wt (h3_conn_set_qlog, wt_endpoint_set_qlog).
 *
 * Writing an event:
 *
 *     if (quince_qlog_begin(q, now, "transport:packet_sent")) {
 *         quince_qlog_object(q, "header");
 *         quince_qlog_str(q, "packet_type", "1RTT");
 *         quince_qlog_u64(q, "packet_number", pn);
 *         quince_qlog_close(q);          // the "header" object
 *         quince_qlog_end(q);            // closes "data" and the record, hands it over
 *     }
 *
 * begin returns false (and every other call does nothing) when q is NULL,
 * so logging costs one test when it is off. Names are "category:event" as
 * qvis looks them up: transport:, recovery:, security:, connectivity:, http:,
 * qpack:, and webtransport: for the session events no draft defines yet.
 * Times are milliseconds relative to the trace's start, printed with integer
 * arithmetic (microsecond precision, no floating point).
 */
typedef struct quince_qlog quince_qlog;

/* Open a trace for one connection: name is its original Destination
 * Connection ID (hex), the vantage point "client" or "server". Returns NULL
 * when the environment has no qlog sinks, when qlog_open declines, or when
 * memory runs out (logging is then silently off for this connection). */
#if QUINCE_QLOG
quince_qlog *quince_qlog_new(const quince_env *env, bool is_server, const uint8_t *odcid,
                             size_t odcid_len, uint64_t now);
/* End the trace (qlog_close) and free it. NULL is fine. */
void quince_qlog_free(quince_qlog *q);

/* Start one event record at time now (microseconds, the connection's clock;
 * QUINCE_QLOG_NOW: the last time the connection saw, for layers without a
 * clock such as h3 and wt). Returns false when q is NULL or an event is
 * already being written. */
#define QUINCE_QLOG_NOW UINT64_MAX
bool quince_qlog_begin(quince_qlog *q, uint64_t now, const char *name);
/* The connection's clock moved (quic_conn_recv/send/on_timeout call it). */
void quince_qlog_set_now(quince_qlog *q, uint64_t now);
/* Close what is open and hand the record to the sink. A record that did not
 * fit the trace's buffer is dropped whole (never written cut). */
void quince_qlog_end(quince_qlog *q);
/* Give up the record being written. */
void quince_qlog_abort(quince_qlog *q);

/* Members (key != NULL) of the open object, or elements (key == NULL) of the
 * open array. */
void quince_qlog_u64(quince_qlog *q, const char *key, uint64_t v);
void quince_qlog_i64(quince_qlog *q, const char *key, int64_t v);
void quince_qlog_bool(quince_qlog *q, const char *key, bool v);
/* A NUL-terminated string, JSON-escaped. */
void quince_qlog_str(quince_qlog *q, const char *key, const char *s);
/* len bytes of text, JSON-escaped (bytes outside printable ASCII as \u00XX). */
void quince_qlog_strn(quince_qlog *q, const char *key, const uint8_t *s, size_t len);
/* Bytes as a lowercase hex string. */
void quince_qlog_hex(quince_qlog *q, const char *key, const uint8_t *p, size_t len);
/* A duration in microseconds as milliseconds ("12.345"). */
void quince_qlog_ms(quince_qlog *q, const char *key, uint64_t us);
/* Open a nested object or array; quince_qlog_close closes the innermost. */
void quince_qlog_object(quince_qlog *q, const char *key);
void quince_qlog_array(quince_qlog *q, const char *key);
void quince_qlog_close(quince_qlog *q);
/* Bytes left in the record being written (to stop adding list elements in
 * time: a record that overflows is dropped). */
size_t quince_qlog_room(const quince_qlog *q);

/* The trace's start (microseconds, the connection's clock). */
uint64_t quince_qlog_start_time(const quince_qlog *q);

#else /* !QUINCE_QLOG: the writer is left out of the build, every call does nothing */
#define QUINCE_QLOG_NOW UINT64_MAX
static inline quince_qlog *quince_qlog_new(const quince_env *env, bool is_server,
                                           const uint8_t *odcid, size_t odcid_len, uint64_t now)
{
    (void)env, (void)is_server, (void)odcid, (void)odcid_len, (void)now;
    return NULL;
}
static inline void quince_qlog_free(quince_qlog *q)
{
    (void)q;
}
static inline bool quince_qlog_begin(quince_qlog *q, uint64_t now, const char *name)
{
    (void)q, (void)now, (void)name;
    return false;
}
static inline void quince_qlog_set_now(quince_qlog *q, uint64_t now)
{
    (void)q, (void)now;
}
static inline void quince_qlog_end(quince_qlog *q)
{
    (void)q;
}
static inline void quince_qlog_abort(quince_qlog *q)
{
    (void)q;
}
static inline void quince_qlog_u64(quince_qlog *q, const char *key, uint64_t v)
{
    (void)q, (void)key, (void)v;
}
static inline void quince_qlog_i64(quince_qlog *q, const char *key, int64_t v)
{
    (void)q, (void)key, (void)v;
}
static inline void quince_qlog_bool(quince_qlog *q, const char *key, bool v)
{
    (void)q, (void)key, (void)v;
}
static inline void quince_qlog_str(quince_qlog *q, const char *key, const char *s)
{
    (void)q, (void)key, (void)s;
}
static inline void quince_qlog_strn(quince_qlog *q, const char *key, const uint8_t *s, size_t len)
{
    (void)q, (void)key, (void)s, (void)len;
}
static inline void quince_qlog_hex(quince_qlog *q, const char *key, const uint8_t *p, size_t len)
{
    (void)q, (void)key, (void)p, (void)len;
}
static inline void quince_qlog_ms(quince_qlog *q, const char *key, uint64_t us)
{
    (void)q, (void)key, (void)us;
}
static inline void quince_qlog_object(quince_qlog *q, const char *key)
{
    (void)q, (void)key;
}
static inline void quince_qlog_array(quince_qlog *q, const char *key)
{
    (void)q, (void)key;
}
static inline void quince_qlog_close(quince_qlog *q)
{
    (void)q;
}
static inline size_t quince_qlog_room(const quince_qlog *q)
{
    (void)q;
    return 0;
}
static inline uint64_t quince_qlog_start_time(const quince_qlog *q)
{
    (void)q;
    return 0;
}
#endif /* QUINCE_QLOG */

#endif
