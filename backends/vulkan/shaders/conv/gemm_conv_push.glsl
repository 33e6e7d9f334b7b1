// Push constants shared by every conv2d_* kernel, mirrored by conv_push in
// backends/vulkan/vk_ops_conv.c (64 bytes, static-asserted there).
//
// Tensors (NHWC fp32, element offsets into their whole buffers):
//   x (N,H,W,Ci)   w (Co,k,k,Ci)   y (N,H,W,Co)   bias (1,1,1,Co)
// Forward reads x, w, bias and writes y; backward_data reads y (= dy), w and
// accumulates into x (= dx); backward_weight reads x, y (= dy) and writes w (= dw)
// and bias (= dbias), directly or through split-K partials.

#ifndef GLOW_GEMM_CONV_PUSH_GLSL
#define GLOW_GEMM_CONV_PUSH_GLSL

#define CONV_HAS_BIAS 1u   // bias / dbias present
#define CONV_RELU 2u       // forward: y = max(y, 0)
#define CONV_DIRECT 4u     // backward_weight: accumulate into dw/dbias, no partials
#define CONV_RELU_MASK 8u  // backward_data: dx = 0 where mask (binding 3, offset bias_off) <= 0
#define CONV_OVERWRITE 16u // backward_data: dx = result (not +=)

layout(push_constant) uniform ConvPush {
    uint x_off, w_off, y_off, bias_off;
    uint n, h, w, ci, co, k;
    uint flags;
    uint rows_per_split; // backward_weight: image rows (n, i) per split of the pixel sum
    uint part_stride;    // backward_weight: floats per split in the partials buffer
    uint n_splits;
    uint group_co_blocks; // backward_weight texel: 4-co blocks along co in one workgroup's tile
    uint pad1;
} pc;

#endif
