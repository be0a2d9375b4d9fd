/* libFuzzer target: the session-ticket formats (RFC 8446 §4.6.1): a server's sealed ticket
 * state and a client's stored session, parsed, re-encoded, and opened as tickets. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/tls_ticket.h"
#include "fuzz_env.h"

/*
 * Each input is tried as all three: a ticket's plaintext state and a stored
 * session (what parses must re-encode to exactly the input: the formats have
 * one encoding), and a ticket presented to a server's crypto_tls_tickets
 * (opening it must fail, or give a state that parses). A server's own
 * ticket, sealed here, must open back to the state sealed.
 */

static crypto_tls_tickets *g_tickets;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_tickets == NULL) {
        *fuzz_rng() = 0x7157;
        /* Kept for the process's life (not a leak). */
        g_tickets = crypto_tls_tickets_new(fuzz_env(), 3600, 64);
        if (g_tickets == NULL)
            abort();
    }
    static uint8_t out[70000];
    tls_ticket_state st;
    if (crypto_tls_ticket_state_parse(data, size, &st) == 0) {
        int n = crypto_tls_ticket_state_encode(&st, out, sizeof(out));
        if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
            abort();
        /* Sealed and opened again: the same state. */
        static uint8_t ticket[70100], plain[70100];
        int t = tls_ticket_seal(g_tickets, &st, 0, ticket, sizeof(ticket));
        if (t > 0) {
            tls_ticket_state back;
            if (tls_ticket_open(g_tickets, ticket, (size_t)t, plain, sizeof(plain), &back) != 0 ||
                back.suite != st.suite || back.psk.len != st.psk.len ||
                back.context.len != st.context.len)
                abort();
        }
    }
    crypto_tls_session ss;
    if (crypto_tls_session_parse(data, size, &ss) == 0) {
        int n = crypto_tls_session_encode(&ss, out, sizeof(out));
        if (n < 0 || (size_t)n != size || memcmp(out, data, size) != 0)
            abort();
    }
    static uint8_t plain[70000];
    tls_ticket_state opened;
    (void)tls_ticket_open(g_tickets, data, size, plain, size < sizeof(plain) ? size : 0, &opened);
    return 0;
}
