/* Test helper: a quince_env qlog sink writing one file per trace, dir/<name>_<vantage>.sqlog, and
 * checking that every record arrives whole (RS, JSON text, LF). */
#ifndef TESTS_SIM_QLOG_SINK_H
#define TESTS_SIM_QLOG_SINK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/env.h"

typedef struct qlog_sink {
    const char *dir;
    size_t traces, records, open;
    bool bad;
} qlog_sink;

static qlog_sink qlog_sink_state;

static void *qlog_sink_open(void *user, const char *name, const char *vantage)
{
    (void)user;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s_%s.sqlog", qlog_sink_state.dir, name, vantage);
    FILE *f = fopen(path, "wb");
    if (f != NULL) {
        qlog_sink_state.traces++;
        qlog_sink_state.open++;
    }
    return f;
}

static void qlog_sink_write(void *user, void *trace, const char *rec, size_t len)
{
    (void)user;
    /* RFC 7464: RS, JSON text, LF; one whole record per call. */
    if (len < 3 || rec[0] != 0x1e || rec[len - 1] != '\n')
        qlog_sink_state.bad = true;
    fwrite(rec, 1, len, (FILE *)trace);
    qlog_sink_state.records++;
}

static void qlog_sink_close(void *user, void *trace)
{
    (void)user;
    fclose((FILE *)trace);
    qlog_sink_state.open--;
}

/* Point env's qlog sinks at dir. */
static inline void qlog_sink_attach(quince_env *env, const char *dir)
{
    qlog_sink_state.dir = dir;
    env->qlog_open = qlog_sink_open;
    env->qlog_write = qlog_sink_write;
    env->qlog_close = qlog_sink_close;
}

#endif
