/* Internal state of a QUIC connection (RFC 9000), shared by conn.c, conn_send.c and stream.c. */
#ifndef QUIC_CONN_INTERNAL_H
#define QUIC_CONN_INTERNAL_H

#include "base/buf.h"
#include "crypto/packet_protection.h"
#include "crypto/tls.h"
#include "quic/ack_tracker.h"
#include "quic/cc.h"
#include "quic/frame.h"
#include "quic/opt.h"
#include "quic/pacer.h"
#include "quic/packet.h"
#include "quic/pmtud.h"
#include "quic/qlog.h"
#include "quic/quic.h"
#include "quic/ranges.h"
#include "quic/recovery.h"
#include "quic/stream.h"
#include "quic/stream_buf.h"
#include "quic/transport_params.h"

/* Packet number spaces double as indices for the per-space state. */
enum { SP_INITIAL = 0, SP_HANDSHAKE = 1, SP_APP = 2, SP_COUNT = 3 };

typedef enum quic_conn_state {
    QUIC_STATE_HANDSHAKE = 0,
    QUIC_STATE_ESTABLISHED, /* handshake complete (client) or confirmed (server) */
    QUIC_STATE_CLOSING,     /* we sent CONNECTION_CLOSE (RFC 9000 §10.2.1) */
    QUIC_STATE_DRAINING,    /* the peer closed, or a stateless reset (§10.2.2) */
    QUIC_STATE_CLOSED,      /* nothing more to do */
} quic_conn_state;

/* What a sent packet carried that must be resent if it is lost (RFC 9000 §13.3). */
typedef enum quic_rec_kind {
    REC_CRYPTO = 1,
    REC_STREAM,
    REC_RESET_STREAM,
    REC_STOP_SENDING,
    REC_MAX_DATA,
    REC_MAX_STREAM_DATA,
    REC_MAX_STREAMS_BIDI,
    REC_MAX_STREAMS_UNI,
    REC_DATA_BLOCKED,
    REC_STREAM_DATA_BLOCKED,
    REC_NEW_CID,
    REC_RETIRE_CID,
    REC_HANDSHAKE_DONE,
    REC_NEW_TOKEN,
    REC_ACK,           /* largest acknowledged, for §13.2.4 */
    REC_ACK_FREQUENCY, /* its sequence number */
} quic_rec_kind;

typedef struct quic_frame_rec {
    uint8_t kind;
    bool fin;
    uint64_t id; /* stream id, CID sequence number, or largest acked */
    uint64_t offset;
    uint64_t len;
} quic_frame_rec;

typedef struct quic_sent_rec {
    uint8_t space;
    uint8_t n;
    quic_frame_rec f[];
} quic_sent_rec;

/* CRYPTO data of one level: everything TLS wrote, kept until the level is discarded. */
typedef struct quic_crypto_send {
    quince_buf data;   /* offset 0 is the level's first CRYPTO byte */
    uint64_t sent;     /* bytes sent at least once */
    quic_ranges retx;  /* lost ranges to resend */
    quic_ranges acked; /* acknowledged ranges: never resent */
} quic_crypto_send;

/* One packet number space (RFC 9000 §12.3). */
typedef struct quic_space {
    uint64_t next_pn;
    quic_ack_tracker ack;
    quic_crypto_send csend;
    quic_stream_buf crecv;
    bool discarded;
    bool ack_eliciting_probe; /* PTO: send an ack-eliciting packet here */
    unsigned probes;
    uint64_t ecn_rx[3]; /* packets received with ECT(0), ECT(1), CE (RFC 9000 §13.4.1) */
} quic_space;

/* A connection ID of ours (issued with NEW_CONNECTION_ID, RFC 9000 §5.1.1). */
typedef struct quic_local_cid {
    uint64_t seq;
    quic_cid_value cid;
    uint8_t reset_token[QUIC_STATELESS_RESET_TOKEN_LEN];
    bool in_use;
    bool need_send; /* NEW_CONNECTION_ID pending */
} quic_local_cid;

/* A connection ID the peer gave us. */
typedef struct quic_peer_cid {
    uint64_t seq;
    quic_cid_value cid;
    uint8_t reset_token[QUIC_STATELESS_RESET_TOKEN_LEN];
    bool has_token;
    bool in_use;
} quic_peer_cid;

#define QUIC_MAX_LOCAL_CIDS QUIC_OPT_MAX_LOCAL_CIDS
#define QUIC_MAX_PEER_CIDS QUIC_OPT_MAX_PEER_CIDS
#define QUIC_MAX_RETIRE_PENDING 16
#define QUIC_TP_ENCODED_MAX 512 /* our transport parameters, encoded (start_tls) */

/* One path validation in progress (RFC 9000 §8.2). */
typedef struct quic_path_check {
    bool active;
    bool send; /* a PATH_CHALLENGE is due */
    quic_addr addr;
    uint8_t data[QUIC_PATH_CHALLENGE_LEN];
    uint64_t interval, resend_at, deadline;
} quic_path_check;

typedef struct quic_dgram {
    struct quic_dgram *next;
    size_t len;
    uint8_t data[];
} quic_dgram;

struct quic_conn {
    const quince_env *env;
    void *user; /* the application's, never touched here */
    quic_config cfg;
    bool is_server;
    uint8_t crypto_speedups; /* RFC 9002 §6.2.3 early CRYPTO resends done */
    uint32_t version;      /* the version in use: Handshake and 1-RTT keys, long headers */
    uint32_t orig_version; /* RFC 9368: the client's first flight's (0-RTT, early Initials) */
    quic_cid_value initial_dcid; /* the DCID the Initial keys come from */
    /* Initial receive keys of orig_version after a switch to another version: a
     * server's until the Initial space goes (RFC 9369 §4.1); a client's while it tries
     * whether a packet of another version opens (quic/version.c). Allocated only
     * when the switch happens (NULL otherwise), so an idle connection does not carry it. */
    crypto_pp *rx_initial_orig;
    quic_conn_state state;
    quic_addr local, remote;

    /* Connection IDs. */
    quic_cid_value original_dcid; /* the client's first DCID: Initial keys, §7.3 */
    quic_cid_value initial_scid;  /* ours, in long headers */
    quic_cid_value retry_scid;
    bool retried;
    quic_cid_value peer_initial_scid; /* from the peer's first long header */
    bool have_peer_scid;
    quic_local_cid lcid[QUIC_MAX_LOCAL_CIDS];
    uint64_t lcid_next_seq;
    quic_peer_cid pcid[QUIC_MAX_PEER_CIDS];
    size_t pcid_cur; /* index of the DCID we send with */
    uint64_t pcid_retire_prior_to;
    uint64_t retire_pending[QUIC_MAX_RETIRE_PENDING];
    size_t n_retire_pending;
    uint8_t *token; /* client: Retry token to echo in Initials */
    size_t token_len;
    uint8_t reset_key[32]; /* stateless reset tokens: HMAC(reset_key, cid) */
    /* Server connections: the endpoint that demultiplexes to it (told when our CIDs change
     * and when the application gave us something to send) and our index in its table. */
    struct quic_endpoint *ep;
    size_t ep_slot;

    /* TLS and keys. */
    crypto_tls *tls;
    quic_transport_params peer_tp;
    crypto_pp tx[CRYPTO_LEVEL_COUNT], rx[CRYPTO_LEVEL_COUNT];
    bool have_tx[CRYPTO_LEVEL_COUNT], have_rx[CRYPTO_LEVEL_COUNT];
    /* RFC 9001 §6: 1-RTT key phases. */
    crypto_pp rx_next; /* keys for the next phase, derived ahead of time */
    crypto_pp rx_prev; /* previous phase, kept for reordered packets */
    uint64_t rx_prev_until;       /* drop rx_prev after this time */
    uint64_t rx_phase_first_pn;   /* first packet received in rx_phase */
    uint64_t key_update_first_pn; /* first packet sent in the current phase */
    uint64_t packets_in_phase;
    uint64_t aead_failures; /* 1-RTT packets that failed to open (RFC 9001 §6.6) */
    bool handshake_complete, handshake_confirmed;
    bool handshake_done_pending; /* server: HANDSHAKE_DONE to send */
    /* Server: the NEW_TOKEN token for this client (RFC 9000 §8.1.3), sent
     * after the handshake and again if lost; the first Initial had a token. */
    uint8_t new_token[64];
    size_t new_token_len;
    bool new_token_pending;
    bool initial_token_seen;
    /* Client 0-RTT (RFC 9001 §4.6): packets sent with the early keys, the
     * largest of their numbers, and whether a rejection was acted on. */
    bool sent_0rtt;
    bool early_rejected_done;
    uint64_t largest_0rtt_pn;
    uint8_t early_ctx[64]; /* server: what a ticket's 0-RTT depends on (RFC 9000 §7.4.1) */
    bool handshake_event_sent;
    bool initial_discarded_checked;
    /* Flags of the sections below, kept together so that they share one
     * aligned block instead of padding each uint64_t neighbour. */
    bool have_peer_tp;
    bool have_rx_next, have_rx_prev;
    bool key_phase;               /* phase bit of the keys we send with */
    bool rx_phase;                /* phase bit of the current receive keys */
    bool key_update_pending;      /* we updated; wait for an ack before another */
    bool probe_pending;  /* PTO probe owed */
    bool anti_deadlock;
    bool address_validated;
    bool ack_eliciting_sent_since_recv;
    bool close_pending; /* send CONNECTION_CLOSE on the next send */
    bool close_is_app;
    bool rx_hold;        /* a frame's bytes did not fit: leave its packet unacknowledged */
    bool budget_blocked; /* a write was cut short or credit held by the budget */
    bool need_max_data;
    bool need_data_blocked;
    bool have_rx_from;
    bool ack_freq_rx_any;                  /* the peer's: one applied */
    bool pending_ack_only; /* internal: the current packet needs no ACK */
    bool qlog_local_params_logged;

    quic_space sp[SP_COUNT];

    /* Recovery and congestion control. */
    quic_recovery rec;
    quic_cc cc;
    quic_pacer pacer;
    uint64_t max_udp_payload; /* ours and the peer's limit (MAX_PLPMTU) */
    quic_pmtud pmtud;         /* RFC 8899: what we send now (PLPMTU) */
    uint64_t pacer_wait; /* when the pacer lets the next packet go; NEVER: not waiting */

    /* Anti-amplification (RFC 9000 §8.1). */
    uint64_t bytes_received, bytes_sent;

    /* Timers. */
    uint64_t idle_timeout;  /* negotiated, microseconds; 0: none */
    uint64_t idle_deadline; /* QUIC_TIME_NEVER: none */
    uint64_t close_deadline; /* closing/draining end */
    uint64_t last_now;

    /* Closing. */
    uint64_t close_code;
    uint64_t close_frame_type;
    char close_reason[64];
    uint64_t close_resend_budget;
    int error; /* sticky fatal error */

    /* Streams and flow control (RFC 9000 §2-§4). */
    quic_stream_map streams;
    /* Memory a peer made us hold (quic_config.max_conn_memory); the endpoint's is its parent. */
    quince_budget mem;
    size_t sbuf_kept;    /* streams whose drained send buffer is kept (quic/stream.c) */
    uint64_t next_local_bidi, next_local_uni;             /* index of the next stream we open */
    uint64_t peer_max_streams_bidi, peer_max_streams_uni; /* how many we may open */
    uint64_t next_peer_bidi, next_peer_uni;               /* peer's streams seen so far (count) */
    uint64_t max_streams_bidi, max_streams_uni; /* how many the peer may open (advertised) */
    uint64_t closed_peer_bidi, closed_peer_uni; /* peer streams freed */
    bool need_max_streams_bidi, need_max_streams_uni;
    bool streams_blocked_bidi, streams_blocked_uni;
    /* Connection-level flow control. */
    uint64_t peer_max_data; /* what we may send */
    uint64_t data_sent;     /* new stream bytes sent */
    uint64_t max_data;      /* advertised to the peer */
    uint64_t max_data_window;
    uint64_t data_received; /* sum of the highest offsets received per stream */
    uint64_t data_read;     /* bytes the application consumed */
    uint64_t data_blocked_at;
    uint64_t rr_cursor; /* round-robin position among streams */

    /* DATAGRAM (RFC 9221). */
    quic_dgram *dgram_out_head, *dgram_out_tail;
    size_t dgram_out_count;
    uint8_t *dgram_in_hold; /* payload of the last polled DATAGRAM event */
    size_t dgram_in_hold_cost;

    /* Events. */
    quic_event *events;
    size_t ev_head, ev_count, ev_cap;
    quic_dgram *dgram_in_head, *dgram_in_tail;
    size_t dgram_in_count;

    quic_cid_value rx_dcid; /* DCID of the packet being processed */

    /* Paths (RFC 9000 §8.2, §9; quic/path.c). */
    quic_addr rx_from; /* source of the datagram being processed */
    size_t rx_len;
    bool rx_non_probing;         /* the packet being processed has a non-probing frame */
    bool rx_0rtt;                /* the packet being processed is a 0-RTT packet */
    quic_addr validated;         /* the last validated peer address (§9.3.2) */
    bool remote_unvalidated;     /* remote awaits validation: the 3x limit applies */
    uint64_t path_received, path_sent; /* bytes from and to the unvalidated remote */
    quic_cid_value path_dcid;    /* the DCID the peer uses on the current path */
    quic_path_check pc[2];       /* [0] the current remote, [1] the previous path (§9.3.3) */
    uint8_t rx_ecn;         /* ECN codepoint of the datagram being processed */
    bool dgram_ecn;         /* the datagram built last goes out ECT(0) */
    /* draft-ietf-quic-ack-frequency-12 */
    bool ack_freq_pending, ack_freq_asked; /* ours to send; sent at least once */
    uint64_t ack_freq_tx_seq;              /* sequence number of the next one */
    uint64_t ack_freq_rx_seq;
    bool rx_immediate_ack; /* the packet being processed carried IMMEDIATE_ACK */
    uint8_t path_response[QUIC_PATH_CHALLENGE_LEN];
    bool path_response_pending;
    quic_addr path_response_to;
    uint64_t path_response_budget;
    bool ping_pending; /* a PING after our own migration */
    /* Client, RFC 9000 §9.6: the server's preferred address: 0 not looked at, 1 not
     * used, 2 being validated, 3 moved there. */
    uint8_t pref_state;
    quic_addr pref_addr;

    /* Packets that came before their keys (RFC 9001 §4.1.4, §5.7), oldest first. */
    struct {
        uint8_t *data;
        size_t len;
        uint8_t ecn; /* its datagram's codepoint */
    } early[QUIC_OPT_EARLY_PACKETS];
    size_t early_count, early_bytes;

    /* Scratch for one received packet (unprotected in place): allocated for
     * one datagram, QUIC_OPT_RX_PACKET_BUFFER bytes or the configured
     * max_udp_payload when larger. */
    uint8_t *rxbuf;
    /* Scratch for one sent packet's frame records (QUIC_OPT_MAX_FRAMES_PER_PACKET of
     * them): allocated by the first packet built, kept while packets go out, freed when
     * quic_conn_send has nothing to send (quic/conn_send.c). */
    quic_frame_rec *tx_recs;

    /* qlog (quic/qlog.c): the trace, and what was last logged. */
    quince_qlog *qlog;
    uint64_t qlog_last_cwnd, qlog_last_srtt, qlog_last_inflight;
    const char *qlog_cc_state, *qlog_conn_state;

    /* Statistics for tests. */
    quic_conn_stats stats;
};

/* conn.c */
void quic_conn_set_error(quic_conn *c, uint64_t code, uint64_t frame_type, const char *reason);
void quic_conn_event(quic_conn *c, const quic_event *ev);
void quic_conn_on_packet_cb(void *user, int space, quic_recovery_event ev,
                            const quic_sent_packet *p);
void quic_conn_discard_space(quic_conn *c, int space, uint64_t now);
/* Our transport parameters, encoded into buf (0: they do not fit). */
size_t quic_conn_encode_tp(quic_conn *c, uint8_t *buf, size_t cap);
/* Congestion control as configured (quic/conn.c). */
void quic_conn_init_cc(quic_conn *c);
/* Free the packets kept for keys that never came (quic/conn_recv.c). */
void quic_conn_early_free(quic_conn *c);
void quic_conn_make_reset_token(const quic_conn *c, const quic_cid_value *cid, uint8_t *out);
quic_conn *quic_conn_new_common(const quince_env *env, const quic_config *config, bool is_server,
                                const quic_addr *local, const quic_addr *remote, uint64_t now);
uint64_t quic_conn_pto(const quic_conn *c);
void quic_conn_enter_draining(quic_conn *c, uint64_t code, bool is_app, const uint8_t *reason,
                              size_t reason_len, uint64_t now);
bool quic_conn_issue_cid(quic_conn *c, bool announce);
int quic_conn_set_initial_keys(quic_conn *c, const quic_cid_value *dcid);
quic_conn *quic_conn_server_new(const quince_env *env, const quic_config *config,
                                const quic_addr *local, const quic_addr *remote,
                                const quic_cid_value *dcid, const quic_cid_value *scid,
                                const quic_cid_value *odcid, const quic_cid_value *retry_scid,
                                uint64_t now);
void quic_conn_check_handshake(quic_conn *c, uint64_t now);
void quic_conn_on_handshake_done_frame(quic_conn *c, uint64_t now);
/* After a PMTU discovery step: stats, the congestion controller's datagram
 * size and qlog follow (old_cur and old_state from before the step). */
void quic_conn_pmtud_update(quic_conn *c, uint32_t old_cur, quic_pmtud_state old_state,
                            uint64_t now);

/* path.c */
bool quic_addr_equal(const quic_addr *a, const quic_addr *b);
/* A 1-RTT packet was processed: largest (its number is the largest yet),
 * non_probing (RFC 9000 §9.1), from c->rx_from. */
void quic_path_on_packet(quic_conn *c, bool largest, bool non_probing, uint64_t now);
void quic_path_before_frames(quic_conn *c, bool largest);
/* Client, handshake confirmed: start validating the server's preferred address. */
void quic_path_preferred_start(quic_conn *c, uint64_t now);
void quic_path_on_challenge(quic_conn *c, const uint8_t *data);
void quic_path_on_response(quic_conn *c, const uint8_t *data, uint64_t now);
uint64_t quic_path_next_timeout(const quic_conn *c);
void quic_path_on_timeout(quic_conn *c, uint64_t now);
size_t quic_path_send_budget(const quic_conn *c);
int quic_path_send(quic_conn *c, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now);

/* version.c (RFC 9368, RFC 9369 §4) */
/* Our version_information. */
void quic_version_fill_tp(const quic_conn *c, quic_transport_params *tp);
uint8_t *quic_conn_rx_buffer(quic_conn *c, size_t len);
/* The peer's transport parameters: the downgrade checks; a server may move to another
 * version here. QUIC_OK, or the error to close with. */
int quic_version_on_peer_tp(quic_conn *c, const quic_transport_params *tp);
/* A long-header packet whose version is not c->version: 1 to take it (*rx: other
 * Initial keys to open it with, or NULL), 0 to drop it. A client may follow the server
 * to that version here. */
int quic_version_on_packet(quic_conn *c, const quic_pkt_header *h, const uint8_t *pkt,
                           crypto_pp **rx);

/* conn_recv.c */
int quic_conn_process_frames(quic_conn *c, int space, quic_pkt_type type, const uint8_t *p,
                             size_t len, bool *ack_eliciting, uint64_t now);

/* conn_send.c */
int quic_conn_build_datagram(quic_conn *c, uint8_t *buf, size_t cap, uint64_t now);
int quic_conn_build_path_datagram(quic_conn *c, const uint8_t *frames, size_t len,
                                  const quic_addr *dest, size_t budget, quic_addr *to, uint8_t *buf,
                                  size_t cap, uint64_t now);

/* What a queued DATAGRAM costs the budget (its node and the allocator's header). */
static inline size_t quic_dgram_cost(size_t len)
{
    return sizeof(quic_dgram) + len + QUIC_STREAM_SEG_OVERHEAD;
}

/* stream.c: frames and send-side scheduling. */
int quic_stream_on_frame(quic_conn *c, const quic_frame *f, uint64_t now);
void quic_stream_on_rec(quic_conn *c, const quic_frame_rec *r, bool lost);
/* Write stream and flow-control frames into w; records what was written. */
/* A client's STREAM frames of a 0-RTT packet just built: their streams are marked early. */
void quic_stream_mark_early(quic_conn *c, const quic_frame_rec *recs, size_t n);
void quic_stream_write_frames(quic_conn *c, quince_writer *w, quic_frame_rec *recs, size_t *n,
                              size_t max_recs, bool *ack_eliciting);
bool quic_stream_has_pending(const quic_conn *c);
void quic_streams_init(quic_conn *c);
void quic_streams_free(quic_conn *c);
void quic_streams_on_peer_tp(quic_conn *c);
/* Memory went back to the budget: wake writers it cut short, grant credit it held. */
void quic_streams_on_budget_release(quic_conn *c);

/* quic/endpoint.c: a CID of ours was issued or retired; the application gave c something to
 * send (stream data, a reset, a close, read credit to announce). */
#if QUINCE_SERVER
void quic_endpoint_on_cid(struct quic_endpoint *ep, quic_conn *c, const quic_cid_value *cid,
                          bool added);
void quic_endpoint_wake(struct quic_endpoint *ep, quic_conn *c);
#else
/* A client-only build has no endpoint (quic/meson.build): c->ep stays NULL. */
static inline void quic_endpoint_on_cid(struct quic_endpoint *ep, quic_conn *c,
                                        const quic_cid_value *cid, bool added)
{
    (void)ep;
    (void)c;
    (void)cid;
    (void)added;
}
static inline void quic_endpoint_wake(struct quic_endpoint *ep, quic_conn *c)
{
    (void)ep;
    (void)c;
}
#endif
static inline void quic_conn_wake(quic_conn *c)
{
    if (c->ep != NULL)
        quic_endpoint_wake(c->ep, c);
}

#endif
