/* Writes the seed corpus of fuzz_jpeg into DIR (tests/data/fuzz/jpeg): small
 * valid JPEG files of each kind libjpeg reads (gray, RGB 4:2:0 and 4:4:4,
 * progressive, restart markers), and two inputs that must be refused
 * (bad-truncated.jpg, bad-garbage.jpg). Python has no JPEG encoder here, so
 * this is C (make_seeds.py writes the other targets' seeds); deterministic.
 *   usage: build/tests/fuzz/make_jpeg_seeds tests/data/fuzz/jpeg */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h */

static int write_jpeg(const char *dir, const char *name, int w, int h, int c, int quality, int progressive,
                      int full_chroma, int restart, size_t keep)
{
    unsigned char *buf = NULL;
    unsigned long len = 0;
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buf, &len);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = c;
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (progressive)
        jpeg_simple_progression(&cinfo);
    if (full_chroma && c == 3)
        cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = 1;
    cinfo.restart_interval = (unsigned)restart;
    jpeg_start_compress(&cinfo, TRUE);
    unsigned char *row = malloc((size_t)w * c);
    while (cinfo.next_scanline < cinfo.image_height) {
        for (int x = 0; x < w * c; x++)
            row[x] = (unsigned char)(x * 9 + cinfo.next_scanline * 5);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 1;
    size_t n = keep > 0 && keep < len ? keep : len;
    int bad = fwrite(buf, 1, n, f) != n;
    bad |= fclose(f) != 0;
    free(buf);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_jpeg_seeds DIR\n");
        return 2;
    }
    const char *d = argv[1];
    int bad = write_jpeg(d, "seed-gray.jpg", 8, 8, 1, 75, 0, 0, 0, 0);
    bad |= write_jpeg(d, "seed-rgb420.jpg", 16, 12, 3, 75, 0, 0, 0, 0);
    bad |= write_jpeg(d, "seed-rgb444.jpg", 9, 7, 3, 90, 0, 1, 0, 0);
    bad |= write_jpeg(d, "seed-progressive.jpg", 16, 16, 3, 60, 1, 0, 0, 0);
    bad |= write_jpeg(d, "seed-restart.jpg", 24, 16, 1, 50, 0, 0, 1, 0);
    bad |= write_jpeg(d, "bad-truncated.jpg", 16, 12, 3, 75, 0, 0, 0, 200);
    char path[1024];
    snprintf(path, sizeof path, "%s/bad-garbage.jpg", d);
    FILE *f = fopen(path, "wb");
    static const unsigned char garbage[] = "\xff\xd8\xff\xdb\x00\x43 this is not a quantisation table";
    bad |= f == NULL || fwrite(garbage, 1, sizeof garbage - 1, f) != sizeof garbage - 1 || fclose(f) != 0;
    return bad;
}
