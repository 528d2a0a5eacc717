# mk/cli_device.mk - the device side of the `xnca` CLI: classify, watch, selftest, prog and
# `info --device` (host/cli_{classify,watch,selftest,prog,device}.c), the image reader and
# MNIST preprocessing (host/xnca_image.c), the class-map renderer (host/xnca_render.c).
#
# The CLI links the host library (build/libxnca_host.a, mk/host.mk) for the devices, libpng and
# giflib; this fragment is included after mk/cli.mk and before mk/train.mk, so the archives land
# in the right order (train, image, host, engine).
# Suites: image (cmocka, plain + ASan/UBSan), cli-device (tests/test_cli_device.sh; needs make data).

IMAGE_SRCS := host/xnca_image.c host/xnca_render.c
IMAGE_HDRS := host/xnca_image.h host/xnca_render.h
IMAGE_LIB := $(BUILD)/libxnca_image.a
IMAGE_LDLIBS := -lpng -lgif

CLI_LIBS := $(IMAGE_LIB) $(BUILD)/libxnca_host.a $(CLI_LIBS)
CLI_LDLIBS += $(FTDI_LIBS) $(IMAGE_LDLIBS)

ALL_TARGETS += $(IMAGE_LIB) $(BUILD)/test_image $(BUILD)/test_image-asan

$(IMAGE_LIB): $(patsubst host/%.c,$(BUILD)/cli/%.o,$(IMAGE_SRCS))
	@rm -f $@
	$(AR) rcs $@ $^

-include $(patsubst host/%.c,$(BUILD)/cli/%.d,$(IMAGE_SRCS))

# ---- suite image: PNG / PGM parsing, preprocessing, PNG and GIF writers ----
$(BUILD)/test_image: tests/test_image.c $(IMAGE_SRCS) $(IMAGE_HDRS) | $(BUILD)/cli
	$(CC) $(CFLAGS) -Ihost $(CMOCKA_CFLAGS) -o $@ tests/test_image.c $(IMAGE_SRCS) $(CMOCKA_LIBS) $(IMAGE_LDLIBS) -lm

$(BUILD)/test_image-asan: tests/test_image.c $(IMAGE_SRCS) $(IMAGE_HDRS) | $(BUILD)/cli
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -Ihost $(CMOCKA_CFLAGS) -o $@ tests/test_image.c $(IMAGE_SRCS) \
	    $(CMOCKA_LIBS) $(IMAGE_LDLIBS) -lm

TEST_SUITES += image
.PHONY: test-image
test-image: $(BUILD)/test_image $(BUILD)/test_image-asan
	@mkdir -p $(RESULTS)/parts
	@scripts/run-cmocka $(RESULTS)/parts/image-plain $(BUILD)/test_image; \
	 scripts/run-cmocka $(RESULTS)/parts/image-asan $(BUILD)/test_image-asan; \
	 read p1 f1 < $(RESULTS)/parts/image-plain; read p2 f2 < $(RESULTS)/parts/image-asan; \
	 echo "$$((p1 + p2)) $$((f1 + f2))" > $(RESULTS)/image; [ $$((f1 + f2)) -eq 0 ]

# ---- suite cli-device: classify / watch / selftest / prog / info on the cpu device ----
TEST_SUITES += cli-device
.PHONY: test-cli-device
test-cli-device: $(BUILD)/xnca
	@mkdir -p $(RESULTS)
	@tests/test_cli_device.sh $(BUILD)/xnca $(RESULTS)/cli-device
