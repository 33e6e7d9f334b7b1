#include "glow/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char g_message[1024];

glow_status glow_error(glow_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_message, sizeof g_message, fmt, ap);
    va_end(ap);
    return code;
}

glow_status glow_error_context(glow_status code, const char *fmt, ...)
{
    char prefix[512];
    char old[sizeof g_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_message, sizeof old);
    /* Truncation of an over-long message is acceptable; keep the prefix. */
    size_t used = strlen(prefix);
    if (used > sizeof g_message - 3)
        used = sizeof g_message - 3;
    memcpy(g_message, prefix, used);
    memcpy(g_message + used, ": ", 2);
    size_t room = sizeof g_message - used - 2;
    size_t old_len = strnlen(old, room - 1);
    memcpy(g_message + used + 2, old, old_len);
    g_message[used + 2 + old_len] = '\0';
    return code;
}

const char *glow_last_error(void)
{
    return g_message[0] ? g_message : "no error message";
}

void glow_clear_error(void)
{
    g_message[0] = '\0';
}

const char *glow_status_name(glow_status code)
{
    switch (code) {
    case GLOW_OK: return "ok";
    case GLOW_ERR_INVALID_ARG: return "invalid argument";
    case GLOW_ERR_SHAPE: return "shape error";
    case GLOW_ERR_IO: return "I/O error";
    case GLOW_ERR_FORMAT: return "format error";
    case GLOW_ERR_OUT_OF_MEMORY: return "out of memory";
    case GLOW_ERR_UNAVAILABLE: return "unavailable";
    case GLOW_ERR_BACKEND: return "backend error";
    case GLOW_ERR_NONFINITE: return "non-finite value";
    case GLOW_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}
