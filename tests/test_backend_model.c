/* The whole model on every backend other than the reference that opens here
 * (the fast cpu backend, Vulkan on lavapipe in CI, CUDA where present):
 *  - the golden fixture passes on it (same tolerances as on the CPU,
 *    golden_fixture.h), in both memory modes;
 *  - 20 training steps from the same seed and data follow the CPU backend's
 *    losses within 1e-3 bpd per step. Both backends draw the same
 *    dequantisation noise (Philox, bit-identical uniforms), so the only
 *    differences are fp32 reduction order and transcendentals (~1e-6 relative
 *    per op), amplified by Adam over 20 steps to well under 1e-3 bpd.
 * A backend that is unavailable is reported and skipped (a failure when
 * $GLOW_TEST_REQUIRE names it, or when it is present but broken: test_util.h);
 * the suite exits 77 (meson: SKIP) when no backend but the CPU's opens. And
 * the cpu backend's training is bit-identical from run to run on a given thread
 * count, and agrees across thread counts to float precision.
 * The class-conditional model (glow_model_config.n_classes, class_weight) is checked
 * the same way: its golden fixture, and 20 training steps with labels whose bpd and
 * classifier bits_y follow the reference's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glow/data.h"
#include "golden_fixture.h"
#include "model_test_util.h"

enum { TRAIN_STEPS = 20, TRAIN_BATCH = 8 };

/* Per-step batch-mean bpd of a short Fashion-MNIST run (L=2, K=2, F=16) at batch `batch`. */
static void train_losses_at(glow_backend *be, const glow_dataset *ds, int batch, float *bpd)
{
    glow_model *m = mt_create(be, 1, 32, 32, 2, 2, 16, batch, 77);
    glow_train_options opt = {{GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 50.0f}, GLOW_MEMORY_REVERSIBLE};
    const size_t image = (size_t)ds->h * ds->w * ds->c;
    for (int s = 0; s < TRAIN_STEPS; s++) {
        glow_rng rng = {77, GLOW_STREAM_DEQUANT, (uint32_t)s, 0};
        opt.adam.step = s + 1;
        TU_OK(glow_model_train_step(m, ds->pixels + (size_t)s * batch * image, batch, rng, &opt, &bpd[s]));
    }
    glow_model_destroy(m);
}

static void train_losses(glow_backend *be, const glow_dataset *ds, float *bpd)
{
    train_losses_at(be, ds, TRAIN_BATCH, bpd);
}

/* The same run on a class-conditional model (10 classes, classifier weight 0.5) with the
 * images' labels: per-step bpd and classifier bits_y. */
static void train_losses_cond(glow_backend *be, const glow_dataset *ds, float *bpd, double *bits_y)
{
    glow_model_config cfg = {1, 32, 32, 2, 2, 16, 5, GLOW_PAD_ZERO, 10, 0.5f};
    glow_model *m = NULL;
    TU_OK(glow_model_create(be, &cfg, 78, TRAIN_BATCH, &m));
    glow_train_options opt = {{GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 50.0f}, GLOW_MEMORY_REVERSIBLE};
    const size_t image = (size_t)ds->h * ds->w * ds->c;
    for (int s = 0; s < TRAIN_STEPS; s++) {
        glow_rng rng = {78, GLOW_STREAM_DEQUANT, (uint32_t)s, 0};
        int labels[TRAIN_BATCH];
        for (int i = 0; i < TRAIN_BATCH; i++)
            labels[i] = ds->labels[(size_t)s * TRAIN_BATCH + i];
        opt.adam.step = s + 1;
        TU_OK(glow_model_set_labels(m, labels, TRAIN_BATCH));
        TU_OK(glow_model_train_step(m, ds->pixels + (size_t)s * TRAIN_BATCH * image, TRAIN_BATCH, rng, &opt,
                                    &bpd[s]));
        glow_class_stats cs;
        TU_OK(glow_model_class_stats(m, &cs));
        bits_y[s] = cs.bits_y;
    }
    glow_model_destroy(m);
}

static void test_every_backend(void **state)
{
    (void)state;
    const glow_backend_factory *factories[8];
    int nf = glow_backend_factories(factories, 8);
    int tested = 0;
    glow_dataset ds;
    glow_status loaded = glow_dataset_load("fashion-mnist", NULL, 1, &ds);
    tu_require(loaded == GLOW_OK, "Fashion-MNIST (apt-get install dataset-fashion-mnist)");
    float cpu_bpd[TRAIN_STEPS], cpu_cond_bpd[TRAIN_STEPS];
    double cpu_bits_y[TRAIN_STEPS];
    glow_backend *cpu = tu_open_cpu();
    train_losses(cpu, &ds, cpu_bpd);
    train_losses_cond(cpu, &ds, cpu_cond_bpd, cpu_bits_y);
    glow_backend_close(cpu);

    for (int i = 0; i < nf; i++) {
        if (strcmp(factories[i]->name, "ref") == 0)
            continue;
        glow_backend *be = NULL;
        glow_status st = factories[i]->open(-1, &be);
        if (st != GLOW_OK) {
            tu_backend_unavailable(factories[i]->name, st, glow_last_error());
            continue;
        }
        print_message("%s: %s\n", factories[i]->name, be->info.name);
        golden_check(be, GLOW_MEMORY_STORE, "glow_golden.bin");
        golden_check(be, GLOW_MEMORY_REVERSIBLE, "glow_golden.bin");
        golden_check(be, GLOW_MEMORY_STORE, "glow_golden_edge.bin"); /* --pad edge */
        golden_check(be, GLOW_MEMORY_REVERSIBLE, "glow_golden_edge.bin");
        float bpd[TRAIN_STEPS];
        train_losses(be, &ds, bpd);
        for (int s = 0; s < TRAIN_STEPS; s++) {
            if (!(fabs((double)bpd[s] - (double)cpu_bpd[s]) <= 1e-3))
                fail_msg("%s step %d: bpd %.6f, CPU %.6f", factories[i]->name, s + 1, (double)bpd[s],
                         (double)cpu_bpd[s]);
        }
        print_message("%s: 20 training steps follow the CPU (last %.6f vs %.6f)\n", factories[i]->name,
                      (double)bpd[TRAIN_STEPS - 1], (double)cpu_bpd[TRAIN_STEPS - 1]);
        /* class-conditional: same bounds (bits_y is a CE of 10 logits, as sensitive as bpd) */
        golden_check(be, GLOW_MEMORY_STORE, "glow_golden_cond.bin");
        golden_check(be, GLOW_MEMORY_REVERSIBLE, "glow_golden_cond.bin");
        double bits_y[TRAIN_STEPS];
        train_losses_cond(be, &ds, bpd, bits_y);
        for (int s = 0; s < TRAIN_STEPS; s++)
            if (!(fabs((double)bpd[s] - (double)cpu_cond_bpd[s]) <= 1e-3) ||
                !(fabs(bits_y[s] - cpu_bits_y[s]) <= 1e-3))
                fail_msg("%s conditional step %d: bpd %.6f, bits_y %.6f; CPU %.6f, %.6f", factories[i]->name, s + 1,
                         (double)bpd[s], bits_y[s], (double)cpu_cond_bpd[s], cpu_bits_y[s]);
        print_message("%s: 20 conditional training steps follow the CPU (last bpd %.6f vs %.6f, bits_y %.6f vs "
                      "%.6f)\n", factories[i]->name, (double)bpd[TRAIN_STEPS - 1],
                      (double)cpu_cond_bpd[TRAIN_STEPS - 1], bits_y[TRAIN_STEPS - 1], cpu_bits_y[TRAIN_STEPS - 1]);
        glow_backend_close(be);
        tested++;
    }
    glow_dataset_free(&ds);
    tu_require_factories();
    tu_require(tested > 0, "a non-CPU backend (Vulkan or CUDA)");
}

/* The cpu backend cuts its convolutions into one part per thread, so the sums
 * of a GEMM's blocks (and on some CPUs oneDNN's kernels, which differ with a
 * block's size) follow the thread count: 20 training steps must be bit-identical
 * when run twice on the same count (1, 2 and 3 threads; 3 is more than this
 * machine's cores, so parts are claimed unevenly), and agree across counts
 * within 1e-3 bpd per step (the bound between backends). Batch 32 so that conv weight gradients and
 * per-channel sums span several parts. */
static void test_cpu_threads_deterministic(void **state)
{
    (void)state;
    enum { BATCH = 32, COUNTS = 3, RUNS = 2 };
    glow_dataset ds;
    TU_OK(glow_dataset_load("fashion-mnist", NULL, 1, &ds));
    static const int threads[COUNTS] = {1, 2, 3};
    float bpd[COUNTS][RUNS][TRAIN_STEPS];
    int opened = 0;
    for (int t = 0; t < COUNTS; t++)
        for (int r = 0; r < RUNS; r++) {
            glow_set_cpu_threads(threads[t]);
            glow_backend *be = NULL;
            glow_status st = glow_backend_open("cpu", -1, &be);
            glow_set_cpu_threads(0);
            if (st != GLOW_OK) {
                print_message("cpu: not tested: %s\n", glow_last_error());
                break;
            }
            train_losses_at(be, &ds, BATCH, bpd[t][r]);
            glow_backend_close(be);
            opened++;
        }
    glow_dataset_free(&ds);
    tu_require(opened == COUNTS * RUNS, "the cpu backend");
    double worst = 0.0;
    for (int t = 0; t < COUNTS; t++)
        for (int s = 0; s < TRAIN_STEPS; s++) {
            if (memcmp(&bpd[t][1][s], &bpd[t][0][s], sizeof(float)) != 0)
                fail_msg("cpu step %d on %d threads: bpd %.9g, then %.9g in a second run", s + 1, threads[t],
                         (double)bpd[t][0][s], (double)bpd[t][1][s]);
            double d = fabs((double)bpd[t][0][s] - (double)bpd[0][0][s]);
            worst = d > worst ? d : worst;
            if (!(d <= 1e-3))
                fail_msg("cpu step %d: bpd %.9g on %d threads, %.9g on 1 thread", s + 1, (double)bpd[t][0][s],
                         threads[t], (double)bpd[0][0][s]);
        }
    print_message("cpu: 20 training steps bit-identical run to run on 1, 2 and 3 threads; across thread counts "
                  "within %.2g bpd (last bpd %.6f)\n",
                  worst, (double)bpd[0][0][TRAIN_STEPS - 1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_backend),
        cmocka_unit_test(test_cpu_threads_deterministic),
    };
    return tu_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
