"""Helpers for the workflow-template tests: the fixture corpus, a canonical form of templates (task contexts: task_kit)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml
from dagspec.dag_factory.workflow_template.export import DEFAULT_AUTO_TTL, DEFAULT_IDLE_TTL
from dagspec.dag_factory.workflow_template.names import convert_keys
from dagspec.provider.fieldpath import format_path, resolve_path

__all__ = ["FIXTURES", "GOOD", "BAD", "canonical", "expected", "LIGHT_JOB"]

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = sorted((FIXTURES / "good").glob("*.yaml"))
BAD = sorted((FIXTURES / "bad").glob("*.yaml"))

# a PySpark driver that never starts Spark: the emulator runs it as plain Python in a fraction of a second
LIGHT_JOB = "import sys\nprint('light job args:', ' '.join(sys.argv[1:]))\n"


def expected(path: Path) -> list[tuple[str, int]]:
    """``# expect: DSP084@16 DSP083@9`` -> [("DSP084", 16), ("DSP083", 9)]."""
    first = path.read_text().splitlines()[0]
    return [(code, int(line)) for code, line in re.findall(r"(DSP\d{3})@(\d+)", first)]


def _seconds(text: Any) -> float:
    return float(str(text).rstrip("s"))


def canonical(template: dict[str, Any]) -> dict[str, Any]:
    """What a template means, in one spelling: snake_case keys, template labels pushed down to the jobs
    and the managed cluster (as Dataproc propagates them), default TTLs dropped, parameter fields in
    Dataproc's canonical path syntax, server-set fields removed."""
    t = convert_keys(copy.deepcopy(template), "snake")
    for key in ("name", "version", "create_time", "update_time"):
        t.pop(key, None)
    labels = t.pop("labels", None) or {}
    placement = t.get("placement") or {}
    managed = placement.get("managed_cluster")
    if managed is not None:
        managed["labels"] = {**labels, **(managed.get("labels") or {})} or None
        lifecycle = (managed.get("config") or {}).get("lifecycle_config") or {}
        if "idle_delete_ttl" in lifecycle and _seconds(lifecycle["idle_delete_ttl"]) == DEFAULT_IDLE_TTL:
            del lifecycle["idle_delete_ttl"]
        if "auto_delete_ttl" in lifecycle and _seconds(lifecycle["auto_delete_ttl"]) == DEFAULT_AUTO_TTL:
            del lifecycle["auto_delete_ttl"]
        if "lifecycle_config" in (managed.get("config") or {}) and not lifecycle:
            del managed["config"]["lifecycle_config"]
    for job in t.get("jobs") or []:
        job["labels"] = {**labels, **(job.get("labels") or {})} or None
        job["prerequisite_step_ids"] = list(job.get("prerequisite_step_ids") or [])
    for param in t.get("parameters") or []:
        param["fields"] = [format_path(resolve_path(f, t), t) for f in param["fields"]]
    if "dag_timeout" in t:
        t["dag_timeout"] = _seconds(t["dag_timeout"])
    return _drop_none(t)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def seed_bucket(hook: Any, bucket: str) -> None:
    """Create ``bucket`` in the GCS emulator (once) with the light job script in it."""
    if hook.storage.lookup_bucket(bucket) is None:
        hook.storage.create_bucket(bucket)
    hook.storage.bucket(bucket).blob("light.py").upload_from_string(LIGHT_JOB)
