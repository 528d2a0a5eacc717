/* test_tty.c - the `tty:PATH` transport (termios, host/xnca_transport_tty.c) over a real
 * pseudo-terminal pair (openpty) with an in-process device server behind the master: the CPU
 * device model relayed by host/xnca_serve.c, as `xnca sim --pty` serves the Verilated one.
 * Suite `tty` (mk/host.mk); plain and ASan+UBSan.
 *
 * Covered: a full HELLO / INFO / LOAD_WEIGHTS / CLASSIFY (16 report steps, a mutation, several
 * frames in flight) / READ_STATE round trip equal to the engine; garbage on the line toward the
 * device (random bytes with delimiters, headers declaring max + 1 bytes, bad CRCs, truncated
 * frames) before the host opens; garbage toward the host before its first reply (open retries)
 * and mid-session (exit 2, "corrupt reply"); a device that stops answering (exit 2, timeout);
 * a device that disappears (the master closed: exit 2, "device gone") - each within its timeout. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "link_test_util.h"
#include "xnca.h"
#include "xnca_frame.h"
#include "xnca_serve.h"
#include "xnca_transport.h"

/* ---- a device with faults: the cpu transport behind a decorator ---- */

typedef enum { FAULT_NONE, FAULT_GARBAGE, FAULT_MUTE, FAULT_GONE } fault_kind;

typedef struct {
    xnca_transport t;
    xnca_transport *inner;
    fault_kind fault;
    int after_reads;  /* the fault strikes at this device read (0: the first) */
    int reads;
    int master;       /* FAULT_GONE closes it */
} faulty_dev;

static int fd_write(xnca_transport *t, const uint8_t *b, size_t n, int ms)
{
    faulty_dev *f = (faulty_dev *)t;
    return f->inner->write(f->inner, b, n, ms);
}

static long fd_read(xnca_transport *t, uint8_t *b, size_t cap, int ms)
{
    faulty_dev *f = (faulty_dev *)t;
    int now = f->reads++;
    if (f->fault == FAULT_NONE || now < f->after_reads)
        return f->inner->read(f->inner, b, cap, ms);
    switch (f->fault) {
    case FAULT_GARBAGE: { /* a burst of noise that holds a delimiter, then the real reply */
        if (now > f->after_reads)
            return f->inner->read(f->inner, b, cap, ms);
        size_t k = 0;
        for (; k < 40; k++)
            b[k] = (uint8_t)(1 + lt_rnd() % 255);
        b[k++] = 0;
        long n = f->inner->read(f->inner, b + k, cap - k, ms);
        return n < 0 ? n : (long)k + n;
    }
    case FAULT_MUTE: /* swallow the request: nothing ever comes */
        f->inner->read(f->inner, b, cap, ms);
        return 0;
    case FAULT_GONE:
        close(f->master); /* the device vanishes: the host's side hangs up */
        f->master = -1;
        strcpy(t->err, "device unplugged (test)");
        return -1;
    default:
        return 0;
    }
}

static void fd_close(xnca_transport *t)
{
    faulty_dev *f = (faulty_dev *)t;
    f->inner->close(f->inner);
    free(f);
}

/* ---- the pty and its server thread ---- */

typedef struct {
    int master, slave;
    char path[128];
    faulty_dev *dev;
    pthread_t thread;
    volatile sig_atomic_t stop;
    int rc;
    xnca_serve_stats st;
} pty_server;

static void *serve_thread(void *arg)
{
    pty_server *s = arg;
    char err[256];
    s->rc = xnca_serve_conn(&s->dev->t, s->master, &s->stop, &s->st, err, sizeof err);
    return NULL;
}

static void server_start(pty_server *s, fault_kind fault, int after_reads)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(openpty(&s->master, &s->slave, s->path, NULL, NULL), 0);
    struct termios tio; /* raw until the host configures it */
    assert_int_equal(tcgetattr(s->slave, &tio), 0);
    cfmakeraw(&tio);
    tcsetattr(s->slave, TCSANOW, &tio);
    fcntl(s->master, F_SETFL, fcntl(s->master, F_GETFL) | O_NONBLOCK);
    s->dev = calloc(1, sizeof *s->dev);
    char err[256];
    assert_int_equal(xnca_transport_cpu_open("", NULL, &s->dev->inner, err, sizeof err), 0);
    s->dev->t.name = "faulty-cpu";
    s->dev->t.write = fd_write;
    s->dev->t.read = fd_read;
    s->dev->t.close = fd_close;
    s->dev->fault = fault;
    s->dev->after_reads = after_reads;
    s->dev->master = s->master;
    assert_int_equal(pthread_create(&s->thread, NULL, serve_thread, s), 0);
}

static void server_stop(pty_server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    if (s->dev->master >= 0)
        close(s->master);
    close(s->slave);
    s->dev->t.close(&s->dev->t);
}

static int open_tty(pty_server *s, int timeout_ms, xnca_dev **dev, char *err, size_t errlen)
{
    char spec[160];
    snprintf(spec, sizeof spec, "tty:%s@3000000", s->path);
    xnca_open_opts o = {.timeout_ms = timeout_ms};
    return xnca_open(spec, &o, dev, err, errlen);
}

/* ---- tests ---- */

static void test_round_trip(void **state)
{
    (void)state;
    pty_server s;
    server_start(&s, FAULT_NONE, 0);
    xnca_dev *dev;
    char err[512];
    int rc = open_tty(&s, 5000, &dev, err, sizeof err);
    if (rc)
        fprintf(stderr, "open: %s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(xnca_transport_name(dev), "tty");
    assert_string_equal(xnca_info(dev)->board, "cpu");
    assert_int_equal(xnca_hello(dev, 0xdeadbeef), 0);
    xnca_model m;
    lt_load_random_model(dev, &m, 2, 2, 33);
    enum { N = 20 };
    static uint8_t pix[N * 784], mut[N * 784];
    lt_make_digits(pix, N);
    lt_make_digits(mut, N);
    xnca_run_opts o = XNCA_RUN_OPTS_INIT;
    o.seed = 5, o.image_index = 40, o.steps = 16, o.mutate_at = 6;
    lt_report_every_step(&o, 16);
    static xnca_result res[N];
    lt_classify_checked(dev, &m, &o, N, pix, mut, res);
    xnca_model_free(&m);
    xnca_close(dev);
    server_stop(&s);
    assert_true(s.st.frames_in >= 8 && s.st.frames_out == s.st.frames_in);
}

/* Line noise toward the device before the host opens: every burst ends at a delimiter, the
 * device answers what it can, and the host still opens, loads and classifies correctly. */
static void test_garbage_toward_device(void **state)
{
    (void)state;
    pty_server s;
    server_start(&s, FAULT_NONE, 0);
    static uint8_t junk[6000];
    size_t n = 0;
    uint8_t body[XNCA_FRAME_OVERHEAD + 1100], w[2400];
    for (int burst = 0; burst < 12; burst++) {
        switch (burst % 4) {
        case 0: /* random bytes, some of them delimiters */
            for (int i = 0; i < 150; i++)
                junk[n++] = (uint8_t)(lt_rnd() % 4 ? lt_rnd() : 0);
            break;
        case 1: { /* a valid header declaring max_payload + 1 bytes, cut short */
            memset(body, 0x41, sizeof body);
            body[0] = XNCA_OP_CLASSIFY, body[1] = 9, body[2] = (uint8_t)1025, body[3] = (uint8_t)(1025 >> 8);
            n += xnca_cobs_encode(body, 300, junk + n);
            junk[n++] = 0;
            break;
        }
        case 2: { /* a HELLO with a bad CRC */
            uint8_t p[4] = {1, 2, 3, 4};
            size_t k = xnca_frame_build(XNCA_OP_HELLO, 3, p, 4, w);
            w[k - 2] ^= 0x55;
            if (!w[k - 2])
                w[k - 2] = 1;
            memcpy(junk + n, w, k);
            n += k;
            break;
        }
        default: { /* a truncated INFO */
            size_t k = xnca_frame_build(XNCA_OP_INFO, 4, NULL, 0, w);
            memcpy(junk + n, w, k - 3);
            n += k - 3;
            break;
        }
        }
    }
    assert_int_equal(write(s.slave, junk, n), (ssize_t)n);
    for (int i = 0; i < 50 && __atomic_load_n(&s.st.bytes_in, __ATOMIC_RELAXED) < n; i++)
        usleep(20 * 1000); /* let the device take it all */
    assert_true(__atomic_load_n(&s.st.bytes_in, __ATOMIC_RELAXED) >= n);
    usleep(50 * 1000); /* and answer it (the host's open flushes or skips the replies) */
    xnca_dev *dev;
    char err[512];
    int rc = open_tty(&s, 3000, &dev, err, sizeof err);
    if (rc)
        fprintf(stderr, "open after garbage: %s\n", err);
    assert_int_equal(rc, 0);
    xnca_model m;
    lt_load_random_model(dev, &m, 1, 1, 33);
    static uint8_t pix[5 * 784];
    lt_make_digits(pix, 5);
    xnca_run_opts o = XNCA_RUN_OPTS_INIT;
    o.steps = 10, o.report[0] = 10, o.n_report = 1;
    static xnca_result res[5];
    assert_int_equal(xnca_classify(dev, &o, 5, pix, NULL, res), 0);
    lt_check_results(&m, &o, 5, pix, NULL, res, NULL);
    xnca_model_free(&m);
    xnca_close(dev);
    server_stop(&s);
}

/* Noise toward the host before its first reply: open resynchronises (HELLO retried). */
static void test_garbage_toward_host_at_open(void **state)
{
    (void)state;
    pty_server s;
    server_start(&s, FAULT_GARBAGE, 0);
    xnca_dev *dev;
    char err[512];
    int rc = open_tty(&s, 2000, &dev, err, sizeof err);
    if (rc)
        fprintf(stderr, "open: %s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(xnca_hello(dev, 5), 0);
    xnca_close(dev);
    server_stop(&s);
}

/* The failures after open: exit code 2 with a message naming what happened, within the time. */
static void expect_failure(fault_kind fault, const char *want, int timeout_ms)
{
    pty_server s;
    /* reads: HELLO, INFO, LOAD_BEGIN, LOAD_DATA x k, LOAD_END; the fault strikes during CLASSIFY */
    server_start(&s, FAULT_NONE, 0);
    xnca_dev *dev;
    char err[512];
    assert_int_equal(open_tty(&s, timeout_ms, &dev, err, sizeof err), 0);
    xnca_model m;
    lt_load_random_model(dev, &m, 1, 1, 33);
    s.dev->after_reads = s.dev->reads;
    s.dev->fault = fault;
    long took = lt_classify_expect_device_error(dev, want);
    assert_true(took <= timeout_ms + 1000);
    xnca_model_free(&m);
    xnca_close(dev);
    server_stop(&s);
}

static void test_garbage_toward_host(void **state)
{
    (void)state;
    expect_failure(FAULT_GARBAGE, "corrupt reply", 500);
}

static void test_mute_device(void **state)
{
    (void)state;
    expect_failure(FAULT_MUTE, "timeout", 400);
}

static void test_device_gone(void **state)
{
    (void)state;
    expect_failure(FAULT_GONE, "device gone", 3000);
}

/* Opening a path that is no terminal device, or no path at all. */
static void test_bad_paths(void **state)
{
    (void)state;
    xnca_dev *dev;
    char err[512];
    assert_int_equal(xnca_open("tty:/nonexistent/ttyUSB9", NULL, &dev, err, sizeof err), XNCA_RC_DEVICE);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(xnca_open("tty:", NULL, &dev, err, sizeof err), XNCA_RC_DEVICE);
    assert_non_null(strstr(err, "give a path"));
    assert_int_equal(xnca_open("tty:/dev/null@12345", NULL, &dev, err, sizeof err), XNCA_RC_DEVICE);
    assert_non_null(strstr(err, "unsupported baud"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_garbage_toward_device),
        cmocka_unit_test(test_garbage_toward_host_at_open),
        cmocka_unit_test(test_garbage_toward_host),
        cmocka_unit_test(test_mute_device),
        cmocka_unit_test(test_device_gone),
        cmocka_unit_test(test_bad_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
