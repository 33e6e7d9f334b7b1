/* --config of glow-vk bench (see bench_config.h). */
#include "bench_config.h"

#include <stdio.h>
#include <string.h>

int bench_largest_levels(int h, int w)
{
    int largest = 0;
    while (largest < 30 && h > 0 && w > 0 && h % (2 << largest) == 0 && w % (2 << largest) == 0)
        largest++;
    return largest;
}

/* One decimal field of "L,K,F,C,H,W" at *p (digits only, at most 9), ended by `end`
 * ("," or "\0"); advances *p past the separator. */
static int read_field(const char **p, char end, int *value)
{
    const char *s = *p;
    long v = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 10) {
        v = v * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || digits > 9 || *s != end)
        return 0;
    *value = (int)v;
    *p = end == '\0' ? s : s + 1;
    return 1;
}

int bench_parse_config(const char *text, int n_bits, glow_model_config *cfg, char *name, size_t name_len,
                       int *default_batch, char *err, size_t errlen)
{
    if (strcmp(text, "small") == 0) {
        *cfg = (glow_model_config){1, 32, 32, 3, 8, 128, n_bits, GLOW_PAD_ZERO, 0, 0.0f};
        *default_batch = 32;
    } else if (strcmp(text, "report") == 0) {
        *cfg = (glow_model_config){1, 32, 32, 3, 16, 512, n_bits, GLOW_PAD_ZERO, 0, 0.0f};
        *default_batch = 16;
    } else {
        static const char *const names[6] = {"L", "K", "F", "C", "H", "W"};
        static const int lo[6] = {1, 1, 1, 1, 1, 1}, hi[6] = {16, 256, 4096, 64, 4096, 4096};
        int v[6];
        const char *p = text;
        for (int i = 0; i < 6; i++)
            if (!read_field(&p, i < 5 ? ',' : '\0', &v[i])) {
                snprintf(err, errlen, "--config: '%s' is not small, report or L,K,F,C,H,W (six positive integers "
                         "separated by commas, e.g. 3,8,128,3,64,64)", text);
                return 0;
            }
        for (int i = 0; i < 6; i++)
            if (v[i] < lo[i] || v[i] > hi[i]) {
                snprintf(err, errlen, "--config %s: %s = %d is out of range [%d, %d]", text, names[i], v[i], lo[i],
                         hi[i]);
                return 0;
            }
        const int largest = bench_largest_levels(v[4], v[5]);
        if (v[0] > largest) {
            if (largest == 0)
                snprintf(err, errlen, "--config %s: %dx%d images cannot be squeezed 2x2 (H and W must be even)", text,
                         v[4], v[5]);
            else
                snprintf(err, errlen, "--config %s: L = %d is too large for %dx%d images: every level halves them, "
                         "so the largest valid L is %d", text, v[0], v[4], v[5], largest);
            return 0;
        }
        *cfg = (glow_model_config){v[3], v[4], v[5], v[0], v[1], v[2], n_bits, GLOW_PAD_ZERO, 0, 0.0f};
        *default_batch = 16;
    }
    snprintf(name, name_len, "%s", strchr(text, ',') ? "custom" : text);
    return 1;
}
