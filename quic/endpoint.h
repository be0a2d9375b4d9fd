/* QUIC server endpoint internals: demultiplexing, Version Negotiation, Retry tokens, stateless
 * resets (RFC 9000 §5.2, §6, §8.1, §10.3). */
#ifndef QUIC_ENDPOINT_H
#define QUIC_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "quic/quic.h"
#include "quic/transport_params.h"

/* Retry token: nonce(12) | AEAD(issued_at(8) | odcid_len(1) | odcid | rscid_len(1) | rscid) + tag,
 * with the client's address as associated data (RFC 9000 §8.1.2-§8.1.4). */
#define QUIC_RETRY_TOKEN_MAX (12 + 8 + 1 + 20 + 1 + 20 + 16)

/* Seal a token for addr; returns its length or a negative error. */
int quic_endpoint_make_token(quic_endpoint *ep, const quic_addr *addr, const quic_cid_value *odcid,
                             const quic_cid_value *rscid, uint64_t now, uint8_t *out, size_t cap);
/* Open and check a token (address, age); fills odcid and rscid. QUIC_OK or QUIC_ERR_DROP. */
/* RFC 9000 §8.1.3: NEW_TOKEN tokens: 'N', then sealed under the Retry key
 * with the issue time, bound to the client's IP address (not its port, which
 * a later connection changes) and told apart from Retry tokens by the AAD. */
#define QUIC_NEW_TOKEN_MARK 0x4e
#define QUIC_NEW_TOKEN_LEN (1 + 12 + 8 + 16)
int quic_endpoint_make_new_token(quic_endpoint *ep, const quic_addr *addr, uint64_t now,
                                 uint8_t *out, size_t cap);
/* QUIC_OK, or QUIC_ERR_DROP for a token that is not a valid NEW_TOKEN token
 * for addr (another server, expired, altered, another address). */
int quic_endpoint_check_new_token(quic_endpoint *ep, const quic_addr *addr, const uint8_t *token,
                                  size_t len, uint64_t now);
int quic_endpoint_check_token(quic_endpoint *ep, const quic_addr *addr, const uint8_t *token,
                              size_t len, uint64_t now, quic_cid_value *odcid,
                              quic_cid_value *rscid);

/* quic_endpoint_stats and quic_endpoint_get_stats are public, in quic/quic.h. */

#endif
