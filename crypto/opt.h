/* Compile-time defaults of crypto/ (lwIP opt.h style). Define any of them first
 * (QUINCE_OPT_HEADER, base/opt.h). */
#ifndef CRYPTO_OPT_H
#define CRYPTO_OPT_H

#include "base/opt.h"

/* The largest TLS handshake message we reassemble when crypto_tls_config
 * leaves max_message_size 0 (a certificate chain is the largest). */
#ifndef CRYPTO_OPT_TLS_MAX_MESSAGE
#define CRYPTO_OPT_TLS_MAX_MESSAGE (64 * 1024)
#endif

#endif
