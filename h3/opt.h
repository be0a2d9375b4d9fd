/* Compile-time defaults of h3/ (lwIP opt.h style): each is what h3_config_init sets or what a
 * zero field of h3_config stands for. Define any of them first (QUINCE_OPT_HEADER, base/opt.h). */
#ifndef H3_OPT_H
#define H3_OPT_H

#include "base/opt.h"

/* RFC 9204 §5: our SETTINGS. */
#ifndef H3_OPT_QPACK_MAX_TABLE_CAPACITY
#define H3_OPT_QPACK_MAX_TABLE_CAPACITY 4096
#endif
#ifndef H3_OPT_QPACK_BLOCKED_STREAMS
#define H3_OPT_QPACK_BLOCKED_STREAMS 16
#endif
/* RFC 9114 §7.2.4.1 */
#ifndef H3_OPT_MAX_FIELD_SECTION_SIZE
#define H3_OPT_MAX_FIELD_SECTION_SIZE 16384
#endif
/* The dynamic table our encoder uses, at most the peer's capacity. */
#ifndef H3_OPT_QPACK_ENCODER_CAPACITY
#define H3_OPT_QPACK_ENCODER_CAPACITY 4096
#endif
/* Streams the peer may have open at once. */
#ifndef H3_OPT_MAX_PEER_BIDI
#define H3_OPT_MAX_PEER_BIDI 128
#endif
#ifndef H3_OPT_MAX_PEER_UNI
#define H3_OPT_MAX_PEER_UNI 16
#endif
/* Bytes held per stream: written but not yet taken by QUIC, received but not
 * yet parsed, and the largest HEADERS frame. */
#ifndef H3_OPT_MAX_SEND_BUFFER
#define H3_OPT_MAX_SEND_BUFFER 65536
#endif
#ifndef H3_OPT_MAX_RECV_BUFFER
#define H3_OPT_MAX_RECV_BUFFER 65536
#endif
#ifndef H3_OPT_MAX_HEADERS_FRAME
#define H3_OPT_MAX_HEADERS_FRAME 65536
#endif
/* The largest frame or capsule payload a reader buffers whole (other than
 * HEADERS), and what a reader keeps between calls. */
#ifndef H3_OPT_FRAME_READER_MAX
#define H3_OPT_FRAME_READER_MAX 16384
#endif
#ifndef H3_OPT_CAPSULE_READER_MAX
#define H3_OPT_CAPSULE_READER_MAX 16384
#endif

#endif
