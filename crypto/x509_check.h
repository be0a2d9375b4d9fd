/* Backend-independent X.509 pieces: a DER walk of a certificate, host and IP matching, times. */
#ifndef CRYPTO_X509_CHECK_H
#define CRYPTO_X509_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cursor.h"

/* DER tags used here (X.690 §8). */
#define CRYPTO_DER_BOOLEAN 0x01
#define CRYPTO_DER_INTEGER 0x02
#define CRYPTO_DER_BIT_STRING 0x03
#define CRYPTO_DER_OCTET_STRING 0x04
#define CRYPTO_DER_NULL 0x05
#define CRYPTO_DER_OID 0x06
#define CRYPTO_DER_UTC_TIME 0x17
#define CRYPTO_DER_GENERALIZED_TIME 0x18
#define CRYPTO_DER_SEQUENCE 0x30
#define CRYPTO_DER_SET 0x31
/* GeneralName choices (RFC 5280 §4.2.1.6), context-specific primitive tags. */
#define CRYPTO_SAN_DNS_NAME 0x82
#define CRYPTO_SAN_IP_ADDRESS 0x87

/*
 * One DER TLV from r: *tag gets the identifier octet (low-tag-number form
 * only), *content the value. Definite lengths only, up to 2^24-1. false (r
 * unchanged) on anything malformed or truncated.
 */
bool crypto_der_get(quince_reader *r, uint8_t *tag, quince_reader *content);
/* Same, but *tlv gets the whole element (tag and length included). */
bool crypto_der_get_tlv(quince_reader *r, uint8_t *tag, quince_reader *content, quince_reader *tlv);

/* The fields of a certificate (RFC 5280 §4.1) the checks need; spans point into the DER. */
typedef struct crypto_x509_info {
    quince_reader tbs;  /* TBSCertificate, whole element */
    quince_reader spki; /* SubjectPublicKeyInfo, whole element */
    int64_t not_before; /* Unix seconds */
    int64_t not_after;
    bool has_san;
    quince_reader san; /* GeneralNames content (a walk of GeneralName TLVs) */
    bool is_ca;        /* basicConstraints cA */
} crypto_x509_info;

/* RFC 5280 §4.1. 0 or CRYPTO_ERR_PARSE; trailing bytes after the certificate are an error. */
int crypto_x509_info_parse(const uint8_t *der, size_t len, crypto_x509_info *info);

/* RFC 5280 §4.1.2.5: 0 if not_before <= now <= not_after, else CRYPTO_ERR_CERT_EXPIRED. */
int crypto_x509_check_time(const crypto_x509_info *info, int64_t now_unix);

/*
 * RFC 6125 §6.4, RFC 5280 §4.2.1.6: host (a DNS name, an IPv4 literal or an
 * IPv6 literal, optionally in brackets) against the subjectAltName: dNSName
 * with an optional "*." leftmost-label wildcard, or iPAddress. No fallback to
 * the subject CN. 0 on a match, CRYPTO_ERR_BAD_CERTIFICATE otherwise.
 */
int crypto_x509_check_host(const crypto_x509_info *info, const char *host);

/* An IP literal: returns 4 (IPv4 dotted quad) or 16 (IPv6, RFC 4291 §2.2 forms,
 * embedded IPv4 tail allowed), 0 if s is not one. */
size_t crypto_ip_parse(const char *s, size_t len, uint8_t out[16]);

/* Proleptic Gregorian calendar <-> Unix seconds (UTC). */
int64_t crypto_unix_from_civil(int year, int month, int day, int hour, int min, int sec);
void crypto_civil_from_unix(int64_t t, int *year, int *month, int *day, int *hour, int *min,
                            int *sec);

/* A DER length (X.690 §8.1.3) for contents up to 64 KiB. */
void crypto_der_put_len(quince_writer *w, size_t len);
/* RFC 5280 §4.2.1.6: GeneralNames with a dNSName and/or an iPAddress (literal) into buf.
 * CRYPTO_ERR_ARGUMENT for a bad name or address or a small buffer. */
int crypto_x509_san_build(const char *dns_name, const char *ip_address, uint8_t *buf, size_t cap,
                          size_t *out_len);

#endif
