/* The multi-scale Glow model on the engine (calls only the backend interface).
 *
 * Input: uint8 images NHWC (in_c x in_h x in_w, MNIST-class images already
 * padded 28 -> 32 with zeros by the data loader). Dequantised to x in
 * [-0.5, 0.5] (see glow_dequantize), then:
 *   squeeze; for level l in 0..L-1: K x (actnorm -> LU 1x1 conv -> affine coupling);
 *     if l < L-1: split (first half kept, second half z_l scored by a prior from
 *     zeroconv(kept)), squeeze;
 *   top prior: zeroconv(zeros) scores the last level's output z_{L-1}.
 * bpd = (-log p(x) + D log 2^n_bits) / (D ln 2), D = C*H*W, p the density of
 * the dequantised input in [-0.5, 0.5].
 *
 * Latents: for encode/decode a sample's latent is the concatenation of its
 * per-level z_l, each flattened NHWC, D floats in all (glow_model_latent_size). */
#ifndef GLOW_MODEL_H
#define GLOW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "glow/backend.h"
#include "glow/params.h"

typedef struct {
    int in_c, in_h, in_w; /* model input, e.g. 1x32x32 or 3x32x32 */
    int levels;           /* L */
    int steps;            /* K, flow steps per level */
    int hidden;           /* F, width of the coupling networks */
    int n_bits;           /* 1..8 */
    int pad;              /* glow_pad_mode of the padded 3x3 convs (0, the zero value, is GLOW_PAD_ZERO) */
    /* Class-conditional model (openai/glow's ycond); both 0: unconditional.
     *   n_classes > 0: the top prior's (mean, logsd) gain a learned per-class term,
     *     h_top += broadcast_HW(linear_zeros(one_hot(y)))     (params top_prior.class.*)
     *   class_weight > 0 (needs n_classes): a classifier on the top latent,
     *     logits = linear_zeros(mean_HW(z_top)), bits_y = CE(logits, y) / ln 2 (params classifier.*),
     *     and the training objective is mean(bpd + class_weight * bits_y).
     * linear_zeros(v) = (W v + b) * exp(3 logs), all zero-initialised (a 1x1 zeroconv). */
    int n_classes;        /* 0..GLOW_MODEL_MAX_CLASSES */
    float class_weight;   /* >= 0 */
} glow_model_config;

/* Padding of every padded 3x3 conv (the coupling networks' first conv and zero conv, the
 * split priors' and the top prior's zero convs):
 *   GLOW_PAD_ZERO  zeros;
 *   GLOW_PAD_EDGE  zeros plus openai/glow's edge indicator: one more input channel, 1 in
 *                  the padded border and 0 inside, with its own weights <conv>.edge (Co,3,3,1)
 *                  (glow_conv2d_edge_forward), so e.g. the top prior can learn a spatial pattern. */
typedef enum { GLOW_PAD_ZERO = 0, GLOW_PAD_EDGE = 1 } glow_pad_mode;

#define GLOW_MODEL_MAX_CLASSES 256

typedef enum { GLOW_MEMORY_STORE = 0, GLOW_MEMORY_REVERSIBLE = 1 } glow_memory_mode;

/* Data parallelism: each of several processes ("ranks") holds a slice of a global batch.
 * A training step then meets the other ranks at two points, through these sums:
 *   - the data-dependent actnorm init (first step): per-channel sums of x and of
 *     (x - mean)^2 over the whole global batch, so the init is the single-process one;
 *   - after the backward pass: the gradient arena and the loss, summed over ranks
 *     before the optimiser step, with dLoss/dlogp_n = -1 / (global_batch D ln 2).
 * sum_* must leave v[i] = the sum over ranks of v[i], identical on every rank. */
typedef struct {
    void *ctx;
    int global_batch; /* samples in one step over all ranks (this rank's batch times the rank count) */
    glow_status (*sum_floats)(void *ctx, float *v, size_t n, const char *what);
    glow_status (*sum_doubles)(void *ctx, double *v, size_t n, const char *what);
} glow_data_parallel;

typedef struct {
    glow_adam_params adam; /* lr and step are set per call by the trainer (warm-up) */
    glow_memory_mode memory;
} glow_train_options;

typedef enum { GLOW_ARENA_PARAMS = 0, GLOW_ARENA_ADAM_M = 1, GLOW_ARENA_ADAM_V = 2 } glow_arena_kind;

typedef struct glow_model glow_model;

/* Validates the configuration (e.g. in_h, in_w divisible by 2^L) with a clear
 * message, builds the parameter table and arenas on `be` for batches up to
 * max_batch, and initialises parameters (LU from a random orthogonal matrix
 * drawn from `seed`; zeroconvs to zero; actnorm not yet initialised). */
glow_status glow_model_create(glow_backend *be, const glow_model_config *cfg, uint64_t seed, int max_batch,
                              glow_model **out);
void glow_model_destroy(glow_model *m);

/* Device memory a model of `cfg` takes when trained in batches of up to
 * max_batch with activations kept as `mode`, computed from the same buffer
 * plan glow_model_create and the first training step allocate (each buffer
 * rounded up to 16 bytes) without allocating anything:
 *   arenas    = 4 x (parameter count) floats: parameters, gradients, Adam m and v
 *   fixed     = weights, input, level outputs and backward scratch
 *   workspace = stored activations of every step (store) or one step's (reversible)
 * A backend's own scratch and alignment come on top, so this is a lower bound. */
typedef struct {
    size_t arenas, fixed, workspace, total;
} glow_model_memory;
glow_status glow_model_memory_need(const glow_model_config *cfg, int max_batch, glow_memory_mode mode,
                                   glow_model_memory *out);

const glow_model_config *glow_model_get_config(const glow_model *m);
const glow_param_table *glow_model_param_table(const glow_model *m);
size_t glow_model_param_count(const glow_model *m); /* trainable scalars */
size_t glow_model_latent_size(const glow_model *m); /* D = in_c*in_h*in_w */

/* Training steps in reversible mode whose rebuilt activations were not finite
 * and that were therefore recomputed with stored activations (see
 * glow_model_train_step). */
long glow_model_reversible_fallbacks(const glow_model *m);

/* Whether the data-dependent actnorm init has run (part of a checkpoint). */
int glow_model_actnorm_initialized(const glow_model *m);
void glow_model_set_actnorm_initialized(glow_model *m, int done);

/* Host copies of an arena (table->total floats), for checkpoints. */
glow_status glow_model_arena_download(glow_model *m, glow_arena_kind kind, float *host);
glow_status glow_model_arena_upload(glow_model *m, glow_arena_kind kind, const float *host);

/* Exact log-likelihood: bpd per sample of a batch of uint8 images
 * (batch x in_h x in_w x in_c), dequantised with noise from `rng`. */
glow_status glow_model_eval_bpd(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng, float *bpd);

/* One training step: actnorm init on the first call if not yet done, forward,
 * backward of the batch-mean bpd, optimiser update, recorded as one sequence and
 * submitted once; the host reads back only logp, ld and the gradient's sum of squares.
 * *mean_bpd receives the batch-mean bpd before the update. opt->adam.lr and
 * opt->adam.step are used as given; so is rng (trainers pass {seed, GLOW_STREAM_DEQUANT,
 * step}). GLOW_ERR_NONFINITE when the loss or the gradient is not finite: a non-finite
 * gradient (what a NaN/Inf loss normally gives) skips the update on the device, so the
 * parameters and optimiser state are unchanged; a non-finite loss with finite gradients
 * has already been applied, so a trainer must stop without saving (glow-vk train does).
 * After glow_model_set_data_parallel the step is this rank's share of a data-parallel
 * step: *mean_bpd is the global batch's mean and every rank applies the same summed gradient. */
glow_status glow_model_train_step(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng,
                                  const glow_train_options *opt, float *mean_bpd);

/* Makes glow_model_train_step a data-parallel step (dp is kept, not copied; NULL: one
 * process holds the whole batch, the default). Other calls are not affected. */
void glow_model_set_data_parallel(glow_model *m, const glow_data_parallel *dp);

/* The same step from an already dequantised input x (batch x in_h x in_w x in_c floats in
 * [-0.5, 0.5]); for tests and the golden fixture. */
glow_status glow_model_train_step_from_x(glow_model *m, const float *x, int batch, const glow_train_options *opt,
                                         float *mean_bpd);

/* Gradients of the batch-mean bpd w.r.t. every parameter into a host array
 * (table->total floats) without updating; for tests. */
glow_status glow_model_gradients(glow_model *m, const uint8_t *pixels, int batch, glow_rng rng,
                                 glow_memory_mode memory, float *mean_bpd, float *grads_host);

/* Same, but from an already dequantised input x (batch x in_h x in_w x in_c floats in
 * [-0.5, 0.5]); also returns per-sample log p(x) if logp != NULL. For tests and the golden fixture. */
glow_status glow_model_gradients_from_x(glow_model *m, const float *x, int batch, glow_memory_mode memory,
                                        float *mean_bpd, float *logp, float *grads_host);

/* x (batch x D, model space [-0.5, 0.5]) -> latents (batch x D) and per-sample log p(x). */
glow_status glow_model_encode(glow_model *m, const float *x, int batch, float *z, float *logp);
/* latents (batch x D) -> x (batch x D). */
glow_status glow_model_decode(glow_model *m, const float *z, int batch, float *x);
/* Sample at temperature T: z_l = mean_l + exp(logsd_l) * T * eps at every level, decoded to x. */
glow_status glow_model_sample(glow_model *m, int batch, float temperature, glow_rng rng, float *x);

/* Class labels (0 <= labels[i] < n_classes) of the batch of the next call on a conditional
 * model (n_classes > 0). Every call that runs the top prior (eval_bpd, train_step,
 * gradients, encode, sample; with or without _from_x) takes them: it refuses to run
 * unless labels for exactly its batch were set since the previous such call, so stale
 * labels are never used. decode needs none. Unconditional models refuse labels. */
glow_status glow_model_set_labels(glow_model *m, const int *labels, int batch);

/* The classifier's figures over the batch of the last call that ran the forward pass
 * with labels (a data-parallel training step: over the global batch): mean bits_y =
 * CE / ln 2 and the count of samples whose argmax logit is their label. GLOW_ERR_INVALID_ARG
 * when the model has no classifier (class_weight 0). */
typedef struct {
    double bits_y;  /* mean over the batch */
    int correct;    /* argmax logit == label */
    int count;      /* samples */
} glow_class_stats;
glow_status glow_model_class_stats(const glow_model *m, glow_class_stats *out);

/* Model-space value in [-0.5, 0.5] to an 8-bit pixel, honouring n_bits. */
uint8_t glow_model_to_pixel(const glow_model *m, float x);

#endif
