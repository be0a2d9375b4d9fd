/* The POSIX quince_env: malloc, getrandom(2), CLOCK_REALTIME, stderr log, key-log, qlog files. */
#include "io/posix_env.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/pcap.h"
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

static int64_t env_wall_clock_ms(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
    if (e == NULL)
        return;
    if (e->pcap != NULL)
        io_pcap_keylog(e->pcap, line);
    if (e->keylog == NULL)
        return;
    fprintf(e->keylog, "%s\n", line);
    /* Wireshark reads the file while the connection runs. */
    fflush(e->keylog);
}

static FILE *open_private(const char *path, bool append);

/* One file per connection: DIR/<original DCID>_<vantage>.sqlog. */
static void *env_qlog_open(void *user, const char *name, const char *vantage)
{
    io_env *e = user;
    if (e == NULL || e->qlog_dir == NULL)
        return NULL;
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/%s_%s.sqlog", e->qlog_dir, name, vantage);
    if (n < 0 || (size_t)n >= sizeof(path))
        return NULL;
    FILE *f = open_private(path, false);
    if (f == NULL && e->env.log != NULL) {
        char msg[4200];
        snprintf(msg, sizeof(msg), "qlog: cannot create %s: %s", path, strerror(errno));
        e->env.log(e, 1, msg);
    }
    return f;
}

static void env_qlog_write(void *user, void *trace, const char *record, size_t len)
{
    (void)user;
    fwrite(record, 1, len, (FILE *)trace);
}

static void env_qlog_close(void *user, void *trace)
{
    (void)user;
    fclose((FILE *)trace);
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
    env.wall_clock_ms = env_wall_clock_ms;
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
        e->env.keylog = e->pcap != NULL ? env_keylog : NULL;
    }
    if (path == NULL || path[0] == '\0')
        return IO_OK;
    e->keylog = open_private(path, true);
    if (e->keylog == NULL)
        return IO_ERR_FILE;
    e->env.keylog = env_keylog;
    return IO_OK;
}

void io_env_set_pcap(io_env *e, io_pcap *p)
{
    e->pcap = p;
    if (p != NULL)
        e->env.keylog = env_keylog;
    else if (e->keylog == NULL)
        e->env.keylog = NULL;
}

int io_env_set_qlog_dir(io_env *e, const char *dir)
{
    free(e->qlog_dir);
    e->qlog_dir = NULL;
    e->env.qlog_open = NULL;
    e->env.qlog_write = NULL;
    e->env.qlog_close = NULL;
    if (dir == NULL)
        return IO_OK;
    struct stat st;
    if (stat(dir, &st) != 0)
        return IO_ERR_FILE;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return IO_ERR_FILE;
    }
    e->qlog_dir = strdup(dir);
    if (e->qlog_dir == NULL)
        return IO_ERR_NOMEM;
    e->env.qlog_open = env_qlog_open;
    e->env.qlog_write = env_qlog_write;
    e->env.qlog_close = env_qlog_close;
    return IO_OK;
}

void io_env_cleanup(io_env *e)
{
    e->pcap = NULL;
    (void)io_env_set_keylog_file(e, "");
    (void)io_env_set_qlog_dir(e, NULL);
}
