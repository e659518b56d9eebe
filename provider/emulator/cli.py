"""``dagspec emulator``: run the local Dataproc and GCS emulators in the foreground until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

__all__ = ["build_parser", "main"]

_EPILOG = """\
examples:
  dagspec emulator                         # random free ports, real local Spark for jobs
  dagspec emulator --port 8123 --gcs-port 9023 --no-spark   # fixed ports, jobs not run
  dagspec emulator --delay-scale 20        # slow motion: a cluster takes ~2 s to create

The first lines printed are shell exports; in another shell run them, then use the real clients:
  export DATAPROC_EMULATOR_HOST=127.0.0.1:8123
  export STORAGE_EMULATOR_HOST=http://127.0.0.1:9023
google-cloud-storage honours STORAGE_EMULATOR_HOST by itself. For google-cloud-dataproc build the
client on an insecure channel (no credentials needed):
  transport = ClusterControllerGrpcTransport(channel=grpc.insecure_channel(host))
  client = ClusterControllerClient(transport=transport)
Do not pass api_endpoint with the default transport: it opens TLS and retries for minutes.
The admin URL (fault injection, counters, virtual clock) is printed as a comment line.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagspec emulator",
        description="Run a local Google Cloud Dataproc API (gRPC v1) and a GCS emulator on 127.0.0.1. "
                    "Clusters, jobs, workflow templates and batches follow Dataproc's state machines; "
                    "PySpark, Spark and Spark SQL jobs really run on a local Spark.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, metavar="P",
                        help="Dataproc gRPC port (default: 0, a free port)")
    parser.add_argument("--gcs-port", type=int, default=0, metavar="G",
                        help="GCS emulator port (default: 0, a free port)")
    parser.add_argument("--admin-port", type=int, default=0, metavar="A",
                        help="admin HTTP JSON port for fault injection and counters (default: a free port)")
    parser.add_argument("--project", default="local-project", help="default project id (default: %(default)s)")
    parser.add_argument("--delay-scale", type=float, default=1.0, metavar="X",
                        help="multiply every state-transition delay; defaults take ~0.1 s (default: %(default)s)")
    parser.add_argument("--time-scale", type=float, default=1.0, metavar="T",
                        help="run the virtual clock for lifecycle TTLs T times faster (default: %(default)s)")
    parser.add_argument("--gcs-data-dir", metavar="DIR",
                        help="keep GCS objects in DIR instead of memory")
    parser.add_argument("--no-spark", action="store_true",
                        help="do not run jobs: supported jobs end DONE at once (no Java or pyspark needed)")
    parser.add_argument("--strict-buckets", action="store_true",
                        help="fail jobs that write to a bucket that does not exist, as Dataproc does "
                             "(default: create it and warn in the driver output)")
    parser.add_argument("--job-slots", type=int, default=1, metavar="N",
                        help="local Spark jobs allowed to run at once (default: %(default)s)")
    parser.add_argument("--request-id-retention", type=float, default=3600.0, metavar="S",
                        help="virtual seconds a request_id replays its first result (default: %(default)s, the "
                             "shortest retention Google APIs document)")
    parser.add_argument("--workflow-replay", choices=("retained", "concurrent"), default="retained",
                        help="'concurrent': a workflow request_id only replays while that workflow runs, all that "
                             "Dataproc documents (default: %(default)s, replay for the whole retention)")
    parser.add_argument("--warm-spark", type=int, nargs="?", const=1, default=0, metavar="N",
                        help="keep N (default 1) Spark drivers started ahead for each RUNNING cluster: PySpark and "
                             "SQL jobs skip the JVM start (costs N idle JVMs per cluster)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log emulator activity to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Start the emulators, print the export lines, serve until SIGTERM/SIGINT; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # lazy: `--help` and bad arguments never load gRPC
    from .control import Delays
    from .server import start_emulators

    try:
        emu = start_emulators(
            dataproc_port=args.port, gcs_port=args.gcs_port, project=args.project,
            delays=Delays().scaled(args.delay_scale), spark=not args.no_spark, admin_port=args.admin_port,
            gcs_data_dir=args.gcs_data_dir, time_scale=args.time_scale, job_slots=args.job_slots,
            strict_buckets=args.strict_buckets, request_id_retention=args.request_id_retention,
            workflow_replay=args.workflow_replay,
            warm_spark=args.warm_spark,
        )
    except OSError as exc:
        print(f"dagspec emulator: cannot start: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for key, value in emu.env().items():
            print(f"export {key}={value}")
        print(f"# admin: {emu.admin_url}  (GET /stats, POST /faults/fail-method, POST /clock/advance)")
        print(f"# project: {emu.project}; spark: {'off' if args.no_spark else 'on'}; stop with Ctrl-C or SIGTERM")
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    finally:
        emu.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
