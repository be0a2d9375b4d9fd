/* Test harness: h3_conn endpoints over an in-memory transport, and crafted-byte helpers. */
#ifndef TESTS_H3_CONN_HARNESS_H
#define TESTS_H3_CONN_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/h3.h"
#include "tests/common/test_env.h"

#define HX_MAX_STREAMS 320
#define HX_MAX_MSGS 128
#define HX_MAX_DGRAMS 64
#define HX_MAX_ACTIONS 64

typedef struct hx_out {
    uint64_t id;
    uint8_t *buf;
    size_t len, cap, delivered;
    bool fin, fin_delivered;
    bool reset, reset_delivered;
    uint64_t reset_code;
    bool stop, stop_delivered; /* STOP_SENDING we sent for the peer's stream id */
    uint64_t stop_code;
} hx_out;

typedef struct hx_msg {
    uint64_t id;
    bool used;
    char headers[4096]; /* "name: value\n" per field, sections separated by "--\n" */
    size_t hlen;
    int sections;
    char trailers[1024];
    size_t tlen;
    uint8_t body[16384];
    size_t body_len;
    bool ended;
    bool reset, reset_local;
    uint64_t reset_code;
    uint8_t dgram[256];
    size_t dgram_len;
    int ndgrams;
} hx_msg;

typedef struct hx_action {
    uint64_t id, code;
} hx_action;

typedef struct hx_ep {
    test_env *te;
    h3_conn *conn;
    bool is_server;
    uint64_t next_bidi, next_uni;
    hx_out out[HX_MAX_STREAMS];
    size_t nout;
    uint8_t *dgrams[HX_MAX_DGRAMS];
    size_t dgram_lens[HX_MAX_DGRAMS];
    size_t ndgrams, dgrams_delivered;
    bool closed;
    uint64_t close_code;
    size_t write_limit; /* 0: accept everything; n: at most n bytes per write */
    bool stall;         /* accept nothing (flow control closed) */
    hx_msg msgs[HX_MAX_MSGS];
    bool settings_received;
    uint64_t goaway;
    int goaways;
    hx_action resets[HX_MAX_ACTIONS]; /* RESET_STREAM we sent */
    size_t nresets;
    hx_action stops[HX_MAX_ACTIONS]; /* STOP_SENDING we sent */
    size_t nstops;
    /* Server application: answer each finished request with 200 and this body. */
    bool auto_respond;
    const char *response_body;
    /* Called after each header section is recorded. */
    void (*headers_hook)(struct hx_ep *ep, uint64_t id, bool trailers);
    /* Extension streams seen. */
    uint64_t ext_type, ext_session;
    uint8_t ext_data[256];
    size_t ext_len;
    bool ext_fin;
    bool ext_refuse; /* on_ext_stream returns nonzero */
    /* RFC 8470: transport.stream_early says yes for every stream, or for early_id. */
    bool early_all, early_id_set;
    uint64_t early_id;
    bool early_now; /* transport.early_now: a client's writes go in 0-RTT */
} hx_ep;

/* Create an endpoint (cfg may be NULL for defaults) and start it. */
void hx_init(hx_ep *ep, test_env *te, bool is_server, const h3_config *cfg);
/* Create without h3_conn_start (for feeding crafted bytes). */
void hx_init_nostart(hx_ep *ep, test_env *te, bool is_server, const h3_config *cfg);
void hx_free(hx_ep *ep);
/* Move bytes, resets and datagrams from a to b and back until nothing moves; chunk is
 * the largest piece delivered at once (0: everything). Returns rounds. */
int hx_pump(hx_ep *a, hx_ep *b, size_t chunk);
/* Like hx_pump, but each step moves a random piece (1..max_chunk bytes) of a random
 * stream in a random direction: streams interleave in any order (seeded). */
void hx_pump_random(hx_ep *a, hx_ep *b, uint64_t seed, size_t max_chunk);
hx_msg *hx_msg_for(hx_ep *ep, uint64_t id);
bool hx_has_reset(const hx_ep *ep, uint64_t id, uint64_t code);
bool hx_has_stop(const hx_ep *ep, uint64_t id, uint64_t code);
/* Let every write of ep accept at most n bytes (0: unlimited); on_writable retries. */
void hx_set_write_limit(hx_ep *ep, size_t n);
/* Concatenate the bytes ep wrote to stream id (all of it, delivered or not). */
const hx_out *hx_out_stream(const hx_ep *ep, uint64_t id);

/* Field list helpers: fields from "name", "value" pairs. */
size_t hx_fields(h3_field *out, size_t cap, const char *const *kv);

/* ---- Crafted bytes ---- */
typedef struct hx_buf {
    uint8_t b[8192];
    size_t len;
} hx_buf;
void hx_put(hx_buf *b, const void *data, size_t len);
void hx_put_hex(hx_buf *b, const char *hex);
void hx_put_varint(hx_buf *b, uint64_t v);
/* Stream type 0x00 + SETTINGS frame (defaults, no GREASE). */
void hx_put_control_preface(hx_buf *b, const h3_settings *s);
/* A HEADERS frame with fields encoded static-only (no dynamic table). */
void hx_put_headers(hx_buf *b, test_env *te, const char *const *kv);
void hx_put_data(hx_buf *b, const void *data, size_t len);
/* Feed bytes into ep->conn as the peer; returns the h3 return code. */
int hx_feed(hx_ep *ep, uint64_t id, const hx_buf *b, bool fin);

#endif
