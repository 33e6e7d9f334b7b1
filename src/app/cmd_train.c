/* glow-vk train: flags, presets, resume settings, then the trainer.
 *
 * Default settings are the lab report's (section 4): L=3, K=16, F=512,
 * n_bits=5, batch 256, 100 epochs; CIFAR-10 lr 1e-3 after 10 warm-up epochs,
 * MNIST-class lr 1e-4 without warm-up. `--preset small` changes the defaults
 * (flags given explicitly still win) to a model that trains in minutes on a
 * CPU: L=2, K=4, F=32, batch 32, lr 1e-3 with 0.02 warm-up epochs, stopping
 * after 3,000 steps in the second epoch (about two minutes on the fast cpu
 * backend of a 2-core machine; 300 steps gave a grid of faint blobs).
 * With --resume the run's settings come from the checkpoint; a flag that
 * contradicts it is a usage error. Only the length of the run (--epochs,
 * --steps), where it runs (--backend, --device, --memory), and the outputs
 * (--out, --temperature, --samples, --test-limit, --log-every, --data-dir)
 * may be chosen anew. Everything that decides the data order (dataset, seed,
 * batch, --train-limit) comes from the checkpoint.
 * --L must leave images divisible by 2^L: a larger one is a usage error.
 * --conditional makes the model class-conditional (openai/glow's ycond) with as many
 * classes as the data set's labels (1 + the largest label: 10 for mnist, fashion-mnist,
 * cifar10; a folder's subfolders); --class-weight W (default 0.01, openai's) weights the
 * classifier's bits_y in the objective, 0 leaves the classifier out. Both are stored in
 * the checkpoint (a resumed run takes them from there).
 * --precision (fp32 default, or tf32) is stored in the checkpoint. A resume
 * keeps the stored one unless --precision is given: then the new one is used
 * from there on (with a note; the arithmetic, not the run's data, changes) and
 * the following checkpoints record it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app_common.h"
#include "app_data.h"
#include "cli_args.h"
#include "commands.h"
#include "glow/checkpoint.h"
#include "glow/data.h"
#include "dist.h"
#include "dist_backend.h"
#include "trainer.h"

static const char k_usage[] = "glow-vk train [--dataset D] [--preset small|report] [--out DIR] [--resume [FILE]] "
                              "[flags]";
static const char k_description[] =
    "Trains Glow on an image data set. Writes OUT/config.txt, metrics.csv, loss.png, samples_epochNNN.png,\n"
    "samples_final.png and checkpoint.glow (every epoch, at the end, and on SIGINT/SIGTERM).";

typedef struct {
    const char *dataset, *data_dir, *backend, *devices, *memory, *optimizer, *out, *resume, *preset, *pad;
    app_folder_flags folder;
    int levels, steps, hidden, n_bits, batch, epochs, samples, train_limit, test_limit, log_every;
    int conditional;
    float lr, warmup_epochs, temperature, max_grad_norm, class_weight;
    uint64_t seed, max_steps;
} train_flags;

enum { N_TRAIN_FLAGS = 36 };

static void describe_flags(train_flags *v, cli_flag *f)
{
    const cli_flag table[N_TRAIN_FLAGS] = {
        {"dataset", 0, CLI_CHOICE, &v->dataset, 0, 0, APP_DATASET_CHOICES, "D", "data set", NULL, 0},
        {"data-dir", 0, CLI_STRING, &v->data_dir, 0, 0, NULL, "DIR",
         "where the data set's files are (folder: the images, one subfolder per class)",
         "/usr/share/datasets/fashion-mnist for fashion-mnist, else ~/.local/share/glow-vk/D", 0},
        {"test-dir", 0, CLI_STRING, &v->folder.test_dir, 0, 0, NULL, "DIR", "folder: the test images",
         "hold out --test-fraction of --data-dir", 0},
        {"test-fraction", 0, CLI_FLOAT, &v->folder.test_fraction, 1e-6, 0.9, NULL, "F",
         "folder: fraction of the images held out for testing (fixed seed)", NULL, 0},
        {"size", 0, CLI_INT, &v->folder.size, 8, 256, NULL, "S",
         "folder: images are centre-cropped and area-resized to SxS (a power of two, 8 to 256)", NULL, 0},
        {"channels", 0, CLI_INT, &v->folder.channels, 1, 3, NULL, "C", "folder: 1 (gray) or 3 (RGB)", NULL, 0},
        {"strict-data", 0, CLI_SWITCH, &v->folder.strict, 0, 0, NULL, NULL,
         "folder: the first unreadable image is an error instead of being skipped", NULL, 0},
        {"cache-dir", 0, CLI_STRING, &v->folder.cache_dir, 0, 0, NULL, "DIR", "folder: where decoded images are cached",
         "$XDG_CACHE_HOME/glow-vk or ~/.cache/glow-vk", 0},
        {"backend", 0, CLI_STRING, &v->backend, 0, 0, NULL, "B",
         "compute backend: auto, ref, cpu, vulkan or cuda; under mpirun one per rank, e.g. vulkan,ref", NULL, 0},
        {"device", 0, CLI_STRING, &v->devices, 0, 0, NULL, "N",
         "device index of the backend (-1: preferred); under mpirun one per rank, e.g. 0,1",
         "preferred; under mpirun the node-local rank", 0},
        APP_THREADS_FLAG,
        APP_PRECISION_FLAG,
        {"L", 0, CLI_INT, &v->levels, 1, 16, NULL, "N",
         "levels (multi-scale blocks; each halves the image, so at most log2 of the image size)", NULL, 0},
        {"K", 0, CLI_INT, &v->steps, 1, 256, NULL, "N", "flow steps per level", NULL, 0},
        {"hidden", 0, CLI_INT, &v->hidden, 1, 4096, NULL, "F", "channels of the coupling networks", NULL, 0},
        {"n-bits", 0, CLI_INT, &v->n_bits, 1, 8, NULL, "N", "bits per colour channel the model sees", NULL, 0},
        {"pad", 0, CLI_CHOICE, &v->pad, 0, 0, "zero|edge", "P",
         "padding of the 3x3 convs: zeros, or zeros plus openai/glow's edge-indicator channel", NULL, 0},
        {"conditional", 0, CLI_SWITCH, &v->conditional, 0, 0, NULL, NULL,
         "class-conditional model: a learned per-class term in the top prior (classes from the data's labels)",
         NULL, 0},
        {"class-weight", 0, CLI_FLOAT, &v->class_weight, 0, 1e6, NULL, "W",
         "with --conditional: weight of the top-latent classifier's bits_y in the loss (0: no classifier)",
         "0.01", 0},
        {"batch", 0, CLI_INT, &v->batch, 1, 65536, NULL, "N", "images per optimiser step", NULL, 0},
        {"lr", 0, CLI_FLOAT, &v->lr, 1e-12, 1.0, NULL, "X", "learning rate after warm-up",
         "1e-3 for cifar10, 1e-4 for mnist and fashion-mnist", 0},
        {"warmup-epochs", 0, CLI_FLOAT, &v->warmup_epochs, 0, 1e6, NULL, "E",
         "epochs over which lr rises linearly from 0", "10 for cifar10, 0 for mnist and fashion-mnist", 0},
        {"epochs", 0, CLI_INT, &v->epochs, 1, 1000000, NULL, "N", "epochs to train", NULL, 0},
        {"steps", 0, CLI_U64, &v->max_steps, 0, 1e15, NULL, "N",
         "stop when N optimiser steps have been taken in all (0: no limit)", NULL, 0},
        {"seed", 0, CLI_U64, &v->seed, 0, 1.8e19, NULL, "S", "seed of every random stream", NULL, 0},
        {"memory", 0, CLI_CHOICE, &v->memory, 0, 0, "store|reversible", "M",
         "keep activations, or rebuild them from outputs in the backward pass", NULL, 0},
        {"optimizer", 0, CLI_CHOICE, &v->optimizer, 0, 0, "adam|adamax", "O", "optimiser", NULL, 0},
        {"max-grad-norm", 0, CLI_FLOAT, &v->max_grad_norm, 0, 1e9, NULL, "X",
         "clip the global gradient norm to X (0: no clipping)", NULL, 0},
        {"temperature", 0, CLI_FLOAT, &v->temperature, 0, 10, NULL, "T", "temperature of the sample grids", NULL,
         0},
        {"samples", 0, CLI_INT, &v->samples, 1, 1024, NULL, "N", "images per sample grid", NULL, 0},
        {"train-limit", 0, CLI_INT, &v->train_limit, 0, 1000000000, NULL, "N",
         "train on the first N training images only (0: all)", NULL, 0},
        {"test-limit", 0, CLI_INT, &v->test_limit, 0, 1000000000, NULL, "N",
         "evaluate only the first N test images (0: all)", NULL, 0},
        {"log-every", 0, CLI_INT, &v->log_every, 1, 1000000000, NULL, "N",
         "log a line every N steps when stdout is not a terminal", NULL, 0},
        {"out", 'o', CLI_STRING, &v->out, 0, 0, NULL, "DIR", "output directory (created if missing)", NULL, 0},
        {"resume", 0, CLI_OPTIONAL_STRING, &v->resume, 0, 0, NULL, "FILE",
         "continue the run stored in FILE", "OUT/checkpoint.glow", 0},
        {"preset", 0, CLI_CHOICE, &v->preset, 0, 0, "small|report", "P",
         "default settings: the lab report's, or a small model for a CPU", NULL, 0},
    };
    memcpy(f, table, sizeof table);
}

static int is_given(cli_flag *f, const char *name)
{
    return cli_find(f, N_TRAIN_FLAGS, name)->given;
}

/* Applies the preset and the per-data-set learning-rate schedule to flags not given. */
static void apply_defaults(train_flags *v, cli_flag *f)
{
    const int small = strcmp(v->preset, "small") == 0;
    const int cifar = strcmp(v->dataset, "cifar10") == 0;
    if (small) {
        if (!is_given(f, "L"))
            v->levels = 2;
        if (!is_given(f, "K"))
            v->steps = 4;
        if (!is_given(f, "hidden"))
            v->hidden = 32;
        if (!is_given(f, "batch"))
            v->batch = 32;
        if (!is_given(f, "epochs"))
            v->epochs = 2;
        if (!is_given(f, "steps"))
            v->max_steps = 3000;
        if (!is_given(f, "test-limit"))
            v->test_limit = 2000;
    }
    if (!is_given(f, "lr"))
        v->lr = (small || cifar) ? 1e-3f : 1e-4f;
    if (!is_given(f, "warmup-epochs"))
        v->warmup_epochs = small ? 0.02f : (cifar ? 10.0f : 0.0f);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "glow-vk train: %s\nusage: %s\n", msg, k_usage);
    return CLI_EXIT_USAGE;
}

/* Copies the run's settings out of the checkpoint; a given flag must agree. */
static int take_resume_settings(train_flags *v, cli_flag *f, const char *path)
{
    glow_checkpoint_state s;
    glow_param_table table;
    glow_status st = glow_checkpoint_load(path, NULL, &s, &table, NULL, NULL, NULL);
    if (st != GLOW_OK)
        return app_report_error("train", st);
    glow_param_table_free(&table);

    char msg[4800] = ""; /* room for a 4096-byte path */
    int bad = 0;
#define TAKE_INT(flag, field, stored)                                                                         \
    do {                                                                                                    \
        if (is_given(f, flag) && v->field != (stored)) {                                                    \
            snprintf(msg, sizeof msg, "--%s %lld contradicts %s, which has %lld", flag, (long long)v->field, \
                     path, (long long)(stored));                                                            \
            bad = 1;                                                                                        \
        }                                                                                                   \
        v->field = (stored);                                                                                \
    } while (0)
#define TAKE_FLOAT(flag, field, stored)                                                                       \
    do {                                                                                                    \
        if (is_given(f, flag) && v->field != (stored)) {                                                    \
            snprintf(msg, sizeof msg, "--%s %g contradicts %s, which has %g", flag, (double)v->field, path,  \
                     (double)(stored));                                                                     \
            bad = 1;                                                                                        \
        }                                                                                                   \
        v->field = (stored);                                                                                \
    } while (0)
    TAKE_INT("L", levels, s.config.levels);
    TAKE_INT("K", steps, s.config.steps);
    TAKE_INT("hidden", hidden, s.config.hidden);
    TAKE_INT("n-bits", n_bits, s.config.n_bits);
    const char *stored_pad = s.config.pad == GLOW_PAD_EDGE ? "edge" : "zero"; /* --pad */
    if (is_given(f, "pad") && strcmp(v->pad, stored_pad) != 0) {
        snprintf(msg, sizeof msg, "--pad %s contradicts %s, which has %s", v->pad, path, stored_pad);
        bad = 1;
    }
    v->pad = stored_pad;
    TAKE_INT("conditional", conditional, s.config.n_classes > 0 ? 1 : 0);
    TAKE_FLOAT("class-weight", class_weight, s.config.class_weight);
    TAKE_INT("batch", batch, s.batch);
    TAKE_INT("seed", seed, s.seed);
    TAKE_FLOAT("lr", lr, s.lr);
    TAKE_FLOAT("warmup-epochs", warmup_epochs, s.warmup_epochs);
    TAKE_FLOAT("max-grad-norm", max_grad_norm, s.max_grad_norm);
    if (s.train_limit >= 0)
        TAKE_INT("train-limit", train_limit, s.train_limit);
    else
        fprintf(stderr, "glow-vk train: note: %s (format version 1) does not record --train-limit; using %d\n",
                path, v->train_limit);
    static char dataset[32];
    snprintf(dataset, sizeof dataset, "%s", s.dataset);
    if (is_given(f, "dataset") && strcmp(v->dataset, dataset) != 0) {
        snprintf(msg, sizeof msg, "--dataset %s contradicts %s, which has %s", v->dataset, path, dataset);
        bad = 1;
    }
    v->dataset = dataset;
    if (strcmp(dataset, "folder") == 0) { /* a folder run's images have the model's size and channels */
        TAKE_INT("size", folder.size, s.config.in_h);
        TAKE_INT("channels", folder.channels, s.config.in_c);
    }
#undef TAKE_INT
#undef TAKE_FLOAT
    const char *opt = s.optimizer == GLOW_OPT_ADAMAX ? "adamax" : "adam";
    if (is_given(f, "optimizer") && strcmp(v->optimizer, opt) != 0) {
        snprintf(msg, sizeof msg, "--optimizer %s contradicts %s, which has %s", v->optimizer, path, opt);
        bad = 1;
    }
    v->optimizer = opt;
    if (!is_given(f, "epochs"))
        v->epochs = s.epochs;
    if (!is_given(f, "memory"))
        v->memory = s.memory == GLOW_MEMORY_REVERSIBLE ? "reversible" : "store";
    if (!is_given(f, "precision"))
        app_precision = glow_precision_name(s.precision);
    else if (glow_precision_parse(app_precision) != (int)s.precision)
        fprintf(stderr, "glow-vk train: note: %s was trained with --precision %s; continuing with %s\n", path,
                glow_precision_name(s.precision), app_precision);
    if (bad)
        return usage_error(msg);
    return -1;
}

/* Each level squeezes the image 2x2, so H and W must be divisible by 2^L. */
static int check_levels(const train_flags *v)
{
    int h, w, c;
    if (strcmp(v->dataset, "folder") == 0)
        h = w = v->folder.size;
    else if (glow_dataset_image_shape(v->dataset, &h, &w, &c) != 0)
        return -1; /* --dataset is a checked choice */
    int largest = 0;
    while (largest < 30 && h % (2 << largest) == 0 && w % (2 << largest) == 0)
        largest++;
    if (v->levels <= largest)
        return -1;
    char msg[256];
    snprintf(msg, sizeof msg,
             "--L %d is too large for the %dx%d images of %s: every level halves the image size, so the largest "
             "valid L is %d", v->levels, h, w, v->dataset, largest);
    return usage_error(msg);
}

/* The folder flags: only with --dataset folder, which needs --data-dir and a
 * --size that is a power of two (8..256, the range the flag accepts). */
static int check_folder_flags(const train_flags *v, cli_flag *f)
{
    static const char *const folder_only[] = {"test-dir", "test-fraction", "size", "channels", "strict-data",
                                              "cache-dir"};
    const int folder = strcmp(v->dataset, "folder") == 0;
    char msg[256];
    for (size_t i = 0; i < sizeof folder_only / sizeof folder_only[0]; i++)
        if (!folder && is_given(f, folder_only[i])) {
            snprintf(msg, sizeof msg, "--%s applies to --dataset folder only", folder_only[i]);
            return usage_error(msg);
        }
    if (!folder)
        return -1;
    if (v->data_dir == NULL)
        return usage_error("--dataset folder needs --data-dir PATH (a folder of PNG/JPEG images, one subfolder per "
                           "class)");
    if ((v->folder.size & (v->folder.size - 1)) != 0) {
        snprintf(msg, sizeof msg, "--size %d is not a power of two (8, 16, 32, 64, 128 or 256)", v->folder.size);
        return usage_error(msg);
    }
    if (v->folder.channels == 2)
        return usage_error("--channels must be 1 (gray) or 3 (RGB)");
    if (v->folder.test_dir != NULL && is_given(f, "test-fraction"))
        return usage_error("--test-fraction and --test-dir exclude each other");
    return -1;
}

int cmd_train(int argc, char **argv)
{
    train_flags v = {
        .dataset = "fashion-mnist", .data_dir = NULL, .backend = "auto", .devices = NULL, .memory = "reversible",
        .optimizer = "adam", .out = "glow-run", .resume = NULL, .preset = "report", .pad = "zero",
        .folder = APP_FOLDER_FLAGS_DEFAULT,
        .levels = 3, .steps = 16, .hidden = 512, .n_bits = 5, .batch = 256, .epochs = 100,
        .samples = 64, .train_limit = 0, .test_limit = 0, .log_every = 50, .conditional = 0,
        .lr = 1e-4f, .warmup_epochs = 0.0f, .temperature = 0.7f, .max_grad_norm = 0.0f, .class_weight = 0.01f,
        .seed = 1, .max_steps = 0,
    };
    cli_flag flags[N_TRAIN_FLAGS];
    describe_flags(&v, flags);
    char err[512];
    int code;
    cli_result r = cli_parse(flags, N_TRAIN_FLAGS, argc, argv, err, sizeof err);
    if (!cli_handle(r, "train", k_usage, k_description, flags, N_TRAIN_FLAGS, err, &code))
        return code;

    char resume_path[4096];
    if (v.resume != NULL) {
        if (is_given(flags, "preset"))
            return usage_error("--preset cannot be combined with --resume (the run's settings are in the checkpoint)");
        if (v.resume[0] != '\0')
            snprintf(resume_path, sizeof resume_path, "%s", v.resume);
        else if (app_path_join(resume_path, sizeof resume_path, v.out, "checkpoint.glow") != GLOW_OK)
            return app_report_error("train", GLOW_ERR_INVALID_ARG);
        int rc = take_resume_settings(&v, flags, resume_path);
        if (rc >= 0)
            return rc;
    } else {
        apply_defaults(&v, flags);
    }
    if (is_given(flags, "class-weight") && !v.conditional)
        return usage_error("--class-weight applies to a --conditional model only");
    int folder_rc = check_folder_flags(&v, flags);
    if (folder_rc >= 0)
        return folder_rc;
    int levels_rc = check_levels(&v);
    if (levels_rc >= 0)
        return levels_rc;

    char rank_backend[32];
    int rank_device = -1;
    if (!dist_choose_backend(v.backend, v.devices, rank_backend, sizeof rank_backend, &rank_device, err, sizeof err))
        return usage_error(err);
    if (v.batch % dist_size() != 0) {
        snprintf(err, sizeof err, "--batch %d cannot be split evenly over %d ranks (give a multiple of %d)", v.batch,
                 dist_size(), dist_size());
        return usage_error(err);
    }

    train_config cfg = {
        .dataset = v.dataset, .data_dir = v.data_dir, .folder = v.folder, .backend = v.backend, .devices = v.devices,
        .levels = v.levels, .steps = v.steps, .hidden = v.hidden, .n_bits = v.n_bits,
        .pad = strcmp(v.pad, "edge") == 0 ? GLOW_PAD_EDGE : GLOW_PAD_ZERO,
        .conditional = v.conditional, .class_weight = v.conditional ? v.class_weight : 0.0f,
        .batch = v.batch, .lr = v.lr, .warmup_epochs = v.warmup_epochs, .epochs = v.epochs,
        .max_steps = (int64_t)v.max_steps, .seed = v.seed,
        .memory = strcmp(v.memory, "store") == 0 ? GLOW_MEMORY_STORE : GLOW_MEMORY_REVERSIBLE,
        .precision = glow_precision_parse(app_precision) == GLOW_PRECISION_TF32 ? GLOW_PRECISION_TF32
                                                                                : GLOW_PRECISION_FP32,
        .optimizer = strcmp(v.optimizer, "adamax") == 0 ? GLOW_OPT_ADAMAX : GLOW_OPT_ADAM,
        .max_grad_norm = v.max_grad_norm, .temperature = v.temperature, .sample_count = v.samples,
        .train_limit = v.train_limit, .test_limit = v.test_limit, .log_every = v.log_every,
        .preset = v.resume != NULL ? "(settings from the checkpoint)" : v.preset,
        .out_dir = v.out,
        .resume_path = v.resume != NULL ? resume_path : NULL,
    };
    return trainer_run(&cfg);
}
