/* libFuzzer target: a WebTransport echo server fed client stream chunks and datagrams. */
#include "fuzz/fuzz_wt_common.h"

/*
 * Input: records
 *   0 | 1 (data, 1 = with FIN), stream id (1 byte), length (2 bytes BE), bytes
 *   2 (datagram), length (2 bytes BE), bytes
 *   3 | 4 (RESET_STREAM | STOP_SENDING from the client), stream id, code byte
 * Op bytes are taken modulo 5. The stream ID byte is the QUIC stream ID, so
 * control, QPACK, CONNECT, 0x41 and 0x54 streams all occur. tests/wt/test_echo.c
 * records real client flights in this format (WT_RECORD_CORPUS=dir). The server
 * speaks every dialect (wt_config_init's default) and negotiates one from each
 * input's SETTINGS and :protocol: the seeds dialect_02 .. dialect_16 are client
 * flights of each dialect.
 */

static uint64_t code_for(uint8_t b)
{
    /* Half WebTransport application codes, half plain HTTP/3 codes. */
    return b & 1 ? wt_error_to_http3(b >> 1) : (uint64_t)(0x100 + (b >> 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_ep server;
    wt_echo echo;
    if (!fz_ep_init(&server, true, &echo))
        return 0;
    size_t off = 0;
    while (off < size) {
        uint8_t op = data[off++] % 5;
        if (op <= 1) {
            if (size - off < 3)
                break;
            uint64_t id = data[off];
            size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
            off += 3;
            if (len > size - off)
                len = size - off;
            h3_conn_on_stream_data(server.h3, id, data + off, len, op == 1);
            off += len;
        } else if (op == 2) {
            if (size - off < 2)
                break;
            size_t len = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            if (len > size - off)
                len = size - off;
            h3_conn_on_datagram(server.h3, data + off, len);
            off += len;
        } else {
            if (size - off < 2)
                break;
            uint64_t id = data[off];
            uint64_t code = code_for(data[off + 1]);
            off += 2;
            if (op == 3)
                h3_conn_on_stream_reset(server.h3, id, code);
            else
                h3_conn_on_stop_sending(server.h3, id, code);
        }
    }
    fz_ep_free(&server);
    return 0;
}
