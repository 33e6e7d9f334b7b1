/* Byte layout of a checkpoint file (described in glow/checkpoint.h) and the
 * little-endian encoders shared by save and load. */
#ifndef GLOW_CHECKPOINT_FORMAT_H
#define GLOW_CHECKPOINT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "glow/checkpoint.h"

#define CKPT_MAGIC_BYTES 8
#define CKPT_PREAMBLE_BYTES 16      /* magic, u32 version, u32 header bytes */
#define CKPT_HEADER_BYTES 164       /* the header record of version 3 (written) */
#define CKPT_HEADER_BYTES_V2 148    /* the header record of version 2 (still read; no pad, class or precision fields) */
#define CKPT_HEADER_BYTES_V1 132    /* the header record of version 1 (still read) */
#define CKPT_TABLE_COUNTS_BYTES 12  /* u32 entry count, u64 arena floats */
#define CKPT_ENTRY_NAME_BYTES 64
#define CKPT_ENTRY_BYTES 92         /* char[64] name, u64 off, i32 n h w c, i32 trainable */
#define CKPT_CHECKSUM_BYTES 8
#define CKPT_MAX_ENTRIES 1000000u

void ckpt_put_u32(uint8_t *p, uint32_t v);
void ckpt_put_u64(uint8_t *p, uint64_t v);
void ckpt_put_f32(uint8_t *p, float v);
uint32_t ckpt_get_u32(const uint8_t *p);
uint64_t ckpt_get_u64(const uint8_t *p);
float ckpt_get_f32(const uint8_t *p);

/* The header record <-> the state. */
void ckpt_encode_header(const glow_checkpoint_state *st, uint8_t out[CKPT_HEADER_BYTES]);
/* header_bytes: CKPT_HEADER_BYTES, or _V2 / _V1 for an older record (missing fields: defaults). */
void ckpt_decode_header(const uint8_t *in, uint32_t header_bytes, glow_checkpoint_state *st);

/* Header record size of a format version; 0 for a version this build cannot read. */
uint32_t ckpt_header_bytes(uint32_t version);

/* One table entry <-> its record. */
void ckpt_encode_entry(const glow_param_entry *e, uint8_t out[CKPT_ENTRY_BYTES]);
void ckpt_decode_entry(const uint8_t in[CKPT_ENTRY_BYTES], glow_param_entry *e);

/* Byte offset of the table counts, and the total file size for E entries and
 * T floats per arena, with a header record of header_bytes. */
uint64_t ckpt_counts_offset(uint32_t header_bytes);
uint64_t ckpt_file_size(uint32_t header_bytes, uint64_t entries, uint64_t total);

#endif
