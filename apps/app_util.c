/* Shared pieces of the command-line apps: files, options and output. */
#include "apps/app_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t *app_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                buf = NULL;
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

bool app_parse_seconds(const char *text, uint64_t *us)
{
    char *end = NULL;
    double s = strtod(text, &end);
    if (end == text || *end != '\0' || !(s >= 0) || s > 1e6)
        return false;
    *us = (uint64_t)(s * 1e6);
    return true;
}

bool app_load_credentials(const quince_env *env, const char *prog, const char *cert_file,
                          const char *key_file, crypto_cert_chain *chain, crypto_privkey **key)
{
    size_t clen = 0, klen = 0;
    uint8_t *cpem = app_read_file(cert_file, 1 << 20, &clen);
    uint8_t *kpem = app_read_file(key_file, 1 << 20, &klen);
    *key = kpem != NULL ? crypto_privkey_parse(env, kpem, klen) : NULL;
    int n = cpem != NULL ? crypto_cert_chain_parse(env, cpem, clen, chain) : -1;
    free(cpem);
    if (kpem != NULL)
        memset(kpem, 0, klen);
    free(kpem);
    if (n < 1 || *key == NULL) {
        fprintf(stderr, "%s: cannot load %s / %s\n", prog, cert_file, key_file);
        if (n >= 1)
            crypto_cert_chain_free(env, chain);
        if (*key != NULL)
            crypto_privkey_free(env, *key);
        *key = NULL;
        return false;
    }
    return true;
}

crypto_x509_store *app_load_ca(const quince_env *env, const char *prog, const char *file)
{
    size_t len = 0;
    uint8_t *pem = app_read_file(file, 1 << 20, &len);
    crypto_x509_store *store = crypto_x509_store_new(env);
    if (pem == NULL || store == NULL || crypto_x509_store_add(store, pem, len) < 0) {
        fprintf(stderr, "%s: cannot load CA file %s\n", prog, file);
        free(pem);
        if (store != NULL)
            crypto_x509_store_free(env, store);
        return NULL;
    }
    free(pem);
    return store;
}

void app_sha256_hex(const uint8_t *data, size_t len, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t d[CRYPTO_SHA256_LEN];
    if (crypto_hash(CRYPTO_HASH_SHA256, data, len, d) < 0)
        memset(d, 0, sizeof(d));
    for (size_t i = 0; i < sizeof(d); i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[64] = '\0';
}

void app_store_session(void *user, const uint8_t *session, size_t len)
{
    const char *path = user;
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return;
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return;
    bool ok = fwrite(session, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        remove(tmp);
}
