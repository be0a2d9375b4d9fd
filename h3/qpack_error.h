/* QPACK error codes: negative library codes and the RFC 9204 §6 wire codes. */
#ifndef H3_QPACK_ERROR_H
#define H3_QPACK_ERROR_H

/* RFC 9204 §6: HTTP/3 error codes a QPACK failure closes the connection with. */
#define H3_QPACK_DECOMPRESSION_FAILED 0x200
#define H3_QPACK_ENCODER_STREAM_ERROR 0x201
#define H3_QPACK_DECODER_STREAM_ERROR 0x202
/* RFC 9114 §8.1 H3_INTERNAL_ERROR: reported when an allocation fails. */
#define H3_QPACK_INTERNAL_ERROR 0x102

/*
 * Library return codes. Parsers of the primitives return these; the decoder
 * and encoder objects map a failure to one of the wire codes above (which
 * they report with h3_qpack_*_wire_error) and return H3_QPACK_ERR_FATAL-range
 * codes. Every code below H3_QPACK_ERR_FATAL is sticky: the object is dead.
 */
enum {
    H3_QPACK_OK = 0,
    H3_QPACK_BLOCKED = 1,              /* field section waits for encoder-stream inserts */
    H3_QPACK_ERR_TRUNCATED = -1,       /* need more bytes (not an error on a stream) */
    H3_QPACK_ERR_BUFFER = -2,          /* caller's output buffer too small */
    H3_QPACK_ERR_ARG = -3,             /* invalid argument from the caller */
    H3_QPACK_ERR_FATAL = -10,          /* below this: connection error, see wire code */
    H3_QPACK_ERR_INTEGER = -11,        /* prefix integer above 2^62-1 or overlong */
    H3_QPACK_ERR_HUFFMAN = -12,        /* EOS in string, bad padding */
    H3_QPACK_ERR_DECOMPRESSION = -13,  /* QPACK_DECOMPRESSION_FAILED */
    H3_QPACK_ERR_ENCODER_STREAM = -14, /* QPACK_ENCODER_STREAM_ERROR */
    H3_QPACK_ERR_DECODER_STREAM = -15, /* QPACK_DECODER_STREAM_ERROR */
    H3_QPACK_ERR_NOMEM = -16,          /* allocation failed (H3_INTERNAL_ERROR) */
    H3_QPACK_ERR_LIMIT = -17,          /* a configured bound was exceeded */
    H3_QPACK_ERR_LOAD = -18,           /* the memory budget is full (H3_EXCESSIVE_LOAD) */
};

#endif
