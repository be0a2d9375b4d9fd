/* Shared pieces of the command-line apps: files, options and output. */
#ifndef APPS_APP_UTIL_H
#define APPS_APP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "crypto/crypto.h"

/* The loop, the sockets and the connection are io/'s: io_server (io/serve.h)
 * and io_client (io/connect.h, which also splits URLs). */

/* Read a whole file (at most max bytes) into a malloc'd buffer. */
uint8_t *app_read_file(const char *path, size_t max, size_t *len);
/* "30", "2.5": seconds into microseconds; false on bad text. */
bool app_parse_seconds(const char *text, uint64_t *us);

/* A PEM chain and its key from files (client certificates); false with a
 * message on stderr. Free with crypto_cert_chain_free / crypto_privkey_free. */
bool app_load_credentials(const quince_env *env, const char *prog, const char *cert_file,
                          const char *key_file, crypto_cert_chain *chain, crypto_privkey **key);
/* A CA store from a PEM file; NULL with a message on stderr. */
crypto_x509_store *app_load_ca(const quince_env *env, const char *prog, const char *file);
/* crypto_tls_config.on_session for a file: user is its path; each session
 * replaces the one before (written to PATH.tmp, then renamed). */
void app_store_session(void *user, const uint8_t *session, size_t len);
/* SHA-256 of bytes as 64 hex digits into out[65]. */
void app_sha256_hex(const uint8_t *data, size_t len, char out[65]);

#endif
