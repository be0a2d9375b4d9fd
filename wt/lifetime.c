/* Lifetimes of WebTransport sessions and streams: the reentrancy guard under which objects
 * that end are unlinked at once and freed when the outermost call returns, the making,
 * finding and freeing of sessions, and the buffers the peer makes us hold, charged to the
 * connection's memory budget. */
#include <string.h>

#include "wt/internal.h"
#include "wt/lifetime.h"

void wt_enter(wt_endpoint *ep)
{
    ep->depth++;
}

/* Free the queued datagrams and give their memory back to the budget. */
void wt_session_drop_datagrams(wt_session *s)
{
    for (size_t i = 0; i < s->ndgrams; i++) {
        quince_env_free(s->ep->env, s->dgrams[i].data);
        quince_budget_release(s->ep->budget, wt_dgram_cost(s->dgrams[i].len));
    }
    s->ndgrams = 0;
}

/* Charged by allocation: quince_buf doubles from 64 bytes, and each step up is charged
 * before it is made. */
bool wt_buf_append_charged(wt_endpoint *ep, quince_buf *b, size_t *charged, const uint8_t *data,
                           size_t len)
{
    size_t need = b->len + len;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
            cap *= 2;
        if (!quince_budget_charge(ep->budget, cap - *charged))
            return false;
        if (!quince_buf_reserve(b, ep->env, need)) {
            quince_budget_release(ep->budget, cap - *charged);
            return false;
        }
        *charged = cap;
    }
    return quince_buf_append(b, ep->env, data, len);
}

static void release_early_caps(wt_session *s)
{
    quince_buf_free(&s->early_caps, s->ep->env);
    quince_budget_release(s->ep->budget, s->early_caps_charged);
    s->early_caps_charged = 0;
}

static void session_free(wt_endpoint *ep, wt_session *s)
{
    h3_capsule_reader_free(&s->reader);
    release_early_caps(s);
    wt_session_drop_datagrams(s);
    quince_env_free(ep->env, s->dgrams);
    quince_env_free(ep->env, s->authority);
    quince_env_free(ep->env, s->path);
    quince_env_free(ep->env, s->origin);
    quince_env_free(ep->env, s->avail);
    quince_env_free(ep->env, s->protocol);
    quince_env_free(ep->env, s);
}

static void reap_streams(wt_endpoint *ep)
{
    while (ep->dead_streams != NULL) {
        wt_stream *st = ep->dead_streams;
        ep->dead_streams = st->next;
        quince_env_free(ep->env, st);
    }
}

static void free_dead_sessions(wt_endpoint *ep)
{
    while (ep->dead_sessions != NULL) {
        wt_session *s = ep->dead_sessions;
        ep->dead_sessions = s->next;
        session_free(ep, s);
    }
}

void wt_leave(wt_endpoint *ep)
{
    if (--ep->depth > 0)
        return;
    reap_streams(ep);
    free_dead_sessions(ep);
}

wt_session *wt_session_new(wt_endpoint *ep, uint64_t id)
{
    wt_session *s = quince_env_alloc(ep->env, sizeof(*s));
    if (s == NULL)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->dgrams = quince_env_alloc(ep->env, (ep->cfg.max_buffered_datagrams + 1) * sizeof(wt_dgram));
    if (s->dgrams == NULL) {
        quince_env_free(ep->env, s);
        return NULL;
    }
    s->ep = ep;
    s->id = id;
    h3_capsule_reader_init(&s->reader, ep->cfg.max_capsule, ep->env);
    s->reader.budget = ep->budget;
    /* Appended: queued client sessions go out in the order they were asked for. */
    wt_session **p = &ep->sessions;
    while (*p != NULL)
        p = &(*p)->next;
    *p = s;
    ep->nsessions++;
    return s;
}

/* Unlink s and free it when the outermost call returns. */
void wt_session_kill(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    if (s->dead)
        return;
    for (wt_session **p = &ep->sessions; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    ep->nsessions--;
    s->dead = true;
    s->next = ep->dead_sessions;
    ep->dead_sessions = s;
}

wt_session *wt_session_find(wt_endpoint *ep, uint64_t id)
{
    for (wt_session *s = ep->sessions; s != NULL; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

char *wt_dup_field(wt_endpoint *ep, const uint8_t *v, size_t len)
{
    char *c = quince_env_alloc(ep->env, len + 1);
    if (c == NULL)
        return NULL;
    if (len > 0)
        memcpy(c, v, len);
    c[len] = 0;
    return c;
}

static void free_streams(wt_endpoint *ep)
{
    while (ep->streams != NULL) {
        wt_stream *st = ep->streams;
        ep->streams = st->next;
        quince_buf_free(&st->early, ep->env);
        quince_buf_free(&st->held, ep->env);
        quince_budget_release(ep->budget, st->early_charged);
        quince_env_free(ep->env, st);
    }
    reap_streams(ep);
}

/* Everything of ep, live or dead, freed without a word to anyone (wt_endpoint_free). */
void wt_free_all(wt_endpoint *ep)
{
    free_streams(ep);
    while (ep->sessions != NULL) {
        wt_session *s = ep->sessions;
        ep->sessions = s->next;
        session_free(ep, s);
    }
    free_dead_sessions(ep);
}
