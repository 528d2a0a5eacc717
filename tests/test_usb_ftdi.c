/* test_usb_ftdi.c - the `usb` transport's real code path (libxnca -> libftdi1 -> libusb ->
 * usbfs ioctls) against FTDI bridges emulated under umockdev (tests/umockdev/ftdi_emulator.c)
 * with the CPU device model behind the UART. Suite `usb`; run under umockdev-wrapper.
 *
 * Covered: open and configure (bitmode reset, purge, baud, 8N1, no flow control, latency 1 ms)
 * on FT231X (0403:6015, 64-byte packets) and FT2232H (0403:6010 channel B, 512-byte packets);
 * a full HELLO / INFO / LOAD_WEIGHTS / CLASSIFY / READ_STATE round trip whose replies span
 * several USB packets (the status header stripped from each); refusing models outside the
 * device's caps (exit 1); and a mute device (timeout), a reply cut short (short read), a reply
 * cut by a delimiter, a vanished device, and no device at all - each ending in a message and
 * exit code 2 within its timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ftdi_emulator.h"
#include "link_test_util.h"
#include "xnca.h"
#include "xnca_model.h"

/* Open the emulated bridge, load a model, classify, compare with the engine, read states. */
static void round_trip(ftdi_emu_chip chip, const char *spec, int baud, uint16_t want_baud_value,
                       uint16_t want_baud_index, int want_interface)
{
    ftdi_emu *e = ftdi_emu_new(chip, "XNCA0001", NULL);
    assert_non_null(e);
    xnca_dev *dev;
    char err[512];
    xnca_open_opts o = {.timeout_ms = 2000, .baud = baud};
    int rc = xnca_open(spec, &o, &dev, err, sizeof err);
    if (rc)
        fprintf(stderr, "open: %s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(xnca_transport_name(dev), "usb");
    assert_string_equal(xnca_info(dev)->board, chip == FTDI_EMU_FT231X ? "ulx3s" : "icebreaker");
    assert_int_equal(xnca_info(dev)->input_buffer_bytes, 2048);

    ftdi_emu_stats st;
    ftdi_emu_stats_get(e, &st);
    assert_true(st.bitmode_resets >= 1);   /* back to UART after JTAG bit-banging */
    assert_true(st.purge_rx >= 1 && st.purge_tx >= 1);
    assert_int_equal(st.latency, 1);
    assert_true(st.data_bits_8n1 >= 1);
    assert_true(st.flow_none >= 1);
    assert_int_equal(st.baud_value, want_baud_value);
    assert_int_equal(st.baud_index, want_baud_index);
    assert_int_equal(st.claimed_interface, want_interface);
    assert_true(st.string_requests >= 1); /* the serial number was compared */

    xnca_model m;
    lt_make_model(&m, XNCA_QUANT, 1, 1, 21);
    uint8_t *file = NULL;
    size_t flen = xnca_model_serialize(&m, &file);
    rc = xnca_load_model_mem(dev, file, flen);
    if (rc)
        fprintf(stderr, "load: %s\n", xnca_error(dev));
    assert_int_equal(rc, 0);

    enum { N = 12 };
    static uint8_t pix[N * 784];
    lt_make_digits(pix, N);
    xnca_run_opts ro = XNCA_RUN_OPTS_INIT;
    ro.seed = 3, ro.steps = 16, ro.n_report = 16;
    for (int r = 0; r < 16; r++)
        ro.report[r] = r + 1;
    static xnca_result res[N];
    rc = xnca_classify(dev, &ro, N, pix, NULL, res);
    if (rc)
        fprintf(stderr, "classify: %s\n", xnca_error(dev));
    assert_int_equal(rc, 0);
    static int8_t states[784 * 20];
    size_t got;
    assert_int_equal(xnca_read_state(dev, states, sizeof states, &got), 0);
    assert_int_equal(got, sizeof states);
    lt_check_results(&m, &ro, N, pix, NULL, res, states);

    ftdi_emu_stats_get(e, &st);
    assert_true(st.in_transfers_multi_packet >= 1); /* replies spanned several packets */
    assert_true(st.bulk_in_bytes > 2 * (chip == FTDI_EMU_FT231X ? 64 : 512));
    free(file);
    xnca_model_free(&m);
    xnca_close(dev);
    ftdi_emu_free(e);
}

static void test_ft231x_round_trip(void **state)
{
    (void)state;
    /* FT231X: 3 Mbaud = divisor 0 on the 3 MHz base (wValue 0, wIndex 0), interface 0 */
    round_trip(FTDI_EMU_FT231X, "usb:0403:6015:XNCA0001", 0, 0x0000, 0x0000, 0);
}

static void test_ft2232h_round_trip(void **state)
{
    (void)state;
    /* FT2232H channel B at 12 Mbaud: divisor 0 on the 12 MHz base (CLK/10 bit), wIndex 0x0202 */
    round_trip(FTDI_EMU_FT2232H, "usb:0403:6010:XNCA0001", 12000000, 0x0000, 0x0202, 1);
}

static void test_refuses_models_outside_caps(void **state)
{
    (void)state;
    ftdi_emu *e = ftdi_emu_new(FTDI_EMU_FT2232H, NULL, NULL);
    assert_non_null(e);
    xnca_dev *dev;
    char err[512];
    assert_int_equal(xnca_open("usb", NULL, &dev, err, sizeof err), 0);
    xnca_model m;
    uint8_t *file = NULL;
    size_t flen;
    /* float variants */
    for (int v = XNCA_FLOAT; v <= XNCA_BAN; v++) {
        lt_make_model(&m, v, 32, 32, 21);
        flen = xnca_model_serialize(&m, &file);
        assert_true(flen > 0);
        assert_int_equal(xnca_load_model_mem(dev, file, flen), XNCA_RC_USAGE);
        assert_non_null(strstr(xnca_error(dev), "quant models only"));
        free(file);
        xnca_model_free(&m);
    }
    /* W8A8 exceeds max_weight_bits 4 */
    lt_make_model(&m, XNCA_QUANT, 8, 8, 21);
    flen = xnca_model_serialize(&m, &file);
    assert_int_equal(xnca_load_model_mem(dev, file, flen), XNCA_RC_USAGE);
    assert_non_null(strstr(xnca_error(dev), "max_weight_bits"));
    free(file);
    xnca_model_free(&m);
    /* nothing was sent for them: the device still has no model */
    xnca_run_opts ro = XNCA_RUN_OPTS_INIT;
    static uint8_t pix[784];
    xnca_result r;
    assert_int_equal(xnca_classify(dev, &ro, 1, pix, NULL, &r), XNCA_RC_USAGE);
    xnca_close(dev);
    ftdi_emu_free(e);
}

/* The failure cases: each returns XNCA_RC_DEVICE with a message, within its timeout. */
static void expect_failure(ftdi_emu_fault fault, long arg, int fail_at_open, const char *want, int timeout_ms)
{
    ftdi_emu *e = ftdi_emu_new(FTDI_EMU_FT231X, NULL, NULL);
    assert_non_null(e);
    xnca_dev *dev = NULL;
    char err[512];
    xnca_open_opts o = {.timeout_ms = timeout_ms};
    long t0 = lt_ms_now();
    if (fail_at_open) {
        ftdi_emu_set_fault(e, fault, arg);
        assert_int_equal(xnca_open("usb:0403:6015", &o, &dev, err, sizeof err), XNCA_RC_DEVICE);
        fprintf(stderr, "  (expected) %s\n", err);
        assert_non_null(strstr(err, want));
    } else {
        assert_int_equal(xnca_open("usb:0403:6015", &o, &dev, err, sizeof err), 0);
        xnca_model m;
        lt_make_model(&m, XNCA_QUANT, 1, 1, 21);
        uint8_t *file = NULL;
        size_t flen = xnca_model_serialize(&m, &file);
        assert_int_equal(xnca_load_model_mem(dev, file, flen), 0);
        ftdi_emu_set_fault(e, fault, arg);
        t0 = lt_ms_now();
        static uint8_t pix[8 * 784];
        lt_make_digits(pix, 8);
        xnca_run_opts ro = XNCA_RUN_OPTS_INIT;
        ro.steps = 4;
        static xnca_result res[8];
        assert_int_equal(xnca_classify(dev, &ro, 8, pix, NULL, res), XNCA_RC_DEVICE);
        fprintf(stderr, "  (expected) %s\n", xnca_error(dev));
        assert_non_null(strstr(xnca_error(dev), want));
        free(file);
        xnca_model_free(&m);
        xnca_close(dev);
    }
    long took = lt_ms_now() - t0;
    /* open retries HELLO once: two timeouts at most */
    assert_true(took <= 2 * timeout_ms + 1500);
    ftdi_emu_free(e);
}

static void test_timeout_mute_device(void **state)
{
    (void)state;
    expect_failure(FTDI_EMU_MUTE, 0, /*fail_at_open=*/1, "timeout", 300);
    expect_failure(FTDI_EMU_MUTE, 0, /*fail_at_open=*/0, "timeout", 300);
}

static void test_short_read(void **state)
{
    (void)state;
    /* 100 bytes of a CLASSIFY reply, then silence */
    expect_failure(FTDI_EMU_SHORT, 100, 0, "timeout", 300);
}

static void test_truncated_reply(void **state)
{
    (void)state;
    /* the reply frame is cut by a delimiter after 70 bytes (a packet and a bit) */
    expect_failure(FTDI_EMU_TRUNCATE, 70, 0, "corrupt reply", 300);
}

static void test_device_gone(void **state)
{
    (void)state;
    expect_failure(FTDI_EMU_GONE, 0, 0, "device gone", 500);
}

static void test_no_device(void **state)
{
    (void)state;
    ftdi_emu *e = ftdi_emu_new(FTDI_EMU_FT231X, NULL, NULL);
    assert_non_null(e);
    xnca_dev *dev;
    char err[512];
    assert_int_equal(xnca_open("usb:0403:6014", NULL, &dev, err, sizeof err), XNCA_RC_DEVICE);
    assert_non_null(strstr(err, "no FTDI device 0403:6014"));
    assert_int_equal(xnca_open("usb:0403:6015:WRONGSERIAL", NULL, &dev, err, sizeof err), XNCA_RC_DEVICE);
    assert_non_null(strstr(err, "WRONGSERIAL"));
    assert_int_equal(xnca_open("usb:zz", NULL, &dev, err, sizeof err), XNCA_RC_DEVICE);
    assert_non_null(strstr(err, "hex ids"));
    ftdi_emu_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ft231x_round_trip),
        cmocka_unit_test(test_ft2232h_round_trip),
        cmocka_unit_test(test_refuses_models_outside_caps),
        cmocka_unit_test(test_timeout_mute_device),
        cmocka_unit_test(test_short_read),
        cmocka_unit_test(test_truncated_reply),
        cmocka_unit_test(test_device_gone),
        cmocka_unit_test(test_no_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
