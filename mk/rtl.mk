# mk/rtl.mk - the accelerator core (rtl/xnca_* core modules): lint matrix, Verilator
# co-simulation against the C engine, core synthesis (docs/core.md, docs/architecture.md).
#
#   make lint          verilator --lint-only -Wall, every configuration below (+ rtl/xnca.vlt),
#                      and a check that an illegal parameter set fails elaboration
#   make cosim         co-simulation matrix + fault-injection negative control
#                      -> "cosim: N passed, M failed"; cycles/step, cycles/image, utilization
#   make sim [WAVES=1] one short co-simulated run of the tiny configuration
#                      (WAVES=1: FST waveform $(BUILD)/rtl/waves.fst)
#   make synth         yosys: UP5K configuration (synth_ice40, then nextpnr-ice40 at
#                      RTL_UP5K_FREQ MHz) and ECP5-85F configuration (synth_ecp5); cell counts.
#                      synth-up5k fails while the 28x28 UP5K configuration does not fit (see
#                      docs/architecture.md section 8); synth_ecp5 of the 64x256 array takes
#                      more than 30 CPU minutes with yosys 0.23.
#   make postsim       the yosys iCE40 netlist of the tiny configuration under the cosim harness
# Suites: rtl-lint, cosim, synth-up5k.

RTL_CORE_SRCS := rtl/xnca_ram.v rtl/xnca_hash.v rtl/xnca_hash_pipe.v rtl/xnca_quant.v rtl/xnca_unit.v \
	rtl/xnca_geom.v rtl/xnca_loader.v rtl/xnca_core.v
RTL_VLT := rtl/xnca.vlt
VERILATOR ?= verilator
YOSYS ?= yosys
NEXTPNR_ICE40 ?= nextpnr-ice40
RTL_DIR := $(BUILD)/rtl

# ---- configurations (parameter sets of xnca_core) ----------------------------------------------
# tiny: smallest grid, channels, units and chunk; odd: odd non-square grid, non-power-of-2 batch;
# wide: the largest units x chunk; up5k: the iCEBreaker core (caps W2A2); ecp5: the ULX3S-85F core.
# odd, wide and ecp5 use the pipelined fire/noise hashes (HASH_PIPE=1), tiny and up5k the iterative one.
RTL_CONFIGS := tiny odd wide up5k ecp5
RTL_PARAMS_tiny := GRID_W=8 GRID_H=8 CHANNELS=12 UNITS=1 SYN_BITS=32 BATCH=1
RTL_PARAMS_odd := GRID_W=13 GRID_H=9 CHANNELS=16 MAX_P=96 MAX_M=88 UNITS=2 SYN_BITS=64 BATCH=3 \
	HASH_PIPE=1
RTL_PARAMS_wide := GRID_W=9 GRID_H=8 CHANNELS=32 MAX_P=256 MAX_M=256 UNITS=64 SYN_BITS=1024 \
	BATCH=16 HASH_PIPE=1
RTL_PARAMS_up5k := GRID_W=28 GRID_H=28 CHANNELS=20 MAX_WBITS=2 MAX_ABITS=2 UNITS=4 SYN_BITS=64 BATCH=4
RTL_PARAMS_ecp5 := GRID_W=28 GRID_H=28 CHANNELS=20 UNITS=64 SYN_BITS=256 BATCH=8 HASH_PIPE=1

# cosim cases per configuration (sim/cosim_main.cpp --help). /H = hot residuals (saturation).
RTL_CASES_tiny := --case W1A1 --case W2A2/S3/H --case W4A4/L2/P40/M24/S4 --case W1A3/L0/P16/B3/H \
	--images 2 --steps 6 --mutate-at 3
RTL_CASES_odd := --case W1A1/P96/M88 --case W2A2/S2/H/B2 --case W3A1/L2/P40/M40 \
	--images 2 --steps 5 --mutate-at 2
RTL_CASES_wide := --case W1A1/L2/P256/M256 --case W4A4/P100/M90/S5/H --images 1 --steps 3 --mutate-at 1
RTL_CASES_up5k := --case W1A1 --case W2A2/S3/H --images 2 --steps 10 --mutate-at 5
RTL_CASES_ecp5 := --case W1A1 --case W2A2 --case W4A4/S4/H --images 2 --steps 10 --mutate-at 5
# negative control: every cell alive and firing, one state bit flipped at step 2, cell (0, 5), ch 3
RTL_FAULT_ARGS := --case W1A1 --images 1 --steps 4 --fire-all --full-grid --no-corners \
	+inject_fault=2,0,5,3
RTL_FAULT_EXPECT := step 2 x 0 y 5 channel 3

rtl_gflags = $(foreach p,$(RTL_PARAMS_$(1)),-G$(p))
RTL_VFLAGS := -Wall --x-assign unique --x-initial unique
RTL_CXXFLAGS := -O1 -I$(CURDIR)/models
RTL_LDFLAGS := $(CURDIR)/$(BUILD)/libxnca_engine.a $(ENGINE_LDLIBS)

# `make` builds one co-simulation binary; `make cosim` builds the rest (minutes each)
ALL_TARGETS += $(RTL_DIR)/tiny/cosim
TEST_SUITES += rtl-lint cosim synth-up5k

.PHONY: lint lint-core cosim sim postsim synth synth-up5k synth-ecp5 \
	test-rtl-lint test-cosim test-synth-up5k

# ---- lint ----------------------------------------------------------------------------------------
lint: lint-core

lint-core:
	@fail=0; \
	$(foreach c,$(RTL_CONFIGS),\
	  if $(VERILATOR) --lint-only -Wall $(RTL_VLT) $(call rtl_gflags,$(c)) -GFAULT_INJECT=1\'b1 \
	      --top-module xnca_core $(RTL_CORE_SRCS); then echo "lint: $(c) clean"; \
	  else echo "lint: $(c) FAILED"; fail=$$((fail + 1)); fi;) \
	if $(VERILATOR) --lint-only -Wall $(RTL_VLT) -GUNITS=3 --top-module xnca_core \
	    $(RTL_CORE_SRCS) 2>&1 | grep -q 'USERERROR.*UNITS must be a power of 2'; \
	then echo "lint: illegal UNITS=3 rejected at elaboration"; \
	else echo "lint: illegal UNITS=3 was NOT rejected"; fail=$$((fail + 1)); fi; \
	[ $$fail -eq 0 ]

test-rtl-lint:
	@mkdir -p $(RESULTS); out=$$($(MAKE) --no-print-directory lint-core 2>&1); echo "$$out"; \
	p=$$(grep -cE 'clean$$|rejected at elaboration$$' <<<"$$out"); \
	f=$$(grep -cE 'FAILED$$|NOT rejected$$' <<<"$$out"); \
	echo "$$p $$f" > $(RESULTS)/rtl-lint

# ---- co-simulation -------------------------------------------------------------------------------
# One Verilated binary per configuration (single-threaded: 2 shared cores).
define RTL_COSIM_RULE
$(RTL_DIR)/$(1)/cosim: $(RTL_CORE_SRCS) $(RTL_VLT) sim/cosim_main.cpp $(BUILD)/libxnca_engine.a
	@mkdir -p $(RTL_DIR)/$(1)
	nice $(VERILATOR) --cc --exe --build -j 1 $(RTL_VFLAGS) $(RTL_VLT) $(call rtl_gflags,$(1)) \
	    -GFAULT_INJECT=1\'b1 --top-module xnca_core $(addprefix $(CURDIR)/,$(RTL_CORE_SRCS)) \
	    $(CURDIR)/sim/cosim_main.cpp -CFLAGS "$(RTL_CXXFLAGS)" -LDFLAGS "$(RTL_LDFLAGS)" \
	    --Mdir $(RTL_DIR)/$(1)/obj -o cosim >$(RTL_DIR)/$(1)/build.log 2>&1 \
	    || { tail -30 $(RTL_DIR)/$(1)/build.log; exit 1; }
	@cp $(RTL_DIR)/$(1)/obj/cosim $$@
endef
$(foreach c,$(RTL_CONFIGS),$(eval $(call RTL_COSIM_RULE,$(c))))

cosim: $(foreach c,$(RTL_CONFIGS),$(RTL_DIR)/$(c)/cosim)
	@sim/run-cosim $(RTL_DIR) "$(RTL_FAULT_EXPECT)" "$(RTL_FAULT_ARGS)" \
	    $(foreach c,$(RTL_CONFIGS),"$(c):$(RTL_CASES_$(c))")

test-cosim:
	@mkdir -p $(RESULTS) $(RTL_DIR); if $(MAKE) --no-print-directory cosim 2>&1 | tee $(RTL_DIR)/cosim.log; then :; fi; \
	line=$$(grep -E '^cosim: [0-9]+ passed, [0-9]+ failed$$' $(RTL_DIR)/cosim.log | tail -1); \
	if [ -n "$$line" ]; then set -- $$line; echo "$$2 $$4" > $(RESULTS)/cosim; fi

# ---- short run, optionally with waves ------------------------------------------------------------
RTL_SIM_DIR := $(RTL_DIR)/sim$(if $(filter 1,$(WAVES)),-waves)
$(RTL_SIM_DIR)/cosim: $(RTL_CORE_SRCS) $(RTL_VLT) sim/cosim_main.cpp $(BUILD)/libxnca_engine.a
	@mkdir -p $(RTL_SIM_DIR)
	nice $(VERILATOR) --cc --exe --build -j 1 $(RTL_VFLAGS) $(if $(filter 1,$(WAVES)),--trace-fst) \
	    $(RTL_VLT) $(call rtl_gflags,tiny) --top-module xnca_core \
	    $(addprefix $(CURDIR)/,$(RTL_CORE_SRCS)) $(CURDIR)/sim/cosim_main.cpp \
	    -CFLAGS "$(RTL_CXXFLAGS)" -LDFLAGS "$(RTL_LDFLAGS)" --Mdir $(RTL_SIM_DIR)/obj -o cosim \
	    >$(RTL_SIM_DIR)/build.log 2>&1 || { tail -30 $(RTL_SIM_DIR)/build.log; exit 1; }
	@cp $(RTL_SIM_DIR)/obj/cosim $@

sim: $(RTL_SIM_DIR)/cosim
	$(RTL_SIM_DIR)/cosim --case W2A2 --images 1 --steps 2 --no-corners \
	    $(if $(filter 1,$(WAVES)),--waves $(RTL_DIR)/waves.fst)
	@$(if $(filter 1,$(WAVES)),ls -l $(RTL_DIR)/waves.fst)

# ---- synthesis -----------------------------------------------------------------------------------
RTL_UP5K_FREQ ?= 24
rtl_chparams = $(foreach p,$(RTL_PARAMS_$(1)),-set $(word 1,$(subst =, ,$(p))) $(word 2,$(subst =, ,$(p))))
RTL_SYN_DIR := $(BUILD)/synth

$(RTL_SYN_DIR)/up5k/core.json: $(RTL_CORE_SRCS)
	@mkdir -p $(@D)
	$(YOSYS) -q -l $(@D)/yosys.log -p "read_verilog -sv $(RTL_CORE_SRCS); \
	    chparam $(call rtl_chparams,up5k) xnca_core; \
	    synth_ice40 -top xnca_core -device u -spram -dsp -json $@; stat" >/dev/null

# place and route only when the cell counts fit the part (nextpnr would fail anyway)
synth-up5k: $(RTL_SYN_DIR)/up5k/core.json
	@rm -f $(RTL_SYN_DIR)/up5k/report.json; \
	if sim/synth-summary up5k-cells $(RTL_SYN_DIR)/up5k; then \
	    $(NEXTPNR_ICE40) -q --up5k --package sg48 --pcf-allow-unconstrained --json $< \
	        --freq $(RTL_UP5K_FREQ) --report $(RTL_SYN_DIR)/up5k/report.json \
	        -l $(RTL_SYN_DIR)/up5k/nextpnr.log || tail -5 $(RTL_SYN_DIR)/up5k/nextpnr.log; fi; \
	sim/synth-summary up5k $(RTL_SYN_DIR)/up5k

$(RTL_SYN_DIR)/ecp5/core.json: $(RTL_CORE_SRCS)
	@mkdir -p $(@D)
	$(YOSYS) -q -l $(@D)/yosys.log -p "read_verilog -sv $(RTL_CORE_SRCS); \
	    chparam $(call rtl_chparams,ecp5) xnca_core; \
	    synth_ecp5 -top xnca_core -json $@; stat" >/dev/null

synth-ecp5: $(RTL_SYN_DIR)/ecp5/core.json
	@sim/synth-summary ecp5 $(RTL_SYN_DIR)/ecp5

synth: synth-up5k synth-ecp5

# The suite checks that Yosys synthesizes the UP5K configuration (elaboration, parameter checks,
# RAM/DSP inference). Whether it fits and routes is printed, not gated: the core does not fit
# the UP5K yet (README, "What does not work yet"); `make synth-up5k` alone fails until it does.
test-synth-up5k:
	@mkdir -p $(RESULTS); rm -f $(RTL_SYN_DIR)/up5k/core.json; \
	if $(MAKE) --no-print-directory $(RTL_SYN_DIR)/up5k/core.json && [ -s $(RTL_SYN_DIR)/up5k/core.json ]; then \
	    echo "1 0" > $(RESULTS)/synth-up5k; \
	    $(MAKE) --no-print-directory synth-up5k || echo "synth-up5k: KNOWN GAP: the UP5K configuration does not fit or route yet (not gated)"; \
	else echo "0 1" > $(RESULTS)/synth-up5k; fi

# ---- post-synthesis simulation -------------------------------------------------------------------
# The yosys iCE40 netlist of the tiny configuration with the vendor cell models under the same
# harness. Vendor models and the flat netlist are not lint-clean: only style/lint warnings are
# waived for this build (no -Wno-fatal: anything else still stops it).
RTL_POST_DIR := $(RTL_DIR)/postsim
ICE40_CELLS_SIM ?= $(shell $(YOSYS)-config --datdir 2>/dev/null || echo /usr/share/yosys)/ice40/cells_sim.v
RTL_POST_CASES := --case W1A1 --case W2A2/S3/H --images 1 --steps 3 --mutate-at 1

$(RTL_POST_DIR)/net.v: $(RTL_CORE_SRCS)
	@mkdir -p $(@D)
	nice $(YOSYS) -q -l $(@D)/yosys.log -p "read_verilog -sv $(RTL_CORE_SRCS); \
	    chparam $(call rtl_chparams,tiny) xnca_core; synth_ice40 -top xnca_core; \
	    write_verilog -noattr $@" >/dev/null

$(RTL_POST_DIR)/cosim: $(RTL_POST_DIR)/net.v sim/cosim_main.cpp $(BUILD)/libxnca_engine.a
	nice $(VERILATOR) --cc --exe --build -j 1 --no-timing --timescale 1ns/1ps \
	    -DNO_ICE40_DEFAULT_ASSIGNMENTS -Wno-lint -Wno-style -Wno-MULTIDRIVEN -Wno-UNOPTFLAT \
	    -Wno-TIMESCALEMOD --top-module xnca_core $(CURDIR)/$< $(ICE40_CELLS_SIM) \
	    $(CURDIR)/sim/cosim_main.cpp -CFLAGS "$(RTL_CXXFLAGS)" -LDFLAGS "$(RTL_LDFLAGS)" \
	    --Mdir $(RTL_POST_DIR)/obj -o cosim >$(RTL_POST_DIR)/build.log 2>&1 \
	    || { tail -30 $(RTL_POST_DIR)/build.log; exit 1; }
	@cp $(RTL_POST_DIR)/obj/cosim $@

postsim: $(RTL_POST_DIR)/cosim
	$(RTL_POST_DIR)/cosim $(RTL_POST_CASES)
