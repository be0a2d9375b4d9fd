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
