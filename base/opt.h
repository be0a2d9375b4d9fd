/* Build options of the whole stack (lwIP opt.h style): the features and where a user's own
 * options header comes in. Every layer's opt.h includes this one first. */
#ifndef BASE_OPT_H
#define BASE_OPT_H

/*
 * A build without meson names its own header of overrides, for example
 *   cc -DQUINCE_OPT_HEADER='"my_quince_opt.h"' ...
 * and that header defines any QUINCE_ and <LAYER>_OPT_ macro before the
 * defaults below and in quic/opt.h, h3/opt.h, wt/opt.h and bind/opt.h.
 * A meson build writes the features chosen with -D options into
 * quince_config.h (QUINCE_HAVE_CONFIG_H says it exists); a user header
 * still comes first.
 */
#ifdef QUINCE_OPT_HEADER
#include QUINCE_OPT_HEADER
#endif
#if defined(QUINCE_HAVE_CONFIG_H) && QUINCE_HAVE_CONFIG_H
#include "quince_config.h"
#endif

/* Features: 1 compiles it in, 0 leaves it out (see README "Build options"). */
#ifndef QUINCE_CLIENT
#define QUINCE_CLIENT 1 /* the client role (QUIC and TLS) */
#endif
#ifndef QUINCE_SERVER
#define QUINCE_SERVER 1 /* the server role: the endpoint, the TLS server, Retry */
#endif
#ifndef QUINCE_H3
#define QUINCE_H3 1 /* HTTP/3 and QPACK */
#endif
#ifndef QUINCE_WT
#define QUINCE_WT 1 /* WebTransport over HTTP/3 */
#endif
#ifndef QUINCE_LOGGING
#define QUINCE_LOGGING 1 /* debug messages through the environment's log sink */
#endif
#ifndef QUINCE_QLOG
#define QUINCE_QLOG 1 /* qlog traces (base/qlog.h); without it every qlog call is a no-op */
#endif
#ifndef QUINCE_CUBIC
#define QUINCE_CUBIC 1 /* the CUBIC congestion controller (NewReno is always in) */
#endif
#ifndef QUINCE_QUIC_V2
#define QUINCE_QUIC_V2 1 /* QUIC version 2 (RFC 9369) besides version 1 */
#endif
/*
 * Finer features, on by default, with no meson option: a device's options
 * header turns them off (cross/images/device_opt.h does for the size images).
 * The test suites assume them on.
 */
#ifndef QUINCE_PMTUD
#define QUINCE_PMTUD 1 /* path MTU discovery (RFC 9000 §14.3); off: every packet is 1200 bytes */
#endif
#ifndef QUINCE_MIGRATION
#define QUINCE_MIGRATION 1 /* connection migration and the preferred address (RFC 9000 §9) */
#endif
#ifndef QUINCE_RESUMPTION
#define QUINCE_RESUMPTION 1 /* session tickets, resumption, 0-RTT, NEW_TOKEN (RFC 8446 §4.6.1) */
#endif
#ifndef QUINCE_HYSTART
#define QUINCE_HYSTART 1 /* HyStart++ slow start (RFC 9406); off: plain slow start */
#endif
#ifndef QUINCE_ACK_FREQUENCY
#define QUINCE_ACK_FREQUENCY 1 /* the ACK frequency extension (draft-ietf-quic-ack-frequency) */
#endif

/* A role flag (quic_conn.is_server, crypto_tls_config.is_server) read through this: a build
 * with one role folds it to a constant, so the other role's branches leave the image. */
#if QUINCE_CLIENT && QUINCE_SERVER
#define QUINCE_IS_SERVER(flag) (flag)
#else
#define QUINCE_IS_SERVER(flag) ((void)(flag), QUINCE_SERVER != 0)
#endif

#if !QUINCE_CLIENT && !QUINCE_SERVER
#error "Quince needs QUINCE_CLIENT or QUINCE_SERVER"
#endif
#if QUINCE_WT && !QUINCE_H3
#error "QUINCE_WT needs QUINCE_H3"
#endif

#endif
