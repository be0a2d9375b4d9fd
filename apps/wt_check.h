/* The WebTransport client checks of quince-client --webtransport: bidi, uni and datagram echo,
 * close. */
#ifndef APPS_WT_CHECK_H
#define APPS_WT_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wt/wt.h"

/*
 * Against any draft-02 echo server: once the session is ready, a bidi stream
 * carries WT_CHECK_BIDI_LEN bytes with FIN and must come back byte-exact with
 * FIN; a uni stream carries WT_CHECK_UNI_LEN bytes and must come back on a
 * server uni stream; a datagram (resent every 100 ms: datagrams may be lost)
 * must come back. Then the session is closed with WT_CHECK_CLOSE_CODE and
 * WT_CHECK_CLOSE_REASON.
 */
#define WT_CHECK_BIDI_LEN 20000
#define WT_CHECK_UNI_LEN 3000
#define WT_CHECK_CLOSE_CODE 0x1234u
#define WT_CHECK_CLOSE_REASON "quince-client done"

typedef struct wt_check {
    wt_session *s;
    bool ready, rejected, closed, failed;
    int status;
    wt_dialect dialect; /* of the session, once ready or rejected */
    bool bidi_ok, uni_ok, dgram_ok, close_sent;
    size_t bidi_got, uni_got;
    bool bidi_bad, uni_bad;
    wt_stream *bidi;
    uint64_t next_dgram;
    unsigned dgrams_sent;
    uint32_t close_code; /* as reported by on_session_closed */
    char close_reason[128];
    char why[160];
    bool verbose;
} wt_check;

/* "02,07,16" or "all"/"auto" (every dialect) into WT_DIALECT_BIT()s; false on anything else. */
bool wt_parse_drafts(const char *list, uint32_t *mask);

/* Fill cb (user = c). */
void wt_check_init(wt_check *c, wt_callbacks *cb);
/* Call after events and at least every 100 ms: sends datagrams, closes when all passed. */
void wt_check_tick(wt_check *c, uint64_t now_us);
/* Ended (passed, failed, rejected or closed). */
bool wt_check_done(const wt_check *c);
bool wt_check_passed(const wt_check *c);
/* The byte at offset i of the stream payloads. */
uint8_t wt_check_byte(uint64_t i);

#endif
