"""The local stack: the Dataproc/GCS emulators and Airflow 3 on 127.0.0.1 for `make demo`, `make airflow` and tests."""

from __future__ import annotations

from .config import PASSWORD, USERNAME, StackConfig
from .rest import AirflowClient, ApiError
from .stack import LocalStack, StackError, local_stack

__all__ = ["PASSWORD", "USERNAME", "AirflowClient", "ApiError", "LocalStack", "StackConfig", "StackError", "local_stack"]
