/* Choice of the cooperative-matrix GEMM (VK_GEMM_COOPMAT, precision tf32) from what a
 * device reports: plain C over plain structs, so that tests/test_vk_coopmat_select.c
 * can feed it the property lists of devices this machine does not have.
 *
 * The kernels (shaders/conv/gemm_coopmat.glsl) take fp16 A and B and accumulate in fp32
 * (TF32 is no Vulkan component type): a usable shape has AType = BType = FLOAT16,
 * CType = ResultType = FLOAT32, Subgroup scope, no saturating accumulation, and M, N,
 * K that tile the GEMM blocks (M, N in {8, 16}: they divide every block side; K in
 * {8, 16}: it divides the 16-deep slices). The device must also have the
 * cooperativeMatrix feature with compute among the supported stages, shaderFloat16
 * (fp16 shared memory), vulkanMemoryModel (both SPIR-V extensions require it), and
 * enough shared memory for the largest block (vk_coopmat_shared_bytes). */
#ifndef GLOW_VK_COOPMAT_H
#define GLOW_VK_COOPMAT_H

#include <stddef.h>
#include <stdint.h>

/* Numbers of VkComponentTypeKHR (= VkComponentTypeNV) and VkScopeKHR. */
#define VK_COOPMAT_FLOAT16 0u
#define VK_COOPMAT_FLOAT32 1u
#define VK_COOPMAT_SCOPE_SUBGROUP 3u

typedef enum {
    VK_COOPMAT_KHR = 0,
    VK_COOPMAT_NV = 1,
    VK_COOPMAT_EMULATED = 2, /* test build: the kernels' tiling with the matrix operations in plain
                                code ($GLOW_VK_COOPMAT_EMULATE=MxNxK; lavapipe) */
} vk_coopmat_api;

/* One entry of vkGetPhysicalDeviceCooperativeMatrixPropertiesKHR (or ...NV, where
 * result_type is DType and saturating is 0). */
typedef struct {
    uint32_t m, n, k;
    uint32_t a_type, b_type, c_type, result_type;
    uint32_t saturating;
    uint32_t scope;
} vk_coopmat_shape;

/* What the selection reads about one device. */
typedef struct {
    int khr;            /* VK_KHR_cooperative_matrix present, feature cooperativeMatrix on */
    int nv;             /* VK_NV_cooperative_matrix likewise */
    int khr_compute;    /* VK_SHADER_STAGE_COMPUTE_BIT in cooperativeMatrixSupportedStages */
    int nv_compute;
    const vk_coopmat_shape *khr_shapes;
    uint32_t n_khr_shapes;
    const vk_coopmat_shape *nv_shapes;
    uint32_t n_nv_shapes;
    int shader_float16;      /* VkPhysicalDeviceShaderFloat16Int8Features.shaderFloat16 */
    int vulkan_memory_model; /* VkPhysicalDeviceVulkanMemoryModelFeatures.vulkanMemoryModel */
    int api_1_2;             /* device (and instance) Vulkan 1.2: the modules are SPIR-V 1.5 */
    uint32_t subgroup_size;
    uint32_t max_shared_bytes;        /* maxComputeSharedMemorySize */
    uint32_t max_workgroup_invocations;
} vk_coopmat_device;

typedef struct {
    vk_coopmat_api api;
    vk_coopmat_shape shape;
} vk_coopmat_choice;

/* Shared memory of one coopmat workgroup with a BM x BN block, BK deep (the layout of
 * gemm_coopmat.glsl: fp16 A rows of BK + 8, fp16 B rows of BN + 8, fp32 C). */
uint32_t vk_coopmat_shared_bytes(uint32_t bm, uint32_t bn, uint32_t bk);

/* The largest shared-memory need of any block the conv ops launch (their tiled shapes
 * with `threads` invocations, BK = 16). */
uint32_t vk_coopmat_max_shared_bytes(uint32_t threads);

/* Picks a usable shape: KHR before NV, then the most work per instruction (M*N*K),
 * then 16x16x16. `force` ("khr", "nv", "off", or NULL/"" for either) restricts the API
 * ($GLOW_VK_COOPMAT). Returns 1 with *out set, or 0 with `why` saying what is missing
 * ("no VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix", ...). */
int vk_coopmat_select(const vk_coopmat_device *dev, const char *force, vk_coopmat_choice *out, char *why,
                      size_t why_cap);

/* Parses $GLOW_VK_COOPMAT_EMULATE's "MxNxK" into an fp16 x fp16 + fp32 Subgroup shape;
 * 0 when it is not one vk_coopmat_select would accept. */
int vk_coopmat_parse_emulated(const char *text, vk_coopmat_shape *out);

/* "KHR 16x16x16 fp16*fp16+fp32" into buf. */
void vk_coopmat_describe(const vk_coopmat_choice *c, char *buf, size_t cap);

#endif
