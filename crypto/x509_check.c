/* Backend-independent X.509 pieces: DER walk (RFC 5280 §4.1), host checks (RFC 6125 §6.4), times.
 */
#include "crypto/x509_check.h"

#include <string.h>

#include "crypto/error.h"

/* X.690 §8.1.2-8.1.3 */
bool crypto_der_get_tlv(quince_reader *r, uint8_t *tag, quince_reader *content, quince_reader *tlv)
{
    quince_reader t = *r;
    uint8_t id, l0;
    size_t len = 0;
    if (!quince_get_u8(&t, &id) || (id & 0x1f) == 0x1f || !quince_get_u8(&t, &l0))
        return false;
    if (l0 < 0x80) {
        len = l0;
    } else {
        size_t n = l0 & 0x7f;
        if (n == 0 || n > 3) /* indefinite, or longer than any certificate we take */
            return false;
        for (size_t i = 0; i < n; i++) {
            uint8_t b;
            if (!quince_get_u8(&t, &b) || (i == 0 && b == 0))
                return false;
            len = (len << 8) | b;
        }
        if (len < 0x80) /* DER: the short form was required */
            return false;
    }
    quince_reader value;
    if (!quince_get_sub(&t, len, &value))
        return false;
    if (tlv != NULL) {
        tlv->p = r->p;
        tlv->end = t.p;
    }
    *tag = id;
    *content = value;
    *r = t;
    return true;
}

bool crypto_der_get(quince_reader *r, uint8_t *tag, quince_reader *content)
{
    return crypto_der_get_tlv(r, tag, content, NULL);
}

/* Take one element that must carry tag want. */
static bool der_expect(quince_reader *r, uint8_t want, quince_reader *content, quince_reader *tlv)
{
    quince_reader t = *r;
    uint8_t tag;
    if (!crypto_der_get_tlv(&t, &tag, content, tlv) || tag != want)
        return false;
    *r = t;
    return true;
}

/* Take the element if it carries tag want; true if it was there. */
static bool der_optional(quince_reader *r, uint8_t want, quince_reader *content)
{
    uint8_t tag;
    quince_reader t = *r;
    if (quince_reader_empty(r) || *r->p != want || !crypto_der_get(&t, &tag, content))
        return false;
    *r = t;
    return true;
}

int64_t crypto_unix_from_civil(int year, int month, int day, int hour, int min, int sec)
{
    /* Days from 1970-01-01 in the proleptic Gregorian calendar; years start in March. */
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + (int64_t)hour * 3600 + (int64_t)min * 60 + sec;
}

void crypto_civil_from_unix(int64_t t, int *year, int *month, int *day, int *hour, int *min,
                            int *sec)
{
    int64_t days = t / 86400, rem = t % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    *hour = (int)(rem / 3600);
    *min = (int)(rem / 60 % 60);
    *sec = (int)(rem % 60);
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)m;
    *year = (int)(yoe + era * 400 + (m <= 2));
}

static bool digits(const uint8_t *p, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

/* RFC 5280 §4.1.2.5.1 and §4.1.2.5.2: UTCTime YYMMDDHHMMSSZ, GeneralizedTime YYYYMMDDHHMMSSZ. */
static bool parse_time(quince_reader *r, int64_t *out)
{
    uint8_t tag;
    quince_reader v;
    if (!crypto_der_get(r, &tag, &v))
        return false;
    size_t n = quince_reader_left(&v);
    const uint8_t *p = v.p;
    int year, mon, day, hour, min, sec;
    if (tag == CRYPTO_DER_UTC_TIME && n == 13) {
        if (!digits(p, 2, &year))
            return false;
        year += year >= 50 ? 1900 : 2000;
        p += 2;
    } else if (tag == CRYPTO_DER_GENERALIZED_TIME && n == 15) {
        if (!digits(p, 4, &year))
            return false;
        p += 4;
    } else {
        return false;
    }
    if (!digits(p, 2, &mon) || !digits(p + 2, 2, &day) || !digits(p + 4, 2, &hour) ||
        !digits(p + 6, 2, &min) || !digits(p + 8, 2, &sec) || p[10] != 'Z')
        return false;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return false;
    *out = crypto_unix_from_civil(year, mon, day, hour, min, sec);
    return true;
}

static const uint8_t oid_san[] = {0x55, 0x1d, 0x11};
static const uint8_t oid_basic_constraints[] = {0x55, 0x1d, 0x13};

static bool oid_is(const quince_reader *oid, const uint8_t *want, size_t len)
{
    return quince_reader_left(oid) == len && memcmp(oid->p, want, len) == 0;
}

/* RFC 5280 §4.1.2.9 */
static bool parse_extensions(quince_reader *exts, crypto_x509_info *info)
{
    quince_reader seq;
    if (!der_expect(exts, CRYPTO_DER_SEQUENCE, &seq, NULL) || !quince_reader_empty(exts))
        return false;
    while (!quince_reader_empty(&seq)) {
        quince_reader ext, oid, crit, value;
        if (!der_expect(&seq, CRYPTO_DER_SEQUENCE, &ext, NULL) ||
            !der_expect(&ext, CRYPTO_DER_OID, &oid, NULL))
            return false;
        der_optional(&ext, CRYPTO_DER_BOOLEAN, &crit);
        if (!der_expect(&ext, CRYPTO_DER_OCTET_STRING, &value, NULL) || !quince_reader_empty(&ext))
            return false;
        if (oid_is(&oid, oid_san, sizeof(oid_san))) {
            quince_reader names;
            if (info->has_san || !der_expect(&value, CRYPTO_DER_SEQUENCE, &names, NULL) ||
                !quince_reader_empty(&value))
                return false;
            info->has_san = true;
            info->san = names;
        } else if (oid_is(&oid, oid_basic_constraints, sizeof(oid_basic_constraints))) {
            quince_reader bc, ca;
            if (!der_expect(&value, CRYPTO_DER_SEQUENCE, &bc, NULL))
                return false;
            if (der_optional(&bc, CRYPTO_DER_BOOLEAN, &ca))
                info->is_ca = quince_reader_left(&ca) == 1 && ca.p[0] != 0;
        }
    }
    return true;
}

/* RFC 5280 §4.1 */
int crypto_x509_info_parse(const uint8_t *der, size_t len, crypto_x509_info *info)
{
    memset(info, 0, sizeof(*info));
    if (der == NULL)
        return CRYPTO_ERR_PARSE;
    quince_reader r = quince_reader_init(der, len), cert, tbs, skip, validity;
    if (!der_expect(&r, CRYPTO_DER_SEQUENCE, &cert, NULL) || !quince_reader_empty(&r))
        return CRYPTO_ERR_PARSE;
    if (!der_expect(&cert, CRYPTO_DER_SEQUENCE, &tbs, &info->tbs) ||
        !der_expect(&cert, CRYPTO_DER_SEQUENCE, &skip, NULL) ||
        !der_expect(&cert, CRYPTO_DER_BIT_STRING, &skip, NULL) || !quince_reader_empty(&cert))
        return CRYPTO_ERR_PARSE;
    der_optional(&tbs, 0xa0, &skip); /* [0] version */
    if (!der_expect(&tbs, CRYPTO_DER_INTEGER, &skip, NULL) ||
        !der_expect(&tbs, CRYPTO_DER_SEQUENCE, &skip, NULL) || /* signature */
        !der_expect(&tbs, CRYPTO_DER_SEQUENCE, &skip, NULL) || /* issuer */
        !der_expect(&tbs, CRYPTO_DER_SEQUENCE, &validity, NULL) ||
        !parse_time(&validity, &info->not_before) || !parse_time(&validity, &info->not_after) ||
        !quince_reader_empty(&validity) ||
        !der_expect(&tbs, CRYPTO_DER_SEQUENCE, &skip, NULL) || /* subject */
        !der_expect(&tbs, CRYPTO_DER_SEQUENCE, &skip, &info->spki))
        return CRYPTO_ERR_PARSE;
    der_optional(&tbs, 0x81, &skip); /* issuerUniqueID */
    der_optional(&tbs, 0x82, &skip); /* subjectUniqueID */
    quince_reader exts;
    if (der_optional(&tbs, 0xa3, &exts) && !parse_extensions(&exts, info))
        return CRYPTO_ERR_PARSE;
    if (!quince_reader_empty(&tbs))
        return CRYPTO_ERR_PARSE;
    return 0;
}

/* RFC 5280 §4.1.2.5 */
int crypto_x509_check_time(const crypto_x509_info *info, int64_t now_unix)
{
    if (now_unix < info->not_before || now_unix > info->not_after)
        return CRYPTO_ERR_CERT_EXPIRED;
    return 0;
}

static bool parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
        unsigned v = 0;
        size_t start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        /* No empty parts, no values over 255, no leading zeros (octal in some parsers). */
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return false;
        out[part] = (uint8_t)v;
    }
    return i == len;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 4291 §2.2 */
static bool parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t words[8];
    int n = 0, gap = -1;
    size_t i = 0;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (len >= 1 && s[0] == ':') {
        return false;
    }
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ':')
            j++;
        if (memchr(s + i, '.', j - i) != NULL) {
            /* A dotted IPv4 tail takes the last two groups. */
            uint8_t v4[4];
            if (j != len || n > 6 || !parse_ipv4(s + i, j - i, v4))
                return false;
            words[n++] = (uint16_t)(v4[0] << 8 | v4[1]);
            words[n++] = (uint16_t)(v4[2] << 8 | v4[3]);
            i = j;
            break;
        }
        if (n >= 8 || j - i < 1 || j - i > 4)
            return false;
        unsigned w = 0;
        for (size_t k = i; k < j; k++) {
            int h = hex_value(s[k]);
            if (h < 0)
                return false;
            w = w << 4 | (unsigned)h;
        }
        words[n++] = (uint16_t)w;
        i = j;
        if (i < len) {
            i++; /* ':' */
            if (i == len)
                return false;
            if (s[i] == ':') {
                if (gap >= 0)
                    return false;
                gap = n;
                i++;
            }
        }
    }
    if ((gap < 0 && n != 8) || (gap >= 0 && n > 7))
        return false;
    memset(out, 0, 16);
    int head = gap < 0 ? n : gap;
    for (int k = 0; k < head; k++) {
        out[2 * k] = (uint8_t)(words[k] >> 8);
        out[2 * k + 1] = (uint8_t)words[k];
    }
    for (int k = head; k < n; k++) {
        int at = 8 - (n - k);
        out[2 * at] = (uint8_t)(words[k] >> 8);
        out[2 * at + 1] = (uint8_t)words[k];
    }
    return true;
}

size_t crypto_ip_parse(const char *s, size_t len, uint8_t out[16])
{
    if (s == NULL || len == 0)
        return 0;
    if (s[0] == '[') {
        if (len < 3 || s[len - 1] != ']')
            return 0;
        return parse_ipv6(s + 1, len - 2, out) ? 16 : 0;
    }
    if (memchr(s, ':', len) != NULL)
        return parse_ipv6(s, len, out) ? 16 : 0;
    return parse_ipv4(s, len, out) ? 4 : 0;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool equal_caseless(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (lower(a[i]) != lower(b[i]))
            return false;
    }
    return true;
}

/* RFC 6125 §6.4.1 and §6.4.3: exact match, or "*." + at least two labels matching
 * all but the host's first label. */
static bool dns_match(const char *pat, size_t plen, const char *host, size_t hlen)
{
    if (plen > 0 && pat[plen - 1] == '.')
        plen--;
    if (plen == 0 || memchr(pat, 0, plen) != NULL)
        return false;
    if (plen > 2 && pat[0] == '*' && pat[1] == '.') {
        const char *suffix = pat + 1; /* ".example.com" */
        size_t slen = plen - 1;
        if (memchr(suffix + 1, '.', slen - 1) == NULL || memchr(suffix, '*', slen) != NULL)
            return false;
        const char *dot = memchr(host, '.', hlen);
        if (dot == NULL || dot == host)
            return false;
        size_t rest = hlen - (size_t)(dot - host);
        return rest == slen && equal_caseless(dot, suffix, slen);
    }
    return plen == hlen && equal_caseless(pat, host, hlen);
}

/* RFC 6125 §6.4, RFC 5280 §4.2.1.6 */
int crypto_x509_check_host(const crypto_x509_info *info, const char *host)
{
    if (host == NULL)
        return CRYPTO_ERR_ARGUMENT;
    size_t hlen = strlen(host);
    uint8_t ip[16];
    size_t ip_len = crypto_ip_parse(host, hlen, ip);
    if (ip_len == 0) {
        if (hlen > 0 && host[hlen - 1] == '.')
            hlen--;
        /* A host name never carries a wildcard or a NUL of its own. */
        if (hlen == 0 || memchr(host, '*', hlen) != NULL)
            return CRYPTO_ERR_BAD_CERTIFICATE;
    }
    if (!info->has_san)
        return CRYPTO_ERR_BAD_CERTIFICATE;
    quince_reader names = info->san;
    while (!quince_reader_empty(&names)) {
        uint8_t tag;
        quince_reader v;
        if (!crypto_der_get(&names, &tag, &v))
            return CRYPTO_ERR_BAD_CERTIFICATE;
        size_t vlen = quince_reader_left(&v);
        if (ip_len != 0) {
            if (tag == CRYPTO_SAN_IP_ADDRESS && vlen == ip_len && memcmp(v.p, ip, ip_len) == 0)
                return 0;
        } else if (tag == CRYPTO_SAN_DNS_NAME) {
            if (dns_match((const char *)v.p, vlen, host, hlen))
                return 0;
        }
    }
    return CRYPTO_ERR_BAD_CERTIFICATE;
}

/* A DER length (X.690 §8.1.3) for contents up to 64 KiB. */
void crypto_der_put_len(quince_writer *w, size_t len)
{
    if (len < 0x80) {
        quince_put_u8(w, (uint8_t)len);
    } else if (len < 0x100) {
        quince_put_u8(w, 0x81);
        quince_put_u8(w, (uint8_t)len);
    } else {
        quince_put_u8(w, 0x82);
        quince_put_u16(w, (uint16_t)len);
    }
}

/* RFC 5280 §4.2.1.6: GeneralNames with a dNSName and/or an iPAddress. */
int crypto_x509_san_build(const char *dns_name, const char *ip_address, uint8_t *buf, size_t cap,
                          size_t *out_len)
{
    uint8_t ip[16];
    size_t ip_len = 0, dns_len = 0;
    if (ip_address != NULL) {
        ip_len = crypto_ip_parse(ip_address, strlen(ip_address), ip);
        if (ip_len == 0)
            return CRYPTO_ERR_ARGUMENT;
    }
    if (dns_name != NULL) {
        dns_len = strlen(dns_name);
        if (dns_len == 0 || dns_len > 253)
            return CRYPTO_ERR_ARGUMENT;
    }
    size_t inner = 0;
    if (dns_name != NULL)
        inner += 1 + (dns_len < 0x80 ? 1 : 2) + dns_len;
    if (ip_len != 0)
        inner += 2 + ip_len;
    quince_writer w = quince_writer_init(buf, cap);
    quince_put_u8(&w, 0x30);
    crypto_der_put_len(&w, inner);
    if (dns_name != NULL) {
        quince_put_u8(&w, CRYPTO_SAN_DNS_NAME);
        crypto_der_put_len(&w, dns_len);
        quince_put_bytes(&w, dns_name, dns_len);
    }
    if (ip_len != 0) {
        quince_put_u8(&w, CRYPTO_SAN_IP_ADDRESS);
        crypto_der_put_len(&w, ip_len);
        quince_put_bytes(&w, ip, ip_len);
    }
    if (w.overflow)
        return CRYPTO_ERR_ARGUMENT;
    *out_len = (size_t)(w.p - buf);
    return 0;
}
