/* Helpers shared by the op-family files of the CPU reference backend (below them:
 * they call nothing of the backend). */
#include "ref_internal.h"

#include <math.h>
#include <stdlib.h>

float *ref_channel_exp(glow_tensor logs, float factor, const char *op)
{
    size_t c = glow_tensor_count(logs);
    float *scale = malloc(c * sizeof(float));
    if (scale == NULL) {
        glow_error(GLOW_ERR_OUT_OF_MEMORY, "ref %s: no memory for %zu channel scales", op, c);
        return NULL;
    }
    const float *l = ref_data(logs);
    for (size_t i = 0; i < c; i++)
        scale[i] = expf(factor * l[i]);
    return scale;
}

double *ref_zeros_f64(size_t n, const char *op)
{
    double *a = calloc(n > 0 ? n : 1, sizeof(double));
    if (a == NULL)
        glow_error(GLOW_ERR_OUT_OF_MEMORY, "ref %s: no memory for %zu accumulators", op, n);
    return a;
}
