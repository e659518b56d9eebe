"""Error mapping by exception class, and the pure file-field rules of job bodies."""

from __future__ import annotations

import pytest
from dagspec.provider import errors
from dagspec.provider.files import is_local, parse_gs_uri, rewrite_files, staged_object
from google.api_core import exceptions as g
from google.auth import exceptions as auth


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (g.NotFound("x"), errors.NotFound),
        (g.AlreadyExists("x"), errors.AlreadyExists),
        (g.FailedPrecondition("x"), errors.PreconditionFailed),
        (g.Conflict("x"), errors.PreconditionFailed),
        (g.InvalidArgument("x"), errors.InvalidRequest),
        (g.BadRequest("x"), errors.InvalidRequest),
        (g.PermissionDenied("x"), errors.PermissionDenied),
        (g.Unauthenticated("x"), errors.PermissionDenied),
        (g.ServiceUnavailable("x"), errors.TransientError),
        (g.DeadlineExceeded("x"), errors.TransientError),
        (g.ResourceExhausted("x"), errors.TransientError),
        (g.InternalServerError("x"), errors.TransientError),
        (g.Aborted("x"), errors.TransientError),
        (g.RetryError("gave up", cause=None), errors.TransientError),
        (g.MethodNotImplemented("x"), errors.InvalidRequest),
        (auth.DefaultCredentialsError("no ADC"), errors.ConfigurationError),
        (auth.RefreshError("expired"), errors.PermissionDenied),
        (ConnectionResetError("reset"), errors.TransientError),
        (ValueError("odd"), errors.TerminalError),
    ],
)
def test_google_errors_map_by_class(exc: BaseException, expected: type) -> None:
    mapped = errors.map_google_error(exc)
    assert type(mapped) is expected
    assert isinstance(mapped, errors.DataprocError)
    assert isinstance(mapped, errors.TransientError) != isinstance(mapped, errors.TerminalError)


def test_job_failed_carries_tail_and_link() -> None:
    exc = errors.JobFailed("job j ended in ERROR", output_tail="Traceback ...", link="https://console/x")
    assert "Traceback" in str(exc) and "https://console/x" in str(exc) and exc.state == "ERROR"


@pytest.mark.parametrize(
    ("uri", "local"),
    [("jobs/clean.py", True), ("/abs/x.py", True), ("gs://b/x.py", False), ("file:///usr/lib/x.jar", False),
     ("hdfs:///x", False), ("s3a://b/x", False), ("", False), ("C.py", True)],
)
def test_is_local(uri: str, local: bool) -> None:
    assert is_local(uri) is local


def test_rewrite_touches_only_local_file_fields() -> None:
    body = {"pyspark_job": {"main_python_file_uri": "a.py", "python_file_uris": ["gs://b/lib.zip", "lib2.py"],
                            "args": ["a.py"], "properties": {"spark.x": "a.py"}},
            "spark_sql_batch": {"query_file_uri": "q.sql"}}
    out = rewrite_files(body, lambda u: f"gs://s/{u}")
    assert out["pyspark_job"]["main_python_file_uri"] == "gs://s/a.py"
    assert out["pyspark_job"]["python_file_uris"] == ["gs://b/lib.zip", "gs://s/lib2.py"]
    assert out["pyspark_job"]["args"] == ["a.py"] and out["pyspark_job"]["properties"] == {"spark.x": "a.py"}
    assert out["spark_sql_batch"]["query_file_uri"] == "gs://s/q.sql"
    assert body["pyspark_job"]["main_python_file_uri"] == "a.py"  # input untouched


def test_gs_uris() -> None:
    assert parse_gs_uri("gs://bucket/a/b/") == ("bucket", "a/b")
    assert staged_object("gs://bucket", "abc", "x.py") == ("bucket", "abc/x.py")
    assert staged_object("gs://bucket/pre/", "abc", "x.py") == ("bucket", "pre/abc/x.py")
    with pytest.raises(ValueError):
        parse_gs_uri("/local")
