"""Production on Airflow 3.4 with dagspec's DAG importer (AIP-85): every spec is its own parse unit.

Run in the Airflow 3.4 environment (``make bench-34``, or ``make bench ARGS=--importer34``, which runs
this file with ``.venv-3.4/bin/python``). Generates ``--count`` specs x ``--tasks`` bash tasks
(fan-out/fan-in; the folder also holds the loader file, which steps aside when the importer owns
``.yaml``) and the same DAGs as hand-written Python files, then runs Airflow 3.4's own dag processor
(``airflow dag-processor -n 1``, SQLite, Airflow's defaults otherwise; ``bench/processor.py``) over:

- the hand-written folder (the anchor);
- the spec folder with ``DagspecImporter`` registered in ``[dag_processor] dag_importer_configs``,
  cold (an empty plan cache, as after a dag-processor restart or upgrade) and warm;

and reports the time until every DAG is serialized in the DB, the import errors (must be none), the
ratio to the hand-written folder measured in the same run, and the same ratio in CPU seconds of the
dag processor and its parse processes (``*_cpu_*``: what to trust on a loaded machine, where the wall
clock of two runs made one after the other measures the neighbours as much as the parse). ``--large`` adds ``--large-count``
(10,000) specs, cold, and their hand-written twin. ``--nice N`` runs the dag processors under
``nice -n N`` (a shared machine).

Then a worker's parse (``--no-worker`` skips it): Airflow's DagBag over one spec with the parsing context set
to its DAG, through the importer, the plan cache warm from a parse of the folder, against the DagBag over the
same DAG's hand-written file (medians of ``--repeat`` fresh processes; target <= 2.0, as the loader's in
``bench/run.py``).

The last line: ``BENCH34 airflow=<version> count=<n> python_s=<...> importer_cold_s=<...>
importer_ratio_cold=<...> importer_warm_s=<...> importer_ratio_warm=<...> importer_errors=<...> [large_...]
[worker_ms=<...> python_single_ms=<...> worker_ratio=<...> cpu_worker_ratio=<...>]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402
from processor import ProcessorRun, migrated_db, run_processor  # noqa: E402
from run import parse_probe  # noqa: E402

IMPORTER = "dagspec.dag_factory.airflow.importer.DagspecImporter"


def importer_env() -> dict[str, str]:
    """dagspec's importer for ``.yaml``/``.yml``, as the README registers it."""
    return {"AIRFLOW__DAG_PROCESSOR__DAG_IMPORTER_CONFIGS": json.dumps([{"classpath": IMPORTER}])}


def _seconds(run: ProcessorRun) -> float | str:
    return round(run.seconds_to_db, 1) if run.seconds_to_db is not None else "never"


def _ratio(run: ProcessorRun, base: ProcessorRun | None) -> float | str:
    if base is None or run.seconds_to_db is None or not base.seconds_to_db:
        return "n/a"
    return round(run.seconds_to_db / base.seconds_to_db, 3)


def _cpu_ratio(run: ProcessorRun, base: ProcessorRun | None) -> float | str:
    return round(run.cpu_seconds / base.cpu_seconds, 3) if base is not None and base.cpu_seconds else "n/a"


def _worker(out: Path, count: int, tasks: int, repeat: int) -> dict[str, object]:
    """A worker's parse of one DAG through the importer against one hand-written file (fresh processes)."""
    specs, python = generate(out / "worker_folders", count, tasks)
    home = out / "worker-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(specs), "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
           "DAGSPEC_CACHE_DIR": str(home / "plan-cache"), "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
           **importer_env()}
    env = {k: v for k, v in env.items() if not k.startswith("_AIRFLOW_PARSING_CONTEXT")}
    target = f"bench_{count // 2:04d}"
    print(f"a worker's parse of {target} through the importer (plan cache warm) against its hand-written file",
          flush=True)
    folder = parse_probe(specs, env, specs)  # the dag processor's parse: every spec compiled into the plan cache
    if folder["dags"] != count or folder["errors"]:
        raise SystemExit(f"the folder's parse built {folder['dags']} of {count} DAGs, {folder['errors']} errors")
    worker_env = {**env, "_AIRFLOW_PARSING_CONTEXT_DAG_ID": target, "_AIRFLOW_PARSING_CONTEXT_TASK_ID": "start"}
    env.pop("AIRFLOW__DAG_PROCESSOR__DAG_IMPORTER_CONFIGS")  # the anchor: an environment of Python files only
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as deployed: both keep their bytecode between parses
    worker_env.pop("PYTHONDONTWRITEBYTECODE", None)
    runs: dict[str, list[dict]] = {"importer worker": [], "python single": []}
    for label, path, run_env, bundle in (("importer worker", specs / f"{target}.yaml", worker_env, specs),
                                         ("python single", python / f"{target}.py", env, python)):
        for i in range(repeat):
            result = parse_probe(path, run_env, bundle)
            if result["dag_ids"] != [target] or result["errors"]:
                raise SystemExit(f"{label}: expected only {target} and no errors, got {result}")
            runs[label].append(result)
            print(f"  {label:<15} run {i + 1}/{repeat}: {result['seconds'] * 1000:8.1f} ms, "
                  f"CPU {result['cpu'] * 1000:8.1f} ms", flush=True)
    ours, single = (statistics.median(r["seconds"] for r in runs[k]) for k in runs)
    ours_cpu, single_cpu = (statistics.median(r["cpu"] for r in runs[k]) for k in runs)
    print(f"  worker parse {ours * 1000:.1f} ms, one hand-written file {single * 1000:.1f} ms, ratio "
          f"{ours / single:.2f} (CPU {ours_cpu / single_cpu:.2f}; target <= 2.0)", flush=True)
    return {"worker_ms": round(ours * 1000, 1), "python_single_ms": round(single * 1000, 1),
            "worker_ratio": round(ours / single, 2), "cpu_worker_ratio": round(ours_cpu / single_cpu, 2)}


def _scenario(out: Path, work: Path, db: Path, count: int, tasks: int, prefix: list[str], warm: bool,
              tag: str, anchor: bool = True) -> dict[str, object]:
    specs, python = generate(out / f"{tag or 'base_'}folders", count, tasks)
    cache = work / f"cache-{tag or 'base_'}specs"
    shutil.rmtree(cache, ignore_errors=True)
    print(f"{count} DAGs x {tasks} tasks: " + ("hand-written files, then " if anchor else "")
          + "specs with DagspecImporter (one parse unit each)", flush=True)
    # Airflow's dag processor costs 0.1-0.2 s per file on 2 cores (more per file in bigger folders): give a
    # big folder time in proportion, so that a slow machine ends in a figure, not in a timeout
    limit = max(1800.0, 0.6 * count)
    python_run = (run_processor(f"{count} hand-written python", python, db, work, count, None, timeout=limit,
                                prefix=prefix) if anchor else None)
    cold = run_processor(f"{count} specs, importer, cold", specs, db, work, count, cache, timeout=limit,
                         extra_env=importer_env(), prefix=prefix)
    result: dict[str, object] = {f"{tag}python_s": _seconds(python_run) if python_run else "n/a",
                                 f"{tag}importer_cold_s": _seconds(cold),
                                 f"{tag}importer_ratio_cold": _ratio(cold, python_run),
                                 f"{tag}importer_dags": cold.dags, f"{tag}importer_errors": len(cold.errors),
                                 f"{tag}python_errors": len(python_run.errors) if python_run else "n/a"}
    result.update({f"{tag}python_cpu_s": round(python_run.cpu_seconds, 1) if python_run else "n/a",
                   f"{tag}importer_cold_cpu_s": round(cold.cpu_seconds, 1),
                   f"{tag}importer_cpu_ratio_cold": _cpu_ratio(cold, python_run)})
    runs = [run for run in (python_run, cold) if run is not None]
    if warm:
        warm_run = run_processor(f"{count} specs, importer, warm", specs, db, work, count, cache, timeout=limit,
                                 extra_env=importer_env(), prefix=prefix)
        runs.append(warm_run)
        result.update({f"{tag}importer_warm_s": _seconds(warm_run),
                       f"{tag}importer_ratio_warm": _ratio(warm_run, python_run),
                       f"{tag}importer_warm_errors": len(warm_run.errors),
                       f"{tag}importer_cpu_ratio_warm": _cpu_ratio(warm_run, python_run)})
    for run in runs:
        if run.seconds_to_db is None or run.errors:
            print(f"  !! {run.label}: {run.dags} of {count} DAGs, import errors {run.errors[:5]}", flush=True)
    print(f"  ratio to hand-written (CPU in brackets): cold {result[f'{tag}importer_ratio_cold']} "
          f"({result[f'{tag}importer_cpu_ratio_cold']})"
          + (f", warm {result[f'{tag}importer_ratio_warm']}" if warm else ""), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="specs in the folder (default 1000)")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per DAG (default 20)")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm importer run")
    parser.add_argument("--large", action="store_true", help="add a cold run over --large-count specs")
    parser.add_argument("--large-count", type=int, default=10000, help="specs in the large folder (10000)")
    parser.add_argument("--only-large", action="store_true", help="only the large-folder runs")
    parser.add_argument("--no-large-anchor", action="store_true",
                        help="skip the hand-written files of the large run (its ratios print n/a); for a re-run "
                             "whose anchor was measured before")
    parser.add_argument("--nice", type=int, default=0, help="run the dag processors under nice -n N")
    parser.add_argument("--no-worker", action="store_true", help="skip the worker's parse")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each worker-parse measurement (medians; 5)")
    parser.add_argument("--out", type=Path, default=None, help="where to generate (default: a temp folder)")
    args = parser.parse_args(argv)
    try:
        from airflow.sdk.importers import AbstractDagImporter  # noqa: F401
    except ImportError:
        raise SystemExit("bench/importer34.py needs Airflow 3.4 (make .venv-3.4/.synced, then make bench-34)") from None
    import airflow

    out = args.out or Path(tempfile.mkdtemp(prefix="dagspec-bench34-"))
    work = out / "processor"
    work.mkdir(parents=True, exist_ok=True)
    prefix = ["nice", "-n", str(args.nice)] if args.nice else []
    print(f"Airflow {airflow.__version__}: `airflow dag-processor -n 1`, SQLite, Airflow defaults, in {out}; "
          "migrating a template DB ...", flush=True)
    db = migrated_db(work)
    result: dict[str, object] = {"airflow": airflow.__version__}
    if not args.only_large:
        result["count"] = args.count
        result.update(_scenario(out, work, db, args.count, args.tasks, prefix, not args.no_warm, ""))
    if args.large or args.only_large:
        result["large_count"] = args.large_count
        result.update(_scenario(out, work, db, args.large_count, args.tasks, prefix, False, "large_",
                                anchor=not args.no_large_anchor))
    if not args.no_worker and not args.only_large:
        result.update(_worker(out, args.count, args.tasks, max(args.repeat, 1)))
    print("BENCH34" + "".join(f" {k}={v}" for k, v in result.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
