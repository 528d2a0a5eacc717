# mk/ptq.mk - post-training quantization: `xnca quantize` (models/xnca_ptq.c, host/cli_quantize.c;
# both are built by mk/engine.mk and mk/cli.mk) and the shipped PTQ models models/ptq-w*a*.xnca.
#
# Suite ptq: tests/test_ptq.sh (file loads and passes info, determinism, W8A8 within 3 points of
# float on 200 test digits, W2A2 not, bad arguments exit 1). Needs `make data` (MNIST).
#
#   make ptq-models   regenerate models/ptq-w{m}a{k}.xnca from models/distill-float.xnca, and the
#                     narrowed W4A4 starting point (make ptq-m72, below)
#
# W4A4 at Distill's dimensions is 12,522 weight bytes, over the 12,288 a shipped model may have
# (docs/spec.md section 9), so the W4A4 starting point for fine-tuning has a hidden layer of 72
# units: models/distill-float-m72.xnca = `xnca prune --mlp-width 72` of the Distill float model
# (host/cli_prune.c, models/xnca_prune.c), models/ptq-w4a4-m72.xnca its W4A4 PTQ (12,078 B).

PTQ_LADDER := 8:8 8:7 8:6 6:6 8:4 4:4 3:4 3:3

TEST_SUITES += ptq
.PHONY: test-ptq ptq-models
test-ptq: $(BUILD)/xnca
	@mkdir -p $(RESULTS)
	@tests/test_ptq.sh $(BUILD)/xnca $(RESULTS)/ptq

ptq-models: ptq-m72 $(BUILD)/xnca
	@for p in $(PTQ_LADDER); do m=$${p%%:*}; k=$${p##*:}; \
	  $(BUILD)/xnca quantize --model models/distill-float.xnca --weight-bits $$m --act-bits $$k \
	      -o models/ptq-w$${m}a$${k}.xnca || exit 1; done

PRUNED_M72 := models/distill-float-m72.xnca
PTQ_M72 := models/ptq-w4a4-m72.xnca
.PHONY: ptq-m72
ptq-m72: $(BUILD)/xnca
	$(BUILD)/xnca prune --model models/distill-float.xnca --mlp-width 72 -o $(PRUNED_M72)
	$(BUILD)/xnca quantize --model $(PRUNED_M72) --weight-bits 4 --act-bits 4 -o $(PTQ_M72)

# The Fashion starting point of run fashion-w3a4-ft (mk/train.mk): the Fashion float fine-tune's
# export quantized to W3A4, calibrated on Fashion training images.
.PHONY: ptq-fashion
ptq-fashion: $(BUILD)/xnca
	$(BUILD)/xnca quantize --model models/fashion-float-ft.xnca --weight-bits 3 --act-bits 4 --data fashion \
	    -o models/ptq-fashion-w3a4.xnca

# The starting point of the long Fashion chain (runs fashion-long-w3a4-ft/-ft2, mk/train.mk): the
# Fashion float fine-tune continued to 40,000 iterations (models/fashion-float-long.xnca),
# quantized to W3A4 the same way.
.PHONY: ptq-fashion-long
ptq-fashion-long: $(BUILD)/xnca
	$(BUILD)/xnca quantize --model models/fashion-float-long.xnca --weight-bits 3 --act-bits 4 --data fashion \
	    -o models/ptq-fashion-long-w3a4.xnca
# ... and to W4A4 (the hardware's caps; 12,522 weight bytes): PTQ keeps more of it (40.5 % image
# accuracy at step 50 on 1,000 Fashion test digits against W3A4's 20.4 %)
	$(BUILD)/xnca quantize --model models/fashion-float-long.xnca --weight-bits 4 --act-bits 4 --data fashion \
	    -o models/ptq-fashion-long-w4a4.xnca

# The Fashion W4A4 inside 12,288 weight bytes (select-shipped.py's envelope; W4A4 at M = 80 takes
# 12,522): fashion-float-long pruned to M = 72 hidden units, as ptq-m72 does for MNIST, then W4A4.
.PHONY: ptq-fashion-m72
ptq-fashion-m72: $(BUILD)/xnca
	$(BUILD)/xnca prune --model models/fashion-float-long.xnca --mlp-width 72 --data fashion \
	    -o models/fashion-float-long-m72.xnca
	$(BUILD)/xnca quantize --model models/fashion-float-long-m72.xnca --weight-bits 4 --act-bits 4 \
	    --data fashion -o models/ptq-fashion-w4a4-m72.xnca
