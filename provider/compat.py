"""The Airflow names the provider uses (operators, hooks, links, triggers) that moved between Airflow lines: import them here.

Like the ``version_compat`` modules of Airflow's own providers: one place decides, from the installed
Airflow's line, where each name comes from; the rest of the provider imports it from here.
"""

from __future__ import annotations

from airflow import __version__ as _airflow_version
from airflow.triggers.base import BaseTrigger, TriggerEvent  # the same module on every line

try:  # an event that ends the task in the triggerer (Airflow 2.10+); None: every deferral resumes on a worker
    from airflow.triggers.base import TaskSuccessEvent
except ImportError:  # pragma: no cover - lines before 2.10
    TaskSuccessEvent = None  # type: ignore[assignment,misc]

__all__ = ["AIRFLOW_LINE", "AIRFLOW_V_3_PLUS", "AIRFLOW_V_3_2_PLUS", "AirflowNotFoundException", "BaseHook",
           "BaseOperator", "BaseOperatorLink", "BaseTrigger", "TaskDeferralError", "TaskDeferralTimeout",
           "TaskDeferred", "TaskSuccessEvent", "TriggerEvent", "base_xcom", "conf"]

AIRFLOW_LINE: tuple[int, int] = tuple(int(part) for part in _airflow_version.split(".")[:2])  # type: ignore[assignment]
AIRFLOW_V_3_PLUS = AIRFLOW_LINE >= (3, 0)
AIRFLOW_V_3_2_PLUS = AIRFLOW_LINE >= (3, 2)

if AIRFLOW_V_3_2_PLUS:  # the Task SDK owns its exceptions and configuration from 3.2 on
    from airflow.sdk.configuration import conf
    from airflow.sdk.exceptions import AirflowNotFoundException, TaskDeferralError, TaskDeferralTimeout, TaskDeferred
elif AIRFLOW_V_3_PLUS:
    from airflow.configuration import conf  # type: ignore[no-redef]
    from airflow.exceptions import (  # type: ignore[no-redef,assignment]
        AirflowNotFoundException,
        TaskDeferralError,
        TaskDeferralTimeout,
        TaskDeferred,
    )
else:  # Airflow 2 fails a timed-out deferral with TaskDeferralError("Trigger/execution timeout")
    from airflow.configuration import conf  # type: ignore[no-redef]
    from airflow.exceptions import AirflowNotFoundException, TaskDeferralError, TaskDeferred  # type: ignore[no-redef,assignment]

    TaskDeferralTimeout = TaskDeferralError  # type: ignore[misc,assignment]

if AIRFLOW_V_3_PLUS:
    from airflow.sdk import BaseHook, BaseOperator, BaseOperatorLink
else:
    from airflow.hooks.base import BaseHook  # type: ignore
    from airflow.models.baseoperator import BaseOperator  # type: ignore
    from airflow.models.baseoperatorlink import BaseOperatorLink  # type: ignore


def base_xcom() -> type:
    """Airflow's XCom class (imported on use: only a link's ``get_link`` in the API server needs it)."""
    if AIRFLOW_V_3_PLUS:
        from airflow.sdk.bases.xcom import BaseXCom
    else:
        from airflow.models.xcom import BaseXCom  # type: ignore[no-redef]
    return BaseXCom
