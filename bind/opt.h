/* Compile-time defaults of bind/ (lwIP opt.h style): define any of them before
 * this header is included (for example in a header named by QUINCE_OPT_HEADER). */
#ifndef BIND_OPT_H
#define BIND_OPT_H

#include "base/opt.h"

/* Stream bytes move from QUIC to h3 through a buffer of this size, allocated
 * for one drain of a readable stream and freed after it. */
#ifndef BIND_OPT_READ_CHUNK
#define BIND_OPT_READ_CHUNK 16384
#endif

#endif
