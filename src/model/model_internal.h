/* Internal state of the Glow model (see glow/model.h for the maths).
 *
 * Geometry: the input (N, H, W, C) is squeezed to level 0's shape
 * (N, H/2, W/2, 4C). Level l has shape (H_l, W_l, C_l) per sample; after a
 * level that is not the last, the first half of the channels is kept and
 * squeezed: H_{l+1} = H_l / 2, W_{l+1} = W_l / 2, C_{l+1} = 2 C_l, so the
 * element count S_l = N H_l W_l C_l halves from level to level (S_0 = N D).
 *
 * Buffers (all sized for max_batch; views take the batch of the call):
 *   arena[4]       parameters, gradients, Adam m, Adam v (one glow_param_table layout)
 *   weights        per flow step W and W^-1 of the LU 1x1 conv, (C_l,1,1,C_l) each
 *   io             pixels (uint8), x0 (N,H,W,C), logp (N), ld (N), sumsq (1)
 *   levels         per level: out_l, kept_l, z_l, hp_l (prior of z_l); top: zeros, htop
 *   grads          backward scratch at level-0 size (gA, gB, gC, dh, dh1, dh2, dxa, dkept, dhp, dW)
 *   store          GLOW_MEMORY_STORE: every step's activations, one buffer per step
 *   rev            GLOW_MEMORY_REVERSIBLE: one step's activations plus two ping-pong tensors
 * A flow step with input x and output y keeps: a = actnorm(x), b = W a,
 * xa = b[..][0, Ca), h1 = relu(conv3x3(xa)), h2 = relu(conv1x1(h1)),
 * h = zeroconv(h2) (shift, raw), y = coupling(b, h). */
#ifndef GLOW_MODEL_INTERNAL_H
#define GLOW_MODEL_INTERNAL_H

#include "glow/model.h"
#include "glow/ops.h"

typedef struct {
    int h, w, c; /* per-sample flow shape of the level */
    int ca, cb;  /* coupling halves: conditioning [0, ca), transformed [ca, c) */
} model_level;

/* Indices into the parameter table for one flow step. */
typedef struct {
    int an_bias, an_logs;
    int lu_lower, lu_upper, lu_log_s, lu_sign, lu_perm;
    int c1_w, c1_b, c2_w, c2_b;
    int zc_w, zc_b, zc_logs;
    int c1_edge, zc_edge; /* edge-indicator weights (GLOW_PAD_EDGE), else -1 */
} step_params;

/* Indices of a prior's zero-initialised conv. */
typedef struct {
    int w, b, logs;
    int edge; /* edge-indicator weights (GLOW_PAD_EDGE), else -1 */
} prior_params;

/* Element offsets of one flow step's activations inside a buffer. */
typedef struct {
    size_t a, b, y, xa, h1, h2, h;
} step_layout;

/* The tensors of one flow step for a given batch. */
typedef struct {
    glow_tensor x, a, b, y; /* (N,H,W,C) */
    glow_tensor xa;         /* (N,H,W,Ca) */
    glow_tensor h1, h2;     /* (N,H,W,F) */
    glow_tensor h;          /* (N,H,W,2Cb) */
} step_tensors;

typedef struct {
    glow_buffer *buf;
    size_t *out, *kept, *z, *hp; /* per level */
    size_t zeros, htop;          /* top prior input (zeros) and output, at the last level */
} level_buffers;

typedef struct {
    glow_buffer *buf;
    size_t ga, gb, gc, dh, dh1, dh2, dxa, dkept, dhp, dw;
} grad_buffers;

typedef struct {
    glow_buffer **step_buf; /* L*K buffers, one per flow step */
    glow_buffer **input_buf; /* L buffers: each level's input u_l */
    step_layout *layout;    /* per level (same in every step of it) */
} store_buffers;

typedef struct {
    glow_buffer *buf;
    step_layout layout; /* at level-0 size */
    size_t ping[2];     /* step inputs/outputs alternate between these */
} rev_buffers;

/* The class-conditional parts (glow_model_config.n_classes > 0; src/model/model_cond.c).
 * K classes, C = C_{L-1} channels and (Ht, Wt) pixels at the top level:
 *   cond buffer  onehot (N,1,1,K)  the labels set by glow_model_set_labels
 *                e, de (N,1,1,2C)  class term of the top prior and its gradient
 *                hconv (N,Ht,Wt,2C) the top prior's zeroconv output before the class term
 *                mean, dmean (N,1,1,C), dlogits (N,1,1,K)  classifier (class_weight > 0)
 *   io buffer    yloss (N) nats, logits (N,1,1,K), after sumsq (one download with logp, ld). */
typedef struct {
    int n_classes, classifier;
    prior_params prior;      /* top_prior.class.{w,b,logs}: (2C,1,1,K), (1,1,1,2C) x2 */
    prior_params head;       /* classifier.{w,b,logs}: (K,1,1,C), (1,1,1,K) x2 */
    glow_buffer *buf;
    size_t onehot, e, de, hconv, mean, dmean, dlogits;
    size_t yloss, logits;    /* in io */
    int *labels;             /* max_batch: the labels of the batch on the device */
    int labels_batch;        /* batch of those labels (0: none yet) */
    int labels_pending;      /* set and not yet taken by a call */
    glow_class_stats stats;  /* of the last forward with labels */
} model_cond;

struct glow_model {
    glow_backend *be;
    glow_model_config cfg;
    int max_batch;
    size_t d; /* in_c * in_h * in_w */

    glow_param_table table;
    glow_buffer *arena[4]; /* GLOW_ARENA_PARAMS, grads, ADAM_M, ADAM_V (see model_arena_index) */
    model_level *levels;   /* L */
    step_params *steps;    /* L*K, index l*K + k */
    prior_params *priors;  /* L: split priors for l < L-1, the top prior at L-1 */
    int actnorm_done;
    const glow_data_parallel *dp_config; /* glow_model_set_data_parallel */
    const glow_data_parallel *dp;        /* = dp_config during a training step, else NULL */
    long reversible_fallbacks; /* reversible steps redone with stored activations */

    glow_buffer *weights;
    size_t *w_off, *winv_off; /* per step */

    glow_buffer *io;
    size_t x0, logp, ld, sumsq;
    glow_buffer *pixels; /* max_batch * D bytes */

    level_buffers lv;
    grad_buffers gr;
    store_buffers *store; /* allocated on first use */
    rev_buffers *rev;     /* allocated on first use */

    size_t planned_bytes; /* be == NULL (glow_model_memory_need): bytes the buffers would take */
    model_cond cond;      /* class-conditional parts (cond.n_classes == 0: none) */
};

/* Index of the gradient arena in glow_model.arena (the public kinds are 0, 1, 2). */
enum { MODEL_ARENA_GRADS = 3 };

/* ---- model_layout.c: parameter table and initial values ---- */
glow_status model_build_table(glow_model *m);
/* Host array (table.total floats) with the initial parameters drawn from `seed`. */
glow_status model_initial_params(const glow_model *m, uint64_t seed, float *host);

/* ---- model_buffers.c: activation and scratch buffers ---- */
/* glow_buffer_create on m->be; with no backend (a plan only) *out stays NULL
 * and the rounded size is added to m->planned_bytes. */
glow_status model_buffer_create(glow_model *m, size_t bytes, glow_buffer **out, const char *what);
glow_status model_alloc_fixed(glow_model *m);
void model_free_buffers(glow_model *m);
glow_status model_ensure_workspace(glow_model *m, glow_memory_mode mode);
/* The mode whose workspace exists (reversible preferred), allocating a reversible one if none. */
glow_status model_any_workspace(glow_model *m, glow_memory_mode *mode);

/* ---- views ---- */
glow_tensor model_param(const glow_model *m, int arena, int index);
glow_tensor model_level_tensor(glow_buffer *buf, size_t off, int n, const model_level *lv, int c);
/* Step k of level l's tensors in `mode`'s workspace (x and y chained as described above). */
step_tensors model_step_tensors(const glow_model *m, glow_memory_mode mode, int l, int k, int n);
glow_tensor model_weight(const glow_model *m, int step, int inverse);
glow_tensor model_out(const glow_model *m, int l, int n);
glow_tensor model_kept(const glow_model *m, int l, int n);
glow_tensor model_z(const glow_model *m, int l, int n);
glow_tensor model_prior_h(const glow_model *m, int l, int n);
glow_tensor model_top_zeros(const glow_model *m, int n);
glow_tensor model_x0(const glow_model *m, int n);
glow_tensor model_logp(const glow_model *m, int n);
glow_tensor model_ld(const glow_model *m, int n);

/* ---- model_pad.c: the padded 3x3 convs with the model's padding (cfg.pad) ---- */
/* Arguments are parameter indices; edge is the conv's edge-indicator weights, -1 with GLOW_PAD_ZERO.
 * h1 = relu(conv3x3(x, w) + b + edge term): the coupling network's first conv. */
glow_status model_conv1_forward(glow_model *m, glow_tensor x, int w, int b, int edge, glow_tensor y);
/* y = (conv3x3(x, w) + b + edge term) * exp(3 logs): the zero-initialised convs. */
glow_status model_zeroconv_forward(glow_model *m, glow_tensor x, int w, int b, int logs, int edge, glow_tensor y);
/* Backward of model_zeroconv_forward given its output y; dy consumed (scaled in place);
 * dx optional (glow_tensor_none()); parameter gradients accumulated. */
glow_status model_zeroconv_backward(glow_model *m, glow_tensor x, glow_tensor y, glow_tensor dy, glow_tensor dx, int w,
                                    int b, int logs, int edge);

/* ---- model_flow.c: one flow step ---- */
/* a = actnorm(x), b = W a, h = NN(b_a), y = coupling(b, h); ld += the three log-dets.
 * init_actnorm: data-dependent actnorm init on x first. */
glow_status flow_step_forward(glow_model *m, int l, int k, const step_tensors *t, glow_tensor ld, int init_actnorm);
/* From t->y rebuilds h, b, a and x (t->x, a, b, xa, h1, h2, h written). */
/* xa_ready: t->xa already holds y_a; xa_next (optional) receives x_a for the step inverted next. */
glow_status flow_step_inverse(glow_model *m, int l, int k, const step_tensors *t, int xa_ready, glow_tensor xa_next);
/* dy in gr.ga (N,H,W,C) -> dx in gr.ga; parameter gradients accumulated. g = dLoss/dld_n. */
glow_status flow_step_backward(glow_model *m, int l, int k, const step_tensors *t, int n, float g);

/* ---- model_forward.c / model_backward.c: the whole network ---- */
/* LU weights W and W^-1 of every step from the current parameters. */
glow_status model_compute_weights(glow_model *m);
/* x0 (already in the io buffer) -> every level's output and prior; logp and ld filled (= not +=). */
glow_status model_forward(glow_model *m, glow_memory_mode mode, int n, int init_actnorm);
/* Gradients of the batch mean of bpd into the gradient arena (+=); needs model_forward in the same mode. */
glow_status model_backward(glow_model *m, glow_memory_mode mode, int n);
/* Downloads logp and ld and converts to per-sample bpd (NULL: not wanted) and the batch mean. */
glow_status model_read_bpd(glow_model *m, int n, float *bpd, float *logp, float *mean_bpd);
/* One download of the io buffer's logp (n), ld (n) and sumsq (1) floats into *host (to free);
 * *logp, *ld, *sumsq point into it (sumsq may be NULL: not wanted). */
glow_status model_read_sums(glow_model *m, int n, float **host, const float **logp, const float **ld,
                            const float **sumsq);
/* Per-sample bpd_n = (-(logp_n + ld_n) + D n_bits ln 2) / (D ln 2) (bpd, logp_out = logp_n + ld_n:
 * NULL when not wanted) and their mean; GLOW_ERR_NONFINITE when the mean is not finite. */
glow_status model_bpd_from_sums(const glow_model *m, int n, const float *logp, const float *ld, float *bpd,
                                float *logp_out, float *mean_bpd);

/* The per-sample log-det gradient dLoss/dld_n = dLoss/dlogp_n = -1 / (N D ln 2), N = n, or
 * the global batch during a data-parallel step. */
float model_loss_grad(const glow_model *m, int n);

/* ---- model_cond.c: the class-conditional top prior and the classifier ---- */
/* Appends top_prior.class.* and classifier.* to the table (after every other entry). */
glow_status model_cond_build_table(glow_model *m);
/* Reserves yloss and logits in the io buffer being planned (used: its float count so far). */
void model_cond_plan_io(glow_model *m, size_t *used);
glow_status model_cond_alloc(glow_model *m);
void model_cond_free(glow_model *m);
/* A conditional model's calls that run the top prior take the labels set for their batch
 * (GLOW_ERR_INVALID_ARG, naming op, when there are none); no-op when unconditional. */
glow_status model_take_labels(glow_model *m, int n, const char *op);
/* The top prior's h (N,Ht,Wt,2C) into model_prior_h(L-1): zeroconv(zeros), plus the class term. */
glow_status model_top_prior_forward(glow_model *m, int n);
/* Classifier forward on out_{L-1}: logits and yloss (nothing without a classifier). */
glow_status model_classifier_forward(glow_model *m, int n);
/* Backward of the top prior given dhp = dLoss/dh_top (consumed) and of the classifier
 * into dout = dLoss/d out_{L-1} (+=); parameter gradients accumulated. */
glow_status model_top_backward(glow_model *m, int n, glow_tensor dhp, glow_tensor dout);
/* dLoss/dloss_y[n] for the classifier: class_weight / (N ln 2), N the (global) batch. */
float model_class_loss_grad(const glow_model *m, int n);
/* From a host copy of the io buffer from logp on (see model_read_sums, which calls it outside
 * data-parallel steps): the classifier's stats of n samples into m->cond.stats; its mean bits_y. */
double model_cond_read_stats(glow_model *m, int n, const float *io_from_logp);

/* ---- model_data_parallel.c: where a data-parallel step meets the other ranks ---- */
/* The actnorm init of backend.h (population mean and std per channel) over x of every rank:
 * two exchanges of per-channel double sums (of x, then of (x - mean)^2). */
glow_status model_actnorm_init_global(glow_model *m, glow_tensor x, int bias_index, int logs_index);
/* After the backward pass: downloads this rank's gradient arena and its share of the loss,
 * sum(bpd_n) / global_batch over its n samples, sums both over ranks, uploads the summed
 * gradients; *mean_bpd = the global batch's mean bpd. */
glow_status model_sum_gradients(glow_model *m, int n, float *mean_bpd);

#endif
