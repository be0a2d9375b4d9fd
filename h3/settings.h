/* HTTP/3 SETTINGS (RFC 9114 §7.2.4) with the QPACK, CONNECT, datagram and WebTransport settings. */
#ifndef H3_SETTINGS_H
#define H3_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/export.h"

#include "h3/h3_codes.h"
#include "base/cursor.h"

/* RFC 9114 §7.2.4.1: MAX_FIELD_SECTION_SIZE defaults to unlimited. */
#define H3_SETTING_UNLIMITED UINT64_MAX
/* Extension settings kept (to send, or received and not understood here). */
#define H3_SETTINGS_MAX_EXTRA 16
/* Settings in one received frame, GREASE included; more is H3_EXCESSIVE_LOAD. */
#define H3_SETTINGS_MAX_COUNT 64
/* h3_settings_put_frame's grease argument: send no GREASE setting. */
#define H3_SETTINGS_NO_GREASE UINT64_MAX

/* Bits of h3_settings.present: which settings were received (or are to be sent). */
#define H3_SP_QPACK_MAX_TABLE_CAPACITY (1u << 0)
#define H3_SP_MAX_FIELD_SECTION_SIZE (1u << 1)
#define H3_SP_QPACK_BLOCKED_STREAMS (1u << 2)
#define H3_SP_ENABLE_CONNECT_PROTOCOL (1u << 3)
#define H3_SP_H3_DATAGRAM (1u << 4)
#define H3_SP_H3_DATAGRAM_DRAFT04 (1u << 5)
#define H3_SP_ENABLE_WEBTRANSPORT (1u << 6)

typedef struct h3_setting {
    uint64_t id;
    uint64_t value;
} h3_setting;

typedef struct h3_settings {
    uint64_t qpack_max_table_capacity; /* 0x01, RFC 9204 §5, default 0 */
    uint64_t max_field_section_size;   /* 0x06, default H3_SETTING_UNLIMITED */
    uint64_t qpack_blocked_streams;    /* 0x07, RFC 9204 §5, default 0 */
    bool enable_connect_protocol;      /* 0x08, RFC 9220 §3 */
    bool h3_datagram;                  /* 0x33, RFC 9297 §2.1.1 */
    bool h3_datagram_draft04;          /* 0xffd277, draft-ietf-masque-h3-datagram-04 §5 */
    bool enable_webtransport;          /* 0x2b603742, draft-ietf-webtrans-http3-02 §3.1 */
    uint32_t present;                  /* H3_SP_* bits */
    size_t n_extra;
    h3_setting extra[H3_SETTINGS_MAX_EXTRA];
} h3_settings;

/* All defaults, nothing present, no extensions. */
QUINCE_API void h3_settings_init(h3_settings *s);

/* Set a known setting by identifier (marking it present) or add an extension
 * setting. Returns 0, or H3_WIRE_ERROR(H3_SETTINGS_ERROR) for a reserved
 * identifier (0x0, HTTP/2-only, GREASE), a boolean value other than 0/1, a
 * value beyond 2^62-1, an extension identifier already added, or a full list. */
QUINCE_API int h3_settings_set(h3_settings *s, uint64_t id, uint64_t value);

/* Every setting present (known ones first, then extensions) into out[0..cap):
 * returns how many there are (may exceed cap). */
QUINCE_API size_t h3_settings_list(const h3_settings *s, h3_setting *out, size_t cap);

/* Any setting's value by identifier: known ones when present, else extensions. */
QUINCE_API bool h3_settings_get(const h3_settings *s, uint64_t id, uint64_t *value);

/*
 * Decode a SETTINGS payload (RFC 9114 §7.2.4) into *s (initialised here).
 * Returns 0 or:
 *   H3_FRAME_ERROR     an identifier or value cut short (§7.1)
 *   H3_SETTINGS_ERROR  a duplicate identifier (§7.2.4), an HTTP/2 setting 0x2-0x5
 *                      (§7.2.4.1), a boolean setting not 0 or 1 (0x8: RFC 8441 §3,
 *                      0x33: RFC 9297 §2.1.1, 0xffd277: draft-04 §5, 0x2b603742:
 *                      draft-02 §3.1)
 *   H3_EXCESSIVE_LOAD  more than H3_SETTINGS_MAX_COUNT settings (§10.5)
 * GREASE identifiers are skipped; other unknown identifiers are kept in
 * extra[] (the first H3_SETTINGS_MAX_EXTRA of them) and otherwise ignored.
 */
int h3_settings_decode(const uint8_t *payload, size_t len, h3_settings *s);

/* Bytes of the SETTINGS payload (not the frame header) for s, with or
 * without a GREASE setting. */
size_t h3_settings_payload_len(const h3_settings *s, uint64_t grease);

/*
 * Encode a whole SETTINGS frame: each present known setting, each extension,
 * and, unless grease is H3_SETTINGS_NO_GREASE, one reserved setting of
 * identifier h3_grease_codepoint(grease) and value grease & 0x3fffffff
 * (deterministic, so tests and fuzzers can replay it; RFC 9114 §7.2.4.1).
 */
bool h3_settings_put_frame(quince_writer *w, const h3_settings *s, uint64_t grease);

#endif
