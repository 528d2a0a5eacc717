# xnca - binarized neural cellular automata on Lattice FPGAs.
# Front door: make, make test, make demo, make sim, make bitstream BOARD=..., make prog BOARD=..., make bench.
# Each subsystem lives in mk/<area>.mk and registers its test suites in TEST_SUITES.

.DEFAULT_GOAL := all
SHELL := /bin/bash
BUILD ?= build
BOARD ?= icebreaker
WAVES ?= 0
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON ?= /usr/bin/python3

CC := gcc
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter -g
OPT ?= -O2
CFLAGS ?= $(OPT) $(CFLAGS_BASE)
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

TEST_SUITES :=
RESULTS := $(BUILD)/test-results

include $(sort $(wildcard mk/*.mk))

.PHONY: all test test-suites clean help
all: $(ALL_TARGETS)

# make test: every suite runs (failures do not stop the others), then one aggregate line.
test: deps data
	@rm -rf $(RESULTS); mkdir -p $(RESULTS)
	@-$(MAKE) --no-print-directory -k $(addprefix test-,$(TEST_SUITES))
	@scripts/test-summary $(RESULTS) $(TEST_SUITES)

help:
	@echo "targets: all test demo deps data sim cosim lint synth bitstream prog bench bench-cpu models-table clean"

clean:
	rm -rf $(BUILD)
