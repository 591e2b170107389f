# Turnaround: `make demo` and `make test` are the two set-up commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench bench-large stress calibrate clean lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/turnaround demo

test: $(STAMP)
	scripts/system-deps.sh
	$(BIN)/ruff check .
	TURNAROUND_REQUIRE_POSTGRES=1 TURNAROUND_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 2 -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	test -x /usr/bin/time || apt-get install -y -qq time
	$(BIN)/python bench/run.py

# The 10,000,000-ticket size (about 2 GB of CSV; tens of minutes), added to bench/results.json.
bench-large: $(STAMP)
	test -x /usr/bin/time || apt-get install -y -qq time
	$(BIN)/python bench/scale.py 10m

# The concurrency tests (marker `concurrency`) STRESS_RUNS times (default 5) under eight busy
# loops (STRESS_BURNERS); stops at the first failure.
STRESS_RUNS ?= 5
STRESS_BURNERS ?= 8
stress: $(STAMP)
	scripts/system-deps.sh
	STRESS_RUNS=$(STRESS_RUNS) STRESS_BURNERS=$(STRESS_BURNERS) PYTHON=$(BIN)/python scripts/stress.sh

# How often each verdict claims an effect that is not there, and how often its intervals hold
# the truth (docs/metrics.md, Calibration): CALIBRATE_WORLDS worlds of CALIBRATE_CUSTOMERS
# customers, 9 minutes on two cores; writes docs/calibration.md; exit 1 when a verdict fails.
CALIBRATE_WORLDS ?= 400
CALIBRATE_CUSTOMERS ?= 2000
calibrate: $(STAMP)
	$(BIN)/python scripts/calibration_page.py --worlds $(CALIBRATE_WORLDS) \
		--customers $(CALIBRATE_CUSTOMERS) --seed 1

# Re-resolve the pinned versions (run by hand, then commit constraints.txt).
lock:
	rm -rf /tmp/turnaround-lock && $(PYTHON) -m venv /tmp/turnaround-lock
	/tmp/turnaround-lock/bin/pip install --quiet -e ".[dev]"
	/tmp/turnaround-lock/bin/pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) *.egg-info
