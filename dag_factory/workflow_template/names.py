"""Field names of Dataproc workflow templates: camelCase/snake_case keys, job types and their spec fields.

Pure tables and key conversion shared by the importer (template -> spec) and the exporter
(plan -> template). Keys inside map fields (``labels``, ``properties`` ...) are user data and are
never converted.
"""

from __future__ import annotations

from typing import Any

from dagspec.provider.fieldpath import MAP_FIELDS, camel, snake  # the one home of key conversion

__all__ = [
    "snake", "camel", "convert_keys", "MAP_FIELDS", "JOB_TYPES", "KIND_OF", "SPEC_FIELDS", "STEP_KEYS",
    "TEMPLATE_KEYS", "IGNORED_TEMPLATE_KEYS",
]

# Dataproc job field (snake_case) -> spec action key
JOB_TYPES: dict[str, str] = {
    "pyspark_job": "pyspark", "spark_job": "spark", "spark_sql_job": "spark_sql", "hive_job": "hive",
    "pig_job": "pig", "hadoop_job": "hadoop", "spark_r_job": "spark_r", "presto_job": "presto",
    "trino_job": "trino", "flink_job": "flink",
}
KIND_OF = JOB_TYPES
JOB_FIELD_OF = {v: k for k, v in JOB_TYPES.items()}

_MAIN_JAR = {"main_class": "main_class", "main_jar_file_uri": "main_jar"}
_QUERY = {"query_file_uri": "query_file", "script_variables": "script_variables"}
# spec kind -> {Dataproc job body field: spec field}; ``query_list`` is handled apart (query/queries)
SPEC_FIELDS: dict[str, dict[str, str]] = {
    "pyspark": {"main_python_file_uri": "main", "args": "args", "python_file_uris": "py_files",
                "jar_file_uris": "jars", "file_uris": "files", "archive_uris": "archives"},
    "spark": {**_MAIN_JAR, "args": "args", "jar_file_uris": "jars", "file_uris": "files", "archive_uris": "archives"},
    "hadoop": {**_MAIN_JAR, "args": "args", "jar_file_uris": "jars", "file_uris": "files", "archive_uris": "archives"},
    "spark_sql": {**_QUERY, "jar_file_uris": "jars"},
    "hive": {**_QUERY, "jar_file_uris": "jars", "continue_on_failure": "continue_on_failure"},
    "pig": {**_QUERY, "jar_file_uris": "jars", "continue_on_failure": "continue_on_failure"},
    "spark_r": {"main_r_file_uri": "main", "args": "args", "file_uris": "files", "archive_uris": "archives"},
    "presto": {**_QUERY, "continue_on_failure": "continue_on_failure", "output_format": "output_format",
               "client_tags": "client_tags"},
    "trino": {**_QUERY, "continue_on_failure": "continue_on_failure", "output_format": "output_format",
              "client_tags": "client_tags"},
    "flink": {**_MAIN_JAR, "args": "args", "jar_file_uris": "jars", "savepoint_uri": "savepoint"},
}
for _fields in SPEC_FIELDS.values():
    _fields["properties"] = "properties"
QUERY_KINDS = frozenset({"spark_sql", "hive", "pig", "presto", "trino"})
for _kind in ("presto", "trino"):
    SPEC_FIELDS[_kind].pop("script_variables")

STEP_KEYS = frozenset({"step_id", "prerequisite_step_ids", "labels", "scheduling", *JOB_TYPES})
TEMPLATE_KEYS = frozenset({"id", "name", "version", "labels", "placement", "jobs", "parameters", "dag_timeout"})
IGNORED_TEMPLATE_KEYS = frozenset({"name", "version", "create_time", "update_time"})

def convert_keys(value: Any, to: str = "snake") -> Any:
    """``value`` with every mapping key converted (``to`` "snake" or "camel"), map fields' keys kept."""
    fn = snake if to == "snake" else camel

    def walk(node: Any, is_map: bool) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, child in node.items():
                name = str(key) if is_map else fn(str(key))
                out[name] = walk(child, not is_map and snake(str(key)) in MAP_FIELDS)
            return out
        if isinstance(node, list):
            return [walk(item, False) for item in node]
        return node

    return walk(value, False)
