/* test_idx.c - IDX reader (models/xnca_idx.c): every error path, a good round trip,
 * dataset lookup ($XNCA_DATA, ./data, the executable's ../data) and a mutation sweep
 * that must never crash. Small files are written to a fresh temp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xnca_model.h"

static char tmpdir[PATH_MAX];
static char start_cwd[PATH_MAX];
static char *saved_xnca_data;
static char err[512];

/* ---------------------------------------------------------------- helpers */

static const char *tmp_path(const char *name)
{
    static char bufs[4][PATH_MAX + 64];
    static int next;
    char *p = bufs[next++ % 4];
    snprintf(p, PATH_MAX + 64, "%s/%s", tmpdir, name);
    return p;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void write_bytes(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Pixel value of image i at (y, x) in the synthetic set: distinct for small sets. */
static uint8_t pixel(uint32_t i, uint32_t y, uint32_t x)
{
    return (uint8_t)(i * 37 + y * 11 + x * 3 + 1);
}

/* Build an IDX3 image file in memory: magic, n, rows, cols, then `payload` pixel bytes
 * (payload may differ from n*rows*cols to make truncated or long files). */
static uint8_t *make_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, size_t payload, size_t *len)
{
    uint8_t *buf = calloc(1, 16 + payload);
    size_t k;
    assert_non_null(buf);
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    for (k = 0; k < payload; k++) {
        uint32_t plane = rows * cols != 0 ? rows * cols : 1, cw = cols ? cols : 1;
        buf[16 + k] = pixel((uint32_t)(k / plane), (uint32_t)(k % plane / cw), (uint32_t)(k % cw));
    }
    *len = 16 + payload;
    return buf;
}

static void write_images(const char *name, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols, size_t payload)
{
    size_t len;
    uint8_t *buf = make_images(magic, n, rows, cols, payload, &len);
    write_bytes(tmp_path(name), buf, len);
    free(buf);
}

static void write_labels(const char *name, uint32_t magic, uint32_t n, size_t payload)
{
    uint8_t *buf = calloc(1, 8 + payload);
    size_t k;
    assert_non_null(buf);
    put_be32(buf, magic);
    put_be32(buf + 4, n);
    for (k = 0; k < payload; k++)
        buf[8 + k] = (uint8_t)(k % 10);
    write_bytes(tmp_path(name), buf, 8 + payload);
    free(buf);
}

/* A good 3-image 4x5 set: img.idx + lab.idx. */
static void write_good_pair(void)
{
    write_images("img.idx", 0x803, 3, 4, 5, 3 * 4 * 5);
    write_labels("lab.idx", 0x801, 3, 3);
}

/* Load must fail, leave the dataset empty, and the message must contain each of the given fragments. */
static void expect_fail(const char *images, const char *labels, ...)
{
    xnca_dataset d;
    va_list ap;
    const char *frag;

    memset(&d, 0x5a, sizeof d);
    err[0] = '\0';
    assert_int_equal(xnca_idx_load(images, labels, &d, err, sizeof err), -1);
    assert_null(d.images);
    assert_null(d.labels);
    assert_int_equal(d.n, 0);
    va_start(ap, labels);
    while ((frag = va_arg(ap, const char *)) != NULL) {
        if (!strstr(err, frag))
            fail_msg("error '%s' does not contain '%s'", err, frag);
    }
    va_end(ap);
    xnca_dataset_free(&d); /* safe on a failed load */
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/xnca-test-idx-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    if (!getcwd(start_cwd, sizeof start_cwd))
        return -1;
    saved_xnca_data = getenv("XNCA_DATA") ? strdup(getenv("XNCA_DATA")) : NULL;
    return 0;
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 32];
    if (chdir(start_cwd) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void restore_env(void)
{
    if (saved_xnca_data)
        setenv("XNCA_DATA", saved_xnca_data, 1);
    else
        unsetenv("XNCA_DATA");
    assert_int_equal(chdir(start_cwd), 0);
}

/* ---------------------------------------------------------------- good files */

static void test_round_trip(void **state)
{
    xnca_dataset d;
    uint32_t i, y, x;

    write_good_pair();
    assert_int_equal(xnca_idx_load(tmp_path("img.idx"), tmp_path("lab.idx"), &d, err, sizeof err), 0);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.h, 4);
    assert_int_equal(d.w, 5);
    assert_non_null(d.labels);
    for (i = 0; i < 3; i++) {
        assert_int_equal(d.labels[i], i);
        for (y = 0; y < 4; y++)
            for (x = 0; x < 5; x++)
                assert_int_equal(d.images[(i * 4 + y) * 5 + x], pixel(i, y, x));
    }
    xnca_dataset_free(&d);
    assert_null(d.images);
    xnca_dataset_free(&d); /* twice is harmless */
}

static void test_images_only(void **state)
{
    xnca_dataset d;
    write_images("only.idx", 0x803, 2, 1, 256, 2 * 256);
    assert_int_equal(xnca_idx_load(tmp_path("only.idx"), NULL, &d, err, sizeof err), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.h, 1);
    assert_int_equal(d.w, 256);
    assert_null(d.labels);
    assert_int_equal(d.images[256 + 7], pixel(1, 0, 7));
    xnca_dataset_free(&d);
}

/* ---------------------------------------------------------------- header errors */

static void test_bad_magic(void **state)
{
    write_images("gif.idx", 0x47494638, 1, 2, 2, 4); /* "GIF8" */
    write_labels("lab1.idx", 0x801, 1, 1);
    expect_fail(tmp_path("gif.idx"), tmp_path("lab1.idx"), "gif.idx", "not an IDX file", "0x47494638", NULL);
}

static void test_gzip_rejected(void **state)
{
    static const uint8_t gz[32] = {0x1f, 0x8b, 0x08, 0x00};
    write_bytes(tmp_path("img.gz"), gz, sizeof gz);
    expect_fail(tmp_path("img.gz"), NULL, "img.gz", "gzip", NULL);
}

static void test_wrong_type_byte(void **state)
{
    write_images("float.idx", 0x0d03, 1, 2, 2, 16); /* 0x0d = float32 */
    expect_fail(tmp_path("float.idx"), NULL, "float.idx", "element type 0x0d", NULL);
    write_good_pair();
    write_labels("intlab.idx", 0x0c01, 3, 12); /* 0x0c = int32 labels */
    expect_fail(tmp_path("img.idx"), tmp_path("intlab.idx"), "intlab.idx", "element type 0x0c", NULL);
}

static void test_wrong_dimension_count(void **state)
{
    write_good_pair();
    /* labels given as images, images given as labels */
    expect_fail(tmp_path("lab.idx"), NULL, "lab.idx", "has 1 dimensions, expected 3", NULL);
    expect_fail(tmp_path("img.idx"), tmp_path("img.idx"), "img.idx", "has 3 dimensions, expected 1", NULL);
}

static void test_zero_and_huge_dims(void **state)
{
    write_images("rows0.idx", 0x803, 1, 0, 5, 0);
    expect_fail(tmp_path("rows0.idx"), NULL, "rows0.idx", "height (rows) 0 is outside 1..256", NULL);
    write_images("cols0.idx", 0x803, 1, 5, 0, 0);
    expect_fail(tmp_path("cols0.idx"), NULL, "cols0.idx", "width (cols) 0 is outside 1..256", NULL);
    write_images("rows257.idx", 0x803, 1, 257, 1, 257);
    expect_fail(tmp_path("rows257.idx"), NULL, "height (rows) 257", NULL);
    write_images("colsbig.idx", 0x803, 1, 1, 0xffffffffu, 0);
    expect_fail(tmp_path("colsbig.idx"), NULL, "width (cols) 4294967295", NULL);
    write_images("count0.idx", 0x803, 0, 2, 2, 0);
    expect_fail(tmp_path("count0.idx"), NULL, "count0.idx", "header says 0 images", NULL);
    /* a count that would need 2^32 * 64 KiB of memory: must fail on the length, not try to allocate */
    write_images("counthuge.idx", 0x803, 0x7fffffffu, 256, 256, 16);
    expect_fail(tmp_path("counthuge.idx"), NULL, "truncated", "2147483647 images of 256x256", NULL);
    write_images("countneg.idx", 0x803, 0x80000000u, 1, 1, 16);
    expect_fail(tmp_path("countneg.idx"), NULL, "header says 2147483648 images", NULL);
}

/* ---------------------------------------------------------------- length errors */

static void test_truncated_message_exact(void **state)
{
    char want[PATH_MAX + 200];
    write_images("t10k-images-idx3-ubyte", 0x803, 10000, 28, 28, 500 - 16);
    snprintf(want, sizeof want,
             "%s: truncated: header says 10000 images of 28x28 (7840016 bytes) but the file has 500 bytes",
             tmp_path("t10k-images-idx3-ubyte"));
    expect_fail(tmp_path("t10k-images-idx3-ubyte"), NULL, NULL);
    assert_string_equal(err, want);
}

static void test_truncated(void **state)
{
    write_images("short.idx", 0x803, 3, 4, 5, 3 * 4 * 5 - 1);
    expect_fail(tmp_path("short.idx"), NULL, "short.idx", "truncated", "(76 bytes)", "has 75 bytes", NULL);
    write_good_pair();
    write_labels("shortlab.idx", 0x801, 3, 2);
    expect_fail(tmp_path("img.idx"), tmp_path("shortlab.idx"), "shortlab.idx", "truncated", "3 labels", NULL);
}

static void test_short_header(void **state)
{
    static const uint8_t hdr[10] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0};
    write_bytes(tmp_path("hdr10.idx"), hdr, sizeof hdr);
    expect_fail(tmp_path("hdr10.idx"), NULL, "hdr10.idx", "too short for an IDX3 header: 10 bytes, need 16", NULL);
    write_bytes(tmp_path("empty.idx"), "", 0);
    expect_fail(tmp_path("empty.idx"), NULL, "empty.idx", "0 bytes", NULL);
    write_good_pair();
    static const uint8_t lab_hdr[7] = {0, 0, 8, 1, 0, 0, 0};
    write_bytes(tmp_path("lab7.idx"), lab_hdr, sizeof lab_hdr);
    expect_fail(tmp_path("img.idx"), tmp_path("lab7.idx"), "lab7.idx", "IDX1 header: 7 bytes, need 8", NULL);
}

static void test_trailing_bytes(void **state)
{
    write_images("long.idx", 0x803, 3, 4, 5, 3 * 4 * 5 + 12);
    expect_fail(tmp_path("long.idx"), NULL, "long.idx", "trailing bytes", "(76 bytes)", "has 88 bytes", NULL);
    write_good_pair();
    write_labels("longlab.idx", 0x801, 3, 4);
    expect_fail(tmp_path("img.idx"), tmp_path("longlab.idx"), "longlab.idx", "trailing bytes", NULL);
}

/* ---------------------------------------------------------------- pairing and content */

static void test_count_mismatch(void **state)
{
    write_good_pair();
    write_labels("lab4.idx", 0x801, 4, 4);
    expect_fail(tmp_path("img.idx"), tmp_path("lab4.idx"), "lab4.idx", "has 4 labels but", "img.idx",
                "has 3 images", NULL);
}

static void test_label_out_of_range(void **state)
{
    uint8_t lab[8 + 3] = {0, 0, 8, 1, 0, 0, 0, 3, 1, 10, 2};
    write_good_pair();
    write_bytes(tmp_path("lab10.idx"), lab, sizeof lab);
    expect_fail(tmp_path("img.idx"), tmp_path("lab10.idx"), "lab10.idx", "label 10 of image 1 is outside 0..9",
                NULL);
}

static void test_missing_files(void **state)
{
    write_good_pair();
    expect_fail(tmp_path("nope.idx"), tmp_path("lab.idx"), "nope.idx", "cannot open", "No such file", NULL);
    expect_fail(tmp_path("img.idx"), tmp_path("nolab.idx"), "nolab.idx", "cannot open", NULL);
}

static void test_not_regular_file(void **state)
{
    /* a directory, and a FIFO with no writer: must fail at once, not hang */
    assert_int_equal(mkdir(tmp_path("adir"), 0700), 0);
    expect_fail(tmp_path("adir"), NULL, "adir", "not a regular file", NULL);
    assert_int_equal(mkfifo(tmp_path("fifo"), 0600), 0);
    alarm(10); /* a hang becomes a SIGALRM death, which run-cmocka counts as a failure */
    expect_fail(tmp_path("fifo"), NULL, "fifo", "not a regular file", NULL);
    alarm(0);
}

static void test_null_arguments(void **state)
{
    xnca_dataset d;
    assert_int_equal(xnca_idx_load(NULL, NULL, &d, err, sizeof err), -1);
    assert_int_equal(xnca_idx_load(tmp_path("img.idx"), NULL, NULL, NULL, 0), -1);
    write_images("rows0.idx", 0x803, 1, 0, 5, 0);
    assert_int_equal(xnca_idx_load(tmp_path("rows0.idx"), NULL, &d, NULL, 0), -1); /* no error buffer */
    assert_int_equal(xnca_dataset_open(NULL, "test", &d, err, sizeof err), -1);
    xnca_dataset_free(NULL);
}

/* Every single-byte corruption of the header and every truncation/extension of a
 * small valid pair must load cleanly or fail with a message (ASan checks the rest). */
static void test_mutation_sweep(void **state)
{
    size_t len, pos;
    uint8_t *good = make_images(0x803, 3, 4, 5, 60, &len);
    static const uint8_t values[] = {0x00, 0x01, 0x03, 0x08, 0x1f, 0x7f, 0x80, 0xff};
    xnca_dataset d;
    size_t v;
    int ok = 0, failed = 0;

    write_labels("lab.idx", 0x801, 3, 3);
    for (pos = 0; pos < 16; pos++) {
        for (v = 0; v < sizeof values; v++) {
            uint8_t *buf = malloc(len);
            memcpy(buf, good, len);
            buf[pos] = values[v];
            write_bytes(tmp_path("mut.idx"), buf, len);
            free(buf);
            err[0] = '\0';
            if (xnca_idx_load(tmp_path("mut.idx"), tmp_path("lab.idx"), &d, err, sizeof err) == 0) {
                assert_int_equal(d.n, 3);
                assert_int_equal(d.h * d.w, 20);
                ok++;
            } else {
                assert_true(strlen(err) > 0);
                failed++;
            }
            xnca_dataset_free(&d);
        }
    }
    for (pos = 0; pos <= len + 3; pos++) {
        uint8_t *buf = calloc(1, len + 3);
        memcpy(buf, good, len);
        write_bytes(tmp_path("cut.idx"), buf, pos);
        free(buf);
        assert_int_equal(xnca_idx_load(tmp_path("cut.idx"), NULL, &d, err, sizeof err), pos == len ? 0 : -1);
        xnca_dataset_free(&d);
    }
    free(good);
    /* only the 14 "mutations" that rewrite a byte with its own value load (2+1+1 magic, 3+1 count,
     * 3 rows, 3 cols); any real change breaks the magic, a side or the length */
    assert_int_equal(ok, 14);
    assert_int_equal(failed, 16 * (int)sizeof values - 14);
}

/* ---------------------------------------------------------------- dataset lookup */

static void make_data_tree(const char *root, const char *name, const char *prefix, uint32_t n)
{
    char dir[PATH_MAX + 64], file[PATH_MAX + 128];
    uint8_t *buf;
    size_t len;

    snprintf(dir, sizeof dir, "%s", root);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    mkdir(dir, 0700);
    buf = make_images(0x803, n, 28, 28, (size_t)n * 784, &len);
    snprintf(file, sizeof file, "%s/%s-images-idx3-ubyte", dir, prefix);
    write_bytes(file, buf, len);
    free(buf);
    snprintf(file, sizeof file, "%s/%s-labels-idx1-ubyte", dir, prefix);
    buf = calloc(1, 8 + n);
    put_be32(buf, 0x801);
    put_be32(buf + 4, n);
    write_bytes(file, buf, 8 + n);
    free(buf);
}

static void test_dataset_open_env(void **state)
{
    xnca_dataset d;
    make_data_tree(tmp_path("envdata"), "fashion", "train", 5);
    setenv("XNCA_DATA", tmp_path("envdata"), 1);
    assert_int_equal(xnca_dataset_open("fashion", "train", &d, err, sizeof err), 0);
    assert_int_equal(d.n, 5);
    assert_int_equal(d.w, 28);
    xnca_dataset_free(&d);
    /* $XNCA_DATA is exclusive: the test split is not there, and no fallback is tried */
    assert_int_equal(xnca_dataset_open("fashion", "test", &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "fashion test set not found"));
    assert_non_null(strstr(err, "t10k-images-idx3-ubyte"));
    assert_non_null(strstr(err, "make data"));
    assert_null(d.images);
    restore_env();
}

static void test_dataset_open_cwd(void **state)
{
    xnca_dataset d;
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s", tmp_path("cwd"));
    mkdir(root, 0700);
    make_data_tree(tmp_path("cwd/data"), "mnist", "t10k", 2);
    unsetenv("XNCA_DATA");
    assert_int_equal(chdir(root), 0);
    assert_int_equal(xnca_dataset_open("mnist", "test", &d, err, sizeof err), 0);
    assert_int_equal(d.n, 2);
    xnca_dataset_free(&d);
    restore_env();
}

static void test_dataset_open_bad_names(void **state)
{
    xnca_dataset d;
    assert_int_equal(xnca_dataset_open("cifar", "test", &d, err, sizeof err), -1);
    assert_string_equal(err, "unknown dataset 'cifar' (known: mnist, fashion)");
    assert_int_equal(xnca_dataset_open("mnist", "valid", &d, err, sizeof err), -1);
    assert_string_equal(err, "unknown split 'valid' (known: test, train)");
    assert_int_equal(xnca_dataset_open("../etc", "test", &d, err, sizeof err), -1);
}

static void test_dataset_open_corrupt(void **state)
{
    xnca_dataset d;
    char file[PATH_MAX + 64];
    make_data_tree(tmp_path("bad"), "mnist", "t10k", 3);
    snprintf(file, sizeof file, "%s/mnist/t10k-labels-idx1-ubyte", tmp_path("bad"));
    assert_int_equal(truncate(file, 9), 0);
    setenv("XNCA_DATA", tmp_path("bad"), 1);
    assert_int_equal(xnca_dataset_open("mnist", "test", &d, err, sizeof err), -1);
    assert_non_null(strstr(err, "t10k-labels-idx1-ubyte: truncated: header says 3 labels (11 bytes) but the file has 9"));
    restore_env();
}

/* The real sets from `make data` (skipped when absent): known first labels of each split. */
static void check_real(const char *name, const char *split, int n, const uint8_t first[5])
{
    xnca_dataset d;
    if (xnca_dataset_open(name, split, &d, err, sizeof err) != 0) {
        if (strstr(err, "not found"))
            skip();
        fail_msg("%s", err);
    }
    assert_int_equal(d.n, n);
    assert_int_equal(d.w, 28);
    assert_int_equal(d.h, 28);
    assert_memory_equal(d.labels, first, 5);
    xnca_dataset_free(&d);
}

static void test_real_mnist(void **state)
{
    static const uint8_t test_first[5] = {7, 2, 1, 0, 4}, train_first[5] = {5, 0, 4, 1, 9};
    check_real("mnist", "test", 10000, test_first);
    check_real("mnist", "train", 60000, train_first);
}

static void test_real_fashion(void **state)
{
    static const uint8_t test_first[5] = {9, 2, 1, 1, 6}, train_first[5] = {9, 0, 0, 3, 0};
    check_real("fashion", "test", 10000, test_first);
    check_real("fashion", "train", 60000, train_first);
}

/* From an unrelated cwd with no $XNCA_DATA, the executable's ../data is found (build/../data). */
static void test_real_exe_relative(void **state)
{
    static const uint8_t test_first[5] = {7, 2, 1, 0, 4};
    unsetenv("XNCA_DATA");
    assert_int_equal(chdir(tmpdir), 0);
    check_real("mnist", "test", 10000, test_first);
    restore_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_images_only),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_gzip_rejected),
        cmocka_unit_test(test_wrong_type_byte),
        cmocka_unit_test(test_wrong_dimension_count),
        cmocka_unit_test(test_zero_and_huge_dims),
        cmocka_unit_test(test_truncated_message_exact),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_short_header),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_count_mismatch),
        cmocka_unit_test(test_label_out_of_range),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_not_regular_file),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_mutation_sweep),
        cmocka_unit_test(test_dataset_open_env),
        cmocka_unit_test(test_dataset_open_cwd),
        cmocka_unit_test(test_dataset_open_bad_names),
        cmocka_unit_test(test_dataset_open_corrupt),
        cmocka_unit_test(test_real_mnist),
        cmocka_unit_test(test_real_fashion),
        cmocka_unit_test(test_real_exe_relative),
    };
    return cmocka_run_group_tests_name("idx", tests, setup, teardown);
}
