/* What the size images (cross/images/) take from a board: a UDP datagram in and
 * out, a microsecond clock, a hardware random source and a trust anchor. On the
 * size build they are stubs over volatile memory, so that the compiler keeps every
 * path that real input would reach; the images are linked, never run. */
#ifndef CROSS_IMAGES_BOARD_H
#define CROSS_IMAGES_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "quic/quic.h"

size_t board_udp_recv(uint8_t *buf, size_t cap, quic_addr *from);
void board_udp_send(const uint8_t *buf, size_t len, const quic_addr *to);
uint64_t board_now_us(void);
void board_random(uint8_t *buf, size_t len);
/* The CA certificate the client trusts (DER). */
const uint8_t *board_ca(size_t *len);
/* The server's certificate (DER) and private key (DER). */
const uint8_t *board_cert(size_t *len);
const uint8_t *board_key(size_t *len);
/* An environment on newlib's malloc and the board's random source. */
void board_env(quince_env *env);

#endif
