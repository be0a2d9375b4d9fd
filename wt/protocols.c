/* WebTransport application protocol negotiation (draft-ietf-webtrans-http3-13..-16 §3.3):
 * WT-Available-Protocols (a Structured Field List of Strings) and WT-Protocol (an Item). */
#include "wt/protocols.h"

#include <string.h>

static size_t skip_sp(const uint8_t *v, size_t len, size_t i)
{
    while (i < len && (v[i] == ' ' || v[i] == '\t'))
        i++;
    return i;
}

/* RFC 8941 §4.2.5: sf-string; the unescaped bytes go to out (NUL-terminated). */
static bool parse_string(const uint8_t *v, size_t len, size_t *i, char *out, size_t cap)
{
    size_t n = 0;
    if (*i >= len || v[*i] != '"')
        return false;
    for (size_t k = *i + 1; k < len; k++) {
        uint8_t c = v[k];
        if (c == '\\') {
            if (++k >= len || (v[k] != '"' && v[k] != '\\'))
                return false;
            c = v[k];
        } else if (c == '"') {
            if (n >= cap)
                return false;
            out[n] = 0;
            *i = k + 1;
            return true;
        } else if (c < 0x20 || c > 0x7e) {
            return false;
        }
        if (n + 1 >= cap)
            return false;
        out[n++] = (char)c;
    }
    return false;
}

/* RFC 8941 §4.2.3.2: parameters, parsed only to be ignored (-16 §3.3). */
static bool skip_params(const uint8_t *v, size_t len, size_t *i)
{
    while (*i < len && v[*i] == ';') {
        size_t k = skip_sp(v, len, *i + 1);
        size_t start = k;
        while (k < len && ((v[k] >= 'a' && v[k] <= 'z') || (v[k] >= '0' && v[k] <= '9') ||
                           v[k] == '_' || v[k] == '-' || v[k] == '.' || v[k] == '*'))
            k++;
        if (k == start)
            return false;
        if (k < len && v[k] == '=') {
            k++;
            /* A bare item: skip a string or a token/number run. */
            if (k < len && v[k] == '"') {
                char tmp[256];
                if (!parse_string(v, len, &k, tmp, sizeof(tmp)))
                    return false;
            } else {
                size_t s = k;
                while (k < len && v[k] != ';' && v[k] != ',' && v[k] != ' ' && v[k] != '\t')
                    k++;
                if (k == s)
                    return false;
            }
        }
        *i = k;
    }
    return true;
}

size_t wt_protocols_parse_list(const uint8_t *v, size_t len, char *out, size_t cap)
{
    size_t i = skip_sp(v, len, 0), n = 0, used = 0;
    if (i == len)
        return 0;
    for (;;) {
        if (used >= cap || !parse_string(v, len, &i, out + used, cap - used))
            return WT_PROTOCOLS_INVALID;
        used += strlen(out + used) + 1;
        n++;
        if (!skip_params(v, len, &i))
            return WT_PROTOCOLS_INVALID;
        i = skip_sp(v, len, i);
        if (i == len)
            return n;
        if (v[i] != ',')
            return WT_PROTOCOLS_INVALID;
        i = skip_sp(v, len, i + 1);
        if (i == len)
            return WT_PROTOCOLS_INVALID; /* a trailing comma */
    }
}

bool wt_protocols_parse_item(const uint8_t *v, size_t len, char *out, size_t cap)
{
    size_t i = skip_sp(v, len, 0);
    if (!parse_string(v, len, &i, out, cap) || !skip_params(v, len, &i))
        return false;
    return skip_sp(v, len, i) == len;
}

size_t wt_protocols_put_string(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        return 0;
    out[n++] = '"';
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c > 0x7e)
            return 0;
        if (c == '"' || c == '\\') {
            if (n + 1 >= cap)
                return 0;
            out[n++] = '\\';
        }
        if (n + 1 >= cap)
            return 0;
        out[n++] = (char)c;
    }
    if (n + 2 > cap)
        return 0;
    out[n++] = '"';
    out[n] = 0;
    return n;
}
