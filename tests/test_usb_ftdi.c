/* test_usb_ftdi.c - the `usb` transport's real code path (libxnca -> libftdi1 -> libusb ->
 * usbfs ioctls) against FTDI bridges emulated under umockdev (tests/umockdev/ftdi_emulator.c)
 * with the CPU device model behind the UART. Suite `usb`; run under umockdev-wrapper.
 *
 * Covered: open and configure (bitmode reset, purge, baud, 8N1, no flow control, latency 1 ms)
 * on FT231X (0403:6015, 64-byte packets) and FT2232H (0403:6010 channel B, 512-byte packets);
 * each bridge's default baud is its boards' UART (WANT_BAUD_FT231X / _FT2232H: CLOCK_HZ /
 * CLKS_PER_BIT of mk/top.mk, passed by mk/host.mk), seen by the bridge as the SIO_SET_BAUDRATE
 * divisor, and usb...@BAUD (or the caller's baud) overrides it, a bad @BAUD refused;
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

#if !defined(WANT_BAUD_FT231X) || !defined(WANT_BAUD_FT2232H)
#error "build with -DWANT_BAUD_FT231X=... -DWANT_BAUD_FT2232H=... (the boards' UART bauds, mk/host.mk)"
#endif

/* The SIO_SET_BAUDRATE wValue / wIndex an FTDI bridge gets for baud (FTDI AN232B-05; what
 * libftdi's ftdi_convert_baudrate sends), written out here independently of libftdi. FT231X:
 * 48 MHz / 16 (3 MHz) base, a 14-bit divisor with 1/8 steps, wIndex = divisor bit 16. FT2232H
 * (H-type): the 120 MHz / 10 (12 MHz) base, flagged by bit 17, wIndex = bits 8..15 of the
 * divisor's top half | the channel's index (B: 2). Bauds from 7,325 up (H-type chips use the
 * 48 MHz base below that; no test here goes there). */
static void ftdi_baud_divisor(ftdi_emu_chip chip, int baud, uint16_t *value, uint16_t *index)
{
    static const uint32_t frac_code[8] = {0, 3, 2, 4, 1, 5, 6, 7};
    int h = chip == FTDI_EMU_FT2232H;
    long clk = h ? 120000000 : 48000000, clk_div = h ? 10 : 16;
    uint32_t enc;
    if (baud >= clk / clk_div)
        enc = 0;
    else if (baud >= clk / (clk_div + clk_div / 2))
        enc = 1;
    else if (baud >= clk / (2 * clk_div))
        enc = 2;
    else {
        long div = clk * 16 / clk_div / baud, best = div / 2 + (div & 1); /* in eighths, rounded */
        if (best > 0x20000)
            best = 0x1ffff;
        enc = (uint32_t)(best >> 3) | frac_code[best & 7] << 14;
    }
    if (h)
        enc |= 0x20000;
    *value = (uint16_t)(enc & 0xffff);
    *index = h ? (uint16_t)(((enc >> 8) & 0xff00) | 2) : (uint16_t)(enc >> 16);
}

/* Open spec on an emulated chip with the caller's baud opts_baud (0: none): the bridge's last
 * SIO_SET_BAUDRATE (libftdi sets 9600 when it opens the device, then the transport sets the link's
 * baud) must carry the divisor of want_baud, and the library must report want_baud. */
static void expect_baud(ftdi_emu_chip chip, const char *spec, int opts_baud, int want_baud)
{
    ftdi_emu *e = ftdi_emu_new(chip, "XNCA0001", NULL);
    assert_non_null(e);
    xnca_dev *dev;
    char err[512];
    xnca_open_opts o = {.timeout_ms = 2000, .baud = opts_baud};
    int rc = xnca_open(spec, &o, &dev, err, sizeof err);
    if (rc)
        fprintf(stderr, "open %s: %s\n", spec, err);
    assert_int_equal(rc, 0);
    ftdi_emu_stats st;
    ftdi_emu_stats_get(e, &st);
    uint16_t value, index;
    ftdi_baud_divisor(chip, want_baud, &value, &index);
    fprintf(stderr, "  %s -> %s: SET_BAUDRATE %04x/%04x\n", spec, xnca_link_description(dev), st.baud_value,
            st.baud_index);
    assert_true(st.baud_requests >= 1);
    assert_int_equal(st.baud_value, value);
    assert_int_equal(st.baud_index, index);
    assert_int_equal(xnca_link_baud(dev), want_baud);
    char want_desc[64];
    snprintf(want_desc, sizeof want_desc, "%s at %d baud",
             chip == FTDI_EMU_FT231X ? "FT231X 0403:6015" : "FT2232H 0403:6010", want_baud);
    assert_string_equal(xnca_link_description(dev), want_desc);
    xnca_close(dev);
    ftdi_emu_free(e);
}

/* Open the emulated bridge, load a model, classify, compare with the engine, read states. */
static void round_trip(ftdi_emu_chip chip, const char *spec, int baud, int want_baud, int want_interface)
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
    uint16_t want_baud_value, want_baud_index;
    ftdi_baud_divisor(chip, want_baud, &want_baud_value, &want_baud_index);
    assert_int_equal(st.baud_value, want_baud_value);
    assert_int_equal(st.baud_index, want_baud_index);
    assert_int_equal(xnca_link_baud(dev), want_baud);
    assert_int_equal(st.claimed_interface, want_interface);
    assert_true(st.string_requests >= 1); /* the serial number was compared */

    xnca_model m;
    lt_load_random_model(dev, &m, 1, 1, 21);

    enum { N = 12 };
    static uint8_t pix[N * 784];
    lt_make_digits(pix, N);
    xnca_run_opts ro = XNCA_RUN_OPTS_INIT;
    ro.seed = 3, ro.steps = 16;
    lt_report_every_step(&ro, 16);
    static xnca_result res[N];
    lt_classify_checked(dev, &m, &ro, N, pix, NULL, res);

    ftdi_emu_stats_get(e, &st);
    assert_true(st.in_transfers_multi_packet >= 1); /* replies spanned several packets */
    assert_true(st.bulk_in_bytes > 2 * (chip == FTDI_EMU_FT231X ? 64 : 512));
    xnca_model_free(&m);
    xnca_close(dev);
    ftdi_emu_free(e);
}

static void test_ft231x_round_trip(void **state)
{
    (void)state;
    /* FT231X at its default baud (the ULX3S UART), interface 0 */
    round_trip(FTDI_EMU_FT231X, "usb:0403:6015:XNCA0001", 0, WANT_BAUD_FT231X, 0);
}

static void test_ft2232h_round_trip(void **state)
{
    (void)state;
    /* FT2232H channel B at 12 Mbaud asked by the caller (divisor 0 on the 12 MHz base) */
    round_trip(FTDI_EMU_FT2232H, "usb:0403:6010:XNCA0001", 12000000, 12000000, 1);
}

/* The divisors above, against values worked out by hand from AN232B-05 (so that a mistake in
 * ftdi_baud_divisor cannot make the checks below agree with a wrong library). */
static void test_baud_divisor_table(void **state)
{
    (void)state;
    static const struct {
        ftdi_emu_chip chip;
        int baud;
        uint16_t value, index;
    } cases[] = {
        {FTDI_EMU_FT231X, 3000000, 0x0000, 0x0000},  /* 3 MHz / 1: divisor code 0 */
        {FTDI_EMU_FT231X, 1000000, 0x0003, 0x0000},  /* 3 MHz / 3 */
        {FTDI_EMU_FT231X, 115200, 0x001a, 0x0000},   /* 3 MHz / 26.04 -> 26 */
        {FTDI_EMU_FT2232H, 12000000, 0x0000, 0x0202}, /* 12 MHz / 1, CLK/10 flag, channel B */
        {FTDI_EMU_FT2232H, 3000000, 0x0004, 0x0202},  /* 12 MHz / 4 */
        {FTDI_EMU_FT2232H, 1000000, 0x000c, 0x0202},  /* 12 MHz / 12 */
        {FTDI_EMU_FT2232H, 115200, 0xc068, 0x0202},   /* 12 MHz / 104.125: 104 + 1/8 (code 3) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t v, x;
        ftdi_baud_divisor(cases[i].chip, cases[i].baud, &v, &x);
        assert_int_equal(v, cases[i].value);
        assert_int_equal(x, cases[i].index);
    }
}

/* Each bridge's default baud is the UART of the boards behind it (mk/top.mk), found by id and by
 * the plain `usb` probe. */
static void test_default_baud_per_bridge(void **state)
{
    (void)state;
    expect_baud(FTDI_EMU_FT231X, "usb:0403:6015", 0, WANT_BAUD_FT231X);
    expect_baud(FTDI_EMU_FT231X, "usb", 0, WANT_BAUD_FT231X);
    expect_baud(FTDI_EMU_FT2232H, "usb:0403:6010:XNCA0001", 0, WANT_BAUD_FT2232H);
    expect_baud(FTDI_EMU_FT2232H, "usb", 0, WANT_BAUD_FT2232H);
}

/* @BAUD wins over the default and over the caller's baud; the caller's baud over the default. */
static void test_baud_override(void **state)
{
    (void)state;
    expect_baud(FTDI_EMU_FT231X, "usb@115200", 0, 115200);
    expect_baud(FTDI_EMU_FT231X, "usb:0403:6015:XNCA0001@3000000", 1000000, 3000000);
    expect_baud(FTDI_EMU_FT2232H, "usb:0403:6010@115200", 0, 115200);
    expect_baud(FTDI_EMU_FT2232H, "usb:0403:6010", 12000000, 12000000);
    expect_baud(FTDI_EMU_FT2232H, "usb@1000000", 0, 1000000);
}

/* A malformed or impossible @BAUD: exit 2 with a message, nothing opened. */
static void test_bad_baud(void **state)
{
    (void)state;
    ftdi_emu *e = ftdi_emu_new(FTDI_EMU_FT231X, NULL, NULL);
    assert_non_null(e);
    static const char *bad[] = {"usb@", "usb@abc", "usb@0", "usb@-5", "usb@12000001", "usb:0403:6015@9x",
                                "usb:0403:6015:XNCA0001@"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xnca_dev *dev = NULL;
        char err[512] = "";
        assert_int_equal(xnca_open(bad[i], NULL, &dev, err, sizeof err), XNCA_RC_DEVICE);
        assert_null(dev);
        if (!strstr(err, "bad baud"))
            fprintf(stderr, "%s: %s\n", bad[i], err);
        assert_non_null(strstr(err, "bad baud"));
    }
    ftdi_emu_stats st;
    ftdi_emu_stats_get(e, &st);
    assert_int_equal(st.baud_requests, 0);
    ftdi_emu_free(e);
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
    long took;
    if (fail_at_open) {
        ftdi_emu_set_fault(e, fault, arg);
        long t0 = lt_ms_now();
        assert_int_equal(xnca_open("usb:0403:6015", &o, &dev, err, sizeof err), XNCA_RC_DEVICE);
        took = lt_ms_now() - t0;
        fprintf(stderr, "  (expected) %s\n", err);
        assert_non_null(strstr(err, want));
    } else {
        assert_int_equal(xnca_open("usb:0403:6015", &o, &dev, err, sizeof err), 0);
        xnca_model m;
        lt_load_random_model(dev, &m, 1, 1, 21);
        ftdi_emu_set_fault(e, fault, arg);
        took = lt_classify_expect_device_error(dev, want);
        xnca_model_free(&m);
        xnca_close(dev);
    }
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
        cmocka_unit_test(test_baud_divisor_table),
        cmocka_unit_test(test_default_baud_per_bridge),
        cmocka_unit_test(test_baud_override),
        cmocka_unit_test(test_bad_baud),
        cmocka_unit_test(test_refuses_models_outside_caps),
        cmocka_unit_test(test_timeout_mute_device),
        cmocka_unit_test(test_short_read),
        cmocka_unit_test(test_truncated_reply),
        cmocka_unit_test(test_device_gone),
        cmocka_unit_test(test_no_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
