/* Training sanity on real data (slow): Fashion-MNIST (padded to 1x32x32),
 * L = 2, K = 4, F = 32, batch 32, 200 Adam steps at lr 1e-3 on the CPU backend
 * in store memory mode (the faster one; reversible = store is test_model_gradients). The mean training bpd over steps 175..200 must be
 * at least 1.5 below the first step's, and every step's loss finite (a
 * non-finite one would come back as GLOW_ERR_NONFINITE).
 * Batches: consecutive images of the training set from 0 (no shuffling needed
 * for 6400 of 60000 images); dequantisation noise rng {seed, DEQUANT, step}. */
#include <math.h>
#include <stdlib.h>

#include "glow/data.h"
#include "model_test_util.h"

enum { STEPS = 200, BATCH = 32, WINDOW_FIRST = 175 };

static void test_fashion_mnist_training(void **state)
{
    (void)state;
    glow_dataset ds;
    TU_OK(glow_dataset_load("fashion-mnist", NULL, 1, &ds));
    assert_int_equal(ds.h, 32);
    assert_int_equal(ds.c, 1);
    assert_true(ds.count >= STEPS * BATCH);

    glow_backend *be = tu_open_cpu();
    glow_model *m = mt_create(be, 1, 32, 32, 2, 4, 32, BATCH, 2024);
    glow_train_options opt = {{GLOW_OPT_ADAM, 1e-3f, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, GLOW_MEMORY_STORE};
    const size_t image = (size_t)ds.h * ds.w * ds.c;
    float bpd[STEPS];
    for (int s = 0; s < STEPS; s++) {
        glow_rng rng = {2024, GLOW_STREAM_DEQUANT, (uint32_t)s, 0};
        opt.adam.step = s + 1;
        TU_OK(glow_model_train_step(m, ds.pixels + (size_t)s * BATCH * image, BATCH, rng, &opt, &bpd[s]));
        assert_true(isfinite(bpd[s]));
        if (s % 25 == 0 || s == STEPS - 1)
            print_message("step %3d: bpd %.4f\n", s + 1, (double)bpd[s]);
    }
    assert_true(glow_model_actnorm_initialized(m));
    double late = 0.0;
    for (int s = WINDOW_FIRST - 1; s < STEPS; s++)
        late += bpd[s];
    late /= STEPS - (WINDOW_FIRST - 1);
    print_message("first step %.4f bpd, mean of steps %d..%d %.4f bpd (drop %.4f)\n", (double)bpd[0], WINDOW_FIRST,
                  STEPS, late, bpd[0] - late);
    assert_true(late <= bpd[0] - 1.5);

    glow_model_destroy(m);
    glow_backend_close(be);
    glow_dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fashion_mnist_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
