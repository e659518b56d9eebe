"""What every dagspec Dataproc operator shares: the run identity, the hook, the deferrable default, ending in the triggerer."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ..compat import BaseOperator, TaskSuccessEvent, conf
from ..hooks.dataproc import DataprocHook
from ..hooks.settings import DEFAULT_CONN_ID

__all__ = ["RunIdentity", "DataprocBaseOperator", "default_deferrable", "ends_in_triggerer"]


def default_deferrable() -> bool:
    """``[dagspec] default_deferrable`` (True unless configured otherwise)."""
    return conf.getboolean("dagspec", "default_deferrable", fallback=True)


def _openlineage_on() -> bool:
    """OpenLineage is installed and not disabled: its complete event, with our facets, is sent by a worker."""
    try:
        # lazy: the OpenLineage provider is optional; its conf module alone is cheap (~8 ms)
        from airflow.providers.openlineage.conf import is_disabled
    except ImportError:
        return False
    return not is_disabled()


def ends_in_triggerer() -> bool:
    """A deferred wait that succeeds ends the task in the triggerer (no worker slot to resume it).

    True where Airflow has ``TaskSuccessEvent`` (2.10+), ``[dagspec] end_from_trigger`` is on (the
    default) and OpenLineage is off (with it on, the task ends on a worker so that the listener sends
    the operator's lineage facets). Failures always resume on a worker.
    """
    if TaskSuccessEvent is None or not conf.getboolean("dagspec", "end_from_trigger", fallback=True):
        return False
    return not _openlineage_on()


@dataclass(frozen=True)
class RunIdentity:
    """The parts of a task instance that names are derived from."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int

    @classmethod
    def of(cls, context: Any) -> RunIdentity:
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        return cls(dag_id=ti.dag_id, run_id=context.get("run_id") or ti.run_id, task_id=ti.task_id,
                   map_index=-1 if map_index is None else int(map_index), try_number=int(getattr(ti, "try_number", 1) or 1))


class DataprocBaseOperator(BaseOperator):
    """Stores placement fields; builds the hook and resolves ``deferrable`` at run time, not in ``__init__``."""

    ui_color = "#e4f0e8"

    def __init__(self, *, project_id: str | None = None, region: str | None = None,
                 gcp_conn_id: str = DEFAULT_CONN_ID, deferrable: bool | None = None, poll_interval: float = 5.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.project_id = project_id
        self.region = region
        self.gcp_conn_id = gcp_conn_id
        self.deferrable = deferrable
        self.poll_interval = poll_interval

    _hook: Any = None

    def hook(self) -> Any:
        hook = self._hook
        if hook is None:
            hook = self._hook = DataprocHook(self.gcp_conn_id, project_id=self.project_id, region=self.region)
        return hook

    def should_defer(self) -> bool:
        return default_deferrable() if self.deferrable is None else bool(self.deferrable)

    def finish_args(self, xcoms: dict[str, Any], **extra: Any) -> dict[str, Any] | None:
        """The trigger's ``finish`` (XComs to push on success, plus what it needs to judge it), or None."""
        if not ends_in_triggerer():
            return None
        return {"xcoms": dict(xcoms), "return_value": bool(self.do_xcom_push), **extra}

    def trigger_args(self) -> dict[str, Any]:
        hook = self.hook()
        return {"project_id": hook.project_id, "region": hook.region, "gcp_conn_id": self.gcp_conn_id,
                "poll_interval": self.poll_interval}

    def sleep(self) -> None:
        time.sleep(self.poll_interval)

    def close_hook(self) -> None:
        hook = self._hook
        if hook is not None:
            hook.close()
            self._hook = None
