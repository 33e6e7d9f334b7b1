#version 450
#extension GL_GOOGLE_include_directive : require
// x[i] = floor(pixel[i] / 2^(8-n_bits)) / 2^n_bits - 0.5 + uniform(rng, i) / 2^n_bits
// pixels: uint8 read as little-endian uint words, byte b = (word[b/4] >> (8*(b%4))) & 0xff,
// pixel i at byte pixel_word*4 + i. One invocation per Philox block j = one pixel word.
// Declared before the includes: their functions read gl_WorkGroupSize, which glslang
// resolves where it is used (a later declaration would leave the default of 1).
layout(local_size_x_id = 0) in;
#include "common.glsl"
layout(set = 0, binding = 0) readonly buffer PIX { uint pix[]; };
layout(set = 0, binding = 1) buffer X { float x[]; };
layout(push_constant) uniform Push {
    uint pixel_word, x_off, count, n_bits;
    uint seed_lo, seed_hi, stream, counter, first_block;
} pc;

void main()
{
    uint j = linear_index();
    if (j >= (pc.count + 3u) / 4u)
        return;
    uvec4 bits = philox_block(pc.first_block + j, pc.seed_lo, pc.seed_hi, pc.stream, pc.counter);
    uint word = pix[pc.pixel_word + j];
    float bins = float(1u << pc.n_bits); // 2^n_bits, exact
    for (uint lane = 0u; lane < 4u; lane++) {
        uint i = 4u * j + lane;
        if (i >= pc.count)
            break;
        uint level = ((word >> (8u * lane)) & 0xffu) >> (8u - pc.n_bits);
        precise float base = float(level) / bins - 0.5;
        precise float v = base + bits_to_uniform(bits[lane]) / bins;
        x[pc.x_off + i] = v;
    }
}
