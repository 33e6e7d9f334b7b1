/* The CUDA backend's step graphs (backends/cuda/cuda_step.h) on a real device.
 * Without a CUDA device the suite prints why and exits 77 (meson: SKIP), which
 * GLOW_TEST_STRICT=1 allows; GLOW_TEST_REQUIRE=cuda (tools/gpu-check.sh) makes a
 * missing device a failure.
 *
 * Eight Adam steps of a small model, with the learning rate changing every step
 * (warm-up) and the noise counter too, once with graphs off ($GLOW_CUDA_GRAPH=0:
 * every op launched as it comes) and once with graphs; at step 6 the gradient
 * clipping is switched on, which keeps the model's step key but changes the
 * optimiser op's signature. For each memory mode:
 *   - parameters, Adam moments and every step's loss are bit-identical (the graph
 *     reads the per-step values from its slots, computed as the eager launch's);
 *   - the counters follow the design: step 1 (actnorm init) and step 2 (first
 *     sighting) eager; step 3 captured and launched; 4, 5 replayed; step 6's replay
 *     refused (signature) and rerun eagerly; step 7 captured anew; 8 replayed:
 *     2 captures, 1 refused replay, 5 graph launches, 2 eager steps;
 *   - a replayed step launches exactly one graph and no kernel one by one;
 *   - no device memory is allocated after step 3 (current and peak unchanged);
 *   - with graphs off: no graph launch, 8 eager steps. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glow/cuda.h"
#include "glow/model.h"

enum { STEPS = 8, BATCH = 4 };

typedef struct {
    float *params, *m, *v;
    float bpd[STEPS];
    glow_cuda_counts counts;
    glow_cuda_counts per_step[STEPS]; /* counters after each step */
    size_t current[STEPS], peak[STEPS];
    size_t total;
} run_result;

static void free_result(run_result *r)
{
    free(r->params);
    free(r->m);
    free(r->v);
}

static void train(int graphs, glow_memory_mode memory, run_result *out)
{
    memset(out, 0, sizeof *out);
    if (graphs)
        unsetenv("GLOW_CUDA_GRAPH");
    else
        setenv("GLOW_CUDA_GRAPH", "0", 1);
    glow_backend *be = NULL;
    TU_OK(glow_backend_open("cuda", -1, &be));
    unsetenv("GLOW_CUDA_GRAPH");
    const glow_model_config cfg = {1, 16, 16, 2, 2, 16, 5, GLOW_PAD_ZERO, 0, 0.0f};
    glow_model *m = NULL;
    TU_OK(glow_model_create(be, &cfg, 7, BATCH, &m));
    const size_t count = (size_t)BATCH * 16 * 16;
    uint8_t *pixels = malloc(count);
    assert_non_null(pixels);
    glow_train_options opt = {{GLOW_OPT_ADAM, 0.0f, 0.9f, 0.999f, 1e-8f, 1, 0.0f}, memory};
    for (int s = 0; s < STEPS; s++) {
        for (size_t i = 0; i < count; i++)
            pixels[i] = (uint8_t)(((uint32_t)(i + 977 * s) * 2654435761u) >> 24);
        glow_rng rng = {3, GLOW_STREAM_DEQUANT, (uint32_t)s + 1, 0};
        opt.adam.step = s + 1;
        opt.adam.lr = 1e-3f * (float)(s + 1) / STEPS; /* a warm-up: lr changes every step */
        opt.adam.max_grad_norm = s >= 5 ? 50.0f : 0.0f; /* step 6 on: same key, another signature */
        TU_OK(glow_model_train_step(m, pixels, BATCH, rng, &opt, &out->bpd[s]));
        assert_int_equal(glow_cuda_launch_counts(be, &out->per_step[s]), 1);
        be->ops->memory_usage(be, &out->current[s], &out->peak[s]);
    }
    out->counts = out->per_step[STEPS - 1];
    out->total = glow_model_param_table(m)->total;
    out->params = malloc(out->total * sizeof(float));
    out->m = malloc(out->total * sizeof(float));
    out->v = malloc(out->total * sizeof(float));
    assert_non_null(out->params);
    assert_non_null(out->m);
    assert_non_null(out->v);
    TU_OK(glow_model_arena_download(m, GLOW_ARENA_PARAMS, out->params));
    TU_OK(glow_model_arena_download(m, GLOW_ARENA_ADAM_M, out->m));
    TU_OK(glow_model_arena_download(m, GLOW_ARENA_ADAM_V, out->v));
    free(pixels);
    glow_model_destroy(m);
    glow_backend_close(be);
}

static void print_counts(const char *what, const glow_cuda_counts *c)
{
    print_message("%s: kernels one by one %llu, graph launches %llu (kernels in them %llu), captures %llu, "
                  "capture failures %llu, replay failures %llu, eager steps %llu\n",
                  what, (unsigned long long)c->kernel_launches, (unsigned long long)c->graph_launches,
                  (unsigned long long)c->graph_kernels, (unsigned long long)c->captures,
                  (unsigned long long)c->capture_failures, (unsigned long long)c->replay_failures,
                  (unsigned long long)c->eager_steps);
}

static void check_mode(glow_memory_mode memory)
{
    const char *mode = memory == GLOW_MEMORY_STORE ? "store" : "reversible";
    run_result eager, graph;
    train(0, memory, &eager);
    train(1, memory, &graph);
    print_counts(memory == GLOW_MEMORY_STORE ? "store, graphs off" : "reversible, graphs off", &eager.counts);
    print_counts(memory == GLOW_MEMORY_STORE ? "store, graphs on " : "reversible, graphs on ", &graph.counts);

    assert_int_equal(eager.total, graph.total);
    for (int s = 0; s < STEPS; s++)
        if (memcmp(&eager.bpd[s], &graph.bpd[s], sizeof(float)) != 0)
            fail_msg("%s: step %d loss %.9g with graphs, %.9g without", mode, s + 1, graph.bpd[s], eager.bpd[s]);
    const float *a[3] = {eager.params, eager.m, eager.v}, *b[3] = {graph.params, graph.m, graph.v};
    static const char *const arena[3] = {"parameters", "Adam m", "Adam v"};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < eager.total; i++)
            if (memcmp(&a[k][i], &b[k][i], sizeof(float)) != 0)
                fail_msg("%s: %s[%zu] after %d steps: %.9g with graphs, %.9g without", mode, arena[k], i, STEPS,
                         b[k][i], a[k][i]);

    /* graphs off */
    assert_int_equal(eager.counts.graph_launches, 0);
    assert_int_equal(eager.counts.captures, 0);
    assert_int_equal(eager.counts.eager_steps, STEPS);
    assert_true(eager.counts.kernel_launches > 0);
    /* graphs on: the sequence of the design (see the top of this file) */
    assert_int_equal(graph.counts.captures, 2);
    assert_int_equal(graph.counts.capture_failures, 0);
    assert_int_equal(graph.counts.replay_failures, 1);
    assert_int_equal(graph.counts.graph_launches, 5);
    assert_int_equal(graph.counts.eager_steps, 2);
    const int replayed[3] = {3, 4, 7}; /* 0-based steps 4, 5 and 8 */
    for (int i = 0; i < 3; i++) {
        const glow_cuda_counts *before = &graph.per_step[replayed[i] - 1], *after = &graph.per_step[replayed[i]];
        unsigned long long kernels = after->kernel_launches - before->kernel_launches;
        unsigned long long launches = after->graph_launches - before->graph_launches;
        unsigned long long inside = after->graph_kernels - before->graph_kernels;
        print_message("%s: step %d: %llu graph launch(es) of %llu kernels, %llu kernels one by one\n", mode,
                      replayed[i] + 1, launches, inside, kernels);
        if (kernels != 0 || launches != 1)
            fail_msg("%s: replayed step %d launched %llu kernels one by one and %llu graphs (want 0 and 1)", mode,
                     replayed[i] + 1, kernels, launches);
        /* the graph holds what an eager step launches */
        unsigned long long eager_kernels = eager.per_step[replayed[i]].kernel_launches -
                                           eager.per_step[replayed[i] - 1].kernel_launches;
        assert_int_equal(inside, eager_kernels);
    }
    for (int s = 3; s < STEPS; s++)
        if (graph.current[s] != graph.current[2] || graph.peak[s] != graph.peak[2])
            fail_msg("%s: device memory changed after step 3: step %d holds %zu (peak %zu), step 3 %zu (peak %zu)",
                     mode, s + 1, graph.current[s], graph.peak[s], graph.current[2], graph.peak[2]);
    free_result(&eager);
    free_result(&graph);
}

static void test_graph_equals_eager_store(void **state)
{
    (void)state;
    check_mode(GLOW_MEMORY_STORE);
}

static void test_graph_equals_eager_reversible(void **state)
{
    (void)state;
    check_mode(GLOW_MEMORY_REVERSIBLE);
}

int main(void)
{
    /* No CUDA here: a skip (fails when GLOW_TEST_REQUIRE names cuda, or CUDA is present but broken). */
    int status = tu_suite_backend_or_skip("cuda");
    if (status >= 0)
        return status;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_equals_eager_store),
        cmocka_unit_test(test_graph_equals_eager_reversible),
    };
    return tu_exit_status(cmocka_run_group_tests(tests, NULL, NULL));
}
