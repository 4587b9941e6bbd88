"""Run records: git notes on the applied commit that auditors read back; redacted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from telework.apply import runrecord
from telework.secrets.redact import Redactor


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "organisation.yml").write_text("x: 1\n")
    for args in (["add", "-A"], ["-c", "user.name=Ops", "-c", "user.email=ops@example.org",
                                 "commit", "-qm", "init"]):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True)
    return tmp_path


def head(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_records_append_as_notes_and_read_back(repo: Path):
    commit = head(repo)
    first = {"run_id": "r1", "commit": commit, "result": "ok", "who": {"login": "ops"}}
    second = {"run_id": "r2", "commit": commit, "result": "failed", "who": {"login": "ops"}}
    where = runrecord.write(first, repo)
    assert where == f"git note {runrecord.NOTES_REF} on {commit[:12]}"
    runrecord.write(second, repo)
    assert [r["run_id"] for r in runrecord.read(repo, commit)] == ["r1", "r2"]
    # the work tree stays clean: a note is not a change to the inventory
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""
    log = subprocess.run(["git", "-C", str(repo), "log", "--notes=telework/runs", "-1"],
                         capture_output=True, text=True).stdout
    assert '"run_id":"r1"' in log


def test_records_are_redacted(repo: Path):
    secret = "Pa55wordXyzVeryLong42"
    runrecord.write({"run_id": "r1", "commit": head(repo), "error": f"failed: {secret}"}, repo,
                    Redactor({"radius/shared-secret": secret}))
    (record,) = runrecord.read(repo, head(repo))
    assert record["error"] == "failed: [redacted:radius/shared-secret]"


def test_outside_git_a_file(tmp_path: Path):
    where = runrecord.write({"run_id": "r9", "commit": None}, tmp_path)
    assert Path(where) == tmp_path / ".telework" / "runs" / "r9.json"


def test_who_prefers_the_gitlab_user(repo: Path):
    assert runrecord.who(repo, {"GITLAB_USER_LOGIN": "jdoe", "GITLAB_USER_NAME": "J Doe"}) == {
        "login": "jdoe", "name": "J Doe", "email": None, "source": "gitlab-ci"}
    subprocess.run(["git", "-C", str(repo), "config", "user.name", "Local Ops"], check=True)
    person = runrecord.who(repo, {})
    assert person["name"] == "Local Ops" and person["source"] == "git"


def test_ci_context():
    assert runrecord.ci_context({}) is None
    ctx = runrecord.ci_context({"CI_PIPELINE_ID": "7", "CI_JOB_URL": "https://g/j/1", "CI_PROJECT_PATH": "it/inv"})
    assert ctx["job_url"] == "https://g/j/1" and ctx["project"] == "it/inv"
