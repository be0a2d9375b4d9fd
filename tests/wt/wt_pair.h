/* Test harness: WebTransport endpoints over h3_conn over in-memory streams, recording app. */
#ifndef TESTS_WT_WT_PAIR_H
#define TESTS_WT_WT_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/h3.h"
#include "tests/common/test_env.h"
#include "apps/wt_echo.h"
#include "wt/wt.h"

#define WP_MAX_STREAMS 128
#define WP_MAX_DGRAMS 64
#define WP_MAX_HOLD 8

typedef struct wp_out {
    uint64_t id;
    uint8_t *buf;
    size_t len, cap, delivered;
    bool fin, fin_delivered;
    bool reset, reset_delivered;
    uint64_t reset_code;
    uint64_t reset_reliable; /* RESET_STREAM_AT's reliable size (0: RESET_STREAM) */
    uint64_t reset_final_add; /* the final size the reset carries: every byte written plus this
                                 (a test's stand-in for bytes the reset cut off) */
    bool stop, stop_delivered;
    uint64_t stop_code;
} wp_out;

/* What the application saw on one stream. */
typedef struct wp_rx {
    uint64_t id;
    wt_stream *st;
    uint8_t data[4096];
    size_t len;
    bool fin, reset, stop, closed, opened;
    uint32_t reset_code, stop_code;
} wp_rx;

typedef struct wp_app {
    int accept_status; /* server: returned by on_session_request (0: 200) */
    int requests, ready, rejected, closed;
    int last_status;
    uint32_t close_code;
    char close_reason[1100];
    size_t close_reason_len;
    wt_session *last_session;
    char last_path[256], last_origin[256], last_authority[256];
    wp_rx rx[WP_MAX_STREAMS];
    size_t nrx;
    uint8_t dgram[WP_MAX_DGRAMS][1200];
    size_t dgram_len[WP_MAX_DGRAMS];
    wt_session *dgram_session[WP_MAX_DGRAMS];
    size_t ndgram;
    int refused, refused_status; /* server: on_session_refused */
    int draining;                /* on_session_draining */
    int credit;                  /* on_session_credit */
    const char *select_protocol; /* server: wt_session_select_protocol in the request */
    int select_rc;
    size_t protocols_seen;
    char refused_why[512];
} wp_app;

typedef struct wp_ep {
    test_env *te;
    bool is_server;
    wt_endpoint *wt; /* NULL: plain h3_conn in h3 */
    h3_conn *h3;
    uint64_t next_bidi, next_uni;
    wp_out out[WP_MAX_STREAMS];
    size_t nout;
    uint8_t *dgrams[WP_MAX_DGRAMS];
    size_t dgram_lens[WP_MAX_DGRAMS];
    size_t ndgrams, dgrams_delivered;
    bool closed;
    uint64_t close_code;
    uint64_t hold[WP_MAX_HOLD]; /* streams not delivered by wp_pump */
    size_t nhold;
    wp_app app;
    wt_echo echo;
    int status_seen;        /* plain h3 client: the :status of stream 0 */
    char headers_seen[512]; /* plain h3: "name: value\n" of the first header section */
    size_t headers_len;
    uint8_t data_seen[256]; /* plain h3: DATA payload bytes received */
    size_t data_len;
    bool end_seen;
    bool early; /* transport.stream_early says yes for every stream */
} wp_ep;

/* The dialects of endpoints made with cfg NULL (0: wt_config_init's, all). */
extern uint32_t wp_dialects;
/* Endpoints made from now on turn h3_config.refuse_unsafe_early off (wt decides alone). */
extern bool wp_h3_lets_early_through;

/* A wt endpoint (cfg may be NULL: defaults, max_datagram_frame 1200); echo:
 * the server runs apps/wt_echo at "/echo", otherwise the recording app. */
void wp_init(wp_ep *ep, test_env *te, bool is_server, const wt_config *cfg, bool echo);
/* The same with h3 callbacks for the non-WebTransport streams (chained). */
void wp_init_chain(wp_ep *ep, test_env *te, bool is_server, const wt_config *cfg, bool echo,
                   const h3_callbacks *chain);
/* The same with the application's own callbacks (apps/wt_demo's, say) instead of the
 * recording app; cfg as for wp_init. */
void wp_init_cb(wp_ep *ep, test_env *te, bool is_server, const wt_config *cfg,
                const wt_callbacks *cb);
/* A plain h3_conn endpoint with the given settings (no WebTransport layer). */
void wp_init_h3(wp_ep *ep, test_env *te, bool is_server, const h3_config *cfg);
void wp_free(wp_ep *ep);
/* Move bytes, resets and datagrams both ways until nothing moves. */
void wp_pump(wp_ep *a, wp_ep *b);
void wp_hold(wp_ep *ep, uint64_t id);
void wp_release(wp_ep *ep, uint64_t id);
const wp_out *wp_out_stream(const wp_ep *ep, uint64_t id);
wp_rx *wp_rx_for(wp_ep *ep, uint64_t id);
/* The recorded reset / stop we sent on a stream (false when none). */
bool wp_sent_reset(const wp_ep *ep, uint64_t id, uint64_t *code);
bool wp_sent_stop(const wp_ep *ep, uint64_t id, uint64_t *code);
/* Capture every stream byte ep sent, as (stream id, bytes, fin) records. */
size_t wp_flight(const wp_ep *ep, uint8_t *out, size_t cap);

#endif
