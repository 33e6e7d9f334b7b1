#version 450
#extension GL_GOOGLE_include_directive : require
// One Adam/Adamax step per element of the flat arenas (params, grads, m, v):
//   guard != 0 and sumsq[0] NaN or +-Inf (exponent bits all ones): nothing is written
//   clip = min(1, max_grad_norm / (sqrt(sumsq[0]) + 1e-6)) when clipping, else 1
//   g' = g clip;  m = b1 m + (1-b1) g'
//   Adam   (adamax == 0): v = b2 v + (1-b2) g'^2;  p -= lr (m / bc1) / (sqrt(v / bc2) + eps)
//   Adamax (adamax == 1): v = max(b2 v, |g'|);     p -= lr / bc1 * m / (v + eps)
// with the bias corrections bc1 = 1 - b1^t, bc2 = 1 - b2^t from the host.
// When clip == 0 and guard == 0 binding 4 is a placeholder that is not read. The guard tests
// the bits rather than isnan/isinf so that no floating-point mode of a driver can fold it away.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) buffer P { float params[]; };
layout(set = 0, binding = 1) readonly buffer G { float grads[]; };
layout(set = 0, binding = 2) buffer M { float mom[]; };
layout(set = 0, binding = 3) buffer V { float vel[]; };
layout(set = 0, binding = 4) readonly buffer S { float sumsq[]; };
layout(push_constant) uniform Push {
    uint p_off, g_off, m_off, v_off, sumsq_off, count, adamax, clip, guard;
    float lr, beta1, beta2, eps, bc1, bc2, max_grad_norm;
} pc;

void main()
{
    uint i = linear_index();
    if (i >= pc.count)
        return;
    if (pc.guard != 0u && (floatBitsToUint(sumsq[pc.sumsq_off]) & 0x7f800000u) == 0x7f800000u)
        return;
    float clip = 1.0;
    if (pc.clip != 0u) {
        float c = pc.max_grad_norm / (sqrt(sumsq[pc.sumsq_off]) + 1e-6);
        clip = c < 1.0 ? c : 1.0;
    }
    float gc = grads[pc.g_off + i] * clip;
    float m = pc.beta1 * mom[pc.m_off + i] + (1.0 - pc.beta1) * gc;
    mom[pc.m_off + i] = m;
    float v;
    float step;
    if (pc.adamax == 0u) {
        v = pc.beta2 * vel[pc.v_off + i] + (1.0 - pc.beta2) * gc * gc;
        step = pc.lr * (m / pc.bc1) / (sqrt(v / pc.bc2) + pc.eps);
    } else {
        v = max(pc.beta2 * vel[pc.v_off + i], abs(gc));
        step = pc.lr / pc.bc1 * m / (v + pc.eps);
    }
    vel[pc.v_off + i] = v;
    params[pc.p_off + i] -= step;
}
