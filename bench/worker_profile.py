"""Profile a worker's re-parse (one DAG of a spec folder, from the warm plan cache) against one hand-written file.

Each sample is a fresh interpreter with Airflow already imported (as on a worker), timing a ``DagBag`` over the
loader file with the parsing context set to one DAG, and over the one hand-written file of the same DAG. The
two alternate so that the shared machine's load hits both alike; medians of CPU seconds are what to compare.

    .venv/bin/python bench/worker_profile.py --repeat 15            # CPU/wall medians and the ratio
    .venv/bin/python bench/worker_profile.py --profile              # + cProfile of one worker parse (top entries)
    .venv/bin/python bench/worker_profile.py --modules              # + modules the worker parse imports beyond the file's
    .venv/bin/python bench/worker_profile.py --units 4              # 4 parse units: the worker parses its unit's file

The folder (``--count`` specs of ``--tasks`` bash tasks, ``bench/generate.py``) is made once in ``--out`` and its
plan cache warmed by one full parse.
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
from generate import generate, write_units  # noqa: E402

_PROBE = r"""
import cProfile, json, pstats, io, sys, time
from airflow.dag_processing.dagbag import DagBag  # as bench/run.py's probe: Airflow loaded, the operators not
path, mode = sys.argv[1], sys.argv[2]
before = set(sys.modules)
prof = cProfile.Profile() if mode == "profile" else None
t0, c0 = time.perf_counter(), time.process_time()
if prof:
    prof.enable()
bag = DagBag(dag_folder=path, safe_mode=False)
if prof:
    prof.disable()
out = {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "dags": len(bag.dags),
       "errors": len(bag.import_errors)}
if mode == "modules":
    out["modules"] = sorted(set(sys.modules) - before)
if prof:
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(45)
    out["profile"] = s.getvalue()
print(json.dumps(out))
"""


def _probe(path: Path, env: dict[str, str], mode: str = "time") -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(path), mode], capture_output=True, text=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"probe failed for {path}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "dagspec-worker-profile")
    parser.add_argument("--units", type=int, default=1, help="parse units of the folder (dagspec init-dag-folder)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one worker parse")
    parser.add_argument("--modules", action="store_true", help="list the modules only the worker parse imports")
    args = parser.parse_args(argv)

    specs, python = args.out / "specs", args.out / "python"
    home = args.out / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(specs), "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
           "DAGSPEC_CACHE_DIR": str(home / "plan-cache"), "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if len(list(specs.glob("*.yaml"))) != args.count or len(list(python.glob("*.py"))) != args.count:
        generate(args.out, args.count, args.tasks)
    write_units(specs, args.units)
    full = _probe(specs, env)  # warms the plan cache and its dag_id index
    print(f"full parse: {full['dags']} DAGs, {full['errors']} errors, {full['seconds']:.2f} s", flush=True)
    target = f"bench_{args.count // 2:04d}"
    worker_env = {**env, "_AIRFLOW_PARSING_CONTEXT_DAG_ID": target, "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "start"}
    from dagspec.dag_factory.spec.units import unit_file_name, unit_of

    unit = unit_of(f"{target}.yaml", args.units) if args.units > 1 else 0
    loader, single = specs / unit_file_name(unit, args.units), python / f"{target}.py"
    for _ in range(2):  # bytecode of both sides written
        _probe(loader, worker_env), _probe(single, env)
    runs: dict[str, list[dict]] = {"worker": [], "single": []}
    for _ in range(args.repeat):
        runs["worker"].append(_probe(loader, worker_env))
        runs["single"].append(_probe(single, env))
    for key, samples in runs.items():
        bad = [s for s in samples if s["dags"] != 1 or s["errors"]]
        if bad:
            raise SystemExit(f"{key}: expected one DAG and no errors, got {bad[0]}")
    med = {k: (statistics.median(s["seconds"] for s in v), statistics.median(s["cpu"] for s in v))
           for k, v in runs.items()}
    print(f"worker: wall {med['worker'][0] * 1000:.1f} ms, cpu {med['worker'][1] * 1000:.1f} ms; "
          f"single file: wall {med['single'][0] * 1000:.1f} ms, cpu {med['single'][1] * 1000:.1f} ms; "
          f"ratio wall {med['worker'][0] / med['single'][0]:.2f}, cpu {med['worker'][1] / med['single'][1]:.2f} "
          f"({args.repeat} runs each, medians)")
    if args.modules:
        extra = set(_probe(loader, worker_env, "modules")["modules"]) - set(_probe(single, env, "modules")["modules"])
        print(f"modules only the worker parse imports ({len(extra)}):\n  " + "\n  ".join(sorted(extra)))
    if args.profile:
        print(_probe(loader, worker_env, "profile")["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
