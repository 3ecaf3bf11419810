/* err: status codes and the one error message that travels to the top.
 *
 * Functions that can fail return an rmt_status and, on failure, record a
 * message with rmt_err_set(). The caller either handles the failure or
 * returns the status unchanged; cli prints the message once and maps the
 * status to the process exit code. Not thread-safe by design: every rank is
 * single-threaded apart from BLAS. */
#ifndef RMT_ERR_H
#define RMT_ERR_H

typedef enum {
    RMT_OK = 0,
    RMT_ERUNTIME = 1,   /* runtime failure: I/O, MPI, out of memory */
    RMT_EUSAGE = 2,     /* bad command line or bad config; nothing was written */
    RMT_EINTERRUPT = 3  /* stopped by a signal; a resumable checkpoint was written */
} rmt_status;

/* Record a failure (printf-style) and return code, so that
 *   return rmt_err_set(RMT_EUSAGE, __FILE__, __LINE__, "...");
 * reads as one statement. The first message recorded wins until cleared:
 * the root cause is kept, not a later consequence. */
rmt_status rmt_err_set(rmt_status code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define RMT_ERR(code, ...) rmt_err_set((code), __FILE__, __LINE__, __VA_ARGS__)

/* The recorded message ("" when none), and where it was raised. */
const char *rmt_err_message(void);
const char *rmt_err_where(void);
void rmt_err_clear(void);

/* Propagate a failing status. */
#define RMT_TRY(expr)                        \
    do {                                     \
        rmt_status rmt_try_s_ = (expr);      \
        if (rmt_try_s_ != RMT_OK) return rmt_try_s_; \
    } while (0)

#endif
