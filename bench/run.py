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

Each figure is the median of ``--repeat`` runs (the warm figure: of the runs after the first).

Then, unless ``--no-chain``: one spec of ``--chain-tasks`` (10,000) tasks in a chain against the same
hand-written DAG file, in-process (the per-DAG budget is raised for it through ``[dagspec]
max_tasks_per_dag``/``max_tasks_per_file``/``max_build_seconds`` and ``[core] dagbag_import_timeout``).

Then, unless ``--no-processor``, production (``bench/processor.py``): Airflow's dag processor
(``airflow dag-processor -n 1``, SQLite, Airflow's defaults, a fresh AIRFLOW_HOME per scenario) until
every DAG is serialized in the DB, for the hand-written folder and the specs behind the single loader
and behind parse units (``dagspec init-dag-folder --auto``), each cold (empty plan cache) and warm; and
``--pathological-good`` (100) good specs next to one of ``--pathological-tasks`` (12,000) tasks, on the
default budgets: every good DAG must load and the big spec must be its own import error. ``--large``
adds a folder of ``--large-count`` (5,000; 10,000 with ``--large-count 10000``) specs, cold, behind
parse units and behind the single loader.

``--importer34`` then runs ``bench/importer34.py`` in the Airflow 3.4 environment (``.venv-3.4``, made by
``make .venv-3.4/.synced``): the 3.4 dag processor with dagspec's DAG importer, one parse unit per
spec, against the same hand-written files (``--large`` there adds ``--large-count`` specs); its
figures join the last line with the prefix ``i34_``.

The last line is the one to keep:
``BENCH parse_ratio=<ours warm/python> cold_ratio=<ours cold/python> worker_parse_ms=<...> python_single_ms=<...>
cpu_parse_ratio=<...> cpu_cold_ratio=<...> cpu_worker_ratio=<...> [chain_ratio=<...>] [processor_ratio_units_cold=<...> ...]``.
The ``cpu_*`` ratios compare CPU seconds (every thread of the parsing process) instead of the wall
clock: on a machine shared with other work they are the figures to trust.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate, generate_chain, generate_pathological, generate_specs  # noqa: E402

_PROBE = r"""
import json, os, sys, time
from airflow.dag_processing.dagbag import DagBag
path = sys.argv[1]
bundle = {"bundle_path": sys.argv[2], "bundle_name": "dags-folder"} if len(sys.argv) > 2 else {}
t0, c0 = time.perf_counter(), time.process_time()
bag = DagBag(dag_folder=path, safe_mode=False, **bundle)
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"seconds": elapsed, "cpu": cpu, "dags": len(bag.dags), "dag_ids": sorted(bag.dags),
                  "errors": len(bag.import_errors), "first_error": next(iter(bag.import_errors.values()), "")[:2000]}))
"""


def parse_probe(path: Path, env: dict[str, str], bundle: Path | None = None) -> dict:
    """A DagBag over ``path`` in a fresh interpreter (``bundle``: its bundle folder, which Airflow 3.4's importers
    need), timed once Airflow is imported: seconds, CPU seconds, the DAGs and the import errors."""
    out = subprocess.run([sys.executable, "-c", _PROBE, str(path), *([str(bundle)] if bundle else [])],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"probe failed for {path}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _chain(out: Path, tasks: int, env: dict[str, str], repeat: int) -> dict[str, float]:
    """One ``tasks``-task spec against the same hand-written file, in-process (cold, warm, python)."""
    specs, python = generate_chain(out, tasks)
    print(f"one spec of {tasks} tasks (a chain) against the same hand-written DAG file", flush=True)
    env = {**env, "AIRFLOW__DAGSPEC__MAX_TASKS_PER_DAG": str(tasks), "AIRFLOW__DAGSPEC__MAX_TASKS_PER_FILE": str(tasks),
           "AIRFLOW__DAGSPEC__MAX_BUILD_SECONDS": "120", "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
           "DAGSPEC_CACHE_DIR": str(out / "chain-cache")}
    shutil.rmtree(out / "chain-cache", ignore_errors=True)
    runs = _measure("chain spec", specs, env, max(repeat, 2), 1)
    hand = statistics.median(_measure("chain python", python, env, max(repeat - 1, 1), 1))
    cold, warm = runs[0], statistics.median(runs[1:])
    print(f"{tasks}-task spec: cold {cold:.2f} s, warm {warm:.2f} s; hand-written {hand:.2f} s; "
          f"ratio cold {cold / hand:.2f}, warm {warm / hand:.2f}", flush=True)
    return {"chain_cold_s": cold, "chain_warm_s": warm, "chain_python_s": hand, "chain_ratio": cold / hand}


def _processor(out: Path, args: argparse.Namespace, python: Path) -> dict[str, float | int | str]:
    """Production: Airflow's dag processor until every DAG is in the DB (see ``bench/processor.py``)."""
    from dagspec.dag_factory.spec.units import auto_units
    from processor import migrated_db, run_processor

    work = out / "processor"
    work.mkdir(parents=True, exist_ok=True)
    print("production: `airflow dag-processor -n 1`, SQLite, Airflow defaults; migrating a template DB ...", flush=True)
    db = migrated_db(work)
    n = args.count
    units = auto_units(n)
    single = generate_specs(out / "proc-single", n, args.tasks, units=1)
    unit_folder = generate_specs(out / "proc-units", n, args.tasks, units=units)
    for cache in ("cache-single", "cache-units", "cache-patho", "cache-large", "cache-large-single"):
        shutil.rmtree(work / cache, ignore_errors=True)
    print(f"{n} DAGs x {args.tasks} tasks; parse units: {units} (about {n // units} specs each)", flush=True)
    runs = {
        "python": run_processor("hand-written python", python, db, work, n, None),
        "single_cold": run_processor("specs, single loader, cold", single, db, work, n, work / "cache-single"),
        "single_warm": run_processor("specs, single loader, warm", single, db, work, n, work / "cache-single"),
        "units_cold": run_processor(f"specs, {units} units, cold", unit_folder, db, work, n, work / "cache-units"),
        "units_warm": run_processor(f"specs, {units} units, warm", unit_folder, db, work, n, work / "cache-units"),
    }
    base = runs["python"].seconds_to_db
    result: dict[str, float | int | str] = {}
    for key, run in runs.items():
        if run.seconds_to_db is None or run.errors:
            print(f"  !! {run.label}: {run.dags} of {n} DAGs, import errors {run.errors[:5]}", flush=True)
        result[f"processor_{key}_s"] = round(run.seconds_to_db, 1) if run.seconds_to_db is not None else "never"
        if key != "python" and base and run.seconds_to_db:
            result[f"processor_ratio_{key}"] = round(run.seconds_to_db / base, 3)
    print("time to all DAGs in the DB, relative to hand-written (target <= 0.5): "
          + ", ".join(f"{k.removeprefix('processor_ratio_')} {v}" for k, v in result.items() if "ratio" in k), flush=True)

    patho = generate_pathological(out / "proc-patho", args.pathological_good, args.pathological_tasks)
    print(f"pathological: {args.pathological_good} good specs and one of {args.pathological_tasks} tasks, default budgets",
          flush=True)
    run = run_processor("pathological", patho, db, work, args.pathological_good, work / "cache-patho")
    ok = run.dags == args.pathological_good and run.errors == ["huge.yaml"]
    print(f"  all {args.pathological_good} good DAGs loaded and huge.yaml is its own import error: {ok}", flush=True)
    result["pathological_ok"] = int(ok)

    if args.large:
        big = args.large_count
        big_units = auto_units(big)
        print(f"large folder: {big} specs x {args.tasks} tasks, cold; {big_units} parse units vs the single loader",
              flush=True)
        folder = generate_specs(out / "proc-large", big, args.tasks, units=big_units)
        run = run_processor(f"{big} specs, {big_units} units", folder, db, work, big, work / "cache-large")
        result.update({"large_specs": big, "large_units_dags": run.dags, "large_units_errors": len(run.errors),
                       "large_units_s": round(run.seconds_to_db, 1) if run.seconds_to_db else "never"})
        generate_specs(folder, big, args.tasks, units=1)
        run = run_processor(f"{big} specs, single loader", folder, db, work, big, work / "cache-large-single")
        result.update({"large_single_dags": run.dags, "large_single_errors": len(run.errors)})
    return result


def _importer34(out: Path, args: argparse.Namespace) -> dict[str, str]:
    """Airflow 3.4 with the importer, in its own environment; its ``BENCH34`` figures, prefixed ``i34_``."""
    python34 = Path(__file__).resolve().parents[1] / ".venv-3.4" / "bin" / "python"
    if not python34.exists():
        raise SystemExit("--importer34 needs the Airflow 3.4 environment: make .venv-3.4/.synced")
    command = [str(python34), str(Path(__file__).with_name("importer34.py")), "--count", str(args.count),
               "--tasks", str(args.tasks), "--out", str(out / "importer34")]
    if args.large:
        command += ["--large", "--large-count", str(args.large_count)]
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    if proc.returncode != 0 or not lines or not lines[-1].startswith("BENCH34"):
        raise SystemExit("bench/importer34.py failed")
    return {f"i34_{k}": v for k, v in (item.split("=", 1) for item in lines[-1].split()[1:])}


CPU: dict[str, list[float]] = {}  # label -> CPU seconds of each run (all threads): robust to a loaded machine


def _measure(label: str, path: Path, env: dict[str, str], repeat: int, expect_dags: int) -> list[float]:
    times = []
    cpu = CPU.setdefault(label, [])
    for i in range(repeat):
        result = parse_probe(path, env)
        if result["dags"] != expect_dags or result["errors"]:
            raise SystemExit(f"{label}: expected {expect_dags} DAGs and no errors, got {result}")
        times.append(result["seconds"])
        cpu.append(result["cpu"])
        print(f"  {label:<14} run {i + 1}/{repeat}: {result['seconds'] * 1000:9.1f} ms, CPU {result['cpu'] * 1000:9.1f} ms"
              f"  ({result['dags']} DAGs)",
              flush=True)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="number of DAGs (default 1000)")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per DAG (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (at least 2); medians are kept")
    parser.add_argument("--out", type=Path, default=None, help="where to generate (default: a temp folder)")
    parser.add_argument("--chain-tasks", type=int, default=10000, help="tasks of the one-big-spec case (default 10000)")
    parser.add_argument("--no-chain", action="store_true", help="skip the one-big-spec case")
    parser.add_argument("--no-processor", action="store_true", help="skip the dag-processor scenarios (production)")
    parser.add_argument("--pathological-good", type=int, default=100, help="good specs next to the huge one (100)")
    parser.add_argument("--pathological-tasks", type=int, default=12000, help="tasks of the huge spec (12000)")
    parser.add_argument("--large", action="store_true", help="add the large-folder dag-processor run")
    parser.add_argument("--large-count", type=int, default=5000, help="specs in the large folder (5000; try 10000)")
    parser.add_argument("--importer34", action="store_true",
                        help="add Airflow 3.4 with dagspec's DAG importer (bench/importer34.py in .venv-3.4)")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="dagspec-bench-"))
    specs, python = generate(out, args.count, args.tasks)
    home = Path(tempfile.mkdtemp(prefix="dagspec-bench-home-"))
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(specs), "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
           "DAGSPEC_CACHE_DIR": str(home / "plan-cache"),
           # in-process figures measure speed: a loaded machine must not turn them into timeouts
           # (the dag-processor scenarios keep Airflow's 30 s)
           "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300"}
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
    cpu_cold, cpu_warm = CPU["dagspec"][0], statistics.median(CPU["dagspec"][1:])
    cpu_hand, cpu_worker, cpu_single = (statistics.median(CPU[k]) for k in ("python", "dagspec worker", "python single"))
    print(f"in CPU seconds (what to trust on a loaded machine): ratio warm {cpu_warm / cpu_hand:.3f}, "
          f"cold {cpu_cold / cpu_hand:.3f}, worker {cpu_worker / cpu_single:.2f}")
    extra: dict[str, object] = {}
    if not args.no_chain:
        extra.update({k: round(v, 3) for k, v in _chain(out, args.chain_tasks, env, repeat).items()})
    if not args.no_processor:
        extra.update(_processor(out, args, python))
    if args.importer34:
        extra.update(_importer34(out, args))
    tail = "".join(f" {k}={v}" for k, v in extra.items())
    print(f"BENCH parse_ratio={warm / hand:.3f} cold_ratio={cold / hand:.3f} worker_parse_ms={worker * 1000:.1f} "
          f"python_single_ms={single * 1000:.1f} cpu_parse_ratio={cpu_warm / cpu_hand:.3f} "
          f"cpu_cold_ratio={cpu_cold / cpu_hand:.3f} cpu_worker_ratio={cpu_worker / cpu_single:.2f}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
