// Edge-indicator term of a padded 3x3 conv (openai/glow's edge_bias), shared by
// conv2d_edge_forward.comp and conv2d_edge_backward_weight.comp.
// Tap (ky,kx) of output pixel (i,j) reads input pixel (i+ky-1, j+kx-1); it falls
// outside the H x W image exactly when it steps over a border the pixel lies on.
#ifndef GLOW_CONV2D_EDGE_GLSL
#define GLOW_CONV2D_EDGE_GLSL

bool edge_tap_outside(uint i, uint j, uint ky, uint kx, uint H, uint W)
{
    return (ky == 0u && i == 0u) || (ky == 2u && i == H - 1u) || (kx == 0u && j == 0u) ||
           (kx == 2u && j == W - 1u);
}

#endif
