/* Compile-time defaults of wt/ (lwIP opt.h style): what wt_config_init sets. Define any of
 * them first (QUINCE_OPT_HEADER, base/opt.h). */
#ifndef WT_OPT_H
#define WT_OPT_H

#include "base/opt.h"

#ifndef WT_OPT_MAX_SESSIONS
#define WT_OPT_MAX_SESSIONS 16
#endif
#ifndef WT_OPT_MAX_STREAMS_PER_SESSION
#define WT_OPT_MAX_STREAMS_PER_SESSION 256
#endif
/* Streams and bytes that arrive before their session is known, and DATAGRAMs
 * queued per session. */
#ifndef WT_OPT_MAX_BUFFERED_STREAMS
#define WT_OPT_MAX_BUFFERED_STREAMS 16
#endif
#ifndef WT_OPT_MAX_BUFFERED_BYTES
#define WT_OPT_MAX_BUFFERED_BYTES 65536
#endif
#ifndef WT_OPT_MAX_BUFFERED_DATAGRAMS
#define WT_OPT_MAX_BUFFERED_DATAGRAMS 16
#endif
/* The longest :path or :authority of a CONNECT request we keep. */
#ifndef WT_OPT_MAX_FIELD_LEN
#define WT_OPT_MAX_FIELD_LEN 2048
#endif

/* -13..-16 §5 session flow control: our windows per session (sent as
 * WT_INITIAL_*; all 0: not offered), and bytes held per stream while blocked. */
#ifndef WT_OPT_FC_MAX_DATA
#define WT_OPT_FC_MAX_DATA (1u << 20)
#endif
#ifndef WT_OPT_FC_MAX_STREAMS_BIDI
#define WT_OPT_FC_MAX_STREAMS_BIDI 100
#endif
#ifndef WT_OPT_FC_MAX_STREAMS_UNI
#define WT_OPT_FC_MAX_STREAMS_UNI 100
#endif
#ifndef WT_OPT_FC_MAX_HELD
#define WT_OPT_FC_MAX_HELD (256u << 10)
#endif

#endif
