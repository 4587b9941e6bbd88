"""The example pipeline, run for real: gitlab-ci-local's shell executor runs
examples/gitlab-ci/ against the lab as a city has it, with GitLab played by a local stand-in
(tests/pipeline/fake_gitlab.py: the merge-request notes API and the git repositories).

The city is the VPN suite's `org` (tests/lab/conftest.py), already deployed to vpn-a, vpn-b and
radius-1, laid out as `telework init` makes it (.gitlab-ci.yml + inventory/) and pushed to the
stand-in as city/inventory; the job definitions come from a second project, it/telework-ci,
through the inventory's `include:` (what GitLab also does for the "CI/CD configuration file"
setting). The city's CI/CD variables are the lab's: its SSH key, host keys and the map of its
network (an overlay with addresses only), the org's age identity.

1. merge request (awalter moves to the Kämmerei): validate, plan; the plan is a comment on the
   merge request, updated by the next pipeline; no protected variable reaches the jobs;
2. main after the merge: validate, plan, the manual apply with `--plan` (in a job directory of
   its own: another path than the plan's), verify with its JUnit report; the run record is
   pushed to the stand-in's repository and `telework audit runs` of a fresh clone shows it;
3. a schedule after someone changed vpn-a by hand: the plan job fails with the drift, verify
   fails with the check that no longer holds, nothing is applied;
4. throughout: no key or identity is left in the runner user's home or temp directory, no
   secret in a job log, an artifact or the comment.

Afterwards the org is deployed again as it was (awalter back in the Hauptamt, vpn-a repaired).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from telework.plan.gitlab import MARKER
from telework.resources import example_pipeline_dir
from tests.pipeline.fake_gitlab import FakeGitLab
from tests.pipeline.runner import Runner, Variable, gcl_available

from .conftest import VENV_BIN, WITHOUT_FINANZEN, run

pytestmark = pytest.mark.lab

HOST = "127.77.22.1"  # a loopback address of its own: nothing else listens there
PROJECT, CI_PROJECT, MR = "city/inventory", "it/telework-ci", 1
API_TOKEN, PUSH_TOKEN = "glpat-apiCommentToken0123456789", "glpat-pushRunRecords0123456789"
LIMIT = "vpn_concentrators,auth_servers"
BRANCH = "awalter-to-kaemmerei"
DRIFT = "sed -i 's/^MaxAuthTries .*/MaxAuthTries 10/' /etc/ssh/sshd_config.d/telework.conf"
TIMES: dict[str, float] = {}


@dataclass
class City:
    gitlab: FakeGitLab
    runner: Runner
    project_id: int
    secrets: list[str]
    key_material: list[str]

    @property
    def checkout(self) -> Path:
        return self.runner.checkout

    def git(self, *args: str, auth: str | None = None) -> str:
        extra = ["-c", f"http.extraHeader=Authorization: Basic {_basic(auth)}"] if auth else []
        return run(["git", "-C", str(self.checkout), *extra, *args]).stdout

    def bare(self, *args: str) -> subprocess.CompletedProcess:
        return run(["git", "--git-dir", str(self.gitlab.projects[PROJECT].repo), *args], check=False)


def _basic(token: str) -> str:
    import base64

    return base64.b64encode(f"oauth2:{token}".encode()).decode()


def _commit(repo: Path, message: str) -> None:
    run(["git", "-C", str(repo), "add", "-A"])
    run(["git", "-C", str(repo), "-c", "user.name=Sabine Schulz", "-c", "user.email=s.schulz@gruenfelden.example",
         "commit", "-qm", message])


@pytest.fixture(scope="module")
def city(org, lab, tmp_path_factory) -> City:
    if not gcl_available():
        if os.environ.get("CI"):
            pytest.fail("gitlab-ci-local is not installed: scripts/bootstrap.sh installs it")
        pytest.skip("gitlab-ci-local is not installed (scripts/bootstrap.sh installs it)")
    base = tmp_path_factory.mktemp("pipeline")
    # the city's inventory repository as `telework init` lays it out, holding the org
    repo = base / "city"
    run([str(VENV_BIN / "telework"), "init", "gruenfelden", str(repo)])
    shutil.rmtree(repo / "inventory")
    shutil.copytree(org.inventory, repo / "inventory", ignore=shutil.ignore_patterns(".git"))
    run(["git", "init", "-q", "-b", "main", str(repo)])
    _commit(repo, "Stadt Grünfelden: inventory, PKI and the first enrolments")
    run(["git", "-C", str(repo), "branch", "-M", "main"])
    # the protected project with telework's job definitions
    ci = base / "telework-ci"
    ci.mkdir()
    shutil.copyfile(example_pipeline_dir() / "telework.gitlab-ci.yml", ci / "telework.gitlab-ci.yml")
    run(["git", "init", "-q", "-b", "main", str(ci)])
    _commit(ci, "telework's pipeline")
    run(["git", "-C", str(ci), "branch", "-M", "main"])

    gitlab = FakeGitLab(base / "gitlab", host=HOST).start()
    project = gitlab.add_project(PROJECT, repo)
    gitlab.add_project(CI_PROJECT, ci, public=True)
    gitlab.open_merge_request(PROJECT, MR)
    gitlab.add_token(API_TOKEN, "project_1001_bot", ("api",))
    gitlab.add_token(PUSH_TOKEN, "project_1001_bot2", ("write_repository",))
    gitlab.add_note(PROJECT, MR, "jdoe", "Moving awalter to the Kämmerei, see ticket INC-2026-0042")

    checkout = base / "runner" / "checkout"
    checkout.parent.mkdir()
    run(["git", "-c", f"http.extraHeader=Authorization: Basic {_basic(PUSH_TOKEN)}", "clone", "-q",
         f"{gitlab.url}/{PROJECT}.git", str(checkout)])
    run(["git", "-C", str(checkout), "remote", "set-head", "origin", "main"])
    run(["git", "-C", str(checkout), "config", "user.name", "Jana Doe"])
    run(["git", "-C", str(checkout), "config", "user.email", "jdoe@gruenfelden.example"])
    home, tmp = base / "runner" / "home", base / "runner" / "tmp"
    home.mkdir()
    tmp.mkdir()
    lab_dir = lab.overlay_file.parent
    key = (lab_dir / "id_ed25519").read_text()
    identity = Path(org.env["TELEWORK_AGE_IDENTITY"]).read_text()
    network_keys = ("ssh_hostname", "apt_proxy", "base_extra_management_networks")
    network = {"hosts": {name: {k: v for k, v in data.items() if k in network_keys}
                         for name, data in lab.overlay["hosts"].items()}}
    runner = Runner(checkout, base / "gitlab-settings", home, tmp, f"{HOST}/{PROJECT}.git",
                    (f"http://{HOST}/", f"{gitlab.url}/"))
    runner.variables = {
        "TELEWORK_SSH_KNOWN_HOSTS": Variable((lab_dir / "known_hosts").read_text(), file=True),
        # the lab's network map: where the city's hosts are and the range the runner deploys from
        # (addresses only, no key)
        "TELEWORK_OVERLAY": Variable(yaml.safe_dump(network), file=True),
        "TELEWORK_LIMIT": Variable(LIMIT),
        # today the plan needs the deploy key and an identity (see the example's variables)
        "TELEWORK_PLAN_SSH_KEY": Variable(key, file=True),
        "TELEWORK_PLAN_AGE_IDENTITY": Variable(identity, file=True),
        "TELEWORK_GITLAB_TOKEN": Variable(API_TOKEN),
        "TELEWORK_SSH_KEY": Variable(key, file=True, protected=True, scope="production"),
        "TELEWORK_AGE_IDENTITY": Variable(identity, file=True, protected=True, scope="production"),
        "TELEWORK_PUSH_TOKEN": Variable(PUSH_TOKEN, protected=True, scope="production"),
    }
    key_material = [line for line in key.splitlines() if len(line) > 20 and "PRIVATE KEY" not in line]
    key_material += [line for line in identity.splitlines() if line.startswith("AGE-SECRET-KEY-")]
    yield City(gitlab, runner, project.id, org.secret_values(), key_material)
    gitlab.stop()
    for leftover in Path("/tmp").glob("gitlab-ci-local-file-variables-city-inventory-*"):
        shutil.rmtree(leftover, ignore_errors=True)  # a GitLab runner removes them itself
    org.apply()  # the org as it was: awalter in the Hauptamt, vpn-a's SSH settings repaired


def _api(city: City, source: str) -> dict[str, str]:
    common = {"CI_API_V4_URL": f"{city.gitlab.url}/api/v4", "CI_PROJECT_ID": str(city.project_id),
              "GITLAB_USER_LOGIN": "jdoe", "GITLAB_USER_NAME": "Jana Doe",
              "GITLAB_USER_EMAIL": "jdoe@gruenfelden.example"}
    if source == "merge_request_event":
        common.update(CI_MERGE_REQUEST_IID=str(MR), CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=BRANCH,
                      CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main")
    return common


def _no_leaks(city: City, *texts: str) -> None:
    for i, value in enumerate(city.secrets + city.key_material):
        for text in texts:
            assert value not in text, f"secret #{i} in a job log, artifact or comment"


def _move_awalter(checkout: Path, department: str) -> None:
    for path in (checkout / "inventory" / "people").glob("*.yml"):
        text = path.read_text()
        found = re.search(rf"(username: {WITHOUT_FINANZEN}, .*?department: )([a-z0-9_-]+)", text)
        if found:
            path.write_text(text[:found.start(2)] + department + text[found.end(2):])
            return
    raise AssertionError(f"{WITHOUT_FINANZEN} not in people/")


def test_merge_request_pipeline_plans_and_comments(city: City):
    city.git("switch", "-q", "-c", BRANCH)
    _move_awalter(city.checkout, "kaemmerei")
    _commit(city.checkout, f"{WITHOUT_FINANZEN} moves to the Kämmerei\n\nTicket: INC-2026-0042")
    city.git("push", "-q", "origin", BRANCH, auth=PUSH_TOKEN)

    first = city.runner.run(source="merge_request_event", extra=_api(city, "merge_request_event"),
                            unset=("CI_COMMIT_BRANCH",))
    TIMES["merge request"] = first.seconds
    assert first.returncode == 0, first.output[-5000:]
    assert set(first.jobs) == {"validate", "plan"}, first.output[-3000:]
    plan_log = first.job("plan").log
    assert "credentials: SSH key in this job's agent, age identity: yes" in plan_log
    assert "vpn-a: changed" in plan_log and "vpn-b: changed" in plan_log, plan_log[-3000:]
    assert "plan comment created on the merge request" in plan_log

    notes = city.gitlab.notes(PROJECT, MR)
    ours = [n for n in notes if n["body"].startswith(MARKER)]
    assert len(ours) == 1 and ours[0]["author"]["username"] == "project_1001_bot"
    assert "vpn-a" in ours[0]["body"] and "client-config-dir" in ours[0]["body"]
    # MR pipelines of an unprotected branch get no protected variable: no deploy key, no
    # decrypting identity of apply, no push token
    artifacts = city.checkout / ".gitlab-ci-local" / "artifacts" / "plan"
    _no_leaks(city, plan_log, ours[0]["body"], *(p.read_text() for p in artifacts.glob("plan.*")))

    # the next push: the same comment, updated
    again = city.runner.run(source="merge_request_event", extra=_api(city, "merge_request_event"),
                            unset=("CI_COMMIT_BRANCH",))
    assert again.returncode == 0, again.output[-5000:]
    assert "plan comment updated on the merge request" in again.job("plan").log
    assert sum(n["body"].startswith(MARKER) for n in city.gitlab.notes(PROJECT, MR)) == 1
    writes = [r for r in city.gitlab.requests if r["method"] in ("POST", "PUT")]
    assert [r["method"] for r in writes] == ["POST", "PUT"] and {r["auth"] for r in writes} == {"private"}


def test_main_pipeline_applies_the_reviewed_plan_and_records_the_run(city: City, lab):
    city.git("switch", "-q", "main")
    city.git("merge", "-q", "--no-ff", BRANCH, "-m",
             f"Merge branch '{BRANCH}' into 'main'\n\nSee merge request {PROJECT}!{MR}")
    city.git("push", "-q", "origin", "main", auth=PUSH_TOKEN)
    head = city.git("rev-parse", "HEAD").strip()

    result = city.runner.run(source="push", extra=_api(city, "push"), manual=("apply",))
    TIMES["main"] = result.seconds
    assert result.returncode == 0, result.output[-6000:]
    assert set(result.jobs) == {"validate", "plan", "apply", "verify"}, result.output[-3000:]
    assert all(job.passed for job in result.jobs.values()), result.output[-6000:]
    apply_log = result.job("apply").log
    assert "Apply ok" in apply_log and "vpn-a: changed" in apply_log, apply_log[-4000:]
    assert "credentials: SSH key in this job's agent, age identity: yes" in apply_log
    assert "credentials: SSH key in this job's agent, age identity: none" in result.job("verify").log

    # the plan was made in the plan job's directory and applied from the apply job's: two paths
    artifacts = city.checkout / ".gitlab-ci-local" / "artifacts"
    plan = json.loads((artifacts / "plan" / "plan.json").read_text())
    assert plan["commit"] == head and plan["exit_code"] == 2
    # verify: the JUnit report of the suites, nothing failed
    report = ET.parse(artifacts / "verify" / "verify.xml").getroot()
    suites = [report] if report.tag == "testsuite" else list(report)
    cases = sum(int(s.get("tests", 0)) for s in suites)
    assert cases > 0 and sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites) == 0

    # the run record: pushed by after_script to the stand-in's repository ...
    note = city.bare("notes", "--ref=refs/notes/telework/runs", "show", head)
    assert note.returncode == 0, note.stderr
    record = json.loads(note.stdout.strip().splitlines()[-1])
    assert record["result"] == "ok" and record["commit"] == head
    assert record["who"] == {"login": "jdoe", "name": "Jana Doe", "email": "jdoe@gruenfelden.example",
                             "source": "gitlab-ci"}
    assert record["reviewed_plan"]["sha256"]
    assert record["inventory"] != plan["inventory"]  # applied at another path than planned
    assert {h: r["status"] for h, r in record["hosts"].items()} == {
        "vpn-a": "changed", "vpn-b": "changed", "radius-1": "unchanged"}
    # ... and read back by an auditor from a fresh clone
    auditor = city.checkout.parent / "auditor"
    run(["git", "-c", f"http.extraHeader=Authorization: Basic {_basic(PUSH_TOKEN)}", "clone", "-q",
         f"{city.gitlab.url}/{PROJECT}.git", str(auditor)])
    run(["git", "-C", str(auditor), "-c", f"http.extraHeader=Authorization: Basic {_basic(PUSH_TOKEN)}",
         "fetch", "-q", "origin", "refs/notes/telework/runs:refs/notes/telework/runs"])
    runs = run([str(VENV_BIN / "telework"), "audit", "runs", str(auditor / "inventory"), "--format", "json"],
               check=False)
    assert runs.returncode == 0, runs.stdout + runs.stderr
    assert record["run_id"] in runs.stdout and "jdoe" in runs.stdout
    # the hosts have what was reviewed: awalter's tunnel address is in the Kämmerei set now
    ruleset = lab.ssh("vpn-a", "cat /etc/nftables.conf").stdout
    assert re.search(r"set vpn_kaemmerei \{[^}]*elements = \{[^}]*\}", ruleset, re.S)
    _no_leaks(city, *(j.log for j in result.jobs.values()),
              *(p.read_text(errors="replace") for p in artifacts.rglob("*") if p.is_file()))


def test_scheduled_pipeline_turns_drift_into_failed_jobs(city: City, lab):
    drifted = lab.ssh("vpn-a", DRIFT + " && grep '^MaxAuthTries' /etc/ssh/sshd_config.d/telework.conf")
    assert drifted.stdout.strip() == "MaxAuthTries 10", drifted.stderr
    result = city.runner.run(source="schedule", extra=_api(city, "schedule"))
    TIMES["schedule"] = result.seconds
    assert result.returncode != 0
    assert set(result.jobs) == {"validate", "plan", "verify"}, result.output[-3000:]  # never an apply
    plan_log = result.job("plan").log
    assert not result.job("plan").passed
    assert "drift: the hosts differ from main" in plan_log
    assert "vpn-a: changed" in plan_log and "ssh: hardened server settings" in plan_log, plan_log[-3000:]
    assert "vpn-b: unchanged" in plan_log
    verify = result.job("verify")
    assert not verify.passed and "vpn-a" in verify.log and "failed" in verify.log, verify.log[-3000:]
    assert "MaxAuthTries 10" in lab.ssh("vpn-a", "cat /etc/ssh/sshd_config.d/telework.conf").stdout


def test_no_key_or_identity_outlives_its_job(city: City):
    """Run last in this module: every pipeline above has left what it leaves."""
    found = []
    for path in city.runner.home.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            found += [f"{path}: key or identity #{i}" for i, v in enumerate(city.key_material) if v in text]
    assert not found, found
    assert not list((city.runner.home / ".ssh").glob("*")) if (city.runner.home / ".ssh").exists() else True
    assert not (city.runner.home / ".config" / "telework").exists()
    assert list(city.runner.tmp.glob("telework-job-*")) == []  # every job's private directory removed
    agents = subprocess.run(["pgrep", "-af", f"ssh-agent.*{city.runner.tmp}"], capture_output=True, text=True)
    assert agents.stdout == "", f"an ssh-agent of a job still runs: {agents.stdout}"
    print("pipeline durations:", ", ".join(f"{k} {v:.0f} s" for k, v in TIMES.items()))
