# mk/models.mk - `make models-table`: evaluate every shipped model (models/*.xnca) with `xnca eval`
# on the full test set of its dataset, write the results table into models/README.md and README.md
# (between <!-- models-table:begin/end --> markers), the model card sections of models/README.md
# and the plots in docs/plots/ (scripts/models-table.py).
#
#   make models-table           full test sets (10,000 images; hours for all models on 2 cores)
#   make models-table QUICK=1   first 1,000 test images, for development
#
# Each evaluation is cached in build/models-table/<file>-<sha256>-<kind>-<args>.json: a rerun only
# evaluates models whose bytes changed. The generated tables and plots are committed.
# Suite models-table: the script's self-test (bit costs, markers, log parsing, cache keys).

MODELS_TABLE_N := $(if $(filter 1,$(QUICK)),1000,0)

.PHONY: models-table
models-table: data $(BUILD)/xnca
	@mkdir -p $(BUILD)/models-table docs/plots
	$(PYTHON) scripts/models-table.py --xnca $(BUILD)/xnca --n $(MODELS_TABLE_N) \
	    --cache $(BUILD)/models-table --plots docs/plots --card models/README.md --readme README.md

TEST_SUITES += models-table
.PHONY: test-models-table
test-models-table:
	@mkdir -p $(RESULTS)
	@out=$$($(PYTHON) scripts/models-table.py --self-test); rc=$$?; echo "$$out" | tail -1; \
	 echo "$$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$$/\1 \2/p' > $(RESULTS)/models-table; \
	 [ -s $(RESULTS)/models-table ] || echo "0 1" > $(RESULTS)/models-table; exit $$rc
