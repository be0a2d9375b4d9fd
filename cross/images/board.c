/* The board of the size images (board.h): stubs over volatile memory. */
#include "board.h"

#include <stdlib.h>
#include <string.h>

static volatile uint8_t g_wire[1500];
static volatile size_t g_wire_len;
static volatile uint64_t g_clock;
static volatile uint8_t g_ca[512];
static volatile uint8_t g_cert[512];
static volatile uint8_t g_key[128];

size_t board_udp_recv(uint8_t *buf, size_t cap, quic_addr *from)
{
    size_t n = g_wire_len < cap ? g_wire_len : cap;
    for (size_t i = 0; i < n; i++)
        buf[i] = g_wire[i];
    memset(from, 0, sizeof(*from));
    from->family = 4;
    from->port = 443;
    return n;
}

void board_udp_send(const uint8_t *buf, size_t len, const quic_addr *to)
{
    (void)to;
    for (size_t i = 0; i < len && i < sizeof(g_wire); i++)
        g_wire[i] = buf[i];
    g_wire_len = len;
}

uint64_t board_now_us(void)
{
    return g_clock;
}

void board_random(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = g_wire[i % sizeof(g_wire)];
}

const uint8_t *board_ca(size_t *len)
{
    *len = sizeof(g_ca);
    return (const uint8_t *)g_ca;
}

const uint8_t *board_cert(size_t *len)
{
    *len = sizeof(g_cert);
    return (const uint8_t *)g_cert;
}

const uint8_t *board_key(size_t *len)
{
    *len = sizeof(g_key);
    return (const uint8_t *)g_key;
}

static void *env_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void *env_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    return realloc(ptr, size);
}

static void env_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static void env_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    board_random(buf, len);
}

static int64_t env_wall_clock(void *user)
{
    (void)user;
    return 1767225600; /* a board with a real-time clock reads it here */
}

void board_env(quince_env *env)
{
    memset(env, 0, sizeof(*env));
    env->alloc = env_alloc;
    env->realloc = env_realloc;
    env->free = env_free;
    env->random = env_random;
    env->wall_clock = env_wall_clock;
}
