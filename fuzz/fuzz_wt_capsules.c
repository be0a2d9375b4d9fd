/* libFuzzer target: WebTransport stream headers and CONNECT-stream capsules through wt/. */
#include "fuzz/fuzz_wt_common.h"

/*
 * A client and a server wt endpoint establish a session on "/echo" in memory;
 * then the input is a sequence of chunks: selector, length (1 byte), bytes.
 *   selector % 4 == 0: the bytes as DATA on the CONNECT stream, client -> server
 *                  1: a new client unidirectional stream carrying the bytes
 *                  2: a new client bidirectional stream carrying the bytes
 *                  3: the bytes as DATA on the CONNECT stream, server -> client
 * Bit 2 of the selector prefixes streams with 0x54/0x41 + session 0 (else the
 * bytes carry their own header); bit 3 ends the stream / message.
 */

static fz_ep client, server;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wt_echo echo;
    if (!fz_ep_init(&client, false, NULL))
        return 0;
    if (!fz_ep_init(&server, true, &echo)) {
        fz_ep_free(&client);
        return 0;
    }
    wt_session *s = NULL;
    wt_endpoint_connect(client.wt, "fuzz", "/echo", "https://fuzz", &s);
    fz_pump(&client, &server);
    uint64_t next_uni = 100, next_bidi = 100; /* stream IDs above those h3 opened */
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t sel = data[off];
        size_t len = data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        const uint8_t *p = data + off;
        off += len;
        bool fin = sel & 8;
        uint8_t buf[2 + 256 + 1];
        size_t n = 0;
        switch (sel % 4) {
        case 0:
            h3_conn_send_data(client.h3, 0, p, len, fin);
            break;
        case 1:
        case 2:
            if (sel & 4) {
                buf[n++] = 0x40;
                buf[n++] = sel % 4 == 1 ? 0x54 : 0x41;
                buf[n++] = 0x00;
            }
            memcpy(buf + n, p, len);
            n += len;
            if (sel % 4 == 1) {
                h3_conn_on_stream_data(server.h3, 4 * next_uni++ + 2, buf, n, fin);
            } else {
                h3_conn_on_stream_data(server.h3, 4 * next_bidi++, buf, n, fin);
            }
            break;
        default:
            h3_conn_send_data(server.h3, 0, p, len, fin);
            break;
        }
        fz_pump(&client, &server);
    }
    fz_ep_free(&client);
    fz_ep_free(&server);
    return 0;
}
