# The commands the README promises. Only python3 needs to be on the machine: the first target
# that needs the environment builds it (.tools holds uv, .venv the pinned project environment).
PY       ?= python3
UV_VER   := 0.13.9
UV       := .tools/bin/uv
VENV     := .venv
STAMP    := $(VENV)/.synced
CHROMIUM := /usr/bin/chromium
DF_VENV  := .venv-dagfactory
DF_REQS  := tests/envs/dag-factory.txt
# EXECUTOR=celery: the distributed local stack (Postgres, Redis, CeleryExecutor) for `make demo` / `make airflow`
EXECUTOR ?= local
SERVERS  := /usr/bin/redis-server /usr/bin/pg_conftool

.PHONY: help venv test test-min min-lock dagfactory-lock test-34 lock-34 test-fast demo airflow bench bench-load lint clean

help:
	@echo "make demo   run the flagship example end to end on the local stack"
	@echo "make airflow  the local stack kept running: UI on http://127.0.0.1:8080 (admin / admin)"
	@echo "make test   build the environment (first time) and run every test"
	@echo "make bench  run the benchmarks (ARGS=--large: add the 5,000-spec run; make bench-load: 20 runs on the celery stack)"
	@echo "make lint   ruff and mypy"

$(UV):
	$(PY) -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VER)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python $(PY)
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP) $(CHROMIUM) $(SERVERS) $(DF_VENV)/.synced
	$(VENV)/bin/python -m pytest
	$(MAKE) --no-print-directory test-min
	$(MAKE) --no-print-directory test-34

# The lowest Airflow dagspec supports (pyproject: apache-airflow>=3.3.0): the fast tests run on it too.
# tests/envs/airflow-min.txt pins every package: uv.lock's versions except where Airflow 3.3.0 forces
# another (`make min-lock` recompiles it after uv.lock changes).
MIN_VENV := .venv-min
MIN_REQS := tests/envs/airflow-min.txt
$(MIN_VENV)/.synced: $(UV) pyproject.toml $(MIN_REQS)
	$(UV) venv -q --allow-existing --python $(PY) $(MIN_VENV)
	VIRTUAL_ENV=$(MIN_VENV) $(UV) pip sync -q $(MIN_REQS)
	@touch $@

min-lock: $(UV)
	$(UV) export -q --frozen --all-extras --no-hashes --no-emit-project --no-header --no-annotate \
	  --format requirements-txt | grep -v -E '^apache-airflow(-core|-task-sdk)?==' > $(MIN_REQS)
	$(UV) pip compile -q --universal --python-version 3.11 tests/envs/airflow-min.in -o $(MIN_REQS) --no-header

# dag-factory 1.1.0 in its own pinned environment, for the import-dag-factory equivalence harness
# (tests/migrate builds every corpus DAG with dag-factory there and with dagspec here, and compares).
$(DF_VENV)/.synced: $(UV) $(DF_REQS)
	$(UV) venv -q --allow-existing --python $(PY) $(DF_VENV)
	VIRTUAL_ENV=$(DF_VENV) $(UV) pip sync -q $(DF_REQS)
	@touch $@

dagfactory-lock: $(UV)
	$(UV) export -q --frozen --all-extras --no-hashes --no-emit-project --no-header --no-annotate \
	  --format requirements-txt > $(DF_REQS)
	$(UV) pip compile -q --universal --python-version 3.11 tests/envs/dag-factory.in -o $(DF_REQS) --no-header

test-min: $(MIN_VENV)/.synced
	$(MIN_VENV)/bin/python -m pytest -p no:cacheprovider -q -m "not slow" tests/unit tests/integration tests/airflow

# Airflow 3.4 (pre-release): the DAG importer (AIP-85, dagspec.dag_factory.airflow.importer). Only what
# differs from 3.3 runs here: the importer tests (the real 3.4 DagBag and dag processor), the fast unit
# tests and the DagBag-level example loading. tests/envs/airflow-3.4.txt pins every package: uv.lock's
# versions except where Airflow 3.4 forces another (`make lock-34` recompiles it after uv.lock changes).
V34_VENV := .venv-34
V34_REQS := tests/envs/airflow-3.4.txt
$(V34_VENV)/.synced: $(UV) pyproject.toml $(V34_REQS)
	$(UV) venv -q --allow-existing --python $(PY) $(V34_VENV)
	VIRTUAL_ENV=$(V34_VENV) $(UV) pip sync -q $(V34_REQS)
	@touch $@

lock-34: $(UV)
	$(UV) export -q --frozen --all-extras --no-hashes --no-emit-project --no-header --no-annotate \
	  --format requirements-txt | grep -v -E '^apache-airflow(-core|-task-sdk)?==' > $(V34_REQS)
	$(UV) pip compile -q --universal --python-version 3.11 --prerelease allow tests/envs/airflow-3.4.in \
	  -o $(V34_REQS) --no-header

test-34: $(V34_VENV)/.synced
	$(V34_VENV)/bin/python -m pytest -p no:cacheprovider -q tests/importer tests/integration/test_examples.py
	$(V34_VENV)/bin/python -m pytest -p no:cacheprovider -q -m "not slow" tests/unit

test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -m "not slow"

demo: $(STAMP) $(if $(filter celery,$(EXECUTOR)),$(SERVERS))
	$(VENV)/bin/python -m dagspec.dag_factory.stack.demo --executor $(EXECUTOR)

# The same local stack kept running to browse the UI (http://127.0.0.1:8080, admin / admin).
airflow: $(STAMP) $(if $(filter celery,$(EXECUTOR)),$(SERVERS))
	$(VENV)/bin/dagspec up --executor $(EXECUTOR)

# Debian's chromium for the browser test of the local stack (tests/stack); installed once when
# running as root with apt-get, else that test is skipped and says why.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the browser test"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "could not install chromium: the browser test will be skipped"; \
	else echo "no $(CHROMIUM) and no root apt-get: the browser test will be skipped"; fi

# Debian's postgresql and redis-server for the distributed stack (EXECUTOR=celery) and its chaos tests
# (tests/chaos); installed once when running as root with apt-get, else those tests are skipped and say why.
$(SERVERS):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's postgresql and redis-server for the distributed stack"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null) || \
	  echo "could not install postgresql and redis-server: the chaos tests will be skipped"; \
	else echo "no redis-server/postgresql and no root apt-get: install them (apt-get install postgresql" \
	  "redis-server) for EXECUTOR=celery; the chaos tests will be skipped"; fi

bench: $(STAMP)
	$(VENV)/bin/python bench/run.py $(ARGS)

# Load scenario on the distributed stack: 20 concurrent runs of a three-job pipeline, a cluster each.
bench-load: $(STAMP) $(SERVERS)
	$(VENV)/bin/python bench/celery_load.py --runs 20

lint: $(STAMP)
	$(VENV)/bin/ruff check dag_factory provider tests bench
	$(VENV)/bin/mypy dag_factory provider

clean:
	rm -rf .tools $(VENV) $(MIN_VENV) $(DF_VENV) $(V34_VENV) .pytest_cache build *.egg-info
