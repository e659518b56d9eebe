"""Keeps values read from the environment out of what dagspec shows: each becomes its ``${env.NAME}``.

Every value a spec takes from ``${env.NAME}`` is treated as a secret. Diagnostics, ``render``, the
DAG docs and the loader's logs pass their text through ``redact``, which writes the reference back
in place of the value. Values of fewer than four characters (``1``, ``eu``) are replaced only where
they stand alone, so that short settings do not garble every message; longer ones everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from ..errors import Diagnostic

__all__ = ["Secrets", "redact", "redact_diagnostics"]

Secrets = tuple[tuple[str, str], ...]  # (NAME, value) pairs, as resolve_variables reports them

_SHORT = 4


def redact(text: str, secrets: Iterable[tuple[str, str]]) -> str:
    """``text`` with each secret value replaced by ``${env.NAME}`` (longest values first)."""
    if not text:
        return text
    for name, value in sorted(set(secrets), key=lambda s: -len(s[1])):
        if not value or value not in text:
            continue
        reference = "${env." + name + "}"
        if len(value) >= _SHORT:
            text = text.replace(value, reference)
        else:
            text = re.sub(rf"(?<![\w.-]){re.escape(value)}(?![\w.-])", reference.replace("\\", r"\\"), text)
    return text


def redact_diagnostics(diagnostics: Iterable[Diagnostic], secrets: Iterable[tuple[str, str]]) -> list[Diagnostic]:
    """The diagnostics with secret values redacted from their message and hint (snippets show the
    source, which holds the references, not the values)."""
    secrets = tuple(secrets)
    if not any(value for _, value in secrets):
        return list(diagnostics)
    return [replace(d, message=redact(d.message, secrets), hint=redact(d.hint, secrets)) for d in diagnostics]
