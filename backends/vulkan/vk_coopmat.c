/* Selection of the cooperative-matrix GEMM shape (vk_coopmat.h). */
#include "vk_coopmat.h"

#include <stdio.h>
#include <string.h>

uint32_t vk_coopmat_shared_bytes(uint32_t bm, uint32_t bn, uint32_t bk)
{
    return bm * (bk + 8u) * 2u + bk * (bn + 8u) * 2u + bm * bn * 4u;
}

uint32_t vk_coopmat_max_shared_bytes(uint32_t threads)
{
    /* vk_ops_conv.c: the narrow side 16, 32 or 64, the wide side 16 * threads / narrow,
     * either side being M. */
    uint32_t worst = 0;
    for (uint32_t narrow = 16; narrow <= 64; narrow *= 2) {
        uint32_t wide = 16u * threads / narrow;
        uint32_t a = vk_coopmat_shared_bytes(wide, narrow, 16), b = vk_coopmat_shared_bytes(narrow, wide, 16);
        if (a > worst)
            worst = a;
        if (b > worst)
            worst = b;
    }
    return worst;
}

/* 0 when the shape is one the kernels run, else the reason. */
static const char *shape_problem(const vk_coopmat_shape *s)
{
    if (s->scope != VK_COOPMAT_SCOPE_SUBGROUP)
        return "scope is not Subgroup";
    if (s->a_type != VK_COOPMAT_FLOAT16 || s->b_type != VK_COOPMAT_FLOAT16)
        return "A/B are not fp16";
    if (s->c_type != VK_COOPMAT_FLOAT32 || s->result_type != VK_COOPMAT_FLOAT32)
        return "C/result are not fp32";
    if (s->saturating)
        return "saturating accumulation";
    if ((s->m != 8 && s->m != 16) || (s->n != 8 && s->n != 16) || (s->k != 8 && s->k != 16))
        return "M, N, K not in {8, 16}";
    return NULL;
}

/* Better of two usable shapes: more work per MulAdd, then the squarer 16x16x16. */
static int better(const vk_coopmat_shape *a, const vk_coopmat_shape *b)
{
    uint32_t wa = a->m * a->n * a->k, wb = b->m * b->n * b->k;
    if (wa != wb)
        return wa > wb;
    return a->m == a->n && b->m != b->n;
}

static const vk_coopmat_shape *best_of(const vk_coopmat_shape *list, uint32_t n)
{
    const vk_coopmat_shape *best = NULL;
    for (uint32_t i = 0; i < n; i++)
        if (shape_problem(&list[i]) == NULL && (best == NULL || better(&list[i], best)))
            best = &list[i];
    return best;
}

int vk_coopmat_select(const vk_coopmat_device *dev, const char *force, vk_coopmat_choice *out, char *why,
                      size_t why_cap)
{
    memset(out, 0, sizeof *out);
    if (why_cap)
        why[0] = '\0';
    int allow_khr = 1, allow_nv = 1;
    if (force && strcmp(force, "off") == 0) {
        snprintf(why, why_cap, "cooperative matrices turned off ($GLOW_VK_COOPMAT=off)");
        return 0;
    }
    if (force && strcmp(force, "khr") == 0)
        allow_nv = 0;
    if (force && strcmp(force, "nv") == 0)
        allow_khr = 0;
    int khr = allow_khr && dev->khr, nv = allow_nv && dev->nv;
    if (!khr && !nv) {
        snprintf(why, why_cap, "no %s", allow_khr && allow_nv ? "VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix"
                                        : allow_khr        ? "VK_KHR_cooperative_matrix"
                                                           : "VK_NV_cooperative_matrix");
        return 0;
    }
    if (!dev->api_1_2) {
        snprintf(why, why_cap, "cooperative-matrix kernels need Vulkan 1.2");
        return 0;
    }
    if (!dev->shader_float16) {
        snprintf(why, why_cap, "no shaderFloat16 (fp16 staging in shared memory)");
        return 0;
    }
    if (!dev->vulkan_memory_model) {
        snprintf(why, why_cap, "no vulkanMemoryModel (required by the cooperative-matrix SPIR-V)");
        return 0;
    }
    uint32_t threads = dev->max_workgroup_invocations >= 256 ? 256 : 128;
    if (dev->subgroup_size == 0 || dev->subgroup_size > threads || threads % dev->subgroup_size != 0) {
        snprintf(why, why_cap, "subgroup size %u does not divide a %u-invocation workgroup", dev->subgroup_size,
                 threads);
        return 0;
    }
    if (vk_coopmat_max_shared_bytes(threads) > dev->max_shared_bytes) {
        snprintf(why, why_cap, "%u bytes of shared memory, the kernels need %u", dev->max_shared_bytes,
                 vk_coopmat_max_shared_bytes(threads));
        return 0;
    }
    const vk_coopmat_shape *s = NULL;
    if (khr && dev->khr_compute && (s = best_of(dev->khr_shapes, dev->n_khr_shapes)) != NULL)
        out->api = VK_COOPMAT_KHR;
    else if (nv && dev->nv_compute && (s = best_of(dev->nv_shapes, dev->n_nv_shapes)) != NULL)
        out->api = VK_COOPMAT_NV;
    if (s == NULL) {
        snprintf(why, why_cap, "no cooperative-matrix shape with fp16 A/B, fp32 C/result, Subgroup scope and "
                               "M, N, K in {8, 16} usable in compute shaders");
        return 0;
    }
    out->shape = *s;
    return 1;
}

int vk_coopmat_parse_emulated(const char *text, vk_coopmat_shape *out)
{
    unsigned m, n, k;
    char end;
    if (text == NULL || sscanf(text, "%ux%ux%u%c", &m, &n, &k, &end) != 3)
        return 0;
    *out = (vk_coopmat_shape){m, n, k, VK_COOPMAT_FLOAT16, VK_COOPMAT_FLOAT16, VK_COOPMAT_FLOAT32,
                              VK_COOPMAT_FLOAT32, 0, VK_COOPMAT_SCOPE_SUBGROUP};
    return shape_problem(out) == NULL;
}

void vk_coopmat_describe(const vk_coopmat_choice *c, char *buf, size_t cap)
{
    static const char *api[] = {"KHR", "NV", "emulated"};
    snprintf(buf, cap, "%s %ux%ux%u fp16*fp16+fp32", api[c->api], c->shape.m, c->shape.n, c->shape.k);
}
