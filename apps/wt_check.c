/* The WebTransport client checks of quince-client --webtransport (and the sim test). */
#include "apps/wt_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DGRAM_MSG "quince datagram"

uint8_t wt_check_byte(uint64_t i)
{
    return (uint8_t)((i * 131 + (i >> 8)) & 0xff);
}

bool wt_parse_drafts(const char *list, uint32_t *mask)
{
    if (strcmp(list, "all") == 0 || strcmp(list, "auto") == 0) {
        *mask = WT_DIALECTS_ALL;
        return true;
    }
    uint32_t m = 0;
    for (const char *p = list; *p != '\0';) {
        char *end;
        unsigned long d = strtoul(p, &end, 10);
        if (end == p || d >= 32 || !(WT_DIALECTS_ALL & WT_DIALECT_BIT(d)))
            return false;
        m |= WT_DIALECT_BIT(d);
        p = end;
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return false;
    }
    *mask = m;
    return m != 0;
}

static void fail(wt_check *c, const char *why)
{
    if (!c->failed)
        snprintf(c->why, sizeof(c->why), "%s", why);
    c->failed = true;
}

static void on_ready(void *user, wt_session *s)
{
    wt_check *c = user;
    c->s = s;
    c->ready = true;
    c->status = wt_session_status(s);
    c->dialect = wt_session_dialect(s);
    uint8_t buf[WT_CHECK_BIDI_LEN];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = wt_check_byte(i);
    wt_stream *b, *u;
    if (wt_session_open_stream(s, true, &b) != WT_OK ||
        wt_stream_write(b, buf, WT_CHECK_BIDI_LEN, true) != WT_OK) {
        fail(c, "cannot open or write the bidi stream");
        return;
    }
    c->bidi = b;
    if (wt_session_open_stream(s, false, &u) != WT_OK ||
        wt_stream_write(u, buf, WT_CHECK_UNI_LEN, true) != WT_OK)
        fail(c, "cannot open or write the uni stream");
}

static void on_rejected(void *user, wt_session *s, int status)
{
    wt_check *c = user;
    c->rejected = true;
    c->status = status;
    c->dialect = wt_session_dialect(s);
    char why[64];
    snprintf(why, sizeof(why), "session rejected with status %d", status);
    fail(c, why);
}

static void on_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    wt_check *c = user;
    (void)s;
    c->closed = true;
    c->s = NULL;
    c->close_code = code;
    if (len >= sizeof(c->close_reason))
        len = sizeof(c->close_reason) - 1;
    if (len > 0) /* reason may be NULL when there is none */
        memcpy(c->close_reason, reason, len);
    c->close_reason[len] = '\0';
    if (!c->close_sent)
        fail(c, "the server closed the session first");
}

static void check_bytes(size_t *got, bool *bad, const uint8_t *d, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (d[i] != wt_check_byte(*got + i))
            *bad = true;
    *got += len;
}

static void on_data(void *user, wt_stream *st, const uint8_t *d, size_t len, bool fin)
{
    wt_check *c = user;
    if (st == c->bidi) {
        check_bytes(&c->bidi_got, &c->bidi_bad, d, len);
        if (fin) {
            if (c->bidi_bad || c->bidi_got != WT_CHECK_BIDI_LEN)
                fail(c, "bidi echo differs");
            else
                c->bidi_ok = true;
        }
        return;
    }
    if (!wt_stream_is_local(st) && !wt_stream_is_bidi(st)) {
        check_bytes(&c->uni_got, &c->uni_bad, d, len);
        if (fin) {
            if (c->uni_bad || c->uni_got != WT_CHECK_UNI_LEN)
                fail(c, "uni echo differs");
            else
                c->uni_ok = true;
        }
    }
}

static void on_reset(void *user, wt_stream *st, uint32_t code)
{
    wt_check *c = user;
    char why[80];
    snprintf(why, sizeof(why), "stream %llu reset by the server with code %u",
             (unsigned long long)wt_stream_id(st), code);
    fail(c, why);
}

/* A wt_stream is freed once on_stream_closed returns, and the allocator may hand its memory to
 * the next stream (the server's uni echo, say): forget the bidi stream here so that no later
 * stream is taken for it. */
static void on_stream_closed(void *user, wt_stream *st)
{
    wt_check *c = user;
    if (st == c->bidi)
        c->bidi = NULL;
}

static void on_dgram(void *user, wt_session *s, const uint8_t *d, size_t len)
{
    wt_check *c = user;
    (void)s;
    if (len == sizeof(DGRAM_MSG) - 1 && memcmp(d, DGRAM_MSG, len) == 0)
        c->dgram_ok = true;
}

void wt_check_init(wt_check *c, wt_callbacks *cb)
{
    memset(c, 0, sizeof(*c));
    memset(cb, 0, sizeof(*cb));
    cb->user = c;
    cb->on_session_ready = on_ready;
    cb->on_session_rejected = on_rejected;
    cb->on_session_closed = on_closed;
    cb->on_stream_data = on_data;
    cb->on_stream_reset = on_reset;
    cb->on_stream_stop_sending = on_reset;
    cb->on_stream_closed = on_stream_closed;
    cb->on_datagram = on_dgram;
}

void wt_check_tick(wt_check *c, uint64_t now_us)
{
    if (!c->ready || c->closed || c->failed || c->s == NULL)
        return;
    if (!c->dgram_ok && now_us >= c->next_dgram && c->dgrams_sent < 200) {
        if (wt_session_send_datagram(c->s, (const uint8_t *)DGRAM_MSG, sizeof(DGRAM_MSG) - 1) ==
            WT_OK)
            c->dgrams_sent++;
        c->next_dgram = now_us + 100000;
    }
    if (c->bidi_ok && c->uni_ok && c->dgram_ok && !c->close_sent) {
        c->close_sent = true;
        if (wt_session_close(c->s, WT_CHECK_CLOSE_CODE, (const uint8_t *)WT_CHECK_CLOSE_REASON,
                             strlen(WT_CHECK_CLOSE_REASON)) != WT_OK)
            fail(c, "close failed");
    }
}

bool wt_check_done(const wt_check *c)
{
    return c->failed || c->closed;
}

bool wt_check_passed(const wt_check *c)
{
    return !c->failed && c->closed && c->close_sent && c->bidi_ok && c->uni_ok && c->dgram_ok &&
           c->close_code == WT_CHECK_CLOSE_CODE &&
           strcmp(c->close_reason, WT_CHECK_CLOSE_REASON) == 0;
}
