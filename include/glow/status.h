/* Errors are values: every library function returns a glow_status and, on
 * failure, leaves a human-readable message (with file, offset, op or VkResult
 * as context) that glow_last_error() returns. Nothing in the library exits. */
#ifndef GLOW_STATUS_H
#define GLOW_STATUS_H

typedef enum {
    GLOW_OK = 0,
    GLOW_ERR_INVALID_ARG,   /* a bad value from the caller (flag, range, NULL) */
    GLOW_ERR_SHAPE,         /* impossible tensor shapes for an op */
    GLOW_ERR_IO,            /* open/read/write/fsync/rename failed */
    GLOW_ERR_FORMAT,        /* a file is truncated, has a wrong magic, version or checksum */
    GLOW_ERR_OUT_OF_MEMORY,
    GLOW_ERR_UNAVAILABLE,   /* a backend or device cannot start here */
    GLOW_ERR_BACKEND,       /* a driver call failed (Vulkan, CUDA) */
    GLOW_ERR_NONFINITE,     /* NaN or Inf where a finite value is required */
    GLOW_ERR_INTERRUPTED,   /* stopped by SIGINT/SIGTERM */
} glow_status;

/* Sets the thread's error message (printf-style) and returns code. */
glow_status glow_error(glow_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with context: "ctx: <old message>". Returns code. */
glow_status glow_error_context(glow_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *glow_last_error(void);
void glow_clear_error(void);
const char *glow_status_name(glow_status code);

/* Propagate a failure to the caller. */
#define GLOW_TRY(expr)                                   \
    do {                                                 \
        glow_status glow_try_status_ = (expr);           \
        if (glow_try_status_ != GLOW_OK)                 \
            return glow_try_status_;                     \
    } while (0)

#endif
