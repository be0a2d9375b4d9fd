/* WebTransport session flow control (draft-ietf-webtrans-http3-13..-16 §5), wt/flow.c: the
 * bookkeeping under the session's capsules (wt/session_recv.c), its establishment (wt/connect.c)
 * and its streams (wt/stream.c, wt/stream_recv.c). It calls nothing above it: what a step finds
 * comes back as a verdict, and the caller ends the session or lets held bytes go. */
#ifndef WT_FLOW_H
#define WT_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "wt/wt.h"

/* What a flow-control step found. */
typedef struct wt_fc_verdict {
    /* A violation (-13..-16 §5.4, §5.6): the session must end with the CONNECT stream reset
     * with code (wt_session_fc_error), why saying what broke. 0 and "": none. */
    uint64_t code;
    char why[160];
    /* A received WT_MAX_DATA / WT_MAX_STREAMS raised our send limit. */
    bool more_data, more_streams;
} wt_fc_verdict;

/* -13..-16 §5.1, §5.5: turn flow control on for s when its dialect has it and
 * both sides' SETTINGS declared it; the peer's WT_INITIAL_* become our limits. */
void wt_fc_setup(wt_session *s);
/* True for the six flow-control capsule types (-13..-16 §5.6). */
bool wt_fc_is_capsule(uint64_t type);
/* -13..-16 §5.6: a flow-control capsule received while flow control is on; out says
 * whether a send limit grew (false: a violation, in out). */
bool wt_fc_capsule_in(wt_session *s, uint64_t type, uint64_t value, wt_fc_verdict *out);
/* -13..-16 §5.6.4: the application took len body bytes on a stream of s
 * (false: over our limit, the violation in out). */
bool wt_fc_rx_data(wt_session *s, uint64_t len, wt_fc_verdict *out);
/* -13..-16 §5.6.2: a peer stream of s appeared (false: over our limit, the
 * violation in out) / closed (more credit). */
bool wt_fc_rx_stream(wt_session *s, bool bidi, wt_fc_verdict *out);
void wt_fc_rx_stream_closed(wt_session *s, bool bidi);
/* Send a flow-control capsule on the CONNECT stream. */
void wt_fc_send_capsule(wt_session *s, uint64_t type, uint64_t value);

#endif
