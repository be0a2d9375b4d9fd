/* libFuzzer target: the QPACK decoder (RFC 9204) fed encoder-stream data and field sections. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h3/qpack_decoder.h"
#include "fuzz_env.h"

/*
 * Input: one configuration byte, then blocks in the qifs framing (stream ID,
 * 64-bit big-endian | length, 32-bit big-endian | data). Stream 0 is the
 * encoder stream, others carry field sections; a stream ID with the top bit
 * set cancels that stream instead. The configuration byte picks the
 * advertised table capacity and blocked-stream limit.
 */

static int on_section(void *user, uint64_t stream_id, const h3_field *f, size_t n)
{
    (void)stream_id;
    /* Touch every byte so that a bad pointer shows up under ASan. */
    unsigned *sum = user;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < f[i].name_len; k++)
            *sum += f[i].name[k];
        for (size_t k = 0; k < f[i].value_len; k++)
            *sum += f[i].value[k];
    }
    return 0;
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[8] = {0, 220, 256, 512, 4096, 65536, 100, 4096};
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    size_t cap = caps[cfg & 7];
    size_t blocked = (cfg & 0x08) ? 100 : (cfg >> 4) & 3;
    h3_qpack_decoder *dec = h3_qpack_decoder_new(fuzz_env_fixed(), cap, blocked, 16384);
    if (dec == NULL)
        return 0;
    unsigned sum = 0;
    h3_qpack_decoder_set_callback(dec, on_section, &sum);
    if (cfg & 0x80) /* the qifs corpus convention: capacity starts at the maximum */
        h3_qpack_decoder_assume_capacity(dec, cap);
    size_t off = 1;
    while (size - off >= 12) {
        uint64_t sid = be(data + off, 8);
        uint64_t len = be(data + off + 8, 4);
        off += 12;
        if (len > size - off)
            len = size - off;
        const uint8_t *b = data + off;
        off += (size_t)len;
        int rc;
        if (sid >> 63) {
            rc = h3_qpack_decoder_cancel_stream(dec, sid & (((uint64_t)1 << 62) - 1));
        } else if (sid == 0) {
            /* Split the encoder data at an input-chosen point to exercise reassembly. */
            size_t cut = len > 0 ? b[0] % (len + 1) : 0;
            rc = h3_qpack_decoder_feed_encoder(dec, b, cut);
            if (rc >= 0)
                rc = h3_qpack_decoder_feed_encoder(dec, b + cut, (size_t)len - cut);
        } else {
            rc = h3_qpack_decoder_decode(dec, sid, b, (size_t)len);
        }
        uint8_t out[64];
        while (h3_qpack_decoder_drain(dec, out, sizeof(out)) > 0) {
        }
        if (rc <= H3_QPACK_ERR_FATAL) {
            /* A fatal error is sticky and carries a QPACK wire code. */
            uint64_t w = h3_qpack_decoder_wire_error(dec);
            if (w < 0x200 || w > 0x202 || h3_qpack_decoder_decode(dec, 4, b, 0) != rc)
                abort();
            break;
        }
    }
    h3_qpack_decoder_free(dec);
    return 0;
}
