"""Subprocess script (never imported by the emulator): runs a Spark SQL / Hive query file on local Spark SQL.

Usage: ``python sql_driver.py --file queries.sql [--var NAME=VALUE ...] [--continue-on-failure]``.
Statements are split on ``;`` outside quotes; ``${NAME}``, ``${hivevar:NAME}`` and
``${hiveconf:NAME}`` are replaced by ``--var`` values; rows of queries are printed tab-separated
like the ``spark-sql`` shell prints them.
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback

__all__ = ["main", "split_statements"]


def split_statements(text: str) -> list[str]:
    """Split SQL text on semicolons that are outside quotes, dropping ``--`` comment lines and blanks."""
    lines = [line for line in text.splitlines() if not line.strip().startswith("--")]
    text = "\n".join(lines)
    out: list[str] = []
    buf: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == ";":
            out.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    out.append("".join(buf))
    return [s.strip() for s in out if s.strip()]


def _substitute(stmt: str, variables: dict[str, str]) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(2)
        return variables.get(name, match.group(0))

    return re.sub(r"\$\{(hivevar:|hiveconf:)?([A-Za-z_][\w.]*)\}", repl, stmt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", required=True)
    parser.add_argument("--var", action="append", default=[])
    parser.add_argument("--continue-on-failure", action="store_true")
    args = parser.parse_args(argv)
    variables = dict(v.split("=", 1) for v in args.var)

    from pyspark.sql import SparkSession  # only this subprocess imports pyspark

    spark = SparkSession.builder.appName("dataproc-emulator-sql").getOrCreate()
    for key, value in variables.items():
        spark.conf.set(key, value)
    failed = False
    with open(args.file, encoding="utf-8") as handle:
        statements = split_statements(handle.read())
    for stmt in statements:
        stmt = _substitute(stmt, variables)
        try:
            df = spark.sql(stmt)
            if re.match(r"^\s*(select|with|show|describe|desc|explain|values|table)\b", stmt, re.IGNORECASE):
                for row in df.collect():
                    print("\t".join("NULL" if v is None else str(v) for v in row))
        except Exception:  # report the failing statement like the spark-sql shell, then stop or go on
            failed = True
            print(f"Error in statement: {stmt}", file=sys.stderr)
            traceback.print_exc()
            if not args.continue_on_failure:
                spark.stop()
                return 1
    spark.stop()
    return 1 if failed and not args.continue_on_failure else 0


if __name__ == "__main__":
    sys.exit(main())
