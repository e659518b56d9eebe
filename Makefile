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

.PHONY: help venv test test-min min-lock lock test-line test-lines dagfactory-lock test-34 lock-34 test-fast demo airflow bench bench-34 bench-load lint clean

help:
	@echo "make demo   run the flagship example end to end on the local stack"
	@echo "make airflow  the local stack kept running: UI on http://127.0.0.1:8080 (admin / admin)"
	@echo "make test   build the environment (first time) and run every test"
	@echo "make test-line LINE=3.2  the fast suites on another Airflow line (3.2, 3.1, 2.11; make lock LINE=... re-pins it)"
	@echo "make bench  run the benchmarks (ARGS=--large: add the 5,000-spec run; --importer34: add Airflow 3.4 with the importer, or make bench-34; make bench-load: 20 runs on the celery stack)"
	@echo "make lint   ruff and mypy"

$(UV):
	$(PY) -m venv .tools
	.tools/bin/python -m pip install --quiet "uv==$(UV_VER)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python $(PY)
	@touch $(STAMP)

venv: $(STAMP)

# `make test` runs three streams side by side ("share caches, run what differs"): on two cores, the first two
# mostly wait on subprocesses (measured: about one core between them), which leaves room for the third.
# - HEAVY, the process-heavy tests (real Airflow stacks, the Celery chaos tests, the newcomer's fresh venv, warm
#   Spark, the Composer copy's run), one at a time in a second pytest. Log: .tools/heavy-tests.log;
# - the other lines: their environments are built (one at a time, as their editable installs share the
#   checkout's build folders), then their fast suites run (test-min, test-34, test-lines). Log:
#   .tools/line-tests.log;
# - the rest of the main suite, in the foreground.
# Both logs are printed when everything has ended. Each pytest has its own AIRFLOW_HOME and plan cache
# (tests/conftest.py); stacks bind free ports. Both main runs list their slowest tests, so every CI log shows
# where the time goes.
HEAVY := tests/stack tests/chaos tests/e2e tests/deploy/test_composer_copy.py tests/emulator/test_warm_spark.py
# a background job of a non-interactive shell ignores Ctrl-C (SIGINT): the background streams restore it before
# they start, so that Ctrl-C stops them too and the heavy tests' fixtures stop their stacks
HEAVY_PYTEST := $(VENV)/bin/python -c "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); \
  os.execv(sys.executable, [sys.executable, '-m', 'pytest', *sys.argv[1:]])"
WITH_SIGINT := $(VENV)/bin/python -c "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); \
  os.execvp('sh', ['sh', '-c', sys.argv[1]])"
EXTRA_VENVS = .venv-min/.synced .venv-3.4/.synced $(foreach l,$(LINES),.venv-$(l)/.synced)
LINE_STREAM = $(MAKE) --no-print-directory $(EXTRA_VENVS) > .tools/extra-venvs.log 2>&1 \
  || { echo "building the environments of the other lines failed:"; cat .tools/extra-venvs.log; exit 1; }; \
  r=0; for t in test-min test-34 test-lines; do $(MAKE) --no-print-directory $$t || r=1; done; exit $$r

test: $(STAMP) $(CHROMIUM) $(SERVERS) $(DF_VENV)/.synced
	@$(WITH_SIGINT) '$(LINE_STREAM)' > .tools/line-tests.log 2>&1 & lines=$$!; \
	$(HEAVY_PYTEST) -p no:cacheprovider --durations=20 $(HEAVY) > .tools/heavy-tests.log 2>&1 & heavy=$$!; \
	$(VENV)/bin/python -m pytest --durations=20 $(addprefix --ignore=,$(HEAVY)); rc=$$?; \
	wait $$lines || rc=1; \
	wait $$heavy || rc=1; \
	echo "======== the other Airflow lines, run beside the above (test-min, test-34, test-lines)"; \
	cat .tools/line-tests.log; \
	echo "======== the process-heavy tests, run beside the above: $(HEAVY)"; cat .tools/heavy-tests.log; \
	exit $$rc

# Other Airflow lines, one pinned environment each: tests/envs/airflow-$(LINE).in lists what a line
# needs, airflow-$(LINE).txt pins every package (uv.lock's versions except where that Airflow forces
# another; `make lock LINE=3.2` recompiles it after uv.lock changes) and .venv-$(LINE) installs it.
# LINE=min is the lowest 3.3 (3.3.0), LINE=3.4 the pre-release with the DAG importer; LINES are the
# older lines Cloud Composer runs, each tested by `make test-line LINE=...` (part of `make test`).
LINES := 3.2 3.1 2.11
LINE  ?= 3.2
LOCK_FLAGS_3.4 := --prerelease allow
# the fast suites that run on every extra line: unit, integration (the examples through DagBag), the
# Airflow builder and loader, and the provider's operators and a dag.test() against the emulator
LINE_TESTS := tests/unit tests/integration tests/airflow tests/provider/test_operators.py tests/provider/test_triggers.py
# Run what differs: the lines whose pins differ from uv.lock only in Airflow and its own web/API stack (min,
# 3.4, 3.2, 3.1) skip the Airflow-free test modules (tests/conftest.py AIRFLOW_FREE: they import neither Airflow
# nor any package such a line pins differently, which tests/unit/test_line_subsets.py proves on every make test);
# 2.11 pins older general packages too (python-dateutil, SQLAlchemy, rich...), so it runs them all. Every new
# test module runs on every line until it is listed there.
LINE_MARKS := not slow and not airflow_free
LINE_MARKS_2.11 := not slow

.venv-%/.synced: $(UV) pyproject.toml tests/envs/airflow-%.txt
	$(UV) venv -q --allow-existing --python $(PY) .venv-$*
	VIRTUAL_ENV=.venv-$* $(UV) pip sync -q tests/envs/airflow-$*.txt
	@touch $@

lock: $(UV)
	$(UV) export -q --frozen --all-extras --no-hashes --no-emit-project --no-header --no-annotate \
	  --format requirements-txt | grep -v -E '^apache-airflow(-core|-task-sdk)?==' > tests/envs/airflow-$(LINE).txt
	$(UV) pip compile -q --universal --python-version 3.11 $(LOCK_FLAGS_$(LINE)) tests/envs/airflow-$(LINE).in \
	  -o tests/envs/airflow-$(LINE).txt --no-header

test-line: .venv-$(LINE)/.synced
	.venv-$(LINE)/bin/python -m pytest -p no:cacheprovider -q -m "$(or $(LINE_MARKS_$(LINE)),$(LINE_MARKS))" $(LINE_TESTS)

test-lines:
	@for l in $(LINES); do $(MAKE) --no-print-directory test-line LINE=$$l || exit 1; done

# The lowest 3.3 (pyproject's range reaches further back, tested per line above): the fast tests that touch
# Airflow run on it too (LINE_MARKS: its pins differ from uv.lock only where Airflow 3.3.0 forces them).
min-lock:
	$(MAKE) --no-print-directory lock LINE=min

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

test-min: .venv-min/.synced
	.venv-min/bin/python -m pytest -p no:cacheprovider -q -m "$(LINE_MARKS)" tests/unit tests/integration tests/airflow

# Airflow 3.4 (pre-release): the DAG importer (AIP-85, dagspec.dag_factory.airflow.importer). Only what
# differs from 3.3 runs here: the importer tests (the real 3.4 DagBag and dag processor), the fast unit
# tests, the DagBag-level example loading and the worker's lean parse path (the loader asks 3.4's importer
# registry who owns .yaml), in .venv-3.4 (`make lock-34` = `make lock LINE=3.4`).
lock-34:
	$(MAKE) --no-print-directory lock LINE=3.4

test-34: .venv-3.4/.synced
	.venv-3.4/bin/python -m pytest -p no:cacheprovider -q tests/importer tests/integration/test_examples.py \
	  tests/integration/test_worker_lean_path.py
	.venv-3.4/bin/python -m pytest -p no:cacheprovider -q -m "$(LINE_MARKS)" tests/unit

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

bench: $(STAMP) $(if $(findstring --importer34,$(ARGS)),.venv-3.4/.synced)
	$(VENV)/bin/python bench/run.py $(ARGS)

# Airflow 3.4 (pre-release) with dagspec's DAG importer: the real dag processor, one parse unit per spec
# (`make bench-34 ARGS="--large --nice 10"` adds 10,000 specs). `make bench ARGS=--importer34` runs it too.
bench-34: .venv-3.4/.synced
	.venv-3.4/bin/python bench/importer34.py $(ARGS)

# Load scenario on the distributed stack: 20 concurrent runs of a three-job pipeline, a cluster each.
bench-load: $(STAMP) $(SERVERS)
	$(VENV)/bin/python bench/celery_load.py --runs 20

lint: $(STAMP)
	$(VENV)/bin/ruff check dag_factory provider tests bench
	$(VENV)/bin/mypy dag_factory provider

clean:
	rm -rf .tools $(VENV) .venv-min .venv-3.4 $(foreach l,$(LINES),.venv-$(l)) $(DF_VENV) .pytest_cache build *.egg-info
