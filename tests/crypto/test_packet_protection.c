/* Tests for crypto/packet_protection.c: RFC 9001 and RFC 9369 Appendix A, parsed from the RFC text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/hkdf_label.h"
#include "crypto/packet_protection.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

/*
 * The vectors are read from verbatim copies of the RFCs in tests/vectors/data
 * at run time: each value is found by the sentence or "name =" that
 * introduces it in the appendix, so the bytes compared are the RFC's own.
 */

#define MAX_VALUE 1500

typedef struct rfc_text {
    char *all;
    size_t len;
} rfc_text;

typedef struct span {
    const char *p;
    const char *end;
} span;

static rfc_text load_rfc(const char *path)
{
    rfc_text t;
    t.all = (char *)test_read_file(path, &t.len);
    return t;
}

/* The appendix section whose heading starts a line with title, up to the next heading. */
static span section(const rfc_text *t, const char *title)
{
    size_t n = strlen(title);
    const char *p = t->all;
    while ((p = strstr(p, title)) != NULL) {
        if (p == t->all || p[-1] == '\n')
            break;
        p += n;
    }
    assert_non_null(p);
    const char *end = p + n;
    /* Next line that starts at column 0 with a letter: "A.3.  ..." or "Appendix B." */
    while ((end = strchr(end, '\n')) != NULL) {
        end++;
        if ((*end >= 'A' && *end <= 'Z'))
            break;
    }
    span s = {p, end != NULL ? end : t->all + t->len};
    return s;
}

static const char *find_in(span s, const char *from, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = from; p + n <= s.end; p++) {
        if (memcmp(p, needle, n) == 0)
            return p;
    }
    fail_msg("'%s' not found", needle);
    return NULL;
}

static const char *line_end(const char *p, const char *end)
{
    while (p < end && *p != '\n')
        p++;
    return p;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A line made only of hex groups (and spaces), with at least one digit. */
static bool hex_line(const char *p, const char *e)
{
    bool any = false;
    for (; p < e; p++) {
        if (*p == ' ')
            continue;
        if (!is_hex(*p))
            return false;
        any = true;
    }
    return any;
}

static size_t append_hex(const char *p, const char *e, uint8_t *out, size_t n)
{
    int hi = -1;
    for (; p < e; p++) {
        if (!is_hex(*p))
            continue;
        int v = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < MAX_VALUE);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    return n;
}

/* The hex block that follows the line containing marker (after blank lines). */
static size_t block_after(span s, const char *marker, uint8_t *out)
{
    const char *p = line_end(find_in(s, s.p, marker), s.end);
    while (p < s.end && (*p == '\n' || *p == ' ')) {
        const char *e = line_end(p + 1, s.end);
        if (hex_line(p + 1, e))
            break;
        p = e;
    }
    size_t n = 0;
    for (;;) {
        if (p < s.end && *p == '\n')
            p++;
        const char *e = line_end(p, s.end);
        if (p >= s.end || !hex_line(p, e))
            break;
        n = append_hex(p, e, out, n);
        p = e;
    }
    assert_true(n > 0);
    return n;
}

/* "name = <hex>" or "name = <formula>\n = <hex>", with hex continuation lines;
 * the search starts at *from and moves it past the value. */
static size_t value_of(span s, const char **from, const char *name, uint8_t *out)
{
    const char *p = find_in(s, *from, name);
    for (;;) {
        const char *e = line_end(p, s.end);
        const char *eq = NULL;
        for (const char *q = p; q < e; q++) {
            if (*q == '=')
                eq = q;
        }
        if (eq != NULL && hex_line(eq + 1, e)) {
            size_t n = append_hex(eq + 1, e, out, 0);
            p = e;
            while (p < s.end) {
                const char *ne = line_end(p + 1, s.end);
                if (!hex_line(p + 1, ne))
                    break;
                n = append_hex(p + 1, ne, out, n);
                p = ne;
            }
            *from = p;
            return n;
        }
        assert_true(e < s.end);
        p = e + 1;
    }
}

static size_t value_once(span s, const char *name, uint8_t *out)
{
    const char *from = s.p;
    return value_of(s, &from, name, out);
}

static void expect_rfc_value(span s, const char **from, const char *name, const uint8_t *got,
                             size_t len)
{
    uint8_t want[MAX_VALUE];
    size_t n = value_of(s, from, name, want);
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
}

static const uint8_t dcid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

/* pn_offset of a long-header Initial packet (RFC 9000 §17.2.2), from its bytes. */
static size_t initial_pn_offset(const uint8_t *pkt, size_t len)
{
    quince_reader r = quince_reader_init(pkt, len);
    uint8_t first, l;
    uint32_t version;
    uint64_t token_len, length;
    assert_true(quince_get_u8(&r, &first) && quince_get_u32(&r, &version));
    assert_true(quince_get_u8(&r, &l) && quince_skip(&r, l));
    assert_true(quince_get_u8(&r, &l) && quince_skip(&r, l));
    assert_true(quince_get_varint(&r, &token_len) && quince_skip(&r, (size_t)token_len));
    assert_true(quince_get_varint(&r, &length));
    size_t off = (size_t)(r.p - pkt);
    assert_int_equal(off + length, len); /* the Length field covers pn + payload + tag */
    return off;
}

typedef struct version_case {
    const char *file;
    uint32_t version;
    const char *key_label;
} version_case;

static const version_case cases[] = {
    {"tests/vectors/data/rfc9001-quic-tls.txt", CRYPTO_QUIC_V1, "quic key"},
    {"tests/vectors/data/rfc9369-quic-v2.txt", CRYPTO_QUIC_V2, "quicv2 key"},
};

/* §A.1: Initial secrets, keys, IVs, HP keys. */
static void check_keys(const version_case *vc, const rfc_text *t, crypto_pp *client,
                       crypto_pp *server)
{
    span s = section(t, "A.1.  Keys");
    const char *at = s.p;
    uint8_t cs[32], ss[32], key[16];
    assert_int_equal(crypto_pp_initial_secrets(vc->version, dcid, sizeof(dcid), cs, ss), 0);
    expect_rfc_value(s, &at, "client_initial_secret", cs, 32);
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, cs, 32, vc->key_label, NULL, 0, key, 16), 0);
    expect_rfc_value(s, &at, "key = ", key, 16);
    expect_rfc_value(s, &at, "iv  = ", client->iv, 12);
    expect_rfc_value(s, &at, "hp  = ", client->hp_key, 16);
    expect_rfc_value(s, &at, "server_initial_secret", ss, 32);
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, ss, 32, vc->key_label, NULL, 0, key, 16), 0);
    expect_rfc_value(s, &at, "key = ", key, 16);
    expect_rfc_value(s, &at, "iv  = ", server->iv, 12);
    expect_rfc_value(s, &at, "hp  = ", server->hp_key, 16);
    assert_memory_equal(client->secret, cs, 32);
    assert_memory_equal(server->secret, ss, 32);
}

/* §A.2 / §A.3: protect header + payload into the printed packet, then take it apart. */
static void check_initial(const rfc_text *t, const char *title, const char *payload_marker,
                          const char *header_marker, const char *packet_marker, size_t payload_size,
                          uint64_t pn, crypto_pp *keys)
{
    span s = section(t, title);
    uint8_t header[64], frames[MAX_VALUE], want[MAX_VALUE], pkt[MAX_VALUE + 32];
    size_t frames_len = block_after(s, payload_marker, frames);
    size_t header_len = block_after(s, header_marker, header);
    size_t want_len = block_after(s, packet_marker, want);
    if (payload_size == 0)
        payload_size = frames_len;
    assert_true(payload_size >= frames_len);
    assert_int_equal(want_len, header_len + payload_size + 16);

    /* Sender: frames then PADDING (zero bytes) up to the stated payload size. */
    memcpy(pkt, header, header_len);
    memcpy(pkt + header_len, frames, frames_len);
    memset(pkt + header_len + frames_len, 0, payload_size - frames_len);
    size_t pn_len = (size_t)(header[0] & 3) + 1;
    size_t pn_offset = header_len - pn_len;
    assert_int_equal(crypto_pp_read_pn(header, header_len), pn);
    assert_int_equal(crypto_pp_protect(keys, pkt, sizeof(pkt), pn_offset, pn, payload_size),
                     (int)want_len);
    assert_memory_equal(pkt, want, want_len);
    /* The intermediate values printed on the way. */
    const char *at = s.p;
    expect_rfc_value(s, &at, "sample = ", want + pn_offset + 4, 16);
    uint8_t mask[5];
    assert_int_equal(crypto_hp_mask(keys->hp, want + pn_offset + 4, mask), 0);
    expect_rfc_value(s, &at, "mask", mask, 5);
    uint8_t prot_header[64];
    size_t phl = value_of(s, &at, "header = ", prot_header);
    assert_int_equal(phl, header_len);
    assert_memory_equal(want, prot_header, header_len);

    /* Receiver: find pn_offset from the wire, remove protection, get everything back. */
    assert_int_equal(initial_pn_offset(pkt, want_len), pn_offset);
    size_t hl = 0;
    uint64_t got_pn = 0;
    assert_int_equal(crypto_pp_unprotect(keys, pkt, want_len, pn_offset, 0, &hl, &got_pn),
                     (int)payload_size);
    assert_int_equal(hl, header_len);
    assert_int_equal(got_pn, pn);
    assert_memory_equal(pkt, header, header_len);
    assert_memory_equal(pkt + header_len, frames, frames_len);
    for (size_t i = frames_len; i < payload_size; i++)
        assert_int_equal(pkt[header_len + i], 0);
}

/* §A.4: the Retry Integrity Tag over the pseudo-packet with the A.2 DCID. */
static void check_retry(test_env *te, const version_case *vc, const rfc_text *t)
{
    span s = section(t, "A.4.  Retry");
    uint8_t odcid[20], retry[MAX_VALUE], tag[16];
    const char *p =
        find_in(s, s.p, "connection ID value of 0x") + strlen("connection ID value of 0x");
    const char *e = p;
    while (is_hex(*e))
        e++;
    size_t odcid_len = append_hex(p, e, odcid, 0);
    assert_memory_equal(odcid, dcid, sizeof(dcid));
    size_t len = block_after(s, "value is not included in the final Retry packet", retry);
    assert_int_equal(crypto_retry_verify(&te->env, vc->version, odcid, odcid_len, retry, len), 0);
    assert_int_equal(
        crypto_retry_tag(&te->env, vc->version, odcid, odcid_len, retry, len - 16, tag), 0);
    assert_memory_equal(tag, retry + len - 16, 16);
    /* Every byte matters: packet, tag and ODCID; and the other version's keys differ. */
    for (size_t i = 0; i < len; i++) {
        retry[i] ^= 0x01;
        assert_int_equal(crypto_retry_verify(&te->env, vc->version, odcid, odcid_len, retry, len),
                         CRYPTO_ERR_DECRYPT);
        retry[i] ^= 0x01;
    }
    odcid[7] ^= 0x80;
    assert_int_equal(crypto_retry_verify(&te->env, vc->version, odcid, odcid_len, retry, len),
                     CRYPTO_ERR_DECRYPT);
    odcid[7] ^= 0x80;
    assert_int_equal(crypto_retry_verify(&te->env, vc->version, odcid, odcid_len - 1, retry, len),
                     CRYPTO_ERR_DECRYPT);
    uint32_t other = vc->version == CRYPTO_QUIC_V1 ? CRYPTO_QUIC_V2 : CRYPTO_QUIC_V1;
    assert_int_equal(crypto_retry_verify(&te->env, other, odcid, odcid_len, retry, len),
                     CRYPTO_ERR_DECRYPT);
    assert_int_equal(crypto_retry_verify(&te->env, vc->version, odcid, odcid_len, retry, 16),
                     CRYPTO_ERR_DECRYPT);
    assert_int_equal(crypto_retry_verify(&te->env, 0xff00001d, odcid, odcid_len, retry, len),
                     CRYPTO_ERR_UNSUPPORTED);
    assert_int_equal(crypto_retry_tag(&te->env, vc->version, odcid, 21, retry, len - 16, tag),
                     CRYPTO_ERR_ARGUMENT);
}

/* §A.5: ChaCha20-Poly1305, short header, 3-byte packet number, key update secret. */
static void check_chacha(test_env *te, const version_case *vc, const rfc_text *t)
{
    span s = section(t, "A.5.  ChaCha20-Poly1305 Short Header Packet");
    uint8_t secret[32], key[32], pkt[64], header[8], payload[8], want[64];
    const char *at = s.p;
    assert_int_equal(value_of(s, &at, "secret", secret), 32);
    crypto_pp pp, next;
    assert_int_equal(crypto_pp_init(&pp, &te->env, vc->version, CRYPTO_AEAD_CHACHA20_POLY1305,
                                    CRYPTO_HASH_SHA256, secret, 32),
                     0);
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, secret, 32, vc->key_label, NULL, 0, key, 32),
        0);
    expect_rfc_value(s, &at, "key = ", key, 32);
    expect_rfc_value(s, &at, "iv  = ", pp.iv, 12);
    expect_rfc_value(s, &at, "hp  = ", pp.hp_key, 32);
    /* ku: the next key phase's secret (RFC 9001 §6.1); HP stays. */
    assert_int_equal(crypto_pp_next(&next, &pp, &te->env), 0);
    expect_rfc_value(s, &at, "ku  = ", next.secret, 32);
    assert_memory_equal(next.hp_key, pp.hp_key, 32);

    /* "pn = 654360564 (decimal)" */
    const char *p = find_in(s, at, "pn ");
    p = strchr(p, '=') + 1;
    uint64_t pn = strtoull(p, NULL, 10);
    assert_int_equal(pn, 654360564);
    uint8_t nonce[12];
    crypto_pp_nonce(&pp, pn, nonce);
    expect_rfc_value(s, &at, "nonce", nonce, 12);
    size_t hl = value_of(s, &at, "unprotected header", header);
    size_t pl = value_of(s, &at, "payload plaintext", payload);
    size_t want_len = value_once(s, "packet = ", want);
    assert_int_equal(want_len, hl + pl + 16);

    memcpy(pkt, header, hl);
    memcpy(pkt + hl, payload, pl);
    size_t pn_offset = 1; /* empty Destination Connection ID */
    assert_int_equal(crypto_pp_protect(&pp, pkt, sizeof(pkt), pn_offset, pn, pl), (int)want_len);
    expect_rfc_value(s, &at, "payload ciphertext", pkt + hl, pl + 16);
    expect_rfc_value(s, &at, "sample", pkt + pn_offset + 4, 16);
    uint8_t mask[5];
    assert_int_equal(crypto_hp_mask(pp.hp, pkt + pn_offset + 4, mask), 0);
    expect_rfc_value(s, &at, "mask", mask, 5);
    expect_rfc_value(s, &at, "header = ", pkt, hl);
    assert_memory_equal(pkt, want, want_len);

    /* Back again: the 3-byte field 0x00bff4 decodes to the full number near the
     * expected one (RFC 9000 §A.3). */
    size_t got_hl;
    uint64_t got_pn;
    assert_int_equal(
        crypto_pp_unprotect(&pp, pkt, want_len, pn_offset, 654360000, &got_hl, &got_pn), 1);
    assert_int_equal(got_hl, hl);
    assert_int_equal(got_pn, pn);
    assert_memory_equal(pkt, header, hl);
    assert_int_equal(pkt[hl], payload[0]);
    /* The next key phase cannot open it. */
    memcpy(pkt, want, want_len);
    assert_int_equal(
        crypto_pp_unprotect(&next, pkt, want_len, pn_offset, 654360000, &got_hl, &got_pn),
        CRYPTO_ERR_DECRYPT);
    crypto_pp_clear(&pp, &te->env);
    crypto_pp_clear(&next, &te->env);
}

static void test_appendix_a(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const version_case *vc = &cases[i];
        test_env te;
        test_env_init(&te, 1);
        rfc_text t = load_rfc(vc->file);
        crypto_pp client, server;
        assert_int_equal(
            crypto_pp_initial(&client, &server, &te.env, vc->version, dcid, sizeof(dcid)), 0);
        check_keys(vc, &t, &client, &server);
        check_initial(&t, "A.2.  Client Initial", "CRYPTO frame, plus enough PADDING",
                      "packet number of 2:", "The resulting protected packet is:", 1162, 2,
                      &client);
        check_initial(&t, "A.3.  Server Initial", "and no PADDING frames:", "packet number of 1:",
                      "The final protected packet is then:", 0, 1, &server);
        check_retry(&te, vc, &t);
        check_chacha(&te, vc, &t);
        crypto_pp_clear(&client, &te.env);
        crypto_pp_clear(&server, &te.env);
        free(t.all);
        test_env_check_leaks(&te);
    }
}

/* ---- Unit tests: key update and failures ---- */

/* A short-header packet: 0x40 | pn_len-1, an 8-byte DCID, pn, payload. */
static size_t make_short(crypto_pp *pp, uint8_t *pkt, size_t cap, uint64_t pn, size_t payload)
{
    pkt[0] = 0x41; /* 2-byte pn */
    memset(pkt + 1, 0xcd, 8);
    pkt[9] = (uint8_t)(pn >> 8);
    pkt[10] = (uint8_t)pn;
    for (size_t i = 0; i < payload; i++)
        pkt[11 + i] = (uint8_t)i;
    int n = crypto_pp_protect(pp, pkt, cap, 9, pn, payload);
    assert_int_equal(n, (int)(11 + payload + 16));
    return (size_t)n;
}

static void test_key_update(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 2);
    for (size_t v = 0; v < 2; v++) {
        uint32_t version = cases[v].version;
        uint8_t secret[48];
        memset(secret, 0x21, sizeof(secret));
        crypto_pp g0, g1, g2, rx0, rx1;
        assert_int_equal(crypto_pp_init(&g0, &te.env, version, CRYPTO_AEAD_AES_256_GCM,
                                        CRYPTO_HASH_SHA384, secret, 48),
                         0);
        assert_int_equal(crypto_pp_init(&rx0, &te.env, version, CRYPTO_AEAD_AES_256_GCM,
                                        CRYPTO_HASH_SHA384, secret, 48),
                         0);
        assert_int_equal(crypto_pp_next(&g1, &g0, &te.env), 0);
        assert_int_equal(crypto_pp_next(&g2, &g1, &te.env), 0);
        assert_int_equal(crypto_pp_next(&rx1, &rx0, &te.env), 0);
        /* secret_<n+1> = HKDF-Expand-Label(secret_<n>, "quic ku" / "quicv2 ku", "", 48). */
        uint8_t want[48];
        const char *ku = version == CRYPTO_QUIC_V1 ? "quic ku" : "quicv2 ku";
        assert_int_equal(
            crypto_hkdf_expand_label(CRYPTO_HASH_SHA384, secret, 48, ku, NULL, 0, want, 48), 0);
        assert_int_equal(g1.secret_len, 48);
        assert_memory_equal(g1.secret, want, 48);
        assert_memory_not_equal(g2.secret, g1.secret, 48);
        assert_memory_not_equal(g1.iv, g0.iv, 12);
        /* The header-protection key never changes. */
        assert_memory_equal(g1.hp_key, g0.hp_key, 32);
        assert_memory_equal(g2.hp_key, g0.hp_key, 32);

        uint8_t pkt[128], copy[128];
        size_t n = make_short(&g1, pkt, sizeof(pkt), 77, 30);
        memcpy(copy, pkt, n);
        /* Same HP: either generation removes header protection... */
        assert_int_equal(crypto_pp_remove_hp(&rx0, pkt, n, 9), 11);
        assert_int_equal(crypto_pp_read_pn(pkt, 11), 77);
        /* ...but only the matching generation opens the payload. */
        assert_int_equal(crypto_pp_open_payload(&rx0, pkt, 11, n, 77), CRYPTO_ERR_DECRYPT);
        memcpy(pkt, copy, n);
        size_t hl;
        uint64_t pn;
        assert_int_equal(crypto_pp_unprotect(&rx1, pkt, n, 9, 70, &hl, &pn), 30);
        assert_int_equal(pn, 77);
        assert_int_equal(pkt[11 + 29], 29);
        assert_int_equal(crypto_pp_next(&g0, &g0, &te.env), CRYPTO_ERR_ARGUMENT);
        /* A receiver's rotation by moving structs: previous <- current <- next. */
        crypto_pp prev = rx0;
        rx0 = rx1;
        memset(&rx1, 0, sizeof(rx1));
        assert_int_equal(crypto_pp_next(&rx1, &rx0, &te.env), 0);
        memcpy(pkt, copy, n);
        assert_int_equal(crypto_pp_unprotect(&rx0, pkt, n, 9, 70, &hl, &pn), 30);
        n = make_short(&g2, pkt, sizeof(pkt), 78, 25);
        assert_int_equal(crypto_pp_unprotect(&rx1, pkt, n, 9, 78, &hl, &pn), 25);
        crypto_pp_clear(&prev, &te.env);
        crypto_pp_clear(&g0, &te.env);
        crypto_pp_clear(&g1, &te.env);
        crypto_pp_clear(&g2, &te.env);
        crypto_pp_clear(&rx0, &te.env);
        crypto_pp_clear(&rx1, &te.env);
    }
    test_env_check_leaks(&te);
}

static void test_failures(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 3);
    crypto_pp c, s;
    assert_int_equal(crypto_pp_initial(&c, &s, &te.env, CRYPTO_QUIC_V1, dcid, sizeof(dcid)), 0);
    uint8_t pkt[128], orig[128];
    size_t n = make_short(&c, pkt, sizeof(pkt), 5, 20);
    memcpy(orig, pkt, n);
    size_t hl;
    uint64_t pn;
    assert_int_equal(crypto_pp_unprotect(&c, pkt, n, 9, 0, &hl, &pn), 20);
    assert_true(crypto_pp_is_set(&c));

    /* A tampered byte anywhere (header as AAD, payload, tag) fails to open. The
     * first byte's unprotected bits and the DCID are AAD too. */
    for (size_t i = 0; i < n; i++) {
        memcpy(pkt, orig, n);
        pkt[i] ^= 0x40;
        int rc = crypto_pp_unprotect(&c, pkt, n, 9, 0, &hl, &pn);
        assert_int_equal(rc, CRYPTO_ERR_DECRYPT);
    }
    /* A failed open leaves the last 16 bytes (a Stateless Reset token's place) alone. */
    memcpy(pkt, orig, n);
    pkt[15] ^= 1;
    assert_int_equal(crypto_pp_unprotect(&c, pkt, n, 9, 0, &hl, &pn), CRYPTO_ERR_DECRYPT);
    assert_memory_equal(pkt + n - 16, orig + n - 16, 16);
    /* Wrong keys: the server's. */
    memcpy(pkt, orig, n);
    assert_int_equal(crypto_pp_unprotect(&s, pkt, n, 9, 0, &hl, &pn), CRYPTO_ERR_DECRYPT);
    /* Truncated by one byte. */
    memcpy(pkt, orig, n);
    assert_int_equal(crypto_pp_unprotect(&c, pkt, n - 1, 9, 0, &hl, &pn), CRYPTO_ERR_DECRYPT);
    /* Sample beyond the end: pn_offset + 4 + 16 > length. */
    memcpy(pkt, orig, n);
    assert_int_equal(crypto_pp_remove_hp(&c, pkt, 9 + 4 + 15, 9), CRYPTO_ERR_DECRYPT);
    assert_memory_equal(pkt, orig, n); /* nothing touched */
    assert_int_equal(crypto_pp_remove_hp(&c, pkt, n, n - 19), CRYPTO_ERR_DECRYPT);
    assert_int_equal(crypto_pp_remove_hp(&c, pkt, 10, 9), CRYPTO_ERR_DECRYPT);
    assert_int_equal(crypto_pp_unprotect(&c, pkt, 3, 9, 0, &hl, &pn), CRYPTO_ERR_DECRYPT);
    /* Exactly enough for the sample works (and then the AEAD decides). */
    assert_int_equal(crypto_pp_remove_hp(&c, pkt, 9 + 4 + 16, 9), 11);
    /* A payload shorter than a tag. */
    assert_int_equal(crypto_pp_open_payload(&c, pkt, 11, 11 + 15, 5), CRYPTO_ERR_DECRYPT);
    assert_int_equal(crypto_pp_open_payload(&c, pkt, 12, 11, 5), CRYPTO_ERR_DECRYPT);

    /* Sender mistakes: no room for the tag; too short to sample (pn_len + payload < 4). */
    pkt[0] = 0x40; /* 1-byte pn */
    assert_int_equal(crypto_pp_protect(&c, pkt, 10 + 20 + 15, 9, 1, 20),
                     CRYPTO_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(crypto_pp_protect(&c, pkt, 5, 9, 1, 0), CRYPTO_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(crypto_pp_protect(&c, pkt, sizeof(pkt), 9, 1, 2), CRYPTO_ERR_ARGUMENT);
    pkt[0] = 0x40;
    assert_int_equal(crypto_pp_protect(&c, pkt, sizeof(pkt), 9, 1, 3), 10 + 3 + 16);
    pkt[0] = 0x43; /* 4-byte pn: no payload needed for the sample */
    assert_int_equal(crypto_pp_protect(&c, pkt, sizeof(pkt), 9, 1, 0), 13 + 16);

    /* Setup errors. */
    crypto_pp x;
    uint8_t secret[48] = {0};
    assert_int_equal(crypto_pp_initial(&x, &x, &te.env, 0x00000002, dcid, 8),
                     CRYPTO_ERR_UNSUPPORTED);
    uint8_t long_cid[21] = {0};
    assert_int_equal(crypto_pp_initial_secrets(CRYPTO_QUIC_V1, long_cid, 21, secret, NULL),
                     CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_pp_initial_secrets(CRYPTO_QUIC_V1, long_cid, 20, secret, NULL), 0);
    assert_int_equal(crypto_pp_init(&x, &te.env, CRYPTO_QUIC_V1, CRYPTO_AEAD_AES_128_GCM,
                                    CRYPTO_HASH_SHA256, secret, 48),
                     CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_pp_init(&x, &te.env, CRYPTO_QUIC_V1, (crypto_aead_alg)7,
                                    CRYPTO_HASH_SHA256, secret, 32),
                     CRYPTO_ERR_ARGUMENT);
    assert_false(crypto_pp_is_set(&x));
    assert_false(crypto_pp_version_supported(0xff00001d));
    assert_true(crypto_pp_version_supported(CRYPTO_QUIC_V2));
    crypto_pp_clear(&c, &te.env);
    crypto_pp_clear(&s, &te.env);
    /* Allocation failures leave nothing behind. */
    for (size_t fail = 1; fail <= 5; fail++) {
        te.fail_after = fail;
        int rc = crypto_pp_initial(&c, &s, &te.env, CRYPTO_QUIC_V2, dcid, 8);
        te.fail_after = 0;
        if (rc == 0) {
            crypto_pp_clear(&c, &te.env);
            crypto_pp_clear(&s, &te.env);
        } else {
            assert_int_equal(rc, CRYPTO_ERR_NOMEM);
            assert_null(c.aead);
            assert_null(s.aead);
        }
        test_env_check_leaks(&te);
    }
    crypto_pp_clear(&x, &te.env); /* a cleared pp clears again */
    test_env_check_leaks(&te);
}

static void test_pn_and_limits(void **state)
{
    (void)state;
    /* RFC 9000 §A.3: largest 0xa82f30ea, 16-bit 0x9b32 -> 0xa82f9b32. */
    assert_int_equal(crypto_pp_decode_pn(0xa82f30eb, 0x9b32, 2), 0xa82f9b32);
    assert_int_equal(crypto_pp_decode_pn(0, 0, 1), 0);
    assert_int_equal(crypto_pp_decode_pn(0, 2, 4), 2);
    /* Wrapping forward and backward around the window. */
    assert_int_equal(crypto_pp_decode_pn(255, 0x01, 1), 257);
    assert_int_equal(crypto_pp_decode_pn(256, 0xff, 1), 255);
    assert_int_equal(crypto_pp_decode_pn(((uint64_t)1 << 62) - 1, 0xff, 1),
                     ((uint64_t)1 << 62) - 1);
    /* RFC 9001 §6.6. */
    assert_int_equal(crypto_pp_confidentiality_limit(CRYPTO_AEAD_AES_128_GCM), 1u << 23);
    assert_int_equal(crypto_pp_integrity_limit(CRYPTO_AEAD_AES_256_GCM), (uint64_t)1 << 52);
    assert_int_equal(crypto_pp_integrity_limit(CRYPTO_AEAD_CHACHA20_POLY1305), (uint64_t)1 << 36);
    assert_true(crypto_pp_confidentiality_limit(CRYPTO_AEAD_CHACHA20_POLY1305) == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_a),
        cmocka_unit_test(test_key_update),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_pn_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
