"""Generate the parse benchmark's inputs: N specs of T bash tasks (fan-out/fan-in) and the same
workflows as hand-written Airflow DAG files, one per DAG."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

LOADER = '''"""dagspec loader: builds an Airflow DAG for every spec in this dag folder."""
from dagspec.dag_factory.airflow.loader import load_dag_folder

load_dag_folder(globals())
'''


def spec_text(i: int, tasks: int) -> str:
    middle = tasks - 2
    lines = [f"# benchmark workflow {i}", "schedule: '@daily'", "start_date: 2024-01-01", "catchup: false",
             "tags: [bench]", "default_args: {retries: 1, retry_delay: 5m}", "tasks:", "  start:",
             f"    bash: echo start {i}"]
    for j in range(middle):
        lines += [f"  work_{j}:", f"    bash: echo work {i} {j}", "    depends_on: start"]
    works = ", ".join(f"work_{j}" for j in range(middle))
    lines += ["  finish:", f"    bash: echo finish {i}", f"    depends_on: [{works}]"]
    return "\n".join(lines) + "\n"


def python_text(i: int, tasks: int) -> str:
    middle = tasks - 2
    return f'''"""Hand-written benchmark workflow {i} (the same DAG as bench_{i:04d}.yaml)."""
from datetime import datetime, timedelta, timezone

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="bench_{i:04d}",
    schedule="@daily",
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["bench"],
    default_args={{"retries": 1, "retry_delay": timedelta(minutes=5)}},
):
    start = BashOperator(task_id="start", bash_command="echo start {i}")
    finish = BashOperator(task_id="finish", bash_command="echo finish {i}")
    for j in range({middle}):
        work = BashOperator(task_id=f"work_{{j}}", bash_command=f"echo work {i} {{j}}")
        start >> work >> finish
'''


def chain_spec_text(tasks: int) -> str:
    """One spec of ``tasks`` bash tasks in a chain (the size case: compile and build must stay linear)."""
    lines = ["# one very large workflow", "schedule: '@daily'", "start_date: 2024-01-01", "catchup: false", "tasks:"]
    for j in range(tasks):
        lines += [f"  t_{j}:", f"    bash: echo {j}"] + ([f"    depends_on: t_{j - 1}"] if j else [])
    return "\n".join(lines) + "\n"


def chain_python_text(tasks: int) -> str:
    return f'''"""Hand-written: the same {tasks}-task chain as bench_chain.yaml."""
from datetime import datetime, timezone

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(dag_id="bench_chain", schedule="@daily", start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), catchup=False):
    previous = None
    for j in range({tasks}):
        task = BashOperator(task_id=f"t_{{j}}", bash_command=f"echo {{j}}")
        if previous is not None:
            previous >> task
        previous = task
'''


def write_units(folder: Path, units: int) -> None:
    """The parse-unit loader files of ``folder`` (as ``dagspec init-dag-folder --units N`` writes them)."""
    from dagspec.dag_factory.spec.units import unit_file_name, unit_file_text

    for old in folder.glob("dagspec_*.py"):
        old.unlink()
    for i in range(units):
        (folder / unit_file_name(i, units)).write_text(unit_file_text(i, units))


def generate_specs(folder: Path, count: int, tasks: int, units: int = 1) -> Path:
    """Only the spec folder, with ``units`` loader files."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"bench_{i:04d}.yaml").write_text(spec_text(i, tasks))
    write_units(folder, units)
    return folder


def generate_chain(out: Path, tasks: int) -> tuple[Path, Path]:
    """One spec (with the loader) and one hand-written file of a ``tasks``-task chain."""
    specs, python = out / "chain-specs", out / "chain-python"
    for folder in (specs, python):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    (specs / "dagspec_loader.py").write_text(LOADER)
    (specs / "bench_chain.yaml").write_text(chain_spec_text(tasks))
    (python / "bench_chain.py").write_text(chain_python_text(tasks))
    return specs, python


def generate_pathological(folder: Path, good: int, big_tasks: int) -> Path:
    """``good`` ordinary specs next to one spec of ``big_tasks`` tasks (``huge.yaml``), with the loader."""
    generate_specs(folder, good, 20)
    (folder / "huge.yaml").write_text(chain_spec_text(big_tasks).replace("one very large", "a pathological"))
    return folder


def generate(out: Path, count: int, tasks: int) -> tuple[Path, Path]:
    specs, python = out / "specs", out / "python"
    for folder in (specs, python):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    (specs / "dagspec_loader.py").write_text(LOADER)
    for i in range(count):
        (specs / f"bench_{i:04d}.yaml").write_text(spec_text(i, tasks))
        (python / f"bench_{i:04d}.py").write_text(python_text(i, tasks))
    return specs, python


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20)
    args = parser.parse_args()
    print(generate(args.out, args.count, args.tasks))
