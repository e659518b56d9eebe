"""Checks of the sales pipeline's results, run as the pipeline's last task (read from GCS)."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

log = logging.getLogger(__name__)


def _read_csv(storage: Any, uri: str) -> list[dict[str, str]]:
    """All rows of the CSV part files Spark wrote under ``uri``."""
    bucket, _, prefix = uri.removeprefix("gs://").partition("/")
    rows: list[dict[str, str]] = []
    parts = [b for b in storage.list_blobs(bucket, prefix=prefix) if b.name.rsplit("/", 1)[-1].startswith("part-")]
    if not parts:
        raise ValueError(f"no result files under {uri}")
    for blob in sorted(parts, key=lambda b: b.name):
        rows += list(csv.DictReader(io.StringIO(blob.download_as_text())))
    return rows


def check_results(revenue_uri: str, products_uri: str, expected_regions: list[str]) -> dict[str, Any]:
    """Fail unless every region has revenue and both aggregates agree on the total."""
    from dagspec.provider.hooks.dataproc import DataprocHook

    hook = DataprocHook()
    regions = _read_csv(hook.storage, revenue_uri)
    products = _read_csv(hook.storage, products_uri)
    by_region = {r["region"]: float(r["revenue"]) for r in regions}
    if sorted(by_region) != sorted(expected_regions):
        raise ValueError(f"regions {sorted(by_region)} != expected {sorted(expected_regions)}")
    if any(v <= 0 for v in by_region.values()):
        raise ValueError(f"a region has no revenue: {by_region}")
    total_regions = round(sum(by_region.values()), 2)
    total_products = round(sum(float(p["revenue"]) for p in products), 2)
    if abs(total_regions - total_products) > 0.01:
        raise ValueError(f"totals disagree: regions {total_regions} vs products {total_products}")
    summary = {"orders": sum(int(r["orders"]) for r in regions), "revenue": total_regions,
               "by_region": by_region, "top_product": products[0]["product"]}
    log.info("sales results OK: %s", summary)
    return summary
