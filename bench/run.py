"""Parse benchmark: dagspec's loader against hand-written Python DAG files, in the same run.

Generates N specs x T bash tasks (fan-out/fan-in) and the equivalent hand-written DAG files, then,
each in a fresh interpreter with Airflow already imported, times:

- ``ours``: Airflow's DagBag over the spec folder (one loader file builds every DAG). The first
  run starts with an empty plan cache (``cold``: every spec is compiled); the later runs find the
  plans of unchanged specs in the cache, as a dag processor re-parsing the folder does (``warm``);
- ``python``: DagBag over the folder of hand-written files (one file per DAG);
- ``worker``: DagBag over the loader file with Airflow's parsing context set to one DAG, as a
  worker re-parses before running a task (dagspec builds only that DAG);
- ``python_single``: DagBag over one hand-written file.

Bytecode caching is on for every measurement (as in a deployment), whatever the calling shell says.

Each figure is the median of ``--repeat`` runs (the warm figure: of the runs after the first). The
last line is the one to keep:
``BENCH parse_ratio=<ours warm/python> cold_ratio=<ours cold/python> worker_parse_ms=<...> python_single_ms=<...>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402

_PROBE = r"""
import json, os, sys, time
from airflow.dag_processing.dagbag import DagBag
path = sys.argv[1]
t0 = time.perf_counter()
bag = DagBag(dag_folder=path, safe_mode=False)
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "dags": len(bag.dags), "errors": len(bag.import_errors),
                  "first_error": next(iter(bag.import_errors.values()), "")[:2000]}))
"""


def _probe(path: Path, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"probe failed for {path}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure(label: str, path: Path, env: dict[str, str], repeat: int, expect_dags: int) -> list[float]:
    times = []
    for i in range(repeat):
        result = _probe(path, env)
        if result["dags"] != expect_dags or result["errors"]:
            raise SystemExit(f"{label}: expected {expect_dags} DAGs and no errors, got {result}")
        times.append(result["seconds"])
        print(f"  {label:<14} run {i + 1}/{repeat}: {result['seconds'] * 1000:9.1f} ms  ({result['dags']} DAGs)",
              flush=True)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="number of DAGs (default 1000)")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per DAG (default 20)")
    parser.add_argument("--repeat", type=int, default=4, help="runs per measurement (at least 2); medians are kept")
    parser.add_argument("--out", type=Path, default=None, help="where to generate (default: a temp folder)")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="dagspec-bench-"))
    specs, python = generate(out, args.count, args.tasks)
    home = Path(tempfile.mkdtemp(prefix="dagspec-bench-home-"))
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(specs), "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
           "DAGSPEC_CACHE_DIR": str(home / "plan-cache")}
    env.pop("_AIRFLOW_PARSING_CONTEXT_DAG_ID", None)
    # As in a real deployment, modules keep their bytecode (__pycache__) between parses, for the
    # hand-written DAG files and dagspec's modules alike.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(f"dagspec parse benchmark: {args.count} DAGs x {args.tasks} tasks in {out}", flush=True)
    repeat = max(args.repeat, 2)
    ours_runs = _measure("dagspec", specs, env, repeat, args.count)
    hand = statistics.median(_measure("python", python, env, repeat, args.count))
    target = f"bench_{args.count // 2:04d}"
    worker_env = {**env, "_AIRFLOW_PARSING_CONTEXT_DAG_ID": target, "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "start"}
    worker = statistics.median(_measure("dagspec worker", specs / "dagspec_loader.py", worker_env, repeat, 1))
    single = statistics.median(_measure("python single", python / f"{target}.py", env, repeat, 1))
    cold, warm = ours_runs[0], statistics.median(ours_runs[1:])
    print(f"dagspec folder: cold cache {cold:.2f} s, warm cache {warm:.2f} s; hand-written folder {hand:.2f} s")
    print(f"ratio warm {warm / hand:.3f}, cold {cold / hand:.3f} (target <= 1.10)")
    print(f"worker parse {worker * 1000:.1f} ms, one hand-written file {single * 1000:.1f} ms, "
          f"ratio {worker / single:.2f} (target <= 2.0)")
    print(f"BENCH parse_ratio={warm / hand:.3f} cold_ratio={cold / hand:.3f} worker_parse_ms={worker * 1000:.1f} "
          f"python_single_ms={single * 1000:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
