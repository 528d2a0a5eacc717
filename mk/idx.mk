# mk/idx.mk - IDX dataset reader (models/xnca_idx.c) and its unit tests.
# Suites: idx (normal build) and idx-asan (ASan + UBSan build of the same test).

IDX_SRC := models/xnca_idx.c
IDX_TEST_DEPS := tests/test_idx.c $(IDX_SRC) models/xnca_model.h

$(BUILD)/test_idx: $(IDX_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Imodels $(CMOCKA_CFLAGS) -o $@ tests/test_idx.c $(IDX_SRC) $(CMOCKA_LIBS)

$(BUILD)/test_idx-asan: $(IDX_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -Imodels $(CMOCKA_CFLAGS) -o $@ tests/test_idx.c $(IDX_SRC) $(CMOCKA_LIBS)

ALL_TARGETS += $(BUILD)/test_idx $(BUILD)/test_idx-asan
TEST_SUITES += idx idx-asan

.PHONY: test-idx test-idx-asan
test-idx: $(BUILD)/test_idx
	@scripts/run-cmocka $(RESULTS)/idx $(BUILD)/test_idx

test-idx-asan: $(BUILD)/test_idx-asan
	@scripts/run-cmocka $(RESULTS)/idx-asan $(BUILD)/test_idx-asan
