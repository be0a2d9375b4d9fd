/* TLS 1.3 handshake messages and extensions: pure parsers and encoders (RFC 8446 §4). */
#include "crypto/tls_msg.h"

#include <string.h>

#include "base/cursor.h"

/* RFC 8446 §4.1.3 */
const uint8_t crypto_tls_hrr_random[CRYPTO_TLS_RANDOM_LEN] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

/* Messages an extension may appear in (the table of RFC 8446 §4.2). */
enum {
    IN_CH = 1 << 0,
    IN_SH = 1 << 1,
    IN_HRR = 1 << 2,
    IN_EE = 1 << 3,
    IN_CT = 1 << 4,
    IN_CR = 1 << 5,
    IN_NST = 1 << 6,
};

typedef struct ext_info {
    uint16_t type;
    uint8_t where;
} ext_info;

/* RFC 8446 §4.2; RFC 9001 §8.2 for quic_transport_parameters. The index is the bit. */
static const ext_info known_exts[] = {
    {CRYPTO_EXT_SERVER_NAME, IN_CH | IN_EE},
    {CRYPTO_EXT_MAX_FRAGMENT_LENGTH, IN_CH | IN_EE},
    {CRYPTO_EXT_STATUS_REQUEST, IN_CH | IN_CR | IN_CT},
    {CRYPTO_EXT_SUPPORTED_GROUPS, IN_CH | IN_EE},
    {CRYPTO_EXT_SIGNATURE_ALGORITHMS, IN_CH | IN_CR},
    {CRYPTO_EXT_USE_SRTP, IN_CH | IN_EE},
    {CRYPTO_EXT_HEARTBEAT, IN_CH | IN_EE},
    {CRYPTO_EXT_ALPN, IN_CH | IN_EE},
    {CRYPTO_EXT_SCT, IN_CH | IN_CR | IN_CT},
    {CRYPTO_EXT_CLIENT_CERT_TYPE, IN_CH | IN_EE},
    {CRYPTO_EXT_SERVER_CERT_TYPE, IN_CH | IN_EE},
    {CRYPTO_EXT_PADDING, IN_CH},
    {CRYPTO_EXT_KEY_SHARE, IN_CH | IN_SH | IN_HRR},
    {CRYPTO_EXT_PRE_SHARED_KEY, IN_CH | IN_SH},
    {CRYPTO_EXT_PSK_KEY_EXCHANGE_MODES, IN_CH},
    {CRYPTO_EXT_EARLY_DATA, IN_CH | IN_EE | IN_NST},
    {CRYPTO_EXT_COOKIE, IN_CH | IN_HRR},
    {CRYPTO_EXT_SUPPORTED_VERSIONS, IN_CH | IN_SH | IN_HRR},
    {CRYPTO_EXT_CERTIFICATE_AUTHORITIES, IN_CH | IN_CR},
    {CRYPTO_EXT_OID_FILTERS, IN_CR},
    {CRYPTO_EXT_POST_HANDSHAKE_AUTH, IN_CH},
    {CRYPTO_EXT_SIGNATURE_ALGORITHMS_CERT, IN_CH | IN_CR},
    {CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS, IN_CH | IN_EE},
};
#define N_KNOWN_EXTS (sizeof(known_exts) / sizeof(known_exts[0]))

static int ext_index(uint16_t type)
{
    for (size_t i = 0; i < N_KNOWN_EXTS; i++)
        if (known_exts[i].type == type)
            return (int)i;
    return -1;
}

uint32_t crypto_tls_ext_bit(uint16_t type)
{
    int i = ext_index(type);
    return i < 0 ? 0 : (uint32_t)1 << i;
}

/* Called with each known extension's body; must consume all of it. */
typedef int (*ext_handler)(void *out, uint16_t type, quince_reader *body);

/*
 * RFC 8446 §4.2: walk an Extension list. A known extension seen twice or in
 * a message the table does not list it for is illegal_parameter; an unknown
 * one is ignored in a ClientHello and is unsupported_extension elsewhere
 * (we never request one). pre_shared_key must come last in a ClientHello.
 */
static int walk_extensions(quince_reader *r, unsigned where, uint32_t *seen, ext_handler fn,
                           void *out)
{
    uint16_t total;
    quince_reader list;
    if (!quince_get_u16(r, &total) || !quince_get_sub(r, total, &list))
        return CRYPTO_ERR_DECODE_ERROR;
    while (!quince_reader_empty(&list)) {
        uint16_t type, len;
        quince_reader body;
        if (!quince_get_u16(&list, &type) || !quince_get_u16(&list, &len) ||
            !quince_get_sub(&list, len, &body))
            return CRYPTO_ERR_DECODE_ERROR;
        int idx = ext_index(type);
        if (idx < 0) {
            /* §4.3.2: clients ignore unknown extensions in a CertificateRequest. */
            if (where != IN_CH && where != IN_CR)
                return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
            continue;
        }
        uint32_t bit = (uint32_t)1 << idx;
        if (*seen & bit)
            return CRYPTO_ERR_ILLEGAL_PARAMETER;
        *seen |= bit;
        if (!(known_exts[idx].where & where))
            return CRYPTO_ERR_ILLEGAL_PARAMETER;
        if (where == IN_CH && type == CRYPTO_EXT_PRE_SHARED_KEY && !quince_reader_empty(&list))
            return CRYPTO_ERR_ILLEGAL_PARAMETER;
        int rc = fn(out, type, &body);
        if (rc < 0)
            return rc;
        if (!quince_reader_empty(&body))
            return CRYPTO_ERR_DECODE_ERROR;
    }
    return 0;
}

/* A vector with a 1- or 2-byte length prefix, optionally of even length, at least min bytes. */
static bool get_vector(quince_reader *r, int prefix, size_t min, bool even, crypto_tls_span *out)
{
    size_t len;
    if (prefix == 1) {
        uint8_t l;
        if (!quince_get_u8(r, &l))
            return false;
        len = l;
    } else {
        uint16_t l;
        if (!quince_get_u16(r, &l))
            return false;
        len = l;
    }
    if (len < min || (even && len % 2 != 0))
        return false;
    return quince_get_bytes(r, len, &out->p) && ((out->len = len), true);
}

/* RFC 8446 §4.2.8: KeyShareEntry list, each with a non-empty key_exchange. */
static bool check_key_share_list(crypto_tls_span list)
{
    quince_reader r = quince_reader_init(list.p, list.len);
    while (!quince_reader_empty(&r)) {
        uint16_t group, len;
        if (!quince_get_u16(&r, &group) || !quince_get_u16(&r, &len) || len == 0 ||
            !quince_skip(&r, len))
            return false;
    }
    return true;
}

/* RFC 7301 §3.1: ProtocolNameList of non-empty names. */
static bool check_alpn_list(crypto_tls_span list)
{
    quince_reader r = quince_reader_init(list.p, list.len);
    while (!quince_reader_empty(&r)) {
        uint8_t len;
        if (!quince_get_u8(&r, &len) || len == 0 || !quince_skip(&r, len))
            return false;
    }
    return true;
}

/* RFC 6066 §3: ServerNameList; we keep the host_name. */
static int parse_server_name(quince_reader *body, crypto_tls_span *host)
{
    crypto_tls_span list;
    if (!get_vector(body, 2, 1, false, &list))
        return CRYPTO_ERR_DECODE_ERROR;
    quince_reader r = quince_reader_init(list.p, list.len);
    while (!quince_reader_empty(&r)) {
        uint8_t type;
        crypto_tls_span name;
        if (!quince_get_u8(&r, &type) || !get_vector(&r, 2, 1, false, &name))
            return CRYPTO_ERR_DECODE_ERROR;
        if (type != 0)
            continue;
        /* RFC 6066 §3: at most one name of a type. */
        if (host->p != NULL)
            return CRYPTO_ERR_ILLEGAL_PARAMETER;
        if (name.len > CRYPTO_TLS_MAX_HOST_NAME || memchr(name.p, 0, name.len) != NULL)
            return CRYPTO_ERR_ILLEGAL_PARAMETER;
        *host = name;
    }
    return 0;
}

/* RFC 8446 §4.2.11: OfferedPsks; identities and binders pair up one to one. */
static int parse_offered_psks(quince_reader *body, crypto_tls_client_hello *ch)
{
    crypto_tls_span ids, binders;
    if (!get_vector(body, 2, 7, false, &ids))
        return CRYPTO_ERR_DECODE_ERROR;
    ch->psk_binders_len = quince_reader_left(body);
    if (!get_vector(body, 2, 33, false, &binders))
        return CRYPTO_ERR_DECODE_ERROR;
    size_t n_ids = 0, n_binders = 0;
    quince_reader r = quince_reader_init(ids.p, ids.len);
    while (!quince_reader_empty(&r)) {
        crypto_tls_span id;
        uint32_t age;
        if (!get_vector(&r, 2, 1, false, &id) || !quince_get_u32(&r, &age))
            return CRYPTO_ERR_DECODE_ERROR;
        if (n_ids++ == 0) {
            ch->psk_identity = id;
            ch->psk_obfuscated_age = age;
        }
    }
    r = quince_reader_init(binders.p, binders.len);
    while (!quince_reader_empty(&r)) {
        crypto_tls_span b;
        if (!get_vector(&r, 1, 32, false, &b))
            return CRYPTO_ERR_DECODE_ERROR;
        if (n_binders++ == 0)
            ch->psk_binder = b;
    }
    if (n_ids != n_binders)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    ch->psk_count = n_ids;
    return 0;
}

bool crypto_tls_u8_list_has(crypto_tls_span list, uint8_t v)
{
    return list.len > 0 && memchr(list.p, v, list.len) != NULL;
}

/* RFC 8446 §4.2 (ClientHello extensions) */
static int ch_extension(void *out, uint16_t type, quince_reader *body)
{
    crypto_tls_client_hello *ch = out;
    switch (type) {
    case CRYPTO_EXT_SUPPORTED_VERSIONS: /* §4.2.1: versions<2..254> */
        if (!get_vector(body, 1, 2, true, &ch->versions))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_SUPPORTED_GROUPS: /* §4.2.7: named_group_list<2..2^16-1> */
        if (!get_vector(body, 2, 2, true, &ch->groups))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_SIGNATURE_ALGORITHMS: /* §4.2.3 */
        if (!get_vector(body, 2, 2, true, &ch->sig_algs))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_SIGNATURE_ALGORITHMS_CERT: {
        crypto_tls_span ignored;
        if (!get_vector(body, 2, 2, true, &ignored))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    }
    case CRYPTO_EXT_KEY_SHARE: /* §4.2.8: client_shares<0..2^16-1> */
        if (!get_vector(body, 2, 0, false, &ch->key_shares) ||
            !check_key_share_list(ch->key_shares))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_ALPN: /* RFC 7301 §3.1: protocol_name_list<2..2^16-1> */
        if (!get_vector(body, 2, 2, false, &ch->alpn) || !check_alpn_list(ch->alpn))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_SERVER_NAME:
        return parse_server_name(body, &ch->server_name);
    case CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS: /* RFC 9001 §8.2: opaque */
        ch->transport_params.p = body->p;
        ch->transport_params.len = quince_reader_left(body);
        quince_skip(body, ch->transport_params.len);
        return 0;
    case CRYPTO_EXT_PSK_KEY_EXCHANGE_MODES: /* §4.2.9: ke_modes<1..255> */
        if (!get_vector(body, 1, 1, false, &ch->psk_modes))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_COOKIE: /* §4.2.2: cookie<1..2^16-1> */
        if (!get_vector(body, 2, 1, false, &ch->cookie))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_EARLY_DATA: /* §4.2.10: empty in a ClientHello */
    case CRYPTO_EXT_POST_HANDSHAKE_AUTH:
        return 0; /* a non-empty body is caught by the walker */
    case CRYPTO_EXT_PRE_SHARED_KEY:
        return parse_offered_psks(body, ch);
    default:
        /* Recognised but unused here (padding, PSK we do not resume, ...). */
        quince_skip(body, quince_reader_left(body));
        return 0;
    }
}

/* RFC 8446 §4.1.2 */
int crypto_tls_parse_client_hello(const uint8_t *body, size_t len, crypto_tls_client_hello *ch)
{
    memset(ch, 0, sizeof(*ch));
    quince_reader r = quince_reader_init(body, len);
    if (!quince_get_u16(&r, &ch->legacy_version) ||
        !quince_get_bytes(&r, CRYPTO_TLS_RANDOM_LEN, &ch->random) ||
        !get_vector(&r, 1, 0, false, &ch->session_id) ||
        ch->session_id.len > CRYPTO_TLS_MAX_SESSION_ID ||
        !get_vector(&r, 2, 2, true, &ch->cipher_suites) ||
        !get_vector(&r, 1, 1, false, &ch->compression_methods))
        return CRYPTO_ERR_DECODE_ERROR;
    /* §4.1.2: a ClientHello without extensions is a pre-1.3 one. */
    if (quince_reader_empty(&r))
        return 0;
    ch->has_extensions = true;
    int rc = walk_extensions(&r, IN_CH, &ch->exts, ch_extension, ch);
    if (rc < 0)
        return rc;
    if (!quince_reader_empty(&r))
        return CRYPTO_ERR_DECODE_ERROR;
    return 0;
}

/* RFC 8446 §4.2 (ServerHello and HelloRetryRequest extensions) */
static int sh_extension(void *out, uint16_t type, quince_reader *body)
{
    crypto_tls_server_hello *sh = out;
    switch (type) {
    case CRYPTO_EXT_SUPPORTED_VERSIONS: /* §4.2.1: selected_version */
        if (!quince_get_u16(body, &sh->version))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_KEY_SHARE: /* §4.2.8 */
        if (!quince_get_u16(body, &sh->group))
            return CRYPTO_ERR_DECODE_ERROR;
        if (!sh->is_hrr && (!get_vector(body, 2, 1, false, &sh->key_share)))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_COOKIE: /* §4.2.2 */
        if (!get_vector(body, 2, 1, false, &sh->cookie))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    case CRYPTO_EXT_PRE_SHARED_KEY: /* §4.2.11: selected_identity */
        if (!quince_get_u16(body, &sh->psk_identity))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    default:
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
    }
}

/* RFC 8446 §4.1.3, §4.1.4 */
int crypto_tls_parse_server_hello(const uint8_t *body, size_t len, crypto_tls_server_hello *sh)
{
    memset(sh, 0, sizeof(*sh));
    quince_reader r = quince_reader_init(body, len);
    uint8_t compression;
    if (!quince_get_u16(&r, &sh->legacy_version) ||
        !quince_get_bytes(&r, CRYPTO_TLS_RANDOM_LEN, &sh->random) ||
        !get_vector(&r, 1, 0, false, &sh->session_id) ||
        sh->session_id.len > CRYPTO_TLS_MAX_SESSION_ID || !quince_get_u16(&r, &sh->cipher_suite) ||
        !quince_get_u8(&r, &compression))
        return CRYPTO_ERR_DECODE_ERROR;
    sh->is_hrr = memcmp(sh->random, crypto_tls_hrr_random, CRYPTO_TLS_RANDOM_LEN) == 0;
    /* A TLS 1.2 ServerHello may lack extensions: the caller reports the version. */
    if (quince_reader_empty(&r))
        return compression == 0 ? 0 : CRYPTO_ERR_ILLEGAL_PARAMETER;
    int rc = walk_extensions(&r, sh->is_hrr ? IN_HRR : IN_SH, &sh->exts, sh_extension, sh);
    if (rc < 0)
        return rc;
    if (!quince_reader_empty(&r))
        return CRYPTO_ERR_DECODE_ERROR;
    /* §4.1.3: legacy_compression_method MUST be 0. */
    if (compression != 0)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    return 0;
}

/* RFC 8446 §4.3.1 */
static int ee_extension(void *out, uint16_t type, quince_reader *body)
{
    crypto_tls_encrypted_extensions *ee = out;
    switch (type) {
    case CRYPTO_EXT_ALPN: {
        /* RFC 7301 §3.1: the server's list holds exactly one name. */
        crypto_tls_span list;
        uint8_t n;
        if (!get_vector(body, 2, 2, false, &list))
            return CRYPTO_ERR_DECODE_ERROR;
        quince_reader r = quince_reader_init(list.p, list.len);
        if (!quince_get_u8(&r, &n) || n == 0 || !quince_get_bytes(&r, n, &ee->alpn.p) ||
            !quince_reader_empty(&r))
            return CRYPTO_ERR_DECODE_ERROR;
        ee->alpn.len = n;
        return 0;
    }
    case CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS:
        ee->transport_params.p = body->p;
        ee->transport_params.len = quince_reader_left(body);
        quince_skip(body, ee->transport_params.len);
        return 0;
    case CRYPTO_EXT_SUPPORTED_GROUPS: { /* §4.2.7: the server's groups, informational */
        crypto_tls_span groups;
        if (!get_vector(body, 2, 2, true, &groups))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    }
    case CRYPTO_EXT_SERVER_NAME: /* RFC 6066 §3: empty acknowledgement */
    case CRYPTO_EXT_EARLY_DATA:
        return 0;
    default:
        /* Allowed in EncryptedExtensions but never requested by us. */
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
    }
}

int crypto_tls_parse_encrypted_extensions(const uint8_t *body, size_t len,
                                          crypto_tls_encrypted_extensions *ee)
{
    memset(ee, 0, sizeof(*ee));
    quince_reader r = quince_reader_init(body, len);
    int rc = walk_extensions(&r, IN_EE, &ee->exts, ee_extension, ee);
    if (rc < 0)
        return rc;
    return quince_reader_empty(&r) ? 0 : CRYPTO_ERR_DECODE_ERROR;
}

/* RFC 8446 §4.4.2 (X509 entries only: we never negotiate raw public keys). */
int crypto_tls_parse_certificate(const uint8_t *body, size_t len, crypto_tls_certificate *ct)
{
    memset(ct, 0, sizeof(*ct));
    quince_reader r = quince_reader_init(body, len);
    uint32_t list_len;
    quince_reader list;
    if (!get_vector(&r, 1, 0, false, &ct->context) || !quince_get_u24(&r, &list_len) ||
        !quince_get_sub(&r, list_len, &list) || !quince_reader_empty(&r))
        return CRYPTO_ERR_DECODE_ERROR;
    while (!quince_reader_empty(&list)) {
        uint32_t cert_len;
        const uint8_t *cert;
        crypto_tls_span exts;
        /* cert_data<1..2^24-1>; the entry's extensions are tolerated and skipped. */
        if (!quince_get_u24(&list, &cert_len) || cert_len == 0 ||
            !quince_get_bytes(&list, cert_len, &cert) || !get_vector(&list, 2, 0, false, &exts))
            return CRYPTO_ERR_DECODE_ERROR;
        if (ct->count == CRYPTO_TLS_MAX_CHAIN)
            return CRYPTO_ERR_BAD_CERTIFICATE;
        ct->certs[ct->count].p = cert;
        ct->certs[ct->count].len = cert_len;
        ct->count++;
    }
    return 0;
}

/* RFC 8446 §4.3.2 */
static int cr_extension(void *out, uint16_t type, quince_reader *body)
{
    crypto_tls_certificate_request *cr = out;
    if (type == CRYPTO_EXT_SIGNATURE_ALGORITHMS) {
        if (!get_vector(body, 2, 2, true, &cr->sig_algs))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    }
    /* certificate_authorities, oid_filters, signature_algorithms_cert, ...:
     * hints we do not use (one configured chain is all we can offer). */
    quince_skip(body, quince_reader_left(body));
    return 0;
}

/* RFC 8446 §4.3.2 */
int crypto_tls_parse_certificate_request(const uint8_t *body, size_t len,
                                         crypto_tls_certificate_request *cr)
{
    memset(cr, 0, sizeof(*cr));
    quince_reader r = quince_reader_init(body, len);
    if (!get_vector(&r, 1, 0, false, &cr->context))
        return CRYPTO_ERR_DECODE_ERROR;
    int rc = walk_extensions(&r, IN_CR, &cr->exts, cr_extension, cr);
    if (rc < 0)
        return rc;
    if (!quince_reader_empty(&r))
        return CRYPTO_ERR_DECODE_ERROR;
    if (!(cr->exts & crypto_tls_ext_bit(CRYPTO_EXT_SIGNATURE_ALGORITHMS)))
        return CRYPTO_ERR_MISSING_EXTENSION;
    return 0;
}

/* RFC 8446 §4.4.3 */
int crypto_tls_parse_certificate_verify(const uint8_t *body, size_t len,
                                        crypto_tls_certificate_verify *cv)
{
    memset(cv, 0, sizeof(*cv));
    quince_reader r = quince_reader_init(body, len);
    if (!quince_get_u16(&r, &cv->scheme) || !get_vector(&r, 2, 1, false, &cv->signature) ||
        !quince_reader_empty(&r))
        return CRYPTO_ERR_DECODE_ERROR;
    return 0;
}

/* RFC 8446 §4.6.1 (and §4.2.10: early_data's max_early_data_size) */
static int nst_extension(void *out, uint16_t type, quince_reader *body)
{
    crypto_tls_new_session_ticket *nst = out;
    if (type == CRYPTO_EXT_EARLY_DATA) {
        if (!quince_get_u32(body, &nst->max_early_data))
            return CRYPTO_ERR_DECODE_ERROR;
        return 0;
    }
    return CRYPTO_ERR_ILLEGAL_PARAMETER; /* the walker already refused the rest */
}

/* RFC 8446 §4.6.1 */
int crypto_tls_parse_new_session_ticket(const uint8_t *body, size_t len,
                                        crypto_tls_new_session_ticket *nst)
{
    memset(nst, 0, sizeof(*nst));
    quince_reader r = quince_reader_init(body, len);
    if (!quince_get_u32(&r, &nst->lifetime) || !quince_get_u32(&r, &nst->age_add) ||
        !get_vector(&r, 1, 0, false, &nst->nonce) || !get_vector(&r, 2, 1, false, &nst->ticket))
        return CRYPTO_ERR_DECODE_ERROR;
    int rc = walk_extensions(&r, IN_NST, &nst->exts, nst_extension, nst);
    if (rc < 0)
        return rc;
    return quince_reader_empty(&r) ? 0 : CRYPTO_ERR_DECODE_ERROR;
}

/* RFC 8446 §4.4.4 */
int crypto_tls_parse_finished(const uint8_t *body, size_t len, size_t hash_len,
                              crypto_tls_span *verify_data)
{
    if (len != hash_len)
        return CRYPTO_ERR_DECODE_ERROR;
    verify_data->p = body;
    verify_data->len = len;
    return 0;
}

bool crypto_tls_u16_list_has(crypto_tls_span list, uint16_t v)
{
    for (size_t i = 0; i + 1 < list.len; i += 2)
        if ((uint16_t)((list.p[i] << 8) | list.p[i + 1]) == v)
            return true;
    return false;
}

size_t crypto_tls_u16_list_count(crypto_tls_span list)
{
    return list.len / 2;
}

uint16_t crypto_tls_u16_list_at(crypto_tls_span list, size_t i)
{
    return (uint16_t)((list.p[2 * i] << 8) | list.p[2 * i + 1]);
}

bool crypto_tls_key_share_find(crypto_tls_span list, uint16_t group, crypto_tls_span *key)
{
    quince_reader r = quince_reader_init(list.p, list.len);
    while (!quince_reader_empty(&r)) {
        uint16_t g, len;
        const uint8_t *p;
        if (!quince_get_u16(&r, &g) || !quince_get_u16(&r, &len) || !quince_get_bytes(&r, len, &p))
            return false;
        if (g == group) {
            key->p = p;
            key->len = len;
            return true;
        }
    }
    return false;
}

size_t crypto_tls_key_share_count(crypto_tls_span list)
{
    quince_reader r = quince_reader_init(list.p, list.len);
    size_t n = 0;
    while (!quince_reader_empty(&r)) {
        uint16_t g, len;
        if (!quince_get_u16(&r, &g) || !quince_get_u16(&r, &len) || !quince_skip(&r, len))
            break;
        n++;
    }
    return n;
}

bool crypto_tls_alpn_has(crypto_tls_span list, const char *name)
{
    size_t n = strlen(name);
    quince_reader r = quince_reader_init(list.p, list.len);
    while (!quince_reader_empty(&r)) {
        uint8_t len;
        const uint8_t *p;
        if (!quince_get_u8(&r, &len) || !quince_get_bytes(&r, len, &p))
            return false;
        if (len == n && memcmp(p, name, n) == 0)
            return true;
    }
    return false;
}

bool crypto_tls_is_ip_literal(const char *name)
{
    if (strchr(name, ':') != NULL)
        return true; /* IPv6 */
    size_t digits = 0, dots = 0;
    for (const char *c = name; *c != '\0'; c++) {
        if (*c == '.')
            dots++;
        else if (*c >= '0' && *c <= '9')
            digits++;
        else
            return false;
    }
    return dots == 3 && digits > 0;
}

/* ---- Encoders ---- */

/* Open a vector: reserve its length prefix. */
static uint8_t *vec_open(quince_writer *w, size_t prefix)
{
    return quince_put_reserve(w, prefix);
}

/* Close a vector opened at `at`: write the length of what followed. */
static void vec_close(quince_writer *w, uint8_t *at, size_t prefix)
{
    if (at == NULL || w->overflow)
        return;
    size_t len = (size_t)(w->p - (at + prefix));
    size_t max = prefix == 1 ? 0xff : prefix == 2 ? 0xffff : 0xffffff;
    if (len > max) {
        w->overflow = true;
        return;
    }
    for (size_t i = 0; i < prefix; i++)
        at[i] = (uint8_t)(len >> (8 * (prefix - 1 - i)));
}

static uint8_t *msg_open(quince_writer *w, uint8_t type)
{
    quince_put_u8(w, type);
    return vec_open(w, 3);
}

static int msg_close(quince_writer *w, uint8_t *at, uint8_t *buf)
{
    vec_close(w, at, 3);
    if (w->overflow)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    return (int)(w->p - buf);
}

static uint8_t *ext_open(quince_writer *w, uint16_t type)
{
    quince_put_u16(w, type);
    return vec_open(w, 2);
}

static void put_u16_list(quince_writer *w, size_t prefix, const uint16_t *v, size_t n)
{
    uint8_t *at = vec_open(w, prefix);
    for (size_t i = 0; i < n; i++)
        quince_put_u16(w, v[i]);
    vec_close(w, at, prefix);
}

static void put_alpn_list(quince_writer *w, const char *const *alpn)
{
    uint8_t *list = vec_open(w, 2);
    for (size_t i = 0; alpn[i] != NULL; i++) {
        size_t n = strlen(alpn[i]);
        if (n == 0 || n > 255) {
            w->overflow = true;
            return;
        }
        quince_put_u8(w, (uint8_t)n);
        quince_put_bytes(w, alpn[i], n);
    }
    vec_close(w, list, 2);
}

/* RFC 8446 §4.1.2 */
int crypto_tls_encode_client_hello(const crypto_tls_client_hello_params *p, uint8_t *buf,
                                   size_t cap)
{
    quince_writer w = quince_writer_init(buf, cap);
    uint8_t *msg = msg_open(&w, CRYPTO_HS_CLIENT_HELLO);
    quince_put_u16(&w, CRYPTO_TLS_LEGACY_VERSION);
    quince_put_bytes(&w, p->random, CRYPTO_TLS_RANDOM_LEN);
    quince_put_u8(&w, (uint8_t)p->session_id_len);
    quince_put_bytes(&w, p->session_id, p->session_id_len);
    put_u16_list(&w, 2, p->suites, p->n_suites);
    quince_put_u8(&w, 1); /* legacy_compression_methods: null only */
    quince_put_u8(&w, 0);

    uint8_t *exts = vec_open(&w, 2);
    uint8_t *e;
    if (p->server_name != NULL && !crypto_tls_is_ip_literal(p->server_name)) {
        /* RFC 6066 §3 */
        size_t n = strlen(p->server_name);
        e = ext_open(&w, CRYPTO_EXT_SERVER_NAME);
        uint8_t *list = vec_open(&w, 2);
        quince_put_u8(&w, 0); /* host_name */
        quince_put_u16(&w, (uint16_t)n);
        quince_put_bytes(&w, p->server_name, n);
        vec_close(&w, list, 2);
        vec_close(&w, e, 2);
    }
    e = ext_open(&w, CRYPTO_EXT_SUPPORTED_VERSIONS); /* §4.2.1 */
    quince_put_u8(&w, 2);
    quince_put_u16(&w, CRYPTO_TLS_VERSION_13);
    vec_close(&w, e, 2);

    e = ext_open(&w, CRYPTO_EXT_SUPPORTED_GROUPS); /* §4.2.7 */
    put_u16_list(&w, 2, p->groups, p->n_groups);
    vec_close(&w, e, 2);

    e = ext_open(&w, CRYPTO_EXT_SIGNATURE_ALGORITHMS); /* §4.2.3 */
    put_u16_list(&w, 2, p->sig_algs, p->n_sig_algs);
    vec_close(&w, e, 2);

    e = ext_open(&w, CRYPTO_EXT_KEY_SHARE); /* §4.2.8 */
    uint8_t *shares = vec_open(&w, 2);
    for (size_t i = 0; i < p->n_shares; i++) {
        quince_put_u16(&w, p->shares[i].group);
        quince_put_u16(&w, (uint16_t)p->shares[i].len);
        quince_put_bytes(&w, p->shares[i].key, p->shares[i].len);
    }
    vec_close(&w, shares, 2);
    vec_close(&w, e, 2);

    if (p->alpn != NULL && p->alpn[0] != NULL) { /* RFC 7301 §3.1 */
        e = ext_open(&w, CRYPTO_EXT_ALPN);
        put_alpn_list(&w, p->alpn);
        vec_close(&w, e, 2);
    }
    if (p->cookie != NULL) { /* §4.2.2 */
        e = ext_open(&w, CRYPTO_EXT_COOKIE);
        quince_put_u16(&w, (uint16_t)p->cookie_len);
        quince_put_bytes(&w, p->cookie, p->cookie_len);
        vec_close(&w, e, 2);
    }
    if (p->send_transport_params) { /* RFC 9001 §8.2 */
        e = ext_open(&w, CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS);
        quince_put_bytes(&w, p->transport_params, p->transport_params_len);
        vec_close(&w, e, 2);
    }
    if (p->n_psk_modes > 0) {
        e = ext_open(&w, CRYPTO_EXT_PSK_KEY_EXCHANGE_MODES); /* §4.2.9 */
        quince_put_u8(&w, (uint8_t)p->n_psk_modes);
        quince_put_bytes(&w, p->psk_modes, p->n_psk_modes);
        vec_close(&w, e, 2);
        if (p->early_data) { /* §4.2.10 */
            e = ext_open(&w, CRYPTO_EXT_EARLY_DATA);
            vec_close(&w, e, 2);
        }
        /* §4.2.11: last. */
        e = ext_open(&w, CRYPTO_EXT_PRE_SHARED_KEY);
        uint8_t *ids = vec_open(&w, 2);
        quince_put_u16(&w, (uint16_t)p->psk_identity_len);
        quince_put_bytes(&w, p->psk_identity, p->psk_identity_len);
        quince_put_u32(&w, p->psk_obfuscated_age);
        vec_close(&w, ids, 2);
        uint8_t *binders = vec_open(&w, 2);
        uint8_t *b = vec_open(&w, 1);
        uint8_t zeros[255] = {0};
        quince_put_bytes(&w, zeros, p->psk_binder_len < sizeof(zeros) ? p->psk_binder_len : 0);
        vec_close(&w, b, 1);
        vec_close(&w, binders, 2);
        vec_close(&w, e, 2);
    }
    vec_close(&w, exts, 2);
    return msg_close(&w, msg, buf);
}

/* RFC 8446 §4.1.3, §4.1.4 */
int crypto_tls_encode_server_hello(const crypto_tls_server_hello_params *p, uint8_t *buf,
                                   size_t cap)
{
    quince_writer w = quince_writer_init(buf, cap);
    uint8_t *msg = msg_open(&w, CRYPTO_HS_SERVER_HELLO);
    quince_put_u16(&w, CRYPTO_TLS_LEGACY_VERSION);
    quince_put_bytes(&w, p->is_hrr ? crypto_tls_hrr_random : p->random, CRYPTO_TLS_RANDOM_LEN);
    quince_put_u8(&w, (uint8_t)p->session_id_len);
    quince_put_bytes(&w, p->session_id, p->session_id_len);
    quince_put_u16(&w, p->cipher_suite);
    quince_put_u8(&w, 0);
    uint8_t *exts = vec_open(&w, 2);
    uint8_t *e = ext_open(&w, CRYPTO_EXT_SUPPORTED_VERSIONS);
    quince_put_u16(&w, CRYPTO_TLS_VERSION_13);
    vec_close(&w, e, 2);
    if (p->share.group != 0) {
        e = ext_open(&w, CRYPTO_EXT_KEY_SHARE);
        quince_put_u16(&w, p->share.group);
        if (!p->is_hrr) {
            quince_put_u16(&w, (uint16_t)p->share.len);
            quince_put_bytes(&w, p->share.key, p->share.len);
        }
        vec_close(&w, e, 2);
    }
    if (p->psk && !p->is_hrr) { /* §4.2.11 */
        e = ext_open(&w, CRYPTO_EXT_PRE_SHARED_KEY);
        quince_put_u16(&w, 0);
        vec_close(&w, e, 2);
    }
    vec_close(&w, exts, 2);
    return msg_close(&w, msg, buf);
}

/* RFC 8446 §4.3.1 */
int crypto_tls_encode_encrypted_extensions(const char *alpn, const uint8_t *transport_params,
                                           size_t transport_params_len, bool early_data,
                                           uint8_t *buf, size_t cap)
{
    quince_writer w = quince_writer_init(buf, cap);
    uint8_t *msg = msg_open(&w, CRYPTO_HS_ENCRYPTED_EXTENSIONS);
    uint8_t *exts = vec_open(&w, 2);
    if (alpn != NULL) {
        const char *one[2] = {alpn, NULL};
        uint8_t *e = ext_open(&w, CRYPTO_EXT_ALPN);
        put_alpn_list(&w, one);
        vec_close(&w, e, 2);
    }
    if (transport_params != NULL) {
        uint8_t *e = ext_open(&w, CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS);
        quince_put_bytes(&w, transport_params, transport_params_len);
        vec_close(&w, e, 2);
    }
    if (early_data) { /* §4.2.10 */
        uint8_t *e = ext_open(&w, CRYPTO_EXT_EARLY_DATA);
        vec_close(&w, e, 2);
    }
    vec_close(&w, exts, 2);
    return msg_close(&w, msg, buf);
}

/* RFC 8446 §4.6.1 */
int crypto_tls_encode_new_session_ticket(uint32_t lifetime, uint32_t age_add, const uint8_t *nonce,
                                         size_t nonce_len, const uint8_t *ticket, size_t ticket_len,
                                         uint32_t max_early_data, uint8_t *buf, size_t cap)
{
    if (nonce_len > 255 || ticket_len == 0 || ticket_len > 0xffff)
        return CRYPTO_ERR_ARGUMENT;
    quince_writer w = quince_writer_init(buf, cap);
    uint8_t *msg = msg_open(&w, CRYPTO_HS_NEW_SESSION_TICKET);
    quince_put_u32(&w, lifetime);
    quince_put_u32(&w, age_add);
    quince_put_u8(&w, (uint8_t)nonce_len);
    quince_put_bytes(&w, nonce, nonce_len);
    quince_put_u16(&w, (uint16_t)ticket_len);
    quince_put_bytes(&w, ticket, ticket_len);
    uint8_t *exts = vec_open(&w, 2);
    if (max_early_data > 0) {
        uint8_t *e = ext_open(&w, CRYPTO_EXT_EARLY_DATA);
        quince_put_u32(&w, max_early_data);
        vec_close(&w, e, 2);
    }
    vec_close(&w, exts, 2);
    return msg_close(&w, msg, buf);
}

/* RFC 8446 §4.4.2 */
int crypto_tls_encode_certificate(const uint8_t *const *certs, const size_t *lens, size_t count,
                                  uint8_t *buf, size_t cap)
{
    /* certificate_request_context: empty for a server */
    return crypto_tls_encode_certificate_ctx(NULL, 0, certs, lens, count, buf, cap);
}

/* RFC 8446 §4.4.2 */
int crypto_tls_encode_certificate_ctx(const uint8_t *context, size_t context_len,
                                      const uint8_t *const *certs, const size_t *lens, size_t count,
                                      uint8_t *buf, size_t cap)
{
    if (context_len > 255)
        return CRYPTO_ERR_ARGUMENT;
    quince_writer w = quince_writer_init(buf, cap);
    uint8_t *msg = msg_open(&w, CRYPTO_HS_CERTIFICATE);
    quince_put_u8(&w, (uint8_t)context_len);
    quince_put_bytes(&w, context, context_len);
    uint8_t *list = vec_open(&w, 3);
    for (size_t i = 0; i < count; i++) {
        if (lens[i] == 0 || lens[i] > 0xffffff) {
            w.overflow = true;
            break;
        }
        quince_put_u24(&w, (uint32_t)lens[i]);
        quince_put_bytes(&w, certs[i], lens[i]);
        quince_put_u16(&w, 0); /* no entry extensions */
    }
    vec_close(&w, list, 3);
    return msg_close(&w, msg, buf);
}

/* RFC 8446 §4.3.2 */
int crypto_tls_encode_certificate_request(const uint8_t *context, size_t context_len,
                                          const uint16_t *sig_algs, size_t n_sig_algs, uint8_t *buf,
                                          size_t cap)
{
    if (context_len > 255)
        return CRYPTO_ERR_ARGUMENT;
    quince_writer w = quince_writer_init(buf, cap);
    uint8_t *msg = msg_open(&w, CRYPTO_HS_CERTIFICATE_REQUEST);
    quince_put_u8(&w, (uint8_t)context_len);
    quince_put_bytes(&w, context, context_len);
    uint8_t *exts = vec_open(&w, 2);
    uint8_t *e = ext_open(&w, CRYPTO_EXT_SIGNATURE_ALGORITHMS);
    put_u16_list(&w, 2, sig_algs, n_sig_algs);
    vec_close(&w, e, 2);
    vec_close(&w, exts, 2);
    return msg_close(&w, msg, buf);
}

/* RFC 8446 §4.4.3 */
int crypto_tls_encode_certificate_verify(uint16_t scheme, const uint8_t *sig, size_t sig_len,
                                         uint8_t *buf, size_t cap)
{
    quince_writer w = quince_writer_init(buf, cap);
    uint8_t *msg = msg_open(&w, CRYPTO_HS_CERTIFICATE_VERIFY);
    quince_put_u16(&w, scheme);
    uint8_t *s = vec_open(&w, 2);
    quince_put_bytes(&w, sig, sig_len);
    vec_close(&w, s, 2);
    return msg_close(&w, msg, buf);
}

/* RFC 8446 §4.4.4 */
int crypto_tls_encode_finished(const uint8_t *verify_data, size_t len, uint8_t *buf, size_t cap)
{
    quince_writer w = quince_writer_init(buf, cap);
    uint8_t *msg = msg_open(&w, CRYPTO_HS_FINISHED);
    quince_put_bytes(&w, verify_data, len);
    return msg_close(&w, msg, buf);
}
