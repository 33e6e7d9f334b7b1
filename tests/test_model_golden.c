/* The model on the CPU backend against the golden state written by the
 * independent PyTorch implementation tools/reference/glow_reference.py:
 * latents, log-likelihood, bpd, every parameter gradient and the bpd after
 * each of 5 Adam steps (tolerances per tensor in golden_fixture.h). Both
 * memory modes are checked, with zero padding and with --pad edge. */
#include "golden_fixture.h"

static void test_golden_store(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    golden_check(be, GLOW_MEMORY_STORE, "glow_golden.bin");
    glow_backend_close(be);
}

static void test_golden_reversible(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    golden_check(be, GLOW_MEMORY_REVERSIBLE, "glow_golden.bin");
    glow_backend_close(be);
}

/* The model with --pad edge (edge-indicator channel in every padded 3x3 conv) against
 * tests/data/glow_golden_edge.bin, where the reference pads and convolves as openai/glow. */
static void test_golden_edge(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    golden_check(be, GLOW_MEMORY_STORE, "glow_golden_edge.bin");
    golden_check(be, GLOW_MEMORY_REVERSIBLE, "glow_golden_edge.bin");
    glow_backend_close(be);
}

/* The class-conditional model (tests/data/glow_golden_cond.bin): the per-class term of the
 * top prior and the classifier's loss, in the gradients and the Adam steps too. */
static void test_golden_conditional(void **state)
{
    (void)state;
    glow_backend *be = tu_open_cpu();
    golden_check(be, GLOW_MEMORY_STORE, "glow_golden_cond.bin");
    golden_check(be, GLOW_MEMORY_REVERSIBLE, "glow_golden_cond.bin");
    glow_backend_close(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_store),
        cmocka_unit_test(test_golden_reversible),
        cmocka_unit_test(test_golden_edge),
        cmocka_unit_test(test_golden_conditional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
