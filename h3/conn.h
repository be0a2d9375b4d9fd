/* Internal state of the HTTP/3 connection shared by h3/conn.c (send side) and h3/conn_recv.c. */
#ifndef H3_CONN_H
#define H3_CONN_H

#include "base/budget.h"
#include "base/buf.h"
#include "h3/qlog.h"
#include "h3/frame.h"
#include "h3/h3.h"
#include "h3/qpack_decoder.h"
#include "h3/qpack_encoder.h"
#include "h3/validate.h"

typedef enum h3_stream_kind {
    H3_SK_REQUEST,      /* client-initiated bidi: a request */
    H3_SK_UNI_PENDING,  /* peer uni stream whose type has not fully arrived */
    H3_SK_BIDI_PENDING, /* server-initiated bidi at a client: waiting for 0x41 */
    H3_SK_CONTROL_IN,   /* peer's control stream */
    H3_SK_ENCODER_IN,   /* peer's QPACK encoder stream */
    H3_SK_DECODER_IN,   /* peer's QPACK decoder stream */
    H3_SK_EXT,          /* handed to on_ext_stream */
    H3_SK_DISCARD,      /* ignored until the peer ends it */
    H3_SK_LOCAL_UNI,    /* our control, QPACK or GREASE stream (send only) */
} h3_stream_kind;

/* Receive phase of a request stream (RFC 9114 §4.1). */
typedef enum h3_recv_phase {
    H3_RP_HEADERS,  /* waiting for the (next) header section */
    H3_RP_BODY,     /* after the final header section: DATA or trailers */
    H3_RP_TRAILERS, /* after trailers: nothing more */
    H3_RP_DONE,     /* message ended or abandoned */
} h3_recv_phase;

typedef struct h3_stream {
    uint64_t id;
    h3_stream_kind kind;
    h3_recv_phase phase;
    bool peer_initiated;
    bool recv_closed;        /* FIN or reset from the peer */
    bool send_closed;        /* FIN sent (or queued) or reset */
    bool send_fin;           /* FIN queued behind out[] */
    bool qpack_blocked;      /* a header section waits for encoder-stream inserts */
    bool unblocked;          /* ... and was just decoded: replay in[] */
    bool fin_pending;        /* FIN arrived while blocked */
    bool trailers_pending;   /* the blocked section is a trailer section */
    bool is_head;            /* client: the request was HEAD */
    bool is_connect;         /* the request was CONNECT (extended or not) */
    bool early;              /* RFC 8470: the request (server: received, client: sent) in 0-RTT */
    bool refused;            /* server: answered 425 by h3_conn_refuse_early */
    bool stop_wanted;        /* ... and STOP_SENDING waits for the end of its input */
    bool response_started;   /* server: a response header section was sent */
    int status;              /* client: last :status */
    uint64_t content_length; /* UINT64_MAX: none */
    uint64_t data_received;
    uint64_t ext_type, session_id;
    uint64_t rx_bytes;   /* stream bytes the transport gave us */
    uint64_t ext_bytes;  /* ... of which on_ext_stream got these (the rest: the header) */
    uint64_t final_size; /* the peer's reset: its final size (H3_FINAL_SIZE_UNKNOWN: none) */
    uint8_t hdr[16]; /* uni stream type / 0x41 header being assembled */
    size_t hdr_len;
    h3_frame_reader reader;
    bool reader_init;
    uint8_t *in; /* bytes received while blocked */
    size_t in_len, in_cap;
    quince_buf out; /* bytes the transport did not take yet (max_send_buffer) */
} h3_stream;

struct h3_conn {
    const quince_env *env;
    h3_config cfg;
    h3_transport tp;
    h3_callbacks cb;
    bool started;
    uint64_t error; /* sticky connection error code, 0 while open */

    h3_stream **streams;
    size_t nstreams, streams_cap;
    size_t n_peer_bidi, n_peer_uni;

    uint64_t control_out, encoder_out, decoder_out;
    bool have_control_in, have_encoder_in, have_decoder_in;

    h3_settings peer_settings;
    bool peer_settings_received;

    h3_qpack_decoder *dec;
    h3_qpack_encoder *enc;

    uint64_t max_peer_bidi_seen; /* highest client bidi ID + 4 seen (server), for GOAWAY */
    uint64_t goaway_sent;        /* UINT64_MAX: none */
    uint64_t goaway_received;    /* UINT64_MAX: none */

    /* Inside a QPACK decoder call (its section callback may run application code):
     * decoder-stream output and Stream Cancellations wait until it returns. */
    bool in_qpack;
    uint64_t cancel_ids[32];
    size_t ncancel;
    uint64_t max_push_id_received; /* server: UINT64_MAX before any MAX_PUSH_ID */

    uint8_t *scratch; /* encode buffer */
    size_t scratch_cap;

    /* The connection's qlog trace (h3/qlog.h), NULL when not logged; the size
     * of the field section being decoded, for its event. */
    quince_qlog *qlog;
    size_t qlog_section_len;

    /* What the peer makes us hold is charged here (h3_conn_set_budget; NULL: nothing):
     * header frames being assembled, input held behind a blocked section, and the QPACK
     * decoder's table, blocked sections and encoder-stream input. */
    quince_budget *budget;
};

/* Shared helpers (h3/conn.c). */
h3_stream *h3_conn_find(const h3_conn *conn, uint64_t id);
h3_stream *h3_conn_add_stream(h3_conn *conn, uint64_t id, h3_stream_kind kind);
void h3_conn_maybe_release(h3_conn *conn, h3_stream *s);
int h3_conn_fail(h3_conn *conn, uint64_t code, const char *reason);
/* A stream error: reset + stop sending, report it, abandon the receive side. */
void h3_conn_stream_error(h3_conn *conn, h3_stream *s, uint64_t code);
/* RFC 9110 §9.2.1: the :method field (NULL: none) names a safe method. */
bool h3_method_is_safe(const h3_field *method);
/* RFC 8470 §5.2: answer 425 (Too Early), stop the request, drop what else comes. */
int h3_conn_refuse(h3_conn *conn, h3_stream *s);
/* The receive side is abandoned: give back the input held behind a blocked section
 * and its budget charge (a frame reader's buffer may still be in use: it goes with
 * the stream). */
void h3_conn_drop_input(h3_conn *conn, h3_stream *s);
/* Write to a stream through its buffer. */
int h3_conn_stream_write(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, bool fin);
/* RFC 9204 §4.4.2: Stream Cancellation for an abandoned stream (deferred while in_qpack). */
void h3_conn_qpack_cancel(h3_conn *conn, uint64_t stream_id);
/* Leave a decoder call: run deferred cancellations and send decoder-stream bytes. */
int h3_conn_qpack_leave(h3_conn *conn);
/* Send what the QPACK encoder and decoder queued for their streams. */
int h3_conn_flush_qpack(h3_conn *conn);

/* Receive side (h3/conn_recv.c). */
int h3_conn_qpack_section(void *user, uint64_t stream_id, const h3_field *fields, size_t count);

/* RFC 9000 §2.1: stream IDs are 62-bit. */
#define H3_MAX_STREAM_ID ((UINT64_C(1) << 62) - 1)

static inline bool h3_stream_is_bidi(uint64_t id)
{
    return (id & 2) == 0;
}

static inline bool h3_stream_is_server_initiated(uint64_t id)
{
    return (id & 1) != 0;
}

#endif
