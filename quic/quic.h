/* Quince's public QUIC API: a sans-I/O connection and a server endpoint (RFC 9000). */
#ifndef QUIC_QUIC_H
#define QUIC_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "crypto/tls.h"

/*
 * Driving a connection (nothing here reads a clock or touches a socket):
 *
 *   client: c = quic_conn_client_new(env, &cfg, &local, &remote, now);
 *   server: ep = quic_endpoint_new(env, &cfg) and quic_endpoint_recv/send,
 *           or c = quic_conn_accept(env, &cfg, ..., first_datagram, len, now);
 *   loop:   on a datagram:   quic_conn_recv(c, &from, data, len, now);
 *           on the timer:    if (now >= quic_conn_next_timeout(c)) quic_conn_on_timeout(c, now);
 *           then events:     while (quic_conn_poll_event(c, &ev)) ... (read streams, write)
 *           then send:       while ((n = quic_conn_send(c, &to, buf, 1500, now)) > 0) sendto(...);
 *           and sleep until quic_conn_next_timeout(c) or the next datagram.
 *   end:    quic_conn_is_closed(c) after the CLOSED event and its closing or
 *           draining period; then quic_conn_free(c) (endpoints free their own).
 *
 * Limits default to quic/opt.h; every peer-controlled quantity is bounded and
 * violations close the connection with the RFC 9000 §20.1 code in the event.
 */

/* Time: microseconds on a monotonic clock chosen by the caller, everywhere. */
#define QUIC_TIME_NEVER UINT64_MAX

/* A UDP address, opaque to the core except for Retry-token binding and paths. */
typedef struct quic_addr {
    uint8_t family; /* 4 or 6 */
    uint8_t ip[16];
    uint16_t port;
} quic_addr;

/* Congestion controllers (quic/cc_*.c); 0 takes the default, CUBIC (RFC 9438)
 * with HyStart++ (RFC 9406). NewReno is RFC 9002 Appendix B's. */
typedef enum quic_cc_algo {
    QUIC_CC_DEFAULT = 0,
    QUIC_CC_CUBIC = 1,
    QUIC_CC_NEWRENO = 2,
} quic_cc_algo;

#define QUIC_MAX_VERSIONS 4

typedef struct quic_config {
    bool is_server;
    uint32_t version;      /* client: the version of its first flight; 0: QUIC v1 */
    /* Compatible version negotiation (RFC 9368, RFC 9369 §4), in order of preference,
     * 0-terminated. Client: the versions its first flight offers (Available Versions);
     * empty: every supported version, `version` first. Server: the versions it moves a
     * client to when the client offers them; empty: it keeps the client's version. */
    uint32_t versions[QUIC_MAX_VERSIONS];
    crypto_tls_config tls; /* ALPN, certificates, verification, suites, groups */
    /* Our transport parameters (RFC 9000 §18.2); 0 takes the default in quic/opt.h. */
    uint64_t max_idle_timeout_ms;
    uint64_t initial_max_data;
    uint64_t initial_max_stream_data_bidi_local;
    uint64_t initial_max_stream_data_bidi_remote;
    uint64_t initial_max_stream_data_uni;
    uint64_t initial_max_streams_bidi;
    uint64_t initial_max_streams_uni;
    uint64_t max_datagram_frame_size; /* 0: DATAGRAM not offered */
    /* Offer reset_stream_at (draft-ietf-quic-reliable-stream-reset; under both ids). */
    bool reset_stream_at;
    uint64_t active_connection_id_limit;
    uint8_t cid_len;      /* our connection IDs, 1..20; 0: 8 */
    bool zero_length_cid; /* client: an empty SCID (as Chromium does) */
    quic_cc_algo cc;
    bool retry; /* server endpoint: validate every client address with Retry */
    /* Server endpoint, against half-open floods (RFC 9000 §5.2.2, §8.1, §21.1); 0: the
     * defaults in quic/opt.h. A connection is half-open until its handshake completes.
     * Past max_connections, max_half_open or max_half_open_per_addr (one client IP, any
     * port) a new Initial is refused with CONNECTION_REFUSED; from retry_threshold
     * half-open connections on, Initials without a valid token get a Retry (as if retry
     * were set). Stateless resets and Version Negotiation packets are sent at most
     * stateless_reset_rate and vn_rate per second (bursts of as many). */
    size_t max_connections;
    size_t max_half_open;
    size_t max_half_open_per_addr;
    size_t retry_threshold;
    uint32_t stateless_reset_rate;
    uint32_t vn_rate;
    uint64_t key_update_after_packets; /* 0: only when asked; otherwise initiate periodically */
    /* Limits on what a peer can make us hold (docs/ARCHITECTURE.md "Limits"). 0: defaults. */
    size_t max_crypto_buffer;
    size_t max_stream_buffer;
    size_t max_datagram_queue;
    size_t max_ack_ranges;
    /* Memory budgets (docs/ARCHITECTURE.md "Limits"): everything a peer can make a
     * connection hold (stream send and receive buffers, reassembly, CRYPTO, DATAGRAM
     * queues) is charged to max_conn_memory; an endpoint's connections together to
     * max_endpoint_memory. When one is reached the peer is held: no more flow-control
     * credit, packets whose bytes do not fit are left unacknowledged (the peer sends
     * them again), writes are short, incoming DATAGRAMs are dropped (RFC 9221 §5). */
    size_t max_conn_memory;
    size_t max_endpoint_memory;
    bool qlog; /* emit JSON-SEQ through env->qlog */
    /* Key for stateless reset tokens (RFC 9000 §10.3.2): HMAC-SHA256(key, CID).
     * An endpoint shares it among its connections; all zero: a random one. */
    uint8_t reset_key[32];
    uint64_t initial_rtt_ms; /* 0: 333 ms (RFC 9002 §6.2.2) */
    bool disable_active_migration; /* server: ask clients not to migrate (RFC 9000 §18.2) */
    /* Client: stay on the handshake's address when the server offers a
     * preferred_address (RFC 9000 §9.6); by default the client validates it
     * once the handshake is confirmed and moves there. */
    bool ignore_preferred_address;
    /* RFC 9000 §14, RFC 8899: the largest UDP payload we accept (advertised as
     * max_udp_payload_size) and the ceiling of path MTU discovery, which starts
     * every path at 1200 bytes. 0: QUIC_OPT_MAX_UDP_PAYLOAD (1452). */
    uint32_t max_udp_payload;
    bool no_pmtud; /* never probe: every datagram stays within 1200 bytes */
    /* Address-validation tokens (RFC 9000 §8.1.3). Server endpoint: send each
     * client a NEW_TOKEN once the handshake is done (valid
     * QUIC_OPT_NEW_TOKEN_LIFETIME_S, for the client's IP address), and take
     * such tokens in place of a Retry. Client: the token to put in its
     * Initials (copied; from an earlier connection to the same server), and
     * where the server's NEW_TOKEN tokens go (valid during the call). */
    bool new_tokens;
    const uint8_t *token;
    size_t token_len;
    void (*on_new_token)(void *user, const uint8_t *token, size_t len);
    void *new_token_user;
    bool no_ecn; /* do not mark ECT(0) (RFC 9000 §13.4); counts are still reported */
    /* Reduce the window on every loss episode, as RFC 9002 §7.3.2 does, instead
     * of only when losses cluster or the RTT shows a queue (quic/cc.h). */
    bool no_loss_tolerance;
    /* draft-ietf-quic-ack-frequency-12: when the peer takes ACK_FREQUENCY
     * (its min_ack_delay), ask it for one ACK per this many ack-eliciting
     * packets (0: do not ask; we always take the peer's requests). */
    uint32_t ack_frequency;
} quic_config;

typedef enum quic_event_type {
    QUIC_EVENT_HANDSHAKE_DONE = 1,
    QUIC_EVENT_STREAM_OPENED,       /* the peer opened stream_id */
    QUIC_EVENT_STREAM_READABLE,     /* data or FIN to read; comes again only after a read:
                                       read until quic_stream_read returns 0 */
    QUIC_EVENT_STREAM_WRITABLE,     /* send buffer room again after a short write */
    QUIC_EVENT_STREAM_RESET,        /* peer RESET_STREAM (or RESET_STREAM_AT, after the
                                       reliable bytes): error_code, final_size */
    QUIC_EVENT_STREAM_STOP_SENDING, /* peer STOP_SENDING: error_code */
    QUIC_EVENT_DATAGRAM,            /* data/len valid until the next poll */
    QUIC_EVENT_CLOSED,              /* error_code, is_app, by_peer, reason in data/len;
                                       idle timeouts and stateless resets set error_code 0
                                       and by_peer false. quic_conn_is_closed() turns true
                                       once the closing or draining period ends. */
} quic_event_type;

typedef struct quic_event {
    quic_event_type type;
    uint64_t stream_id;
    uint64_t error_code;
    bool is_app;
    bool by_peer;
    const uint8_t *data;
    size_t len;
    /* STREAM_RESET: the stream's final size (RFC 9000 §4.5), which counts the
     * bytes the reset cut off; layers above charge their own flow control with
     * it (WebTransport -13..-16 §5.4). */
    uint64_t final_size;
} quic_event;

typedef struct quic_conn quic_conn;

/* Counters, for tests and tools. */
typedef struct quic_conn_stats {
    uint64_t packets_sent, packets_received, packets_dropped, packets_lost;
    uint64_t bytes_sent, bytes_received;
    uint64_t key_updates;       /* key phase changes (ours and the peer's) */
    uint64_t stateless_resets;  /* 1 if the connection ended by one */
    uint64_t packets_buffered;  /* kept until their keys arrived (RFC 9001 §4.1.4) */
    uint64_t packets_held;      /* left unacknowledged: their bytes passed the memory budget */
    size_t memory, memory_peak; /* bytes charged to the connection's budget, now and at most */
    /* Path MTU discovery (RFC 8899): the largest datagram now sent (the
     * PLPMTU, a UDP payload size), probes sent and lost, black holes found. */
    uint64_t pmtu;
    uint64_t pmtu_probes_sent, pmtu_probes_lost, pmtu_black_holes;
    /* Paths (RFC 9000 §8.2, §9): address changes followed (the peer's, or
     * our own quic_conn_migrate), PATH_CHALLENGEs sent, validations that
     * succeeded and that timed out. */
    uint64_t migrations, path_challenges_sent, paths_validated, path_failures;
    uint64_t packets_lost_spurious; /* declared lost, acknowledged later */
    uint64_t congestion_events;     /* congestion window reductions */
    uint64_t congestion_events_undone; /* reductions undone: their losses were spurious */
    uint64_t ack_frames_sent;          /* ACK frames we sent (RFC 9000 §13.2) */
    uint64_t ack_eliciting_received;   /* ack-eliciting packets we received */
    uint64_t ecn_ce_received;          /* packets that arrived marked CE */
    uint64_t ecn_ce_reported;          /* CE count the peer reported (application space) */
    bool ecn_failed;                   /* our ECT(0) marking failed validation */
    /* RFC 9368: the version of the client's first flight and the one in use. */
    uint32_t original_version, version;
} quic_conn_stats;

/* A client connection; the first quic_conn_send produces its Initial. Returns
 * NULL on bad configuration or out of memory. */
QUINCE_API quic_conn *quic_conn_client_new(const quince_env *env, const quic_config *config,
                                           const quic_addr *local, const quic_addr *remote,
                                           uint64_t now);
/* A server connection for a client's first datagram (an Initial of a supported version, at least
 * 1200 bytes): the datagram is processed. Returns the connection, or NULL if the datagram is not
 * acceptable or out of memory. quic_endpoint does this for many connections on one socket. */
QUINCE_API quic_conn *quic_conn_accept(const quince_env *env, const quic_config *config,
                                       const quic_addr *local, const quic_addr *remote,
                                       const uint8_t *data, size_t len, uint64_t now);
/* Frees the connection and everything it holds (NULL: nothing to do). */
QUINCE_API void quic_conn_free(quic_conn *conn);
struct quince_qlog;
/* The connection's qlog trace (base/qlog.h), for the layers above: the binding
 * hands it to h3_conn_set_qlog and wt_endpoint_set_qlog so that one file holds
 * every layer's events. NULL when the connection is not logged.
 * Returns that trace, or NULL. */
QUINCE_API struct quince_qlog *quic_conn_qlog(const quic_conn *conn);
struct quince_budget;
/* The connection's memory budget (base/budget.h, quic_config.max_conn_memory), for the
 * layers above: the binding hands it to h3_conn_set_budget and wt_endpoint_set_budget so
 * that what HTTP/3 and WebTransport hold for the peer is charged with QUIC's own buffers.
 * Returns the budget, which lives as long as conn; NULL only when conn is NULL. */
QUINCE_API struct quince_budget *quic_conn_budget(quic_conn *conn);

/* One received UDP payload. Bad packets are dropped silently (RFC 9000 §12.2);
 * a negative return means the connection failed (see the CLOSED event). */
QUINCE_API int quic_conn_recv(quic_conn *conn, const quic_addr *from, const uint8_t *data,
                              size_t len, uint64_t now);
/* ECN codepoints, the low two bits of the IP TOS / traffic class (RFC 3168). */
enum { QUIC_ECN_NOT_ECT = 0, QUIC_ECN_ECT1 = 1, QUIC_ECN_ECT0 = 2, QUIC_ECN_CE = 3 };
/* quic_conn_recv with the ECN codepoint the datagram arrived with, which the
 * connection counts and reports in ACK_ECN frames (RFC 9000 §13.4.1).
 * Returns what quic_conn_recv returns: 0, or < 0 when the connection failed (see the
 * CLOSED event); QUIC_ERR_ARGUMENT when conn or data is NULL. */
QUINCE_API int quic_conn_recv_ecn(quic_conn *conn, const quic_addr *from, const uint8_t *data,
                                  size_t len, uint8_t ecn, uint64_t now);
/* The ECN codepoint for the datagram quic_conn_send wrote last (RFC 9000 §13.4.2).
 * Returns QUIC_ECN_ECT0 for 1-RTT datagrams while ECN is on and has not failed
 * validation, else QUIC_ECN_NOT_ECT (also when conn is NULL); never fails. */
QUINCE_API uint8_t quic_conn_ecn(const quic_conn *conn);
/* Build the next datagram (coalesced packets) into buf; returns its size, 0
 * when there is nothing to send now (congestion window, pacing, amplification
 * limit, or nothing pending), QUIC_ERR_ARGUMENT. The caller loops until 0
 * and calls again after recv, on_timeout or any stream/datagram write.
 * cap should be at least 1200 (Initial datagrams are padded to 1200). */
QUINCE_API int quic_conn_send(quic_conn *conn, quic_addr *to, uint8_t *buf, size_t cap,
                              uint64_t now);
/* Returns the absolute time of the next timer (loss, PTO, ACK delay, pacing, idle,
 * closing/draining), or QUIC_TIME_NEVER. Call quic_conn_on_timeout when it passes, then send. */
QUINCE_API uint64_t quic_conn_next_timeout(const quic_conn *conn);
/* Runs the timers that are due at now. Returns QUIC_OK (a connection that fails or times out
 * reports it with the CLOSED event), QUIC_ERR_ARGUMENT for a NULL connection. */
QUINCE_API int quic_conn_on_timeout(quic_conn *conn, uint64_t now);
/* Returns true with the next event in *ev, false when there is none. Event data stays valid
 * until the next poll. */
QUINCE_API bool quic_conn_poll_event(quic_conn *conn, quic_event *ev);

/* RFC 9000 §2.1: the next stream of ours. Returns QUIC_OK with its ID in *stream_id;
 * QUIC_ERR_LIMIT when the peer's MAX_STREAMS does not allow one yet (STREAMS_BLOCKED is sent;
 * retry after more data flowed), QUIC_ERR_ARGUMENT when closing, QUIC_ERR_NOMEM. */
QUINCE_API int quic_conn_open_stream(quic_conn *conn, bool bidi, uint64_t *stream_id);
/* Returns bytes accepted into the stream's send buffer (max_stream_buffer
 * unacknowledged bytes; fewer than len when full: a WRITABLE event follows
 * when room returns, and fin is then ignored), or QUIC_ERR_ARGUMENT (unknown
 * stream, receive-only, after FIN or reset, connection closing). Flow
 * control is applied when sending. */
QUINCE_API int64_t quic_stream_write(quic_conn *conn, uint64_t stream_id, const uint8_t *data,
                                     size_t len, bool fin);
/* Returns bytes read (0: nothing now; *fin set at the end, after which the
 * stream may be forgotten), QUIC_ERR_STREAM_STATE after the peer's
 * RESET_STREAM (the RESET event carries its code), QUIC_ERR_ARGUMENT for an
 * unknown or send-only stream. Reading opens the flow-control windows. */
QUINCE_API int64_t quic_stream_read(quic_conn *conn, uint64_t stream_id, uint8_t *buf, size_t cap,
                                    bool *fin);
/* FIN after what was written (quic_stream_write with len 0 and fin). Returns QUIC_OK, or
 * QUIC_ERR_ARGUMENT as quic_stream_write. */
QUINCE_API int quic_stream_shutdown(quic_conn *conn, uint64_t stream_id);
/* RFC 9000 §3.5: RESET_STREAM (our sending side) / STOP_SENDING (the peer's) with an application
 * code. Returns QUIC_OK, or QUIC_ERR_ARGUMENT for an unknown stream or one without that side. */
QUINCE_API int quic_stream_reset(quic_conn *conn, uint64_t stream_id, uint64_t app_error);
QUINCE_API int quic_stream_stop_sending(quic_conn *conn, uint64_t stream_id, uint64_t app_error);
/* draft-ietf-quic-reliable-stream-reset-10 §5: reset, but the first
 * reliable_size bytes are still delivered (retransmitted until acknowledged).
 * reliable_size must not exceed what was already sent once; a second call
 * may only lower it (0: a plain reset). QUIC_ERR_STREAM_STATE when the peer
 * did not offer reset_stream_at or reliable_size is beyond what was sent.
 * Returns QUIC_OK, or QUIC_ERR_ARGUMENT for an unknown stream or one without a sending side. */
QUINCE_API int quic_stream_reset_at(quic_conn *conn, uint64_t stream_id, uint64_t app_error,
                                    uint64_t reliable_size);
/* Returns whether the peer offered reset_stream_at (false before its transport parameters). */
QUINCE_API bool quic_conn_peer_reset_stream_at(const quic_conn *conn);
/* RFC 9000 §4.5: once our sending side is reset (by us, or for the peer's STOP_SENDING), the
 * final size its RESET_STREAM (_AT) carries: the bytes sent, not all those written. Returns
 * QUIC_OK with it in *final_size; QUIC_ERR_STREAM_STATE when the side is not reset,
 * QUIC_ERR_ARGUMENT for an unknown stream or one without a sending side. */
QUINCE_API int quic_stream_reset_final_size(const quic_conn *conn, uint64_t stream_id,
                                            uint64_t *final_size);

/* RFC 9221: queue one DATAGRAM (never retransmitted). Returns QUIC_OK; QUIC_ERR_ARGUMENT when
 * not negotiated or too big (see max_datagram_payload), QUIC_ERR_LIMIT when max_datagram_queue
 * datagrams wait already. */
QUINCE_API int quic_conn_send_datagram(quic_conn *conn, const uint8_t *data, size_t len);
/* Returns the largest DATAGRAM payload the peer takes now: 0 until its transport parameters
 * allow DATAGRAM. */
QUINCE_API size_t quic_conn_max_datagram_payload(const quic_conn *conn);

/* RFC 9000 §9.2: a client moves to a new local address (new socket, new
 * port, new interface): the next packets use a connection ID the server gave
 * and not used before, carry a PING so that the server follows, and a
 * PATH_CHALLENGE checks the new path; congestion state restarts unless only
 * the port changed (§9.4). The caller sends from the new address from now
 * on. QUIC_ERR_ARGUMENT on a server, before the handshake is confirmed or
 * when the server sent disable_active_migration; QUIC_ERR_LIMIT when the
 * server has given no spare connection ID yet.
 * Returns QUIC_OK when the move started. */
QUINCE_API int quic_conn_migrate(quic_conn *conn, const quic_addr *local, uint64_t now);
/* RFC 9000 §19.2: an ack-eliciting PING in the next packet, to learn whether the
 * peer is still there (a restarted peer answers it with a stateless reset, §10.3).
 * Returns QUIC_OK, or QUIC_ERR_ARGUMENT unless the connection is established. */
QUINCE_API int quic_conn_ping(quic_conn *conn);
/* Returns the peer's address that packets go to now (after a migration or a move
 * to the server's preferred address, RFC 9000 §9), valid while the connection
 * lives; NULL for NULL. */
QUINCE_API const quic_addr *quic_conn_remote(const quic_conn *conn);

/* RFC 9000 §10.2: CONNECTION_CLOSE (0x1d; 0x1c APPLICATION_ERROR before 1-RTT), then the closing
 * period (3 PTO). Returns QUIC_OK, or QUIC_ERR_ARGUMENT for a NULL connection. */
QUINCE_API int quic_conn_close(quic_conn *conn, uint64_t app_error, const char *reason,
                               uint64_t now);
/* RFC 9001 §6: start a key update. Returns QUIC_OK; QUIC_ERR_ARGUMENT before the handshake is
 * confirmed or while the previous update is unacknowledged. */
QUINCE_API int quic_conn_key_update(quic_conn *conn);
/* Returns true once the connection is closed for good (its closing or draining period over, or
 * never opened). */
QUINCE_API bool quic_conn_is_closed(const quic_conn *conn);
/* Returns true when there is nothing to send and nothing ack-eliciting unacknowledged (or the
 * connection is not open): what was written has been delivered. */
QUINCE_API bool quic_conn_is_idle(const quic_conn *conn);
/* Returns the negotiated ALPN, or NULL before the handshake chose one. */
QUINCE_API const char *quic_conn_alpn(const quic_conn *conn);
/* Returns the connection's TLS engine (crypto/tls.h: suite, group, the peer's certificate
 * chain), or NULL before it exists. */
QUINCE_API const crypto_tls *quic_conn_tls(const quic_conn *conn);
/* Client: what is written now goes in 0-RTT (RFC 9001 §4.6.1): a resumed
 * session allows it, it was offered and not refused, and the handshake is
 * not complete yet. Only data that is safe to replay belongs there (RFC 8446
 * §8, RFC 9114 §10.9: e.g. GET requests, never a WebTransport CONNECT).
 * Returns true while that holds. */
QUINCE_API bool quic_conn_early_data_ready(const quic_conn *conn);
/* RFC 9001 §4.6.1: returns whether bytes of the stream travelled in 0-RTT packets. On a server:
 * some of what it received came in 0-RTT, so a replayed first flight could bring it again (RFC
 * 8470 §5.2: such a request may be answered 425). On a client: some of what we sent went in
 * 0-RTT. False for an unknown or forgotten stream. */
QUINCE_API bool quic_stream_early(const quic_conn *conn, uint64_t stream_id);
/* Returns the name of a transport error code (RFC 9000 §20.1): "PROTOCOL_VIOLATION";
 * "CRYPTO_ERROR" for 0x0100-0x01ff (the low byte is a TLS alert, crypto_alert_name); NULL for
 * codes no RFC defines. */
QUINCE_API const char *quic_transport_error_name(uint64_t code);
/* The RTT estimates (RFC 9002 §5), microseconds: smoothed and minimum. Returns
 * false (the values are the initial guesses) before the first sample. */
QUINCE_API bool quic_conn_get_rtt(const quic_conn *conn, uint64_t *smoothed, uint64_t *min);
/* Returns true once the handshake completed and the connection is open (not closing). */
QUINCE_API bool quic_conn_is_established(const quic_conn *conn);
/* Returns the connection's counters (never NULL for a connection; NULL for NULL). */
QUINCE_API const quic_conn_stats *quic_conn_get_stats(const quic_conn *conn);
/* An application pointer kept with the connection (NULL until set), for
 * finding one's own state from a connection an endpoint hands out. */
QUINCE_API void quic_conn_set_user(quic_conn *conn, void *user);
/* Returns the pointer quic_conn_set_user kept, NULL until set. */
QUINCE_API void *quic_conn_get_user(const quic_conn *conn);

/* Server: one endpoint for many connections on one socket, demultiplexed by DCID. */
typedef struct quic_endpoint quic_endpoint;
/* Returns a new endpoint (config as for quic_conn_accept, is_server set), or NULL on bad
 * configuration or out of memory. */
QUINCE_API quic_endpoint *quic_endpoint_new(const quince_env *env, const quic_config *config);
/* Frees the endpoint and its connections (on_conn_free for each). */
QUINCE_API void quic_endpoint_free(quic_endpoint *ep);
/* One datagram that arrived at to from from: demultiplexed to its connection (or answered
 * statelessly, or dropped). Returns QUIC_OK, or QUIC_ERR_ARGUMENT for NULL arguments. */
QUINCE_API int quic_endpoint_recv(quic_endpoint *ep, const quic_addr *from, const quic_addr *to,
                                  const uint8_t *data, size_t len, uint64_t now);
/* quic_endpoint_recv with the ECN codepoint the datagram arrived with (QUIC_ECN_*), which its
 * connection counts and reports in ACK_ECN frames (RFC 9000 §13.4.1). Returns QUIC_OK, or
 * QUIC_ERR_ARGUMENT for NULL arguments. */
QUINCE_API int quic_endpoint_recv_ecn(quic_endpoint *ep, const quic_addr *from,
                                      const quic_addr *to, const uint8_t *data, size_t len,
                                      uint8_t ecn, uint64_t now);
/* Next datagram from any connection or a stateless reply (VN, Retry, reset). Returns its size, 0
 * when there is nothing to send now, or QUIC_ERR_ARGUMENT. */
QUINCE_API int quic_endpoint_send(quic_endpoint *ep, quic_addr *to, uint8_t *buf, size_t cap,
                                  uint64_t now);
/* Returns the earliest timer of the endpoint's connections, or QUIC_TIME_NEVER. */
QUINCE_API uint64_t quic_endpoint_next_timeout(const quic_endpoint *ep);
/* Runs the connections' due timers and frees the closed ones. Returns QUIC_OK, or
 * QUIC_ERR_ARGUMENT for a NULL endpoint. */
QUINCE_API int quic_endpoint_on_timeout(quic_endpoint *ep, uint64_t now);
/* A connection created since the last call (its handshake may still be running).
 * The endpoint owns its connections: quic_endpoint_on_timeout frees those
 * for which quic_conn_is_closed() is true, so stop using a connection once
 * its CLOSED event was seen and its closing period may have ended.
 * Returns it, or NULL when there is none. */
QUINCE_API quic_conn *quic_endpoint_accept(quic_endpoint *ep);
/* The endpoint's live connections, for serving their events (valid until the next
 * quic_endpoint_on_timeout or quic_endpoint_recv): quic_endpoint_conn_count returns how many,
 * quic_endpoint_conn_at returns connection i (NULL when i is out of range). */
QUINCE_API size_t quic_endpoint_conn_count(const quic_endpoint *ep);
QUINCE_API quic_conn *quic_endpoint_conn_at(const quic_endpoint *ep, size_t i);

/*
 * Connection lifetimes told as they happen, so that an embedder keeps its own
 * state per connection without rescanning the endpoint (bind/bind.h does).
 * Both run inside endpoint calls; they may use the connection (poll its
 * events, write to its streams) but must not free it or the endpoint.
 */
typedef struct quic_endpoint_callbacks {
    void *user;
    /* A connection was created for a client's first Initial, which it has
     * processed already (its events wait to be polled). */
    void (*on_conn_new)(void *user, quic_conn *conn);
    /* The endpoint frees conn when this returns: its closing or draining
     * period ended (quic_endpoint_on_timeout) or the endpoint is freed.
     * Events still queued can be polled here. */
    void (*on_conn_free)(void *user, quic_conn *conn);
    /* conn's timer fired in quic_endpoint_on_timeout (and it lives on): its events wait
     * to be polled. Only the connections whose time came are told, so that a caller
     * serves those and not every connection. */
    void (*on_conn_timer)(void *user, quic_conn *conn);
} quic_endpoint_callbacks;
/* cb is copied; NULL removes the callbacks. Connections announced through
 * on_conn_new are not returned by quic_endpoint_accept. */
QUINCE_API void quic_endpoint_set_callbacks(quic_endpoint *ep, const quic_endpoint_callbacks *cb);
/* Returns the connection the last quic_endpoint_recv gave its datagram to (found by its DCID, or
 * created), NULL when it was answered statelessly or dropped: the one connection whose events
 * that datagram can have produced. */
QUINCE_API quic_conn *quic_endpoint_last_conn(const quic_endpoint *ep);
/* Returns the ECN codepoint to send the datagram the last quic_endpoint_send wrote with (as
 * quic_conn_ecn for its connection; QUIC_ECN_NOT_ECT for stateless replies and for NULL);
 * never fails. */
QUINCE_API uint8_t quic_endpoint_ecn(const quic_endpoint *ep);

/* Counters of an endpoint, for tests and tools. */
typedef struct quic_endpoint_stats {
    uint64_t datagrams, dropped, version_negotiations, retries, stateless_resets, accepted;
    uint64_t invalid_tokens;      /* Initials answered with INVALID_TOKEN (RFC 9000 §8.1.3) */
    uint64_t new_tokens_accepted; /* Initials whose NEW_TOKEN token validated the address */
    uint64_t refused;             /* Initials answered with CONNECTION_REFUSED (RFC 9000 §5.2.2) */
    uint64_t rate_limited;        /* stateless resets and VN packets not sent (rate limits) */
    size_t half_open;             /* connections whose handshake is not complete */
    size_t memory;                /* bytes charged to the endpoint's budget (both as of the
                                     last new Initial) */
    size_t connections;
} quic_endpoint_stats;
/* Returns the endpoint's counters (NULL for NULL). */
QUINCE_API const quic_endpoint_stats *quic_endpoint_get_stats(const quic_endpoint *ep);

#endif
