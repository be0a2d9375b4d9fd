/* The WebTransport over HTTP/3 dialects (draft-ietf-webtrans-http3-02, -07, -13..-16): their
 * codepoints, tokens and headers, and how a peer's SETTINGS choose one. */
#include "wt/dialect.h"

#include <stdio.h>
#include <string.h>

/* specs/webtrans-http3-versions.md, summary matrix; each value checked in the draft named. */
static const wt_dialect_info table[WT_DIALECT_COUNT] = {
    /* draft-ietf-webtrans-http3-02 §3.1, §3.2, §3.3, §4.3, §6, §8.2 */
    {.dialect = WT_DRAFT_02,
     .name = "draft-02",
     .setting = H3_SETTING_ENABLE_WEBTRANSPORT,
     .value_exactly_one = true,
     .token = "webtransport",
     .datagram_draft04_ok = true,
     .origin_required = true,
     .draft02_headers = true,
     .not_found_status = 404,
     .max_app_error = 0xff},
    /* draft-ietf-webtrans-http3-07 §3.1, §3.2, §4.6, §8.2 */
    {.dialect = WT_DRAFT_07,
     .name = "draft-07",
     .setting = H3_SETTING_WEBTRANSPORT_MAX_SESSIONS_07,
     .value_is_max_sessions = true,
     .token = "webtransport",
     .needs_connect_protocol = true,
     .has_drain = true,
     .not_found_status = 404,
     .max_app_error = 0xffffffff},
    /* draft-ietf-webtrans-http3-13 §3.1, §5.1, §9.2 */
    {.dialect = WT_DRAFT_13,
     .name = "draft-13",
     .setting = H3_SETTING_WT_MAX_SESSIONS,
     .value_is_max_sessions = true,
     .token = "webtransport",
     .needs_connect_protocol = true,
     .has_drain = true,
     .has_flow_control = true,
     .has_protocol_negotiation = true,
     .needs_reset_stream_at = true,
     .not_found_status = 404,
     .max_app_error = 0xffffffff},
    /* draft-ietf-webtrans-http3-14 §3.1, §5.1, §9.2 */
    {.dialect = WT_DRAFT_14,
     .name = "draft-14",
     .setting = H3_SETTING_WT_MAX_SESSIONS,
     .value_is_max_sessions = true,
     .token = "webtransport",
     .needs_connect_protocol = true,
     .has_drain = true,
     .has_flow_control = true,
     .has_protocol_negotiation = true,
     .needs_reset_stream_at = true,
     .initial_settings_enable_fc = true,
     .not_found_status = 404,
     .max_app_error = 0xffffffff},
    /* draft-ietf-webtrans-http3-15 §3.1, §9.1, §9.2 */
    {.dialect = WT_DRAFT_15,
     .name = "draft-15",
     .setting = H3_SETTING_WT_ENABLED,
     .token = "webtransport-h3",
     .needs_connect_protocol = true,
     .has_drain = true,
     .has_flow_control = true,
     .has_protocol_negotiation = true,
     .needs_reset_stream_at = true,
     .initial_settings_enable_fc = true,
     .not_found_status = 404,
     .max_app_error = 0xffffffff},
    /* draft-ietf-webtrans-http3-16 §3.1, §3.2 (405), §9.1, §9.2 */
    {.dialect = WT_DRAFT_16,
     .name = "draft-16",
     .setting = H3_SETTING_WT_ENABLED,
     .value_exactly_one = true,
     .token = "webtransport-h3",
     .needs_connect_protocol = true,
     .has_drain = true,
     .has_flow_control = true,
     .has_protocol_negotiation = true,
     .needs_reset_stream_at = true,
     .initial_settings_enable_fc = true,
     .not_found_status = 405,
     .max_app_error = 0xffffffff},
};

const wt_dialect wt_dialects_by_age[WT_DIALECT_COUNT] = {WT_DRAFT_16, WT_DRAFT_15, WT_DRAFT_14,
                                                         WT_DRAFT_13, WT_DRAFT_07, WT_DRAFT_02};

const wt_dialect_info *wt_dialect_get(wt_dialect d)
{
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++)
        if (table[i].dialect == d)
            return &table[i];
    return NULL;
}

/* (no RFC section) */
QUINCE_API const char *wt_dialect_name(wt_dialect d)
{
    const wt_dialect_info *di = wt_dialect_get(d);
    return di != NULL ? di->name : "none";
}

wt_dialect wt_dialect_newest(uint32_t mask)
{
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++)
        if (mask & WT_DIALECT_BIT(wt_dialects_by_age[i]))
            return wt_dialects_by_age[i];
    return WT_DIALECT_NONE;
}

uint32_t wt_dialects_for_token(const uint8_t *tok, size_t len)
{
    uint32_t m = 0;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++)
        if (strlen(table[i].token) == len && memcmp(table[i].token, tok, len) == 0)
            m |= WT_DIALECT_BIT(table[i].dialect);
    return m;
}

/* The dialects cfg allows (all when it names none). */
uint32_t wt_cfg_dialects(const wt_config *cfg)
{
    uint32_t m = cfg->dialects & WT_DIALECTS_ALL;
    return m != 0 ? m : WT_DIALECTS_ALL;
}

uint32_t wt_dialects_offered(const h3_settings *peer, bool peer_is_server)
{
    uint32_t m = 0;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        const wt_dialect_info *d = &table[i];
        uint64_t v;
        if (!h3_settings_get(peer, d->setting, &v) || v == 0)
            continue;
        /* -16 §3.1: a value above 1 is a client's H3_SETTINGS_ERROR; it is then
         * -15's "greater than 0", so the server is taken for -15. */
        if (d->value_exactly_one && v != 1 && (peer_is_server || d->dialect == WT_DRAFT_02))
            continue;
        if (!(peer->h3_datagram || (d->datagram_draft04_ok && peer->h3_datagram_draft04)))
            continue;
        if (peer_is_server && d->needs_connect_protocol && !peer->enable_connect_protocol)
            continue;
        m |= WT_DIALECT_BIT(d->dialect);
    }
    return m;
}

void wt_dialects_put_settings(uint32_t mask, const wt_config *cfg, bool no_connect_protocol,
                              h3_settings *s)
{
    bool any = false, draft02 = false, connect = false, fc = false;
    bool fc_cfg =
        cfg->fc_max_data != 0 || cfg->fc_max_streams_bidi != 0 || cfg->fc_max_streams_uni != 0;
    uint64_t sessions = cfg->max_sessions > 0 ? cfg->max_sessions : 1;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        const wt_dialect_info *d = &table[i];
        if (!(mask & WT_DIALECT_BIT(d->dialect)))
            continue;
        any = true;
        draft02 |= d->dialect == WT_DRAFT_02;
        connect |= d->needs_connect_protocol;
        fc |= d->has_flow_control;
        uint64_t v = 1, have;
        /* -07 §3.1: the server's value is its session limit. -13/-14 §9.2: the
         * session limit too, but a value above 1 turns flow control on
         * (-13 §5.1, -14 §5.1), so above 1 only when we offer flow control. */
        if (d->value_is_max_sessions && d->dialect == WT_DRAFT_07 && cfg->is_server)
            v = sessions;
        if (d->value_is_max_sessions && d->dialect != WT_DRAFT_07 && fc_cfg)
            v = sessions;
        if (!h3_settings_get(s, d->setting, &have))
            h3_settings_set(s, d->setting, v);
    }
    if (!any)
        return;
    h3_settings_set(s, H3_SETTING_H3_DATAGRAM, 1);
    if (draft02)
        h3_settings_set(s, H3_SETTING_H3_DATAGRAM_DRAFT04, 1);
    /* A draft-02-only server need not send it (§3.2); a test mode leaves it out. */
    if (cfg->is_server && (connect || !no_connect_protocol))
        h3_settings_set(s, H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1);
    /* -13..-16 §5.5: our initial receive limits, for every session of the connection. */
    if (fc && cfg->fc_max_data != 0)
        h3_settings_set(s, H3_SETTING_WT_INITIAL_MAX_DATA, cfg->fc_max_data);
    if (fc && cfg->fc_max_streams_bidi != 0)
        h3_settings_set(s, H3_SETTING_WT_INITIAL_MAX_STREAMS_BIDI, cfg->fc_max_streams_bidi);
    if (fc && cfg->fc_max_streams_uni != 0)
        h3_settings_set(s, H3_SETTING_WT_INITIAL_MAX_STREAMS_UNI, cfg->fc_max_streams_uni);
}

bool wt_dialect_fc_intent(wt_dialect d, const h3_settings *s)
{
    const wt_dialect_info *di = wt_dialect_get(d);
    if (di == NULL || !di->has_flow_control || s == NULL)
        return false;
    uint64_t v = 0;
    /* -13 §5.1, -14 §5.1: WT_MAX_SESSIONS above 1. */
    if ((d == WT_DRAFT_13 || d == WT_DRAFT_14) &&
        h3_settings_get(s, H3_SETTING_WT_MAX_SESSIONS, &v) && v > 1)
        return true;
    if (!di->initial_settings_enable_fc)
        return false;
    /* -14..-16 §5.1: any SETTINGS_WT_INITIAL_* other than 0. */
    static const uint64_t ids[3] = {H3_SETTING_WT_INITIAL_MAX_STREAMS_UNI,
                                    H3_SETTING_WT_INITIAL_MAX_STREAMS_BIDI,
                                    H3_SETTING_WT_INITIAL_MAX_DATA};
    for (size_t i = 0; i < 3; i++)
        if (h3_settings_get(s, ids[i], &v) && v != 0)
            return true;
    return false;
}

static bool describe_skips(uint64_t id)
{
    return id == H3_SETTING_QPACK_MAX_TABLE_CAPACITY || id == H3_SETTING_MAX_FIELD_SECTION_SIZE ||
           id == H3_SETTING_QPACK_BLOCKED_STREAMS;
}

size_t wt_settings_describe(const h3_settings *s, bool with_values, char *buf, size_t cap)
{
    h3_setting all[8 + H3_SETTINGS_MAX_EXTRA];
    size_t n = h3_settings_list(s, all, sizeof(all) / sizeof(all[0]));
    if (n > sizeof(all) / sizeof(all[0]))
        n = sizeof(all) / sizeof(all[0]);
    size_t off = 0;
    if (cap > 0)
        buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (describe_skips(all[i].id))
            continue;
        char one[64];
        int k = with_values
                    ? snprintf(one, sizeof(one), "%s0x%llx=%llu", off ? ", " : "",
                               (unsigned long long)all[i].id, (unsigned long long)all[i].value)
                    : snprintf(one, sizeof(one), "%s0x%llx", off ? ", " : "",
                               (unsigned long long)all[i].id);
        if (k < 0 || off + (size_t)k + 1 > cap)
            break;
        memcpy(buf + off, one, (size_t)k + 1);
        off += (size_t)k;
    }
    if (off == 0 && cap > 5) {
        memcpy(buf, "none", 5);
        off = 4;
    }
    return off;
}
