# mk/ptq.mk - post-training quantization: `xnca quantize` (models/xnca_ptq.c, host/cli_quantize.c;
# both are built by mk/engine.mk and mk/cli.mk) and the shipped PTQ models models/ptq-w*a*.xnca.
#
# Suite ptq: tests/test_ptq.sh (file loads and passes info, determinism, W8A8 within 3 points of
# float on 200 test digits, W2A2 not, bad arguments exit 1). Needs `make data` (MNIST).
#
#   make ptq-models   regenerate models/ptq-w{m}a{k}.xnca from models/distill-float.xnca

PTQ_LADDER := 8:8 8:7 8:6 6:6 8:4 4:4 3:4 3:3

TEST_SUITES += ptq
.PHONY: test-ptq ptq-models
test-ptq: $(BUILD)/xnca
	@mkdir -p $(RESULTS)
	@tests/test_ptq.sh $(BUILD)/xnca $(RESULTS)/ptq

ptq-models: $(BUILD)/xnca
	@for p in $(PTQ_LADDER); do m=$${p%%:*}; k=$${p##*:}; \
	  $(BUILD)/xnca quantize --model models/distill-float.xnca --weight-bits $$m --act-bits $$k \
	      -o models/ptq-w$${m}a$${k}.xnca || exit 1; done
