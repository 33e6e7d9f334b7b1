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
    snprintf(g_message, sizeof g_message, "%s: %s", prefix, old);
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
