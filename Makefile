# The commands the README promises. Only python3 needs to be on the machine: the first target
# that needs the environment builds it (.tools holds uv, .venv the pinned project environment).
PY       ?= python3
UV_VER   := 0.13.9
UV       := .tools/bin/uv
VENV     := .venv
STAMP    := $(VENV)/.synced
CHROMIUM := /usr/bin/chromium
# EXECUTOR=celery: the distributed local stack (Postgres, Redis, CeleryExecutor) for `make demo` / `make airflow`
EXECUTOR ?= local
SERVERS  := /usr/bin/redis-server /usr/bin/pg_conftool

.PHONY: help venv test test-min min-lock test-fast demo airflow bench bench-load lint clean

help:
	@echo "make demo   run the flagship example end to end on the local stack"
	@echo "make airflow  the local stack kept running: UI on http://127.0.0.1:8080 (admin / admin)"
	@echo "make test   build the environment (first time) and run every test"
	@echo "make bench  run the benchmarks (make bench-load: 20 concurrent runs on the celery stack)"
	@echo "make lint   ruff and mypy"

$(UV):
	$(PY) -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VER)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python $(PY)
	@touch $(STAMP)

venv: $(STAMP)

test: $(STAMP) $(CHROMIUM) $(SERVERS)
	$(VENV)/bin/python -m pytest
	$(MAKE) --no-print-directory test-min

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

test-min: $(MIN_VENV)/.synced
	$(MIN_VENV)/bin/python -m pytest -p no:cacheprovider -q -m "not slow" tests/unit tests/integration tests/airflow

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
	$(VENV)/bin/python bench/run.py

# Load scenario on the distributed stack: 20 concurrent runs of a three-job pipeline, a cluster each.
bench-load: $(STAMP) $(SERVERS)
	$(VENV)/bin/python bench/celery_load.py --runs 20

lint: $(STAMP)
	$(VENV)/bin/ruff check dag_factory provider tests bench
	$(VENV)/bin/mypy dag_factory provider

clean:
	rm -rf .tools $(VENV) $(MIN_VENV) .pytest_cache build *.egg-info
