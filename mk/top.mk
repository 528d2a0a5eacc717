# mk/top.mk - the whole device: rtl/xnca_top.v (UART + frame engine + core adapter + core), its
# Verilated `sim[:BOARD]` devices, the end-to-end test and the benchmark cycle counts.
#
#   make sim-top [SIM_BOARD=icebreaker|ulx3s-85f|ulx3s-25f]
#       -> build/sim/<board>/libxnca_simtop.so, the Verilated device the `sim:<board>` transport
#          dlopens (host/xnca_transport_sim.c), and build/sim/<board>/build_id.
#   make sim-top-all          all three configurations (minutes each)
#   build/xnca sim --board B  serves build/sim/B/libxnca_simtop.so on a Unix socket (hosts use
#                             --device sim:B@SOCKET) or a pty (--pty; docs/protocol.md 5.1)
#   make lint-top             verilator -Wall on xnca_top in every board configuration
#   make top-cycles           $(BENCH_CYCLES): cycles per image of every board configuration on
#                             MNIST test digits at 20, 50 and 200 steps (TOP_CYCLES_N images)
# Suite: sim-e2e (tests/test_sim_e2e.sh): in process, served on a socket, the automatic device choice.

SIM_BOARDS := icebreaker ulx3s-85f ulx3s-25f
SIM_BOARD ?= icebreaker
SIM_DIR := $(BUILD)/sim
TOP_RTL_SRCS = rtl/xnca_top.v rtl/xnca_core_adapter.v $(LINK_RTL_SRCS) $(RTL_CORE_SRCS)

# Array configuration and link clock per board (docs/core.md 5; docs/boards.md clocks).
# icebreaker: the UP5K core of mk/rtl.mk (1 x 32, batch 2, caps W4A4, SPRAM; no core statistics
# counters and no second descriptor check behind the adapter, pixel levels from the adapter to the
# core), 21 MHz, 3 Mbaud (7 clocks per bit).
# ulx3s-85f / ulx3s-25f: the arrays chosen by scripts/board-sweep (docs/board-sweep.md), equal to
# the parameters of rtl/xnca_board_ulx3s_85f.v / _25f.v (mk/boards.mk builds those): the 85F at
# 8 x 128 with batch 8, the pipelined hash and wide X / Y words (the largest sweep point that
# routes), the 25F at
# 8 x 64 with batch 2 and the iterative hash (the last point that gained >= 10 %). Both run at
# 25 MHz, 1 Mbaud (25 clocks per bit); the cores close timing at ~30-38 MHz on ECP5.
TOP_CFG_icebreaker := MAX_WBITS=4 MAX_ABITS=4 UNITS=1 SYN_BITS=32 BATCH=2 HASH_PIPE=0 SPRAM=1 \
	STATS=0 LOAD_CHECKS=0 PIX_LEVELS=1 INFO_RECORD=0 DSP_ICE40=1 CLOCK_HZ=21000000 CLKS_PER_BIT=7
TOP_CFG_ulx3s-85f := MAX_WBITS=4 MAX_ABITS=4 UNITS=8 SYN_BITS=128 BATCH=8 HASH_PIPE=1 XY_WIDE=1 \
	CLOCK_HZ=25000000 CLKS_PER_BIT=25
TOP_CFG_ulx3s-25f := MAX_WBITS=4 MAX_ABITS=4 UNITS=8 SYN_BITS=64 BATCH=2 HASH_PIPE=0 \
	CLOCK_HZ=25000000 CLKS_PER_BIT=25
top_cfg_value = $(patsubst $(2)=%,%,$(filter $(2)=%,$(TOP_CFG_$(1))))
top_gflags = $(foreach p,$(TOP_CFG_$(1)),-G$(p))

# The iCEBreaker's adapter puts counters and adders into SB_MAC16 blocks (DSP_ICE40 = 1, used in
# yosys builds). Its Verilated model simulates that same logic: XNCA_SIM_ICE40_DSP selects it and
# yosys's own SB_MAC16 simulation model (cut from its ice40/cells_sim.v, lint waived: not our
# code) stands in for the hard block. The other boards simulate the fabric version they build.
# (ICE40_CELLS_SIM: mk/rtl.mk)
SIM_EXTRA_icebreaker = -DXNCA_SIM_ICE40_DSP $(SIM_DIR)/SB_MAC16.v
SIM_DEPS_icebreaker = $(SIM_DIR)/SB_MAC16.v
$(SIM_DIR)/SB_MAC16.v: $(ICE40_CELLS_SIM)
	@mkdir -p $(@D)
	{ echo '// SB_MAC16 from $<, unmodified (yosys, ISC licence)'; echo '/* verilator lint_off WIDTH */'; echo '/* verilator lint_off UNUSED */'; \
	  awk '/^module SB_MAC16/ {p = 1} p {print} p && /^endmodule/ {exit}' $<; \
	  echo '/* verilator lint_on WIDTH */'; echo '/* verilator lint_on UNUSED */'; } > $@.tmp
	@grep -q '^endmodule' $@.tmp || { echo "no SB_MAC16 in $<" >&2; exit 1; }
	mv $@.tmp $@

VERILATOR_ROOT_DIR := $(shell $(VERILATOR) --getenv VERILATOR_ROOT 2>/dev/null)
SIM_CXXFLAGS := -O2 -fPIC

ALL_TARGETS += $(SIM_DIR)/icebreaker/libxnca_simtop.so
TEST_SUITES += sim-e2e

.PHONY: sim-top sim-top-all lint-top test-sim-e2e top-cycles

sim-top: $(SIM_DIR)/$(SIM_BOARD)/libxnca_simtop.so
sim-top-all: $(foreach b,$(SIM_BOARDS),$(SIM_DIR)/$(b)/libxnca_simtop.so)

# One Verilated model per board: build id over the sources + parameters + "sim-<board>", the
# model's archives built position-independent, then linked with the harness into one .so.
define SIM_TOP_RULE
$(SIM_DIR)/$(1)/build_id: $$(TOP_RTL_SRCS) scripts/bitstream-build-id mk/top.mk
	@mkdir -p $$(@D)
	scripts/bitstream-build-id sim-$(1) "$$(sort $$(TOP_CFG_$(1)))" $$(TOP_RTL_SRCS) > $$@.tmp && mv $$@.tmp $$@

$(SIM_DIR)/$(1)/libxnca_simtop.so: $$(TOP_RTL_SRCS) $(RTL_VLT) sim/top_sim.cpp $(SIM_DIR)/$(1)/build_id $$(SIM_DEPS_$(1))
	@rm -rf $(SIM_DIR)/$(1)/obj
	nice $(VERILATOR) --cc --build -j 1 -Wall $(RTL_VLT) --top-module xnca_top \
	    $(call top_gflags,$(1)) -GBUILD_ID=32\'h$$$$(cat $(SIM_DIR)/$(1)/build_id) \
	    -GBOARD=\"sim:$(1)\" -GFAULT_INJECT=1\'b1 -CFLAGS "$(SIM_CXXFLAGS)" \
	    --Mdir $(SIM_DIR)/$(1)/obj $$(TOP_RTL_SRCS) $$(SIM_EXTRA_$(1)) >$(SIM_DIR)/$(1)/build.log 2>&1 \
	    || { tail -30 $(SIM_DIR)/$(1)/build.log; exit 1; }
	nice $(CXX) $(SIM_CXXFLAGS) -shared -DXNCA_SIM_CPB=$(call top_cfg_value,$(1),CLKS_PER_BIT) \
	    -I$(SIM_DIR)/$(1)/obj -I$(VERILATOR_ROOT_DIR)/include -I$(VERILATOR_ROOT_DIR)/include/vltstd \
	    -o $$@.tmp sim/top_sim.cpp $(SIM_DIR)/$(1)/obj/Vxnca_top__ALL.a \
	    $(VERILATOR_ROOT_DIR)/include/verilated.cpp $(VERILATOR_ROOT_DIR)/include/verilated_threads.cpp \
	    -pthread && mv $$@.tmp $$@
endef
$(foreach b,$(SIM_BOARDS),$(eval $(call SIM_TOP_RULE,$(b))))

lint: lint-top
lint-top:
	@fail=0; $(foreach b,$(SIM_BOARDS),\
	  if $(VERILATOR) --lint-only -Wall $(RTL_VLT) --top-module xnca_top $(call top_gflags,$(b)) \
	      $(TOP_RTL_SRCS); then echo "lint: top $(b) clean"; \
	  else echo "lint: top $(b) FAILED"; fail=1; fi;) [ $$fail -eq 0 ]

# ---- suite sim-e2e ----------------------------------------------------------------------------------
test-sim-e2e: $(BUILD)/xnca $(SIM_DIR)/xnca-top-cycles $(SIM_DIR)/icebreaker/libxnca_simtop.so
	@mkdir -p $(RESULTS)
	@tests/test_sim_e2e.sh $(BUILD) $(RESULTS)/sim-e2e

# ---- benchmark cycle counts ---------------------------------------------------------------------
TOP_CYCLES_N ?= 20
TOP_CYCLES_STEPS := 20 50 200
BENCH_CYCLES_TARGET := top-cycles
top-cycles: $(BUILD)/xnca $(SIM_DIR)/xnca-top-cycles $(foreach b,$(SIM_BOARDS),$(SIM_DIR)/$(b)/libxnca_simtop.so)
	@mkdir -p $(dir $(BENCH_CYCLES))
	scripts/top-cycles --xnca $(BUILD)/xnca --tool $(SIM_DIR)/xnca-top-cycles --n $(TOP_CYCLES_N) --steps "$(TOP_CYCLES_STEPS)" \
	    --boards "$(SIM_BOARDS)" --out $(BENCH_CYCLES)

# the cycle-count tool (host library + engine; the sim devices are dlopen'ed at run time)
.SECONDEXPANSION:
$(SIM_DIR)/xnca-top-cycles: sim/top_cycles.c $$(CLI_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Ihost -Imodels -o $@ $< $(CLI_LIBS) $(CLI_LDLIBS)
ALL_TARGETS += $(SIM_DIR)/xnca-top-cycles
