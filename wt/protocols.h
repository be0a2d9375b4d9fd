/* WebTransport application protocol negotiation (draft-ietf-webtrans-http3-13..-16 §3.3):
 * WT-Available-Protocols (a Structured Field List of Strings) and WT-Protocol (an Item). */
#ifndef WT_PROTOCOLS_H
#define WT_PROTOCOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WT_PROTOCOLS_INVALID ((size_t)-1)

/* A List whose members are all Strings (parameters ignored): the strings,
 * each NUL-terminated, one after the other in out; returns how many, or
 * WT_PROTOCOLS_INVALID for anything else (the field is then ignored, -16 §3.3). */
size_t wt_protocols_parse_list(const uint8_t *v, size_t len, char *out, size_t cap);
/* An Item that is a String (parameters ignored), NUL-terminated in out. */
bool wt_protocols_parse_item(const uint8_t *v, size_t len, char *out, size_t cap);
/* s as an sf-string ("..." with \" and \\), NUL-terminated; its length, 0 when
 * s has a byte outside 0x20-0x7e or out is too small. */
size_t wt_protocols_put_string(char *out, size_t cap, const char *s);

#endif
