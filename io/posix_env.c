/* The POSIX quince_env: malloc, getrandom(2), CLOCK_REALTIME, stderr log, key-log, qlog files. */
#include "io/posix_env.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "io/udp.h"
#include "crypto/crypto.h"

static void *env_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size > 0 ? size : 1);
}

static void *env_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    return realloc(ptr, size > 0 ? size : 1);
}

static void env_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static void env_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    while (len > 0) {
        ssize_t r = getrandom(buf, len, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            /* Keys would be predictable: stopping is the only safe answer. */
            abort();
        }
        buf += r;
        len -= (size_t)r;
    }
}

static int64_t env_wall_clock(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static void env_log(void *user, int level, const char *msg)
{
    const io_env *e = user;
    if (e != NULL && level > e->log_max_level)
        return;
    const char *prefix = e != NULL && e->log_prefix != NULL ? e->log_prefix : "quince";
    fprintf(stderr, "%s[%d]: %s\n", prefix, level, msg);
}

static void env_keylog(void *user, const char *line)
{
    io_env *e = user;
    if (e == NULL || e->keylog == NULL)
        return;
    fprintf(e->keylog, "%s\n", line);
    /* Wireshark reads the file while the connection runs. */
    fflush(e->keylog);
}

static void env_qlog(void *user, const char *record, size_t len)
{
    io_env *e = user;
    if (e == NULL || e->qlog == NULL)
        return;
    fwrite(record, 1, len, e->qlog);
}

/* One crypto_shared for the process: the library's core keeps nothing
 * process-wide, and this host binding chooses to share the backend's tables
 * between all its connections. Built once under pthread_once, never freed
 * (reachable until exit). */
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static crypto_shared *shared;

static void shared_build(void)
{
    quince_env env;
    memset(&env, 0, sizeof(env));
    env.alloc = env_alloc;
    env.realloc = env_realloc;
    env.free = env_free;
    env.random = env_random;
    shared = crypto_shared_new(&env);
}

quince_env io_env_default(void)
{
    quince_env env;
    memset(&env, 0, sizeof(env));
    env.alloc = env_alloc;
    env.realloc = env_realloc;
    env.free = env_free;
    env.random = env_random;
    env.wall_clock = env_wall_clock;
    env.log = env_log;
    pthread_once(&shared_once, shared_build);
    env.crypto_shared = shared;
    return env;
}

void io_env_init(io_env *e)
{
    memset(e, 0, sizeof(*e));
    e->env = io_env_default();
    e->env.user = e;
    e->log_max_level = INT_MAX;
}

/* Open for appending or writing, close-on-exec, owner-only: key logs are secrets. */
static FILE *open_private(const char *path, bool append)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    int fd = open(path, flags, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, append ? "a" : "w");
    if (f == NULL)
        close(fd);
    return f;
}

int io_env_set_keylog_file(io_env *e, const char *path)
{
    if (path == NULL)
        path = getenv("SSLKEYLOGFILE");
    if (e->keylog != NULL) {
        fclose(e->keylog);
        e->keylog = NULL;
        e->env.keylog = NULL;
    }
    if (path == NULL || path[0] == '\0')
        return IO_OK;
    e->keylog = open_private(path, true);
    if (e->keylog == NULL)
        return IO_ERR_FILE;
    e->env.keylog = env_keylog;
    return IO_OK;
}

int io_env_set_qlog_file(io_env *e, const char *path)
{
    if (e->qlog != NULL) {
        fclose(e->qlog);
        e->qlog = NULL;
        e->env.qlog = NULL;
    }
    if (path == NULL)
        return IO_OK;
    e->qlog = open_private(path, false);
    if (e->qlog == NULL)
        return IO_ERR_FILE;
    e->env.qlog = env_qlog;
    return IO_OK;
}

void io_env_cleanup(io_env *e)
{
    (void)io_env_set_keylog_file(e, "");
    (void)io_env_set_qlog_file(e, NULL);
}
