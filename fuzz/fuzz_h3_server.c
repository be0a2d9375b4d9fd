/* libFuzzer target: server and client h3_conn fed stream chunks, resets and datagrams. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/budget.h"
#include "h3/h3.h"
#include "fuzz_env.h"

/*
 * Input: a sequence of records (fed to a server h3_conn, then to a client one)
 *   kind (1 byte), stream id (1 byte), flags (1 byte), length (2 bytes BE), bytes
 * kind % 5: 0 stream data (flags bit 0 = FIN), 1 reset by the peer (code = flags),
 * 2 STOP_SENDING from the peer, 3 a datagram, 4 the stream became writable.
 * The stream ID byte is the QUIC stream ID (0..255), so all four stream types occur.
 * The application answers requests (and writes partially accepted bytes) so the send
 * side, QPACK acknowledgments and release of streams run too. tests/h3/test_conn.c
 * records real client flights in this format (H3_RECORD_CORPUS=dir).
 */

typedef struct fz {
    h3_conn *conn;
    bool is_server;
    uint64_t next_uni, next_bidi;
    size_t write_budget; /* bytes the transport accepts per write, from the input */
} fz;

static int t_open(void *u, bool bidi, uint64_t *id)
{
    fz *f = u;
    uint64_t base = f->is_server ? 1 : 0;
    if (bidi)
        *id = base + 4 * f->next_bidi++;
    else
        *id = base + 2 + 4 * f->next_uni++;
    return 0;
}
static int64_t t_write(void *u, uint64_t id, const uint8_t *d, size_t n, bool fin)
{
    fz *f = u;
    (void)id;
    (void)d;
    (void)fin;
    if (id & 2)
        return (int64_t)n; /* our control and QPACK streams: always room */
    return (int64_t)(n < f->write_budget ? n : f->write_budget);
}
static int t_reset(void *u, uint64_t id, uint64_t code)
{
    (void)u;
    (void)id;
    (void)code;
    return 0;
}
static int t_dgram(void *u, const uint8_t *d, size_t n)
{
    (void)u;
    (void)d;
    (void)n;
    return 0;
}
/* RFC 8470: requests on streams 4, 12, ... came in early data (the refusal path runs). */
static bool t_early(void *u, uint64_t id)
{
    (void)u;
    return (id & 4) != 0;
}
static void t_close(void *u, uint64_t code, const char *reason)
{
    (void)u;
    (void)code;
    (void)reason;
}

static void a_headers(void *u, uint64_t id, const h3_field *f, size_t n, bool trailers)
{
    fz *z = u;
    (void)f;
    (void)n;
    if (trailers || !z->is_server)
        return;
    static const h3_field resp[] = {
        {(const uint8_t *)":status", 7, (const uint8_t *)"200", 3},
        {(const uint8_t *)"x-fuzz", 6, (const uint8_t *)"a-repeated-value", 16},
    };
    h3_conn_submit_response(z->conn, id, resp, 2, false);
    h3_conn_send_datagram(z->conn, id, (const uint8_t *)"d", 1);
}
static void a_end(void *u, uint64_t id)
{
    fz *z = u;
    if (z->is_server)
        h3_conn_send_data(z->conn, id, (const uint8_t *)"body", 4, true);
}
static int a_ext(void *u, uint64_t id, uint64_t type, uint64_t session, const uint8_t *d, size_t n,
                 bool fin)
{
    (void)u;
    (void)type;
    (void)session;
    (void)d;
    (void)fin;
    return (id + n) % 7 == 0; /* sometimes refuse */
}

static void run(const uint8_t *data, size_t size, bool is_server)
{
    fz z = {0};
    z.is_server = is_server;
    z.write_budget = SIZE_MAX;
    h3_config cfg;
    h3_config_init(&cfg, is_server);
    cfg.ext_streams = true;
    cfg.max_peer_bidi = 16;
    cfg.max_send_buffer = 4096;
    cfg.max_recv_buffer = 4096;
    h3_settings_set(&cfg.settings, H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1);
    h3_settings_set(&cfg.settings, H3_SETTING_H3_DATAGRAM, 1);
    h3_transport tp = {&z, t_open, t_write, t_reset, t_reset, t_dgram, t_close, NULL, t_early, NULL, NULL};
    h3_callbacks cb = {&z, a_headers, NULL, a_end, NULL, NULL, NULL, NULL, NULL, NULL, a_ext};
    z.conn = h3_conn_new(fuzz_env_fixed(), &cfg, &tp, &cb);
    if (z.conn == NULL)
        return;
    /* A small memory budget, so that the refusals run too; whatever happens, it never
     * holds more than its limit and gets every byte back when the connection goes. */
    quince_budget budget = {.limit = 16384};
    h3_conn_set_budget(z.conn, &budget);
    h3_conn_start(z.conn);
    if (!is_server) {
        /* Requests on streams 0 and 4 for the records to answer. */
        static const h3_field req[] = {
            {(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3},
            {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
            {(const uint8_t *)":authority", 10, (const uint8_t *)"f.example", 9},
            {(const uint8_t *)":path", 5, (const uint8_t *)"/", 1},
        };
        uint64_t id;
        h3_conn_submit_request(z.conn, req, 4, true, &id);
        h3_conn_submit_request(z.conn, req, 4, false, &id);
    }
    size_t off = 0;
    while (off + 5 <= size) {
        uint8_t kind = data[off] % 5, flags = data[off + 2];
        uint64_t id = data[off + 1];
        size_t len = (size_t)data[off + 3] << 8 | data[off + 4];
        off += 5;
        if (len > size - off)
            len = size - off;
        const uint8_t *p = data + off;
        off += len;
        switch (kind) {
        case 0:
            h3_conn_on_stream_data(z.conn, id, p, len, flags & 1);
            break;
        case 1:
            h3_conn_on_stream_reset(z.conn, id, 0x100 + flags, H3_FINAL_SIZE_UNKNOWN);
            break;
        case 2:
            h3_conn_on_stop_sending(z.conn, id, 0x100 + flags);
            break;
        case 3:
            h3_conn_on_datagram(z.conn, p, len);
            break;
        case 4:
            z.write_budget = flags ? flags : SIZE_MAX;
            h3_conn_on_writable(z.conn, id);
            break;
        }
    }
    h3_conn_free(z.conn);
    if (budget.used != 0 || budget.peak > budget.limit)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size, true);
    /* The same records into a client: responses on its streams 0 and 4, and the
     * server-initiated stream IDs (odd) as the peer's streams. */
    run(data, size, false);
    return 0;
}
