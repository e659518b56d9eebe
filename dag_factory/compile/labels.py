"""Dataproc's label rules on a spec's cluster and job labels, reported when the spec compiles (DSP047).

Dataproc refuses (INVALID_ARGUMENT) a cluster, job or batch whose labels break its rules: keys start
with a lower-case letter, keys and values hold at most 63 lower-case letters, digits, ``_`` and ``-``,
and a resource carries at most 32 labels. dagspec's operators rewrite a key or value that breaks the
character rules into one Dataproc accepts (``Owner: Ana`` is sent as ``owner: ana``), so such a label is a
warning that names what Dataproc will store (what billing reports and console filters then see); two
labels that the rewrite turns into one key, and more than 32 labels, fail or lose data and are errors.

The rules live in ``provider/dataproc_rules.py`` (shared
with the emulator and the workflow-template import, DSP079); the labels dagspec's operators add
come from ``provider/naming.py``. Both modules import only the standard library, so this module
keeps the compile layer free of Google and Airflow imports. A label written with Jinja is rendered
at run time and is not checked here.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagspec.provider.dataproc_rules import MAX_LABELS, label_issues
from dagspec.provider.naming import job_labels, label_key, label_value, ownership_labels

from ..spec.yaml_source import YamlPath
from .context import CompileContext

__all__ = ["LABELS_CODE", "check_cluster_labels", "check_job_labels"]

LABELS_CODE = "DSP047"  # a cluster's or a job's labels break Dataproc's label rules
_RULES = ("Dataproc label keys start with a lower-case letter; keys and values hold only lower-case letters, "
          "digits, `_` and `-`, at most 63 characters")
# the labels dagspec's operators put on what they create: they count toward Dataproc's 32
_CLUSTER_OWN = tuple(ownership_labels("d", "r", "c", "t"))
_JOB_OWN = tuple(job_labels("d", "r", "t"))


def check_cluster_labels(ctx: CompileContext, name: str, labels: Mapping[str, str]) -> None:
    """Report the labels of cluster ``name`` (``clusters.<name>.labels``) that Dataproc would refuse."""
    _check(ctx, labels, ("clusters", name, "labels"), f"cluster `{name}`", _CLUSTER_OWN)


def check_job_labels(ctx: CompileContext, task_id: str, labels: Mapping[str, str], where: YamlPath) -> None:
    """Report the labels of a Dataproc job or batch (``where`` is its ``labels`` path) Dataproc would refuse."""
    _check(ctx, labels, where, f"task `{task_id}`", _JOB_OWN)


def _jinja(text: str) -> bool:
    return "{{" in text or "{%" in text


def _check(ctx: CompileContext, labels: Mapping[str, str], where: YamlPath, what: str, own: tuple[str, ...]) -> None:
    literal = {str(k): str(v) for k, v in labels.items() if not _jinja(str(k)) and not _jinja(str(v))}
    sent_keys: dict[str, str] = {}
    merged: set[str] = set()
    for key in literal:
        other = sent_keys.setdefault(label_key(key), key)
        if other != key:
            merged.add(key)
            ctx.error(LABELS_CODE, f"{what}: labels `{other}` and `{key}` are both sent as `{label_key(key)}`, "
                      "so one would silently replace the other", where + (key,),
                      "give them keys that differ in lower-case letters, digits, `_` or `-`", key=True)
    for key, in_value, problem in label_issues(literal):
        if key is None or key in merged:  # the count is checked below, with the labels dagspec adds
            continue
        sent = f"`{label_key(key)}: {label_value(literal[key])}`"
        ctx.warn(LABELS_CODE, f"{what}: {problem}; dagspec sends it to Dataproc as {sent}", where + (key,),
                 f"write it as {sent} to see the same label in the spec, the console and billing. {_RULES}",
                 key=not in_value)
    total = len({label_key(str(k)) for k in labels} | set(own))
    if total > MAX_LABELS:
        ctx.error(LABELS_CODE, f"{what} has {len(labels)} labels; with the {len(own)} dagspec adds "
                  f"({', '.join(f'`{k}`' for k in own)}) that makes {total}, more than Dataproc's {MAX_LABELS}",
                  where, f"keep at most {MAX_LABELS - len(own)} labels of your own", key=True)
