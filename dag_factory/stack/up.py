"""`dagspec up` / `make airflow`: the local stack kept running to browse the UI, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..airflow.importer_default import ImporterModeError
from .config import PASSWORD, USERNAME, StackConfig
from .processes import stop_signals
from .rest import ApiError
from .stack import LocalStack, StackError, local_stack
from .topology import EXECUTORS

__all__ = ["add_arguments", "build_parser", "main", "run"]

DESCRIPTION = ("Start Airflow 3 (api-server, scheduler, dag-processor, triggerer; SQLite, LocalExecutor; or with "
               "--executor celery: Postgres, Redis, two Celery workers and two schedulers) and the "
               "Dataproc + GCS emulators on 127.0.0.1 with DAGS as the dag_folder, and keep them running to use the "
               "UI. Dataproc work of any spec goes to the emulators. Ctrl-C stops everything.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dags", type=Path, default=Path("dags"), help="the dag_folder (default: %(default)s)")
    p.add_argument("--home", type=Path, default=Path(".dagspec/airflow"),
                   help="AIRFLOW_HOME: metadata DB, logs (default: %(default)s)")
    p.add_argument("--port", type=int, default=8080, help="UI/API port on 127.0.0.1 (default: %(default)s)")
    p.add_argument("--cold-spark", action="store_true",
                   help="start a fresh JVM for every Spark job (default: a warm Spark driver per cluster)")
    p.add_argument("--warm-spark", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old scripts
    p.add_argument("--fresh", action="store_true", help="forget earlier runs: start from an empty metadata DB")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local: one machine (LocalExecutor, SQLite); celery: a distributed Airflow (CeleryExecutor, "
                        "Postgres, Redis, two workers, two schedulers; needs the celery extra and Debian's "
                        "postgresql and redis-server) (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dagspec up", description=DESCRIPTION)
    add_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Start the stack, print where to go, wait for Ctrl-C; 1 if it cannot start or a process dies."""
    dags = args.dags.resolve()
    config = StackConfig(home=args.home.resolve(), dags_folder=dags, api_port=args.port, executor=args.executor,
                         warm_spark=not args.cold_spark)
    try:
        importer = config.parse_path().importer  # dagspec's importer needs no loader file in the folder
    except ImporterModeError as exc:
        print(f"dagspec up: {exc}", file=sys.stderr)
        return 2
    if not importer and not (dags / "dagspec_loader.py").exists():
        print(f"dagspec up: {dags} is not a dagspec dag_folder (no dagspec_loader.py); pass --dags, or set it up "
              f"with `dagspec init {args.dags}`", file=sys.stderr)
        return 2
    say = lambda m: print(f"dagspec up: {m}", flush=True)  # noqa: E731
    try:
        with stop_signals(), local_stack(config, fresh=args.fresh, say=say) as stack:
            print(f"\n  Airflow UI   {stack.api_url}   (login {USERNAME} / {PASSWORD})\n"
                  f"  dag_folder   {dags}\n"
                  f"  emulators    {'  '.join(f'{k}={v}' for k, v in stack.emulator_env.items())}\n"
                  f"  admin stats  {stack.admin_url}/stats\n"
                  f"  executor     {config.executor}: {', '.join(stack.children)}\n"
                  f"  logs         {config.logs}/\n\n  Ctrl-C stops everything.\n", flush=True)
            _report_first_parse(stack)
            while True:
                stack.check()
                time.sleep(1)
    except StackError as exc:
        print(f"dagspec up: {exc.details()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndagspec up: stopped", flush=True)
        return 0


def _report_first_parse(stack: LocalStack, timeout: float = 120.0) -> None:
    """Say how many DAGs and import errors the dag-processor's first parse found (or that it is still parsing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check()
        try:
            dags, errors = stack.client.dags(), stack.client.import_errors()
        except ApiError:
            dags, errors = {}, []
        if dags or errors:
            print(f"dagspec up: {len(dags)} DAG(s) loaded, {len(errors)} import error(s)"
                  + "".join(f"\n    import error: {e.get('filename')}" for e in errors), flush=True)
            return
        time.sleep(1)
    print(f"dagspec up: no DAG loaded after {timeout:.0f}s; see {stack.log('dag-processor')}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
