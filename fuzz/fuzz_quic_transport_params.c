/* Fuzz target: QUIC transport parameters (RFC 9000 §18): decode, re-encode, compare. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quic/transport_params.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static uint8_t out[1 << 12];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int from_server = 0; from_server < 2; from_server++) {
        quic_transport_params tp, back;
        int rc = quic_tp_decode(data, size, from_server != 0, &tp);
        if (rc != QUIC_OK) {
            CHECK(rc == QUIC_ERR_TRANSPORT_PARAMETER);
            continue;
        }
        quince_writer w = quince_writer_init(out, sizeof(out));
        CHECK(quic_tp_encode(&w, &tp, from_server != 0, (uint32_t)size));
        /* A client's Chosen Version may be among the Available Versions we did not keep. */
        if (tp.available_count == QUIC_TP_MAX_AVAILABLE_VERSIONS)
            continue;
        CHECK(quic_tp_decode(out, (size_t)(w.p - out), from_server != 0, &back) == QUIC_OK);
        CHECK(memcmp(&tp, &back, sizeof(tp)) == 0);
    }
    return 0;
}
