"""What the stack tests share: the broken spec they add, the flagship's id and its one finished run."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from dagspec.dag_factory.stack import LocalStack
from dagspec.dag_factory.stack.runs import RunResult

__all__ = ["BROKEN", "BROKEN_LINE", "BROKEN_SPEC", "FLAGSHIP", "ROOT", "Flagship"]

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = "sales_pipeline"
BROKEN = "broken/broken_spec.yaml"
BROKEN_LINE = 10  # the line of `dependson` below
BROKEN_SPEC = textwrap.dedent("""\
    # A spec with a typo: Airflow must list it as an import error with its file and line,
    # and the other specs of the folder must still load.
    description: Two tasks, one of them misspelling depends_on.
    schedule: null
    start_date: 2024-06-01
    tasks:
      first:
        bash: echo first
      second:
        dependson: first
        bash: echo second
""")


@dataclass
class Flagship:
    """The running stack, the DAG ids its folder defines, and the one finished flagship run."""

    stack: LocalStack
    dags_folder: Path
    expected_dags: set[str]
    run: RunResult
