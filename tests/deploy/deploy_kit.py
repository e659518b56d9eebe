"""Helpers for deploy tests (importable as ``deploy_kit``): a small project's files and a bucket view."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LOADER", "FILES", "EXPECTED_KEYS", "write", "Bucket"]

LOADER = '"""dagspec loader: builds an Airflow DAG from every spec of this dag folder."""\n' \
         "from dagspec.dag_factory.airflow.loader import load_dag_folder\n\nload_dag_folder(globals())\n"

FILES = {
    "dags/dagspec_loader.py": LOADER,
    "dags/.airflowignore": "scratch/\n",
    "dags/scratch/notes.yaml": "not: [a spec\n",  # ignored: never validated, never uploaded
    "dags/__pycache__/x.cpython-311.pyc": "junk",
    "dags/team/hello.yaml": """\
        schedule: "@daily"
        start_date: 2024-01-01
        tasks:
          hello: {bash: echo hello}
          bye: {bash: echo bye, depends_on: hello}
        """,
    "dags/team/etl.yaml": """\
        extends: etl-base
        dataproc: {staging_bucket: gs://demo-staging}
        clusters:
          etl: {extends: single-node}
        tasks:
          clean:
            pyspark: {main: jobs/clean.py}
            cluster: etl
          totals:
            spark_sql: {query_file: sql/totals.sql}
            cluster: etl
            depends_on: clean
        """,
    "dags/team/jobs/clean.py": "print('clean')\n",
    "dags/team/sql/totals.sql": "SELECT 1;\n",
    "templates/etl-base.yaml": """\
        schedule: "@daily"
        start_date: 2024-01-01
        catchup: false
        tags: [etl]
        """,
    "templates/unused.yaml": "tags: [never-used]\n",
    "templates/clusters/single-node.yaml": """\
        config:
          master_config: {num_instances: 1, machine_type_uri: n2-standard-4}
        idle_delete_ttl: 30m
        """,
}

EXPECTED_KEYS = {
    ".airflowignore", "dagspec_loader.py", "team/hello.yaml", "team/etl.yaml", "team/jobs/clean.py",
    "team/sql/totals.sql", "templates/etl-base.yaml", "templates/clusters/single-node.yaml",
}


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@dataclass
class Bucket:
    """A fresh bucket on the emulator, and a plain client to look at it or to play 'someone else'."""

    name: str
    client: Any

    def names(self) -> set[str]:
        return {b.name for b in self.client.list_blobs(self.name)}

    def read(self, name: str) -> bytes:
        return self.client.bucket(self.name).blob(name).download_as_bytes()

    def write(self, name: str, data: bytes) -> None:
        self.client.bucket(self.name).blob(name).upload_from_string(data)

    def generations(self) -> dict[str, int]:
        return {b.name: int(b.generation) for b in self.client.list_blobs(self.name)}

