/* Whole-file reads through zlib's gz* interface, which reads gzip streams
 * and plain files alike. */
#include "data_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FIRST_CAPACITY (1u << 16) /* doubled whenever full */
#define MAX_READ (1u << 30)        /* gzread takes an unsigned count */

glow_status data_read_file(const char *path, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    gzFile f = gzopen(path, "rb");
    if (f == NULL)
        return glow_error(GLOW_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    size_t cap = FIRST_CAPACITY, used = 0;
    uint8_t *data = malloc(cap);
    if (data == NULL) {
        gzclose(f);
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    for (;;) {
        if (used == cap) {
            uint8_t *grown = realloc(data, cap * 2);
            if (grown == NULL) {
                free(data);
                gzclose(f);
                return glow_error(GLOW_ERR_OUT_OF_MEMORY, "%s: out of memory after %zu bytes", path, used);
            }
            data = grown;
            cap *= 2;
        }
        int got = gzread(f, data + used, cap - used < MAX_READ ? (unsigned)(cap - used) : MAX_READ);
        if (got < 0) {
            int zerr = 0;
            const char *msg = gzerror(f, &zerr);
            glow_status st = glow_error(zerr == Z_ERRNO ? GLOW_ERR_IO : GLOW_ERR_FORMAT,
                                        "%s: read failed at byte %zu (decompressed): %s", path, used,
                                        zerr == Z_ERRNO ? strerror(errno) : msg);
            free(data);
            gzclose(f);
            return st;
        }
        if (got == 0)
            break;
        used += (size_t)got;
    }
    /* gzread returns 0 both at a clean end and when a gzip stream ends early. */
    int zerr = 0;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        glow_status st = glow_error(GLOW_ERR_FORMAT, "%s: corrupt or truncated gzip stream after %zu bytes: %s",
                                    path, used, msg);
        free(data);
        gzclose(f);
        return st;
    }
    gzclose(f);
    *buf = data;
    *len = used;
    return GLOW_OK;
}
