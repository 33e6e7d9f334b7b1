/* Checkpoints: bit-exact round trip, every validation failure with its
 * message, and the atomic-save guarantee (a failed save leaves the previous
 * file intact and no temporary behind). Exact comparisons throughout: a
 * checkpoint stores raw float bits, so no tolerance applies. */
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "glow/checkpoint.h"

/* Byte layout (glow/checkpoint.h): 16-byte preamble, header record, 12 bytes of counts, 92-byte entries. */
#define HEADER_V3 164
#define HEADER_V2 148
#define HEADER_V1 132
#define TABLE_AT (16 + HEADER_V3 + 12)

typedef struct {
    glow_checkpoint_state st;
    glow_param_table table;
    float *params, *m, *v;
} fixture;

/* A small model-like table (one fixed entry) and arenas with awkward values:
 * -0, denormals, infinities, a NaN with payload, and random floats. */
static void make_fixture(fixture *fx, uint32_t seed)
{
    memset(fx, 0, sizeof *fx);
    glow_checkpoint_state *st = &fx->st;
    st->config = (glow_model_config){1, 32, 32, 3, 4, 64, 5, GLOW_PAD_ZERO, 10, 0.01f}; /* class-conditional: version 3 */
    snprintf(st->dataset, sizeof st->dataset, "fashion-mnist");
    st->batch = 64;
    st->lr = 1e-3f;
    st->warmup_epochs = 1.5f;
    st->epochs = 20;
    st->seed = 0x0123456789abcdefull;
    st->memory = GLOW_MEMORY_REVERSIBLE;
    st->step = 123456789012ll;
    st->epoch = 7;
    st->position = 38400;
    st->actnorm_initialized = 1;
    st->optimizer = GLOW_OPT_ADAMAX;
    st->beta1 = 0.9f;
    st->beta2 = 0.999f;
    st->eps = 1e-8f;
    st->max_grad_norm = 50.0f;
    st->train_limit = 5000;
    st->train_count = 4999;
    st->train_fingerprint = 0xfedcba9876543210ull;
    st->precision = GLOW_PRECISION_TF32; /* not the default, so a dropped field shows */

    glow_param_table_init(&fx->table);
    TU_OK(glow_param_table_add(&fx->table, "level0.step0.actnorm.bias", 1, 1, 1, 4, 1, NULL));
    TU_OK(glow_param_table_add(&fx->table, "level0.step0.invconv.sign", 1, 1, 1, 4, 0, NULL));
    TU_OK(glow_param_table_add(&fx->table, "level0.step0.coupling.conv1.w", 3, 3, 2, 5, 1, NULL));
    TU_OK(glow_param_table_add(&fx->table, "top.prior.b", 1, 1, 1, 7, 1, NULL));
    size_t n = fx->table.total;
    fx->params = tu_random(n, seed, -2.0f, 2.0f);
    fx->m = tu_random(n, seed + 1, -1.0f, 1.0f);
    fx->v = tu_random(n, seed + 2, 0.0f, 1.0f);
    uint32_t nan_bits = 0x7fc12345u;
    memcpy(&fx->params[1], &nan_bits, 4);
    fx->params[2] = -0.0f;
    fx->params[3] = 1e-40f; /* denormal */
    fx->m[0] = INFINITY;
    fx->v[n - 1] = -INFINITY;
}

static void free_fixture(fixture *fx)
{
    glow_param_table_free(&fx->table);
    free(fx->params);
    free(fx->m);
    free(fx->v);
}

static void ckpt_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tu_temp_dir, name);
}

static void assert_same_state(const glow_checkpoint_state *a, const glow_checkpoint_state *b)
{
    assert_memory_equal(&a->config, &b->config, sizeof a->config);
    assert_string_equal(a->dataset, b->dataset);
    assert_int_equal(a->batch, b->batch);
    assert_true(a->lr == b->lr && a->warmup_epochs == b->warmup_epochs);
    assert_int_equal(a->epochs, b->epochs);
    assert_true(a->seed == b->seed);
    assert_int_equal(a->memory, b->memory);
    assert_true(a->step == b->step && a->position == b->position);
    assert_int_equal(a->epoch, b->epoch);
    assert_int_equal(a->actnorm_initialized, b->actnorm_initialized);
    assert_int_equal(a->optimizer, b->optimizer);
    assert_true(a->beta1 == b->beta1 && a->beta2 == b->beta2 && a->eps == b->eps);
    assert_true(a->max_grad_norm == b->max_grad_norm);
    assert_int_equal(a->train_limit, b->train_limit);
    assert_int_equal(a->train_count, b->train_count);
    assert_true(a->train_fingerprint == b->train_fingerprint);
    assert_int_equal(a->precision, b->precision);
}

static void test_round_trip_bit_exact(void **state)
{
    (void)state;
    fixture fx;
    make_fixture(&fx, 11);
    char path[512];
    ckpt_path(path, sizeof path, "rt.ckpt");
    TU_OK(glow_checkpoint_save(path, &fx.st, &fx.table, fx.params, fx.m, fx.v));

    glow_checkpoint_state st;
    glow_param_table t;
    float *p, *m, *v;
    TU_OK(glow_checkpoint_load(path, &fx.st.config, &st, &t, &p, &m, &v));
    assert_same_state(&fx.st, &st);
    TU_OK(glow_checkpoint_check_table(path, &fx.table, &t));
    assert_int_equal(t.count, fx.table.count);
    assert_int_equal(t.total, fx.table.total);
    for (int i = 0; i < t.count; i++)
        assert_memory_equal(&t.entries[i], &fx.table.entries[i], sizeof t.entries[i]);
    assert_memory_equal(p, fx.params, fx.table.total * sizeof(float));
    assert_memory_equal(m, fx.m, fx.table.total * sizeof(float));
    assert_memory_equal(v, fx.v, fx.table.total * sizeof(float));
    free(p);
    free(m);
    free(v);
    glow_param_table_free(&t);

    /* Arenas may be skipped on load. */
    TU_OK(glow_checkpoint_load(path, NULL, &st, &t, &p, NULL, NULL));
    assert_memory_equal(p, fx.params, fx.table.total * sizeof(float));
    free(p);
    glow_param_table_free(&t);
    free_fixture(&fx);
}

static void test_null_moments_saved_as_zeros(void **state)
{
    (void)state;
    fixture fx;
    make_fixture(&fx, 12);
    char path[512];
    ckpt_path(path, sizeof path, "zeros.ckpt");
    TU_OK(glow_checkpoint_save(path, &fx.st, &fx.table, fx.params, NULL, NULL));
    glow_checkpoint_state st;
    glow_param_table t;
    float *p, *m, *v;
    TU_OK(glow_checkpoint_load(path, NULL, &st, &t, &p, &m, &v));
    for (size_t i = 0; i < t.total; i++) {
        assert_true(m[i] == 0.0f && !signbit(m[i]));
        assert_true(v[i] == 0.0f && !signbit(v[i]));
    }
    free(p);
    free(m);
    free(v);
    glow_param_table_free(&t);
    free_fixture(&fx);
}

/* ---- damaged files ---------------------------------------------------------- */

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void write_all(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

/* Independent FNV-1a 64 for re-sealing hand-edited files. */
static void reseal(uint8_t *b, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len - 8; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    for (int k = 0; k < 8; k++)
        b[len - 8 + k] = (uint8_t)(h >> (8 * k));
}

/* Loads path expecting `code` with `needle` in the message, and nothing allocated. */
static void expect_load_error(const char *path, const glow_model_config *want, glow_status code, const char *needle)
{
    glow_checkpoint_state st;
    glow_param_table t;
    float *p = (float *)1, *m = (float *)1, *v = (float *)1;
    glow_status s = glow_checkpoint_load(path, want, &st, &t, &p, &m, &v);
    if (s != code || strstr(glow_last_error(), needle) == NULL || strstr(glow_last_error(), path) == NULL)
        fail_msg("expected %s with \"%s\" naming %s, got %s: %s", glow_status_name(code), needle, path,
                 glow_status_name(s), glow_last_error());
    assert_null(p);
    assert_null(m);
    assert_null(v);
    assert_null(t.entries);
}

/* Saves the fixture to name and returns its bytes. */
static uint8_t *saved_bytes(fixture *fx, const char *name, char *path, size_t path_size, size_t *len)
{
    make_fixture(fx, 21);
    ckpt_path(path, path_size, name);
    TU_OK(glow_checkpoint_save(path, &fx->st, &fx->table, fx->params, fx->m, fx->v));
    return read_all(path, len);
}

static void test_flipped_byte_fails_checksum(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    size_t len;
    uint8_t *b = saved_bytes(&fx, "flip.ckpt", path, sizeof path, &len);
    /* One flipped bit anywhere after the version field: in the header record,
     * in the table, in each arena, and in the checksum itself. */
    size_t arena0 = TABLE_AT + (size_t)fx.table.count * 92;
    size_t where[] = {20, TABLE_AT + 70, arena0 + 5, arena0 + fx.table.total * 4 + 1,
                      arena0 + 2 * fx.table.total * 4 + 9, len - 3};
    for (size_t k = 0; k < sizeof where / sizeof where[0]; k++) {
        b[where[k]] ^= 0x10;
        write_all(path, b, len);
        expect_load_error(path, NULL, GLOW_ERR_FORMAT, "checksum mismatch");
        b[where[k]] ^= 0x10;
    }
    free(b);
    free_fixture(&fx);
}

static void test_truncated(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    size_t len;
    uint8_t *b = saved_bytes(&fx, "trunc.ckpt", path, sizeof path, &len);
    char needle[128];
    write_all(path, b, len - 100);
    snprintf(needle, sizeof needle, "truncated at byte %zu: expected %zu bytes", len - 100, len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, needle);
    write_all(path, b, 10);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "truncated at byte 10");
    write_all(path, b, 0);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "truncated at byte 0");
    free(b);
    free_fixture(&fx);
}

static void test_wrong_version_and_magic(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    size_t len;
    uint8_t *b = saved_bytes(&fx, "version.ckpt", path, sizeof path, &len);
    b[8] = 4; /* little-endian u32 at byte 8 */
    write_all(path, b, len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "format version 4, this build reads versions 1 to 3");
    b[8] = 3;
    b[0] = 'X';
    write_all(path, b, len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "not a glow-vk checkpoint");
    free(b);
    free_fixture(&fx);
}

/* A version-2 file (the 148-byte header without the class-conditional fields)
 * loads as an unconditional model (n_classes 0, class_weight 0). */
static void test_reads_version_2(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    size_t len;
    uint8_t *b = saved_bytes(&fx, "v2.ckpt", path, sizeof path, &len);
    const size_t cut = 16 + HEADER_V2, extra = HEADER_V3 - HEADER_V2;
    memmove(b + cut, b + cut + extra, len - cut - extra);
    size_t v2_len = len - extra;
    b[8] = 2;
    b[12] = HEADER_V2;
    reseal(b, v2_len);
    write_all(path, b, v2_len);
    glow_checkpoint_state st;
    glow_param_table t;
    float *p;
    TU_OK(glow_checkpoint_load(path, NULL, &st, &t, &p, NULL, NULL));
    assert_int_equal(st.config.n_classes, 0);
    assert_int_equal(st.precision, GLOW_PRECISION_FP32); /* version 2 predates --precision */
    assert_true(st.config.class_weight == 0.0f);
    st.config.n_classes = fx.st.config.n_classes;
    st.config.class_weight = fx.st.config.class_weight;
    st.precision = fx.st.precision;
    assert_same_state(&fx.st, &st);
    assert_memory_equal(p, fx.params, fx.table.total * sizeof(float));
    free(p);
    glow_param_table_free(&t);
    b[12] = HEADER_V3; /* a version-2 preamble in front of a version-3 header */
    reseal(b, v2_len);
    write_all(path, b, v2_len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "header record of 164 bytes, version 2 has 148");
    /* a version-3 file whose class_weight needs classes it does not have is refused */
    fixture fx3;
    uint8_t *c = saved_bytes(&fx3, "v3bad.ckpt", path, sizeof path, &len);
    memset(c + 16 + 152, 0, 4); /* n_classes (header byte 152) = 0, class_weight 0.01 */
    reseal(c, len);
    write_all(path, c, len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "invalid class-conditional settings (n_classes 0");
    free(c);
    free_fixture(&fx3);
    free(b);
    free_fixture(&fx);
}

/* Rewrites the saved file b (len bytes) at `path` as an older version: the
 * header cut to its first header_bytes (the later fields dropped), the version
 * (byte 8) and header size (u32 at 12, little-endian, < 256) set, re-sealed.
 * Returns the new length. */
static size_t truncate_to_version(uint8_t *b, size_t len, int version, size_t header_bytes, const char *path)
{
    const size_t cut = 16 + header_bytes, extra = HEADER_V3 - header_bytes;
    memmove(b + cut, b + cut + extra, len - cut - extra);
    b[8] = (uint8_t)version;
    b[12] = (uint8_t)header_bytes;
    reseal(b, len - extra);
    write_all(path, b, len - extra);
    return len - extra;
}

/* Loads an older file with the fixture's config as versions 1 and 2 knew it:
 * no class-conditional fields. */
static void load_unconditional(const char *path, const fixture *fx, glow_checkpoint_state *st, glow_param_table *t,
                               float **p)
{
    glow_model_config unconditional = fx->st.config;
    unconditional.n_classes = 0;
    unconditional.class_weight = 0.0f;
    TU_OK(glow_checkpoint_load(path, &unconditional, st, t, p, NULL, NULL));
}

/* A version-1 file (the 132-byte header without the three data-order fields
 * and the precision) still loads, with the two counts "not recorded" (-1) and
 * precision fp32; a version-1 preamble in front of a longer header is refused. */
static void test_reads_version_1(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    size_t len;
    uint8_t *b = saved_bytes(&fx, "v1.ckpt", path, sizeof path, &len);
    size_t v1_len = truncate_to_version(b, len, 1, HEADER_V1, path);
    glow_checkpoint_state st;
    glow_param_table t;
    float *p;
    load_unconditional(path, &fx, &st, &t, &p);
    assert_int_equal(st.train_limit, -1);
    assert_int_equal(st.train_count, -1);
    assert_int_equal(st.precision, GLOW_PRECISION_FP32);
    st.train_limit = fx.st.train_limit;
    assert_true(st.train_fingerprint == 0);
    st.train_count = fx.st.train_count;
    st.train_fingerprint = fx.st.train_fingerprint;
    st.config = fx.st.config;
    st.precision = fx.st.precision;
    assert_same_state(&fx.st, &st);
    assert_memory_equal(p, fx.params, fx.table.total * sizeof(float));
    free(p);
    glow_param_table_free(&t);
    b[12] = HEADER_V2;
    reseal(b, v1_len);
    write_all(path, b, v1_len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "header record of 148 bytes, version 1 has 132");
    free(b);
    free_fixture(&fx);
}

/* A version-2 file (before --pad: the header without its last field) loads as
 * pad = zero; the pad field of a version-3 file is read back, and an unknown
 * value is refused. */
static void test_reads_version_2_and_pad(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    size_t len;
    uint8_t *b = saved_bytes(&fx, "v2.ckpt", path, sizeof path, &len);
    assert_int_equal(b[16 + HEADER_V2], GLOW_PAD_ZERO);
    b[16 + HEADER_V2] = GLOW_PAD_EDGE; /* u32 pad at header byte 148 */
    reseal(b, len);
    write_all(path, b, len);
    glow_checkpoint_state st;
    glow_param_table t;
    float *p;
    TU_OK(glow_checkpoint_load(path, NULL, &st, &t, &p, NULL, NULL));
    assert_int_equal(st.config.pad, GLOW_PAD_EDGE);
    free(p);
    glow_param_table_free(&t);
    expect_load_error(path, &fx.st.config, GLOW_ERR_INVALID_ARG, "pad 1 in the checkpoint, 0 requested");
    b[16 + HEADER_V2] = 2;
    reseal(b, len);
    write_all(path, b, len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "unknown padding mode 2");
    b[16 + HEADER_V2] = GLOW_PAD_EDGE;
    truncate_to_version(b, len, 2, HEADER_V2, path);
    load_unconditional(path, &fx, &st, &t, &p);
    assert_int_equal(st.config.pad, GLOW_PAD_ZERO);
    st.config.n_classes = fx.st.config.n_classes;
    st.config.class_weight = fx.st.config.class_weight;
    assert_int_equal(st.precision, GLOW_PRECISION_FP32);
    st.precision = fx.st.precision;
    assert_same_state(&fx.st, &st);
    assert_memory_equal(p, fx.params, fx.table.total * sizeof(float));
    free(p);
    glow_param_table_free(&t);
    free(b);
    free_fixture(&fx);
}

static void test_inconsistent_table(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    size_t len;
    uint8_t *b = saved_bytes(&fx, "table.ckpt", path, sizeof path, &len);
    /* Entry 1's offset (u64 at record byte 64) moved onto entry 0's data, re-sealed. */
    size_t entry1 = TABLE_AT + 92;
    memset(b + entry1 + 64, 0, 8);
    reseal(b, len);
    write_all(path, b, len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "overlaps the previous entry");
    /* A duplicate name. */
    free(b);
    free_fixture(&fx);
    b = saved_bytes(&fx, "table.ckpt", path, sizeof path, &len);
    memcpy(b + entry1, b + entry1 - 92, 64);
    reseal(b, len);
    write_all(path, b, len);
    expect_load_error(path, NULL, GLOW_ERR_FORMAT, "appears twice");
    free(b);
    free_fixture(&fx);
}

static void test_config_mismatch(void **state)
{
    (void)state;
    fixture fx;
    char path[512];
    size_t len;
    uint8_t *b = saved_bytes(&fx, "config.ckpt", path, sizeof path, &len);
    free(b);
    glow_model_config want = fx.st.config;
    want.levels = 2;
    want.hidden = 128;
    expect_load_error(path, &want, GLOW_ERR_INVALID_ARG,
                      "checkpoint config differs: levels 3 in the checkpoint, 2 requested, hidden 64 in the "
                      "checkpoint, 128 requested");

    /* The table of a different model. */
    glow_checkpoint_state st;
    glow_param_table t, other;
    TU_OK(glow_checkpoint_load(path, NULL, &st, &t, NULL, NULL, NULL));
    glow_param_table_init(&other);
    TU_OK(glow_param_table_add(&other, "level0.step0.actnorm.bias", 1, 1, 1, 4, 1, NULL));
    TU_OK(glow_param_table_add(&other, "level0.step0.invconv.sign", 1, 1, 1, 4, 0, NULL));
    TU_OK(glow_param_table_add(&other, "level0.step0.coupling.conv1.w", 3, 3, 2, 6, 1, NULL));
    TU_OK(glow_param_table_add(&other, "top.prior.b", 1, 1, 1, 7, 1, NULL));
    assert_int_equal(glow_checkpoint_check_table(path, &other, &t), GLOW_ERR_INVALID_ARG);
    assert_non_null(strstr(glow_last_error(), "level0.step0.coupling.conv1.w"));
    glow_param_table_free(&other);
    glow_param_table_free(&t);
    free_fixture(&fx);
}

/* ---- atomic save ------------------------------------------------------------ */

static int count_temporaries(void)
{
    DIR *d = opendir(tu_temp_dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

/* The save fails part-way (the file size limit makes write() fail with EFBIG,
 * which works even for root, unlike a read-only directory); the old
 * checkpoint must load unchanged. */
static void test_failed_save_keeps_old_file(void **state)
{
    (void)state;
    fixture old_fx, new_fx;
    make_fixture(&old_fx, 31);
    make_fixture(&new_fx, 32);
    char path[512];
    ckpt_path(path, sizeof path, "atomic.ckpt");
    TU_OK(glow_checkpoint_save(path, &old_fx.st, &old_fx.table, old_fx.params, old_fx.m, old_fx.v));

    struct rlimit saved, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 300; /* below the 2156-byte checkpoint (135 floats per arena) */
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    new_fx.st.step = 999;
    glow_status s = glow_checkpoint_save(path, &new_fx.st, &new_fx.table, new_fx.params, new_fx.m, new_fx.v);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, old_handler);
    if (s != GLOW_ERR_IO || strstr(glow_last_error(), "left intact") == NULL)
        fail_msg("expected an I/O error, got %s: %s", glow_status_name(s), glow_last_error());
    assert_int_equal(count_temporaries(), 0);

    glow_checkpoint_state st;
    glow_param_table t;
    float *p;
    TU_OK(glow_checkpoint_load(path, NULL, &st, &t, &p, NULL, NULL));
    assert_true(st.step == old_fx.st.step);
    assert_memory_equal(p, old_fx.params, t.total * sizeof(float));
    free(p);
    glow_param_table_free(&t);

    /* A directory that does not exist: an I/O error naming the path. */
    assert_int_equal(glow_checkpoint_save("/nonexistent-dir/x.ckpt", &new_fx.st, &new_fx.table, new_fx.params, NULL,
                                          NULL),
                     GLOW_ERR_IO);
    assert_non_null(strstr(glow_last_error(), "/nonexistent-dir/x.ckpt"));

    /* A successful save replaces the file and leaves no temporary. */
    TU_OK(glow_checkpoint_save(path, &new_fx.st, &new_fx.table, new_fx.params, new_fx.m, new_fx.v));
    assert_int_equal(count_temporaries(), 0);
    TU_OK(glow_checkpoint_load(path, NULL, &st, &t, NULL, NULL, NULL));
    assert_true(st.step == 999);
    glow_param_table_free(&t);
    free_fixture(&old_fx);
    free_fixture(&new_fx);
}

/* Temporaries of saves killed mid-write (path.tmp.XXXXXX) are removed by the
 * next successful save of the same path; other files are left alone. */
static void test_save_removes_stale_temporaries(void **state)
{
    (void)state;
    fixture fx;
    make_fixture(&fx, 41);
    char path[512], stale[600], other[600], similar[600];
    ckpt_path(path, sizeof path, "stale.ckpt");
    snprintf(stale, sizeof stale, "%s.tmp.Ab3xYz", path);
    snprintf(other, sizeof other, "%s/other.ckpt.tmp.Ab3xYz", tu_temp_dir);
    snprintf(similar, sizeof similar, "%s.tmp.toolong", path);
    const char *files[] = {stale, other, similar};
    for (int i = 0; i < 3; i++)
        write_all(files[i], (const uint8_t *)"half a checkpoint", 17);
    TU_OK(glow_checkpoint_save(path, &fx.st, &fx.table, fx.params, fx.m, fx.v));
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(other, F_OK), 0);
    assert_int_equal(access(similar, F_OK), 0);
    assert_int_equal(count_temporaries(), 2);
    remove(other);
    remove(similar);
    free_fixture(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_bit_exact),
        cmocka_unit_test(test_null_moments_saved_as_zeros),
        cmocka_unit_test(test_flipped_byte_fails_checksum),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_wrong_version_and_magic),
        cmocka_unit_test(test_reads_version_1),
        cmocka_unit_test(test_reads_version_2_and_pad),
        cmocka_unit_test(test_reads_version_2),
        cmocka_unit_test(test_inconsistent_table),
        cmocka_unit_test(test_config_mismatch),
        cmocka_unit_test(test_failed_save_keeps_old_file),
        cmocka_unit_test(test_save_removes_stale_temporaries),
    };
    return cmocka_run_group_tests(tests, tu_make_temp_dir, tu_remove_temp_dir);
}
