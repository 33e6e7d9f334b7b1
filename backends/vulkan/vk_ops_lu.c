/* Vulkan host side of the LU-parametrised 1x1 convolution weight (lu_weight.comp:
 * one workgroup per column of the weight, forward product or triangular solves;
 * lu_weight_backward.comp: one workgroup per row of dA and per column of dB).
 * The column/row being worked on lives in shared memory: C <= VK_LU_MAX_C.
 * Semantics: include/glow/ops.def. */
#include "vk_launch.h"

#define VK_LU_MAX_C 2048 /* MAX_C in lu_weight.comp and lu_weight_backward.comp */

static glow_status check_lu_channels(const char *op, int c)
{
    if (c > VK_LU_MAX_C)
        return glow_error(GLOW_ERR_SHAPE, "vulkan %s: C=%d channels exceed the kernel's limit of %d", op, c,
                          VK_LU_MAX_C);
    return GLOW_OK;
}

typedef struct {
    uint32_t lower_off, upper_off, log_s_off, sign_off, perm_off, weight_off, c, inverse, weight_inv_off;
} push_lu_weight;

/* mode 0: weight = W; 1: weight = W^-1; 2: weight = W and weight_inv = W^-1 (2C workgroups). */
static glow_status lu_weight(glow_backend *be, const char *op, glow_tensor lower, glow_tensor upper,
                             glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor weight,
                             glow_tensor weight_inv, uint32_t mode)
{
    const glow_tensor ts[6] = {lower, upper, log_s, sign, perm, weight};
    const char *names[6] = {"lower", "upper", "log_s", "sign", "perm", "weight"};
    for (int i = 0; i < 6; i++)
        GLOW_TRY(vk_check_index(op, names[i], ts[i]));
    if (mode == 2)
        GLOW_TRY(vk_check_index(op, "weight_inv", weight_inv));
    GLOW_TRY(check_lu_channels(op, lower.c));
    push_lu_weight pc = {(uint32_t)lower.off, (uint32_t)upper.off, (uint32_t)log_s.off,  (uint32_t)sign.off,
                         (uint32_t)perm.off,  (uint32_t)weight.off, (uint32_t)lower.c, mode,
                         mode == 2 ? (uint32_t)weight_inv.off : 0};
    /* the outputs by their ranges: the model's weights of every flow step share one buffer */
    vk_binding b[7] = {vk_bind(lower.buf, 0), vk_bind(upper.buf, 0), vk_bind(log_s.buf, 0),
                       vk_bind(sign.buf, 0),  vk_bind(perm.buf, 0),  vk_bind_tensor(vk_ctx(be), weight, 1, &pc.weight_off),
                       vk_bind_tensor(vk_ctx(be), mode == 2 ? weight_inv : weight, mode == 2, &pc.weight_inv_off)};
    uint32_t groups = (uint32_t)lower.c * (mode == 2 ? 2u : 1u);
    return vk_launch_groups(vk_ctx(be), VK_SHADER_LU_WEIGHT, b, 7, &pc, sizeof pc, groups);
}

glow_status vk_lu_weight(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s, glow_tensor sign,
                         glow_tensor perm, glow_tensor weight, int inverse)
{
    return lu_weight(be, "lu_weight", lower, upper, log_s, sign, perm, weight, glow_tensor_none(), inverse ? 1u : 0u);
}

glow_status vk_lu_weight_pair(glow_backend *be, glow_tensor lower, glow_tensor upper, glow_tensor log_s,
                              glow_tensor sign, glow_tensor perm, glow_tensor weight, glow_tensor weight_inv)
{
    return lu_weight(be, "lu_weight_pair", lower, upper, log_s, sign, perm, weight, weight_inv, 2u);
}

typedef struct {
    uint32_t dweight_off, lower_off, upper_off, log_s_off, sign_off, perm_off;
    uint32_t dlower_off, dupper_off, dlog_s_off, c;
} push_lu_weight_backward;

glow_status vk_lu_weight_backward(glow_backend *be, glow_tensor dweight, glow_tensor lower, glow_tensor upper,
                                  glow_tensor log_s, glow_tensor sign, glow_tensor perm, glow_tensor dlower,
                                  glow_tensor dupper, glow_tensor dlog_s)
{
    const char *op = "lu_weight_backward";
    const glow_tensor ts[9] = {dweight, lower, upper, log_s, sign, perm, dlower, dupper, dlog_s};
    const char *names[9] = {"dweight", "lower", "upper", "log_s", "sign", "perm", "dlower", "dupper", "dlog_s"};
    for (int i = 0; i < 9; i++)
        GLOW_TRY(vk_check_index(op, names[i], ts[i]));
    GLOW_TRY(check_lu_channels(op, lower.c));
    push_lu_weight_backward pc = {(uint32_t)dweight.off, (uint32_t)lower.off,  (uint32_t)upper.off,
                                  (uint32_t)log_s.off,   (uint32_t)sign.off,   (uint32_t)perm.off,
                                  (uint32_t)dlower.off,  (uint32_t)dupper.off, (uint32_t)dlog_s.off,
                                  (uint32_t)lower.c};
    vk_binding b[9] = {vk_bind(dweight.buf, 0), vk_bind(lower.buf, 0), vk_bind(upper.buf, 0),
                       vk_bind(log_s.buf, 0),   vk_bind(sign.buf, 0),  vk_bind(perm.buf, 0),
                       vk_bind(dlower.buf, 1),  vk_bind(dupper.buf, 1), vk_bind(dlog_s.buf, 1)};
    /* Workgroups [0, C): rows of dA -> dlower; [C, 2C): columns of dB -> dupper, dlog_s. */
    return vk_launch_groups(vk_ctx(be), VK_SHADER_LU_WEIGHT_BACKWARD, b, 9, &pc, sizeof pc, 2u * (uint32_t)lower.c);
}
