/* The WebTransport over HTTP/3 dialects (draft-ietf-webtrans-http3-02, -07, -13..-16): their
 * codepoints, tokens and headers, and how a peer's SETTINGS choose one. */
#ifndef WT_DIALECT_H
#define WT_DIALECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/settings.h"
#include "wt/wt.h"

/*
 * One row per draft, taken from the drafts themselves (the table in
 * specs/webtrans-http3-versions.md quotes the line behind each value). -13 and
 * -14 share their setting and token, as do -15 and -16: SETTINGS cannot tell
 * them apart, so the newest enabled one of each pair is chosen.
 */
typedef struct wt_dialect_info {
    wt_dialect dialect;
    const char *name; /* "draft-02" */
    /* The setting that signals this version (draft-02 §8.2, -07 §8.2, -13..-16 §9.2). */
    uint64_t setting;
    /* The value we send: 1, or our session limit for -07 (max sessions). */
    bool value_is_max_sessions;
    /* Peer values accepted: 02 and -16 (client side) exactly 1, others > 0. */
    bool value_exactly_one;
    /* :protocol (02..14: "webtransport"; -15/-16 §9.1: "webtransport-h3"). */
    const char *token;
    /* The server must send SETTINGS_ENABLE_CONNECT_PROTOCOL (not in draft-02: §3.2). */
    bool needs_connect_protocol;
    /* H3_DATAGRAM: draft-02 accepts 0x33 or 0xffd277 (h3-datagram-04/-05); -07 on: 0x33. */
    bool datagram_draft04_ok;
    /* Origin is mandatory (draft-02 §3.3); later drafts: only from browsers. */
    bool origin_required;
    /* Request/response headers Sec-Webtransport-Http3-Draft02 / -Draft (draft-02 §6). */
    bool draft02_headers;
    /* WT_DRAIN_SESSION (from -07), flow-control settings and capsules (from -13),
     * WT-Available-Protocols / WT-Protocol (from -13), reset_stream_at (from -13). */
    bool has_drain, has_flow_control, has_protocol_negotiation, needs_reset_stream_at;
    /* -13: flow control is on only when both send WT_MAX_SESSIONS > 1 (§5.1);
     * -14 on: also when either WT_INITIAL_* is non-zero. */
    bool initial_settings_enable_fc;
    /* Status for a target that does not support WebTransport (404; -16 §3.2: 405). */
    int not_found_status;
    /* Largest application error code (draft-02 §4.3: 8 bits; -07 on: 32 bits). */
    uint32_t max_app_error;
} wt_dialect_info;

/* The row for d, NULL for WT_DIALECT_NONE or an unknown value. */
const wt_dialect_info *wt_dialect_get(wt_dialect d);

/* The dialects, newest first. */
extern const wt_dialect wt_dialects_by_age[];
#define WT_DIALECT_COUNT 6

/* The newest dialect in mask, WT_DIALECT_NONE when it is empty. */
wt_dialect wt_dialect_newest(uint32_t mask);

/* The dialects whose :protocol token is tok (len bytes). */
uint32_t wt_dialects_for_token(const uint8_t *tok, size_t len);

/*
 * Which dialects a peer's SETTINGS offer: its version setting with a legal
 * value and the H3_DATAGRAM setting that dialect uses; from a server also
 * ENABLE_CONNECT_PROTOCOL where the dialect needs it (the client reads the
 * server's), and for -16 a WT_ENABLED of exactly 1 (§3.1; above 1 leaves -15).
 */
uint32_t wt_dialects_offered(const h3_settings *peer, bool peer_is_server);

/* The dialects cfg allows (all when it names none). */
uint32_t wt_cfg_dialects(const wt_config *cfg);

/* Add the SETTINGS of every dialect in mask to s (draft-02 §3.1, -07 §3.1,
 * -13..-16 §3.1): version settings, H3_DATAGRAM (0x33, and 0xffd277 with
 * draft-02), ENABLE_CONNECT_PROTOCOL (servers, unless no_connect_protocol).
 * With a -13..-16 dialect in mask and session flow control configured
 * (cfg->fc_max_*), also SETTINGS_WT_INITIAL_MAX_DATA / _STREAMS_BIDI /
 * _STREAMS_UNI (-13..-16 §5.5) and WT_MAX_SESSIONS = cfg->max_sessions;
 * without it WT_MAX_SESSIONS is 1 (-13 §5.1: a value above 1 turns flow
 * control on). The -07 server value is cfg->max_sessions. */
void wt_dialects_put_settings(uint32_t mask, const wt_config *cfg, bool no_connect_protocol,
                              h3_settings *s);

/* Whether SETTINGS s declare the intent to use session flow control in
 * dialect d (-13 §5.1: WT_MAX_SESSIONS above 1; -14 §5.1: that or a non-zero
 * WT_INITIAL_*; -15/-16 §5.1: a non-zero WT_INITIAL_*). Flow control is on
 * for a session when both sides' SETTINGS do. False for -02 and -07. */
bool wt_dialect_fc_intent(wt_dialect d, const h3_settings *s);

/* "0x33, 0xffd277": the identifiers of s, without the QPACK and field-size
 * ones (with_values: "0x33=1, ..."). Returns the length written (always
 * NUL-terminated when cap > 0, cut short if needed). */
size_t wt_settings_describe(const h3_settings *s, bool with_values, char *buf, size_t cap);

#endif
