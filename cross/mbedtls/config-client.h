/* A minimal mbedTLS 2.28 configuration for a Quince client on a device
 * (MBEDTLS_CONFIG_FILE; scripts/size.sh builds Debian's mbedtls source with it):
 * the primitives of crypto/backend_mbedtls.c and nothing else. TLS 1.3's
 * mandatory suite TLS_AES_128_GCM_SHA256 (RFC 8446 §9.1), X25519 and P-256,
 * ECDSA P-256 with SHA-256, X.509 certificate parsing and chain verification.
 * So the server's chain must be ECDSA P-256 signed with SHA-256 (a device's own
 * PKI). Left out, and then neither offered nor accepted by the backend:
 * ChaCha20-Poly1305, SHA-384/SHA-512 (TLS_AES_256_GCM_SHA384 and the signature
 * schemes hashing with them; certificates signed with them fail verification),
 * P-384 and RSA (no RSA signature scheme offered; RSA certificates are refused).
 * Left out as well: certificate writing (crypto_cert_generate is unsupported), PEM, SHA-1, MD5,
 * DRBGs and entropy (the environment's random source is used), the SSL/TLS
 * module, file and time functions. mbedTLS allocates through the platform hooks
 * (MBEDTLS_PLATFORM_MEMORY). */
#ifndef QUINCE_MBEDTLS_CONFIG_CLIENT_H
#define QUINCE_MBEDTLS_CONFIG_CLIENT_H

/* System */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_NO_PLATFORM_ENTROPY

/* Symmetric: AES-GCM, tables in flash */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_CIPHER_C
#define MBEDTLS_GCM_C

/* Hashes, HMAC, HKDF */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_HKDF_C

/* Elliptic curves: X25519, P-256; ECDH, ECDSA */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECP_WINDOW_SIZE 2
#define MBEDTLS_ECP_FIXED_POINT_OPTIM 0
#define MBEDTLS_ECP_NO_INTERNAL_RNG /* every call passes the environment's random source */
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C

/* Keys and certificates */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

#include "mbedtls/check_config.h"

#endif
