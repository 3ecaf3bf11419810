#include "err.h"

#include <stdarg.h>
#include <stdio.h>

/* per thread: rank 0 runs its own one-rank draws in a second thread */
static _Thread_local char err_msg[1024];
static _Thread_local char err_where[256];
static _Thread_local int err_set_flag;

rmt_status rmt_err_set(rmt_status code, const char *file, int line, const char *fmt, ...)
{
    if (err_set_flag) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    snprintf(err_where, sizeof err_where, "%s:%d", file, line);
    err_set_flag = 1;
    return code;
}

const char *rmt_err_message(void) { return err_msg; }
const char *rmt_err_where(void) { return err_where; }

void rmt_err_clear(void)
{
    err_msg[0] = '\0';
    err_where[0] = '\0';
    err_set_flag = 0;
}
