# mk/models.mk - `make models-table`: evaluate every shipped model (models/*.xnca) with `xnca eval`
# on the test set of its dataset (the `dataset=` metadata key), choose the accelerator models
# models/mnist.xnca and models/fashion.xnca (scripts/select-shipped.py), and write the results
# table into models/README.md and README.md (between <!-- models-table:begin/end --> markers),
# the model card sections of models/README.md and the PNG plots in docs/plots/
# (scripts/models-table.py).
#
#   make models-table                      full test sets (10,000 images; hours on 2 busy cores)
#   make models-table MODELS_TABLE_N=300   first 300 test images (development; copies nothing)
#   make models-table QUICK=1              first 1,000 test images
#   make models-table MODELS_TABLE_CACHED=1  render from the cache only (no evaluation; models
#                                          without cached results show as "not evaluated yet")
#   make models-table MODELS_TABLE_SKIP_RUNNING=1  leave out files whose training run is alive
#                                          (train/<run>/pid): they change at every export
#   make models-select                     apply the selection rule to the last full table
#                                          (build/models-table/table.json) and copy the files
#
# Each evaluation is cached in build/models-table/<file>-<sha256>-<kind>-<args hash>.json and
# found by the SHA-256 of the model file and the eval arguments, so a rerun only evaluates
# models whose bytes changed (a byte-identical copy such as mnist.xnca costs nothing). It runs
# at nice $(MODELS_TABLE_NICE) so that training runs keep the cores. The tables and plots are
# committed.
#
# Suite models-table: the script's self-test (bit costs, markers, log parsing, compute time,
# cache keys, the selection rule on synthetic rows) and an end-to-end run on 3 test images with
# two real models and a corrupted one (one row per file, float first, error row, exit 1).

MODELS_TABLE_N ?= $(if $(filter 1,$(QUICK)),1000,10000)
MODELS_TABLE_NICE ?= 10
MODELS_TABLE_CACHED ?=
MODELS_TABLE_SKIP_RUNNING ?=
MODELS_TABLE_DIR := $(BUILD)/models-table

.PHONY: models-table models-select
models-table: data $(BUILD)/xnca
	@mkdir -p $(MODELS_TABLE_DIR) docs/plots
	nice -n $(MODELS_TABLE_NICE) $(PYTHON) scripts/models-table.py --xnca $(BUILD)/xnca \
	    --n $(MODELS_TABLE_N) $(if $(filter 1,$(MODELS_TABLE_CACHED)),--cached-only) \
	    $(if $(filter 1,$(MODELS_TABLE_SKIP_RUNNING)),--skip-running) \
	    --cache $(MODELS_TABLE_DIR) --plots docs/plots --card models/README.md --readme README.md

models-select:
	$(PYTHON) scripts/select-shipped.py --table $(MODELS_TABLE_DIR)/table.json --models models

TEST_SUITES += models-table
.PHONY: test-models-table
test-models-table: $(BUILD)/xnca
	@mkdir -p $(RESULTS)
	@out=$$(nice -n 5 $(PYTHON) scripts/models-table.py --self-test --xnca $(BUILD)/xnca 2>&1); rc=$$?; \
	 echo "$$out" | grep -v '^ok ' ; \
	 echo "$$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$$/\1 \2/p' > $(RESULTS)/models-table; \
	 [ -s $(RESULTS)/models-table ] || echo "0 1" > $(RESULTS)/models-table; exit $$rc
