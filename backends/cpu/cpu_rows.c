/* Fast CPU backend: the row passes that run around the GEMMs (epilogues, column
 * sums, im2col copies), each built for AVX-512, AVX2+FMA and the baseline and
 * chosen at load time (CPU_ISA_CLONES). The rest of the backend is compiled for
 * the x86-64 baseline (SSE2), where these loops ran 4 lanes wide: the bias and
 * ReLU epilogue of conv1's forward (3x3 2->512 at level 0 of the report model)
 * was 36% of that op's time, the ReLU mask of the zero-conv's input gradient 22%.
 *
 * Every function keeps the baseline's arithmetic element by element (no sum is
 * reassociated; a column sum adds its rows in order), so the clones differ from
 * each other only where the compiler contracts a multiply-add into an FMA. */
#include "cpu_internal.h"

#include <string.h>

CPU_ISA_CLONES
void cpu_bias_relu_rows(float *y, int m, int n, int ld, const float *bias, int relu)
{
    for (int r = 0; r < m; r++) {
        float *yr = y + (size_t)r * ld;
        if (bias != NULL && relu) {
            for (int c = 0; c < n; c++) {
                float v = yr[c] + bias[c];
                yr[c] = v > 0.0f ? v : 0.0f;
            }
        } else if (bias != NULL) {
            for (int c = 0; c < n; c++)
                yr[c] += bias[c];
        } else if (relu) {
            for (int c = 0; c < n; c++)
                yr[c] = yr[c] > 0.0f ? yr[c] : 0.0f;
        }
    }
}

CPU_ISA_CLONES
void cpu_relu_mask_rows(float *d, const float *y, int m, int n, int ld)
{
    for (int r = 0; r < m; r++) {
        float *dr = d + (size_t)r * ld;
        const float *yr = y + (size_t)r * ld;
        for (int c = 0; c < n; c++)
            dr[c] = yr[c] > 0.0f ? dr[c] : 0.0f;
    }
}

CPU_ISA_CLONES
void cpu_column_sums(const float *g, size_t rows, int n, int ld, float *acc)
{
    for (size_t r = 0; r < rows; r++) {
        const float *gr = g + r * (size_t)ld;
        for (int c = 0; c < n; c++)
            acc[c] += gr[c];
    }
}

CPU_ISA_CLONES
void cpu_column_sums_double(const float *g, size_t rows, int n, int ld, double *acc)
{
    for (size_t r = 0; r < rows; r++) {
        const float *gr = g + r * (size_t)ld;
        for (int c = 0; c < n; c++)
            acc[c] += (double)gr[c];
    }
}

/* cpu_internal.h: the bias gradient of a few-output 3x3 conv (Co <= CPU_FEW_OUTPUTS_MAX). Defined
 * here, after the multiversioned cpu_column_sums_double (clang refuses a use before that). */
void cpu_bias_sums_few(const float *dy, size_t pixels, int Co, float *db)
{
    double acc[CPU_FEW_OUTPUTS_MAX] = {0};
    cpu_column_sums_double(dy, pixels, Co, Co, acc);
    for (int o = 0; o < Co; o++)
        db[o] += (float)acc[o];
}

/* One pixel's k*k taps of Ci channels each, zero outside the image; tap (ky, kx)
 * reads the pixel at offset s*(ky - pad, kx - pad), s = 1 (im2col) or -1 (flipped).
 * A constant channel count lets the compiler turn each tap's copy into a few moves
 * instead of a memcpy call (Ci = 2..16: 9 calls of 8 to 64 bytes per pixel). */
static inline void im2col_pixel(const float *x, int H, int W, int Ci, int k, int s, size_t n, int i, int j,
                                float *dst)
{
    const int pad = (k - 1) / 2;
    for (int ky = 0; ky < k; ky++) {
        int si = i + s * (ky - pad);
        for (int kx = 0; kx < k; kx++, dst += Ci) {
            int sj = j + s * (kx - pad);
            if (si < 0 || si >= H || sj < 0 || sj >= W)
                memset(dst, 0, (size_t)Ci * sizeof(float));
            else
                memcpy(dst, x + ((n * H + (size_t)si) * W + (size_t)sj) * Ci, (size_t)Ci * sizeof(float));
        }
    }
}

#define IM2COL_ROWS(CI)                                                                                               \
    for (size_t r = r0; r < r1; r++) {                                                                                \
        size_t n = r / hw, rem = r % hw;                                                                              \
        im2col_pixel(x, H, W, CI, k, s, n, (int)(rem / (size_t)W), (int)(rem % (size_t)W), col + (r - r0) * K);       \
    }

CPU_ISA_CLONES
void cpu_im2col(const float *x, int H, int W, int Ci, int k, int flip, size_t r0, size_t r1, float *col)
{
    const size_t K = (size_t)k * k * Ci, hw = (size_t)H * W;
    const int s = flip ? -1 : 1;
    switch (Ci) {
    case 1: IM2COL_ROWS(1) break;
    case 2: IM2COL_ROWS(2) break;
    case 4: IM2COL_ROWS(4) break;
    case 8: IM2COL_ROWS(8) break;
    case 16: IM2COL_ROWS(16) break;
    default: IM2COL_ROWS(Ci) break;
    }
}
