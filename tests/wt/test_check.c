/* Tests for apps/wt_check.c (quince-client --webtransport's checks) over in-memory HTTP/3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apps/wt_check.h"
#include "tests/wt/wt_pair.h"

/* An allocator that hands a freed block back to the next request of its size (as malloc's
 * per-size free lists often do), so that a freed object's address is certainly reused. */
#define RA_MAX 4096
static struct {
    quince_env orig;
    void *live[RA_MAX];
    size_t live_size[RA_MAX];
    size_t nlive;
    void *freed[RA_MAX];
    size_t freed_size[RA_MAX];
    size_t nfreed;
} ra;

static void ra_track(void *p, size_t size)
{
    assert_true(ra.nlive < RA_MAX);
    ra.live[ra.nlive] = p;
    ra.live_size[ra.nlive++] = size;
}

static size_t ra_untrack(void *p)
{
    for (size_t i = 0; i < ra.nlive; i++)
        if (ra.live[i] == p) {
            size_t size = ra.live_size[i];
            ra.live[i] = ra.live[--ra.nlive];
            ra.live_size[i] = ra.live_size[ra.nlive];
            return size;
        }
    fail_msg("freeing an unknown block");
    return 0;
}

static void *ra_alloc(void *user, size_t size)
{
    (void)user;
    for (size_t i = ra.nfreed; i-- > 0;)
        if (ra.freed_size[i] == size) {
            void *p = ra.freed[i];
            memmove(&ra.freed[i], &ra.freed[i + 1], (ra.nfreed - i - 1) * sizeof(ra.freed[0]));
            memmove(&ra.freed_size[i], &ra.freed_size[i + 1],
                    (ra.nfreed - i - 1) * sizeof(ra.freed_size[0]));
            ra.nfreed--;
            ra_track(p, size);
            return p;
        }
    void *p = ra.orig.alloc(ra.orig.user, size);
    if (p != NULL)
        ra_track(p, size);
    return p;
}

static void *ra_realloc(void *user, void *ptr, size_t size)
{
    if (ptr == NULL)
        return ra_alloc(user, size);
    ra_untrack(ptr);
    void *p = ra.orig.realloc(ra.orig.user, ptr, size);
    ra_track(p != NULL ? p : ptr, p != NULL ? size : 0);
    return p;
}

static void ra_free(void *user, void *ptr)
{
    (void)user;
    if (ptr == NULL)
        return;
    size_t size = ra_untrack(ptr);
    if (ra.nfreed == RA_MAX) {
        ra.orig.free(ra.orig.user, ptr);
        return;
    }
    ra.freed[ra.nfreed] = ptr;
    ra.freed_size[ra.nfreed++] = size;
}

static void ra_install(test_env *te)
{
    memset(&ra, 0, sizeof(ra));
    ra.orig = te->env;
    te->env.alloc = ra_alloc;
    te->env.realloc = ra_realloc;
    te->env.free = ra_free;
}

static void ra_uninstall(test_env *te)
{
    for (size_t i = 0; i < ra.nfreed; i++)
        ra.orig.free(ra.orig.user, ra.freed[i]);
    ra.nfreed = 0;
    te->env = ra.orig;
}

/* The bidi echo ends (the client's bidi stream closes and is freed) before the server's uni
 * echo stream opens, and that stream gets the bidi stream's memory: its bytes are the uni
 * echo's, not 3000 more bytes of the bidi echo ("bidi echo differs" before the fix). */
static void test_uni_echo_after_bidi_closed(void **state)
{
    (void)state;
    test_env *te = test_malloc(sizeof(*te));
    test_env_init(te, 12);
    ra_install(te);
    wt_check *chk = test_malloc(sizeof(*chk));
    wt_callbacks cb;
    wt_check_init(chk, &cb);
    wp_ep *c = test_malloc(sizeof(*c)), *s = test_malloc(sizeof(*s));
    memset(c, 0, sizeof(*c));
    memset(s, 0, sizeof(*s));
    wp_init_cb(c, te, false, NULL, &cb);
    wp_init(s, te, true, NULL, true);
    wt_session *sess;
    assert_int_equal(
        wt_endpoint_connect(c->wt, "localhost:4433", "/echo", "https://localhost:4433", &sess),
        WT_OK);
    /* The pump moves the bidi echo (and closes the client's bidi stream) before the server has
     * the client's uni stream whole and opens its echo. */
    wp_pump(c, s);
    assert_true(chk->ready);
    if (chk->failed)
        fprintf(stderr, "wt_check failed: %s\n", chk->why);
    assert_false(chk->failed);
    assert_true(chk->bidi_ok);
    assert_true(chk->uni_ok);
    assert_int_equal(chk->bidi_got, WT_CHECK_BIDI_LEN);
    assert_int_equal(chk->uni_got, WT_CHECK_UNI_LEN);
    wp_free(c);
    wp_free(s);
    ra_uninstall(te);
    test_env_check_leaks(te);
    test_free(c);
    test_free(s);
    test_free(chk);
    test_free(te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uni_echo_after_bidi_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
