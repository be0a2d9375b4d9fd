/* QUIC streams: states, reassembly, flow control and stream frames (RFC 9000 §2-§4, §19.4-§19.14).
 */
#include <string.h>

#include "quic/conn_internal.h"
#include "base/varint.h"

#define STREAM_MAX_RANGES QUIC_OPT_MAX_SENT_PACKETS /* one lost range per packet at most */
#define QUIC_SBUF_KEEP_MIN (64 * 1024)              /* a drained send buffer this large is kept */

static size_t bucket_of(uint64_t id)
{
    return (size_t)((id >> 2) ^ (id >> 10)) % QUIC_STREAM_BUCKETS;
}

static quic_stream *stream_find(const quic_conn *c, uint64_t id)
{
    if (c->streams.buckets == NULL)
        return NULL;
    for (quic_stream *s = c->streams.buckets[bucket_of(id)]; s != NULL; s = s->hnext)
        if (s->id == id)
            return s;
    return NULL;
}

static bool id_is_local(const quic_conn *c, uint64_t id)
{
    return quic_stream_is_server(id) == QUINCE_IS_SERVER(c->is_server);
}

/* Stream index within its type: ID >> 2 (RFC 9000 §2.1). */
static uint64_t stream_index(uint64_t id)
{
    return id >> 2;
}

/* RFC 9000 §4.1: the initial limits each side applies. */
static quic_stream *stream_create(quic_conn *c, uint64_t id)
{
    if (c->streams.buckets == NULL) {
        c->streams.buckets =
            quince_env_calloc(c->env, QUIC_STREAM_BUCKETS * sizeof(*c->streams.buckets));
        if (c->streams.buckets == NULL)
            return NULL;
    }
    quic_stream *s = quince_env_calloc(c->env, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->id = id;
    s->local = id_is_local(c, id);
    bool uni = quic_stream_is_uni(id);
    s->has_send = !uni || s->local;
    s->has_recv = !uni || !s->local;
    const quic_config *cfg = &c->cfg;
    if (s->has_recv) {
        uint64_t win = uni ? cfg->initial_max_stream_data_uni
                           : (s->local ? cfg->initial_max_stream_data_bidi_local
                                       : cfg->initial_max_stream_data_bidi_remote);
        s->recv_window = win;
        s->recv_max = win;
        quic_stream_buf_init(&s->rbuf, c->env, (size_t)(win > 0 ? win : 1), 0, &c->mem);
    } else {
        s->recv_done = true;
    }
    if (s->has_send) {
        const quic_transport_params *tp = &c->peer_tp;
        s->send_max = uni ? tp->initial_max_stream_data_uni
                          : (s->local ? tp->initial_max_stream_data_bidi_remote
                                      : tp->initial_max_stream_data_bidi_local);
        quic_ranges_init(&s->retx, c->env, STREAM_MAX_RANGES, false);
        quic_ranges_init(&s->acked, c->env, STREAM_MAX_RANGES, false);
    } else {
        s->send_done = true;
    }
    size_t b = bucket_of(id);
    s->hnext = c->streams.buckets[b];
    c->streams.buckets[b] = s;
    s->prev = c->streams.tail;
    if (c->streams.tail != NULL)
        c->streams.tail->next = s;
    else
        c->streams.head = s;
    c->streams.tail = s;
    c->streams.count++;
    return s;
}

static void stream_destroy(quic_conn *c, quic_stream *s)
{
    if (s->has_recv)
        quic_stream_buf_free(&s->rbuf);
    if (s->has_send) {
        quic_ranges_free(&s->retx);
        quic_ranges_free(&s->acked);
        if (s->sbuf_kept)
            c->sbuf_kept--;
        quince_env_free(c->env, s->sbuf);
        quince_budget_release(&c->mem, s->sbuf_cap);
    }
    quince_env_free(c->env, s);
}

/* RFC 9000 §3: a stream whose both halves reached a terminal state is forgotten;
 * a peer's stream then gives the peer credit for a new one (§4.6). */
static void stream_maybe_free(quic_conn *c, quic_stream *s)
{
    if (!s->recv_done || !s->send_done || s->readable_ev)
        return;
    quic_stream **pp = &c->streams.buckets[bucket_of(s->id)];
    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->streams.head = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    else
        c->streams.tail = s->prev;
    c->streams.count--;
    if (!s->local) {
        if (quic_stream_is_uni(s->id)) {
            c->closed_peer_uni++;
            uint64_t target = c->closed_peer_uni + c->cfg.initial_max_streams_uni;
            if (target - c->max_streams_uni >= (c->cfg.initial_max_streams_uni + 1) / 2) {
                c->max_streams_uni = target;
                c->need_max_streams_uni = true;
            }
        } else {
            c->closed_peer_bidi++;
            uint64_t target = c->closed_peer_bidi + c->cfg.initial_max_streams_bidi;
            if (target - c->max_streams_bidi >= (c->cfg.initial_max_streams_bidi + 1) / 2) {
                c->max_streams_bidi = target;
                c->need_max_streams_bidi = true;
            }
        }
    }
    stream_destroy(c, s);
}

void quic_streams_init(quic_conn *c)
{
    memset(&c->streams, 0, sizeof(c->streams));
    c->max_streams_bidi = c->cfg.initial_max_streams_bidi;
    c->max_streams_uni = c->cfg.initial_max_streams_uni;
    c->max_data = c->cfg.initial_max_data;
    c->max_data_window = c->cfg.initial_max_data;
}

void quic_streams_free(quic_conn *c)
{
    quic_stream *s = c->streams.head;
    while (s != NULL) {
        quic_stream *n = s->next;
        stream_destroy(c, s);
        s = n;
    }
    quince_env_free(c->env, c->streams.buckets);
    memset(&c->streams, 0, sizeof(c->streams));
}

/* The peer's transport parameters arrived: limits for what we send. */
void quic_streams_on_peer_tp(quic_conn *c)
{
    const quic_transport_params *tp = &c->peer_tp;
    c->peer_max_data = tp->initial_max_data;
    c->peer_max_streams_bidi = tp->initial_max_streams_bidi;
    c->peer_max_streams_uni = tp->initial_max_streams_uni;
    for (quic_stream *s = c->streams.head; s != NULL; s = s->next) {
        if (!s->has_send)
            continue;
        bool uni = quic_stream_is_uni(s->id);
        s->send_max = uni ? tp->initial_max_stream_data_uni
                          : (s->local ? tp->initial_max_stream_data_bidi_remote
                                      : tp->initial_max_stream_data_bidi_local);
    }
}

static void readable(quic_conn *c, quic_stream *s)
{
    if (s->readable_ev)
        return;
    s->readable_ev = true;
    quic_event ev = {.type = QUIC_EVENT_STREAM_READABLE, .stream_id = s->id};
    quic_conn_event(c, &ev);
}

/*
 * RFC 9000 §3.2, §4.6, §19.8: find the stream a received frame names,
 * opening the peer's streams up to it. *out is NULL for a stream already
 * closed and forgotten (the frame is then ignored). need_recv/need_send:
 * which half the frame concerns, for STREAM_STATE_ERROR.
 */
static int stream_get(quic_conn *c, uint64_t id, bool need_recv, bool need_send, quic_stream **out)
{
    *out = NULL;
    bool uni = quic_stream_is_uni(id);
    bool local = id_is_local(c, id);
    if (uni && ((local && need_recv) || (!local && need_send)))
        return QUIC_ERR_STREAM_STATE;
    uint64_t idx = stream_index(id);
    if (local) {
        uint64_t next = uni ? c->next_local_uni : c->next_local_bidi;
        if (idx >= next)
            return QUIC_ERR_STREAM_STATE; /* §19.8: a stream we have not opened */
        *out = stream_find(c, id);
        return QUIC_OK;
    }
    uint64_t limit = uni ? c->max_streams_uni : c->max_streams_bidi;
    if (idx >= limit)
        return QUIC_ERR_STREAM_LIMIT;
    uint64_t *next = uni ? &c->next_peer_uni : &c->next_peer_bidi;
    if (idx < *next) {
        *out = stream_find(c, id);
        return QUIC_OK;
    }
    /* §3.2: opening a stream opens every lower-numbered one of its type. */
    while (*next <= idx) {
        uint64_t nid = (*next << 2) | (id & 3);
        quic_stream *s = stream_create(c, nid);
        if (s == NULL)
            return QUIC_ERR_INTERNAL_ERROR;
        (*next)++;
        quic_event ev = {.type = QUIC_EVENT_STREAM_OPENED, .stream_id = nid};
        quic_conn_event(c, &ev);
        *out = s;
    }
    return QUIC_OK;
}

/* RFC 9000 §4.1: count new bytes against the connection's limit. */
static int count_conn_data(quic_conn *c, quic_stream *s, uint64_t end)
{
    if (end <= s->recv_counted)
        return QUIC_OK;
    c->data_received += end - s->recv_counted;
    s->recv_counted = end;
    if (c->data_received > c->max_data)
        return QUIC_ERR_FLOW_CONTROL;
    return QUIC_OK;
}

/* RFC 9000 §19.8 */
static int on_stream(quic_conn *c, const quic_frame *f)
{
    quic_stream *s;
    int err = stream_get(c, f->u.stream.stream_id, true, false, &s);
    if (err != QUIC_OK || s == NULL)
        return err;
    /* RFC 8470 §5.2: the application may refuse what a replay could bring again. */
    if (c->rx_0rtt)
        s->early = true;
    uint64_t end = f->u.stream.offset + f->u.stream.length;
    if (end > s->recv_max)
        return QUIC_ERR_FLOW_CONTROL; /* §4.1 */
    if (s->recv_reset || s->recv_done)
        return QUIC_OK;
    err = quic_stream_buf_write(&s->rbuf, f->u.stream.offset, f->u.stream.data,
                                (size_t)f->u.stream.length, f->u.stream.fin);
    if (err == QUIC_ERR_LIMIT)
        return QUIC_ERR_FLOW_CONTROL;
    if (err == QUIC_ERR_BUDGET)
        c->rx_hold = true; /* §21.7: left unacknowledged, the bytes come again */
    else if (err != QUIC_OK)
        return err == QUIC_ERR_NOMEM ? QUIC_ERR_INTERNAL_ERROR : err;
    err = count_conn_data(c, s, end);
    if (err != QUIC_OK)
        return err;
    size_t avail = 0;
    quic_stream_buf_peek(&s->rbuf, &avail);
    if (avail > 0 || quic_stream_buf_finished(&s->rbuf))
        readable(c, s);
    return QUIC_OK;
}

/* The receive side is reset: tell the application, return the unread bytes' credit. */
static void recv_reset_now(quic_conn *c, quic_stream *s, uint64_t fs, uint64_t code)
{
    s->recv_reset = true;
    s->recv_done = true;
    s->reset_at = false;
    /* Unread bytes will never be read: return their credit (§4.5). */
    c->data_read += fs - s->rbuf.read_offset;
    quic_event ev = {
        .type = QUIC_EVENT_STREAM_RESET, .stream_id = s->id, .error_code = code, .final_size = fs};
    quic_conn_event(c, &ev);
    stream_maybe_free(c, s);
}

/* draft-ietf-quic-reliable-stream-reset-10 §4, §5: a reset that still owes the
 * application the bytes below Reliable Size. */
static int on_reset_stream_at(quic_conn *c, const quic_frame *f)
{
    quic_stream *s;
    int err = stream_get(c, f->u.reset_stream_at.stream_id, true, false, &s);
    if (err != QUIC_OK || s == NULL)
        return err;
    uint64_t fs = f->u.reset_stream_at.final_size, rel = f->u.reset_stream_at.reliable_size;
    if (fs > s->recv_max)
        return QUIC_ERR_FLOW_CONTROL;
    err = quic_stream_buf_set_final(&s->rbuf, fs);
    if (err != QUIC_OK)
        return err;
    err = count_conn_data(c, s, fs);
    if (err != QUIC_OK)
        return err;
    if (s->recv_reset || s->recv_done)
        return QUIC_OK;
    if (s->reset_at) {
        /* §5.2: the code cannot change; a larger Reliable Size is ignored. */
        if (f->u.reset_stream_at.app_error != s->reset_at_code)
            return QUIC_ERR_STREAM_STATE;
        if (rel >= s->reset_at_size)
            return QUIC_OK;
    }
    s->reset_at = true;
    s->reset_at_size = rel;
    s->reset_at_code = f->u.reset_stream_at.app_error;
    if (s->rbuf.read_offset >= rel) {
        recv_reset_now(c, s, fs, s->reset_at_code);
        return QUIC_OK;
    }
    size_t avail = 0;
    quic_stream_buf_peek(&s->rbuf, &avail);
    if (avail > 0)
        readable(c, s);
    return QUIC_OK;
}

/* RFC 9000 §19.4 */
static int on_reset_stream(quic_conn *c, const quic_frame *f)
{
    quic_stream *s;
    int err = stream_get(c, f->u.reset_stream.stream_id, true, false, &s);
    if (err != QUIC_OK || s == NULL)
        return err;
    uint64_t fs = f->u.reset_stream.final_size;
    if (fs > s->recv_max)
        return QUIC_ERR_FLOW_CONTROL;
    err = quic_stream_buf_set_final(&s->rbuf, fs);
    if (err != QUIC_OK)
        return err;
    err = count_conn_data(c, s, fs);
    if (err != QUIC_OK)
        return err;
    if (s->recv_reset || s->recv_done)
        return QUIC_OK;
    recv_reset_now(c, s, fs, f->u.reset_stream.app_error);
    return QUIC_OK;
}

static void stream_reset_send(quic_stream *s, uint64_t code)
{
    if (!s->has_send || s->reset_pending || s->reset_sent || s->send_done ||
        (s->fin_sent && s->fin_acked))
        return;
    s->reset_pending = true;
    s->reset_code = code;
    s->reset_final_size = s->send_next;
}

/* RFC 9000 §19.5, §3.5 */
static int on_stop_sending(quic_conn *c, const quic_frame *f)
{
    quic_stream *s;
    int err = stream_get(c, f->u.stop_sending.stream_id, false, true, &s);
    if (err != QUIC_OK || s == NULL)
        return err;
    if (s->reset_pending || s->reset_sent || s->send_done)
        return QUIC_OK;
    stream_reset_send(s, f->u.stop_sending.app_error);
    quic_event ev = {.type = QUIC_EVENT_STREAM_STOP_SENDING,
                     .stream_id = s->id,
                     .error_code = f->u.stop_sending.app_error};
    quic_conn_event(c, &ev);
    return QUIC_OK;
}

int quic_stream_on_frame(quic_conn *c, const quic_frame *f, uint64_t now)
{
    (void)now;
    quic_stream *s;
    int err;
    uint64_t t = f->type;
    if (t >= QUIC_FT_STREAM && t <= 0x0f)
        return on_stream(c, f);
    switch (t) {
    case QUIC_FT_RESET_STREAM:
        return on_reset_stream(c, f);
    case QUIC_FT_RESET_STREAM_AT:
        return on_reset_stream_at(c, f);
    case QUIC_FT_STOP_SENDING:
        return on_stop_sending(c, f);
    case QUIC_FT_MAX_DATA: /* RFC 9000 §19.9 */
        if (f->u.max_data.max > c->peer_max_data)
            c->peer_max_data = f->u.max_data.max;
        return QUIC_OK;
    case QUIC_FT_MAX_STREAM_DATA: /* RFC 9000 §19.10 */
        err = stream_get(c, f->u.max_stream_data.stream_id, false, true, &s);
        if (err != QUIC_OK || s == NULL)
            return err;
        if (f->u.max_stream_data.max > s->send_max)
            s->send_max = f->u.max_stream_data.max;
        return QUIC_OK;
    case QUIC_FT_MAX_STREAMS_BIDI: /* RFC 9000 §19.11 (quic_frame_decode checked the limit) */
    case QUIC_FT_MAX_STREAMS_UNI: {
        uint64_t *max =
            t == QUIC_FT_MAX_STREAMS_BIDI ? &c->peer_max_streams_bidi : &c->peer_max_streams_uni;
        if (f->u.max_streams.max > *max)
            *max = f->u.max_streams.max;
        return QUIC_OK;
    }
    case QUIC_FT_DATA_BLOCKED: /* RFC 9000 §19.12: informational */
        return QUIC_OK;
    case QUIC_FT_STREAM_DATA_BLOCKED: /* RFC 9000 §19.13 */
        return stream_get(c, f->u.stream_data_blocked.stream_id, true, false, &s);
    case QUIC_FT_STREAMS_BLOCKED_BIDI: /* RFC 9000 §19.14 (quic_frame_decode checked the limit) */
    case QUIC_FT_STREAMS_BLOCKED_UNI:
        return QUIC_OK;
    default:
        return QUIC_ERR_INTERNAL_ERROR;
    }
}

static void sbuf_free(quic_conn *c, quic_stream *s)
{
    quince_env_free(c->env, s->sbuf);
    s->sbuf = NULL;
    quince_budget_release(&c->mem, s->sbuf_cap);
    s->sbuf_cap = 0;
    s->sbuf_start = 0;
    if (s->sbuf_kept) {
        s->sbuf_kept = false;
        c->sbuf_kept--;
    }
}

/* Memory is short: the drained send buffers kept for their streams' next writes go back
 * to the budget. Returns whether any did. */
static bool sbuf_free_kept(quic_conn *c, const quic_stream *except)
{
    size_t before = c->sbuf_kept;
    if (before == (except != NULL && except->sbuf_kept ? 1u : 0u))
        return false;
    for (quic_stream *s = c->streams.head; s != NULL && c->sbuf_kept > 0; s = s->next)
        if (s->sbuf_kept && s != except)
            sbuf_free(c, s);
    return c->sbuf_kept < before;
}

/* Release acknowledged bytes at the front of the send buffer. */
static void send_release(quic_conn *c, quic_stream *s)
{
    while (!quic_ranges_empty(&s->acked)) {
        quic_range r = quic_ranges_at(&s->acked, 0);
        if (r.start > s->sbuf_base)
            break;
        uint64_t n = r.end - s->sbuf_base;
        if (n > s->sbuf_len)
            n = s->sbuf_len;
        s->sbuf_start = s->sbuf_cap > 0 ? (s->sbuf_start + (size_t)n) % s->sbuf_cap : 0;
        s->sbuf_len -= (size_t)n;
        s->sbuf_base += n;
        quic_ranges_remove_below(&s->acked, s->sbuf_base);
        if (n == 0)
            break;
    }
    if (s->sbuf_len == 0 && s->sbuf_cap > 0) {
        /* Drained. A large buffer of a stream still being written is kept for the next
         * write, unless memory is short: a bulk sender drains it whenever one batch of
         * acknowledgments covers all in flight, and freeing it each time made the next
         * writes regrow it from 4 KiB and fault its pages in again (a quarter of
         * quince-server's CPU in a download). Others go back to the budget at once; kept
         * ones when memory runs short (sbuf_free_kept) or the stream ends. */
        bool keep = s->sbuf_cap >= QUIC_SBUF_KEEP_MIN && !s->fin_requested && !s->reset_pending &&
                    !s->reset_sent && !c->budget_blocked;
        if (keep && !s->sbuf_kept) {
            s->sbuf_kept = true;
            s->sbuf_start = 0;
            c->sbuf_kept++;
        } else if (!keep) {
            sbuf_free(c, s);
            quic_streams_on_budget_release(c);
        }
    }
    /* An emptied ring was freed (cap 0): the stream can take bytes again all the same. */
    if (s->writable_wanted && !s->fin_requested &&
        (s->sbuf_len < s->sbuf_cap || s->sbuf_len == 0)) {
        s->writable_wanted = false;
        quic_event ev = {.type = QUIC_EVENT_STREAM_WRITABLE, .stream_id = s->id};
        quic_conn_event(c, &ev);
    }
    /* Done: FIN acknowledged with every byte, or a RESET_STREAM_AT acknowledged
     * with its reliable bytes. s may be freed here: the last use. */
    if (!s->send_done && ((s->fin_acked && s->sbuf_base == s->final_size) ||
                          (s->reset_acked && s->sbuf_base >= s->reset_reliable))) {
        s->send_done = true;
        stream_maybe_free(c, s);
    }
}

/* A packet carrying a stream-related frame was acknowledged or lost (RFC 9000 §13.3). */
void quic_stream_on_rec(quic_conn *c, const quic_frame_rec *r, bool lost)
{
    switch (r->kind) {
    case REC_MAX_DATA:
        if (lost)
            c->need_max_data = true;
        return;
    case REC_MAX_STREAMS_BIDI:
        if (lost)
            c->need_max_streams_bidi = true;
        return;
    case REC_MAX_STREAMS_UNI:
        if (lost)
            c->need_max_streams_uni = true;
        return;
    case REC_DATA_BLOCKED:
        return;
    default:
        break;
    }
    quic_stream *s = stream_find(c, r->id);
    if (s == NULL)
        return;
    switch (r->kind) {
    case REC_STREAM:
        if ((s->reset_pending || s->reset_sent) && s->reset_reliable == 0)
            return;
        if (lost) {
            uint64_t end = r->offset + r->len;
            /* After RESET_STREAM_AT only the reliable bytes are resent (§5). */
            if ((s->reset_pending || s->reset_sent) && end > s->reset_reliable)
                end = s->reset_reliable;
            if (end > r->offset && quic_ranges_add(&s->retx, r->offset, end) != QUIC_OK)
                quic_conn_set_error(c, QUIC_TE_INTERNAL_ERROR, 0, "retransmission ranges");
            if (r->fin && !s->fin_acked)
                s->fin_lost = true;
        } else {
            if (r->offset + r->len > s->sbuf_base && r->len > 0 &&
                quic_ranges_add(&s->acked, r->offset, r->offset + r->len) != QUIC_OK)
                quic_conn_set_error(c, QUIC_TE_INTERNAL_ERROR, 0, "acknowledged ranges");
            if (r->fin)
                s->fin_acked = true;
            send_release(c, s);
        }
        return;
    case REC_RESET_STREAM:
        if (lost) {
            if (!s->reset_acked)
                s->reset_pending = true;
        } else if (!s->send_done) {
            s->reset_acked = true;
            if (s->sbuf_base >= s->reset_reliable) {
                if (s->sbuf_kept)
                    sbuf_free(c, s);
                s->send_done = true;
                stream_maybe_free(c, s);
            }
        }
        return;
    case REC_STOP_SENDING:
        if (lost && !s->recv_done)
            s->stop_pending = true;
        return;
    case REC_MAX_STREAM_DATA:
        if (lost && !s->recv_done && !s->rbuf.has_final)
            s->need_max_stream_data = true;
        return;
    case REC_STREAM_DATA_BLOCKED:
        return;
    default:
        return;
    }
}

static bool add_rec(quic_frame_rec *recs, size_t *n, size_t max, quic_frame_rec r)
{
    if (*n >= max)
        return false;
    recs[(*n)++] = r;
    return true;
}

/* Room for one more frame of up to need bytes and one more record? */
static bool room(const quince_writer *w, size_t need, size_t n, size_t max)
{
    return quince_writer_left(w) >= need && n < max;
}

static bool put_frame2(quince_writer *w, uint64_t type, uint64_t a, uint64_t b, int nvals)
{
    if (!quince_put_varint(w, type) || !quince_put_varint(w, a))
        return false;
    return nvals < 2 || quince_put_varint(w, b);
}

/* Bytes of new data the stream may send now (stream and connection credit). */
static uint64_t new_data_credit(const quic_conn *c, const quic_stream *s, bool *stream_blocked)
{
    uint64_t write_end = s->sbuf_base + s->sbuf_len;
    uint64_t avail = write_end - s->send_next;
    *stream_blocked = false;
    if (s->send_next >= s->send_max) {
        *stream_blocked = avail > 0;
        return 0;
    }
    uint64_t sc = s->send_max - s->send_next;
    if (sc < avail) {
        *stream_blocked = true;
        avail = sc;
    }
    uint64_t cc = c->peer_max_data > c->data_sent ? c->peer_max_data - c->data_sent : 0;
    return avail < cc ? avail : cc;
}

/* Write stream data [off, off+len) (len may be reduced to fit). Returns bytes written or -1. */
static int64_t write_stream_data(quince_writer *w, quic_stream *s, uint64_t off, uint64_t len,
                                 bool fin_if_end, bool *fin_out)
{
    size_t fit = quic_frame_stream_fit(quince_writer_left(w), s->id, off, (size_t)len, true);
    if (fit == 0 && len > 0)
        return -1;
    const uint8_t *p = NULL; /* FIN alone */
    if (fit > 0) {
        /* One frame takes bytes up to the end of the ring; the next one goes on
         * from its start (and carries the FIN if it ends the stream). */
        size_t at = (s->sbuf_start + (size_t)(off - s->sbuf_base)) % s->sbuf_cap;
        if (fit > s->sbuf_cap - at)
            fit = s->sbuf_cap - at;
        p = s->sbuf + at;
    }
    bool fin = fin_if_end && s->fin_requested && off + fit == s->final_size;
    if (len == 0 && !fin)
        return -1;
    if (len == 0 && quic_frame_stream_header_len(s->id, off, 0, true) > quince_writer_left(w))
        return -1;
    if (!quic_frame_encode_stream(w, s->id, off, p, fit, fin, true))
        return -1;
    *fin_out = fin;
    return (int64_t)fit;
}

/* A frame of a stream's id and one varint (RFC 9000 §19.5, §19.10, §19.13), recorded for
 * retransmission. Returns whether it was written. */
static bool stream_frame(quince_writer *w, const quic_stream *s, uint64_t type, uint64_t value,
                         uint8_t kind, quic_frame_rec *recs, size_t *n, size_t max, bool *elic)
{
    if (!room(w, 24, *n, max) || !put_frame2(w, type, s->id, value, 2))
        return false;
    add_rec(recs, n, max, (quic_frame_rec){.kind = kind, .id = s->id});
    *elic = true;
    return true;
}

static void stream_frames(quic_conn *c, quic_stream *s, quince_writer *w, quic_frame_rec *recs,
                          size_t *n, size_t max, bool *elic)
{
    if (s->reset_pending && room(w, 40, *n, max)) {
        bool at = s->reset_reliable > 0; /* reliable-stream-reset-10 §4 */
        if (put_frame2(w, at ? QUIC_FT_RESET_STREAM_AT : QUIC_FT_RESET_STREAM, s->id, s->reset_code,
                       2) &&
            quince_put_varint(w, s->reset_final_size) &&
            (!at || quince_put_varint(w, s->reset_reliable))) {
            add_rec(recs, n, max, (quic_frame_rec){.kind = REC_RESET_STREAM, .id = s->id});
            s->reset_pending = false;
            s->reset_sent = true;
            *elic = true;
        }
    }
    if (s->stop_pending && stream_frame(w, s, QUIC_FT_STOP_SENDING, s->stop_code, REC_STOP_SENDING,
                                        recs, n, max, elic)) {
        s->stop_pending = false;
        s->stop_sent = true;
    }
    if (s->need_max_stream_data && stream_frame(w, s, QUIC_FT_MAX_STREAM_DATA, s->recv_max,
                                                REC_MAX_STREAM_DATA, recs, n, max, elic))
        s->need_max_stream_data = false;
    bool reset = s->reset_sent || s->reset_pending;
    if (!s->has_send || s->send_done || (reset && s->reset_reliable == 0))
        return;
    /* Lost data first (RFC 9000 §13.3), skipping what was acknowledged since;
     * after RESET_STREAM_AT only the bytes below its Reliable Size. */
    while (!quic_ranges_empty(&s->retx) && room(w, 16, *n, max)) {
        quic_range r = quic_ranges_at(&s->retx, 0);
        uint64_t start = r.start < s->sbuf_base ? s->sbuf_base : r.start;
        for (size_t i = 0; i < quic_ranges_count(&s->acked); i++) {
            quic_range a = quic_ranges_at(&s->acked, i);
            if (a.start <= start && a.end > start)
                start = a.end;
        }
        if (start >= r.end || (reset && start >= s->reset_reliable)) {
            quic_ranges_remove_below(&s->retx, r.end);
            continue;
        }
        uint64_t end = r.end;
        for (size_t i = 0; i < quic_ranges_count(&s->acked); i++) {
            quic_range a = quic_ranges_at(&s->acked, i);
            if (a.start > start && a.start < end)
                end = a.start;
        }
        if (reset && end > s->reset_reliable)
            end = s->reset_reliable;
        bool fin = false;
        int64_t k = write_stream_data(w, s, start, end - start, !reset, &fin);
        if (k <= 0)
            return;
        add_rec(
            recs, n, max,
            (quic_frame_rec){
                .kind = REC_STREAM, .id = s->id, .offset = start, .len = (uint64_t)k, .fin = fin});
        if (fin)
            s->fin_lost = false;
        *elic = true;
        quic_ranges_remove_below(&s->retx, start + (uint64_t)k);
        if (start + (uint64_t)k < end)
            return; /* the packet is full */
    }
    if (reset)
        return; /* nothing new after a reset; the reliable bytes were all sent once */
    bool blocked = false;
    uint64_t credit = new_data_credit(c, s, &blocked);
    if ((credit > 0 || (s->fin_requested && !s->fin_sent && s->send_next == s->final_size)) &&
        room(w, 16, *n, max)) {
        bool fin = false;
        int64_t k = write_stream_data(w, s, s->send_next, credit, true, &fin);
        if (k >= 0) {
            add_rec(recs, n, max,
                    (quic_frame_rec){.kind = REC_STREAM,
                                     .id = s->id,
                                     .offset = s->send_next,
                                     .len = (uint64_t)k,
                                     .fin = fin});
            s->send_next += (uint64_t)k;
            c->data_sent += (uint64_t)k;
            if (fin) {
                s->fin_sent = true;
                s->fin_lost = false;
            }
            *elic = true;
            new_data_credit(c, s, &blocked);
        }
    }
    if (s->fin_lost && s->send_next == s->final_size && room(w, 24, *n, max)) {
        /* The FIN alone was lost: an empty STREAM frame at the final size. */
        if (quic_frame_encode_stream(w, s->id, s->final_size, NULL, 0, true, true)) {
            add_rec(recs, n, max,
                    (quic_frame_rec){
                        .kind = REC_STREAM, .id = s->id, .offset = s->final_size, .fin = true});
            s->fin_lost = false;
            *elic = true;
        }
    }
    /* RFC 9000 §4.1: say we are blocked, once per limit. */
    if (blocked && s->blocked_at != s->send_max &&
        stream_frame(w, s, QUIC_FT_STREAM_DATA_BLOCKED, s->send_max, REC_STREAM_DATA_BLOCKED, recs,
                     n, max, elic))
        s->blocked_at = s->send_max;
}

static bool stream_wants_send(const quic_conn *c, const quic_stream *s)
{
    if (s->reset_pending || s->stop_pending || s->need_max_stream_data)
        return true;
    if (!s->has_send || s->send_done)
        return false;
    if (s->reset_sent) /* RESET_STREAM_AT: the reliable bytes still lost */
        return s->reset_reliable > 0 && !quic_ranges_empty(&s->retx) &&
               quic_ranges_at(&s->retx, 0).start < s->reset_reliable;
    if (!quic_ranges_empty(&s->retx) || s->fin_lost)
        return true;
    bool blocked;
    if (new_data_credit(c, s, &blocked) > 0)
        return true;
    if (blocked && s->blocked_at != s->send_max)
        return true;
    return s->fin_requested && !s->fin_sent && s->send_next == s->final_size;
}

/* RFC 9000 §4.1: DATA_BLOCKED is owed when the connection limit holds back data. */
static bool data_blocked_pending(const quic_conn *c)
{
    if (c->data_sent < c->peer_max_data || c->data_blocked_at == c->peer_max_data)
        return false;
    for (const quic_stream *s = c->streams.head; s != NULL; s = s->next)
        if (s->has_send && !s->reset_sent && s->sbuf_base + s->sbuf_len > s->send_next)
            return true;
    return false;
}

bool quic_stream_has_pending(const quic_conn *c)
{
    if (data_blocked_pending(c))
        return true;
    if (c->need_max_data || c->need_max_streams_bidi || c->need_max_streams_uni ||
        c->streams_blocked_bidi || c->streams_blocked_uni)
        return true;
    for (const quic_stream *s = c->streams.head; s != NULL; s = s->next)
        if (stream_wants_send(c, s))
            return true;
    return false;
}

/* A connection-level frame of one varint (RFC 9000 §19.9, §19.11, §19.12, §19.14), when
 * *pending: written, recorded as kind (REC_NONE: not retransmitted), *pending cleared. */
#define REC_NONE 0xff
static void conn_frame(quince_writer *w, bool *pending, uint64_t type, uint64_t value, uint8_t kind,
                       quic_frame_rec *recs, size_t *n, size_t max, bool *elic)
{
    if (!*pending || !room(w, 16, *n, max) || !put_frame2(w, type, value, 0, 1))
        return;
    if (kind != REC_NONE)
        add_rec(recs, n, max, (quic_frame_rec){.kind = kind});
    *pending = false;
    *elic = true;
}

/* Connection-level frames, then stream frames round-robin from rr_cursor. */
void quic_stream_write_frames(quic_conn *c, quince_writer *w, quic_frame_rec *recs, size_t *n,
                              size_t max_recs, bool *elic)
{
    conn_frame(w, &c->need_max_data, QUIC_FT_MAX_DATA, c->max_data, REC_MAX_DATA, recs, n, max_recs,
               elic);
    conn_frame(w, &c->need_max_streams_bidi, QUIC_FT_MAX_STREAMS_BIDI, c->max_streams_bidi,
               REC_MAX_STREAMS_BIDI, recs, n, max_recs, elic);
    conn_frame(w, &c->need_max_streams_uni, QUIC_FT_MAX_STREAMS_UNI, c->max_streams_uni,
               REC_MAX_STREAMS_UNI, recs, n, max_recs, elic);
    bool data_blocked = data_blocked_pending(c);
    if (data_blocked) {
        conn_frame(w, &data_blocked, QUIC_FT_DATA_BLOCKED, c->peer_max_data, REC_DATA_BLOCKED, recs,
                   n, max_recs, elic);
        if (!data_blocked) /* sent: once per limit */
            c->data_blocked_at = c->peer_max_data;
    }
    /* RFC 9000 §19.14: tell the peer we wanted more streams, once per limit (not tracked). */
    conn_frame(w, &c->streams_blocked_bidi, QUIC_FT_STREAMS_BLOCKED_BIDI, c->peer_max_streams_bidi,
               REC_NONE, recs, n, max_recs, elic);
    conn_frame(w, &c->streams_blocked_uni, QUIC_FT_STREAMS_BLOCKED_UNI, c->peer_max_streams_uni,
               REC_NONE, recs, n, max_recs, elic);
    if (c->streams.head == NULL)
        return;
    /* Start after the stream served last so that all streams progress. */
    quic_stream *start = stream_find(c, c->rr_cursor);
    start = (start != NULL && start->next != NULL) ? start->next : c->streams.head;
    quic_stream *s = start;
    do {
        quic_stream *next = s->next != NULL ? s->next : c->streams.head;
        if (quince_writer_left(w) < 24 || *n >= max_recs)
            break;
        if (stream_wants_send(c, s)) {
            stream_frames(c, s, w, recs, n, max_recs, elic);
            c->rr_cursor = s->id;
        }
        s = next;
    } while (s != start);
}

/* ---- Application API (RFC 9000 §2.4) ---- */

/* RFC 9000 §2.1, §4.6 */
int quic_conn_open_stream(quic_conn *c, bool bidi, uint64_t *stream_id)
{
    if (c == NULL || stream_id == NULL)
        return QUIC_ERR_ARGUMENT;
    if (c->state >= QUIC_STATE_CLOSING)
        return QUIC_ERR_ARGUMENT;
    uint64_t *next = bidi ? &c->next_local_bidi : &c->next_local_uni;
    uint64_t limit = bidi ? c->peer_max_streams_bidi : c->peer_max_streams_uni;
    if (*next >= limit) {
        if (bidi)
            c->streams_blocked_bidi = true;
        else
            c->streams_blocked_uni = true;
        quic_conn_wake(c);     /* STREAMS_BLOCKED to send */
        return QUIC_ERR_LIMIT; /* §4.6: wait for MAX_STREAMS */
    }
    uint64_t id = (*next << 2) | (QUINCE_IS_SERVER(c->is_server) ? QUIC_STREAM_SERVER_BIT : 0) |
                  (bidi ? 0 : QUIC_STREAM_UNI_BIT);
    if (stream_create(c, id) == NULL)
        return QUIC_ERR_NOMEM;
    (*next)++;
    *stream_id = id;
    return QUIC_OK;
}

/* RFC 9000 §4.2, §21.7: open the connection window again once half is used, but never
 * past what the memory budget could hold beyond the bytes received: with a window larger
 * than the budget (quince-client's 16 MiB against 2 MiB), the credit grows in steps of the
 * room there is (it never grew at all, and a download stopped at the first window). With
 * no room the peer waits (its DATA_BLOCKED tells it so) until memory comes back. */
static void open_conn_window(quic_conn *c)
{
    if (c->max_data - c->data_read >= c->max_data_window / 2 + 1)
        return;
    uint64_t max = c->data_read + c->max_data_window;
    uint64_t room = quince_budget_room(&c->mem);
    if (max - c->data_received > room && sbuf_free_kept(c, NULL))
        room = quince_budget_room(&c->mem);
    if (max - c->data_received > room)
        max = c->data_received + room;
    /* Not worth a MAX_DATA frame for less than a quarter of the room (or of the window). */
    uint64_t step = (room < c->max_data_window ? room : c->max_data_window) / 4;
    if (max <= c->max_data + step) {
        if (max <= c->max_data)
            c->budget_blocked = true;
        return;
    }
    c->max_data = max;
    c->need_max_data = true;
    quic_conn_wake(c);
}

void quic_streams_on_budget_release(quic_conn *c)
{
    if (!c->budget_blocked)
        return;
    c->budget_blocked = false;
    for (quic_stream *s = c->streams.head; s != NULL; s = s->next) {
        if (s->writable_wanted && !s->fin_requested && !s->reset_pending && !s->reset_sent) {
            s->writable_wanted = false;
            quic_event ev = {.type = QUIC_EVENT_STREAM_WRITABLE, .stream_id = s->id};
            quic_conn_event(c, &ev);
        }
    }
    open_conn_window(c);
}

/* RFC 9000 §2.2, §3.1 */
int64_t quic_stream_write(quic_conn *c, uint64_t stream_id, const uint8_t *data, size_t len,
                          bool fin)
{
    if (c == NULL || (data == NULL && len > 0))
        return QUIC_ERR_ARGUMENT;
    quic_stream *s = stream_find(c, stream_id);
    if (s == NULL || !s->has_send || s->fin_requested || s->reset_pending || s->reset_sent ||
        c->state >= QUIC_STATE_CLOSING)
        return QUIC_ERR_ARGUMENT;
    size_t maxbuf = c->cfg.max_stream_buffer;
    size_t room_left = maxbuf - s->sbuf_len;
    size_t n = len < room_left ? len : room_left;
    if (n > 0 && s->sbuf_len + n > s->sbuf_cap) {
        /* Grow (up to maxbuf, doubling, within the budget), laying the ring out from index 0
         * again. Past the budget the write is short; WRITABLE follows when memory returns. */
        size_t need = s->sbuf_len + n;
        size_t cap = s->sbuf_cap ? s->sbuf_cap : QUIC_OPT_STREAM_SEND_BUFFER_FIRST;
        while (cap < need)
            cap *= 2;
        if (cap > maxbuf)
            cap = maxbuf;
        /* An eighth of the budget stays for what the peer sends us. */
        size_t room = quince_budget_room(&c->mem), reserve = c->mem.limit / 8;
        if (cap - s->sbuf_cap > (room > reserve ? room - reserve : 0) && sbuf_free_kept(c, s))
            room = quince_budget_room(&c->mem);
        room = room > reserve ? room - reserve : 0;
        if (cap - s->sbuf_cap > room) {
            cap = need - s->sbuf_cap <= room ? need : s->sbuf_cap + (room >= 1024 ? room : 0);
            if (cap < need) {
                c->budget_blocked = true;
                n = cap - s->sbuf_len;
            }
        }
        if (cap > s->sbuf_cap) {
            if (!quince_budget_charge(&c->mem, cap - s->sbuf_cap))
                return QUIC_ERR_NOMEM; /* not reached: the room was checked */
            uint8_t *nb = quince_env_alloc(c->env, cap);
            if (nb == NULL) {
                quince_budget_release(&c->mem, cap - s->sbuf_cap);
                return QUIC_ERR_NOMEM;
            }
            size_t first = s->sbuf_len;
            if (first > s->sbuf_cap - s->sbuf_start)
                first = s->sbuf_cap - s->sbuf_start;
            if (first > 0)
                memcpy(nb, s->sbuf + s->sbuf_start, first);
            if (s->sbuf_len > first)
                memcpy(nb + first, s->sbuf, s->sbuf_len - first);
            quince_env_free(c->env, s->sbuf);
            s->sbuf = nb;
            s->sbuf_cap = cap;
            s->sbuf_start = 0;
        }
    }
    if (n > 0) {
        if (s->sbuf_kept) {
            s->sbuf_kept = false;
            c->sbuf_kept--;
        }
        /* The write end, then around to the ring's start if it wraps. */
        size_t at = (s->sbuf_start + s->sbuf_len) % s->sbuf_cap;
        size_t first = n < s->sbuf_cap - at ? n : s->sbuf_cap - at;
        memcpy(s->sbuf + at, data, first);
        if (n > first)
            memcpy(s->sbuf, data + first, n - first);
        s->sbuf_len += n;
    }
    if (n < len)
        s->writable_wanted = true;
    else if (fin) {
        s->fin_requested = true;
        s->final_size = s->sbuf_base + s->sbuf_len;
    }
    if (n > 0 || fin)
        quic_conn_wake(c);
    return (int64_t)n;
}

/* RFC 9000 §3.1 */
int quic_stream_shutdown(quic_conn *c, uint64_t stream_id)
{
    int64_t r = quic_stream_write(c, stream_id, NULL, 0, true);
    return r < 0 ? (int)r : QUIC_OK;
}

int64_t quic_stream_read(quic_conn *c, uint64_t stream_id, uint8_t *buf, size_t cap, bool *fin)
{
    if (c == NULL || (buf == NULL && cap > 0))
        return QUIC_ERR_ARGUMENT;
    if (fin != NULL)
        *fin = false;
    quic_stream *s = stream_find(c, stream_id);
    if (s == NULL || !s->has_recv)
        return QUIC_ERR_ARGUMENT;
    s->readable_ev = false;
    if (s->recv_reset) {
        stream_maybe_free(c, s);
        return QUIC_ERR_STREAM_STATE;
    }
    if (s->recv_done) {
        if (fin != NULL)
            *fin = true;
        stream_maybe_free(c, s);
        return 0;
    }
    if (s->reset_at && cap > s->reset_at_size - s->rbuf.read_offset)
        cap = (size_t)(s->reset_at_size - s->rbuf.read_offset);
    size_t n = quic_stream_buf_read(&s->rbuf, buf, cap);
    c->data_read += n;
    if (s->reset_at && s->rbuf.read_offset >= s->reset_at_size) {
        /* reliable-stream-reset-10 §5: the reliable bytes are delivered; now the reset. */
        s->readable_ev = false;
        recv_reset_now(c, s, s->rbuf.final_size, s->reset_at_code);
        return (int64_t)n;
    }
    /* RFC 9000 §4.2: open the windows again once half is used. */
    if (!s->rbuf.has_final && s->recv_max - s->rbuf.read_offset < s->recv_window / 2 + 1) {
        s->recv_max = s->rbuf.read_offset + s->recv_window;
        s->need_max_stream_data = true;
        quic_conn_wake(c);
    }
    open_conn_window(c);
    if (n > 0)
        quic_streams_on_budget_release(c);
    if (quic_stream_buf_finished(&s->rbuf)) {
        s->recv_done = true;
        s->readable_ev = false;
        if (fin != NULL)
            *fin = true;
        stream_maybe_free(c, s);
    }
    return (int64_t)n;
}

void quic_stream_mark_early(quic_conn *c, const quic_frame_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (recs[i].kind != REC_STREAM)
            continue;
        quic_stream *s = stream_find(c, recs[i].id);
        if (s != NULL)
            s->early = true;
    }
}

/* RFC 9001 §4.6.1, RFC 8470 §5.2 */
QUINCE_API bool quic_stream_early(const quic_conn *c, uint64_t stream_id)
{
    const quic_stream *s = c != NULL ? stream_find(c, stream_id) : NULL;
    return s != NULL && s->early;
}

/* RFC 9000 §3.1, §19.4 */
int quic_stream_reset(quic_conn *c, uint64_t stream_id, uint64_t app_error)
{
    if (c == NULL)
        return QUIC_ERR_ARGUMENT;
    quic_stream *s = stream_find(c, stream_id);
    if (s == NULL || !s->has_send)
        return QUIC_ERR_ARGUMENT;
    /* A plain reset also lowers an earlier RESET_STREAM_AT's Reliable Size to 0 (§5.2). */
    return quic_stream_reset_at(c, stream_id, app_error, 0);
}

/* draft-ietf-quic-reliable-stream-reset-07 §3 */
QUINCE_API bool quic_conn_peer_reset_stream_at(const quic_conn *c)
{
    return c != NULL && c->have_peer_tp && c->peer_tp.reset_stream_at;
}

/* draft-ietf-quic-reliable-stream-reset-10 §5, §5.2 */
int quic_stream_reset_at(quic_conn *c, uint64_t stream_id, uint64_t app_error,
                         uint64_t reliable_size)
{
    if (c == NULL)
        return QUIC_ERR_ARGUMENT;
    quic_stream *s = stream_find(c, stream_id);
    if (s == NULL || !s->has_send)
        return QUIC_ERR_ARGUMENT;
    if (reliable_size > 0 && !quic_conn_peer_reset_stream_at(c))
        return QUIC_ERR_STREAM_STATE;
    if (s->reset_pending || s->reset_sent) {
        /* §5.2: only lower it, with the same code (the frame goes again). */
        if (reliable_size < s->reset_reliable && !s->send_done) {
            s->reset_reliable = reliable_size;
            s->reset_pending = true;
            s->reset_acked = false;
            quic_conn_wake(c);
        }
        return QUIC_OK;
    }
    if (reliable_size > s->send_next) {
        /* §5: the bytes below Reliable Size are delivered even if they were
         * written but not sent yet: within the peer's limits they are queued
         * as lost, since retransmission is all a reset stream still sends. */
        uint64_t extra = reliable_size - s->send_next;
        if (reliable_size > s->sbuf_base + s->sbuf_len || reliable_size > s->send_max ||
            c->peer_max_data < c->data_sent || c->peer_max_data - c->data_sent < extra)
            return QUIC_ERR_STREAM_STATE;
        int rc = quic_ranges_add(&s->retx, s->send_next, reliable_size);
        if (rc != QUIC_OK)
            return rc;
        c->data_sent += extra;
        s->send_next = reliable_size;
    }
    stream_reset_send(s, app_error);
    if (s->reset_pending)
        s->reset_reliable = reliable_size;
    quic_conn_wake(c);
    return QUIC_OK;
}

/* RFC 9000 §4.5, §19.4 */
int quic_stream_reset_final_size(const quic_conn *c, uint64_t stream_id, uint64_t *final_size)
{
    if (c == NULL || final_size == NULL)
        return QUIC_ERR_ARGUMENT;
    quic_stream *s = stream_find(c, stream_id);
    if (s == NULL || !s->has_send)
        return QUIC_ERR_ARGUMENT;
    if (!s->reset_pending && !s->reset_sent)
        return QUIC_ERR_STREAM_STATE;
    *final_size = s->reset_final_size;
    return QUIC_OK;
}

/* RFC 9000 §3.5, §19.5 */
int quic_stream_stop_sending(quic_conn *c, uint64_t stream_id, uint64_t app_error)
{
    if (c == NULL)
        return QUIC_ERR_ARGUMENT;
    quic_stream *s = stream_find(c, stream_id);
    if (s == NULL || !s->has_recv)
        return QUIC_ERR_ARGUMENT;
    if (!s->recv_done && !s->stop_sent) {
        s->stop_pending = true;
        s->stop_code = app_error;
        quic_conn_wake(c);
    }
    return QUIC_OK;
}
