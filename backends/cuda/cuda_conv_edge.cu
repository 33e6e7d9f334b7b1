/* CUDA: the edge-indicator term of a padded 3x3 conv (openai/glow's edge_bias;
 * semantics in include/glow/ops.def, shaders: conv2d_edge_*.comp).
 *   w_edge: (Co,3,3,1) = w_edge[co][ky][kx], y, dy: (N,H,W,Co)
 *   forward   y[n][i][j][co] = act(y + sum_{ky,kx outside at (i,j)} w_edge[co][ky][kx])
 *   backward  dw_edge[co][ky][kx] += sum_{n,i,j: (ky,kx) outside at (i,j)} dy[n][i][j][co]
 * Tap (ky,kx) of pixel (i,j) reads (i+ky-1, j+kx-1): outside exactly when it steps
 * over a border the pixel lies on. The backward is the per-channel column
 * reduction of cuda_internal.h with K = 9 sums (one per tap). */
#include "cuda_internal.h"

static __device__ __forceinline__ bool edge_tap_outside(int i, int j, int ky, int kx, int H, int W)
{
    return (ky == 0 && i == 0) || (ky == 2 && i == H - 1) || (kx == 0 && j == 0) || (kx == 2 && j == W - 1);
}

__global__ void conv2d_edge_forward_kernel(float *y, const float *w_edge, size_t count, int H, int W, int Co,
                                           int relu)
{
    CU_FOR_EACH(e, count)
    {
        int co = (int)(e % Co);
        size_t pixel = e / Co;
        int j = (int)(pixel % W), i = (int)(pixel / W % H);
        float v = y[e];
        for (int tap = 0; tap < 9; tap++)
            if (edge_tap_outside(i, j, tap / 3, tap % 3, H, W))
                v += w_edge[co * 9 + tap];
        y[e] = relu && v < 0.0f ? 0.0f : v;
    }
}

glow_status cu_conv2d_edge_forward(glow_backend *be, glow_tensor w_edge, glow_tensor y, int relu)
{
    size_t count = glow_tensor_count(y);
    conv2d_edge_forward_kernel<<<cu_blocks(count), CU_THREADS, 0, cu_stream(be)>>>(cu_data(y), cu_data(w_edge), count,
                                                                                  y.h, y.w, y.c, relu);
    return cu_launched("conv2d_edge_forward");
}

struct edge_grad_terms {
    const float *dy;
    int H, W, C;
    __device__ void operator()(size_t p, int c, double acc[9]) const
    {
        int j = (int)(p % W), i = (int)(p / W % H);
        if (i != 0 && i != H - 1 && j != 0 && j != W - 1)
            return;
        double g = dy[p * C + c];
        for (int tap = 0; tap < 9; tap++)
            if (edge_tap_outside(i, j, tap / 3, tap % 3, H, W))
                acc[tap] += g;
    }
};

struct edge_grad_finish {
    float *dw;
    __device__ void operator()(int c, const double sum[9]) const
    {
        for (int tap = 0; tap < 9; tap++)
            dw[c * 9 + tap] += (float)sum[tap];
    }
};

glow_status cu_conv2d_edge_backward_weight(glow_backend *be, glow_tensor dy, glow_tensor dw_edge)
{
    edge_grad_terms terms = {cu_data(dy), dy.h, dy.w, dy.c};
    edge_grad_finish finish = {cu_data(dw_edge)};
    return cu_column_reduce<9>(be, "conv2d_edge_backward_weight", glow_tensor_rows(dy), dy.c, terms, finish);
}
