# The two commands a newcomer needs (README): `make demo` and `make test`.
# Everything else is a building block of those two.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed
SNAPSHOT ?= 2017-11-15
SCALE    ?= 0.01

.PHONY: demo test setup check pytest bench bench-splink lock clean stop

# Virtualenv with the pinned stack and the project (editable). Re-runs when pins change.
# --compile-bytecode: some machines set PYTHONDONTWRITEBYTECODE, and every process would
# then recompile Airflow, GX and dbt from source on import (about a minute each).
# One line per step says what it does (the installs themselves stay quiet).
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	@echo "setup 1/4: virtualenv $(VENV) ($(PYTHON))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setup 2/4: the installer (uv 0.13.9)"
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==0.13.9
	@echo "setup 3/4: Airflow 3, dbt 1.11 + dbt-postgres, Great Expectations 1, Cosmos and the rest of requirements.txt, pinned by constraints.txt (a minute or two the first time)"
	@$(UV) pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt -c constraints.txt
	@echo "setup 4/4: this project (umkm, umkm-sim), editable"
	@$(UV) pip install --quiet --python $(PY) --no-deps -e .
	@touch $(STAMP)
	@echo "setup done: $(VENV)"

setup: $(STAMP)

## demo: set up, start the embedded warehouse, run the whole pipeline through Airflow
demo: setup
	UMKM_DEV_MODE=1 $(VENV)/bin/umkm run --snapshot $(SNAPSHOT) --scale $(SCALE)

## test: set up, then every check and test (ends with pytest's summary line)
test: setup browser
	$(PY) scripts/check.py
	$(PY) -m pytest

## browser: Debian's chromium and chromium-driver for the real-browser tests (apt-get, as root)
.PHONY: browser
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "browser: installing Debian's chromium and chromium-driver with apt-get (for the browser tests)"; \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/tmp/umkm-browser-apt.log 2>&1 && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >>/tmp/umkm-browser-apt.log 2>&1; } || \
	  { echo "browser: cannot install chromium and chromium-driver (needs root, apt-get and Debian's package mirror; apt-get's output in /tmp/umkm-browser-apt.log): run 'sudo apt-get install -y chromium chromium-driver'"; exit 1; }; \
	fi

check: setup
	$(PY) scripts/check.py

pytest: setup
	$(PY) -m pytest

## bench: speed and memory at a chosen scale (numbers printed, not asserted)
bench: setup
	UMKM_DEV_MODE=1 $(PY) bench/bench_pipeline.py --scale $(SCALE)

## bench-splink: Splink 4 beside our entity resolution on a warehouse kept by
## `bench_pipeline.py --scale $(SCALE) --keep` (installs bench/requirements-splink.txt)
bench-splink: setup
	$(UV) pip install --quiet --python $(PY) -r bench/requirements-splink.txt -c constraints.txt
	UMKM_DEV_MODE=1 $(PY) bench/bench_splink.py --scale $(SCALE)

## lock: re-resolve constraints.txt from requirements.txt
lock:
	$(UV) pip compile --python $(PY) requirements.txt -o constraints.txt --quiet

stop:
	-$(VENV)/bin/umkm warehouse stop

clean: stop
	rm -rf .local
