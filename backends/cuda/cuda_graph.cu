/* CUDA backend: step graphs (the design is in cuda_step.h). */
#include "cuda_host.h"

#include <stdlib.h>
#include <string.h>

/* Empties an entry completely (its key is replaced). */
static void release_graph(cu_step_graph *g)
{
    if (g->exec)
        cudaGraphExecDestroy(g->exec);
    free(g->sig);
    memset(g, 0, sizeof *g);
}

/* The executable graphs and their signatures go; what is known about each key (its
 * sightings, failures) stays, so the next sighting captures it again. s->cur stays
 * valid: a step open now finds its entry without a graph and falls back at its end. */
void cu_step_drop_graphs(glow_backend *be)
{
    cu_step *s = &cu_state(be)->step;
    int any = 0;
    for (int i = 0; i < CU_STEP_GRAPHS; i++)
        any |= s->graphs[i].exec != NULL;
    if (any && s->mode != CU_STEP_CAPTURE)
        (void)cudaStreamSynchronize(cu_state(be)->stream); /* no launch of them is pending */
    for (int i = 0; i < CU_STEP_GRAPHS; i++) {
        cu_step_graph *g = &s->graphs[i];
        if (g->exec)
            cudaGraphExecDestroy(g->exec);
        g->exec = NULL;
        g->ops = 0;
        if (s->mode == CU_STEP_REPLAY && g == s->cur)
            s->broken = 1; /* its graph is gone */
    }
}

void cu_step_release_all(glow_backend *be)
{
    cu_step *s = &cu_state(be)->step;
    for (int i = 0; i < CU_STEP_GRAPHS; i++)
        release_graph(&s->graphs[i]);
    s->cur = NULL;
}

/* The entry of `key`, or the least recently used one, emptied for it (after the
 * stream has finished any launch of its graph). */
static cu_step_graph *entry_for(cu_step *s, cudaStream_t stream, uint64_t key)
{
    cu_step_graph *lru = &s->graphs[0];
    for (int i = 0; i < CU_STEP_GRAPHS; i++) {
        cu_step_graph *g = &s->graphs[i];
        if (g->sightings > 0 && g->key == key)
            return g;
        if (g->sightings == 0 || g->last_use < lru->last_use)
            lru = g;
    }
    if (lru->exec)
        (void)cudaStreamSynchronize(stream);
    release_graph(lru);
    lru->key = key;
    return lru;
}

/* Waits until the last graph launch has read the pinned slots (they are rewritten next). */
static glow_status slots_free(glow_backend *be)
{
    cudaError_t e = cudaEventSynchronize(cu_state(be)->step.launched);
    return e == cudaSuccess ? GLOW_OK : cu_runtime_failed("step_begin: waiting for the previous step graph", e);
}

glow_status cu_step_begin(glow_backend *be, uint64_t key)
{
    cuda_state *st = cu_state(be);
    cu_step *s = &st->step;
    if (s->mode != CU_STEP_OFF)
        return cu_error(GLOW_ERR_INVALID_ARG, "cuda step_begin: a step is already open");
    s->broken = 0;
    s->op_index = 0;
    s->slot_index = 0;
    s->rng_slot = s->adam_slot = NULL;
    s->cur = NULL;
    if (!s->graphs_enabled) {
        s->mode = CU_STEP_EAGER_IN_STEP;
        return GLOW_OK;
    }
    cu_step_graph *g = entry_for(s, st->stream, key);
    g->sightings++;
    g->last_use = ++s->use_clock;
    s->cur = g;
    if (g->exec) {
        GLOW_TRY(slots_free(be));
        s->mode = CU_STEP_REPLAY;
        return GLOW_OK;
    }
    if (g->eager_only || g->sightings < 2) {
        s->mode = CU_STEP_EAGER_IN_STEP; /* the first time: learns the scratch size, allocates what it needs */
        return GLOW_OK;
    }
    GLOW_TRY(slots_free(be));
    g->ops = 0;
    s->kernels_captured = 0;
    cudaError_t e = cudaStreamBeginCapture(st->stream, cudaStreamCaptureModeThreadLocal);
    if (e == cudaSuccess) {
        /* The graph's first node: this step's dynamic arguments, from the pinned slots. */
        e = cudaMemcpyAsync(s->device, s->pinned, CU_STEP_SLOTS * sizeof(cu_dyn_slot), cudaMemcpyHostToDevice,
                            st->stream);
        if (e != cudaSuccess) {
            cudaGraph_t graph = NULL;
            cudaStreamEndCapture(st->stream, &graph);
            if (graph)
                cudaGraphDestroy(graph);
        }
    }
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        g->eager_only = 1;
        s->counts.capture_failures++;
        s->mode = CU_STEP_EAGER_IN_STEP;
        return GLOW_OK;
    }
    s->mode = CU_STEP_CAPTURE;
    return GLOW_OK;
}

int cu_step_op(glow_backend *be, uint64_t sig)
{
    cu_step *s = &cu_state(be)->step;
    cu_step_graph *g = s->cur;
    if (s->mode == CU_STEP_CAPTURE) {
        if (g->ops == g->sig_cap) {
            size_t cap = g->sig_cap ? 2 * g->sig_cap : 1024;
            uint64_t *grown = (uint64_t *)realloc(g->sig, cap * sizeof *grown);
            if (grown == NULL) {
                s->broken = 1;
                return 0;
            }
            g->sig = grown;
            g->sig_cap = cap;
        }
        g->sig[g->ops++] = sig;
        return 1;
    }
    /* REPLAY */
    if (s->op_index >= g->ops || g->sig[s->op_index] != sig)
        s->broken = 1;
    s->op_index++;
    return 0;
}

glow_status cu_step_core_refused(glow_backend *be, const char *entry)
{
    cu_state(be)->step.broken = 1;
    return cu_error(GLOW_ERR_BACKEND,
                    "cuda: %s inside a captured step (between glow_step_begin and glow_step_end) is not supported",
                    entry);
}

static glow_status launch_graph(glow_backend *be, cu_step_graph *g)
{
    cuda_state *st = cu_state(be);
    cudaError_t e = cudaGraphLaunch(g->exec, st->stream);
    if (e == cudaSuccess)
        e = cudaEventRecord(st->step.launched, st->stream);
    if (e != cudaSuccess)
        return cu_runtime_failed("step graph launch", e);
    st->step.counts.graph_launches++;
    st->step.counts.graph_kernels += g->kernels;
    return GLOW_OK;
}

/* A capture or replay that did not work: nothing of the step ran, the caller records it again. */
static void fall_back(cu_step *s, cu_step_graph *g, int *rerun, int capture)
{
    (void)cudaGetLastError();
    if (capture)
        s->counts.capture_failures++;
    else
        s->counts.replay_failures++;
    if (capture || ++g->failures >= 2)
        g->eager_only = 1;
    if (g->exec) {
        cudaGraphExecDestroy(g->exec);
        g->exec = NULL;
    }
    g->ops = 0;
    *rerun = 1;
}

glow_status cu_step_end(glow_backend *be, int *rerun)
{
    cuda_state *st = cu_state(be);
    cu_step *s = &st->step;
    cu_step_graph *g = s->cur;
    const int mode = s->mode;
    *rerun = 0;
    s->mode = CU_STEP_OFF;
    s->rng_slot = s->adam_slot = NULL;
    if (mode == CU_STEP_OFF)
        return cu_error(GLOW_ERR_INVALID_ARG, "cuda step_end: no step is open");
    if (mode == CU_STEP_EAGER_IN_STEP) {
        s->counts.eager_steps++;
        return GLOW_OK;
    }
    if (mode == CU_STEP_CAPTURE) {
        cudaGraph_t graph = NULL;
        cudaError_t e = cudaStreamEndCapture(st->stream, &graph);
        cudaGraphExec_t exec = NULL;
        if (e == cudaSuccess && graph != NULL && !s->broken)
            e = cudaGraphInstantiate(&exec, graph, 0);
        if (graph)
            cudaGraphDestroy(graph);
        if (e != cudaSuccess || exec == NULL || s->broken) {
            if (exec)
                cudaGraphExecDestroy(exec);
            fall_back(s, g, rerun, 1);
            return GLOW_OK;
        }
        g->exec = exec;
        g->slots = s->slot_index;
        g->kernels = s->kernels_captured;
        s->counts.captures++;
        return launch_graph(be, g);
    }
    /* REPLAY: every op matched, in number too. */
    if (s->broken || s->op_index != g->ops || s->slot_index != g->slots) {
        fall_back(s, g, rerun, 0);
        return GLOW_OK;
    }
    return launch_graph(be, g);
}
