/* QUIC streams: send and receive state, reassembly and flow control (RFC 9000 §2-§4). */
#ifndef QUIC_STREAM_H
#define QUIC_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic/opt.h"
#include "quic/ranges.h"
#include "quic/stream_buf.h"

/* RFC 9000 §2.1: the two low bits of a stream ID. */
#define QUIC_STREAM_SERVER_BIT 0x1
#define QUIC_STREAM_UNI_BIT 0x2

static inline bool quic_stream_is_uni(uint64_t id)
{
    return (id & QUIC_STREAM_UNI_BIT) != 0;
}
static inline bool quic_stream_is_server(uint64_t id)
{
    return (id & QUIC_STREAM_SERVER_BIT) != 0;
}

typedef struct quic_stream {
    struct quic_stream *hnext;       /* hash chain */
    struct quic_stream *next, *prev; /* all streams, in creation order */
    uint64_t id;
    bool local; /* we opened it */
    /* Bytes of it travelled in 0-RTT packets (RFC 9001 §4.6.1): received ones
     * on a server, sent ones on a client. */
    bool early;

    /* Receive side (RFC 9000 §3.2). */
    bool has_recv;
    quic_stream_buf rbuf;
    uint64_t recv_max; /* MAX_STREAM_DATA we advertised */
    uint64_t recv_window;
    uint64_t recv_counted; /* highest offset counted against connection flow control */
    bool need_max_stream_data;
    bool recv_reset;   /* RESET_STREAM arrived */
    bool recv_done;    /* the application has everything (FIN read or reset seen) */
    bool stop_pending; /* STOP_SENDING to send */
    bool stop_sent;
    uint64_t stop_code;
    bool readable_ev; /* a READABLE event is queued */
    /* RESET_STREAM_AT arrived (reliable-stream-reset-10 §5): bytes below
     * reset_at_size are still delivered, then the reset with reset_at_code. */
    bool reset_at;
    uint64_t reset_at_size, reset_at_code;

    /* Send side (RFC 9000 §3.1). sbuf is a ring of sbuf_cap bytes holding the
     * unacknowledged bytes from offset sbuf_base on, the first at index
     * sbuf_start; the application's write end is sbuf_base + sbuf_len. A ring,
     * so that writing as acknowledgments free the front never moves what is
     * held. */
    bool has_send;
    uint8_t *sbuf;
    size_t sbuf_cap, sbuf_start, sbuf_len;
    uint64_t sbuf_base;
    uint64_t send_next; /* next new byte to send */
    uint64_t send_max;  /* the peer's MAX_STREAM_DATA */
    quic_ranges retx;   /* lost ranges */
    quic_ranges acked;  /* acknowledged ranges above sbuf_base */
    bool fin_requested, fin_sent, fin_acked, fin_lost;
    uint64_t final_size;
    bool reset_pending, reset_sent, reset_acked;
    uint64_t reset_code;
    uint64_t reset_final_size;
    uint64_t reset_reliable; /* > 0: RESET_STREAM_AT, bytes below it still delivered */
    bool blocked_pending;
    uint64_t blocked_at;
    bool writable_wanted;
    bool send_done;
    bool sbuf_kept; /* drained, but its buffer kept for the next write (send_release) */
} quic_stream;

#define QUIC_STREAM_BUCKETS QUIC_OPT_STREAM_BUCKETS

typedef struct quic_stream_map {
    /* QUIC_STREAM_BUCKETS chains, allocated with the first stream (NULL before):
     * a connection that never opens one does not carry the table. */
    quic_stream **buckets;
    quic_stream *head, *tail;
    size_t count;
} quic_stream_map;

#endif
