"""`make demo`: start the local stack, run the flagship sales pipeline through Airflow's REST API, print a report, stop.

Run as ``python -m dagspec.dag_factory.stack.demo``. Exit 0 when the run succeeded and the cluster was
deleted, 1 otherwise (with the reason and the tail of the relevant log), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .config import PASSWORD, USERNAME, StackConfig
from .processes import stop_signals
from .report import fmt_seconds, format_report, gather
from .rest import ApiError
from .runs import run_dag
from .stack import StackError, local_stack
from .topology import EXECUTORS

__all__ = ["main", "build_parser", "FLAGSHIP"]

FLAGSHIP = "sales_pipeline"
RESULTS = {"revenue_by_region": "sales/out/revenue_by_region/", "top_products": "sales/out/top_products/"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dagspec.dag_factory.stack.demo",
                                description="Run the flagship sales pipeline end to end on a local Airflow 3 with the "
                                            "Dataproc and GCS emulators (no Google account), print a report, stop.")
    p.add_argument("--dags", type=Path, default=Path("dags"), help="the dag_folder (default: %(default)s)")
    p.add_argument("--home", type=Path, default=Path(".dagspec/demo"),
                   help="AIRFLOW_HOME of the demo; emptied first (default: %(default)s)")
    p.add_argument("--port", type=int, default=0, help="api-server port on 127.0.0.1 (default: a free port)")
    p.add_argument("--dag-id", default=FLAGSHIP, help="the DAG to run (default: %(default)s)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local (LocalExecutor, SQLite) or celery (CeleryExecutor, Postgres, Redis, two workers, "
                        "two schedulers) (default: %(default)s)")
    p.add_argument("--cold-spark", action="store_true",
                   help="start a fresh JVM for every Spark job (default: a warm Spark driver per cluster)")
    p.add_argument("--warm-spark", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old scripts
    p.add_argument("--timeout", type=float, default=900, help="seconds the run may take (default: %(default)s)")
    return p


class _Clock:
    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {message}", flush=True)




def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    dags = args.dags.resolve()
    if not (dags / "dagspec_loader.py").exists():
        print(f"demo: {dags} is not a dagspec dag_folder (no dagspec_loader.py); run from the repository root "
              "or pass --dags", file=sys.stderr)
        return 2
    config = StackConfig(home=args.home.resolve(), dags_folder=dags, api_port=args.port, executor=args.executor,
                         warm_spark=not args.cold_spark)
    clock = _Clock()
    print(f"dagspec demo: {args.dag_id} on a local Airflow 3 + Dataproc/GCS emulators, all on 127.0.0.1\n"
          f"  home {config.home}   process logs {config.logs}/", flush=True)
    try:
        with stop_signals(), local_stack(config, fresh=True, say=clock.say) as stack:
            started_in = time.monotonic() - clock.t0
            clock.say(f"Airflow is up: {stack.api_url} (login {USERNAME} / {PASSWORD})")
            dags_seen = stack.wait_for_dags([args.dag_id])
            errors = stack.client.import_errors()
            clock.say(f"the dag-processor loaded {len(dags_seen)} DAGs ({', '.join(sorted(dags_seen))}); "
                      f"{len(errors)} import error(s)")
            for error in errors:
                print(f"    import error in {error.get('filename')}", flush=True)
            clock.say(f"unpausing and triggering {args.dag_id} through the REST API")
            result = run_dag(stack, args.dag_id, timeout=args.timeout,
                             on_change=lambda task, state: clock.say(f"  {task:<22} {state}"))
            clock.say(f"run {result.run_id} finished: {result.state}")
            report = gather(stack, result, RESULTS if args.dag_id == FLAGSHIP else None)
            wall = time.monotonic() - clock.t0
            print("\n" + format_report(report, wall, started_in), flush=True)
            failures = _failures(result.state, report.stats)
            clock.say("stopping the stack")
    except StackError as exc:
        print(f"\ndemo FAILED: {exc.details()}", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"\ndemo FAILED: the Airflow API answered {exc}; see the logs under {config.logs}/", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted: everything it started is stopped", file=sys.stderr)
        return 130
    if failures:
        print(f"\ndemo FAILED: {'; '.join(failures)}", file=sys.stderr)
        return 1
    print(f"demo OK in {fmt_seconds(time.monotonic() - clock.t0)}: everything it started is stopped", flush=True)
    return 0


def _failures(state: str, stats: dict) -> list[str]:
    problems = [] if state == "success" else [f"the run ended {state}"]
    created, deleted = stats.get("clusters_created", {}), stats.get("clusters_deleted", {})
    left = sorted(set(created) - set(deleted))
    if left:
        problems.append(f"cluster(s) not deleted: {', '.join(left)}")
    return problems


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
