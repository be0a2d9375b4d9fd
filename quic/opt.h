/* Compile-time defaults for every limit and option of quic/ (lwIP opt.h style). */
#ifndef QUIC_OPT_H
#define QUIC_OPT_H

#include "base/opt.h"

/*
 * Each value is the default a zero field of quic_config stands for. Override
 * any of them by defining it before this header is included (for example in
 * a header named by -include on the compiler command line).
 */

#ifndef QUIC_OPT_MAX_IDLE_TIMEOUT_MS
#define QUIC_OPT_MAX_IDLE_TIMEOUT_MS 30000
#endif
#ifndef QUIC_OPT_INITIAL_MAX_DATA
#define QUIC_OPT_INITIAL_MAX_DATA (1024 * 1024)
#endif
#ifndef QUIC_OPT_INITIAL_MAX_STREAM_DATA
#define QUIC_OPT_INITIAL_MAX_STREAM_DATA (256 * 1024)
#endif
#ifndef QUIC_OPT_INITIAL_MAX_STREAMS_BIDI
#define QUIC_OPT_INITIAL_MAX_STREAMS_BIDI 100
#endif
#ifndef QUIC_OPT_INITIAL_MAX_STREAMS_UNI
#define QUIC_OPT_INITIAL_MAX_STREAMS_UNI 100
#endif
#ifndef QUIC_OPT_ACTIVE_CONNECTION_ID_LIMIT
#define QUIC_OPT_ACTIVE_CONNECTION_ID_LIMIT 4 /* also the most peer CIDs we keep */
#endif
/* Connection IDs a connection holds: ours (issued, not yet retired) and the
 * peer's (at least QUIC_OPT_ACTIVE_CONNECTION_ID_LIMIT). */
#ifndef QUIC_OPT_MAX_LOCAL_CIDS
#define QUIC_OPT_MAX_LOCAL_CIDS 8
#endif
#ifndef QUIC_OPT_MAX_PEER_CIDS
#define QUIC_OPT_MAX_PEER_CIDS 8
#endif
#ifndef QUIC_OPT_CID_LEN
#define QUIC_OPT_CID_LEN 8
#endif
/* RFC 9001 §4.1.4, §5.7: packets kept until their keys arrive, per connection. */
#ifndef QUIC_OPT_EARLY_PACKETS
#define QUIC_OPT_EARLY_PACKETS 4
#endif
#ifndef QUIC_OPT_EARLY_BYTES
#define QUIC_OPT_EARLY_BYTES (16 * 1024)
#endif
#ifndef QUIC_OPT_MAX_CRYPTO_BUFFER
#define QUIC_OPT_MAX_CRYPTO_BUFFER (64 * 1024) /* per level, out-of-order included */
#endif
#ifndef QUIC_OPT_MAX_STREAM_SEND_BUFFER
#define QUIC_OPT_MAX_STREAM_SEND_BUFFER (1024 * 1024) /* unacknowledged bytes per stream */
#endif
/* A stream's send ring starts at this size, doubles up to the limit above, and
 * is freed whenever everything written has been acknowledged. */
#ifndef QUIC_OPT_STREAM_SEND_BUFFER_FIRST
#define QUIC_OPT_STREAM_SEND_BUFFER_FIRST 4096
#endif
/* Hash buckets of a connection's stream table (a pointer each). */
#ifndef QUIC_OPT_STREAM_BUCKETS
#define QUIC_OPT_STREAM_BUCKETS 64
#endif
#ifndef QUIC_OPT_MAX_DATAGRAM_QUEUE
#define QUIC_OPT_MAX_DATAGRAM_QUEUE 64 /* DATAGRAM frames queued each way */
#endif
/* Memory budgets: what peers can make us hold, per connection and per endpoint. */
#ifndef QUIC_OPT_MAX_CONN_MEMORY
#define QUIC_OPT_MAX_CONN_MEMORY (2 * 1024 * 1024)
#endif
#ifndef QUIC_OPT_MAX_ENDPOINT_MEMORY
#define QUIC_OPT_MAX_ENDPOINT_MEMORY (256 * 1024 * 1024)
#endif
#ifndef QUIC_OPT_MAX_ACK_RANGES
#define QUIC_OPT_MAX_ACK_RANGES 32
#endif
/* Ranges the application space's ACK tracker may grow to on the heap when reordering leaves
 * more gaps than QUIC_OPT_MAX_ACK_RANGES (a burst spread over a few ms of jitter leaves one
 * every few packets); 0: never grow. Without room, the oldest range is forgotten and later
 * packets below it are dropped as duplicates (RFC 9000 §13.2.3). */
#ifndef QUIC_OPT_MAX_ACK_RANGES_GROWN
#define QUIC_OPT_MAX_ACK_RANGES_GROWN 512
#endif
#ifndef QUIC_OPT_MAX_EVENTS
#define QUIC_OPT_MAX_EVENTS 4096 /* pending events; beyond it READABLE/WRITABLE coalesce */
#endif
#ifndef QUIC_OPT_MAX_SENT_PACKETS
#define QUIC_OPT_MAX_SENT_PACKETS 8192 /* per packet number space */
#endif
#ifndef QUIC_OPT_MAX_UDP_PAYLOAD
#define QUIC_OPT_MAX_UDP_PAYLOAD 1452 /* what we send and advertise */
#endif
/* The largest packet we decrypt by default: the per-connection receive scratch,
 * allocated for one datagram (a connection configured with a larger
 * max_udp_payload, for path MTU discovery above Ethernet, gets that much).
 * Larger packets are dropped; a peer sends at most our max_udp_payload_size
 * once it has our transport parameters, and an Ethernet path carries at most
 * 1472 bytes of UDP payload. */
#ifndef QUIC_OPT_RX_PACKET_BUFFER
#define QUIC_OPT_RX_PACKET_BUFFER 1500
#endif
#if QUIC_OPT_RX_PACKET_BUFFER < QUIC_OPT_MAX_UDP_PAYLOAD
#error "QUIC_OPT_RX_PACKET_BUFFER must hold a packet of QUIC_OPT_MAX_UDP_PAYLOAD bytes"
#endif
#ifndef QUIC_OPT_ACK_DELAY_EXPONENT
#define QUIC_OPT_ACK_DELAY_EXPONENT 3
#endif
#ifndef QUIC_OPT_MAX_ACK_DELAY_MS
#define QUIC_OPT_MAX_ACK_DELAY_MS 25
#endif
/* min_ack_delay we advertise (draft-ietf-quic-ack-frequency-12 §3): the
 * shortest max_ack_delay a peer may ask of us, in microseconds. */
#ifndef QUIC_OPT_MIN_ACK_DELAY_US
#define QUIC_OPT_MIN_ACK_DELAY_US 1000
#endif
#ifndef QUIC_OPT_CRYPTO_SPEEDUPS
#define QUIC_OPT_CRYPTO_SPEEDUPS 4 /* server: early CRYPTO resends per connection (RFC 9002 §6.2.3) */
#endif
#ifndef QUIC_OPT_MAX_FRAMES_PER_PACKET
#define QUIC_OPT_MAX_FRAMES_PER_PACKET 48 /* retransmittable frames remembered per packet */
#endif
#ifndef QUIC_OPT_KEY_UPDATE_INTERVAL
#define QUIC_OPT_KEY_UPDATE_INTERVAL 0 /* packets between our own key updates; 0: never */
#endif
/* How long a NEW_TOKEN token validates a client's address (RFC 9000 §8.1.3). */
#ifndef QUIC_OPT_NEW_TOKEN_LIFETIME_S
#define QUIC_OPT_NEW_TOKEN_LIFETIME_S (24 * 3600)
#endif
#ifndef QUIC_OPT_RETRY_TOKEN_LIFETIME_MS
#define QUIC_OPT_RETRY_TOKEN_LIFETIME_MS 10000
#endif
/* Version Negotiation, Retry and stateless resets waiting to be sent, per
 * endpoint (about 1.3 KB each, allocated while any wait). */
#ifndef QUIC_OPT_STATELESS_QUEUE
#define QUIC_OPT_STATELESS_QUEUE 64
#endif
#ifndef QUIC_OPT_MAX_CONNECTIONS
#define QUIC_OPT_MAX_CONNECTIONS 1024 /* per endpoint */
#endif
/* Half-open connections (handshake not complete) per endpoint, and per client IP address. */
#ifndef QUIC_OPT_MAX_HALF_OPEN
#define QUIC_OPT_MAX_HALF_OPEN 512
#endif
#ifndef QUIC_OPT_MAX_HALF_OPEN_PER_ADDR
#define QUIC_OPT_MAX_HALF_OPEN_PER_ADDR 256 /* a NAT may hide many honest clients */
#endif
/* From this many half-open connections on, new clients must prove their address (Retry). */
#ifndef QUIC_OPT_RETRY_THRESHOLD
#define QUIC_OPT_RETRY_THRESHOLD 16
#endif
#ifndef QUIC_OPT_STATELESS_RESET_RATE
#define QUIC_OPT_STATELESS_RESET_RATE 100 /* per second, per endpoint */
#endif
#ifndef QUIC_OPT_VN_RATE
#define QUIC_OPT_VN_RATE 100 /* Version Negotiation packets per second, per endpoint */
#endif
/* How many datagrams in a row quic_endpoint_send takes from one connection before the next
 * one's turn: a turn is one GSO train (the io/ queue joins consecutive datagrams to one
 * peer), so that trains stay whole when many connections send. */
#ifndef QUIC_OPT_ENDPOINT_TRAIN
#define QUIC_OPT_ENDPOINT_TRAIN 32
#endif

#endif
