#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_init(progress *p, FILE *out, int log_every)
{
    p->out = out;
    p->is_tty = isatty(fileno(out));
    p->log_every = log_every > 0 ? log_every : 1;
    p->line_open = 0;
    p->ema_ips = 0.0;
    p->last_draw = -1.0;
    p->prefix = "";
}

void progress_set_prefix(progress *p, const char *prefix)
{
    p->prefix = prefix != NULL ? prefix : "";
}

void progress_format_duration(double seconds, char *buf, size_t len)
{
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, len, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, len, "%lds", s);
}

void progress_step(progress *p, int64_t step, int64_t total_steps, int epoch, int epochs, double images_per_s,
                   int batch, double bpd)
{
    p->ema_ips = p->ema_ips > 0.0 ? 0.9 * p->ema_ips + 0.1 * images_per_s : images_per_s;
    char eta[32];
    double remaining_images = (double)(total_steps - step) * batch;
    progress_format_duration(p->ema_ips > 0.0 ? remaining_images / p->ema_ips : NAN, eta, sizeof eta);
    if (p->is_tty) {
        double now = monotonic_seconds();
        if (p->last_draw >= 0.0 && now - p->last_draw < 0.1 && step != total_steps)
            return;
        p->last_draw = now;
        char bar[21];
        int filled = total_steps > 0 ? (int)(20 * step / total_steps) : 20;
        for (int i = 0; i < 20; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[20] = '\0';
        fprintf(p->out, "\r%s[%s] step %lld/%lld | epoch %d/%d | %.1f img/s | bpd %.4f | ETA %s\x1b[K", p->prefix, bar,
                (long long)step, (long long)total_steps, epoch, epochs, p->ema_ips, bpd, eta);
        p->line_open = 1;
    } else if (step % p->log_every == 0 || step == total_steps || step == 1) {
        fprintf(p->out, "%sstep %lld/%lld epoch %d/%d  %.1f img/s  train bpd %.4f  ETA %s\n", p->prefix, (long long)step,
                (long long)total_steps, epoch, epochs, p->ema_ips, bpd, eta);
    }
    fflush(p->out);
}

void progress_finish(progress *p)
{
    if (p->line_open) {
        fputc('\n', p->out);
        p->line_open = 0;
        fflush(p->out);
    }
}

void progress_message(progress *p, const char *fmt, ...)
{
    progress_finish(p);
    fputs(p->prefix, p->out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fputc('\n', p->out);
    fflush(p->out);
}
