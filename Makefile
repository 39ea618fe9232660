# Set-up and checks for the course book. Two commands do everything on a fresh machine:
#   make book   - build the website into _build/html (from the committed, executed notebooks)
#   make test   - run every test: unit tests, autograder tests, the browser test, the fresh
#                 install of the wheel, nbval (on this CPU and imitating another)
# Both create .venv/ with the pinned stack on first use and reuse it afterwards.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2

# The genuine offline Fashion-MNIST sample beside the checkout; override to use your own copy.
export CONVBOOK_DATA_DIR ?= $(abspath ../shared/data/fashion-mnist)
export CONVBOOK_PROGRESS ?= 0
export MPLBACKEND ?= Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test unit notebooks chromium sandbox postgres execute lint clean

$(STAMP): requirements/lock.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements/lock.txt
	# d2l 1.0.3 pins numpy/matplotlib versions that break modern Python: no deps.
	$(BIN)/python -m pip install -q --no-deps d2l==1.0.3
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

# Debian's Chromium for the browser test (needs root, as on CI and the dev machines).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: sudo apt-get install chromium (the browser test will skip)"; fi; }

# bubblewrap: `convbook grade` jails each kernel with it, and refuses to grade without it.
sandbox:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else echo "bubblewrap missing: sudo apt-get install bubblewrap (grading tests will fail)"; fi; }

# PostgreSQL's server programs: the gradebook tests start a throw-away server of their own
# (tests/postgres.py). Debian keeps them off PATH, in /usr/lib/postgresql/<version>/bin.
# The drop-in stops the package from creating and starting a cluster on port 5432.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null \
	  || [ -x "$$PG_BINDIR/pg_ctl" ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    mkdir -p /etc/postgresql-common/createcluster.d && \
	    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/convbook.conf && \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL missing: sudo apt-get install postgresql (gradebook tests will fail)"; fi; }

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open $(abspath _build/html/index.html) in a browser."

unit: $(STAMP) chromium sandbox postgres
	CONVBOOK_BUDGET=smoke $(BIN)/python -m pytest -n $(JOBS) --dist loadscope -p no:cacheprovider tests

# nbval twice: as this machine computes, and imitating another CPU (PyTorch's portable
# kernels instead of AVX2, one thread, so other reduction orders): the committed outputs
# must hold on any x86 CPU, not only on the one that executed them.
NBVAL = CONVBOOK_BUDGET=smoke $(BIN)/python -m pytest -n $(JOBS) --dist loadscope \
	-p no:cacheprovider --nbval chapters solutions
notebooks: $(STAMP)
	$(NBVAL)
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 $(NBVAL)

test: unit notebooks

# Re-execute the chapter and solution notebooks in place (what the website shows).
# BUDGET=cpu by default; on a GPU machine use BUDGET=full.
BUDGET ?= cpu
execute: $(STAMP)
	CONVBOOK_BUDGET=$(BUDGET) $(BIN)/python tools/execute.py chapters/*.ipynb solutions/*/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf _build test-artifacts
