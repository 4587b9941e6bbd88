"""`telework audit`: a real git history of inventory commits, asked the auditor's questions.

The history (built once per module, dates fixed, Europe/Berlin):

1. 2026-01-05 initial inventory (Jana Admin)
2. 2026-01-10 VPN for jmueller + tunnel address (#1234)
3. 2026-02-01 jmueller bauamt -> kaemmerei (Ticket: INC-2026-0042, Reviewed-by)
4. 2026-02-15 nb-0003 pilot -> all, igel-0042 12.5.1 -> 12.6.0 (!57)
5. 2026-03-01 people/rathaus.yml split in two, endpoints/notebooks.yml renamed: no change
6. 2026-03-05 branch commit by Tobias Netz: extra network fv-bau for kschmidt (#77)
   2026-03-06 main: DID for jmueller
   2026-03-10 merge by Max Maintainer (See merge request city/inventory!58)
7. 2026-04-01 jmueller's access revoked, certificate revoked (INC-2026-0099)
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from telework.apply import runrecord
from telework.audit.approvals import approvals
from telework.audit.at import state_at
from telework.audit.compliance import read_junit, read_suites, requirement_ids
from telework.audit.gitrepo import GitError, Repository
from telework.audit.i18n import Catalogue
from telework.audit.index import AuditIndex
from telework.audit.log import Audit
from telework.cli.main import cli

ORG = """\
organisation: {name: Stadt Grünfelden, slug: gruenfelden, domain: gruenfelden.example}
sites:
  - {id: rathaus, name: Rathaus}
rollout_rings:
  - {name: pilot, order: 0}
  - {name: all, order: 2}
departments:
  - {id: bauamt, name: Bauamt, access: [fileserver, fv-bau]}
  - {id: kaemmerei, name: Kämmerei, access: [fileserver, fv-finanzen]}
"""
NETWORKS = """\
networks:
  - {name: fileserver, site: rathaus, prefix: 10.20.1.0/24, purpose: servers}
  - {name: fv-bau, site: rathaus, prefix: 10.20.4.0/24, purpose: servers}
  - {name: fv-finanzen, site: rathaus, prefix: 10.20.5.0/24, purpose: servers}
"""
JMUELLER = "{username: jmueller, name: Jürgen Müller, department: %s, site: rathaus, vpn: %s%s}"
KSCHMIDT = ("{username: kschmidt, name: Karin Schmidt, department: kaemmerei, site: rathaus, vpn: true%s, "
            "phone: {extension: \"1358\", did: \"+49 9999 12-1358\"}}")
JM_PHONE = ", phone: {extension: \"1357\", did: \"+49 9999 12-1357\"}"
NOTEBOOK = "{name: nb-0003, site: rathaus, owner: jmueller, ring: %s, serial: PF1, mac: \"8C:16:45:00:00:03\"}"
IGEL = ("{name: igel-0042, site: rathaus, owner: kschmidt, ring: all, serial: \"11A\", "
        "mac: \"00:E0:C5:00:00:42\", model: UD3-M340C, firmware: %s}")
ALLOC = """\
# VPN tunnel addresses: managed by telework, do not edit by hand.
pools:
  vpn-a-openvpn:
    allocated:
%s    released: {}
"""
ISSUED = """\
certificates:
  - serial: "1A2B"
    kind: person
    cn: "jmueller"
    owner: "jmueller"
    not_before: "2026-01-10T08:00:00Z"
    not_after: "2028-04-14T08:00:00Z"
    revoked: %s
"""


def people(jm_dept="bauamt", jm_vpn="false", jm_phone="", ks_extra=""):
    return {"jmueller": JMUELLER % (jm_dept, jm_vpn, jm_phone), "kschmidt": KSCHMIDT % ks_extra}


def people_file(*items: str) -> str:
    return "# people, one a line\npeople:\n" + "".join(f"  - {i}\n" for i in items)


class Repo:
    """A scratch repository; commits with fixed author, committer and dates."""

    def __init__(self, root: Path):
        self.root = root
        self.inventory = root / "inventory"
        self.inventory.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, env: dict | None = None) -> str:
        full = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
        return subprocess.run(["git", "-C", str(self.root), *args], check=True, capture_output=True,
                              text=True, env=full).stdout.strip()

    def write(self, files: dict[str, str | None]) -> None:
        for rel, text in files.items():
            path = self.inventory / rel
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def commit(self, when: str, message: str, files: dict[str, str | None], author=("Jana Admin", "jana@example.org"),
               committer=None) -> str:
        self.write(files)
        self.git("add", "-A", "inventory")
        committer = committer or author
        env = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1], "GIT_AUTHOR_DATE": when,
               "GIT_COMMITTER_NAME": committer[0], "GIT_COMMITTER_EMAIL": committer[1],
               "GIT_COMMITTER_DATE": when}
        self.git("commit", "-q", "-m", message, env=env)
        return self.git("rev-parse", "HEAD")


def build_history(root: Path) -> tuple[Repo, dict[str, str]]:
    repo = Repo(root)
    c = {}
    p = people()
    c["initial"] = repo.commit("2026-01-05T10:00:00+01:00", "Initial inventory", {
        "organisation.yml": ORG, "networks.yml": NETWORKS,
        "people/rathaus.yml": people_file(p["jmueller"], p["kschmidt"]),
        "endpoints/notebooks.yml": "notebooks:\n  - " + NOTEBOOK % "pilot" + "\n",
        "endpoints/igel.yml": "igel_devices:\n  - " + IGEL % "12.5.1" + "\n",
        "allocations.yml": ALLOC % "      10.128.0.2: person:kschmidt 2026-01-05\n",
    })
    p = people(jm_vpn="true")
    c["grant"] = repo.commit("2026-01-10T09:00:00+01:00", "Grant VPN access to jmueller (#1234)", {
        "people/rathaus.yml": people_file(p["jmueller"], p["kschmidt"]),
        "allocations.yml": ALLOC % ("      10.128.0.2: person:kschmidt 2026-01-05\n"
                                    "      10.128.0.7: person:jmueller 2026-01-10\n"),
        "pki/issued.yml": ISSUED % "null",
    }, author=("Petra Personal", "petra@example.org"))
    p = people(jm_dept="kaemmerei", jm_vpn="true")
    c["department"] = repo.commit(
        "2026-02-01T14:30:00+01:00",
        "jmueller moves to the Kämmerei\n\nTicket: INC-2026-0042\nReviewed-by: Amtsleitung <al@example.org>",
        {"people/rathaus.yml": people_file(p["jmueller"], p["kschmidt"])})
    c["devices"] = repo.commit("2026-02-15T11:00:00+01:00", "Ring and firmware updates (!57)", {
        "endpoints/notebooks.yml": "notebooks:\n  - " + NOTEBOOK % "all" + "\n",
        "endpoints/igel.yml": "igel_devices:\n  - " + IGEL % "12.6.0" + "\n"})
    # a split and a rename: the same entities, other files
    repo.git("mv", "inventory/endpoints/notebooks.yml", "inventory/endpoints/laptops.yml")
    c["split"] = repo.commit("2026-03-01T08:00:00+01:00", "Split people per team", {
        "people/rathaus.yml": people_file(p["jmueller"]),
        "people/kaemmerei-team.yml": "# the finance team\npeople:\n  - " + p["kschmidt"] + "\n"})
    # a topic branch, main moves on, then a merge
    base = c["split"]
    repo.git("checkout", "-q", "-b", "topic")
    p_topic = people(jm_dept="kaemmerei", jm_vpn="true", ks_extra=", extra_access: [fv-bau]")
    c["topic"] = repo.commit("2026-03-05T10:00:00+01:00", "kschmidt needs the building files (#77)", {
        "people/kaemmerei-team.yml": "# the finance team\npeople:\n  - " + p_topic["kschmidt"] + "\n"},
        author=("Tobias Netz", "tobias@example.org"))
    repo.git("checkout", "-q", "main")
    p = people(jm_dept="kaemmerei", jm_vpn="true", jm_phone=JM_PHONE)
    c["did"] = repo.commit("2026-03-06T10:00:00+01:00", "Desk number for jmueller", {
        "people/rathaus.yml": people_file(p["jmueller"])})
    env = {"GIT_AUTHOR_NAME": "Max Maintainer", "GIT_AUTHOR_EMAIL": "max@example.org",
           "GIT_AUTHOR_DATE": "2026-03-10T12:00:00+01:00", "GIT_COMMITTER_NAME": "Max Maintainer",
           "GIT_COMMITTER_EMAIL": "max@example.org", "GIT_COMMITTER_DATE": "2026-03-10T12:00:00+01:00"}
    repo.git("merge", "-q", "--no-ff", "topic", "-m",
             "Merge branch 'topic' into 'main'\n\nSee merge request city/inventory!58", env=env)
    c["merge"] = repo.git("rev-parse", "HEAD")
    assert base != c["merge"]
    c["revoke"] = repo.commit("2026-04-01T16:00:00+02:00", "Revoke jmueller: device lost (INC-2026-0099)", {
        "access/revocations.yml": 'revocations:\n  jmueller:\n    date: 2026-04-01\n    reason: "device lost"\n'
                                  '    by: "Jana Admin"\n',
        "pki/issued.yml": ISSUED % '{date: "2026-04-01T14:00:00Z", reason: "device lost"}'})
    return repo, c


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Repo, dict[str, str]]:
    return build_history(tmp_path_factory.mktemp("audit") / "repo")


@pytest.fixture
def session(history, tmp_path):
    repo, _ = history
    with Audit(repo.inventory, index_path=tmp_path / "index.sqlite") as audit:
        yield audit


EN = Catalogue("en")


def texts(entries) -> list[str]:
    return [EN.event(e.event.kind, e.event.params) for e in entries]


# ---------------------------------------------------------------- the change log

def test_person_log_is_semantic_with_approvals(session, history):
    _repo, c = history
    entries = session.log(person="jmueller")
    assert texts(entries) == [
        "person jmueller (Jürgen Müller) added: department bauamt, site rathaus",
        "device nb-0003 added: owner jmueller, ring pilot, firmware -, status active".replace(
            "device nb-0003", "notebook nb-0003"),
        "VPN access granted to jmueller (Jürgen Müller)",
        "tunnel address 10.128.0.7 (vpn-a-openvpn) allocated to jmueller (Jürgen Müller)",
        "certificate 1A2B issued to jmueller (person), valid until 2028-04-14T08:00:00Z",
        "department of jmueller (Jürgen Müller) changed bauamt -> kaemmerei (networks now: fileserver, fv-finanzen)",
        "device nb-0003 moved from ring pilot to all",
        "DID +49 9999 12-1357 (extension 1357) assigned to jmueller (Jürgen Müller)",
        "VPN access of jmueller (Jürgen Müller) revoked on 2026-04-01: device lost (by Jana Admin)",
        "certificate 1A2B of jmueller revoked on 2026-04-01T14:00:00Z: device lost",
    ]
    by_text = {t: e for t, e in zip(texts(entries), entries)}
    grant = by_text["VPN access granted to jmueller (Jürgen Müller)"].event
    assert (grant.commit.sha, grant.author, grant.approvals) == (c["grant"], "Petra Personal", ["#1234"])
    move = next(e.event for e in entries if e.event.kind == "department_changed")
    assert move.approvals == ["INC-2026-0042", "Reviewed-by: Amtsleitung <al@example.org>"]
    assert move.commit.sha == c["department"]


def test_split_and_rename_are_no_change(session, history):
    _repo, c = history
    assert [e for e in session.log() if e.event.commit.sha == c["split"]] == []


def test_merge_names_the_branch_commit_and_both_approvals(session, history):
    _repo, c = history
    (entry,) = session.log(person="kschmidt", since=date(2026, 3, 2))
    e = entry.event
    assert EN.event(e.kind, e.params) == \
        "access to network fv-bau granted to kschmidt (Karin Schmidt) (extra_access)"
    assert e.commit.sha == c["merge"] and e.commit.author == "Max Maintainer"
    assert e.origin["sha"] == c["topic"] and e.author == "Tobias Netz"
    assert e.approvals == ["#77", "city/inventory!58"]


def test_device_log(session):
    assert texts(session.log(device="igel-0042")) == [
        "IGEL device igel-0042 added: owner kschmidt, ring all, firmware 12.5.1, status active",
        "firmware of igel-0042 12.5.1 -> 12.6.0",
    ]


def test_since_until_are_days_in_berlin(session):
    found = session.log(since=date(2026, 2, 1), until=date(2026, 2, 1))
    assert {e.event.kind for e in found} == {"department_changed"}
    assert session.log(since=date(2026, 2, 2), until=date(2026, 2, 14)) == []


def test_index_is_reused_and_extended(history, tmp_path):
    repo, _c = history
    path = tmp_path / "index.sqlite"
    first = Audit(repo.inventory, index_path=path)
    assert first.index.computed == 8  # the main line: every commit but the branch's own
    first.close()
    again = Audit(repo.inventory, index_path=path)
    assert again.index.computed == 0
    again.close()
    # an index built in two steps holds exactly what one build holds
    older = tmp_path / "older.sqlite"
    with Repository(repo.inventory) as r:
        AuditIndex(r, older).update("HEAD~2")
        index = AuditIndex(r, older)
        chain = index.update("HEAD")
        assert index.computed == 2
        fresh = AuditIndex(r, tmp_path / "fresh.sqlite")
        fresh.update("HEAD")
        assert [(e.kind, e.params, e.origin) for e in index.events(chain)] == \
            [(e.kind, e.params, e.origin) for e in fresh.events(chain)]


def test_index_lives_beside_the_repository(history):
    repo, _c = history
    with Audit(repo.inventory) as audit:
        assert audit.index.path.parent == repo.root / ".git" / "telework" / "audit-index"
        assert audit.index.path.name == "v1-inventory.sqlite"
    assert repo.git("status", "--porcelain") == ""


# ---------------------------------------------------------------- state at a date

def test_state_at_dates(history):
    repo, c = history
    with Repository(repo.inventory) as r:
        before = state_at(r, date(2026, 1, 9))
        jm = next(p for p in before.people if p.username == "jmueller")
        assert before.commit.sha == c["initial"] and not jm.access
        assert [p.username for p in before.with_access] == ["kschmidt"]

        granted = state_at(r, date(2026, 1, 10))
        jm = next(p for p in granted.people if p.username == "jmueller")
        assert jm.access and jm.networks == ["fileserver", "fv-bau"]
        assert jm.addresses == ["10.128.0.7"] and jm.certificates == ["1A2B"]
        assert jm.devices == ["nb-0003 (active)"]

        moved = state_at(r, date(2026, 3, 10))
        jm = next(p for p in moved.people if p.username == "jmueller")
        ks = next(p for p in moved.people if p.username == "kschmidt")
        assert jm.networks == ["fileserver", "fv-finanzen"] and jm.did == "+499999121357"
        assert ks.networks == ["fileserver", "fv-bau", "fv-finanzen"]

        # the revocation was committed at 16:00 on 1 April: in force at the end of that day
        revoked = state_at(r, date(2026, 4, 1))
        jm = next(p for p in revoked.people if p.username == "jmueller")
        assert not jm.access and jm.revoked["reason"] == "device lost" and jm.certificates == []
        assert state_at(r, date(2025, 12, 31)).commit is None


def test_end_of_day_uses_the_time_zone(history):
    repo, c = history
    # 2026-04-01T16:00+02:00 is 14:00 UTC: still 1 April in Berlin and in UTC; the grant at
    # 09:00+01:00 on 10 January is 08:00 UTC - in Kiritimati (UTC+14) it is already 10 January
    with Repository(repo.inventory) as r:
        assert state_at(r, date(2026, 1, 9), timezone="Pacific/Kiritimati").commit.sha == c["initial"]
        assert state_at(r, date(2026, 1, 10), timezone="Pacific/Kiritimati").commit.sha == c["grant"]


# ---------------------------------------------------------------- runs

def _run(repo: Repo, commit: str, run_id: str, started: str, result: str = "ok") -> None:
    record = {"schema": runrecord.SCHEMA, "run_id": run_id, "result": result, "commit": commit,
              "dirty": False, "who": {"login": "ops", "name": "Olaf Ops", "email": "ops@example.org",
                                      "source": "git"},
              "started": started, "finished": started,
              "hosts": {"vpn-a": {"status": "changed" if result == "ok" else "failed", "ring": "early",
                                  "changed_ops": [], "error": None},
                        "vpn-b": {"status": "unchanged", "ring": "pilot", "changed_ops": [], "error": None}},
              "plan": {"schema": "telework.plan/1"}}
    # as apply does it (from the inventory directory); git notes need an identity even where
    # the machine has none configured
    identity = {"GIT_AUTHOR_NAME": "Olaf Ops", "GIT_AUTHOR_EMAIL": "ops@example.org",
                "GIT_COMMITTER_NAME": "Olaf Ops", "GIT_COMMITTER_EMAIL": "ops@example.org"}
    saved = {k: os.environ.get(k) for k in identity}
    os.environ.update(identity)
    try:
        where = runrecord.write(record, repo.inventory)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert where.startswith("git note"), where


@pytest.fixture(scope="module")
def with_runs(tmp_path_factory):
    repo, c = build_history(tmp_path_factory.mktemp("runs") / "repo")
    _run(repo, c["department"], "r1", "2026-02-01T15:00:00Z")
    _run(repo, c["merge"], "r2", "2026-03-10T12:00:00Z", result="failed")
    _run(repo, c["merge"], "r3", "2026-03-10T13:00:00Z")
    # applied from the topic branch before it was merged
    _run(repo, c["topic"], "r0", "2026-03-05T11:00:00Z")
    return repo, c


def test_runs_link_to_the_commits_they_applied(with_runs, tmp_path):
    repo, c = with_runs
    with Audit(repo.inventory, index_path=tmp_path / "i.sqlite") as audit:
        links, applied = audit.runs()
        by_id = {link.run.run_id: link for link in links}
        assert [link.run.run_id for link in links] == ["r1", "r0", "r2", "r3"]
        assert by_id["r1"].first_applied == [c["initial"], c["grant"], c["department"]]
        assert by_id["r1"].on_main_line and by_id["r1"].in_history
        assert by_id["r0"].in_history and not by_id["r0"].on_main_line
        assert by_id["r0"].first_applied == [c["devices"], c["split"]]  # up to the fork point
        assert by_id["r2"].first_applied == [c["did"], c["merge"]]
        assert applied[c["grant"]].first.run_id == "r1" and applied[c["grant"]].succeeded.run_id == "r1"
        assert applied[c["merge"]].first.run_id == "r2" and applied[c["merge"]].succeeded.run_id == "r3"
        assert c["revoke"] not in applied
        assert by_id["r1"].run.who == "Olaf Ops (ops) <ops@example.org>"
        assert by_id["r2"].run.failed_hosts == ("vpn-a",)


def test_cli_runs_and_applied_by(with_runs, tmp_path):
    repo, c = with_runs
    runner = CliRunner()
    done = runner.invoke(cli, ["audit", "runs", str(repo.inventory), "--format", "json",
                               "--index", str(tmp_path / "i.sqlite")])
    assert done.exit_code == 0, done.output
    runs = json.loads(done.output)["runs"]
    assert [r["run_id"] for r in runs] == ["r1", "r0", "r2", "r3"]
    assert runs[0]["first_applied"][-1] == c["department"]
    done = runner.invoke(cli, ["audit", "log", str(repo.inventory), "--person", "kschmidt", "--since",
                               "2026-03-02", "--index", str(tmp_path / "i.sqlite")])
    assert done.exit_code == 0, done.output
    assert "access to network fv-bau granted to kschmidt (Karin Schmidt) (extra_access)" in done.output
    assert "first attempt" in done.output and "(run r3)" in done.output
    done = runner.invoke(cli, ["audit", "log", str(repo.inventory), "--person", "jmueller", "--since",
                               "2026-04-01", "--index", str(tmp_path / "i.sqlite")])
    assert "not applied yet" in done.output


# ---------------------------------------------------------------- CLI

def test_cli_log_json(history, tmp_path):
    repo, c = history
    done = CliRunner().invoke(cli, ["audit", "log", str(repo.inventory), "--person", "jmueller", "--format",
                                    "json", "--lang", "de", "--index", str(tmp_path / "i.sqlite")])
    assert done.exit_code == 0, done.output
    changes = json.loads(done.output)["changes"]
    grant = next(ch for ch in changes if ch["kind"] == "vpn_granted")
    assert grant["text"] == "VPN-Zugang für jmueller (Jürgen Müller) erteilt"
    assert grant["commit"] == c["grant"] and grant["author"] == "Petra Personal"
    assert grant["approvals"] == ["#1234"] and grant["date"] == "2026-01-10T09:00:00+01:00"


def test_cli_at(history):
    repo, _c = history
    done = CliRunner().invoke(cli, ["audit", "at", "2026-02-01", str(repo.inventory), "--format", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert data["people_with_access"] == 2
    jm = next(p for p in data["people"] if p["username"] == "jmueller")
    assert jm["networks"] == ["fileserver", "fv-finanzen"] and jm["department"] == "kaemmerei"
    done = CliRunner().invoke(cli, ["audit", "at", "2026-02-01", str(repo.inventory), "--lang", "de"])
    assert done.exit_code == 0 and "2 Personen hatten VPN-Zugang." in done.output


def test_cli_errors_are_messages(tmp_path, history):
    repo, _c = history
    runner = CliRunner()
    done = runner.invoke(cli, ["audit", "log", str(tmp_path)])
    assert done.exit_code == 1 and "is not in a git repository" in done.output
    assert "Traceback" not in done.output
    done = runner.invoke(cli, ["audit", "at", "31.03.2026", str(repo.inventory)])
    assert done.exit_code != 0 and "is not YYYY-MM-DD" in done.output
    done = runner.invoke(cli, ["audit", "at", "2026-03-31", str(repo.inventory), "--timezone", "Mars/Base"])
    assert done.exit_code == 1 and "unknown time zone" in done.output


def test_repository_errors():
    with pytest.raises(GitError, match="does not exist"):
        Repository("/nonexistent/inventory")


# ---------------------------------------------------------------- approvals, compliance, catalogues

@pytest.mark.parametrize("message, expected", [
    ("Grant VPN to jmueller (#1234)", ["#1234"]),
    ("x\n\nTicket: INC-2026-0042", ["INC-2026-0042"]),
    ("Merge branch 'a' into 'main'\n\nSee merge request city/inventory!57", ["city/inventory!57"]),
    ("fix (!57)\n\nReviewed-by: A <a@x>\nApproved-by: B", ["!57", "Reviewed-by: A <a@x>", "Approved-by: B"]),
    ("OPS-17: rotate keys", ["OPS-17"]),
    ("UTF-8 names, SHA-256 sums, RFC-7748 and https://example.org/page#12", []),
    ("colour #fff", []),
    ("wip", []),
])
def test_approval_references(message, expected):
    assert approvals(message) == expected


def test_requirement_ids_from_docstrings(tmp_path):
    assert requirement_ids("NET.3.3.A4, A11, A13: firewall") == (("NET.3.3.A4", "NET.3.3.A11", "NET.3.3.A13"),
                                                                 "firewall")
    assert requirement_ids("ORP.4.A21, NET.3.3.A12: TOTP") == (("ORP.4.A21", "NET.3.3.A12"), "TOTP")
    assert requirement_ids("Note: not an ID") == ((), "Note: not an ID")
    suites = tmp_path / "hosts"
    suites.mkdir()
    (suites / "test_vpn.py").write_text(
        'import pytest\npytestmark = pytest.mark.role("vpn_concentrators")\n\n'
        'def test_a(host):\n    """NET.3.3.A4: listens."""\n\n'
        'class TestB:\n    def test_c(self):\n        """SYS.1.1.A6, A10: logs."""\n\n'
        'def test_plain():\n    """No ID here."""\n')
    checks = read_suites(suites)
    assert [(c.name, c.requirements, c.role) for c in checks] == [
        ("test_a", ("NET.3.3.A4",), "vpn_concentrators"),
        ("TestB::test_c", ("SYS.1.1.A6", "SYS.1.1.A10"), "vpn_concentrators"),
        ("test_plain", (), "vpn_concentrators")]
    junit = tmp_path / "verify.xml"
    junit.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="telework-verify" tests="3" failures="1" errors="0" '
        'skipped="0" timestamp="2026-04-02T10:00:00"><testcase classname="tests.hosts.test_vpn" '
        'name="test_a[vpn-a]"/><testcase classname="tests.hosts.test_vpn" name="test_a[vpn-b]">'
        '<failure message="x"/></testcase><testcase classname="tests.hosts.test_vpn.TestB" '
        'name="test_c[vpn-a]"/></testsuite></testsuites>')
    run, results = read_junit(junit)
    assert run.tests == 3 and run.failures == 1 and run.timestamp == "2026-04-02T10:00:00"
    assert results[("test_vpn", "test_a")] == {"vpn-a": "passed", "vpn-b": "failed"}
    assert results[("test_vpn", "TestB::test_c")] == {"vpn-a": "passed"}


def test_the_real_suites_name_their_requirements():
    from telework.resources import host_suites_dir
    checks = read_suites(host_suites_dir())
    assert checks and all(c.requirements for c in checks), [c.name for c in checks if not c.requirements]


def test_catalogues_have_the_same_keys():
    en, de = Catalogue("en").data, Catalogue("de").data
    for section in ("events", "text", "status", "kinds"):
        assert set(en[section]) == set(de[section]), section
    assert set(en) == set(de)


def test_every_event_kind_has_words():
    import re

    import sys

    from telework.audit import diff
    from telework.audit.role_files import role_files

    modules = {diff.__name__} | {f.diff.__module__ for f in role_files().values()}
    source = "\n".join(Path(sys.modules[m].__file__).read_text(encoding="utf-8") for m in sorted(modules))
    verbs = ("added", "removed", "changed", "granted", "withdrawn", "assigned", "unassigned", "suspended",
             "reactivated", "renamed", "allocated", "released", "revoked", "lifted", "issued", "unrevoked")
    kinds = {k for k in re.findall(r'"([a-z]+(?:_[a-z]+)+)"', source) if k.rsplit("_", 1)[-1] in verbs}
    assert len(kinds) > 40
    for lang in ("en", "de"):
        assert sorted(kinds - set(Catalogue(lang).data["events"])) == []
