/* Lifetimes of WebTransport sessions and streams, wt/lifetime.c: the reentrancy guard, the
 * making, finding and freeing of sessions, and buffers charged to the memory budget. Under
 * every other file of wt/ but flow.c. */
#ifndef WT_LIFETIME_H
#define WT_LIFETIME_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "wt/wt.h"

/* Reentrancy guard: objects are freed when the outermost call returns. */
void wt_enter(wt_endpoint *ep);
void wt_leave(wt_endpoint *ep);

/* A new session on CONNECT stream id, linked into ep (NULL: no memory). */
wt_session *wt_session_new(wt_endpoint *ep, uint64_t id);
/* Unlink s and free it once the outermost call returns. */
void wt_session_kill(wt_session *s);
wt_session *wt_session_find(wt_endpoint *ep, uint64_t id);
/* Free the datagrams queued for s and give their memory back to the budget. */
void wt_session_drop_datagrams(wt_session *s);
/* Append len bytes to b, whose allocation is charged to ep's budget as it grows (*charged:
 * what is charged for b now). False: the budget or the allocator refused. */
bool wt_buf_append_charged(wt_endpoint *ep, quince_buf *b, size_t *charged, const uint8_t *data,
                           size_t len);
/* A NUL-terminated copy of a field value from ep's allocator (NULL: none). */
char *wt_dup_field(wt_endpoint *ep, const uint8_t *v, size_t len);

/* Every session and stream of ep, live or dead, freed without a word to anyone. */
void wt_free_all(wt_endpoint *ep);

#endif
