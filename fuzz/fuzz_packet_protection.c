/* libFuzzer target: QUIC packet protection (RFC 9001 §5, RFC 9369 §3.3) on arbitrary datagrams. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/packet_protection.h"
#include "base/varint.h"
#include "base/opt.h"
#include "fuzz_env.h"

/*
 * The input is one UDP payload. For QUIC v1 and v2 it is taken apart as the
 * receiver would: a long header is walked to its packet number (RFC 9000
 * §17.2) and unprotected with the Initial keys of the RFC 9001 §A.2 DCID,
 * from both sides; a short header is unprotected with the §A.5 ChaCha20
 * keys and their next key phase; and the whole input is checked as a Retry
 * packet. Then the input becomes the payload of a packet that is protected
 * and unprotected again, which must give it back unchanged (abort otherwise).
 * With the null backend the AEAD always opens, so the paths behind it are
 * reached too.
 */

static void f_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    memset(buf, 0x42, len);
}

static const quince_env g_env = {
    .alloc = fuzz_alloc,
    .realloc = fuzz_realloc,
    .free = fuzz_free,
    .random = f_random,
};

static const uint8_t k_dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
static const uint8_t k_secret[32] = {
    0x9a, 0xc3, 0x12, 0xa7, 0xf8, 0x77, 0x46, 0x8e, 0xbe, 0x69, 0x42, 0x27, 0x48, 0xad, 0x00, 0xa1,
    0x54, 0x43, 0xf1, 0x82, 0x03, 0xa0, 0x7d, 0x60, 0x60, 0xf6, 0x88, 0xf3, 0x0f, 0x21, 0x63, 0x2b};

#define MAX_DATAGRAM 1500

/* RFC 9000 §17.2: offset of the packet number and end of a long-header packet; false if the
 * header is malformed or not one that carries a packet number. */
static bool long_header(const uint8_t *p, size_t len, uint32_t version, size_t *pn_offset,
                        size_t *end)
{
    quince_reader r = quince_reader_init(p, len);
    uint8_t first, l;
    uint32_t v;
    uint64_t token_len = 0, length;
    if (!quince_get_u8(&r, &first) || !quince_get_u32(&r, &v) || v != version)
        return false;
    unsigned type = (first >> 4) & 3;
    /* Initial is type 0 in v1 and 1 in v2; Retry (v1: 3, v2: 0) has no packet number. */
    bool initial = version == CRYPTO_QUIC_V1 ? type == 0 : type == 1;
    bool retry = version == CRYPTO_QUIC_V1 ? type == 3 : type == 0;
    if (retry)
        return false;
    if (!quince_get_u8(&r, &l) || l > 20 || !quince_skip(&r, l) || !quince_get_u8(&r, &l) ||
        l > 20 || !quince_skip(&r, l))
        return false;
    if (initial && (!quince_get_varint(&r, &token_len) || !quince_skip(&r, (size_t)token_len)))
        return false;
    if (!quince_get_varint(&r, &length) || length > quince_reader_left(&r))
        return false;
    *pn_offset = (size_t)(r.p - p);
    *end = *pn_offset + (size_t)length;
    return true;
}

static void try_long(uint32_t version, const uint8_t *data, size_t size)
{
    crypto_pp c, s;
    if (crypto_pp_initial(&c, &s, &g_env, version, k_dcid, sizeof(k_dcid)) != 0)
        abort();
    size_t pn_offset, end;
    if (size > 0 && (data[0] & 0x80) && long_header(data, size, version, &pn_offset, &end)) {
        uint8_t pkt[MAX_DATAGRAM];
        crypto_pp *keys[2] = {&c, &s};
        for (int k = 0; k < 2; k++) {
            memcpy(pkt, data, end);
            size_t hl;
            uint64_t pn;
            int n = crypto_pp_unprotect(keys[k], pkt, end, pn_offset, 0, &hl, &pn);
            if (n >= 0 && (hl + (size_t)n + CRYPTO_AEAD_TAG_LEN != end || hl <= pn_offset))
                abort();
        }
    }
    /* The whole datagram as a Retry packet for the §A.2 ODCID. */
    int rc = crypto_retry_verify(&g_env, version, k_dcid, sizeof(k_dcid), data, size);
    if (rc != 0 && rc != CRYPTO_ERR_DECRYPT && rc != CRYPTO_ERR_ARGUMENT)
        abort();
    crypto_pp_clear(&c, &g_env);
    crypto_pp_clear(&s, &g_env);
}

static void try_short(uint32_t version, const uint8_t *data, size_t size)
{
    crypto_pp cur, next;
    if (crypto_pp_init(&cur, &g_env, version, CRYPTO_AEAD_CHACHA20_POLY1305, CRYPTO_HASH_SHA256,
                       k_secret, sizeof(k_secret)) != 0 ||
        crypto_pp_next(&next, &cur, &g_env) != 0)
        abort();
    uint8_t pkt[MAX_DATAGRAM];
    /* Both a zero-length and an 8-byte Destination Connection ID. */
    static const size_t offsets[2] = {1, 9};
    for (int i = 0; i < 2; i++) {
        memcpy(pkt, data, size);
        int hl = crypto_pp_remove_hp(&cur, pkt, size, offsets[i]);
        if (hl < 0)
            continue;
        size_t pn_len = (size_t)(pkt[0] & 3) + 1;
        uint64_t pn = crypto_pp_decode_pn(654360564, crypto_pp_read_pn(pkt, (size_t)hl), pn_len);
        /* The key phase bit picks the keys, as a receiver would (RFC 9001 §6). */
        crypto_pp *keys = (pkt[0] & 0x04) ? &next : &cur;
        crypto_pp_open_payload(keys, pkt, (size_t)hl, size, pn);
    }
    crypto_pp_clear(&cur, &g_env);
    crypto_pp_clear(&next, &g_env);
}

/* Protect the input as a payload and take it back: the round trip is exact. */
static void round_trip(const uint8_t *data, size_t size)
{
    static const crypto_aead_alg algs[3] = {CRYPTO_AEAD_AES_128_GCM, CRYPTO_AEAD_AES_256_GCM,
                                            CRYPTO_AEAD_CHACHA20_POLY1305};
    uint8_t pkt[MAX_DATAGRAM + 64];
    size_t payload = size < 4 ? 4 : size;
    uint64_t pn = size > 0 ? data[0] * 0x01010101ull : 7;
    crypto_aead_alg alg = algs[size % 3];
    crypto_hash_alg hash = alg == CRYPTO_AEAD_AES_256_GCM ? CRYPTO_HASH_SHA384 : CRYPTO_HASH_SHA256;
    uint8_t secret[48];
    memset(secret, (int)(size & 0xff), sizeof(secret));
    crypto_pp pp;
    if (crypto_pp_init(&pp, &g_env, CRYPTO_QUIC_V1, alg, hash, secret, crypto_hash_len(hash)) != 0)
        abort();
    size_t pn_len = (size_t)(pn % 4) + 1;
    pkt[0] = (uint8_t)(0x40 | (pn_len - 1));
    for (size_t i = 0; i < pn_len; i++)
        pkt[1 + i] = (uint8_t)(pn >> (8 * (pn_len - 1 - i)));
    memset(pkt + 1 + pn_len, 0, payload);
    memcpy(pkt + 1 + pn_len, data, size);
    int n = crypto_pp_protect(&pp, pkt, sizeof(pkt), 1, pn, payload);
    if (n != (int)(1 + pn_len + payload + CRYPTO_AEAD_TAG_LEN))
        abort();
    size_t hl;
    uint64_t got;
    /* expected_pn = pn: decoding the truncated number must land on pn itself. */
    if (crypto_pp_unprotect(&pp, pkt, (size_t)n, 1, pn, &hl, &got) != (int)payload ||
        hl != 1 + pn_len || got != pn || memcmp(pkt + hl, data, size) != 0)
        abort();
    crypto_pp_clear(&pp, &g_env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_DATAGRAM)
        return 0;
    try_long(CRYPTO_QUIC_V1, data, size);
    try_short(CRYPTO_QUIC_V1, data, size);
#if QUINCE_QUIC_V2 /* left out of the build otherwise (base/opt.h) */
    try_long(CRYPTO_QUIC_V2, data, size);
    try_short(CRYPTO_QUIC_V2, data, size);
#endif
    round_trip(data, size);
    return 0;
}
