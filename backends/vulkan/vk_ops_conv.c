/* Host side of the conv family: conv2d forward, backward_data, backward_weight
 * (shaders/conv/conv2d_*.comp, shaders/conv/gemm_*.glsl) and the channel scale of the
 * zero-initialised conv (shaders/conv/channel_scale_*.comp). Semantics: include/glow/ops.def.
 *
 * Each op has two variants, picked by vk->gemm_variant:
 *   VK_GEMM_TILED: shared-memory tiles of BM x BN outputs, BK deep, a 4x4 register block
 *                  per invocation, (BM/4)*(BN/4) = 256 invocations per workgroup; the tile
 *                  shape follows the narrow GEMM dimension (BN or BM in {16, 32, 64}).
 *   VK_GEMM_TEXEL: operands through storage texel buffers (imageLoad; each RGBA32F when every
 *                  channel count and offset that indexes that view is a multiple of 4, else
 *                  R32F; one module per pair of formats, shaders/conv/gemm_texel.glsl),
 *                  a register block per invocation (forward and backward_data 8 pixels x
 *                  4 channels, backward_weight 8 co x 4 columns), no shared memory, 64
 *                  invocations per workgroup.
 *   VK_GEMM_COOPMAT: the tiled blocks and epilogues, the block's GEMM on cooperative
 *                  matrices (fp16 x fp16 + fp32; shaders/conv/gemm_coopmat.glsl), the
 *                  *_coopmat (KHR) or *_coopmat_nv module as the device offers (or the
 *                  *_coopmat_emu test build, $GLOW_VK_COOPMAT_EMULATE); a block
 *                  the matrix shape does not tile stays on the tiled kernel.
 * The texel variant falls back to the tiled one when a buffer is too large for a
 * texel view (maxTexelBufferElements).
 *
 * backward_weight reduces over all P pixels: the pixel sum is split over workgroups
 * (gl_WorkGroupID.z) into partial sums in a scratch buffer (vk_scratch), which
 * conv2d_backward_weight_reduce adds into dw/dbias in a second pass (no float atomics,
 * deterministic order). With one split the first pass adds into dw/dbias directly. */
#include "vk_launch.h"

#include <stdint.h>
#include <string.h>

#define CONV_HAS_BIAS 1u
#define CONV_RELU 2u
#define CONV_DIRECT 4u
#define CONV_RELU_MASK 8u
#define CONV_OVERWRITE 16u

#define TEXEL_WORKGROUP 64u
#define TILED_WORKGROUP 256u /* (BM/4) * (BN/4) where the device allows */
#define TILED_BK 16u
#define REDUCE_WORKGROUP 256u

/* Split-K targets: enough independent work items to fill the device, each split
 * summing at least a few image rows so the partials stay small. */
#define TEXEL_TARGET_INVOCATIONS 4096u
#define TILED_TARGET_WORKGROUPS 512u
#define MAX_SPLITS 64u
#define MAX_PARTIAL_FLOATS ((uint64_t)16 << 20) /* 64 MiB of partial sums at most */
/* Texel backward_weight: the dy and x rows of one split (read by every workgroup of
 * that split, which run one after another) should stay within a CPU's L2/L3 cache. */
#define TEXEL_SPLIT_BYTES ((uint64_t)1 << 20)

/* Mirrors ConvPush in shaders/conv/gemm_conv_push.glsl (size checked at every dispatch). */
typedef struct {
    uint32_t x_off, w_off, y_off, bias_off;
    uint32_t n, h, w, ci, co, k;
    uint32_t flags;
    uint32_t rows_per_split, part_stride, n_splits;
    uint32_t group_co_blocks, pad1;
} conv_push;

/* ---- argument helpers --------------------------------------------------------- */

static conv_push make_push(glow_tensor x_shape, int ci, int co, int k)
{
    conv_push pc = {0};
    pc.n = (uint32_t)x_shape.n;
    pc.h = (uint32_t)x_shape.h;
    pc.w = (uint32_t)x_shape.w;
    pc.ci = (uint32_t)ci;
    pc.co = (uint32_t)co;
    pc.k = (uint32_t)k;
    return pc;
}

static int aligned4(size_t v)
{
    return v % 4 == 0;
}

/* The texel view of an operand: RGBA32F when every channel count and offset that
 * indexes it is a multiple of 4 (`vec4`), else R32F. */
static vk_binding_kind texel_kind(int vec4)
{
    return vec4 ? VK_BIND_TEXEL_RGBA32F : VK_BIND_TEXEL_R32F;
}

/* The texel kernels, one module per image format of bindings 0 and 1 (shaders/meson.build:
 * <kernel>_a<A>b<B>, 1 = R32F, 4 = RGBA32F), indexed [2 * a_vec4 + b_vec4]. */
static const vk_shader_id forward_texel[4] = {VK_SHADER_CONV2D_FORWARD_TEXEL_A1B1, VK_SHADER_CONV2D_FORWARD_TEXEL_A1B4,
                                              VK_SHADER_CONV2D_FORWARD_TEXEL_A4B1, VK_SHADER_CONV2D_FORWARD_TEXEL_A4B4};
static const vk_shader_id backward_data_texel[4] = {
    VK_SHADER_CONV2D_BACKWARD_DATA_TEXEL_A1B1, VK_SHADER_CONV2D_BACKWARD_DATA_TEXEL_A1B4,
    VK_SHADER_CONV2D_BACKWARD_DATA_TEXEL_A4B1, VK_SHADER_CONV2D_BACKWARD_DATA_TEXEL_A4B4};
static const vk_shader_id backward_weight_texel[4] = {
    VK_SHADER_CONV2D_BACKWARD_WEIGHT_TEXEL_A1B1, VK_SHADER_CONV2D_BACKWARD_WEIGHT_TEXEL_A1B4,
    VK_SHADER_CONV2D_BACKWARD_WEIGHT_TEXEL_A4B1, VK_SHADER_CONV2D_BACKWARD_WEIGHT_TEXEL_A4B4};

static vk_shader_id texel_variant(const vk_shader_id variants[4], int a_vec4, int b_vec4)
{
    return variants[2 * (a_vec4 != 0) + (b_vec4 != 0)];
}

/* 1 when both buffers fit in texel views of their kinds. */
static int texel_views_fit(const vk_context *vk, vk_binding_kind kind_a, const glow_buffer *a,
                           vk_binding_kind kind_b, const glow_buffer *b)
{
    uint64_t texel_a = kind_a == VK_BIND_TEXEL_RGBA32F ? 16 : 4;
    uint64_t texel_b = kind_b == VK_BIND_TEXEL_RGBA32F ? 16 : 4;
    return a->bytes / texel_a <= vk->max_texel_elements && b->bytes / texel_b <= vk->max_texel_elements;
}

/* Tiled variant: a workgroup of `threads` invocations (256, or 128 = the Vulkan minimum of
 * maxComputeWorkGroupInvocations) owns BM x BN = 16 * threads outputs. The tile along
 * the GEMM dimension that may be small (`narrow`: Co or Ci) is 16, 32 or 64, the other
 * side takes the rest; BK is 16, or 8 when the two slices would not fit in shared memory. */
typedef struct {
    uint32_t threads, narrow, wide, bk;
} tiled_shape;

static tiled_shape tiled_shape_for(const vk_context *vk, int narrow)
{
    tiled_shape t;
    t.threads = vk_launch_max_workgroup(vk) >= TILED_WORKGROUP ? TILED_WORKGROUP : 128;
    t.narrow = narrow <= 16 ? 16 : narrow <= 32 ? 32 : 64;
    t.wide = 16 * t.threads / t.narrow;
    t.bk = TILED_BK;
    if (t.bk * (t.narrow + t.wide) * sizeof(float) > vk->props.limits.maxComputeSharedMemorySize)
        t.bk = 8;
    return t;
}

/* Spec constants of a tiled pipeline: local size, BM, BN, BK. */
static void tiled_spec(const tiled_shape *t, uint32_t bm, uint32_t bn, uint32_t spec[6])
{
    spec[0] = t->threads;
    spec[1] = 1;
    spec[2] = 1;
    spec[3] = bm;
    spec[4] = bn;
    spec[5] = t->bk;
}

/* The pipeline of a tiled block: the tiled kernel, or with VK_GEMM_COOPMAT its
 * cooperative-matrix build (KHR or NV module) with the device's matrix shape as spec
 * constants 6..8 (TM, TN, TK), when the block takes it (TK divides BK, shared memory fits).
 * Fills spec and returns the spec count. */
static int gemm_pipeline(const vk_context *vk, const tiled_shape *t, uint32_t bm, uint32_t bn, vk_shader_id tiled,
                         vk_shader_id coop_khr, vk_shader_id coop_nv, vk_shader_id coop_emu, vk_shader_id *shader,
                         uint32_t spec[9])
{
    tiled_spec(t, bm, bn, spec);
    *shader = tiled;
    const vk_coopmat_shape *cm = &vk->coopmat.shape;
    if (vk->gemm_variant != VK_GEMM_COOPMAT || t->bk % cm->k != 0 || bm % cm->m != 0 || bn % cm->n != 0 ||
        vk_coopmat_shared_bytes(bm, bn, t->bk) > vk->props.limits.maxComputeSharedMemorySize)
        return 6;
    *shader = vk->coopmat.api == VK_COOPMAT_KHR ? coop_khr : vk->coopmat.api == VK_COOPMAT_NV ? coop_nv : coop_emu;
    spec[6] = cm->m;
    spec[7] = cm->n;
    spec[8] = cm->k;
    return 9;
}

/* ---- forward -------------------------------------------------------------------- */

glow_status vk_conv2d_forward(glow_backend *be, glow_tensor x, glow_tensor w, glow_tensor bias, glow_tensor y, int relu)
{
    vk_context *vk = vk_ctx(be);
    const char *op = "conv2d_forward";
    GLOW_TRY(vk_check_index(op, "x", x));
    GLOW_TRY(vk_check_index(op, "w", w));
    GLOW_TRY(vk_check_index(op, "y", y));
    int has_bias = bias.buf != NULL;
    if (has_bias)
        GLOW_TRY(vk_check_index(op, "bias", bias));

    conv_push pc = make_push(x, x.c, y.c, w.h);
    pc.x_off = (uint32_t)x.off;
    pc.w_off = (uint32_t)w.off;
    pc.y_off = (uint32_t)y.off;
    pc.bias_off = has_bias ? (uint32_t)bias.off : 0;
    pc.flags = (has_bias ? CONV_HAS_BIAS : 0) | (relu ? CONV_RELU : 0);
    /* y and bias by their byte ranges (vk_bind_tensor); bias absent: y's range, unread */
    vk_binding y_bind = vk_bind_tensor(vk, y, 1, &pc.y_off);
    vk_binding bias_bind = vk_bind_tensor(vk, has_bias ? bias : y, 0, &pc.bias_off);
    uint64_t pixels = glow_tensor_rows(x);

    /* x and w are both indexed by ci runs: one view kind for both. */
    int vec4 = aligned4(x.off) && aligned4(w.off) && x.c % 4 == 0;
    vk_binding_kind texel = texel_kind(vec4);
    if (vk->gemm_variant == VK_GEMM_TEXEL && texel_views_fit(vk, texel, x.buf, texel, w.buf) &&
        texel_views_fit(vk, VK_BIND_TEXEL_R32F, has_bias ? bias.buf : y.buf, VK_BIND_TEXEL_R32F, y.buf)) {
        /* 8 output channels per invocation when they are two aligned vec4s of y */
        int co8 = y.c % 8 == 0 && pc.y_off % 4 == 0;
        /* spec constants 3, 4, 5: has_bias, relu, co8 (1, 2 unused) */
        const uint32_t spec[6] = {TEXEL_WORKGROUP, 0, 0, (uint32_t)has_bias, (uint32_t)(relu != 0), (uint32_t)co8};
        vk_shader_id shader = texel_variant(forward_texel, vec4, vec4);
        /* bias through an R32F view of its whole buffer (absent: y's buffer, unread) */
        const glow_buffer *bias_buf = has_bias ? bias.buf : y.buf;
        pc.bias_off = has_bias ? (uint32_t)bias.off : 0;
        vk_binding b[4] = {{x.buf, texel, 0, 0, 0}, {w.buf, texel, 0, 0, 0}, {bias_buf, VK_BIND_TEXEL_R32F, 0, 0, 0},
                           y_bind};
        uint64_t invocations = (uint64_t)vk_groups((uint64_t)y.c, co8 ? 8 : 4) * vk_groups(pixels, 8);
        uint32_t gx, gy;
        GLOW_TRY(vk_launch_spread(vk, shader, vk_groups(invocations, TEXEL_WORKGROUP), &gx, &gy));
        return vk_launch(vk, shader, b, 4, &pc, sizeof pc, spec, 6, gx, gy, 1);
    }
    tiled_shape ts = tiled_shape_for(vk, y.c);
    uint32_t bm = ts.wide, bn = ts.narrow, spec[9];
    vk_shader_id shader;
    int n_spec = gemm_pipeline(vk, &ts, bm, bn, VK_SHADER_CONV2D_FORWARD_TILED, VK_SHADER_CONV2D_FORWARD_COOPMAT,
                               VK_SHADER_CONV2D_FORWARD_COOPMAT_NV, VK_SHADER_CONV2D_FORWARD_COOPMAT_EMU, &shader, spec);
    vk_binding b[4] = {{x.buf, VK_BIND_STORAGE, 0, 0, 0}, {w.buf, VK_BIND_STORAGE, 0, 0, 0}, bias_bind, y_bind};
    return vk_launch(vk, shader, b, 4, &pc, sizeof pc, spec, n_spec, vk_groups(pixels, bm),
                     vk_groups((uint64_t)y.c, bn), 1);
}

/* ---- backward_data ---------------------------------------------------------------- */

/* dx (+= or, with `overwrite`, =) W^T dy, zeroed where mask (when present) <= 0. */
static glow_status backward_data(glow_backend *be, const char *op, glow_tensor dy, glow_tensor w, glow_tensor mask,
                                 glow_tensor dx, int overwrite)
{
    vk_context *vk = vk_ctx(be);
    GLOW_TRY(vk_check_index(op, "dy", dy));
    GLOW_TRY(vk_check_index(op, "w", w));
    GLOW_TRY(vk_check_index(op, "dx", dx));

    conv_push pc = make_push(dx, dx.c, dy.c, w.h);
    pc.x_off = (uint32_t)dx.off;
    pc.w_off = (uint32_t)w.off;
    pc.y_off = (uint32_t)dy.off;
    if (mask.buf) {
        GLOW_TRY(vk_check_index(op, "y", mask));
        pc.flags |= CONV_RELU_MASK;
    }
    if (overwrite)
        pc.flags |= CONV_OVERWRITE;
    /* dx and the mask by their byte ranges (vk_bind_tensor); mask absent: dx's range, unread */
    vk_binding dx_bind = vk_bind_tensor(vk, dx, 1, &pc.x_off);
    vk_binding mask_bind = vk_bind_tensor(vk, mask.buf ? mask : dx, 0, &pc.bias_off);
    uint64_t pixels = glow_tensor_rows(dx);

    /* dy is indexed by co runs, w by ci runs (rows of k*k*Ci floats). */
    int dy_vec4 = aligned4(dy.off) && dy.c % 4 == 0;
    int w_vec4 = aligned4(w.off) && dx.c % 4 == 0;
    vk_binding_kind dy_texel = texel_kind(dy_vec4), w_texel = texel_kind(w_vec4);
    const glow_buffer *mask_buf = mask.buf ? mask.buf : dx.buf; /* absent: dx's buffer, unread */
    if (vk->gemm_variant == VK_GEMM_TEXEL && texel_views_fit(vk, dy_texel, dy.buf, w_texel, w.buf) &&
        texel_views_fit(vk, VK_BIND_TEXEL_R32F, mask_buf, VK_BIND_TEXEL_R32F, mask_buf)) {
        /* 8 input channels per invocation when they are two aligned vec4s of dx and w */
        int ci8 = dx.c % 8 == 0 && pc.x_off % 4 == 0 && w_vec4;
        /* spec constants 3, 4, 5: relu mask, overwrite, ci8 (1, 2 unused) */
        const uint32_t spec[6] = {TEXEL_WORKGROUP, 0, 0, mask.buf != NULL, (uint32_t)(overwrite != 0), (uint32_t)ci8};
        vk_shader_id shader = texel_variant(backward_data_texel, dy_vec4, w_vec4);
        /* the mask through an R32F view of its whole buffer: its element offset */
        pc.bias_off = mask.buf ? (uint32_t)mask.off : 0;
        vk_binding b[4] = {{dy.buf, dy_texel, 0, 0, 0},
                           {w.buf, w_texel, 0, 0, 0},
                           dx_bind,
                           {mask_buf, VK_BIND_TEXEL_R32F, 0, 0, 0}};
        uint64_t invocations = (uint64_t)vk_groups((uint64_t)dx.c, ci8 ? 8 : 4) * vk_groups(pixels, 8);
        uint32_t gx, gy;
        GLOW_TRY(vk_launch_spread(vk, shader, vk_groups(invocations, TEXEL_WORKGROUP), &gx, &gy));
        return vk_launch(vk, shader, b, 4, &pc, sizeof pc, spec, 6, gx, gy, 1);
    }
    tiled_shape ts = tiled_shape_for(vk, dx.c);
    uint32_t bm = ts.wide, bn = ts.narrow, spec[9];
    vk_shader_id shader;
    int n_spec = gemm_pipeline(vk, &ts, bm, bn, VK_SHADER_CONV2D_BACKWARD_DATA_TILED,
                               VK_SHADER_CONV2D_BACKWARD_DATA_COOPMAT, VK_SHADER_CONV2D_BACKWARD_DATA_COOPMAT_NV,
                               VK_SHADER_CONV2D_BACKWARD_DATA_COOPMAT_EMU, &shader, spec);
    vk_binding b[4] = {{dy.buf, VK_BIND_STORAGE, 0, 0, 0}, {w.buf, VK_BIND_STORAGE, 0, 0, 0}, dx_bind, mask_bind};
    return vk_launch(vk, shader, b, 4, &pc, sizeof pc, spec, n_spec, vk_groups(pixels, bm),
                     vk_groups((uint64_t)dx.c, bn), 1);
}

glow_status vk_conv2d_backward_data(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor dx)
{
    return backward_data(be, "conv2d_backward_data", dy, w, glow_tensor_none(), dx, 0);
}

/* The ReLU backward folded into the GEMM's store: dx = [y > 0] (W^T dy), no fill, no relu pass. */
glow_status vk_conv2d_backward_data_relu(glow_backend *be, glow_tensor dy, glow_tensor w, glow_tensor y, glow_tensor dx)
{
    return backward_data(be, "conv2d_backward_data_relu", dy, w, y, dx, 1);
}

/* ---- backward_weight ---------------------------------------------------------------- */

/* `wanted` splits of the N*H image rows, limited so that each split sums at least
 * `min_rows` rows, there are at most MAX_SPLITS, and the partials fit in
 * MAX_PARTIAL_FLOATS. */
static uint32_t clamp_splits(uint64_t wanted, uint64_t rows, uint64_t min_rows, uint64_t partial_floats)
{
    uint64_t s = wanted;
    uint64_t by_rows = rows / min_rows;
    if (s > by_rows)
        s = by_rows;
    if (s > MAX_SPLITS)
        s = MAX_SPLITS;
    if (s * partial_floats > MAX_PARTIAL_FLOATS)
        s = MAX_PARTIAL_FLOATS / partial_floats;
    return s < 1 ? 1 : (uint32_t)s;
}

/* Splits that give enough work items (`items` without splitting, `target` wanted). */
static uint64_t splits_for_work(uint64_t items, uint64_t target)
{
    return items >= target ? 1 : (target + items - 1) / items;
}

/* Texel backward_weight tile: G co blocks x TEXEL_WORKGROUP/G column blocks per workgroup,
 * G a power of two <= TEXEL_WORKGROUP picked to waste the fewest lanes on the padding of
 * a co_blocks x col_blocks grid; ties go to the squarest tile (least traffic per pixel). */
static uint32_t texel_group_co_blocks(uint64_t co_blocks, uint64_t col_blocks)
{
    static const uint32_t candidates[] = {8, 16, 4, 32, 2, 64, 1}; /* squarest first */
    uint32_t best = 8;
    uint64_t best_area = UINT64_MAX;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        uint32_t g = candidates[i];
        uint64_t area = (uint64_t)vk_groups(co_blocks, g) * g * vk_groups(col_blocks, TEXEL_WORKGROUP / g) *
                        (TEXEL_WORKGROUP / g);
        if (area < best_area) {
            best_area = area;
            best = g;
        }
    }
    return best;
}

glow_status vk_conv2d_backward_weight(glow_backend *be, glow_tensor x, glow_tensor dy, glow_tensor dw,
                                      glow_tensor dbias)
{
    vk_context *vk = vk_ctx(be);
    const char *op = "conv2d_backward_weight";
    GLOW_TRY(vk_check_index(op, "x", x));
    GLOW_TRY(vk_check_index(op, "dy", dy));
    GLOW_TRY(vk_check_index(op, "dw", dw));
    int has_bias = dbias.buf != NULL;
    if (has_bias)
        GLOW_TRY(vk_check_index(op, "dbias", dbias));

    int k = dw.h;
    conv_push pc = make_push(x, x.c, dy.c, k);
    pc.x_off = (uint32_t)x.off;
    pc.w_off = (uint32_t)dw.off;
    pc.y_off = (uint32_t)dy.off;
    pc.bias_off = has_bias ? (uint32_t)dbias.off : 0;
    pc.flags = has_bias ? CONV_HAS_BIAS : 0;
    const glow_buffer *dbias_buf = has_bias ? dbias.buf : dw.buf; /* never written when absent */
    uint64_t rows = (uint64_t)x.n * (uint64_t)x.h;
    uint64_t n_cols = (uint64_t)k * k * x.c + (has_bias ? 1 : 0);
    uint64_t partial_floats = (uint64_t)dy.c * n_cols;

    /* x is indexed by ci runs, dy by co runs. */
    int x_vec4 = aligned4(x.off) && x.c % 4 == 0;
    int dy_vec4 = aligned4(dy.off) && dy.c % 4 == 0;
    vk_binding_kind x_texel = texel_kind(x_vec4), dy_texel = texel_kind(dy_vec4);
    int use_texel = vk->gemm_variant == VK_GEMM_TEXEL && texel_views_fit(vk, x_texel, x.buf, dy_texel, dy.buf);

    /* Work items without splitting, and the first pass's shader, spec constants and grid. */
    vk_shader_id shader;
    uint32_t spec[9];
    int n_spec;
    uint32_t gx, gy;
    uint32_t splits;
    if (use_texel) {
        /* 8 co x 8 ci register blocks when Ci % 8 == 0 and x has a vec4 view (spec constant 1), else 8x4. */
        int ci8 = x_vec4 && x.c % 8 == 0;
        uint64_t col_blocks = (uint64_t)k * k * vk_groups((uint64_t)x.c, ci8 ? 8 : 4) + (has_bias ? 1 : 0);
        uint64_t co_blocks = vk_groups((uint64_t)dy.c, 8);
        uint32_t g_co = texel_group_co_blocks(co_blocks, col_blocks);
        uint64_t groups = (uint64_t)vk_groups(co_blocks, g_co) * vk_groups(col_blocks, TEXEL_WORKGROUP / g_co);
        /* Bytes of dy and x one image row brings in; enough splits to keep a split's rows in cache. */
        uint64_t row_bytes = (uint64_t)x.w * ((uint64_t)dy.c + (uint64_t)x.c) * sizeof(float);
        uint64_t by_cache = vk_groups(rows * row_bytes, TEXEL_SPLIT_BYTES);
        uint64_t by_work = splits_for_work(groups * TEXEL_WORKGROUP, TEXEL_TARGET_INVOCATIONS);
        splits = clamp_splits(by_cache > by_work ? by_cache : by_work, rows, 4, partial_floats);
        pc.group_co_blocks = g_co;
        shader = texel_variant(backward_weight_texel, x_vec4, dy_vec4);
        spec[0] = TEXEL_WORKGROUP;
        spec[1] = (uint32_t)ci8;
        n_spec = 2;
        GLOW_TRY(vk_launch_spread(vk, shader, groups, &gx, &gy));
    } else {
        tiled_shape ts = tiled_shape_for(vk, dy.c);
        uint32_t bm = ts.narrow, bn = ts.wide;
        n_spec = gemm_pipeline(vk, &ts, bm, bn, VK_SHADER_CONV2D_BACKWARD_WEIGHT_TILED,
                               VK_SHADER_CONV2D_BACKWARD_WEIGHT_COOPMAT, VK_SHADER_CONV2D_BACKWARD_WEIGHT_COOPMAT_NV, VK_SHADER_CONV2D_BACKWARD_WEIGHT_COOPMAT_EMU,
                               &shader, spec);
        gx = vk_groups((uint64_t)dy.c, bm);
        gy = vk_groups(n_cols, bn);
        uint64_t min_rows = vk_groups(256, (uint64_t)x.w); /* >= 256 pixels per split */
        splits = clamp_splits(splits_for_work((uint64_t)gx * gy, TILED_TARGET_WORKGROUPS), rows, min_rows,
                              partial_floats);
    }
    pc.rows_per_split = vk_groups(rows, splits);
    splits = vk_groups(rows, pc.rows_per_split); /* no empty split */
    pc.n_splits = splits;
    pc.part_stride = (uint32_t)partial_floats;

    const glow_buffer *partials = dw.buf; /* unwritten placeholder for one split */
    if (splits == 1)
        pc.flags |= CONV_DIRECT;
    else
        GLOW_TRY(vk_scratch(vk, VK_SCRATCH_CONV_PARTIALS, (size_t)splits * partial_floats * sizeof(float),
                            &partials));

    vk_binding b[5] = {{x.buf, use_texel ? x_texel : VK_BIND_STORAGE, 0, 0, 0},
                       {dy.buf, use_texel ? dy_texel : VK_BIND_STORAGE, 0, 0, 0},
                       {dw.buf, VK_BIND_STORAGE, splits == 1, 0, 0},
                       {dbias_buf, VK_BIND_STORAGE, splits == 1 && has_bias, 0, 0},
                       {partials, VK_BIND_STORAGE, splits > 1, 0, 0}};
    GLOW_TRY(vk_launch(vk, shader, b, 5, &pc, sizeof pc, spec, n_spec, gx, gy, splits));
    if (splits == 1)
        return GLOW_OK;

    const uint32_t rspec[1] = {REDUCE_WORKGROUP};
    vk_binding rb[3] = {{dw.buf, VK_BIND_STORAGE, 1, 0, 0},
                        {dbias_buf, VK_BIND_STORAGE, has_bias, 0, 0},
                        {partials, VK_BIND_STORAGE, 0, 0, 0}};
    GLOW_TRY(vk_launch_spread(vk, VK_SHADER_CONV2D_BACKWARD_WEIGHT_REDUCE, vk_groups(partial_floats, REDUCE_WORKGROUP),
                              &gx, &gy));
    return vk_launch(vk, VK_SHADER_CONV2D_BACKWARD_WEIGHT_REDUCE, rb, 3, &pc, sizeof pc, rspec, 1, gx, gy, 1);
}

/* ---- channel scale of the zero-initialised conv ------------------------------------- */

typedef struct {
    uint32_t y_off, count, c, logs_off;
    float factor;
} push_channel_scale_forward;

glow_status vk_channel_scale_forward(glow_backend *be, glow_tensor y, glow_tensor logs, float factor)
{
    GLOW_TRY(vk_check_index("channel_scale_forward", "y", y));
    GLOW_TRY(vk_check_index("channel_scale_forward", "logs", logs));
    push_channel_scale_forward pc = {(uint32_t)y.off, (uint32_t)glow_tensor_count(y), (uint32_t)y.c,
                                     (uint32_t)logs.off, factor};
    vk_binding b[2] = {vk_bind(y.buf, 1), vk_bind(logs.buf, 0)};
    return vk_launch_grid(vk_ctx(be), VK_SHADER_CHANNEL_SCALE_FORWARD, b, 2, &pc, sizeof pc, pc.count);
}

typedef struct {
    uint32_t y_off, dy_off, rows, c, logs_off, dlogs_off;
    float factor;
} push_channel_scale_backward;

/* One workgroup per channel: reduce dy*y over the P pixels, then rescale dy. */
glow_status vk_channel_scale_backward(glow_backend *be, glow_tensor y, glow_tensor dy, glow_tensor logs, float factor,
                                      glow_tensor dlogs)
{
    const char *op = "channel_scale_backward";
    GLOW_TRY(vk_check_index(op, "y", y));
    GLOW_TRY(vk_check_index(op, "dy", dy));
    GLOW_TRY(vk_check_index(op, "logs", logs));
    GLOW_TRY(vk_check_index(op, "dlogs", dlogs));
    push_channel_scale_backward pc = {(uint32_t)y.off,    (uint32_t)dy.off,    (uint32_t)glow_tensor_rows(y),
                                      (uint32_t)y.c,      (uint32_t)logs.off, (uint32_t)dlogs.off,
                                      factor};
    vk_binding b[4] = {vk_bind(y.buf, 0), vk_bind(dy.buf, 1), vk_bind(logs.buf, 0),
                       vk_bind(dlogs.buf, 1)};
    return vk_launch_groups(vk_ctx(be), VK_SHADER_CHANNEL_SCALE_BACKWARD, b, 4, &pc, sizeof pc, (uint32_t)y.c);
}
