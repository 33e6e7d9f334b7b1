/* Little-endian field encoding of checkpoint records. */
#include "checkpoint_format.h"

#include <string.h>

#include "byte_order.h"

void ckpt_put_u32(uint8_t *p, uint32_t v)
{
    le_put_u32(p, v);
}

void ckpt_put_u64(uint8_t *p, uint64_t v)
{
    le_put_u64(p, v);
}

void ckpt_put_f32(uint8_t *p, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    ckpt_put_u32(p, bits);
}

uint32_t ckpt_get_u32(const uint8_t *p)
{
    return le_get_u32(p);
}

uint64_t ckpt_get_u64(const uint8_t *p)
{
    return le_get_u64(p);
}

float ckpt_get_f32(const uint8_t *p)
{
    uint32_t bits = ckpt_get_u32(p);
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

/* Field order of the version-1 header record (offsets in bytes):
 *   0 in_c  4 in_h  8 in_w  12 levels  16 steps  20 hidden  24 n_bits  28 dataset[32]
 *  60 batch  64 lr  68 warmup_epochs  72 epochs  76 seed(u64)  84 memory  88 step(i64)
 *  96 epoch  100 position(i64)  108 actnorm_initialized  112 optimizer
 * 116 beta1  120 beta2  124 eps  128 max_grad_norm  -> 132 bytes
 * version 2 appends:  132 train_limit  136 train_count  140 train_fingerprint(u64)  -> 148 bytes
 * version 3 appends:  148 pad (i32 glow_pad_mode; older files: GLOW_PAD_ZERO)
 *                     152 n_classes (i32, 0: unconditional)  156 class_weight (f32)
 *                     160 precision (i32 glow_precision: 0 fp32, 1 tf32)  -> 164 bytes */
void ckpt_encode_header(const glow_checkpoint_state *st, uint8_t out[CKPT_HEADER_BYTES])
{
    const glow_model_config *c = &st->config;
    memset(out, 0, CKPT_HEADER_BYTES);
    ckpt_put_u32(out + 0, (uint32_t)c->in_c);
    ckpt_put_u32(out + 4, (uint32_t)c->in_h);
    ckpt_put_u32(out + 8, (uint32_t)c->in_w);
    ckpt_put_u32(out + 12, (uint32_t)c->levels);
    ckpt_put_u32(out + 16, (uint32_t)c->steps);
    ckpt_put_u32(out + 20, (uint32_t)c->hidden);
    ckpt_put_u32(out + 24, (uint32_t)c->n_bits);
    memcpy(out + 28, st->dataset, strnlen(st->dataset, sizeof st->dataset - 1));
    ckpt_put_u32(out + 60, (uint32_t)st->batch);
    ckpt_put_f32(out + 64, st->lr);
    ckpt_put_f32(out + 68, st->warmup_epochs);
    ckpt_put_u32(out + 72, (uint32_t)st->epochs);
    ckpt_put_u64(out + 76, st->seed);
    ckpt_put_u32(out + 84, (uint32_t)st->memory);
    ckpt_put_u64(out + 88, (uint64_t)st->step);
    ckpt_put_u32(out + 96, (uint32_t)st->epoch);
    ckpt_put_u64(out + 100, (uint64_t)st->position);
    ckpt_put_u32(out + 108, (uint32_t)st->actnorm_initialized);
    ckpt_put_u32(out + 112, (uint32_t)st->optimizer);
    ckpt_put_f32(out + 116, st->beta1);
    ckpt_put_f32(out + 120, st->beta2);
    ckpt_put_f32(out + 124, st->eps);
    ckpt_put_f32(out + 128, st->max_grad_norm);
    ckpt_put_u32(out + 132, (uint32_t)st->train_limit);
    ckpt_put_u32(out + 136, (uint32_t)st->train_count);
    ckpt_put_u64(out + 140, st->train_fingerprint);
    ckpt_put_u32(out + 148, (uint32_t)c->pad);         /* version 3: --pad */
    ckpt_put_u32(out + 152, (uint32_t)c->n_classes);   /* version 3: class-conditional model */
    ckpt_put_f32(out + 156, c->class_weight);
    ckpt_put_u32(out + 160, (uint32_t)st->precision);  /* version 3: --precision of the run */
}

void ckpt_decode_header(const uint8_t *in, uint32_t header_bytes, glow_checkpoint_state *st)
{
    memset(st, 0, sizeof *st);
    glow_model_config *c = &st->config;
    c->in_c = (int32_t)ckpt_get_u32(in + 0);
    c->in_h = (int32_t)ckpt_get_u32(in + 4);
    c->in_w = (int32_t)ckpt_get_u32(in + 8);
    c->levels = (int32_t)ckpt_get_u32(in + 12);
    c->steps = (int32_t)ckpt_get_u32(in + 16);
    c->hidden = (int32_t)ckpt_get_u32(in + 20);
    c->n_bits = (int32_t)ckpt_get_u32(in + 24);
    memcpy(st->dataset, in + 28, sizeof st->dataset - 1); /* stays NUL-terminated */
    st->batch = (int32_t)ckpt_get_u32(in + 60);
    st->lr = ckpt_get_f32(in + 64);
    st->warmup_epochs = ckpt_get_f32(in + 68);
    st->epochs = (int32_t)ckpt_get_u32(in + 72);
    st->seed = ckpt_get_u64(in + 76);
    st->memory = (glow_memory_mode)(int32_t)ckpt_get_u32(in + 84);
    st->step = (int64_t)ckpt_get_u64(in + 88);
    st->epoch = (int32_t)ckpt_get_u32(in + 96);
    st->position = (int64_t)ckpt_get_u64(in + 100);
    st->actnorm_initialized = (int32_t)ckpt_get_u32(in + 108);
    st->optimizer = (glow_optimizer)(int32_t)ckpt_get_u32(in + 112);
    st->beta1 = ckpt_get_f32(in + 116);
    st->beta2 = ckpt_get_f32(in + 120);
    st->eps = ckpt_get_f32(in + 124);
    st->max_grad_norm = ckpt_get_f32(in + 128);
    st->train_limit = header_bytes >= CKPT_HEADER_BYTES_V2 ? (int32_t)ckpt_get_u32(in + 132) : -1;
    st->train_count = header_bytes >= CKPT_HEADER_BYTES_V2 ? (int32_t)ckpt_get_u32(in + 136) : -1;
    st->train_fingerprint = header_bytes >= CKPT_HEADER_BYTES_V2 ? ckpt_get_u64(in + 140) : 0;
    /* version 3: --pad and the class-conditional model; versions 1 and 2 had zero padding only and
     * were unconditional */
    const int v3 = header_bytes >= CKPT_HEADER_BYTES;
    c->pad = v3 ? (int32_t)ckpt_get_u32(in + 148) : GLOW_PAD_ZERO;
    c->n_classes = v3 ? (int32_t)ckpt_get_u32(in + 152) : 0;
    c->class_weight = v3 ? ckpt_get_f32(in + 156) : 0.0f;
    /* Versions 1 and 2 predate --precision: they were trained in fp32. */
    st->precision = header_bytes >= CKPT_HEADER_BYTES ? (glow_precision)(int32_t)ckpt_get_u32(in + 160)
                                                      : GLOW_PRECISION_FP32;
}

uint32_t ckpt_header_bytes(uint32_t version)
{
    return version == 1   ? CKPT_HEADER_BYTES_V1
           : version == 2 ? CKPT_HEADER_BYTES_V2
           : version == 3 ? CKPT_HEADER_BYTES
                          : 0;
}

/* Entry record: 0 name[64]  64 off(u64)  72 n  76 h  80 w  84 c  88 trainable -> 92 bytes */
void ckpt_encode_entry(const glow_param_entry *e, uint8_t out[CKPT_ENTRY_BYTES])
{
    memset(out, 0, CKPT_ENTRY_BYTES);
    memcpy(out, e->name, strnlen(e->name, CKPT_ENTRY_NAME_BYTES - 1));
    ckpt_put_u64(out + 64, (uint64_t)e->off);
    ckpt_put_u32(out + 72, (uint32_t)e->n);
    ckpt_put_u32(out + 76, (uint32_t)e->h);
    ckpt_put_u32(out + 80, (uint32_t)e->w);
    ckpt_put_u32(out + 84, (uint32_t)e->c);
    ckpt_put_u32(out + 88, (uint32_t)e->trainable);
}

void ckpt_decode_entry(const uint8_t in[CKPT_ENTRY_BYTES], glow_param_entry *e)
{
    memset(e, 0, sizeof *e);
    memcpy(e->name, in, CKPT_ENTRY_NAME_BYTES); /* NUL termination is checked by the loader */
    e->off = (size_t)ckpt_get_u64(in + 64);
    e->n = (int32_t)ckpt_get_u32(in + 72);
    e->h = (int32_t)ckpt_get_u32(in + 76);
    e->w = (int32_t)ckpt_get_u32(in + 80);
    e->c = (int32_t)ckpt_get_u32(in + 84);
    e->trainable = (int32_t)ckpt_get_u32(in + 88);
}

uint64_t ckpt_counts_offset(uint32_t header_bytes)
{
    return CKPT_PREAMBLE_BYTES + (uint64_t)header_bytes;
}

uint64_t ckpt_file_size(uint32_t header_bytes, uint64_t entries, uint64_t total)
{
    return ckpt_counts_offset(header_bytes) + CKPT_TABLE_COUNTS_BYTES + entries * CKPT_ENTRY_BYTES +
           3 * total * sizeof(float) + CKPT_CHECKSUM_BYTES;
}
