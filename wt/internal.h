/* Internal state of WebTransport endpoints, sessions and streams, shared by the files of wt/.
 *
 * Each file's functions for the others are in its own header, and a file calls only files
 * on floors below its own (tests/layers/check_layers.py holds it to that), bottom up:
 *   flow.c          session flow-control bookkeeping: a verdict back, no call up
 *   lifetime.c      the reentrancy guard; sessions made, found, freed; charged buffers
 *   stream.c        stream objects, our sending side, the stream API
 *   session.c       how a session ends (its streams reset), the session API
 *   stream_recv.c   the peer's streams    | session_recv.c  the peer's capsules, datagrams
 *   connect.c       the extended CONNECT, server and client; the session established
 *   endpoint.c      the endpoint: h3's callbacks, each event fanned out to the floors below
 * This header, dialect, codes, protocols and qlog are the ground under all of them. */
#ifndef WT_INTERNAL_H
#define WT_INTERNAL_H

#include "base/qlog.h"
#include "h3/capsule.h"
#include "base/budget.h"
#include "base/buf.h"
#include "wt/dialect.h"
#include "wt/wt.h"

typedef enum wt_session_state {
    WT_SS_QUEUED,     /* client: waiting for the server's SETTINGS */
    WT_SS_HELD,       /* server: CONNECT received before the client's SETTINGS */
    WT_SS_CONNECTING, /* client: CONNECT sent, no 2xx yet */
    WT_SS_OPEN,       /* established */
    WT_SS_REJECTED,   /* server: refused, waiting for the request side to end */
    WT_SS_CLOSED,     /* ended; the CONNECT stream's receive side still open */
} wt_session_state;

typedef struct wt_dgram {
    uint8_t *data;
    size_t len;
} wt_dgram;

/* What a datagram queued for a session not established yet costs the budget. */
static inline size_t wt_dgram_cost(size_t len)
{
    return len ? len : 1;
}

struct wt_session {
    wt_endpoint *ep;
    wt_session *next;
    uint64_t id;
    wt_session_state state;
    void *user;
    char *authority, *path, *origin; /* origin NULL: no Origin header */
    int status;
    wt_dialect dialect;  /* chosen (client: at CONNECT; server: when processed) */
    uint32_t token_mask; /* server: the dialects whose token the request carried */
    bool stopped;        /* client: STOP_SENDING on the CONNECT stream before the response */
    char *avail;         /* server: WT-Available-Protocols, NUL-separated (-13..-16 §3.3) */
    size_t navail;
    char *protocol; /* the WT-Protocol chosen (server) or received (client) */
    h3_capsule_reader reader;
    quince_buf early_caps;     /* server: CONNECT-stream bytes before the session was processed */
    size_t early_caps_charged; /* its allocation, charged to ep->budget */
    bool recv_done;            /* FIN or reset received on the CONNECT stream */
    bool send_done;            /* FIN or reset sent on it */
    size_t nstreams;
    wt_dgram *dgrams; /* received before the session was established */
    size_t ndgrams;
    bool dead;
    /* -13..-16 §5: session flow control, on when the dialect has it and both
     * sides' SETTINGS declared it (wt_dialect_fc_intent). [0] bidi, [1] uni. */
    bool fc;
    uint64_t tx_max_data, tx_data; /* the peer's limit, stream body bytes sent */
    uint64_t tx_max_streams[2], tx_streams[2];
    uint64_t tx_data_blocked_at; /* limit of the last WT_DATA_BLOCKED sent + 1 (0: none) */
    uint64_t tx_streams_blocked_at[2];
    uint64_t rx_max_data, rx_data; /* our advertised limit, body bytes received */
    uint64_t rx_max_streams[2], rx_streams[2], rx_streams_closed[2];
    wt_flow_stats fcs; /* capsule and blocking counters */
};

/* qlog (wt/qlog.c): WebTransport session and stream events, category
 * "webtransport" (no qlog draft defines them yet; qvis shows them by name). */
#if QUINCE_QLOG
void wt_qlog_session(wt_session *s, const char *event, bool local, uint64_t code,
                     const uint8_t *reason, size_t reason_len);
void wt_qlog_stream(wt_endpoint *ep, uint64_t session_id, uint64_t stream_id, bool bidi,
                    bool local);
void wt_qlog_datagram(wt_session *s, bool sent, size_t len);
#else /* !QUINCE_QLOG: left out of the build, every call does nothing */
static inline void wt_qlog_session(wt_session *s, const char *event, bool local, uint64_t code,
                                   const uint8_t *reason, size_t reason_len)
{
    (void)s, (void)event, (void)local, (void)code, (void)reason, (void)reason_len;
}
static inline void wt_qlog_stream(wt_endpoint *ep, uint64_t session_id, uint64_t stream_id,
                                  bool bidi, bool local)
{
    (void)ep, (void)session_id, (void)stream_id, (void)bidi, (void)local;
}
static inline void wt_qlog_datagram(wt_session *s, bool sent, size_t len)
{
    (void)s, (void)sent, (void)len;
}
#endif

struct wt_stream {
    wt_endpoint *ep;
    wt_stream *next;
    wt_session *session; /* NULL while buffered (early stream) */
    uint64_t id;
    uint64_t session_id;
    void *user;
    bool bidi, local;
    bool recv_done, send_done;
    bool recv_stopped;    /* we sent STOP_SENDING: drop bytes until the peer's reset */
    uint64_t rx_body;     /* body bytes received and charged to the session (-13..-16 §5.4) */
    uint64_t tx_body;     /* body bytes given to h3 and charged to the session */
    bool app_closed;      /* the application heard on_stream_closed; wt still counts what
                             the peer sends until its reset or FIN (-13..-16 §5.4) */
    quince_buf held;      /* -13..-16 §5.4: written, waiting for session credit */
    bool held_fin;        /* the fin goes after the held bytes */
    quince_buf early;     /* bytes that came before the session (bounded by max_buffered_bytes) */
    size_t early_charged; /* early's allocation, charged to ep->budget */
    bool buf_fin;
    bool buf_reset;       /* reset by the peer while buffered; buf_final: its body's final size */
    uint64_t buf_final;
    bool dead;
};

struct wt_endpoint {
    const quince_env *env;
    wt_config cfg;
    h3_callbacks chain; /* the h3_conn's callbacks before wt took them over */
    wt_callbacks cb;
    h3_conn *h3;        /* the embedder's */
    bool peer_settings; /* the peer's SETTINGS arrived */
    quince_qlog *qlog;  /* the connection's trace (wt_endpoint_set_qlog), or NULL */
    /* What the peer makes us hold (early streams, datagrams queued for a session not
     * established yet, capsules being assembled) is charged here (NULL: nothing). */
    quince_budget *budget;
    bool closing_local; /* inside wt_session_close, for the qlog owner */
    bool peer_wt;       /* and they offer a dialect we speak */
    uint32_t common;    /* those dialects (WT_DIALECT_BIT) */
    bool no_peer_rsa;   /* the peer's transport parameters lack reset_stream_at */
    uint32_t fc_ours;   /* dialects whose flow control our SETTINGS declare */
    wt_session *sessions;
    size_t nsessions;
    wt_stream *streams;
    size_t nbuffered, buffered_bytes;
    int depth;
    wt_session *dead_sessions;
    wt_stream *dead_streams;
};

#endif
