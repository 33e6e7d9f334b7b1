#include "metrics_log.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "glow/plot.h"

static const char k_header[] = "step,epoch,lr,train_bpd,test_bpd,images_per_s,seconds\n";
static const char k_header_classes[] =
    "step,epoch,lr,train_bpd,test_bpd,images_per_s,seconds,train_bits_y,train_class_acc,test_bits_y,test_class_acc\n";

static const char *header(const metrics_log *log)
{
    return log->class_columns ? k_header_classes : k_header;
}

/* ",a,b,c,d" of the classifier columns (NAN or no row: empty cells) into out. */
static void class_cells(const metrics_class_row *cls, char *out, size_t len)
{
    const double v[4] = {cls ? cls->train_bits_y : NAN, cls ? cls->train_acc : NAN, cls ? cls->test_bits_y : NAN,
                         cls ? cls->test_acc : NAN};
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < 4 && used < len; k++) {
        int n = isfinite(v[k]) ? snprintf(out + used, len - used, ",%.9g", v[k]) : snprintf(out + used, len - used, ",");
        used += n > 0 ? (size_t)n : 0;
    }
}

static glow_status series_push(metrics_series *s, double x, double y)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 1024;
        double *nx = realloc(s->x, (size_t)cap * sizeof *nx);
        if (nx == NULL)
            return glow_error(GLOW_ERR_OUT_OF_MEMORY, "metrics history: %d points", cap);
        s->x = nx;
        double *ny = realloc(s->y, (size_t)cap * sizeof *ny);
        if (ny == NULL)
            return glow_error(GLOW_ERR_OUT_OF_MEMORY, "metrics history: %d points", cap);
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    return GLOW_OK;
}

static glow_status record(metrics_log *log, int64_t step, double train_bpd, double test_bpd)
{
    GLOW_TRY(series_push(&log->train, (double)step, train_bpd));
    if (isfinite(test_bpd))
        GLOW_TRY(series_push(&log->test, (double)step, test_bpd));
    return GLOW_OK;
}

/* suffix: the classifier cells (",a,b,c,d"), or "" */
static int write_row(FILE *f, int64_t step, int epoch, double lr, double train_bpd, double test_bpd, double ips,
                     double seconds, const char *suffix)
{
    char test[40] = "";
    if (isfinite(test_bpd))
        snprintf(test, sizeof test, "%.9g", test_bpd);
    return fprintf(f, "%lld,%d,%.9g,%.9g,%s,%.2f,%.3f%s\n", (long long)step, epoch, lr, train_bpd, test, ips,
                   seconds, suffix) > 0;
}

/* Parses one CSV row; an empty test_bpd cell gives NAN. *rest points at what follows the
 * seconds cell (the classifier cells, or the newline). Returns 0 on a malformed row. */
static int parse_row(const char *line, int64_t *step, int *epoch, double *lr, double *train_bpd, double *test_bpd,
                     double *ips, double *seconds, const char **rest)
{
    char *end;
    const char *p = line;
    long long s = strtoll(p, &end, 10);
    if (end == p || *end != ',')
        return 0;
    *step = s;
    p = end + 1;
    *epoch = (int)strtol(p, &end, 10);
    if (end == p || *end != ',')
        return 0;
    p = end + 1;
    double *fields[] = {lr, train_bpd, test_bpd, ips, seconds};
    for (int k = 0; k < 5; k++) {
        if (k == 2 && *p == ',') {
            *test_bpd = NAN;
            p++;
            continue;
        }
        *fields[k] = strtod(p, &end);
        if (end == p || (k < 4 && *end != ','))
            return 0;
        if (k == 4)
            *rest = end;
        p = end + 1;
    }
    return 1;
}

/* Rewrites the kept rows of an existing metrics file into `tmp_path`. */
static glow_status keep_rows_until(metrics_log *log, const char *tmp_path, int64_t resume_step)
{
    FILE *in = fopen(log->path, "r");
    if (in == NULL)
        return GLOW_OK; /* no history: start a fresh file */
    FILE *out = fopen(tmp_path, "w");
    if (out == NULL) {
        fclose(in);
        return glow_error(GLOW_ERR_IO, "%s: cannot create: %s", tmp_path, strerror(errno));
    }
    glow_status st = GLOW_OK;
    int ok = fputs(header(log), out) >= 0;
    char line[512];
    int lineno = 0;
    while (st == GLOW_OK && fgets(line, sizeof line, in) != NULL) {
        lineno++;
        if (lineno == 1 || line[0] == '\n')
            continue;
        int64_t step;
        int epoch;
        double lr, train, test, ips, seconds;
        const char *rest = NULL;
        if (!parse_row(line, &step, &epoch, &lr, &train, &test, &ips, &seconds, &rest)) {
            st = glow_error(GLOW_ERR_FORMAT, "%s: line %d is not a metrics row", log->path, lineno);
            break;
        }
        if (step > resume_step)
            continue;
        /* the classifier cells are kept as they were (a row written without them gets empty ones) */
        char suffix[256] = "";
        if (log->class_columns) {
            if (*rest == ',')
                snprintf(suffix, sizeof suffix, "%.*s", (int)strcspn(rest, "\r\n"), rest);
            else
                class_cells(NULL, suffix, sizeof suffix);
        }
        ok &= write_row(out, step, epoch, lr, train, test, ips, seconds, suffix);
        st = record(log, step, train, test);
        log->seconds_offset = seconds;
    }
    fclose(in);
    if (fclose(out) != 0 || !ok)
        st = st != GLOW_OK ? st : glow_error(GLOW_ERR_IO, "%s: write failed", tmp_path);
    if (st == GLOW_OK && rename(tmp_path, log->path) != 0)
        st = glow_error(GLOW_ERR_IO, "%s: cannot replace: %s", log->path, strerror(errno));
    if (st != GLOW_OK)
        remove(tmp_path);
    return st;
}

glow_status metrics_log_open(metrics_log *log, const char *out_dir, int64_t resume_step, int class_columns)
{
    memset(log, 0, sizeof *log);
    log->class_columns = class_columns;
    int n = snprintf(log->path, sizeof log->path, "%s/metrics.csv", out_dir);
    if (n < 0 || (size_t)n >= sizeof log->path)
        return glow_error(GLOW_ERR_INVALID_ARG, "output directory path too long: %s", out_dir);
    int have_rows = 0;
    if (resume_step >= 0) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", log->path);
        glow_status st = keep_rows_until(log, tmp, resume_step);
        if (st != GLOW_OK) {
            metrics_log_close(log);
            return st;
        }
        FILE *probe = fopen(log->path, "r");
        have_rows = probe != NULL;
        if (probe)
            fclose(probe);
    }
    log->f = fopen(log->path, have_rows ? "a" : "w");
    if (log->f == NULL) {
        glow_status st = glow_error(GLOW_ERR_IO, "%s: cannot open for writing: %s", log->path, strerror(errno));
        metrics_log_close(log);
        return st;
    }
    if (!have_rows && fputs(header(log), log->f) < 0) {
        metrics_log_close(log);
        return glow_error(GLOW_ERR_IO, "%s: write failed", log->path);
    }
    fflush(log->f);
    return GLOW_OK;
}

glow_status metrics_log_append(metrics_log *log, int64_t step, int epoch, double lr, double train_bpd,
                               double test_bpd, double images_per_s, double seconds, const metrics_class_row *cls)
{
    char suffix[256] = "";
    if (log->class_columns)
        class_cells(cls, suffix, sizeof suffix);
    if (!write_row(log->f, step, epoch, lr, train_bpd, test_bpd, images_per_s, log->seconds_offset + seconds,
                   suffix) ||
        fflush(log->f) != 0)
        return glow_error(GLOW_ERR_IO, "%s: write failed: %s", log->path, strerror(errno));
    return record(log, step, train_bpd, test_bpd);
}

glow_status metrics_log_plot(const metrics_log *log, const char *path, const char *title)
{
    return glow_plot_loss(path, log->train.x, log->train.y, log->train.n, log->test.x, log->test.y, log->test.n,
                          title, 0, 0);
}

void metrics_log_close(metrics_log *log)
{
    if (log->f)
        fclose(log->f);
    free(log->train.x);
    free(log->train.y);
    free(log->test.x);
    free(log->test.y);
    memset(log, 0, sizeof *log);
}
