"""The Airflow UI of the local stack in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright):
login, the example DAGs, the broken spec's import error with its line, the flagship's graph with the cluster
setup/teardown around the jobs, the Dataproc job link and the driver output in the task log.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import importlib.util
import re
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagspec.dag_factory.stack import PASSWORD, USERNAME

from .kit import BROKEN, BROKEN_LINE, FLAGSHIP, ROOT, Flagship

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000

pytestmark = [
    pytest.mark.slow, pytest.mark.spark, pytest.mark.airflow, pytest.mark.timeout(900),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(`make test` installs it as root; else `apt-get install chromium`)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None,
                       reason="needs the python `playwright` package (dev dependency group)"),
]


@pytest.fixture(scope="module")
def page(flagship: Flagship) -> Iterator[Any]:
    """A logged-in page of the stack's UI (the simple auth manager's login form, admin / admin)."""
    from playwright.sync_api import sync_playwright

    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        url = flagship.stack.api_url
        tab.goto(url + "/")
        tab.wait_for_url(re.compile(r".*/auth/login.*"))
        shot(tab, "01-login")
        tab.fill("input[name=username]", USERNAME)
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(url + "/")
        tab.get_by_text("Welcome").wait_for()
        try:
            yield tab
        finally:
            browser.close()


def shot(tab: Any, name: str, full_page: bool = False) -> None:
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def _run_path(flagship: Flagship) -> str:
    return f"{flagship.stack.api_url}/dags/{FLAGSHIP}/runs/{urllib.parse.quote(flagship.run.run_id, safe='')}"


def test_the_dag_list_shows_every_example(page: Any, flagship: Flagship) -> None:
    page.goto(flagship.stack.api_url + "/dags")
    page.get_by_text(f"{len(flagship.expected_dags)} Dags").wait_for()
    for dag_id in sorted(flagship.expected_dags):
        page.get_by_role("link", name=dag_id, exact=True).first.wait_for()
    shot(page, "02-dags", full_page=True)


def test_the_broken_spec_is_an_import_error_with_its_file_and_line(page: Any, flagship: Flagship) -> None:
    page.goto(flagship.stack.api_url + "/")
    page.get_by_text(re.compile(r"Dag Import Errors?")).first.click()
    dialog = page.get_by_role("dialog")
    entry = dialog.get_by_role("button", name=re.compile("Bundle Name"))
    entry.wait_for()
    assert BROKEN in entry.inner_text()  # listed under its own path, relative to the dag folder
    trace = dialog.locator("code").filter(has_text=re.compile(rf"broken_spec\.yaml:{BROKEN_LINE}:\d+: error DSP\d+"))
    if not trace.is_visible():
        entry.click()  # expand the entry: its stack trace is our diagnostic
    trace.wait_for()
    assert "did you mean `depends_on`" in trace.inner_text()
    shot(page, "03-import-error")
    page.keyboard.press("Escape")


def test_the_graph_wraps_the_jobs_in_the_cluster_setup_and_teardown(page: Any, flagship: Flagship) -> None:
    page.goto(f"{flagship.stack.api_url}/dags/{FLAGSHIP}")
    page.get_by_role("button", name=re.compile("Show Graph")).click()
    nodes = page.locator(".react-flow__node")
    nodes.filter(has_text="delete_cluster_etl").first.wait_for()
    shot(page, "04-graph")
    shown = {nodes.nth(i).get_attribute("data-id") for i in range(nodes.count())}
    assert set(flagship.run.states()) <= shown
    edges = page.locator(".react-flow__edge")
    pairs = {edges.nth(i).get_attribute("data-id") for i in range(edges.count())}
    assert "create_cluster_etl-clean" in pairs  # setup before the first job
    for job in ("clean", "revenue_by_region", "top_products"):
        assert f"{job}-delete_cluster_etl" in pairs  # teardown after every job
    assert "create_cluster_etl-delete_cluster_etl" in pairs  # the setup/teardown pair
    page.get_by_role("button", name=re.compile("Show Grid")).click()  # the UI remembers the view: back to the grid


def test_a_finished_job_task_has_the_dataproc_job_link(page: Any, flagship: Flagship) -> None:
    job_id = flagship.stack.client.xcom(FLAGSHIP, flagship.run.run_id, "clean", "job_id")
    page.goto(_run_path(flagship) + "/tasks/clean/details")
    link = page.get_by_role("link", name="Dataproc Job")
    link.wait_for()
    href = link.get_attribute("href")
    assert href and href.startswith("https://console.cloud.google.com/dataproc/jobs/") and job_id in href
    shot(page, "05-dataproc-job-link")


def test_the_task_log_shows_the_jobs_driver_output(page: Any, flagship: Flagship) -> None:
    page.goto(_run_path(flagship) + "/tasks/clean")
    page.get_by_text("[driver] clean-sales: kept 240 rows, dropped 4").wait_for()
    page.get_by_text(re.compile(r"job clean_\w+ succeeded")).wait_for()
    shot(page, "06-task-log")
