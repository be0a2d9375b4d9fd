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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_ep server;
    wt_echo echo;
    if (!fz_ep_init(&server, true, &echo))
        return 0;
    size_t off = 0;
    while (off < size && fz_ep_feed(&server, data, size, &off)) {
        /* one operation per turn */
    }
    fz_ep_free(&server);
    return 0;
}
