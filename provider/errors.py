"""The provider's typed error tree, and the one place Google API errors are mapped into it.

::

    DataprocError                    every error this provider raises
    ├── TransientError               worth retrying as is (UNAVAILABLE, DEADLINE_EXCEEDED, 429, 5xx, network)
    └── TerminalError                retrying the same request will not help
        ├── NotFound                 the resource does not exist
        ├── AlreadyExists            a resource with that id exists
        ├── PreconditionFailed       wrong state for the request (FAILED_PRECONDITION, 409, 412, uuid mismatch)
        ├── InvalidRequest           the request itself is wrong (INVALID_ARGUMENT, 400, OUT_OF_RANGE)
        ├── PermissionDenied         credentials lack a permission or are invalid
        ├── ConfigurationError       the connection or the operator arguments are unusable
        ├── ClusterFailed            the cluster cannot be used (ERROR with policy fail, not ours, ...)
        └── JobFailed                a job or batch ended in ERROR / CANCELLED (carries the driver output tail)

``map_google_error`` turns an exception from google-api-core / google-auth / the transport into
one of these by its class (never by its message); the hook calls it, nothing else does.
"""

from __future__ import annotations

__all__ = [
    "DataprocError",
    "TransientError",
    "TerminalError",
    "NotFound",
    "AlreadyExists",
    "PreconditionFailed",
    "InvalidRequest",
    "PermissionDenied",
    "ConfigurationError",
    "ClusterFailed",
    "JobFailed",
    "map_google_error",
]


class DataprocError(Exception):
    """Root of every error raised by the dagspec provider."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class TransientError(DataprocError):
    """A failure that may succeed when the same (idempotent) request is sent again."""


class TerminalError(DataprocError):
    """A failure that the same request will hit again."""


class NotFound(TerminalError):
    """The resource does not exist."""


class AlreadyExists(TerminalError):
    """A resource with this identity already exists."""


class PreconditionFailed(TerminalError):
    """The resource is not in a state that allows the request."""


class InvalidRequest(TerminalError):
    """The request is malformed or has invalid values."""


class PermissionDenied(TerminalError):
    """The caller is not authenticated or not allowed."""


class ConfigurationError(TerminalError):
    """The connection or the operator arguments cannot be used."""


class ClusterFailed(TerminalError):
    """The cluster cannot be used for this run."""


class JobFailed(TerminalError):
    """A Dataproc job or batch finished unsuccessfully."""

    def __init__(self, message: str, *, state: str = "ERROR", output_tail: str = "", link: str | None = None) -> None:
        parts = [message]
        if link:
            parts.append(f"Console: {link}")
        if output_tail:
            parts.append("Driver output (tail):\n" + output_tail)
        super().__init__("\n".join(parts), code=state)
        self.state = state
        self.output_tail = output_tail
        self.link = link


def _table() -> list[tuple[type[BaseException], type[DataprocError]]]:
    """Ordered (google class, our class) pairs: the first isinstance match wins."""
    # lazy: the operators import this module at DAG parse time
    from google.api_core import exceptions as g

    pairs: list[tuple[type[BaseException], type[DataprocError]]] = [
        (g.NotFound, NotFound),
        (g.AlreadyExists, AlreadyExists),
        (g.Aborted, TransientError),
        (g.FailedPrecondition, PreconditionFailed),
        (g.PreconditionFailed, PreconditionFailed),
        (g.Conflict, PreconditionFailed),
        (g.BadRequest, InvalidRequest),
        (g.Unauthorized, PermissionDenied),
        (g.Forbidden, PermissionDenied),
        (g.TooManyRequests, TransientError),
        (g.MethodNotImplemented, InvalidRequest),
        (g.DataLoss, TerminalError),
        (g.ServerError, TransientError),
        (g.RetryError, TransientError),
        (g.Cancelled, TransientError),
        (g.ClientError, TerminalError),
        (g.GoogleAPIError, TerminalError),
    ]
    try:
        # lazy: the operators import this module at DAG parse time
        from google.auth import exceptions as auth

        pairs.insert(0, (auth.DefaultCredentialsError, ConfigurationError))
        pairs.insert(1, (auth.TransportError, TransientError))
        pairs.insert(2, (auth.RefreshError, PermissionDenied))
    except ImportError:  # pragma: no cover - google-auth ships with google-api-core
        pass
    try:
        # lazy: the operators import this module at DAG parse time
        import requests

        pairs.append((requests.ConnectionError, TransientError))
        pairs.append((requests.Timeout, TransientError))
    except ImportError:  # pragma: no cover
        pass
    pairs.append((ConnectionError, TransientError))
    pairs.append((TimeoutError, TransientError))
    return pairs


def map_google_error(exc: BaseException) -> DataprocError:
    """Translate one client-library exception into the provider's tree (by class, never by text)."""
    if isinstance(exc, DataprocError):
        return exc
    for source, target in _table():
        if isinstance(exc, source):
            code = getattr(exc, "grpc_status_code", None)
            name = getattr(code, "name", None) or type(exc).__name__
            return target(f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}", code=name)
    return TerminalError(f"{type(exc).__name__}: {exc}", code=type(exc).__name__)
