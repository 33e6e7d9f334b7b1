/* Fast CPU backend: the edge-indicator term of a padded 3x3 conv (openai/glow's
 * edge_bias; semantics in glow/ops.def).
 *   w_edge: (Co,3,3,1) = w_edge[co][ky][kx], y, dy: (N,H,W,Co)
 *   forward   y[n][i][j][co] = act(y + sum_{ky,kx outside at (i,j)} w_edge[co][ky][kx])
 *   backward  dw_edge[co][ky][kx] += sum_{n,i,j: (ky,kx) outside at (i,j)} dy[n][i][j][co]
 * Which taps fall outside depends only on the pixel's border mask
 *   m = top (i = 0) | bottom (i = H-1) << 1 | left (j = 0) << 2 | right (j = W-1) << 3,
 * so the forward precomputes one term row per mask (16 x Co, 0 for interior pixels)
 * and the backward sums dy per mask over the border pixels only, then spreads each
 * mask's sums over its outside taps. Both are cut into parts of whole images
 * (from the shape only); the backward adds per-part partials in part order. */
#include "cpu_internal.h"

#include <stdlib.h>

enum { EDGE_MASKS = 16, EDGE_IMAGES_PER_PART = 8 };

static int border_mask(int i, int j, int H, int W)
{
    return (i == 0) | (i == H - 1) << 1 | (j == 0) << 2 | (j == W - 1) << 3;
}

/* Tap (ky,kx) reads (i+ky-1, j+kx-1): outside when it steps over a border the pixel is on. */
static int tap_outside(int mask, int ky, int kx)
{
    return (ky == 0 && (mask & 1)) || (ky == 2 && (mask & 2)) || (kx == 0 && (mask & 4)) ||
           (kx == 2 && (mask & 8));
}

typedef struct {
    float *y;
    const float *term; /* EDGE_MASKS x Co */
    size_t pixels, grain;
    int H, W, Co, relu;
} edge_fwd_ctx;

static void edge_forward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const edge_fwd_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, k->grain, k->pixels, &b, &e);
    const int Co = k->Co;
    for (size_t q = b; q < e; q++) {
        int j = (int)(q % (size_t)k->W), i = (int)(q / (size_t)k->W % (size_t)k->H);
        int mask = border_mask(i, j, k->H, k->W);
        float *yp = k->y + q * Co;
        if (mask != 0) {
            const float *t = k->term + (size_t)mask * Co;
            for (int c = 0; c < Co; c++)
                yp[c] += t[c];
        }
        if (k->relu)
            for (int c = 0; c < Co; c++)
                yp[c] = yp[c] > 0.0f ? yp[c] : 0.0f;
    }
}

glow_status cpu_conv2d_edge_forward(glow_backend *be, glow_tensor w_edge, glow_tensor y, int relu)
{
    cpu_state *st = cpu_st(be);
    const int Co = y.c;
    const size_t term_floats = (size_t)EDGE_MASKS * Co;
    float *term = cpu_alloc_floats(st, term_floats, "conv2d_edge_forward");
    if (term == NULL)
        return GLOW_ERR_OUT_OF_MEMORY;
    const float *we = cpu_data(w_edge);
    for (int mask = 0; mask < EDGE_MASKS; mask++)
        for (int c = 0; c < Co; c++) {
            double s = 0.0;
            for (int tap = 0; tap < 9; tap++)
                if (tap_outside(mask, tap / 3, tap % 3))
                    s += we[(size_t)c * 9 + tap];
            term[(size_t)mask * Co + c] = (float)s;
        }
    edge_fwd_ctx k = {cpu_data(y), term, glow_tensor_rows(y), cpu_pixel_grain((size_t)Co), y.h, y.w, Co, relu};
    cpu_parallel(be, cpu_parts(k.pixels, k.grain), edge_forward_part, &k);
    cpu_free_floats(st, term, term_floats);
    return GLOW_OK;
}

typedef struct {
    const float *dy;
    double *partial; /* parts x EDGE_MASKS x Co */
    int N, H, W, Co;
} edge_bwd_ctx;

static void add_pixel(const edge_bwd_ctx *k, double *acc, int n, int i, int j)
{
    const int Co = k->Co;
    const float *g = k->dy + (((size_t)n * k->H + i) * k->W + j) * Co;
    double *a = acc + (size_t)border_mask(i, j, k->H, k->W) * Co;
    for (int c = 0; c < Co; c++)
        a[c] += g[c];
}

static void edge_backward_part(void *p, size_t part, int worker)
{
    (void)worker;
    const edge_bwd_ctx *k = p;
    size_t b, e;
    cpu_part_range(part, EDGE_IMAGES_PER_PART, (size_t)k->N, &b, &e);
    double *acc = k->partial + part * EDGE_MASKS * (size_t)k->Co;
    for (size_t x = 0; x < EDGE_MASKS * (size_t)k->Co; x++)
        acc[x] = 0.0;
    for (int n = (int)b; n < (int)e; n++)
        for (int i = 0; i < k->H; i++) {
            if (i == 0 || i == k->H - 1) {
                for (int j = 0; j < k->W; j++)
                    add_pixel(k, acc, n, i, j);
            } else {
                add_pixel(k, acc, n, i, 0);
                if (k->W > 1)
                    add_pixel(k, acc, n, i, k->W - 1);
            }
        }
}

glow_status cpu_conv2d_edge_backward_weight(glow_backend *be, glow_tensor dy, glow_tensor dw_edge)
{
    const int Co = dy.c;
    const size_t parts = cpu_parts((size_t)dy.n, EDGE_IMAGES_PER_PART);
    double *partial = malloc(parts * EDGE_MASKS * (size_t)Co * sizeof *partial);
    if (partial == NULL)
        return glow_error(GLOW_ERR_OUT_OF_MEMORY, "cpu conv2d_edge_backward_weight: out of memory (Co = %d)", Co);
    edge_bwd_ctx k = {cpu_data(dy), partial, dy.n, dy.h, dy.w, Co};
    cpu_parallel(be, parts, edge_backward_part, &k);
    float *dw = cpu_data(dw_edge);
    for (int c = 0; c < Co; c++)
        for (int tap = 0; tap < 9; tap++) {
            double s = 0.0;
            for (size_t part = 0; part < parts; part++)
                for (int mask = 1; mask < EDGE_MASKS; mask++)
                    if (tap_outside(mask, tap / 3, tap % 3))
                        s += partial[(part * EDGE_MASKS + mask) * Co + c];
            dw[(size_t)c * 9 + tap] += (float)s;
        }
    free(partial);
    return GLOW_OK;
}
