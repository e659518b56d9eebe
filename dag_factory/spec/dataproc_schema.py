"""Dataproc's own message definitions as plain field tables, and the check of a spec's Dataproc configuration against them.

They are part of the spec language (a cluster's ``config`` is Dataproc's ClusterConfig), so they live
in the spec layer; the compiler runs the check (``compile/dataproc.py``) and ``spec/reference.py``
turns the tables into the JSON Schema and the reference page.

The tables come from the descriptors that ``google-cloud-dataproc`` ships (``ClusterConfig``, ``Job``,
``Batch`` and every message they reach): ``build_table`` turns them into plain data, and
``python -m dagspec.dag_factory.spec.dataproc_schema`` writes that data to ``dataproc_table.py``
beside this module. The check reads that generated module, never the client: importing
``google.cloud.dataproc_v1`` costs seconds, which a dag processor parsing a changed spec must not pay.
``tests/unit/test_dataproc_schema.py`` fails when the installed client's descriptors no longer give
the same table, so a client upgrade updates the checks by one regeneration.

Values are checked the way the provider sends them: as a dict to the proto-plus message, which takes
snake_case field names only (a camelCase name gets a hint), ``Duration`` as ``"600s"``, a number of
seconds, dagspec's ``10m``/``1h30m`` or ``{seconds: 600}`` (normalised to ``"600s"``) and ``Timestamp`` as
RFC 3339 text. A text value holding ``{{`` is an Airflow template and is not type-checked.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import did_you_mean
from .values import parse_duration
from .yaml_source import YamlPath

__all__ = ["Problem", "check", "check_ttl", "ttl_limits", "table", "build_table", "json_schema", "PACKAGE"]

PACKAGE = "google.cloud.dataproc.v1."
ROOTS = ("ClusterConfig", "Job", "Batch", "WorkflowTemplate")
_INT = {3, 5, 6, 7, 13, 15, 16, 17, 18}  # protobuf FieldDescriptor.TYPE_* numbers
_SCALAR = {1: "float", 2: "float", 8: "bool", 9: "string", 12: "bytes"} | dict.fromkeys(_INT, "int")
_TYPE_MESSAGE, _TYPE_ENUM = 11, 14
_WELL_KNOWN = {"google.protobuf.Duration": "duration", "google.protobuf.Timestamp": "timestamp",
               "google.protobuf.Struct": "any", "google.protobuf.Value": "any", "google.protobuf.Any": "any",
               "google.protobuf.FieldMask": "string"}
_UNIT = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT = re.compile(r"minimum value is (\d+) (second|minute|hour|day)s?; maximum value is (\d+) (second|minute|hour|day)s?")


@dataclass(frozen=True)
class Problem:
    """One mismatch: a DSP code, where (a spec path), what, and how to fix it."""

    code: str
    message: str
    path: YamlPath
    hint: str = ""
    key: bool = False


# --- the table -----------------------------------------------------------------------------------


@functools.cache
def table() -> dict[str, Any]:
    """The generated table (imported on first use: specs without Dataproc configuration never load it)."""
    from . import dataproc_table  # lazy: keeps the table off the parse path of specs without Dataproc config

    return {"version": dataproc_table.VERSION, "messages": dataproc_table.MESSAGES, "enums": dataproc_table.ENUMS,
            "limits": dataproc_table.LIMITS}


def _short(full_name: str) -> str:
    return full_name.removeprefix(PACKAGE)


def _field_type(f: Any, enums: dict[str, list[str]], todo: list[Any]) -> str:
    if f.type == _TYPE_ENUM:
        name = _short(f.enum_type.full_name)
        enums[name] = [v.name for v in f.enum_type.values]
        return f"enum:{name}"
    if f.type != _TYPE_MESSAGE:
        return _SCALAR[f.type]
    msg = f.message_type
    if msg.GetOptions().map_entry:
        value = msg.fields_by_name["value"]
        return "map:" + _field_type(value, enums, todo)
    if msg.full_name in _WELL_KNOWN:
        return _WELL_KNOWN[msg.full_name]
    if msg.full_name.startswith("google.protobuf."):  # wrappers: the wrapped scalar
        return _SCALAR.get(msg.fields_by_name["value"].type, "any") if "value" in msg.fields_by_name else "any"
    todo.append(msg)
    return f"msg:{_short(msg.full_name)}"


def _limits(doc: str, fields: Iterable[str]) -> Iterator[tuple[str, list[int]]]:
    """``Minimum value is 5 minutes; maximum value is 14 days`` in a field's docstring."""
    text = " ".join(doc.split()).lower()
    for name in fields:
        start = text.find(f" {name} (google.protobuf.duration_pb2.duration):")
        if start < 0:
            continue
        end = text.find("_pb2.", start + len(name) + 40)
        found = _LIMIT.search(text[start:end if end > 0 else None])
        if found:
            low, low_unit, high, high_unit = found.groups()
            yield name, [int(low) * _UNIT[low_unit], int(high) * _UNIT[high_unit]]


def build_table(roots: Iterable[Any], docs: dict[str, str], version: str) -> dict[str, Any]:
    """Plain data from protobuf descriptors: each message's fields (type, repeated), its oneofs, the
    enums' value names and the Duration limits its docstring states (``docs``: full name -> docstring)."""
    messages: dict[str, Any] = {}
    enums: dict[str, list[str]] = {}
    limits: dict[str, list[int]] = {}
    todo = list(roots)
    while todo:
        desc = todo.pop()
        name = _short(desc.full_name)
        if name in messages:
            continue
        fields = {f.name: [_field_type(f, enums, todo), int(bool(f.is_repeated) and not _is_map(f))] for f in desc.fields}
        oneofs = {o.name: [f.name for f in o.fields] for o in desc.oneofs
                  if not (o.name.startswith("_") and len(o.fields) == 1 and o.name == "_" + o.fields[0].name)}
        messages[name] = {"fields": fields, "oneofs": oneofs}
        durations = [n for n, (t, _) in fields.items() if t == "duration"]
        for field_name, bounds in _limits(docs.get(desc.full_name, ""), durations):
            limits[f"{name}.{field_name}"] = bounds
    return {"version": version, "messages": dict(sorted(messages.items())), "enums": dict(sorted(enums.items())),
            "limits": dict(sorted(limits.items()))}


def _is_map(f: Any) -> bool:
    return f.type == _TYPE_MESSAGE and bool(f.message_type.GetOptions().map_entry)


def table_from_client() -> dict[str, Any]:
    """The table of the installed google-cloud-dataproc (imports it: seconds; for the generator and the tests)."""
    # imported here, never on the parse path: the client costs seconds to import
    import importlib.metadata

    # lazy: only the table generator reads the Google descriptors
    import proto  # type: ignore[import-untyped]
    from google.cloud.dataproc_v1 import types

    docs: dict[str, str] = {}

    def walk(cls: Any) -> None:
        for attr in vars(cls).values():
            if isinstance(attr, type) and issubclass(attr, proto.Message) and attr is not proto.Message:
                message: Any = attr
                docs.setdefault(message.pb().DESCRIPTOR.full_name, message.__doc__ or "")
                walk(attr)

    for module_name in ("clusters", "jobs", "batches", "shared", "workflow_templates"):
        walk(getattr(types, module_name))
    roots = [getattr(types, name).pb().DESCRIPTOR for name in ROOTS]
    return build_table(roots, docs, importlib.metadata.version("google-cloud-dataproc"))


def render_table_module(data: dict[str, Any]) -> str:
    import pprint  # the generator only

    def block(name: str, value: Any) -> str:
        return f"{name} = {pprint.pformat(value, width=120, sort_dicts=False)}\n"

    return ('"""Generated from google-cloud-dataproc\'s descriptors by `python -m dagspec.dag_factory.spec.dataproc_schema`;'
            ' do not edit."""\n\n# ruff: noqa: E501\nfrom typing import Any\n\n'
            f"VERSION = {data['version']!r}\n" + block("MESSAGES: dict[str, Any]", data["messages"])
            + block("ENUMS: dict[str, list[str]]", data["enums"]) + block("LIMITS: dict[str, list[int]]", data["limits"]))


# --- the check -----------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _kind(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__)


def _seconds_text(seconds: float) -> str:
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:.9f}".rstrip("0") + "s"


def _human(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}{'s' if seconds != size else ''}"
    return f"{seconds:g} s"


def ttl_limits(message: str, field: str) -> tuple[int, int] | None:
    bounds = table()["limits"].get(f"{message}.{field}")
    return (bounds[0], bounds[1]) if bounds else None


def check_ttl(seconds: float, message: str, field: str, path: YamlPath, what: str = "") -> list[Problem]:
    """A DSP069 when ``seconds`` is outside the limits Dataproc states for ``message.field``."""
    bounds = ttl_limits(message, field)
    if bounds is None or bounds[0] <= seconds <= bounds[1]:
        return []
    return [Problem("DSP069", f"`{what or field}` is {_human(seconds)}; Dataproc takes {_human(bounds[0])} to "
                    f"{_human(bounds[1])}", path, f"write a duration from `{bounds[0] // 60}m` to `{bounds[1] // 86400}d`")]


def check(message: str, value: Any, path: YamlPath) -> tuple[Any, list[Problem]]:
    """``value`` checked as Dataproc's ``message`` (a short name like ``ClusterConfig``): the value with
    durations and timestamps normalised for the client, and the problems found."""
    problems: list[Problem] = []
    return _message(table(), message, value, path, problems), problems


def _message(t: dict[str, Any], name: str, value: Any, path: YamlPath, out: list[Problem]) -> Any:
    if not isinstance(value, dict):
        out.append(Problem("DSP068", f"`{path[-1]}` must be a mapping of {name} fields, not {_kind(value)}", path,
                           f"see Dataproc's {name} reference"))
        return value
    spec = t["messages"][name]
    fields: dict[str, list[Any]] = spec["fields"]
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key not in fields:
            snake = _snake(str(key))
            hint = (f"write `{snake}`: the client takes snake_case names" if snake in fields
                    else did_you_mean(str(key), fields) or f"{name} fields: {', '.join(fields)}")
            out.append(Problem("DSP067", f"unknown {name} field `{key}`", path + (key,), hint, key=True))
            result[key] = item
            continue
        ftype, repeated = fields[key]
        result[key] = _field(t, name, key, ftype, bool(repeated), item, path + (key,), out)
    for group, members in spec["oneofs"].items():
        given = [f for f in value if f in members and value[f] is not None]  # as written: the second is blamed
        if len(given) > 1:
            out.append(Problem("DSP110", f"{name} takes one of {', '.join(f'`{f}`' for f in members)}, not "
                               f"{' and '.join(f'`{f}`' for f in given)}", path + (given[1],),
                               f"they are alternatives (`{group}`): keep one", key=True))
    return result


def _field(t: dict[str, Any], owner: str, name: str, ftype: str, repeated: bool, value: Any, path: YamlPath,
           out: list[Problem]) -> Any:
    if value is None or _templated(value):
        return value
    if ftype.startswith("map:"):
        if not isinstance(value, dict):
            out.append(Problem("DSP068", f"`{name}` must be a mapping, not {_kind(value)}", path, "write `{key: value}`"))
            return value
        return {k: _scalar(t, owner, name, ftype[4:], v, path + (k,), out) for k, v in value.items()}
    if repeated:
        if not isinstance(value, list):
            out.append(Problem("DSP068", f"`{name}` must be a list, not {_kind(value)}", path,
                               f"write `{name}: [...]`, even for one item"))
            return value
        return [_scalar(t, owner, name, ftype, v, path + (i,), out) for i, v in enumerate(value)]
    return _scalar(t, owner, name, ftype, value, path, out)


def _scalar(t: dict[str, Any], owner: str, name: str, ftype: str, value: Any, path: YamlPath, out: list[Problem]) -> Any:
    if value is None or _templated(value):
        return value
    if ftype.startswith("msg:"):
        return _message(t, ftype[4:], value, path, out)
    wrong = ""
    if ftype.startswith("enum:"):
        names = t["enums"][ftype[5:]]
        if isinstance(value, str) and value in names:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # the client takes enum numbers too
        hint = (did_you_mean(value, names) if isinstance(value, str) else "") or \
            f"{ftype[5:].rsplit('.', 1)[-1]} values: {', '.join(n for n in names if not n.endswith('_UNSPECIFIED'))}"
        out.append(Problem("DSP068", f"`{value}` is not a value of {ftype[5:]} (field `{name}`)", path, hint))
        return value
    if ftype == "duration":
        return _duration(owner, name, value, path, out)
    if ftype == "timestamp":
        if isinstance(value, dt.datetime):
            return value.isoformat().replace("+00:00", "Z")
        if isinstance(value, str) and _rfc3339(value):
            return value
        wrong = "an RFC 3339 time like `2026-12-01T00:00:00Z`"
    elif ftype == "string" or ftype == "bytes":
        if isinstance(value, str):
            return value
        wrong = f"text; quote it: `\"{value}\"`" if isinstance(value, (int, float, bool)) else "text"
    elif ftype == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        wrong = "a whole number"
    elif ftype == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        wrong = "a number"
    elif ftype == "bool":
        if isinstance(value, bool):
            return value
        wrong = "`true` or `false`"
    else:  # Struct, Value, Any: free-form
        return value
    out.append(Problem("DSP068", f"`{name}` must be {wrong.split(';')[0]}, not {_kind(value)} `{value}`", path,
                       f"{owner}.{name} is {wrong}"))
    return value


def _rfc3339(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in text.upper()


def _duration(owner: str, name: str, value: Any, path: YamlPath, out: list[Problem]) -> Any:
    if isinstance(value, dict) and set(value) <= {"seconds", "nanos"} and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        seconds = value.get("seconds", 0) + value.get("nanos", 0) / 1e9
    else:
        try:
            seconds = parse_duration(value)
        except ValueError:
            out.append(Problem("DSP068", f"`{name}` must be a duration, not {_kind(value)} `{value}`", path,
                               "write seconds (`600`, `600s`) or text like `10m`, `1h30m`, `2d`"))
            return value
    out.extend(check_ttl(seconds, owner, name, path))
    return _seconds_text(seconds)


# --- the JSON schema -----------------------------------------------------------------------------


def json_schema(root: str, both_cases: bool = False) -> dict[str, Any]:
    """JSON Schema ``$defs`` for ``root`` and every message it reaches, named ``dataproc.<Message>``, so
    editors complete Dataproc's fields; refs point at ``#/$defs/dataproc.<Message>``. With ``both_cases``
    each field is also accepted in camelCase (as workflow template files write them), and the names are
    ``dataproc-any-case.<Message>``."""
    prefix = "dataproc-any-case" if both_cases else "dataproc"
    t = table()
    defs: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if f"{prefix}.{name}" in defs:
            continue
        props: dict[str, Any] = {}
        for field_name, (ftype, repeated) in t["messages"][name]["fields"].items():
            schema = _type_schema(t, ftype, todo, prefix)
            if ftype.startswith("map:"):
                schema = {"type": "object", "additionalProperties": _type_schema(t, ftype[4:], todo, prefix)}
            elif repeated:
                schema = {"type": "array", "items": schema}
            props[field_name] = schema
            if both_cases and _camel(field_name) != field_name:
                props[_camel(field_name)] = schema
        defs[f"{prefix}.{name}"] = {"type": "object", "title": f"Dataproc {name}", "properties": props,
                                    "additionalProperties": False}
    return dict(sorted(defs.items()))


def _type_schema(t: dict[str, Any], ftype: str, todo: list[str], prefix: str = "dataproc") -> dict[str, Any]:
    if ftype.startswith("msg:"):
        todo.append(ftype[4:])
        return {"$ref": f"#/$defs/{prefix}.{ftype[4:]}"}
    if ftype.startswith("enum:"):
        return {"enum": [n for n in t["enums"][ftype[5:]]]}
    if ftype.startswith("map:"):
        return {}
    simple: dict[str, dict[str, Any]] = {"string": {"type": "string"}, "bytes": {"type": "string"}, "int": {"type": "integer"},
            "float": {"type": "number"}, "bool": {"type": "boolean"},
            "duration": {"type": ["string", "number"], "description": "seconds, or `600s`, `10m`, `1h30m`, `2d`"},
            "timestamp": {"type": "string", "format": "date-time"}}
    return simple.get(ftype, {})


if __name__ == "__main__":  # regenerate dataproc_table.py from the installed client
    from pathlib import Path

    target = Path(__file__).with_name("dataproc_table.py")
    target.write_text(render_table_module(table_from_client()), encoding="utf-8")
    print(f"wrote {target}")
