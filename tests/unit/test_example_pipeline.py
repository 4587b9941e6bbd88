"""The example pipeline as GitLab would build it, without running a job: gitlab-ci-local reads
an organisation repository made by `telework init`, fetches the job definitions from the
protected project (the stand-in of tests/pipeline/fake_gitlab.py serves it over git's smart
HTTP), checks them against GitLab's CI schema and lists the jobs of each kind of pipeline.

tests/lab/test_pipeline.py runs the same pipelines against the lab.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from telework.resources import example_pipeline_dir
from tests.pipeline.fake_gitlab import FakeGitLab
from tests.pipeline.runner import GCL, Runner, gcl_available

HOST = "127.77.22.2"
DEPLOY_SECRETS = ("TELEWORK_SSH_KEY", "TELEWORK_AGE_IDENTITY", "TELEWORK_PUSH_TOKEN")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@invalid", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    if not gcl_available():
        if os.environ.get("CI"):
            pytest.fail("gitlab-ci-local is not installed: scripts/bootstrap.sh installs it")
        pytest.skip("gitlab-ci-local is not installed (scripts/bootstrap.sh installs it)")
    base = tmp_path_factory.mktemp("example")
    city, ci = base / "city", base / "ci"
    from telework.inventory.organisation_repo import make_organisation_repo  # noqa: PLC0415

    make_organisation_repo("gruenfelden", city)
    ci.mkdir()
    shutil.copyfile(example_pipeline_dir() / "telework.gitlab-ci.yml", ci / "telework.gitlab-ci.yml")
    for repo in (city, ci):
        _git(repo, "init", "-q")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", "init")
        _git(repo, "branch", "-M", "main")
    gitlab = FakeGitLab(base / "gitlab", host=HOST).start()
    gitlab.add_project("city/inventory", city, public=True)
    gitlab.add_project("it/telework-ci", ci, public=True)
    checkout = base / "checkout"
    subprocess.run(["git", "clone", "-q", f"{gitlab.url}/city/inventory.git", str(checkout)], check=True)
    _git(checkout, "remote", "set-head", "origin", "main")
    for name in ("home", "tmp"):
        (base / name).mkdir()
    yield Runner(checkout, base / "settings", base / "home", base / "tmp", f"{HOST}/city/inventory.git",
                 (f"http://{HOST}/", f"{gitlab.url}/"))
    gitlab.stop()


def _jobs(runner: Runner, source: str, *unset: str) -> dict[str, dict]:
    runner._write_variables(protected=source != "merge_request_event")
    argv = [str(GCL), "--home", str(runner.gitlab_home), "--json-schema-validation", "--list-json",
            "--variable", f"CI_PIPELINE_SOURCE={source}", *[a for k in unset for a in ("--unset-variable", k)]]
    done = subprocess.run(argv, cwd=runner.checkout, env=runner.environment(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return {job["name"]: job for job in json.loads(done.stdout)}


def test_each_kind_of_pipeline_has_its_jobs(runner):
    mr = _jobs(runner, "merge_request_event", "CI_COMMIT_BRANCH")
    assert {n for n, j in mr.items() if j["when"] != "never"} == {"validate", "plan"}
    main = _jobs(runner, "push")
    assert {n: j["when"] for n, j in main.items()} == {
        "validate": "on_success", "plan": "on_success", "apply": "manual", "verify": "on_success"}
    assert main["apply"]["allow_failure"] is False  # the pipeline waits for the apply
    schedule = _jobs(runner, "schedule")
    assert schedule["apply"]["when"] == "never"
    assert schedule["verify"]["when"] == "always"  # verify also after a plan that found drift


def test_only_jobs_of_the_production_environment_name_the_deploy_credentials():
    """GitLab hands a variable scoped to the environment `production` only to jobs of that
    environment: the plan (which runs for merge requests) must not even ask for one."""
    jobs = yaml.safe_load((example_pipeline_dir() / "telework.gitlab-ci.yml").read_text())
    for name, job in jobs.items():
        if not isinstance(job, dict) or "script" not in job:
            continue
        text = "\n".join(job.get("script", []) + job.get("after_script", []))
        named = {v for v in DEPLOY_SECRETS if f"${v}" in text or f"${{{v}" in text}
        environment = (job.get("environment") or {}).get("name")
        assert not named or environment == "production", f"{name} names {named} outside production"
    assert "$TELEWORK_PLAN_SSH_KEY" in "\n".join(jobs["plan"]["script"])


def test_the_inventory_repository_holds_no_job():
    """The repository a merge request changes only includes the protected definitions."""
    stub = yaml.safe_load((example_pipeline_dir() / ".gitlab-ci.yml").read_text())
    assert set(stub) == {"include"}
    assert stub["include"] == [{"project": "it/telework-ci", "ref": "main", "file": "/telework.gitlab-ci.yml"}]
