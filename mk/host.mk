# mk/host.mk - the link protocol (docs/protocol.md): host library libxnca, its transports, the
# RTL UART + frame engine test, the umockdev FTDI tests and the fuzz targets.
#
#   build/libxnca.so (soname libxnca.so.0), build/xnca.pc, build/classify_one
#   build/libxnca_host.a       the host library without the engine (link before libxnca_engine.a)
#   make install PREFIX=...     library, headers, pkg-config file
#   make lint-link              verilator -Wall on the link RTL (also part of `make lint`)
#   make fuzz [FUZZ_SECONDS=n]  libFuzzer targets (clang), each run for FUZZ_SECONDS
#   make fuzz-long [FUZZ_RUNS=n]  each target for FUZZ_RUNS executions (10 million), one at a time,
#                               at nice 10; logs in build/fuzz/long/ (docs/fuzzing.md)
# Suites: frame (codec + device model + cpu transport; plain and ASan+UBSan), link-rtl (Verilator:
# 10,000 garbage bursts, LINK_BURSTS), usb (libftdi on umockdev-emulated FT231X / FT2232H; plain
# and ASan+UBSan), tty (termios over an openpty pair, the device served by host/xnca_serve.c;
# plain and ASan+UBSan), fuzz (each target FUZZ_SECONDS).

PREFIX ?= /usr/local
XNCA_SOVERSION := 0
XNCA_VERSION := 0.1.0

HOST_LIB_SRCS := host/xnca_host.c host/xnca_frame.c host/xnca_devmodel.c host/xnca_transport_cpu.c host/xnca_serve.c \
	host/xnca_transport_tty.c host/xnca_transport_usb.c host/xnca_transport_sim.c host/xnca_transport_unix.c
HOST_HDRS := host/xnca.h host/xnca_frame.h host/xnca_devmodel.h host/xnca_transport.h host/xnca_serve.h models/xnca_model.h
FTDI_CFLAGS := $(shell pkg-config --cflags libftdi1 libusb-1.0 2>/dev/null)
FTDI_LIBS := $(or $(shell pkg-config --libs libftdi1 libusb-1.0 2>/dev/null),-lftdi1 -lusb-1.0)
UMOCKDEV_CFLAGS := $(shell pkg-config --cflags umockdev-1.0 2>/dev/null)
UMOCKDEV_LIBS := $(or $(shell pkg-config --libs umockdev-1.0 2>/dev/null),-lumockdev -lgobject-2.0 -lglib-2.0)
HOST_CFLAGS = $(CFLAGS) -Ihost -Imodels $(FTDI_CFLAGS) -MMD -MP
HOST_LDLIBS = $(FTDI_LIBS) $(ENGINE_LDLIBS)

HOST_OBJS := $(patsubst host/%.c,$(BUILD)/host/%.o,$(HOST_LIB_SRCS))
HOST_PIC_OBJS := $(patsubst host/%.c,$(BUILD)/host/pic/%.o,$(HOST_LIB_SRCS))
HOST_ENGINE_PIC_OBJS = $(patsubst models/%.c,$(BUILD)/host/pic/engine/%.o,$(ENGINE_SRCS))
HOST_LIB_A := $(BUILD)/libxnca_host.a
XNCA_SO := $(BUILD)/libxnca.so.$(XNCA_VERSION)

ALL_TARGETS += $(HOST_LIB_A) $(XNCA_SO) $(BUILD)/libxnca.so $(BUILD)/xnca.pc $(BUILD)/classify_one \
	$(BUILD)/test_frame $(BUILD)/test_frame-asan $(BUILD)/test_usb_ftdi $(BUILD)/test_usb_ftdi-asan \
	$(BUILD)/test_tty $(BUILD)/test_tty-asan
TEST_SUITES += frame link-rtl usb tty fuzz
# the link tests' shared set-up (random models, digits, the check against the engine)
LINK_TEST_UTIL := tests/link_test_util.c tests/link_test_util.h

.PHONY: install install-host lint-link test-frame test-link-rtl test-usb test-tty test-fuzz fuzz fuzz-long

# ---- host library --------------------------------------------------------------------------------
$(BUILD)/host/%.o: host/%.c | $(BUILD)/host
	$(CC) $(HOST_CFLAGS) -c -o $@ $<

$(BUILD)/host/pic/%.o: host/%.c | $(BUILD)/host/pic
	$(CC) $(HOST_CFLAGS) -fPIC -fvisibility=default -c -o $@ $<

$(BUILD)/host/pic/engine/%.o: models/%.c | $(BUILD)/host/pic/engine
	$(CC) $(CFLAGS) -Imodels $(ENGINE_DEFS) -fPIC -MMD -MP -c -o $@ $<

$(BUILD)/host $(BUILD)/host/pic $(BUILD)/host/pic/engine $(BUILD)/link $(BUILD)/fuzz:
	@mkdir -p $@

-include $(HOST_OBJS:.o=.d) $(HOST_PIC_OBJS:.o=.d)

$(HOST_LIB_A): $(HOST_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# The shared library carries the engine (the `cpu` transport runs it).
.SECONDEXPANSION:
$(XNCA_SO): $(HOST_PIC_OBJS) $$(HOST_ENGINE_PIC_OBJS)
	$(CC) -shared -Wl,-soname,libxnca.so.$(XNCA_SOVERSION) -o $@ $^ $(HOST_LDLIBS)

$(BUILD)/libxnca.so: $(XNCA_SO)
	ln -sf libxnca.so.$(XNCA_VERSION) $(BUILD)/libxnca.so.$(XNCA_SOVERSION)
	ln -sf libxnca.so.$(XNCA_VERSION) $@

$(BUILD)/xnca.pc: host/xnca.pc.in
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(XNCA_VERSION)|' $< > $@

$(BUILD)/classify_one: examples/classify_one.c host/xnca.h host/xnca_frame.h $(BUILD)/libxnca.so
	$(CC) $(CFLAGS) -Ihost -o $@ $< -L$(BUILD) -lxnca -Wl,-rpath,'$$ORIGIN'

install: install-host
install-host: $(BUILD)/libxnca.so $(BUILD)/xnca.pc
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(XNCA_SO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libxnca.so.$(XNCA_VERSION) $(DESTDIR)$(PREFIX)/lib/libxnca.so.$(XNCA_SOVERSION)
	ln -sf libxnca.so.$(XNCA_VERSION) $(DESTDIR)$(PREFIX)/lib/libxnca.so
	install -m 644 host/xnca.h host/xnca_frame.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(XNCA_VERSION)|' host/xnca.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/xnca.pc

# ---- suite frame ---------------------------------------------------------------------------------
# test_frame and test_tty: plain against the archives, ASan+UBSan from the sources
define LINK_UNIT_RULE
$(BUILD)/test_$(1): tests/test_$(1).c $(LINK_TEST_UTIL) $(HOST_HDRS) $(HOST_LIB_A) $(ENGINE_LIB)
	$(CC) $(CFLAGS) -Ihost -Imodels $(CMOCKA_CFLAGS) -o $$@ $$< tests/link_test_util.c $(HOST_LIB_A) $(ENGINE_LIB) \
	    $(CMOCKA_LIBS) $(HOST_LDLIBS) -pthread

$(BUILD)/test_$(1)-asan: tests/test_$(1).c $(LINK_TEST_UTIL) $(HOST_HDRS) $(HOST_LIB_SRCS) $$$$(ENGINE_SRCS)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -Ihost -Imodels $(ENGINE_DEFS) $(FTDI_CFLAGS) $(CMOCKA_CFLAGS) -o $$@ \
	    $$< tests/link_test_util.c $(HOST_LIB_SRCS) $(ENGINE_SRCS) $(CMOCKA_LIBS) $(HOST_LDLIBS) -pthread
endef
$(eval $(call LINK_UNIT_RULE,frame))
$(eval $(call LINK_UNIT_RULE,tty))

test-frame: $(BUILD)/test_frame $(BUILD)/test_frame-asan
	@mkdir -p $(RESULTS)/parts
	@scripts/run-cmocka $(RESULTS)/parts/frame-plain $(BUILD)/test_frame; \
	 scripts/run-cmocka $(RESULTS)/parts/frame-asan $(BUILD)/test_frame-asan; \
	 read p1 f1 < $(RESULTS)/parts/frame-plain; read p2 f2 < $(RESULTS)/parts/frame-asan; \
	 echo "$$((p1 + p2)) $$((f1 + f2))" > $(RESULTS)/frame; [ $$((f1 + f2)) -eq 0 ]

# ---- suite tty: the termios transport over an openpty pair, device server in process ----------
test-tty: $(BUILD)/test_tty $(BUILD)/test_tty-asan
	@mkdir -p $(RESULTS)/parts
	@scripts/run-cmocka $(RESULTS)/parts/tty-plain timeout 120 $(BUILD)/test_tty; \
	 scripts/run-cmocka $(RESULTS)/parts/tty-asan timeout 300 $(BUILD)/test_tty-asan; \
	 read p1 f1 < $(RESULTS)/parts/tty-plain; read p2 f2 < $(RESULTS)/parts/tty-asan; \
	 echo "$$((p1 + p2)) $$((f1 + f2))" > $(RESULTS)/tty; [ $$((f1 + f2)) -eq 0 ]

# ---- suite link-rtl: the RTL UART + frame engine under Verilator ---------------------------------
LINK_RTL_SRCS := rtl/xnca_uart_rx.v rtl/xnca_uart_tx.v rtl/xnca_frame_fifo.v rtl/xnca_cobs_decoder.v \
	rtl/xnca_cobs_encoder.v rtl/xnca_frame_crc16.v rtl/xnca_frame_rx.v rtl/xnca_frame_tx.v \
	rtl/xnca_frame_engine.v rtl/xnca_frame_link.v
VERILATOR ?= verilator
LINK_BURSTS ?= 10000
# clocks per UART bit: 4 (48 MHz at 12 Mbaud, the minimum) and 16 (48 MHz at 3 Mbaud)
LINK_CPBS := 4 16
LINK_GFLAGS = -GBUILD_ID=32\'h1234abcd -GFIFO_LOG2=11 -GMAX_PAYLOAD=1024

$(BUILD)/link/xnca_frame.o: host/xnca_frame.c host/xnca_frame.h | $(BUILD)/link
	$(CC) $(CFLAGS) -c -o $@ $<

define LINK_RULE
$(BUILD)/link/cpb$(1)/Vlink: $(LINK_RTL_SRCS) sim/link_tb.cpp $(BUILD)/link/xnca_frame.o
	@rm -rf $(BUILD)/link/cpb$(1)
	$(VERILATOR) --cc --exe --build -j 1 -Wall -O3 --top-module xnca_frame_link -GCLKS_PER_BIT=$(1) \
	    $(LINK_GFLAGS) --Mdir $(BUILD)/link/cpb$(1) -o Vlink -CFLAGS "-I$(CURDIR)/host -O2" \
	    $(LINK_RTL_SRCS) $(CURDIR)/sim/link_tb.cpp $(CURDIR)/$(BUILD)/link/xnca_frame.o >/dev/null
endef
$(foreach c,$(LINK_CPBS),$(eval $(call LINK_RULE,$(c))))

test-link-rtl: $(foreach c,$(LINK_CPBS),$(BUILD)/link/cpb$(c)/Vlink)
	@mkdir -p $(RESULTS); p=0; f=0; \
	for c in $(LINK_CPBS); do \
	  n=$(LINK_BURSTS); [ $$c -gt 4 ] && n=$$(( $(LINK_BURSTS) / 10 )); \
	  if $(BUILD)/link/cpb$$c/Vlink +cpb=$$c +bursts=$$n +seed=$$c; then p=$$((p + 1)); \
	  else f=$$((f + 1)); fi; \
	done; echo "$$p $$f" > $(RESULTS)/link-rtl; [ $$f -eq 0 ]

lint: lint-link
lint-link:
	@fail=0; for c in 4 5 16; do \
	  if $(VERILATOR) --lint-only -Wall -GCLKS_PER_BIT=$$c --top-module xnca_frame_link $(LINK_RTL_SRCS); \
	  then echo "lint: link cpb $$c clean"; else echo "lint: link cpb $$c FAILED"; fail=1; fi; done; \
	if $(VERILATOR) --lint-only -Wall -GCLKS_PER_BIT=3 --top-module xnca_frame_link $(LINK_RTL_SRCS) \
	    >/dev/null 2>&1; then echo "lint: link CLKS_PER_BIT=3 was NOT rejected"; fail=1; \
	else echo "lint: link CLKS_PER_BIT=3 rejected at elaboration"; fi; [ $$fail -eq 0 ]

# ---- suite usb: libftdi + libusb against umockdev-emulated FTDI bridges ---------------------------
USB_TEST_SRCS := tests/test_usb_ftdi.c tests/umockdev/ftdi_emulator.c tests/link_test_util.c
USB_TEST_HDRS := tests/umockdev/ftdi_emulator.h tests/link_test_util.h

$(BUILD)/test_usb_ftdi: $(USB_TEST_SRCS) $(USB_TEST_HDRS) $(HOST_HDRS) $(HOST_LIB_A) $(ENGINE_LIB)
	$(CC) $(CFLAGS) -Ihost -Imodels -Itests -Itests/umockdev $(FTDI_CFLAGS) $(UMOCKDEV_CFLAGS) $(CMOCKA_CFLAGS) -o $@ \
	    $(USB_TEST_SRCS) $(HOST_LIB_A) $(ENGINE_LIB) $(UMOCKDEV_LIBS) $(CMOCKA_LIBS) $(HOST_LDLIBS)

$(BUILD)/test_usb_ftdi-asan: $(USB_TEST_SRCS) $(USB_TEST_HDRS) $(HOST_HDRS) $(HOST_LIB_SRCS) $$(ENGINE_SRCS)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -Ihost -Imodels -Itests -Itests/umockdev $(ENGINE_DEFS) $(FTDI_CFLAGS) \
	    $(UMOCKDEV_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $(USB_TEST_SRCS) $(HOST_LIB_SRCS) $(ENGINE_SRCS) \
	    $(UMOCKDEV_LIBS) $(CMOCKA_LIBS) $(HOST_LDLIBS)

# umockdev's LD_PRELOAD library comes before the ASan runtime: tell ASan that is fine.
test-usb: $(BUILD)/test_usb_ftdi $(BUILD)/test_usb_ftdi-asan
	@mkdir -p $(RESULTS)/parts
	@scripts/run-cmocka $(RESULTS)/parts/usb-plain umockdev-wrapper $(BUILD)/test_usb_ftdi; \
	 ASAN_OPTIONS=verify_asan_link_order=0 \
	 scripts/run-cmocka $(RESULTS)/parts/usb-asan umockdev-wrapper $(BUILD)/test_usb_ftdi-asan; \
	 read p1 f1 < $(RESULTS)/parts/usb-plain; read p2 f2 < $(RESULTS)/parts/usb-asan; \
	 echo "$$((p1 + p2)) $$((f1 + f2))" > $(RESULTS)/usb; [ $$((f1 + f2)) -eq 0 ]

# ---- fuzzing (clang libFuzzer) -------------------------------------------------------------------
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE
FUZZ_TARGETS := frame model idx png
FUZZ_SRCS_frame := host/xnca_frame.c
FUZZ_SRCS_model = $(ENGINE_SRCS)
FUZZ_SRCS_idx = $(ENGINE_SRCS)
# png: the picture decoders and MNIST preprocessing of `xnca classify` (mk/cli_device.mk)
FUZZ_SRCS_png := host/xnca_image.c
FUZZ_LIBS_png := -lpng

define FUZZ_RULE
$(BUILD)/fuzz/fuzz_$(1): fuzz/fuzz_$(1).c $$(FUZZ_SRCS_$(1)) | $(BUILD)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -Ihost -Imodels $(ENGINE_DEFS) -o $$@ $$< $$(FUZZ_SRCS_$(1)) $(ENGINE_LDLIBS) \
	    $$(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

fuzz: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/fuzz_$(t))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      $(BUILD)/fuzz/corpus-$$t fuzz/corpus/$$t || exit 1; \
	done

# Each target runs FUZZ_SECONDS on a scratch corpus seeded from fuzz/corpus/<target>; a crash,
# leak or sanitizer report fails the target.
test-fuzz: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/fuzz_$(t))
	@mkdir -p $(RESULTS); p=0; f=0; \
	for t in $(FUZZ_TARGETS); do \
	  rm -rf $(BUILD)/fuzz/run-$$t; mkdir -p $(BUILD)/fuzz/run-$$t; \
	  if $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -print_final_stats=1 \
	      -artifact_prefix=$(BUILD)/fuzz/run-$$t/ $(BUILD)/fuzz/run-$$t fuzz/corpus/$$t \
	      > $(BUILD)/fuzz/run-$$t.log 2>&1; then \
	    echo "fuzz: $$t ok ($$(grep -Eo 'stat::number_of_executed_units: [0-9]+' $(BUILD)/fuzz/run-$$t.log \
	      | grep -Eo '[0-9]+$$') runs)"; p=$$((p + 1)); \
	  else echo "fuzz: $$t FAILED (log $(BUILD)/fuzz/run-$$t.log)"; tail -30 $(BUILD)/fuzz/run-$$t.log; \
	    f=$$((f + 1)); fi; \
	done; echo "$$p $$f" > $(RESULTS)/fuzz; [ $$f -eq 0 ]

# The long runs of docs/fuzzing.md: FUZZ_RUNS executions per target, one target at a time.
FUZZ_RUNS ?= 10000000
fuzz-long: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/fuzz_$(t))
	@mkdir -p $(BUILD)/fuzz/long; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/long/corpus-$$t $(BUILD)/fuzz/long/art-$$t; s=$$(date +%s); \
	  nice -n 10 $(BUILD)/fuzz/fuzz_$$t -runs=$(FUZZ_RUNS) -rss_limit_mb=1024 -print_final_stats=1 \
	      -artifact_prefix=$(BUILD)/fuzz/long/art-$$t/ $(BUILD)/fuzz/long/corpus-$$t fuzz/corpus/$$t \
	      > $(BUILD)/fuzz/long/$$t.log 2>&1; rc=$$?; \
	  echo "fuzz-long: $$t exit $$rc, $$(grep -Eo 'number_of_executed_units: [0-9]+' $(BUILD)/fuzz/long/$$t.log \
	      | grep -Eo '[0-9]+$$') runs in $$(( $$(date +%s) - s )) s"; [ $$rc -eq 0 ] || exit 1; \
	done
