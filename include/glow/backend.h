/* The backend interface: a C struct of function pointers plus its context.
 *
 * Callers use the glow_* functions declared in glow/ops.h, which validate
 * shapes and bounds and then call the backend's entry. A backend's entries may
 * therefore assume valid arguments (shapes consistent, tensors inside their
 * buffers, optional operands either absent (buf == NULL) or valid).
 *
 * Execution model: ops are executed in program order. A backend may record
 * them and run them later (Vulkan records a whole training step into one
 * command buffer); upload is ordered after all earlier ops, download and sync
 * wait for all earlier ops. Every backward op ACCUMULATES (+=) into its input
 * and parameter gradients, so callers zero gradient buffers first.
 *
 * Notation below: N,H,W,C the NHWC shape of x; "pixel" p = (n, y, x);
 * P = N*H*W pixels; ld is a per-sample vector of N log-determinants, logp a
 * per-sample vector of N log-densities. */
#ifndef GLOW_BACKEND_H
#define GLOW_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "glow/rng.h"
#include "glow/status.h"
#include "glow/tensor.h"

typedef enum {
    GLOW_DEVICE_CPU,
    GLOW_DEVICE_DISCRETE_GPU,
    GLOW_DEVICE_INTEGRATED_GPU,
    GLOW_DEVICE_VIRTUAL_GPU,
    GLOW_DEVICE_OTHER,
} glow_device_type;

const char *glow_device_type_name(glow_device_type t);

typedef struct {
    char backend[16];      /* "ref", "cpu", "vulkan", "cuda" */
    char name[256];
    char vendor[64];
    char driver[128];      /* driver name and version */
    char api_version[32];  /* e.g. Vulkan "1.3.230", CUDA "12.4" */
    glow_device_type type;
    uint64_t memory_bytes; /* device-local memory (host RAM for cpu) */
    char details[1024];    /* further lines for `glow-vk devices` (heaps, subgroup size, fp16, ...) */
} glow_device_info;

typedef enum { GLOW_OPT_ADAM = 0, GLOW_OPT_ADAMAX = 1 } glow_optimizer;

/* Hyper-parameters of one optimiser step over a flat arena. */
typedef struct {
    glow_optimizer kind;
    float lr;            /* learning rate of this step (warm-up is the caller's) */
    float beta1, beta2;  /* 0.9, 0.999 */
    float eps;           /* 1e-8 */
    int step;            /* 1-based step number t, for bias correction */
    float max_grad_norm; /* > 0: scale g by min(1, max_grad_norm / (sqrt(sumsq) + 1e-6)); 0: no clipping */
} glow_adam_params;

typedef struct glow_backend_ops {
    void (*destroy)(glow_backend *be);

    /* ---- memory ---------------------------------------------------------- */
    /* Allocate `bytes` (rounded up to a multiple of 16 by the core) of device memory. */
    glow_status (*buffer_alloc)(glow_backend *be, size_t bytes, void **impl);
    void (*buffer_free)(glow_backend *be, void *impl);
    glow_status (*upload)(glow_backend *be, glow_buffer *dst, size_t dst_byte_off, const void *src, size_t bytes);
    glow_status (*download)(glow_backend *be, const glow_buffer *src, size_t src_byte_off, void *dst, size_t bytes);
    /* Run everything recorded so far and wait for it. */
    glow_status (*sync)(glow_backend *be);
    /* Bytes of device memory held now and at most so far (for benchmarks). */
    void (*memory_usage)(glow_backend *be, size_t *current, size_t *peak);

    /* ---- elementwise and data movement ----------------------------------- */
    /* t[i] = value for every element of t. */
    glow_status (*fill)(glow_backend *be, glow_tensor t, float value);
    /* For every pixel p (src and dst have the same N,H,W):
     *   dst[p][dst_c0 + k] (= or +=) src[p][src_c0 + k],  0 <= k < count.
     * Covers split, concat, copy and gradient accumulation. src and dst do not overlap. */
    glow_status (*copy_channels)(glow_backend *be, glow_tensor src, int src_c0, glow_tensor dst, int dst_c0,
                                 int count, int accumulate);
    /* 2x2 space-to-depth. x: (N,H,W,C), y: (N,H/2,W/2,4C),
     *   y[n][i][j][c*4 + dy*2 + dx] (= or +=) x[n][2i+dy][2j+dx][c]. */
    glow_status (*squeeze)(glow_backend *be, glow_tensor x, glow_tensor y, int accumulate);
    /* Inverse of squeeze. y: (N,H/2,W/2,4C) -> x: (N,H,W,C), (= or +=). */
    glow_status (*unsqueeze)(glow_backend *be, glow_tensor y, glow_tensor x, int accumulate);
    /* In place: dy[i] = y[i] > 0 ? dy[i] : 0 (backward of a fused ReLU whose output is y). */
    glow_status (*relu_backward)(glow_backend *be, glow_tensor y, glow_tensor dy);
    /* t[i] += value. */
    glow_status (*add_scalar)(glow_backend *be, glow_tensor t, float value);
    /* ld[n] += scale * sum_i v[i]   (v a parameter vector; ld has N = ld.c elements, shape (1,1,1,N)).
     * Used for the log-determinants H*W*sum(logs) of actnorm and H*W*sum(log_s) of the 1x1 conv. */
    glow_status (*logdet_sum)(glow_backend *be, glow_tensor v, float scale, glow_tensor ld);

    /* ---- actnorm: y = (x + bias[c]) * exp(logs[c]) ------------------------ */
    /* bias, logs: (1,1,1,C). y may alias x. */
    glow_status (*actnorm_forward)(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs, glow_tensor y);
    /* x = y * exp(-logs[c]) - bias[c]. x may alias y. */
    glow_status (*actnorm_inverse)(glow_backend *be, glow_tensor y, glow_tensor bias, glow_tensor logs, glow_tensor x);
    /* With y = (x + b) e^logs recomputed from x:
     *   dx += dy * e^logs;  dbias[c] += sum_p dy * e^logs;  dlogs[c] += sum_p dy * y.
     * (The log-det term is added separately with add_scalar.) */
    glow_status (*actnorm_backward)(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor bias,
                                    glow_tensor logs, glow_tensor dx, glow_tensor dbias, glow_tensor dlogs);
    /* Data-dependent init from a batch: per channel over all P pixels,
     *   mean_c = mean(x), std_c = sqrt(mean((x - mean_c)^2)) (population),
     *   bias[c] = -mean_c, logs[c] = -log(std_c + 1e-6).   (= , not +=) */
    glow_status (*actnorm_init)(glow_backend *be, glow_tensor x, glow_tensor bias, glow_tensor logs);

    /* ---- LU-parametrised invertible 1x1 convolution ----------------------- */
    /* lower, upper, perm, weight: (C,1,1,C) row-major [row][col]; log_s, sign: (1,1,1,C).
     *   L = strictly_lower(lower) + I,  U = strictly_upper(upper) + diag(sign * exp(log_s)),
     *   W = perm * L * U  (perm a permutation matrix stored densely),
     * inverse == 0: weight = W;  inverse == 1: weight = W^-1 = U^-1 L^-1 perm^T.
     * The conv itself is conv2d_forward with k = 1 and this weight (y_p = W x_p). */
    glow_status (*lu_weight)(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                             glow_tensor sign, glow_tensor perm, glow_tensor weight, int inverse);
    /* Given dW = dLoss/dW (C,1,1,C), accumulate, with A = L, B = U as above:
     *   dA = perm^T dW B^T, dB = A^T perm^T dW,
     *   dlower += strictly_lower(dA), dupper += strictly_upper(dB),
     *   dlog_s[i] += dB[i][i] * sign[i] * exp(log_s[i]).
     * (The log-det term H*W*N*g is added separately with add_scalar.) */
    glow_status (*lu_weight_backward)(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                      glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                      glow_tensor dupper, glow_tensor dlog_s);

    /* ---- 2-D convolution, stride 1, zero padding (k-1)/2, k in {1, 3} ----- */
    /* x: (N,H,W,Ci), w: (Co,k,k,Ci) i.e. w[co][ky][kx][ci], bias: (1,1,1,Co) or absent, y: (N,H,W,Co).
     *   y[n][i][j][co] = act(bias[co] + sum_{ky,kx,ci} w[co][ky][kx][ci] * x[n][i+ky-pad][j+kx-pad][ci])
     * with act = ReLU when relu != 0. Overwrites y. As a GEMM: M = P, N = Co, K = k*k*Ci. */
    glow_status (*conv2d_forward)(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y,
                                  int relu);
    /* dx[n][i][j][ci] += sum_{ky,kx,co} w[co][ky][kx][ci] * dy[n][i-ky+pad][j-kx+pad][co]. */
    glow_status (*conv2d_backward_data)(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx);
    /* dw[co][ky][kx][ci] += sum_p dy[p][co] * x[p + (ky-pad, kx-pad)][ci];  dbias[co] += sum_p dy[p][co]
     * (dbias may be absent). */
    glow_status (*conv2d_backward_weight)(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                          glow_tensor dbias);
    /* Per-channel output scale of the zero-initialised conv, in place: y[p][c] *= exp(factor * logs[c]). */
    glow_status (*channel_scale_forward)(glow_backend *be, glow_tensor y, glow_tensor logs, float factor);
    /* With y the SCALED output: dlogs[c] += factor * sum_p dy[p][c] * y[p][c];
     * then, in place, dy[p][c] *= exp(factor * logs[c]) (now the gradient of the unscaled output). */
    glow_status (*channel_scale_backward)(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs,
                                          float factor, glow_tensor dlogs);

    /* ---- affine coupling --------------------------------------------------
     * x: (N,H,W,C), Ca = C/2 conditioning channels [0, Ca) pass through unchanged,
     * Cb = C - Ca transformed channels [Ca, C). h = NN(x_a): (N,H,W,2*Cb) with
     * h[p][0..Cb) = shift and h[p][Cb..2Cb) = raw, s = sigmoid(raw + 2):
     *   y_a = x_a,  y_b = (x_b + shift) * s,  ld[n] += sum_{p in n, k} log s. */
    glow_status (*coupling_forward)(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor y, glow_tensor ld);
    /* x_a = y_a, x_b = y_b / s - shift. */
    glow_status (*coupling_inverse)(glow_backend *be, glow_tensor y, glow_tensor h, glow_tensor x);
    /* With g = dLoss/dld[n] (the same for every sample):
     *   dx_a += dy_a;  dx_b += dy_b * s;  dshift += dy_b * s;
     *   draw += (dy_b * (x_b + shift) * s + g) * (1 - s). */
    glow_status (*coupling_backward)(glow_backend *be, glow_tensor x, glow_tensor h, glow_tensor dy, float g,
                                     glow_tensor dx, glow_tensor dh);

    /* ---- learned Gaussian prior --------------------------------------------
     * z: (N,H,W,C), h: (N,H,W,2C) with mean = h[..][0..C), logsd = h[..][C..2C):
     *   logp[n] += sum -0.5*log(2 pi) - logsd - 0.5 * (z - mean)^2 * exp(-2 logsd). */
    glow_status (*gaussian_logp)(glow_backend *be, glow_tensor z, glow_tensor h, glow_tensor logp);
    /* With g = dLoss/dlogp[n] (the same for every sample), d = (z - mean) * exp(-2 logsd):
     *   dz += -g d (dz may be absent);  dmean += g d;  dlogsd += g ((z - mean) d - 1). */
    glow_status (*gaussian_logp_backward)(glow_backend *be, glow_tensor z, glow_tensor h, float g, glow_tensor dz,
                                          glow_tensor dh);
    /* z[i] = mean + exp(logsd) * temperature * normal(rng, i), i the flat index in z. */
    glow_status (*gaussian_sample)(glow_backend *be, glow_tensor h, float temperature, glow_rng rng, glow_tensor z);

    /* ---- random numbers and dequantisation -------------------------------- */
    /* out[i] = glow_rng_uniform(rng, i) / glow_rng_normal(rng, i) (see glow/rng.h). */
    glow_status (*rng_uniform)(glow_backend *be, glow_rng rng, glow_tensor out);
    glow_status (*rng_normal)(glow_backend *be, glow_rng rng, glow_tensor out);
    /* pixels: uint8 NHWC in `pixels` starting at byte pixel_off (a multiple of 4), same count as x.
     *   x[i] = floor(pixel[i] / 2^(8-n_bits)) / 2^n_bits - 0.5 + uniform(rng, i) / 2^n_bits. */
    glow_status (*dequantize)(glow_backend *be, const glow_buffer *pixels, size_t pixel_off, int n_bits,
                              glow_rng rng, glow_tensor x);

    /* ---- optimiser over one flat arena ------------------------------------ */
    /* out[0] = sum_i g[i]^2 (overwrites; out has one element). */
    glow_status (*sum_squares)(glow_backend *be, glow_tensor g, glow_tensor out);
    /* One Adam/Adamax step on every element (params, grads, m, v of equal count).
     * sumsq: one element holding sum(g^2) (from sum_squares); required when hp->max_grad_norm > 0,
     * optional otherwise. When given it is a device-side guard: if sumsq[0] is not finite (NaN or
     * +-Inf: a non-finite gradient, or squares overflowing fp32) the step leaves params, m and v
     * unchanged (a training step can then be recorded and submitted whole before the host looks at
     * the loss). Otherwise, with clip = min(1, max_grad_norm / (sqrt(sumsq) + 1e-6)) when
     * max_grad_norm > 0 and clip = 1 when it is 0:
     *   g' = g * clip;  m = b1 m + (1-b1) g'
     *   Adam:   v = b2 v + (1-b2) g'^2;   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
     *   Adamax: v = max(b2 v, |g'|);      p -= lr / (1-b1^t) * m / (v + eps) */
    glow_status (*optimizer_step)(glow_backend *be, glow_tensor params, glow_tensor grads, glow_tensor m,
                                  glow_tensor v, const glow_adam_params *hp, glow_tensor sumsq);
} glow_backend_ops;

struct glow_backend {
    const glow_backend_ops *ops;
    glow_device_info info;
    void *impl;
};

/* ---- registry ---------------------------------------------------------------
 * A factory lists a backend's devices and opens one. A backend that cannot
 * start (no driver, no library, no device) returns GLOW_ERR_UNAVAILABLE with
 * the reason as the error message. */
typedef struct {
    const char *name; /* "ref", "cpu", "vulkan", "cuda" */
    glow_status (*list_devices)(glow_device_info *out, int max, int *count);
    glow_status (*open)(int device, glow_backend **out); /* device < 0: the backend's preferred device */
} glow_backend_factory;

/* The factories compiled in or loadable, in `auto` preference order. */
int glow_backend_factories(const glow_backend_factory **out, int max);

/* Open a backend by name: "auto", "ref", "cpu", "vulkan" or "cuda" (NULL: $GLOW_BACKEND, else "auto").
 * device < 0 picks the backend's preferred device ($GLOW_DEVICE if set).
 * auto: CUDA, then a Vulkan discrete/integrated GPU, then the fast CPU backend
 * (cpu), then Vulkan on any other device (e.g. lavapipe), then the reference (ref). */
glow_status glow_backend_open(const char *name, int device, glow_backend **out);
void glow_backend_close(glow_backend *be);

/* Worker threads of the fast CPU backend ("cpu") opened after this call:
 * n >= 1, or 0 for the default ($GLOW_THREADS when set, else every online core).
 * Results are deterministic for a given count. */
void glow_set_cpu_threads(int n);
int glow_cpu_threads_setting(void);

/* Buffers through the backend, with the core's bookkeeping. */
glow_status glow_buffer_create(glow_backend *be, size_t bytes, glow_buffer **out);
void glow_buffer_destroy(glow_buffer *buf);
glow_status glow_upload(glow_buffer *dst, size_t dst_byte_off, const void *src, size_t bytes);
glow_status glow_download(const glow_buffer *src, size_t src_byte_off, void *dst, size_t bytes);
glow_status glow_sync(glow_backend *be);
/* Convenience: upload/download a tensor's elements (count floats). */
glow_status glow_tensor_upload(glow_tensor t, const float *host);
glow_status glow_tensor_download(glow_tensor t, float *host);

#endif
