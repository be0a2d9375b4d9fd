/* Compatible version negotiation (RFC 9368) between QUIC v1 and v2 (RFC 9369 §4): the
 * version_information transport parameter, the server's move to a version the client
 * offered, the client following it, and the downgrade checks (RFC 9368 §4). */
#include <string.h>

#include "quic/conn_internal.h"
#include "quic/packet.h"

#if QUINCE_QUIC_V2
/* RFC 9369 §4: v1 and v2 are compatible with each other (and each with itself). */
static bool compatible(uint32_t from, uint32_t to)
{
    return quic_version_is_supported(from) && quic_version_is_supported(to) &&
           crypto_pp_version_supported(to);
}

static bool listed(const uint32_t *list, size_t n, uint32_t v)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

/* RFC 9368 §3: a client's Available Versions, preferred first, Chosen Version included. */
static size_t client_offer(const quic_conn *c, uint32_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < QUIC_MAX_VERSIONS && c->cfg.versions[i] != 0; i++)
        if (compatible(c->orig_version, c->cfg.versions[i]) && !listed(out, n, c->cfg.versions[i]))
            out[n++] = c->cfg.versions[i];
    if (n == 0) {
        out[n++] = c->orig_version;
        uint32_t other = c->orig_version == QUIC_VERSION_1 ? QUIC_VERSION_2 : QUIC_VERSION_1;
        if (compatible(c->orig_version, other))
            out[n++] = other;
    } else if (!listed(out, n, c->orig_version) && n < QUIC_MAX_VERSIONS + 1) {
        out[n++] = c->orig_version;
    }
    return n;
}

void quic_version_fill_tp(const quic_conn *c, quic_transport_params *tp)
{
    tp->has_version_info = true;
    if (QUINCE_IS_SERVER(c->is_server)) {
        /* §3: the server's Fully Deployed Versions, in no particular order. */
        tp->chosen_version = c->version;
        tp->available_count = 0;
        tp->available_versions[tp->available_count++] = QUIC_VERSION_1;
        if (quic_version_is_supported(QUIC_VERSION_2))
            tp->available_versions[tp->available_count++] = QUIC_VERSION_2;
    } else {
        tp->chosen_version = c->orig_version;
        tp->available_count = client_offer(c, tp->available_versions);
    }
}

/* RFC 9369 §4.1: the server answers in the negotiated version from its first CRYPTO frame;
 * it keeps the original version's Initial receive keys until the Initial space goes. */
static int server_switch(quic_conn *c, uint32_t v)
{
    crypto_pp tx, rx;
    memset(&tx, 0, sizeof(tx));
    memset(&rx, 0, sizeof(rx));
    crypto_pp *orig = c->rx_initial_orig;
    if (orig == NULL && (orig = quince_env_alloc(c->env, sizeof(*orig))) == NULL)
        return QUIC_ERR_INTERNAL_ERROR;
    if (crypto_pp_initial(&rx, &tx, c->env, v, c->initial_dcid.bytes, c->initial_dcid.len) != 0) {
        if (c->rx_initial_orig == NULL)
            quince_env_free(c->env, orig);
        return QUIC_ERR_INTERNAL_ERROR;
    }
    if (c->rx_initial_orig != NULL)
        crypto_pp_clear(orig, c->env);
    *orig = c->rx[CRYPTO_LEVEL_INITIAL];
    c->rx_initial_orig = orig;
    crypto_pp_clear(&c->tx[CRYPTO_LEVEL_INITIAL], c->env);
    c->tx[CRYPTO_LEVEL_INITIAL] = tx;
    c->rx[CRYPTO_LEVEL_INITIAL] = rx;
    c->version = v;
    c->stats.version = v;
    return QUIC_OK;
}

int quic_version_on_peer_tp(quic_conn *c, const quic_transport_params *tp)
{
    if (QUINCE_IS_SERVER(c->is_server)) {
        if (!tp->has_version_info)
            return QUIC_OK; /* §4: servers MAY complete the handshake without it */
        /* §4: the Chosen Version is the version the Initials came in. */
        if (tp->chosen_version != c->orig_version)
            return QUIC_ERR_VERSION_NEGOTIATION;
        /* §2.3: our preference among the versions the client's first flight is
         * compatible with; none configured: the client's own. */
        for (size_t i = 0; i < QUIC_MAX_VERSIONS && c->cfg.versions[i] != 0; i++) {
            uint32_t v = c->cfg.versions[i];
            if (!compatible(c->orig_version, v) ||
                !listed(tp->available_versions, tp->available_count, v))
                continue;
            return v == c->version ? QUIC_OK : server_switch(c, v);
        }
        return QUIC_OK;
    }
    /* §4: the client checks the server's Chosen Version against the version its
     * packets came in and against what it offered. */
    if (!tp->has_version_info)
        return c->version == c->orig_version ? QUIC_OK : QUIC_ERR_VERSION_NEGOTIATION;
    uint32_t offer[QUIC_MAX_VERSIONS + 1];
    size_t n = client_offer(c, offer);
    if (tp->chosen_version != c->version || !listed(offer, n, tp->chosen_version))
        return QUIC_ERR_VERSION_NEGOTIATION;
    return QUIC_OK;
}

/* Client: does this Initial of version v open with v's Initial keys? Then they become
 * ours (RFC 9369 §4.1: the first long header whose version differs from the original). */
static bool client_follow(quic_conn *c, const quic_pkt_header *h, const uint8_t *pkt)
{
    uint32_t v = h->version;
    uint32_t offer[QUIC_MAX_VERSIONS + 1];
    size_t n = client_offer(c, offer);
    if (c->version != c->orig_version || c->have_rx[CRYPTO_LEVEL_HANDSHAKE] ||
        !listed(offer, n, v) || !compatible(c->orig_version, v) ||
        quic_conn_rx_buffer(c, h->packet_len) == NULL)
        return false;
    crypto_pp tx, rx;
    memset(&tx, 0, sizeof(tx));
    memset(&rx, 0, sizeof(rx));
    if (crypto_pp_initial(&tx, &rx, c->env, v, c->initial_dcid.bytes, c->initial_dcid.len) != 0)
        return false;
    /* Opened on a scratch copy: a forged header cannot move the connection. */
    memcpy(c->rxbuf, pkt, h->packet_len);
    int hl = crypto_pp_remove_hp(&rx, c->rxbuf, h->packet_len, h->pn_offset);
    bool ok = hl > 0;
    if (ok) {
        size_t pn_len = quic_pkt_pn_len(c->rxbuf[0]);
        const quic_ack_tracker *at = &c->sp[SP_INITIAL].ack;
        uint64_t pn = quic_pn_decode(at->has_largest ? at->largest : UINT64_MAX,
                                     quic_pkt_read_pn(c->rxbuf + h->pn_offset, pn_len), pn_len * 8);
        ok = crypto_pp_open_payload(&rx, c->rxbuf, (size_t)hl, h->packet_len, pn) >= 0;
    }
    if (!ok) {
        crypto_pp_clear(&tx, c->env);
        crypto_pp_clear(&rx, c->env);
        return false;
    }
    crypto_pp_clear(&c->tx[CRYPTO_LEVEL_INITIAL], c->env);
    crypto_pp_clear(&c->rx[CRYPTO_LEVEL_INITIAL], c->env);
    c->tx[CRYPTO_LEVEL_INITIAL] = tx;
    c->rx[CRYPTO_LEVEL_INITIAL] = rx;
    c->version = v;
    c->stats.version = v;
    return true;
}

int quic_version_on_packet(quic_conn *c, const quic_pkt_header *h, const uint8_t *pkt,
                           crypto_pp **rx)
{
    *rx = NULL;
    if (QUINCE_IS_SERVER(c->is_server)) {
        if (h->version != c->orig_version)
            return 0;
        /* §4.1: the client's Initials until it learned the version; its 0-RTT stays
         * in the original version (keys derived with it). */
        if (h->type == QUIC_PKT_0RTT)
            return 1;
        if (h->type == QUIC_PKT_INITIAL && c->rx_initial_orig != NULL) {
            *rx = c->rx_initial_orig;
            return 1;
        }
        return 0;
    }
    /* §4.1: Handshake and 1-RTT packets of any other version are dropped. */
    return h->type == QUIC_PKT_INITIAL && client_follow(c, h, pkt) ? 1 : 0;
}

#else
/* One version in the build (base/opt.h): nothing to negotiate; version_information
 * still goes both ways with RFC 9368 §4's downgrade checks. */
void quic_version_fill_tp(const quic_conn *c, quic_transport_params *tp)
{
    tp->has_version_info = true;
    tp->chosen_version = c->version;
    tp->available_count = 1;
    tp->available_versions[0] = c->version;
}

int quic_version_on_peer_tp(quic_conn *c, const quic_transport_params *tp)
{
    /* §4: the Chosen Version is the one the Initials came in (server) and the one
     * the connection uses, which the client offered (client). */
    if (tp->has_version_info && tp->chosen_version != c->version)
        return QUIC_ERR_VERSION_NEGOTIATION;
    return QUIC_OK;
}

/* A long header of another version is not ours (RFC 9368 §4.1: nothing to follow). */
int quic_version_on_packet(quic_conn *c, const quic_pkt_header *h, const uint8_t *pkt,
                           crypto_pp **rx)
{
    (void)c;
    (void)h;
    (void)pkt;
    *rx = NULL;
    return 0;
}
#endif
