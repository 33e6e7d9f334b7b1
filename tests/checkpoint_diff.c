/* checkpoint_diff A B [TOL]: compares the parameter arenas of two checkpoints of the same
 * model: rel = ||a - b||_2 / ||b||_2 over every parameter. Prints rel and the tensor with the
 * largest max |a_i - b_i|; exits 0 when rel <= TOL (default 1e-5) and both are at the same
 * step, 1 otherwise, 2 on a load error. Used by tests/mpi_e2e.sh.
 * Why not per tensor: Adam's first steps move a zero-initialised parameter whose gradient
 * is nearly zero by ~lr in a direction that rounding decides, so such a tensor's own
 * relative difference says nothing about whether two runs are the same run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "glow/checkpoint.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: checkpoint_diff A B [TOL]\n");
        return 2;
    }
    const double tol = argc > 3 ? atof(argv[3]) : 1e-5;
    glow_checkpoint_state sa, sb;
    glow_param_table ta, tb;
    float *a = NULL, *b = NULL;
    if (glow_checkpoint_load(argv[1], NULL, &sa, &ta, &a, NULL, NULL) != GLOW_OK ||
        glow_checkpoint_load(argv[2], NULL, &sb, &tb, &b, NULL, NULL) != GLOW_OK) {
        fprintf(stderr, "checkpoint_diff: %s\n", glow_last_error());
        return 2;
    }
    if (glow_checkpoint_check_table(argv[2], &ta, &tb) != GLOW_OK) {
        fprintf(stderr, "checkpoint_diff: %s\n", glow_last_error());
        return 2;
    }
    double worst = 0.0, diff2 = 0.0, norm2 = 0.0;
    int worst_i = 0;
    for (int e = 0; e < ta.count; e++) {
        const glow_param_entry *p = &ta.entries[e];
        size_t count = (size_t)p->n * p->h * p->w * p->c;
        for (size_t i = 0; i < count; i++) {
            double d = fabs((double)a[p->off + i] - (double)b[p->off + i]);
            diff2 += d * d;
            norm2 += (double)b[p->off + i] * b[p->off + i];
            if (!(d <= worst)) {
                worst = d;
                worst_i = e;
            }
        }
    }
    const double rel = sqrt(diff2) / (norm2 > 0.0 ? sqrt(norm2) : 1.0);
    printf("steps %lld and %lld; ||a - b|| / ||b|| = %.3g (tolerance %.3g); largest |a_i - b_i| %.3g in %s\n",
           (long long)sa.step, (long long)sb.step, rel, tol, worst, ta.entries[worst_i].name);
    free(a);
    free(b);
    glow_param_table_free(&ta);
    glow_param_table_free(&tb);
    return rel <= tol && sa.step == sb.step ? 0 : 1;
}
