# mk/prune.mk - `xnca prune`: structured pruning of a float model (models/xnca_prune.c, built
# into build/libxnca_engine.a by mk/engine.mk; host/cli_prune.c, built by mk/cli.mk). The models
# it makes are rules of mk/ptq.mk (make ptq-m72).
#
# Suite prune: tests/test_prune.sh (widths and metadata of the output, determinism, same widths
# = same eval output, W4A4 of M=72 within 12,288 weight bytes, bad arguments exit 1). Needs
# `make data` (MNIST).

TEST_SUITES += prune
.PHONY: test-prune
test-prune: $(BUILD)/xnca
	@mkdir -p $(RESULTS)
	@tests/test_prune.sh $(BUILD)/xnca $(RESULTS)/prune
