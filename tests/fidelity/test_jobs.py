"""Jobs: ids unique within the project (not only the region); Spark jobs report their YARN application."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc
from google.cloud import dataproc_v1 as d

from .kit import OTHER_REGION, PROJECT, REGION, cluster, light_job, unique, wait_job


def test_a_job_id_is_unique_within_the_project_across_regions(emu, emulator_clients, fast_polling, running):
    # JobReference.job_id (types/jobs.py): "Optional. The job ID, which must be unique within the project."
    # REST: https://cloud.google.com/dataproc/docs/reference/rest/v1/JobReference
    elsewhere = cluster(emulator_clients, fast_polling, region=OTHER_REGION)
    job_id = unique("same-id")
    first = light_job(emulator_clients, running, reference={"job_id": job_id})
    emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION, "job": first})
    second = light_job(emulator_clients, elsewhere, reference={"job_id": job_id})
    with pytest.raises(gexc.AlreadyExists):
        emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": OTHER_REGION, "job": second})
    with pytest.raises(gexc.NotFound):  # a job still lives in its region: nothing was created in the other one
        emulator_clients.jobs.get_job(project_id=PROJECT, region=OTHER_REGION, job_id=job_id)
    assert wait_job(emulator_clients, job_id, region=REGION).status.state == d.JobStatus.State.DONE
    emulator_clients.clusters.delete_cluster(request={"project_id": PROJECT, "region": OTHER_REGION,
                                                      "cluster_name": elsewhere.cluster_name}).result(polling=fast_polling)


def test_a_spark_job_reports_its_yarn_application(emu, emulator_clients, running):
    # Job.yarn_applications (types/jobs.py): "Output only. The collection of YARN applications spun up by this
    # job"; YarnApplication: name, state (... RUNNING, FINISHED, FAILED, KILLED), progress (0 to 1), tracking_url.
    ok = emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION,
                                                   "job": light_job(emulator_clients, running)})
    bad = emulator_clients.jobs.submit_job(request={"project_id": PROJECT, "region": REGION, "job": light_job(
        emulator_clients, running, "raise SystemExit('boom')\n")})
    done, failed = (wait_job(emulator_clients, ok.reference.job_id, region=REGION),
                    wait_job(emulator_clients, bad.reference.job_id, region=REGION))
    (app,) = done.yarn_applications
    assert app.state == d.YarnApplication.State.FINISHED and app.progress == 1.0
    assert app.name and app.tracking_url.startswith(f"http://{running.cluster_name}-m:8088/proxy/application_")
    (lost,) = failed.yarn_applications
    assert lost.state == d.YarnApplication.State.FAILED
    assert app.tracking_url != lost.tracking_url  # one application per run
