/* QUIC transport parameters (RFC 9000 §18, RFC 9221, 9287, 9368): encode, decode, check. */
#ifndef QUIC_TRANSPORT_PARAMS_H
#define QUIC_TRANSPORT_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cursor.h"
#include "quic/error.h"
#include "quic/proto.h"

/* Available Versions kept from version_information; more are read and dropped. */
#define QUIC_TP_MAX_AVAILABLE_VERSIONS 16

typedef struct quic_cid_value {
    uint8_t len;
    uint8_t bytes[QUIC_MAX_CID_LEN];
} quic_cid_value;

/* RFC 9000 §18.2 Figure 22 */
typedef struct quic_preferred_address {
    uint8_t ipv4[4];
    uint16_t ipv4_port;
    uint8_t ipv6[16];
    uint16_t ipv6_port;
    quic_cid_value cid;
    uint8_t reset_token[QUIC_STATELESS_RESET_TOKEN_LEN];
} quic_preferred_address;

/* Self-contained (copies, no pointers into the input) so it can be stored. */
typedef struct quic_transport_params {
    bool has_original_dcid, has_initial_scid, has_retry_scid;
    quic_cid_value original_dcid, initial_scid, retry_scid;
    bool has_stateless_reset_token;
    uint8_t stateless_reset_token[QUIC_STATELESS_RESET_TOKEN_LEN];
    uint64_t max_idle_timeout; /* ms, 0 = none */
    uint64_t max_udp_payload_size;
    uint64_t initial_max_data;
    uint64_t initial_max_stream_data_bidi_local;
    uint64_t initial_max_stream_data_bidi_remote;
    uint64_t initial_max_stream_data_uni;
    uint64_t initial_max_streams_bidi;
    uint64_t initial_max_streams_uni;
    uint64_t ack_delay_exponent;
    uint64_t max_ack_delay; /* ms */
    bool disable_active_migration;
    bool has_preferred_address;
    quic_preferred_address preferred_address;
    uint64_t active_connection_id_limit;
    uint64_t max_datagram_frame_size; /* 0: DATAGRAM not supported (RFC 9221 §3) */
    bool grease_quic_bit;
    /* reset_stream_at (empty), received under either id and sent under both:
     * QUIC_TP_RESET_STREAM_AT and QUIC_TP_RESET_STREAM_AT_DRAFT07. */
    bool reset_stream_at;
    /* min_ack_delay in microseconds (draft-ietf-quic-ack-frequency-12 §3):
     * the peer takes ACK_FREQUENCY and IMMEDIATE_ACK frames. */
    bool has_min_ack_delay;
    uint64_t min_ack_delay;
    bool has_version_info;
    uint32_t chosen_version;
    uint32_t available_versions[QUIC_TP_MAX_AVAILABLE_VERSIONS];
    size_t available_count;
} quic_transport_params;

/* RFC 9000 §18.2: the values an absent parameter stands for. */
void quic_tp_defaults(quic_transport_params *tp);

/*
 * Decode the peer's parameters; from_server says who sent them. Fills tp
 * (defaults for absent ones). Unknown and reserved (GREASE) ids are skipped.
 * Returns QUIC_OK or QUIC_ERR_TRANSPORT_PARAMETER (malformed, duplicate,
 * out of range, or a server-only parameter from a client).
 */
int quic_tp_decode(const uint8_t *data, size_t len, bool from_server, quic_transport_params *tp);

/*
 * Encode tp as sent by a server (is_server) or client: integer parameters
 * that equal their default are left out; server-only ones are written only
 * by a server. grease_id: 0 for none, otherwise a reserved parameter
 * 31 * N + 27 (N from grease_id) carrying a few bytes is added first.
 * Returns false if it does not fit (writer overflow) or tp is invalid.
 */
bool quic_tp_encode(quince_writer *w, const quic_transport_params *tp, bool is_server,
                    uint32_t grease_id);

#endif
