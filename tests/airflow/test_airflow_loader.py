"""The dag_folder loader through Airflow's own DagBag: good specs load, broken ones are import errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from dagspec.dag_factory.airflow.compat import AIRFLOW_V_3_PLUS, DagBag, bundle_dagbag
from dagspec.dag_factory.airflow.loader import list_spec_files, load_dag_folder
from plan_kit import write_loader

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
description: a good spec
schedule: "@daily"
start_date: 2024-01-01
tags: [team-a]
tasks:
  hello: {bash: echo hello}
  bye: {bash: echo bye, depends_on: hello}
"""

BROKEN = """\
start_date: 2024-01-01
tasks:
  hello: {bash: echo hello}
  bye:
    bash: echo bye
    depends_on: helo
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def dag_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    write_loader(folder)
    write(folder, "good.yaml", GOOD)
    write(folder, "team/broken.yaml", BROKEN)
    write(folder, "notes.txt", "not a spec")
    return folder


def bag_of(folder: Path) -> Any:
    return bundle_dagbag(folder, folder)


def errors_of(bag: Any, folder: Path) -> dict[str, str]:
    """The bag's import errors keyed relative to ``folder`` (Airflow 3 keys them so; Airflow 2 by absolute path)."""
    return {str(Path(key).relative_to(folder)) if Path(key).is_absolute() else key: text
            for key, text in bag.import_errors.items()}


def test_good_specs_load_and_broken_ones_are_import_errors_under_their_own_path(dag_folder: Path):
    bag = bag_of(dag_folder)
    assert set(bag.dags) == {"good"}
    good = bag.dags["good"]
    assert good.fileloc == str(dag_folder / "dagspec_loader.py")
    assert {"hello", "bye"} == set(good.task_dict)
    assert "team-a" in good.tags
    assert set(errors_of(bag, dag_folder)) == {"team/broken.yaml"}
    text = errors_of(bag, dag_folder)["team/broken.yaml"]
    assert "broken.yaml:6:" in text and "helo" in text and "error DSP" in text
    assert "did you mean `hello`?" in text  # the diagnostic's hint travels with it


def test_a_plain_dagbag_keys_errors_by_absolute_path(dag_folder: Path):
    bag = DagBag(dag_folder=dag_folder)
    assert set(bag.dags) == {"good"}
    assert set(bag.import_errors) == {str(dag_folder / "team" / "broken.yaml")}


def test_airflowignore_is_honoured(dag_folder: Path):
    write(dag_folder, ".airflowignore", "team/\n")
    write(dag_folder, "skipped.yaml", GOOD)
    (dag_folder / ".airflowignore").write_text("team/\nskipped.yaml\n")
    write(dag_folder, ".github/workflows/ci.yml", "on: push\n")  # hidden folders are never specs
    assert [p.name for p in list_spec_files(dag_folder)] == ["good.yaml"]
    bag = bag_of(dag_folder)
    assert set(bag.dags) == {"good"}
    assert bag.import_errors == {}


def test_worker_parse_builds_only_the_requested_dag(dag_folder: Path, monkeypatch: pytest.MonkeyPatch):
    write(dag_folder, "other.yaml", GOOD.replace("a good spec", "another"))
    write(dag_folder, "instances.yaml", """\
        instances:
          - dag_id: inst_eu
            vars: {region: eu}
          - dag_id: inst_us
            vars: {region: us}
        tasks:
          run: {bash: "echo ${var.region}"}
        """)
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "other")
    bag = bag_of(dag_folder)
    assert set(bag.dags) == {"other"}
    assert bag.import_errors == {}  # the broken spec was not even read
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "inst_us")
    bag = bag_of(dag_folder)
    assert set(bag.dags) == {"inst_us"}
    assert bag.dags["inst_us"].task_dict["run"].bash_command == "echo us"
    # a dag_id the cheap index cannot see (flow style) is still found, by a full compile
    write(dag_folder, "flow.yaml", "instances: [{dag_id: flow_a}, {dag_id: flow_b}]\ntasks: {t: {empty: true}}\n")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "flow_b")
    assert set(bag_of(dag_folder).dags) == {"flow_b"}


def test_namespace_names_are_safe_python_identifiers(tmp_path: Path):
    write(tmp_path, "a.yaml", "dag_id: 2fast.and-curious\ntasks: {t: {empty: true}}\n")
    write(tmp_path, "b.yaml", "dag_id: load_dag_folder\ntasks: {t: {empty: true}}\n")
    namespace = {"__file__": str(tmp_path / "loader.py"), "load_dag_folder": load_dag_folder}
    load_dag_folder(namespace)
    dags = {k: v.dag_id for k, v in namespace.items() if hasattr(v, "dag_id")}
    assert dags == {"dag_2fast_and_curious": "2fast.and-curious", "load_dag_folder_2": "load_dag_folder"}
    assert all(k.isidentifier() for k in dags)
    assert namespace["load_dag_folder"] is load_dag_folder


def test_a_plan_airflow_refuses_is_an_error_of_its_spec(dag_folder: Path):
    write(dag_folder, "bad_param.yaml", """\
        schedule: "@daily"
        start_date: 2024-01-01
        airflow: {dagrun_timeout: 5}  # a DAG argument Airflow type-checks itself (param defaults are validated)
        tasks:
          a: {bash: echo a}
        """)
    bag = bag_of(dag_folder)
    assert "good" in bag.dags and "bad_param" not in bag.dags
    text = errors_of(bag, dag_folder)["bad_param.yaml"]
    assert "DSP900" in text and "Airflow rejected DAG `bad_param`" in text and "bad_param.yaml:1:" in text


def test_built_dags_serialize_and_show_the_spec_in_their_docs(dag_folder: Path):
    from dagspec.dag_factory.airflow.compat import DagSerialization

    bag = bag_of(dag_folder)
    back = DagSerialization.from_dict(DagSerialization.to_dict(bag.dags["good"]))
    assert "good.yaml" in back.doc_md
    assert "description: a good spec" in back.doc_md  # the spec text, in a fenced yaml block
    assert "```yaml" in back.doc_md


def test_the_projects_dag_folder_loads_without_import_errors():
    folder = ROOT / "dags"
    bag = bundle_dagbag(folder, folder)
    assert bag.import_errors == {}
    assert all(d.fileloc == str(folder / "dagspec_loader.py") for d in bag.dags.values())


@pytest.mark.airflow
@pytest.mark.skipif(not AIRFLOW_V_3_PLUS, reason="Airflow 3's sync_bag_to_db and DAG bundles (Airflow 2 stores "
                    "import errors from its DagFileProcessor)")
def test_import_errors_are_stored_and_cleared_by_sync_bag_to_db(dag_folder: Path, airflow_db: Path):
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.models.dag import DagModel
    from airflow.models.errors import ParseImportError
    from airflow.utils.session import create_session
    from dagspec.dag_factory.airflow.compat import sync_bag_to_db
    from sqlalchemy import delete, select

    DagBundlesManager().sync_bundles_to_db()

    def stored() -> dict[str, str]:
        with create_session() as session:
            rows = session.scalars(select(ParseImportError).where(ParseImportError.bundle_name == "dags-folder"))
            return {r.filename: r.stacktrace for r in rows}

    with create_session() as session:
        session.execute(delete(ParseImportError))
    sync_bag_to_db(bag_of(dag_folder), "dags-folder", None)
    errors = stored()
    assert set(errors) == {"team/broken.yaml"} and "broken.yaml:6:" in errors["team/broken.yaml"]
    with create_session() as session:
        assert session.get(DagModel, "good").relative_fileloc == "dagspec_loader.py"
    # the API (and so the UI's Docs panel) serves doc_md from the serialized DAG: spec path and text
    from airflow.models.serialized_dag import SerializedDagModel

    doc = SerializedDagModel.get_dag("good").doc_md
    assert "good.yaml" in doc and "description: a good spec" in doc

    write(dag_folder, "team/broken.yaml", BROKEN.replace("helo", "hello"))
    sync_bag_to_db(bag_of(dag_folder), "dags-folder", None)
    assert stored() == {}


@pytest.mark.airflow
@pytest.mark.slow
def test_the_dag_processor_records_and_clears_spec_errors(dag_folder: Path, airflow_db: Path):
    """Runs Airflow's real dag processor (``airflow dag-processor --num-runs 1``) on a bundle."""
    from airflow.configuration import conf
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.errors import ParseImportError
    from airflow.utils.session import create_session
    from sqlalchemy import select

    bundle = "spec-bundle"
    # keep the session's bundles configured (the processor deactivates bundles missing from its config)
    bundles = json.loads(conf.get("dag_processor", "dag_bundle_config_list"))
    bundles.append({"name": bundle, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": str(dag_folder)}})
    env = {
        **os.environ,
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    }

    def run_processor() -> dict[str, str]:
        subprocess.run([sys.executable, "-m", "airflow", "dag-processor", "--num-runs", "1", "--bundle-name", bundle],
                       env=env, check=True, capture_output=True, timeout=180)
        with create_session() as session:
            rows = session.scalars(select(ParseImportError).where(ParseImportError.bundle_name == bundle))
            return {r.filename: r.stacktrace for r in rows}

    errors = run_processor()
    assert set(errors) == {"team/broken.yaml"}
    assert "broken.yaml:6:" in errors["team/broken.yaml"] and "helo" in errors["team/broken.yaml"]
    with create_session() as session:
        good = session.get(DagModel, "good")
        assert good is not None and good.bundle_name == bundle and good.relative_fileloc == "dagspec_loader.py"

    write(dag_folder, "team/broken.yaml", BROKEN.replace("helo", "hello"))
    assert run_processor() == {}
    with create_session() as session:
        assert session.get(DagModel, "broken") is not None
        active = {b.name: b.active for b in session.scalars(select(DagBundleModel))}
    assert active.get("dags-folder") is True  # the session's own bundle was left alone


def test_every_bad_corpus_spec_is_an_import_error_with_its_codes_and_lines(tmp_path: Path):
    """The bad corpus (``# expect: CODE@LINE ...``) in one folder next to a good spec: each file is an
    import error under its own path naming its codes at their lines; the good DAG still loads."""
    import re
    import shutil

    folder = tmp_path / "dags"
    write_loader(folder)
    write(folder, "good.yaml", GOOD)
    bad = sorted((ROOT / "tests" / "fixtures" / "specs" / "bad").glob("*.yaml"))
    for spec in bad:
        shutil.copy(spec, folder / spec.name)
    bag = bag_of(folder)
    assert set(bag.dags) == {"good"}
    errors = errors_of(bag, folder)
    assert set(errors) == {spec.name for spec in bad}
    for spec in bad:
        expected = re.findall(r"(DSP\d+)@(\d+)", spec.read_text().splitlines()[0])
        text = errors[spec.name]
        for code, line in expected:
            assert re.search(rf"{re.escape(spec.name)}:{line}:\d+: error {code}:", text), (spec.name, text)


@pytest.mark.slow
def test_fresh_parses_are_cheap_to_import_and_serialize_identically(tmp_path: Path):
    """In a fresh interpreter (as the dag processor parses): loading the folder imports no Google
    client, no pyspark, no emulator and no OpenLineage (beyond the provider list Airflow reads itself);
    and each parse gives the same serialized DAGs (else every parse makes a new DAG version), whatever
    the interpreter's hash seed."""
    import shutil

    folder = tmp_path / "dags"
    write_loader(folder)
    for name in ("patterns.yaml", "sequence.yaml", "workflows.yaml"):
        shutil.copy(ROOT / "tests" / "fixtures" / "specs" / "good" / name, folder / name)
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from dagspec.dag_factory.airflow.compat import bundle_dagbag
        from airflow.models.serialized_dag import SerializedDagModel
        from dagspec.dag_factory.airflow.compat import DagSerialization
        folder = Path({str(folder)!r})
        bag = bundle_dagbag(folder, folder)
        assert not bag.import_errors, bag.import_errors
        heavy = sorted(m for m in sys.modules
                       if m.startswith(("google.cloud", "pyspark", "grpc")) or "emulator" in m
                       or m.split(".")[0] == "openlineage"  # the optional lineage extra: operators load it at run time
                       or (m.startswith("airflow.providers.openlineage.") and not m.endswith(".get_provider_info")))
        print(heavy)
        print(sorted((k, SerializedDagModel.hash(DagSerialization.to_dict(d))) for k, d in bag.dags.items()))
        """)
    outputs = []
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        heavy, hashes = out.stdout.strip().splitlines()[-2:]
        assert heavy == "[]"
        outputs.append(hashes)
    assert outputs[0] == outputs[1] and "patterns" in outputs[0]
