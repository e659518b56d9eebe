"""Run-time side of OpenLineage for the Dataproc operators: read the provider's state, inject, and build task facets.

Only the operators call this, from ``execute`` and ``get_openlineage_facets_on_complete``; it imports
the optional ``apache-airflow-providers-openlineage`` (extra ``lineage``) lazily, so neither the
dag processor nor an installation without the extra ever loads it. Every decision is made by the
pure functions of ``dagspec.provider.lineage``; this module only gathers their inputs. Lineage never
fails a task: any error is logged and the job is submitted unchanged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from .compat import conf
from .lineage import Injection, decide_injection, gcs_datasets, parent_properties, spark_section, transport_properties

__all__ = ["injection_for", "inject", "operator_lineage", "openlineage_available", "job_section", "batch_section"]

log = logging.getLogger(__name__)


def openlineage_available() -> bool:
    """The OpenLineage provider is installed, not disabled, and its listener is loaded."""
    try:
        # lazy: the OpenLineage provider is optional, and loads only when lineage is on
        from airflow.providers.openlineage.conf import is_disabled
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
    except ImportError:
        return False
    return not is_disabled() and get_openlineage_listener() is not None


def injection_for(operator_parent: bool | None, operator_transport: bool | None) -> Injection:
    """The operator's switches, or ``[openlineage] spark_inject_parent_job_info`` / ``spark_inject_transport_info``."""
    config_parent = conf.getboolean("openlineage", "spark_inject_parent_job_info", fallback=False)
    config_transport = conf.getboolean("openlineage", "spark_inject_transport_info", fallback=False)

    def decide(available: bool) -> Injection:
        return decide_injection(operator_parent, operator_transport, config_parent=config_parent,
                                config_transport=config_transport, available=available)

    wanted = decide(True)
    return decide(openlineage_available()) if wanted.any else wanted  # the provider is loaded only when asked


def _parent(context: Mapping[str, Any]) -> dict[str, str]:
    # lazy: the OpenLineage provider is optional, and loads only when lineage is on
    from airflow.providers.openlineage.plugins import macros

    ti = context["ti"]
    root_namespace = macros.lineage_root_job_namespace(ti) if hasattr(macros, "lineage_root_job_namespace") else None
    return parent_properties(namespace=macros.lineage_job_namespace(), job_name=macros.lineage_job_name(ti),
                             run_id=macros.lineage_run_id(ti), root_run_id=macros.lineage_root_run_id(ti),
                             root_job_name=macros.lineage_root_job_name(ti), root_namespace=root_namespace)


def _describe(transport: Any) -> dict[str, Any]:
    """The OpenLineage client's transport object as the plain dict ``transport_properties`` reads."""
    kind = getattr(transport, "kind", None)
    if kind == "composite":
        return {"kind": "composite", "continue_on_failure": bool(getattr(transport.config, "continue_on_failure", False)),
                "transports": [{**_describe(t), "name": getattr(t, "name", None)} for t in transport.transports]}
    if kind != "http":
        return {"kind": kind}
    config = transport.config
    compression = getattr(transport, "compression", None)
    return {"kind": "http", "url": transport.url, "endpoint": transport.endpoint, "timeout": transport.timeout,
            "compression": getattr(compression, "value", compression),
            "api_key": getattr(config.auth, "api_key", None),
            "headers": dict(getattr(config, "custom_headers", None) or {})}


def _transport() -> dict[str, str]:
    # lazy: the OpenLineage provider is optional, and loads only when lineage is on
    from airflow.providers.openlineage.plugins.listener import get_openlineage_listener

    client = get_openlineage_listener().adapter.get_or_create_openlineage_client()
    props = transport_properties(_describe(client.transport))
    if not props:
        log.info("OpenLineage transport %r cannot be given to Spark (only http is): no transport injected",
                 getattr(client.transport, "kind", None))
    return props


def inject(apply: Callable[[Any, Any, Any], Any], body: Any, context: Mapping[str, Any],
           operator_parent: bool | None, operator_transport: bool | None) -> Any:
    """``apply(body, parent, transport)`` with what this run injects (``inject_into_job`` etc.), or ``body`` unchanged."""
    try:
        wanted = injection_for(operator_parent, operator_transport)
        if not wanted.any:
            return body
        parent = _parent(context) if wanted.parent else None
        transport = _transport() if wanted.transport else None
        log.info("injecting OpenLineage %s into the Spark properties",
                 " and ".join(n for n, on in (("parent job information", parent), ("transport information", transport))
                              if on) or "nothing")
        return apply(body, parent, transport)
    except Exception as exc:  # lineage must never fail the job
        log.warning("could not inject OpenLineage information, submitting unchanged: %s", exc)
        return body


# -- facets for the Airflow task ---------------------------------------------------------------------
@functools.cache
def _facet_class() -> Any:
    # lazy: the OpenLineage provider is optional, and loads only when lineage is on
    from attr import define, field
    from openlineage.client.generated.base import RunFacet

    @define
    class DataprocRunFacet(RunFacet):
        """The Dataproc work an Airflow task ran: its kind, id, cluster, project, region and console link."""

        resource: str
        resourceId: str  # noqa: N815 - OpenLineage facets are camelCase
        projectId: str | None = field(default=None)  # noqa: N815
        region: str | None = field(default=None)
        clusterName: str | None = field(default=None)  # noqa: N815
        jobType: str | None = field(default=None)  # noqa: N815
        url: str | None = field(default=None)
        steps: dict | None = field(default=None)

        @staticmethod
        def _get_schema() -> str:
            return "https://github.com/dagspec/dagspec/blob/main/provider/DataprocRunFacet.json"

    return DataprocRunFacet


def operator_lineage(*, resource: str, resource_id: str, project_id: str | None, region: str | None,
                     cluster_name: str | None, url: str | None, sections: list[Mapping[str, Any]],
                     job_type: str | None = None, steps: dict | None = None) -> Any:
    """An ``OperatorLineage``: a ``dataproc`` run facet, an ``externalQuery`` facet, and gs:// datasets of ``sections``."""
    # lazy: the OpenLineage provider is optional, and loads only when lineage is on
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import external_query_run

    inputs: list[tuple[str, str]] = []
    outputs: list[tuple[str, str]] = []
    for section in sections:
        ins, outs = gcs_datasets(section)
        inputs += [d for d in ins if d not in inputs]
        outputs += [d for d in outs if d not in outputs]
    facet = _facet_class()(resource=resource, resourceId=resource_id, projectId=project_id, region=region,
                           clusterName=cluster_name, jobType=job_type, url=url, steps=steps)
    return OperatorLineage(
        inputs=[Dataset(namespace=ns, name=name) for ns, name in inputs],
        outputs=[Dataset(namespace=ns, name=name) for ns, name in outputs],
        run_facets={"dataproc": facet,
                    "externalQuery": external_query_run.ExternalQueryRunFacet(externalQueryId=resource_id,
                                                                              source="dataproc")},
    )


def job_section(job: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """(job type, its section) of a Job dict, whatever its type: datasets come from any type."""
    kind = spark_section(job) or next((k for k, v in job.items() if k.endswith(("_job", "Job")) and isinstance(v, Mapping)),
                                      None)
    return kind, (job[kind] if kind else {})


def batch_section(batch: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """(batch type, its section with the runtime properties) of a Batch dict."""
    kind = next((k for k, v in batch.items() if k.endswith(("_batch", "Batch")) and isinstance(v, Mapping)), None)
    runtime = batch.get("runtime_config") or batch.get("runtimeConfig") or {}
    section = dict(batch[kind]) if kind else {}
    section["properties"] = {**(runtime.get("properties") or {}), **(section.get("properties") or {})}
    return kind, section
