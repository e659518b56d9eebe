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
