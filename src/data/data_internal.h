/* Internal helpers of the data loaders: whole-file reads through zlib, tar
 * members out of a .tar.gz, and the IDX / CIFAR-10 record parsers. */
#ifndef GLOW_DATA_INTERNAL_H
#define GLOW_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "glow/status.h"

/* Reads a whole file into a malloc'ed buffer. Gzip files are decompressed
 * (zlib detects the gzip header; other files are read as they are). Byte
 * offsets in later messages refer to the decompressed stream. */
glow_status data_read_file(const char *path, uint8_t **buf, size_t *len);

/* Reads the members of a ustar archive in a gzip file whose base names (the
 * part after the last '/') appear in `wanted` (n_wanted names). bufs[i] and
 * lens[i] receive member wanted[i] (malloc'ed), or NULL / 0 when the archive
 * has no such member. Stops early once every wanted member has been read. */
glow_status data_read_tar_gz_members(const char *path, const char *const *wanted, int n_wanted, uint8_t **bufs,
                                     size_t *lens);

/* IDX image file (magic 0x00000803: u32 BE magic, count, rows, cols, then
 * count*rows*cols bytes) checked against rows x cols. `what` names the file
 * in messages. On success *count is the image count and *pixels points into buf
 * (no copy). */
glow_status idx_parse_images(const char *what, const uint8_t *buf, size_t len, int rows, int cols, int *count,
                             const uint8_t **pixels);
/* IDX label file (magic 0x00000801: u32 BE magic, count, then count bytes < 10). */
glow_status idx_parse_labels(const char *what, const uint8_t *buf, size_t len, int *count,
                             const uint8_t **labels);

/* CIFAR-10 binary batch: records of 1 label byte + 3072 bytes (1024 R, 1024 G,
 * 1024 B, each 32x32 row-major). Appends the records as HWC images to
 * pixels + (*count) * 3072 and labels + *count, advancing *count; capacity is
 * the number of images the arrays can hold. len must be a multiple of 3073. */
#define CIFAR_RECORD_BYTES 3073
#define CIFAR_IMAGE_BYTES 3072
glow_status cifar_parse_batch(const char *what, const uint8_t *buf, size_t len, uint8_t *pixels, uint8_t *labels,
                              int capacity, int *count);

#endif
