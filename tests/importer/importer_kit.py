"""Shared pieces of the Airflow 3.4 importer tests: the importer configuration and small spec folders."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAGSPEC_IMPORTER = "dagspec.dag_factory.airflow.importer.DagspecImporter"
AIRFLOW_YAML_IMPORTER = "airflow.sdk.importers.yaml_importer.YamlDagImporter"
EXAMPLE_IDS = {
    "hello", "orchestration_patterns", "regional_report_eu", "regional_report_us", "regional_report_apac",
    "workflow_of_workflows", "asset_consumer", "sales_pipeline", "workflow_template_report",
}

GOOD_SPEC = """\
schedule: "@daily"
start_date: 2024-01-01
tasks:
  first:
    bash: echo first
  second:
    bash: echo second
    depends_on: first
"""

BROKEN_SPEC = """\
schedule: "@daily"
start_date: 2024-01-01
tasks:
  first:
    bsh: echo typo
"""

# Importing this module never finishes: a spec whose callable lives here hangs while compiling.
HANGING_MODULE = """\
import time

while True:
    time.sleep(0.05)


def fn():
    pass
"""

HANGING_SPEC = """\
start_date: 2024-01-01
tasks:
  wait:
    python: {callable: hangs_forever.fn}
"""

AIRFLOW_FORMAT = """\
$schema: https://airflow.apache.org/schemas/dag/2026-10-30.json
dag_id: airflow_format
tasks:
  - id: say
    uses: airflow.providers.standard.operators.bash.BashOperator
    with:
      bash_command: echo hi
"""


def importer_configs(*entries: dict) -> str:
    return json.dumps(list(entries))


def dagspec_entry(**kwargs: object) -> dict:
    entry: dict = {"classpath": DAGSPEC_IMPORTER}
    if kwargs:
        entry["kwargs"] = kwargs
    return entry


def write_specs(folder: Path, specs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in specs.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
