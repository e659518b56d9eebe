"""The Airflow names the builder and the loader use that live elsewhere on older Airflow lines: import them from here only.

dagspec supports Airflow 3.1 to 3.4 (and maps to 2.11 where it can). Each name below is looked up in
a table of (first Airflow line, module) pairs and imported on first use (``from .compat import DAG``
calls the module's ``__getattr__``), so importing this module costs nothing: the loader keeps its
cheap import path, and the installed Airflow's version is read from its ``__init__.py``, not by
importing ``airflow``.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import TYPE_CHECKING, Any

__all__ = ["AIRFLOW_LINE", "AIRFLOW_V_3_PLUS", "AIRFLOW_V_3_2_PLUS", "DAGBAG_MODULE", "airflow_line",
           "DAG", "Asset", "Param", "TaskGroup", "XComArg", "task_group", "BaseOperator", "AirflowFailException",
           "conf", "get_parsing_context", "find_path_from_directory", "DagBag", "sync_bag_to_db", "BundleDagBag",
           "DagSerialization", "make_asset", "bag_bundle", "bundle_dagbag", "BaseNotifier", "AssetAll", "AssetAny",
           "MappedOperator", "MappedTaskGroup"]


def airflow_line() -> tuple[int, int]:
    """The installed Airflow's (major, minor), read from ``airflow/__init__.py``'s ``__version__`` line without
    importing ``airflow`` (which sets Airflow up) or scanning distribution metadata (slow in a large environment).
    When Airflow is already imported (a DagBag is running: the loader's case), its ``__version__`` is read
    instead, which spares a worker's parse the file read and the regular expression."""
    loaded = getattr(sys.modules.get("airflow"), "__version__", None)
    if isinstance(loaded, str):
        major, _, rest = loaded.partition(".")
        minor = rest.partition(".")[0]
        if major.isdigit() and minor.isdigit():
            return int(major), int(minor)
    from .importer_default import installed_airflow_version  # lazy: only where Airflow is not imported yet

    text = installed_airflow_version()
    version = re.match(r"(\d+)\.(\d+)", text or "")
    if version is None:
        raise RuntimeError("dagspec needs Airflow: " + ("the airflow package is not installed" if text is None
                                                          else f"cannot read a version from {text!r}"))
    return int(version.group(1)), int(version.group(2))


AIRFLOW_LINE = airflow_line()
AIRFLOW_V_3_PLUS = AIRFLOW_LINE >= (3, 0)
AIRFLOW_V_3_2_PLUS = AIRFLOW_LINE >= (3, 2)

# name -> ((first line, "module" or "module:name there"), ...), newest first; the first entry whose line is installed wins
_V3, _V3_2, _ANY = (3, 0), (3, 2), (0, 0)
_WHERE: dict[str, tuple[tuple[tuple[int, int], str], ...]] = {
    "DAG": ((_V3, "airflow.sdk"), (_ANY, "airflow.models.dag")),
    "Asset": ((_V3, "airflow.sdk"), (_ANY, "airflow.datasets:Dataset")),
    "Param": ((_V3, "airflow.sdk"), (_ANY, "airflow.models.param")),
    "TaskGroup": ((_V3, "airflow.sdk"), (_ANY, "airflow.utils.task_group")),
    "XComArg": ((_V3, "airflow.sdk"), (_ANY, "airflow.models.xcom_arg")),
    "task_group": ((_V3, "airflow.sdk"), (_ANY, "airflow.decorators")),
    "BaseOperator": ((_V3, "airflow.sdk"), (_ANY, "airflow.models.baseoperator")),
    "get_parsing_context": ((_V3, "airflow.sdk"), (_ANY, "airflow.utils.dag_parsing_context")),
    "AirflowFailException": ((_V3_2, "airflow.sdk.exceptions"), (_ANY, "airflow.exceptions")),
    "conf": ((_V3_2, "airflow.sdk"), (_ANY, "airflow.configuration")),
    "find_path_from_directory": ((_V3_2, "airflow.sdk._shared.module_loading.file_discovery"),
                                 (_ANY, "airflow.utils.file")),
    "DagBag": ((_V3_2, "airflow.dag_processing.dagbag"), (_ANY, "airflow.models.dagbag")),
    "sync_bag_to_db": ((_V3_2, "airflow.dag_processing.dagbag"), (_V3, "airflow.models.dagbag")),
    "BundleDagBag": ((_V3_2, "airflow.dag_processing.dagbag"), (_V3, "airflow.models.dagbag")),
    # what the builder makes, as the tests check it
    "BaseNotifier": ((_V3, "airflow.sdk"), (_ANY, "airflow.notifications.basenotifier")),
    "AssetAll": ((_V3, "airflow.sdk.definitions.asset"), (_ANY, "airflow.datasets:DatasetAll")),
    "AssetAny": ((_V3, "airflow.sdk.definitions.asset"), (_ANY, "airflow.datasets:DatasetAny")),
    "MappedOperator": ((_V3, "airflow.sdk.definitions.mappedoperator"), (_ANY, "airflow.models.mappedoperator")),
    "MappedTaskGroup": ((_V3, "airflow.sdk.definitions.taskgroup"), (_ANY, "airflow.utils.task_group")),
    "DagSerialization": ((_V3_2, "airflow.serialization.serialized_objects"),
                         (_ANY, "airflow.serialization.serialized_objects:SerializedDAG")),
}


def _module_for(name: str) -> str:
    for since, module in _WHERE[name]:
        if AIRFLOW_LINE >= since:
            return module
    raise ImportError(f"{name} does not exist on Airflow {AIRFLOW_LINE[0]}.{AIRFLOW_LINE[1]}")


# The module the installed Airflow's DagBag lives in: the loader looks for it in sys.modules without importing it.
DAGBAG_MODULE = _module_for("DagBag").partition(":")[0]


def make_asset(uri: str | None, name: str | None) -> Any:
    """An asset by URI and/or name; on Airflow 2 a Dataset, which has only a URI (a name alone cannot be one)."""
    asset = __getattr__("Asset")
    if AIRFLOW_V_3_PLUS:
        return asset(**{k: v for k, v in (("name", name), ("uri", uri)) if v is not None})
    if uri is None:
        raise ValueError(f"asset `{name}` has only a name: Airflow {AIRFLOW_LINE[0]}.{AIRFLOW_LINE[1]}'s datasets need a `uri`")
    return asset(uri)


def bag_bundle(bag: Any) -> Any:
    """The bundle folder a DagBag parses (None on Airflow 2, which has no DAG bundles)."""
    return getattr(bag, "bundle_path", None)


def bundle_dagbag(dag_folder: Any, bundle_path: Any, bundle_name: str = "dags-folder", **kwargs: Any) -> Any:
    """The DagBag of one bundle as the dag processor makes it (Airflow 3.1's has no ``bundle_name``; Airflow 2
    has no bundles: its plain DagBag of the folder)."""
    if not AIRFLOW_V_3_PLUS:
        return __getattr__("DagBag")(dag_folder=dag_folder, **kwargs)
    cls = __getattr__("BundleDagBag")
    if AIRFLOW_V_3_2_PLUS:
        kwargs["bundle_name"] = bundle_name
    return cls(dag_folder=dag_folder, bundle_path=bundle_path, **kwargs)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, _, spelled = _module_for(name).partition(":")
    value = getattr(importlib.import_module(module), spelled or name)
    globals()[name] = value  # later lookups skip this function
    return value


if TYPE_CHECKING:  # the names as the newest line spells them, for type checkers
    from airflow.dag_processing.dagbag import BundleDagBag, DagBag, sync_bag_to_db
    from airflow.sdk import (
        DAG,
        Asset,
        BaseNotifier,
        BaseOperator,
        Param,
        TaskGroup,
        XComArg,
        conf,
        get_parsing_context,
        task_group,
    )
    from airflow.sdk._shared.module_loading.file_discovery import find_path_from_directory
    from airflow.sdk.definitions.asset import AssetAll, AssetAny
    from airflow.sdk.definitions.mappedoperator import MappedOperator
    from airflow.sdk.definitions.taskgroup import MappedTaskGroup
    from airflow.sdk.exceptions import AirflowFailException
    from airflow.serialization.serialized_objects import DagSerialization
