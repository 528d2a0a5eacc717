/* cli_device.c - helpers shared by the device commands (cli_device.h). */
#include "cli_device.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void say_device(const char *cmd, xnca_dev *dev, const char *how)
{
    const xnca_device_info *in = xnca_info(dev);
    char baud[32] = "";
    if (xnca_link_baud(dev))
        snprintf(baud, sizeof baud, ", %d baud", xnca_link_baud(dev));
    fprintf(stderr, "xnca %s: device %s (board %s, build %08x%s)%s\n", cmd, xnca_transport_name(dev), in->board,
            in->build_id, baud, how);
}

int cli_device_open(const char *cmd, const char *spec, xnca_dev **dev)
{
    char err[512];
    *dev = NULL;
    if (!spec || !strcmp(spec, "auto")) {
        const char *env = getenv("XNCA_DEVICE");
        if (env && *env && strcmp(env, "auto")) {
            spec = env;
        } else {
            /* a USB board first, then the simulated RTL, then the reference engine */
            if (!xnca_open("usb", NULL, dev, err, sizeof err)) {
                say_device(cmd, *dev, ", picked automatically");
                return XNCA_EXIT_OK;
            }
            if (!strstr(err, "no FTDI bridge found"))
                fprintf(stderr, "xnca %s: a USB bridge is present but no xnca device answered (%s)\n", cmd, err);
            if (!xnca_open("sim", NULL, dev, err, sizeof err)) {
                say_device(cmd, *dev, ", picked automatically: no USB board found");
                return XNCA_EXIT_OK;
            }
            if (xnca_open("cpu", NULL, dev, err, sizeof err)) {
                fprintf(stderr, "xnca %s: cpu: %s\n", cmd, err);
                return XNCA_EXIT_DEVICE;
            }
            say_device(cmd, *dev, ": no USB board found and the sim device is not available, "
                                  "running on the reference engine (use --device to choose)");
            return XNCA_EXIT_OK;
        }
    }
    int rc = xnca_open(spec, NULL, dev, err, sizeof err);
    if (rc) {
        fprintf(stderr, "xnca %s: device '%s': %s\n", cmd, spec, err);
        return rc == XNCA_RC_USAGE ? XNCA_EXIT_USAGE : XNCA_EXIT_DEVICE;
    }
    say_device(cmd, *dev, "");
    return XNCA_EXIT_OK;
}

int cli_device_load_model(const char *cmd, xnca_dev *dev, const char *path, xnca_model *m)
{
    int rc = cli_load_model(cmd, path, m);
    if (rc)
        return rc;
    rc = xnca_load_model_file(dev, path);
    if (rc) {
        fprintf(stderr, "xnca %s: %s: %s\n", cmd, path, xnca_error(dev));
        xnca_model_free(m);
        return rc == XNCA_RC_USAGE ? XNCA_EXIT_USAGE : XNCA_EXIT_DEVICE;
    }
    return XNCA_EXIT_OK;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int cli_parse_steps(const char *list, int max_step, int max_n, int *steps, int *n)
{
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return -1;
    int k = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long v;
        if (cli_parse_int(tok, 1, max_step, &v) || k >= max_n) {
            free(copy);
            return -1;
        }
        steps[k++] = (int)v;
    }
    free(copy);
    if (k == 0)
        return -1;
    qsort(steps, (size_t)k, sizeof(int), cmp_int);
    int j = 0;
    for (int i = 0; i < k; i++)
        if (j == 0 || steps[i] != steps[j - 1])
            steps[j++] = steps[i];
    *n = j;
    return 0;
}

void cli_state_classes(const int8_t *states, int cells, int channels, int8_t *classes)
{
    for (int i = 0; i < cells; i++) {
        const int8_t *s = states + (size_t)i * channels;
        if (s[0] == 0) {
            classes[i] = -1;
            continue;
        }
        const int8_t *cls = s + channels - XNCA_CLASSES;
        int best = 0;
        for (int k = 1; k < XNCA_CLASSES; k++)
            if (cls[k] > cls[best])
                best = k;
        classes[i] = (int8_t)best;
    }
}

double cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void cli_progress_start(cli_progress *p, long total)
{
    p->total = total;
    p->enabled = total > 1 && isatty(STDERR_FILENO);
    p->last_permille = -1;
    p->start = cli_now();
}

void cli_progress_update(cli_progress *p, long done)
{
    if (!p->enabled || p->total <= 0)
        return;
    int pm = (int)(done * 1000 / p->total);
    if (pm == p->last_permille)
        return;
    p->last_permille = pm;
    int width = 40, fill = (int)(done * width / p->total);
    double el = cli_now() - p->start, eta = done > 0 ? el * (double)(p->total - done) / (double)done : 0.0;
    fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %ld/%ld  %.0fs elapsed, %.0fs left ", fill,
            "########################################", width - fill, "", pm / 10.0, done, p->total, el, eta);
    if (done >= p->total)
        fputc('\n', stderr);
    fflush(stderr);
}

int cli_read_build_id(const char *path, uint32_t *id)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[64] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *end;
    unsigned long v = strtoul(buf, &end, 16);
    if (end - buf != 8 || (*end && *end != '\n' && *end != '\r' && *end != ' '))
        return -2;
    *id = (uint32_t)v;
    return 0;
}
