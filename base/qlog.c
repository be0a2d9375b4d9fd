/* qlog traces: the JSON-SEQ writer every layer logs through (draft-ietf-quic-qlog-main-schema-05
 * §6.2, RFC 7464). */
#include "base/qlog.h"

#include <stddef.h>
#include <string.h>

/* One record at a time; an event bigger than this is dropped whole. */
#define QLOG_RECORD_MAX 16384
#define QLOG_DEPTH 12

struct quince_qlog {
    const quince_env *env;
    void *trace; /* the sink's handle */
    uint64_t start;
    uint64_t now; /* the latest time seen */
    bool writing; /* between begin and end */
    bool overflow;
    size_t len;
    uint8_t depth;
    char closer[QLOG_DEPTH];   /* '}' or ']' per open level */
    bool has_item[QLOG_DEPTH]; /* a member/element was written at this level */
    char buf[QLOG_RECORD_MAX];
};

static void put(quince_qlog *q, const char *s, size_t n)
{
    if (q->overflow)
        return;
    /* Keep room to close every level and the final LF. */
    if (n > QLOG_RECORD_MAX - QLOG_DEPTH - 2 - q->len) {
        q->overflow = true;
        return;
    }
    memcpy(q->buf + q->len, s, n);
    q->len += n;
}

static void puts_(quince_qlog *q, const char *s)
{
    put(q, s, strlen(s));
}

static void putc_(quince_qlog *q, char c)
{
    put(q, &c, 1);
}

static void put_u64(quince_qlog *q, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(q, tmp + i, sizeof(tmp) - i);
}

/* Microseconds as milliseconds with three decimals, trailing zeros dropped. */
static void put_ms(quince_qlog *q, uint64_t us)
{
    put_u64(q, us / 1000);
    unsigned frac = (unsigned)(us % 1000);
    if (frac == 0)
        return;
    char d[4] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                 (char)('0' + frac % 10)};
    size_t n = 4;
    while (d[n - 1] == '0')
        n--;
    put(q, d, n);
}

static void put_escaped(quince_qlog *q, const uint8_t *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    putc_(q, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(q, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15]};
            put(q, e, 6);
        } else {
            putc_(q, (char)c);
        }
    }
    putc_(q, '"');
}

/* The separator and key before a value at the current level. */
static bool item(quince_qlog *q, const char *key)
{
    if (q == NULL || !q->writing)
        return false;
    if (q->has_item[q->depth])
        putc_(q, ',');
    q->has_item[q->depth] = true;
    if (key != NULL) {
        put_escaped(q, (const uint8_t *)key, strlen(key));
        putc_(q, ':');
    }
    return true;
}

static void open_level(quince_qlog *q, char open, char close)
{
    putc_(q, open);
    if (q->depth + 1 >= QLOG_DEPTH) {
        q->overflow = true;
        return;
    }
    q->depth++;
    q->closer[q->depth] = close;
    q->has_item[q->depth] = false;
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    static const char hexd[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[p[i] >> 4];
        out[2 * i + 1] = hexd[p[i] & 15];
    }
    out[2 * n] = '\0';
}

quince_qlog *quince_qlog_new(const quince_env *env, bool is_server, const uint8_t *odcid,
                             size_t odcid_len, uint64_t now)
{
    if (env == NULL || env->qlog_open == NULL || env->qlog_write == NULL || odcid_len > 20)
        return NULL;
    char name[41];
    hex_of(odcid, odcid_len, name);
    const char *vantage = is_server ? "server" : "client";
    quince_qlog *q = quince_env_alloc(env, sizeof(*q));
    if (q == NULL)
        return NULL;
    memset(q, 0, offsetof(quince_qlog, buf));
    q->env = env;
    q->start = now;
    q->now = now;
    q->trace = env->qlog_open(env->user, name, vantage);
    if (q->trace == NULL) {
        quince_env_free(env, q);
        return NULL;
    }
    /* The header record: qlog_version and qlog_format first, within qvis's
     * first KiB; times relative to reference_time (ms since the epoch). */
    q->writing = true;
    q->len = 0;
    putc_(q, 0x1e);
    puts_(q, "{\"qlog_version\":\"0.3\",\"qlog_format\":\"JSON-SEQ\",\"title\":\"quince ");
    puts_(q, vantage);
    puts_(q, " ");
    puts_(q, name);
    puts_(q, "\",\"trace\":{\"vantage_point\":{\"name\":\"quince\",\"type\":\"");
    puts_(q, vantage);
    puts_(q, "\"},\"common_fields\":{\"ODCID\":\"");
    puts_(q, name);
    puts_(q, "\",\"protocol_type\":[\"QUIC\",\"HTTP3\"],\"time_format\":\"relative\","
             "\"reference_time\":");
    int64_t wall = env->wall_clock != NULL ? env->wall_clock(env->user) : 0;
    put_u64(q, wall > 0 ? (uint64_t)wall * 1000 : 0);
    puts_(q, "},\"configuration\":{\"time_units\":\"ms\"}}}\n");
    q->writing = false;
    if (!q->overflow)
        env->qlog_write(env->user, q->trace, q->buf, q->len);
    q->overflow = false;
    return q;
}

void quince_qlog_free(quince_qlog *q)
{
    if (q == NULL)
        return;
    if (q->env->qlog_close != NULL)
        q->env->qlog_close(q->env->user, q->trace);
    quince_env_free(q->env, q);
}

bool quince_qlog_begin(quince_qlog *q, uint64_t now, const char *name)
{
    if (q == NULL || q->writing)
        return false;
    if (now == QUINCE_QLOG_NOW)
        now = q->now;
    else if (now > q->now)
        q->now = now;
    q->writing = true;
    q->overflow = false;
    q->len = 0;
    q->depth = 0;
    q->has_item[0] = false;
    putc_(q, 0x1e);
    puts_(q, "{\"time\":");
    put_ms(q, now > q->start ? now - q->start : 0);
    puts_(q, ",\"name\":");
    put_escaped(q, (const uint8_t *)name, strlen(name));
    puts_(q, ",\"data\":");
    /* Level 1 is "data"; level 0 the record, closed by end. */
    q->has_item[0] = true;
    putc_(q, '{');
    q->depth = 1;
    q->closer[1] = '}';
    q->has_item[1] = false;
    return true;
}

void quince_qlog_end(quince_qlog *q)
{
    if (q == NULL || !q->writing)
        return;
    /* Closers always fit: put() keeps QLOG_DEPTH + 2 bytes free. */
    while (q->depth > 0)
        q->buf[q->len++] = q->closer[q->depth--];
    q->buf[q->len++] = '}';
    q->buf[q->len++] = '\n';
    q->writing = false;
    if (!q->overflow)
        q->env->qlog_write(q->env->user, q->trace, q->buf, q->len);
}

void quince_qlog_abort(quince_qlog *q)
{
    if (q != NULL)
        q->writing = false;
}

void quince_qlog_u64(quince_qlog *q, const char *key, uint64_t v)
{
    if (item(q, key))
        put_u64(q, v);
}

void quince_qlog_i64(quince_qlog *q, const char *key, int64_t v)
{
    if (!item(q, key))
        return;
    if (v < 0) {
        putc_(q, '-');
        put_u64(q, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(q, (uint64_t)v);
    }
}

void quince_qlog_bool(quince_qlog *q, const char *key, bool v)
{
    if (item(q, key))
        puts_(q, v ? "true" : "false");
}

void quince_qlog_str(quince_qlog *q, const char *key, const char *s)
{
    if (item(q, key))
        put_escaped(q, (const uint8_t *)s, strlen(s));
}

void quince_qlog_strn(quince_qlog *q, const char *key, const uint8_t *s, size_t len)
{
    if (item(q, key))
        put_escaped(q, s, len);
}

void quince_qlog_hex(quince_qlog *q, const char *key, const uint8_t *p, size_t len)
{
    if (!item(q, key))
        return;
    putc_(q, '"');
    char pair[3];
    for (size_t i = 0; i < len; i++) {
        hex_of(p + i, 1, pair);
        put(q, pair, 2);
    }
    putc_(q, '"');
}

void quince_qlog_ms(quince_qlog *q, const char *key, uint64_t us)
{
    if (item(q, key))
        put_ms(q, us);
}

void quince_qlog_object(quince_qlog *q, const char *key)
{
    if (item(q, key))
        open_level(q, '{', '}');
}

void quince_qlog_array(quince_qlog *q, const char *key)
{
    if (item(q, key))
        open_level(q, '[', ']');
}

void quince_qlog_close(quince_qlog *q)
{
    if (q == NULL || !q->writing || q->depth <= 1)
        return;
    putc_(q, q->closer[q->depth]);
    q->depth--;
}

size_t quince_qlog_room(const quince_qlog *q)
{
    if (q == NULL || q->overflow)
        return 0;
    return QLOG_RECORD_MAX - QLOG_DEPTH - 2 - q->len;
}

void quince_qlog_set_now(quince_qlog *q, uint64_t now)
{
    if (q != NULL && now > q->now)
        q->now = now;
}

uint64_t quince_qlog_start_time(const quince_qlog *q)
{
    return q != NULL ? q->start : 0;
}
