# mk/cli.mk - the `xnca` command-line tool, the float-engine tests, the Distill golden check and
# reproduction, `make demo` and `make bench-cpu`.
#
# build/xnca links every host/cli_*.c (a new command = host/cli_<name>.c + one line in
# host/cli_commands.def) against build/libxnca_engine.a (mk/engine.mk). Fragments that add
# libraries the CLI needs append them to CLI_LIBS (archives, rebuilt on change) or CLI_LDLIBS.

CLI_SRCS := $(sort $(wildcard host/cli_*.c))
CLI_OBJS := $(patsubst host/%.c,$(BUILD)/cli/%.o,$(CLI_SRCS))
CLI_GEN := $(BUILD)/gen
CLI_CFLAGS = $(CFLAGS) -Imodels -Ihost -I$(CLI_GEN) -MMD -MP
CLI_LIBS += $(BUILD)/libxnca_engine.a
CLI_LDLIBS += -lopenblas -lpthread -lm
DISTILL_JSON := models/third_party/distill/model.json
DISTILL_MODEL := models/distill-float.xnca
# make demo runs the first of these models that the simulated device accepts (scripts/demo):
# the shipped models/mnist.xnca once it exists, else the largest stand-in within the device's caps.
DEMO_MODELS ?= models/mnist.xnca models/mnist-w4a4.xnca models/mnist-w3a3.xnca models/mnist-w2a2.xnca \
	models/mnist-w1a1.xnca
DEMO_N ?= 100
DEMO_STEPS ?= 20

ALL_TARGETS += $(BUILD)/xnca $(BUILD)/bench_cpu $(BUILD)/test_float $(BUILD)/test_float_san

.SECONDEXPANSION:
$(BUILD)/xnca: $(CLI_OBJS) $$(CLI_LIBS)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(CLI_LIBS) $(CLI_LDLIBS)

$(BUILD)/cli/%.o: host/%.c $(CLI_GEN)/xnca_version.h | $(BUILD)/cli
	$(CC) $(CLI_CFLAGS) -c -o $@ $<

$(BUILD)/cli:
	@mkdir -p $@

# The git hash baked into `xnca --version`; the header changes only when the hash does.
.PHONY: cli-version-stamp
$(CLI_GEN)/xnca_version.h: cli-version-stamp
	@mkdir -p $(@D); \
	h=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	if [ "$$h" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then h="$$h-dirty"; fi; \
	new="#define XNCA_GIT_HASH \"$$h\""; \
	[ "$$(cat $@ 2>/dev/null)" = "$$new" ] || echo "$$new" > $@

-include $(CLI_OBJS:.o=.d)

# Regenerate the committed Distill float model from the published TF.js weights.
.PHONY: distill-model
distill-model: $(BUILD)/xnca
	$(BUILD)/xnca import-distill $(DISTILL_JSON) -o $(DISTILL_MODEL)

# ---- float engine unit tests (cmocka; plain and ASan+UBSan) ----
FLOAT_TEST_SRC := tests/test_float.c
$(BUILD)/test_float: $(FLOAT_TEST_SRC) $$(CLI_LIBS) | $(BUILD)/cli
	$(CC) $(CFLAGS) -Imodels $(CMOCKA_CFLAGS) -o $@ $< $(CLI_LIBS) $(CMOCKA_LIBS) $(CLI_LDLIBS)

# The sanitizer binary compiles the engine sources it exercises itself (the archive is not
# instrumented).
FLOAT_SAN_SRCS = $(filter-out models/xnca_train%,$(wildcard models/xnca_*.c))
$(BUILD)/test_float_san: $(FLOAT_TEST_SRC) $$(FLOAT_SAN_SRCS) | $(BUILD)/cli
	$(CC) $(SAN_FLAGS) $(CFLAGS_BASE) -Imodels $(CMOCKA_CFLAGS) -o $@ $< $(FLOAT_SAN_SRCS) \
	    $(CMOCKA_LIBS) $(CLI_LDLIBS)

TEST_SUITES += float
.PHONY: test-float
test-float: $(BUILD)/test_float $(BUILD)/test_float_san
	@mkdir -p $(RESULTS)/parts
	@scripts/run-cmocka $(RESULTS)/parts/float-plain $(BUILD)/test_float; \
	 scripts/run-cmocka $(RESULTS)/parts/float-san $(BUILD)/test_float_san; \
	 read p1 f1 < $(RESULTS)/parts/float-plain; read p2 f2 < $(RESULTS)/parts/float-san; \
	 echo "$$((p1 + p2)) $$((f1 + f2))" > $(RESULTS)/float; [ $$((f1 + f2)) -eq 0 ]

# ---- CLI behaviour (exit codes, --help, JSON shapes) ----
TEST_SUITES += cli
.PHONY: test-cli
test-cli: $(BUILD)/xnca
	@mkdir -p $(RESULTS)
	@tests/test_cli.sh $(BUILD)/xnca $(RESULTS)/cli

# ---- golden: the C float engine against an independent numpy forward pass of model.json ----
TEST_SUITES += golden
.PHONY: test-golden
test-golden: $(BUILD)/xnca
	@mkdir -p $(RESULTS) $(BUILD)/golden
	@$(PYTHON) tests/golden_distill.py --xnca $(BUILD)/xnca --json $(DISTILL_JSON) \
	    --model $(DISTILL_MODEL) --work $(BUILD)/golden --result $(RESULTS)/golden

# ---- distill: the imported model still classifies (300 test digits, step 100) ----
TEST_SUITES += distill
.PHONY: test-distill
test-distill: $(BUILD)/xnca
	@mkdir -p $(RESULTS)
	@tests/test_distill.sh $(BUILD)/xnca $(DISTILL_MODEL) $(RESULTS)/distill

# ---- make demo: DEMO_N MNIST test digits at DEMO_STEPS steps on the simulated accelerator ----
# (the Verilated top of DEMO_BOARD, RTL UART included): accuracy, cycles per image and the images/s
# they mean at each board's clock (place-and-route report when there is one, else the planned
# clock), and the CPU reference engine on the same digits. The default board is the ULX3S-85F:
# its 8 x 128 array needs ~24x fewer cycles per digit than the iCEBreaker's 1 x 32, so 100 digits
# simulate within the 2-minute budget (the iCEBreaker's array: DEMO_BOARD=icebreaker, ~5 min).
# The other boards' cycles come from 1 digit on their own Verilated arrays (DEMO_BOARD_N).
DEMO_BOARD ?= ulx3s-85f
.PHONY: demo
# (board names spelled out: mk/top.mk, which defines SIM_BOARDS, is read after this file)
demo: deps data $(BUILD)/xnca $(foreach b,icebreaker ulx3s-85f ulx3s-25f,$(BUILD)/sim/$(b)/libxnca_simtop.so)
	@DEMO_N=$(DEMO_N) DEMO_STEPS=$(DEMO_STEPS) DEMO_DEVICE=sim:$(DEMO_BOARD) \
	 DEMO_PLANNED="$(foreach b,icebreaker ulx3s-85f ulx3s-25f,$(b)=$(BOARD_FREQ_$(b)))" \
	 scripts/demo $(BUILD)/xnca $(DEMO_MODELS)

# ---- make bench-cpu: CPU throughput table -> docs/bench-cpu.md ----
$(BUILD)/bench_cpu: scripts/bench_cpu.c $$(CLI_LIBS) | $(BUILD)/cli
	$(CC) $(CFLAGS) -Imodels -o $@ $< $(CLI_LIBS) $(CLI_LDLIBS)

.PHONY: bench-cpu
bench-cpu: deps data $(BUILD)/bench_cpu
	@scripts/bench-cpu $(BUILD)/bench_cpu docs/bench-cpu.md
