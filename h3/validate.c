/* HTTP/3 message validation: pseudo-headers, fields, CONNECT (RFC 9114 §4.2-§4.4). */
#include "h3/validate.h"

#include <string.h>

#include "h3/h3_codes.h"

#define MALFORMED H3_WIRE_ERROR(H3_MESSAGE_ERROR)

    static bool eq(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len == n && memcmp(p, s, n) == 0;
}

/* RFC 9110 §5.6.2 tchar, lowercase only (RFC 9114 §4.2). */
static bool is_lower_tchar(uint8_t c)
{
    if (c >= 'a' && c <= 'z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9114 §4.2, RFC 9110 §5.5 */
static bool valid_name(const uint8_t *name, size_t len, size_t start)
{
    if (len <= start)
        return false;
    for (size_t i = start; i < len; i++)
        if (!is_lower_tchar(name[i]))
            return false;
    return true;
}

/* RFC 9114 §4.2: no NUL, CR or LF, no leading or trailing whitespace. */
static bool valid_value(const uint8_t *v, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (v[i] == 0 || v[i] == '\r' || v[i] == '\n')
            return false;
    if (len > 0 && (v[0] == ' ' || v[0] == '\t' || v[len - 1] == ' ' || v[len - 1] == '\t'))
        return false;
    return true;
}

static bool parse_digits(const uint8_t *v, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return true;
}

/* RFC 9114 §4.2 and §4.1.2: checks common to every section's regular fields. */
static int check_regular(const h3_field *f, h3_msg_info *out)
{
    if (!valid_name(f->name, f->name_len, 0) || !valid_value(f->value, f->value_len))
        return MALFORMED;
    static const char *const conn_specific[] = {"connection", "keep-alive", "proxy-connection",
                                                "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof(conn_specific) / sizeof(conn_specific[0]); i++)
        if (eq(f->name, f->name_len, conn_specific[i]))
            return MALFORMED;
    if (eq(f->name, f->name_len, "te") && !eq(f->value, f->value_len, "trailers"))
        return MALFORMED;
    if (eq(f->name, f->name_len, "content-length")) {
        uint64_t cl;
        if (!parse_digits(f->value, f->value_len, &cl))
            return MALFORMED;
        if (out->has_content_length && out->content_length != cl)
            return MALFORMED;
        out->has_content_length = true;
        out->content_length = cl;
    }
    return 0;
}

typedef enum { SEC_REQUEST, SEC_RESPONSE, SEC_TRAILERS } section_kind;

/* RFC 9114 §4.3: pseudo-headers first, each once, only the defined ones. */
static int scan(const h3_field *f, size_t n, section_kind kind, h3_msg_info *out,
                const h3_field **status, const h3_field **host)
{
    memset(out, 0, sizeof(*out));
    *status = NULL;
    *host = NULL;
    bool regular_seen = false;
    for (size_t i = 0; i < n; i++) {
        const h3_field *x = &f[i];
        out->size += x->name_len + x->value_len + 32;
        if (x->name_len > 0 && x->name[0] == ':') {
            if (regular_seen || kind == SEC_TRAILERS)
                return MALFORMED;
            if (!valid_name(x->name, x->name_len, 1) || !valid_value(x->value, x->value_len))
                return MALFORMED;
            const h3_field **slot = NULL;
            if (kind == SEC_REQUEST) {
                if (eq(x->name, x->name_len, ":method"))
                    slot = &out->method;
                else if (eq(x->name, x->name_len, ":scheme"))
                    slot = &out->scheme;
                else if (eq(x->name, x->name_len, ":authority"))
                    slot = &out->authority;
                else if (eq(x->name, x->name_len, ":path"))
                    slot = &out->path;
                else if (eq(x->name, x->name_len, ":protocol"))
                    slot = &out->protocol;
            } else if (eq(x->name, x->name_len, ":status")) {
                slot = status;
            }
            if (slot == NULL || *slot != NULL)
                return MALFORMED;
            *slot = x;
            continue;
        }
        regular_seen = true;
        int rc = check_regular(x, out);
        if (rc != 0)
            return rc;
        if (eq(x->name, x->name_len, "host")) {
            if (*host != NULL)
                return MALFORMED;
            *host = x;
        }
    }
    return 0;
}

/* RFC 9114 §4.3.1, §4.4; RFC 9220 §4 */
int h3_validate_request(const h3_field *f, size_t n, bool connect_protocol_enabled,
                        h3_msg_info *out)
{
    const h3_field *status, *host;
    int rc = scan(f, n, SEC_REQUEST, out, &status, &host);
    if (rc != 0)
        return rc;
    if (out->method == NULL || out->method->value_len == 0)
        return MALFORMED;
    out->is_connect = eq(out->method->value, out->method->value_len, "CONNECT");
    out->is_head = eq(out->method->value, out->method->value_len, "HEAD");
    if (out->protocol != NULL) {
        if (!out->is_connect || !connect_protocol_enabled || out->protocol->value_len == 0)
            return MALFORMED;
        out->is_extended_connect = true;
    }
    if (out->is_connect && !out->is_extended_connect) {
        /* §4.4: :authority only. */
        if (out->scheme != NULL || out->path != NULL || out->authority == NULL ||
            out->authority->value_len == 0)
            return MALFORMED;
        return 0;
    }
    if (out->scheme == NULL || out->path == NULL || out->path->value_len == 0 ||
        out->scheme->value_len == 0)
        return MALFORMED;
    if (out->is_extended_connect && out->authority == NULL)
        return MALFORMED;
    bool http = eq(out->scheme->value, out->scheme->value_len, "http") ||
                eq(out->scheme->value, out->scheme->value_len, "https");
    if (http) {
        if (out->authority == NULL && host == NULL)
            return MALFORMED;
        /* §4.3.1: no userinfo in the authority; :path is path-absolute, or "*" for OPTIONS. */
        if (out->authority != NULL &&
            memchr(out->authority->value, '@', out->authority->value_len) != NULL)
            return MALFORMED;
        bool star = eq(out->path->value, out->path->value_len, "*") &&
                    eq(out->method->value, out->method->value_len, "OPTIONS");
        if (out->path->value[0] != '/' && !star)
            return MALFORMED;
        if ((out->authority != NULL && out->authority->value_len == 0) ||
            (host != NULL && host->value_len == 0))
            return MALFORMED;
        if (out->authority != NULL && host != NULL &&
            (out->authority->value_len != host->value_len ||
             memcmp(out->authority->value, host->value, host->value_len) != 0))
            return MALFORMED;
    }
    return 0;
}

/* RFC 9114 §4.3.2 */
int h3_validate_response(const h3_field *f, size_t n, h3_msg_info *out)
{
    const h3_field *status, *host;
    int rc = scan(f, n, SEC_RESPONSE, out, &status, &host);
    if (rc != 0)
        return rc;
    uint64_t code;
    if (status == NULL || status->value_len != 3 ||
        !parse_digits(status->value, status->value_len, &code))
        return MALFORMED;
    /* §4.5: HTTP/3 has no 101 (Switching Protocols). */
    if (code < 100 || code > 599 || code == 101)
        return MALFORMED;
    out->status = (int)code;
    return 0;
}

/* RFC 9114 §4.3: pseudo-header fields MUST NOT appear in trailer sections. */
int h3_validate_trailers(const h3_field *f, size_t n, h3_msg_info *out)
{
    const h3_field *status, *host;
    return scan(f, n, SEC_TRAILERS, out, &status, &host);
}
