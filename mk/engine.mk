# mk/engine.mk - the reference engine library build/libxnca_engine.a (every models/xnca_*.c
# except the trainer's models/xnca_train*.c), its unit tests and the engine micro-benchmark.
#
# Link users with: build/libxnca_engine.a $(ENGINE_LDLIBS)
# Suites: engine (normal build) and engine-asan (ASan + UBSan build of the same tests).
# No -march flags: the AVX2 / AVX-512 kernels carry target attributes and are chosen at run time.

ENGINE_SRCS = $(sort $(filter-out models/xnca_train%,$(wildcard models/xnca_*.c)))
ENGINE_OBJS = $(patsubst models/%.c,$(BUILD)/engine/%.o,$(ENGINE_SRCS))
ENGINE_LIB := $(BUILD)/libxnca_engine.a
ENGINE_LDLIBS := -lopenblas -lpthread -lm
# The weak xnca_float_step fallback in xnca_engine.c is compiled only while the float engine
# is missing (a static archive would otherwise satisfy the symbol with the fallback).
ENGINE_DEFS = $(if $(wildcard models/xnca_float.c),-DXNCA_HAVE_FLOAT_ENGINE)
ENGINE_CFLAGS = $(CFLAGS) -Imodels $(ENGINE_DEFS) -MMD -MP

ENGINE_TEST_SRCS := tests/test_engine_main.c tests/test_engine.c tests/test_format.c tests/test_hash.c
ENGINE_TEST_HDRS := tests/test_engine.h models/xnca_model.h models/xnca_engine_impl.h

ALL_TARGETS += $(ENGINE_LIB) $(BUILD)/test_engine $(BUILD)/test_engine-asan $(BUILD)/bench-engine
TEST_SUITES += engine engine-asan

$(ENGINE_LIB): $(ENGINE_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/engine/%.o: models/%.c | $(BUILD)/engine
	$(CC) $(ENGINE_CFLAGS) -c -o $@ $<

$(BUILD)/engine:
	@mkdir -p $@

-include $(ENGINE_OBJS:.o=.d)

$(BUILD)/test_engine: $(ENGINE_TEST_SRCS) $(ENGINE_TEST_HDRS) $(ENGINE_LIB)
	$(CC) $(CFLAGS) -Imodels -Itests $(CMOCKA_CFLAGS) -o $@ $(ENGINE_TEST_SRCS) $(ENGINE_LIB) \
	    $(CMOCKA_LIBS) $(ENGINE_LDLIBS)

# The sanitizer binary compiles the engine sources itself (the archive is not instrumented).
$(BUILD)/test_engine-asan: $(ENGINE_TEST_SRCS) $(ENGINE_TEST_HDRS) $(ENGINE_SRCS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -Imodels -Itests $(ENGINE_DEFS) $(CMOCKA_CFLAGS) -o $@ \
	    $(ENGINE_TEST_SRCS) $(ENGINE_SRCS) $(CMOCKA_LIBS) $(ENGINE_LDLIBS)

$(BUILD)/bench-engine: tests/bench_engine.c $(ENGINE_LIB)
	$(CC) $(CFLAGS) -Imodels -o $@ $< $(ENGINE_LIB) $(ENGINE_LDLIBS)

.PHONY: test-engine test-engine-asan bench-engine
test-engine: $(BUILD)/test_engine
	@scripts/run-cmocka $(RESULTS)/engine $(BUILD)/test_engine

test-engine-asan: $(BUILD)/test_engine-asan
	@scripts/run-cmocka $(RESULTS)/engine-asan $(BUILD)/test_engine-asan

bench-engine: $(BUILD)/bench-engine
	$(BUILD)/bench-engine

# The model loader's libFuzzer target is fuzz/fuzz_model.c (mk/host.mk, `make fuzz`).
