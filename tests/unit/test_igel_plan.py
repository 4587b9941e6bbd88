"""The IGEL role in `telework plan` and `apply`: the sample's 103 devices against the fake UMS
over HTTPS, through the real Planner, rollout rings, fingerprints and run records.

The sample's `ums:` section is used as committed, except its URL, which points at the fake
(served on 127.0.0.1 with a throwaway CA written where `ums.ca_file` says).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest

from telework.apply.run import ApplyRefused, apply
from telework.engine.deploy_support import loaded_inventory
from telework.plan.planner import Planner
from telework.plan.render import render
from telework.roles.igel.fake_ums import FakeUms
from telework.roles.igel.testing import make_tls
from telework.secrets.run import load_run_secrets
from telework.secrets.store import SecretStore

from ..conftest import SAMPLE

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "src" / "telework" / "plan" / "plan.schema.json").read_text())
PASSWORD = "imi-Pa55-w0rd-for-tests"
PROFILES_12 = ("tw-openvpn-os12", "tw-screenlock-os12", "tw-usb-storage-os12")
PROFILES_11 = ("tw-openvpn-os11", "tw-rdp-os11", "tw-screenlock-os11", "tw-usb-storage-os11")
LIMIT = "igel_devices"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def fake() -> FakeUms:
    fake = FakeUms()
    fake.add_user("telework-imi", PASSWORD)
    fw = {v: fake.add_firmware(v) for v in ("11.10.150.01", "12.5.1", "12.6.0")}
    for name in PROFILES_12:
        fake.add_profile(name, fw["12.5.1"])
    for name in PROFILES_11:
        fake.add_profile(name, fw["11.10.150.01"])
    fake.fw = fw
    return fake


@pytest.fixture
def ums(fake, tmp_path_factory):
    tls = make_tls(tmp_path_factory.mktemp("tls"))
    with fake.serve(tls.cert, tls.key) as running:
        running.tls = tls
        yield running


@pytest.fixture
def repo(tmp_path: Path, monkeypatch, ums) -> Path:
    """The sample in a git repository, with its IMI password as an age secret."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TELEWORK_AGE_IDENTITY", str(tmp_path / "ops-identity.txt"))
    inventory = tmp_path / "repo" / "inventory"
    shutil.copytree(SAMPLE, inventory)
    igel = inventory / "endpoints" / "igel.yml"
    igel.write_text(re.sub(r"url: https://\S+", f"url: {ums.url}", igel.read_text()))
    (inventory / "pki").mkdir(exist_ok=True)
    shutil.copy(ums.tls.ca, inventory / "pki" / "ca.crt")
    store = SecretStore(inventory)
    store.init_identity(comment="test")
    store.set("ums/imi-password", PASSWORD)
    git(inventory.parent, "init", "-q")
    git(inventory.parent, "add", "-A")
    git(inventory.parent, "-c", "user.name=test", "-c", "user.email=t@invalid", "commit", "-qm", "sample")
    return inventory


def _plan(repo: Path, limit: str = LIMIT):
    """As `telework plan` makes it: redacted and fingerprinted with the run's secrets."""
    run = load_run_secrets(repo)
    with Planner(repo, limit=limit, overlay={}, redactor=run.redactor,
                 fingerprint_key=run.fingerprint_key) as planner:
        return planner.plan()


def test_the_sample_plans_creates_directories_and_assignments(repo, fake):
    fake.clear_requests()
    plan = _plan(repo)
    devices = [h for h in plan.hosts if h.name.startswith("igel-")]
    dirs = {h.name: h for h in plan.hosts if h.name.startswith("ums-")}
    assert len(devices) == 103 and set(dirs) == {"ums-pilot", "ums-early", "ums-all"}
    assert {h.kind for h in plan.hosts} == {"api"} and {h.roles[0] for h in plan.hosts} == {"igel"}
    assert {h.status for h in plan.hosts} == {"changed"} and plan.exit_code == 2
    one = plan.host("igel-0001")
    [create] = one.changes
    assert create.op == "igel | create device igel-0001 (MAC 00E0C502810E) in gruenfelden/all/rathaus"
    assert "+serial_number: 177639631" in create.diff and "+site: rathaus" in create.diff
    # both IGEL OS's profiles go to each ring directory, OS 12 first; no device gets one itself
    pilot = [c.op for c in dirs["ums-pilot"].changes]
    assert pilot[:2] == ["igel | create directory gruenfelden", "igel | create directory gruenfelden/pilot"]
    assert pilot[-7:] == [f"igel | assign directory gruenfelden/pilot: profile {p}"
                          for p in (*PROFILES_12, *PROFILES_11)]
    assert not any("directory gruenfelden/all" in op for op in pilot)  # the all ring's, in its turn
    assert any(op.endswith("profile tw-openvpn-os11") for op in [c.op for c in dirs["ums-all"].changes])
    assert not any(": profile " in c.op for h in devices for c in h.changes)
    assert dirs["ums-all"].notes == []  # the mix is intended: not news for every plan
    # one read of the UMS, whatever the fleet size: only GETs, a fixed number
    assert {r.method for r in fake.requests} <= {"POST", "GET"}
    assert fake.count("GET", "/v3/thinclients") == 1
    jsonschema.validate(json.loads(render(plan, "json")), SCHEMA)
    assert "igel | create device igel-0001" in render(plan, "text") + render(plan, "markdown")


def test_apply_makes_them_ring_by_ring_and_a_second_plan_is_empty(repo, fake):
    outcome = apply(repo, limit=LIMIT)
    assert outcome.result == "ok", outcome.record
    assert [r.ring.name for r in outcome.rings] == ["pilot", "early", "all"]
    assert len([d for d in fake.s["devices"].values() if not d["movedToBin"]]) == 103
    record = outcome.record["hosts"]
    assert record["igel-0001"]["status"] == "changed" and record["igel-0001"]["ring"] == "all"
    assert record["ums-pilot"]["changed_ops"][0].startswith("igel | create directory")
    # an OS 12 profile is never assigned to an OS 11 device, and none reaches it (IGEL's rule:
    # inherited profiles of the other IGEL OS are ignored)
    os12 = {pid for pid, p in fake.s["profiles"].items() if p["name"].endswith("-os12")}
    for tc, dev in fake.s["devices"].items():
        assert not fake.s["assignments"].get(f"tc:{tc}")
        if fake.s["firmwares"][dev["firmwareID"]]["version"].startswith("11."):
            assert set(fake.effective_profiles(tc)) and not set(fake.effective_profiles(tc)) & os12
    again = _plan(repo)
    assert again.exit_code == 0, [(h.name, [c.op for c in h.changes], h.error) for h in again.hosts
                                  if h.status != "unchanged"]
    # the run record is stored beside the commit, secrets never in it
    notes = subprocess.run(["git", "notes", "--ref=refs/notes/telework/runs", "show", "HEAD"], cwd=repo.parent,
                           capture_output=True, text=True, check=True).stdout
    assert json.loads(notes.strip().splitlines()[-1])["run_id"] == outcome.record["run_id"]
    assert PASSWORD not in notes


def test_a_reviewed_plan_is_refused_after_the_ums_changed(repo, fake, tmp_path):
    reviewed = tmp_path / "plan.json"
    reviewed.write_text(render(_plan(repo), "json"))
    fake.add_device("00E0C502810E", fake.fw["12.5.1"], name="igel-0001")  # made by hand meanwhile
    with pytest.raises(ApplyRefused, match="igel-0001: reviewed change not planned now: igel \\| create device igel-0001"):
        apply(repo, limit=LIMIT, reviewed_plan=reviewed)
    assert len(fake.s["devices"]) == 1
    fake.s["devices"].clear()  # the hand-made record goes again: the UMS is as reviewed
    outcome = apply(repo, limit=LIMIT, reviewed_plan=reviewed)
    assert outcome.result == "ok" and len(fake.s["devices"]) == 103
    assert outcome.record["reviewed_plan"]


def test_a_partial_move_failure_fails_that_ring_and_stops_the_rollout(repo, fake):
    assert apply(repo, limit=LIMIT).result == "ok"
    # every ring's devices move to another site directory; two pilot moves fail
    igel = repo / "endpoints" / "igel.yml"
    text = igel.read_text()
    igel.write_text(re.sub(r"(\{name: igel-\d+, site: \S+, [^}]*)\}", r"\1, ums_directory: moved}", text))
    git(repo.parent, "-c", "user.name=test", "-c", "user.email=t@invalid", "commit", "-qam", "move all")
    loaded_inventory.cache_clear()  # one process, two inventories: as two CLI runs would see them
    plan = _plan(repo)
    pilot = sorted(h.name for h in plan.hosts if h.ring == "pilot" and h.name.startswith("igel-"))
    assert len(pilot) == 6
    ids = {d["name"]: i for i, d in fake.s["devices"].items()}
    for name in pilot[:2]:
        fake.inject_move_failure(ids[name])
    outcome = apply(repo, limit=LIMIT)
    assert outcome.result == "stopped" and outcome.exit_code == 1
    statuses = {r.ring.name: {outcome.results[n].status for n in r.ring.hosts} for r in outcome.rings}
    assert statuses["early"] == statuses["all"] == {"skipped"}
    failed = outcome.results[pilot[0]]
    assert failed.status == "failed" and "move answered 'does_not_exist'" in failed.error
    # later rings untouched: their devices are still in their site directories
    parents = {fake.s["directories"][d["parentID"]]["name"] for d in fake.s["devices"].values()
               if d["name"] not in pilot}
    assert "moved" not in parents


def test_an_unreachable_ums_makes_every_igel_target_unreachable(repo, ums):
    ums.stop()
    plan = _plan(repo)
    assert {h.status for h in plan.hosts} == {"unreachable"} and plan.exit_code == 1
    assert "UMS" in plan.host("igel-0001").error


def test_a_wrong_password_is_named_and_never_shown(repo, fake):
    fake.add_user("telework-imi", "another-password-entirely")
    plan = _plan(repo)
    assert {h.status for h in plan.hosts} == {"unreachable"}
    assert PASSWORD not in render(plan, "json")


def test_person_show_lists_the_igel_device_as_the_ums_reports_it(repo, fake):
    from click.testing import CliRunner

    from telework.cli.main import cli as main

    assert apply(repo, limit=LIMIT).result == "ok"
    runner = CliRunner()
    result = runner.invoke(main, ["person", "show", "gpetrovic", str(repo), "--format", "json"])
    assert result.exit_code == 0, result.output
    [device] = [d for d in json.loads(result.output)["devices"] if d["kind"] == "igel_devices"]
    ums = device["ums"]
    assert device["name"] == "igel-0003" and ums["directory"] == "/gruenfelden/all/rathaus"
    assert ums["firmware"] == "11.10.150.01" and ums["profiles"] == list(PROFILES_11)
    assert ums["assigned_to_device"] == []
    assert ums["inherited_profiles"] == [*PROFILES_12, *PROFILES_11]  # OS 12 ones ignored by OS 11
    assert "last_contact" in ums
    text = runner.invoke(main, ["person", "show", "gpetrovic", str(repo)])
    assert text.exit_code == 0 and "igel-0003" in text.output and "11.10.150.01" in text.output


def test_person_show_survives_an_unreachable_ums(repo, ums):
    from click.testing import CliRunner

    from telework.cli.main import cli as main

    ums.stop()
    result = CliRunner().invoke(main, ["person", "show", "gpetrovic", str(repo), "--format", "json"])
    assert result.exit_code == 0, result.output
    [device] = [d for d in json.loads(result.output)["devices"] if d["kind"] == "igel_devices"]
    assert "error" in device["ums"]


def test_person_status_reads_the_igel_device_live_from_the_ums(repo, ums, fake):
    """The helpdesk's `person status`: the device as the UMS has it now (its directory after the
    apply, its last contact), and the UMS named as unreachable once it stops answering."""
    from telework.inventory.loading import require_inventory
    from telework.roles.igel.status import person_status

    assert apply(repo, limit=LIMIT).result == "ok"
    facts = person_status(require_inventory(repo), "gpetrovic")
    device = facts.json["igel_devices"]["igel-0003"]
    assert device["directory"] == "/gruenfelden/all/rathaus" and "last_contact" in device
    assert facts.unreachable == {} and any(line.startswith("IGEL igel-0003: UMS /gruenfelden") for line in facts.lines)
    ums.stop()
    down = person_status(require_inventory(repo), "gpetrovic")
    assert "ums" in down.unreachable and "error" in down.json["igel_devices"]["igel-0003"]
    assert person_status(require_inventory(repo), "nobody-without-igel").json["igel_devices"] is None


def _edit(repo: Path, pattern: str, replacement: str) -> None:
    igel = repo / "endpoints" / "igel.yml"
    text = igel.read_text()
    new = re.sub(pattern, replacement, text)
    assert new != text, pattern
    igel.write_text(new)
    git(repo.parent, "-c", "user.name=test", "-c", "user.email=t@invalid", "commit", "-qam", pattern)
    loaded_inventory.cache_clear()


def test_a_firmware_rollout_reaches_the_pilot_ring_only(repo, fake):
    """The pilot ring's version goes up: its devices get settings2tc and a reboot, and take the
    firmware the administrator assigned to the pilot directory (the device side is SIMULATED)."""
    assert apply(repo, limit=LIMIT).result == "ok"
    for tc in fake.s["devices"]:
        fake.set_online(tc, True)
    pilot_dir = next(k for k, d in fake.s["directories"].items() if d["name"] == "pilot")
    fake.set_directory_firmware(pilot_dir, fake.add_firmware("12.7.0"))
    _edit(repo, r"pilot: \[12\.6\.0\]", "pilot: [12.7.0]")
    plan = _plan(repo)
    changed = {h.name: [c.op for c in h.changes] for h in plan.hosts if h.changes}
    pilot = sorted(h.name for h in plan.hosts if h.ring == "pilot" and h.name.startswith("igel-"))
    assert set(changed) == set(pilot)
    assert all(ops == [f"igel | command device {n} (MAC {ops[0].split('MAC ')[1].split(')')[0]}): firmware_update"]
               for n, ops in changed.items())
    assert "-firmware: 12.6.0" in plan.host(pilot[0]).changes[0].diff
    outcome = apply(repo, limit=LIMIT)
    assert outcome.result == "ok"
    versions = {fake.s["firmwares"][d["firmwareID"]]["version"] for d in fake.s["devices"].values()
                if d["name"] in pilot}
    assert versions == {"12.7.0"}
    after = _plan(repo)
    assert after.exit_code == 0  # the inventory's installed version is now behind: a note, no change
    assert any("another firmware" in n for n in after.host(pilot[0]).notes)


def test_settings2tc_of_an_apply_stays_under_the_configured_rate(repo, fake):
    """Every device moves: one settings2tc per device, spaced by the inventory's command_rate,
    across the rings (one throttle for the run), as the fake's request log shows."""
    assert apply(repo, limit=LIMIT).result == "ok"
    for tc in fake.s["devices"]:
        fake.set_online(tc, True)
    _edit(repo, r"command_rate: 2\.0", "command_rate: 80.0")
    _edit(repo, r"(\{name: igel-\d+, site: \S+, [^}]*)\}", r"\1, ums_directory: moved}")
    fake.clear_requests()
    assert apply(repo, limit=LIMIT).result == "ok"
    sent = fake.matching("POST", "/v3/thinclients", {"command": "settings2tc"})
    assert sum(r.items for r in sent) == 103
    assert max(r.items for r in sent) <= 25  # the default batch
    for earlier, later in zip(sent, sent[1:]):  # arrival times: allow 20 ms of network jitter
        assert later.time - earlier.time >= earlier.items / 80.0 - 0.02


def test_the_audit_links_a_ring_move_to_the_apply_that_made_it_in_the_ums(repo, fake):
    """A run limited to other devices reaches the commit first but does not move the device; the
    audit names the later run that did, with what it did in the UMS."""
    from telework.audit.i18n import Catalogue
    from telework.audit.log import Audit, entry_json

    assert apply(repo, limit=LIMIT).result == "ok"
    for tc in fake.s["devices"]:
        fake.set_online(tc, True)
    _edit(repo, r"(\{name: igel-0001, site: rathaus, owner: dseidel, ring: )all", r"\1pilot")
    time.sleep(1.1)  # run records carry start times in seconds: keep the runs' order unambiguous
    limited = apply(repo, limit="igel-0002")
    assert limited.result == "ok"
    time.sleep(1.1)
    made = apply(repo, limit=LIMIT)
    assert made.result == "ok", made.record["hosts"].get("igel-0001")
    assert made.record["hosts"]["igel-0001"]["status"] == "changed"
    with Audit(repo) as audit:
        [entry] = [e for e in audit.log(device="igel-0001") if e.event.kind == "device_ring_changed"]
        data = entry_json(entry, Catalogue("en"), audit.tz)
    assert data["applied"]["first"]["run_id"] == limited.record["run_id"]
    device = data["applied"]["made_on_device"]
    assert device["run_id"] == made.record["run_id"]
    assert any(op.startswith("igel | move device igel-0001") and op.endswith("gruenfelden/pilot/rathaus")
               for op in device["ops"])


def test_verify_runs_the_igel_suite_once_for_igel_targets(repo):
    """`telework verify --limit igel_devices` has no SSH host to check but the IGEL suite."""
    from telework.verify.run import api_suites

    suites, chosen = api_suites(repo, "igel_devices")
    assert [s.name for s in suites] == ["test_igel.py"] and "igel-0001" in chosen
    assert api_suites(repo, "vpn-a")[0] == []
    with pytest.raises(Exception, match="matches no host and no group"):
        api_suites(repo, "no-such-host")


def test_the_igel_suite_passes_against_the_applied_ums_and_fails_on_a_crossed_profile(repo, fake):
    """The host suite run as `telework verify` runs it, against the fake UMS after apply."""
    from telework.resources import host_suites_dir
    from telework.verify.run import pytest_args

    assert apply(repo, limit=LIMIT).result == "ok"
    env = {**__import__("os").environ, "TELEWORK_VERIFY": "1", "TELEWORK_INVENTORY": str(repo)}
    cmd = [__import__("sys").executable, "-m", "pytest", *pytest_args([host_suites_dir() / "test_igel.py"])]
    done = subprocess.run(cmd, env=env, cwd=host_suites_dir(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout
    tc = next(i for i, d in fake.s["devices"].items() if d["name"] == "igel-0003")  # IGEL OS 11
    os12 = next(i for i, p in fake.s["profiles"].items() if p["name"] == "tw-openvpn-os12")
    fake.s["assignments"][f"tc:{tc}"] = [["profile", os12]]  # made by hand past the UMS's rule
    done = subprocess.run(cmd, env=env, cwd=host_suites_dir(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "igel-0003: other IGEL OS ['tw-openvpn-os12']" in done.stdout


def test_an_itg_error_names_the_device_and_the_fix(repo, fake):
    """A device in the UMS recycle bin (no call may act on it, ITG-0A018) fails its target only,
    with its name, MAC and what to do."""
    tc = fake.add_device("00E0C502810E", fake.fw["12.5.1"], name="igel-0001")
    fake.move_to_bin(tc)
    plan = _plan(repo)
    one = plan.host("igel-0001")
    assert one.status == "failed" and plan.exit_code == 1
    assert "igel-0001" in one.error and "00E0C502810E" in one.error and "ITG-0A018" in one.error
    assert "restore it there" in one.error
    assert plan.host("igel-0002").status == "changed"  # the others are planned as usual


def test_a_ring_firmware_for_an_unknown_ring_is_an_error_naming_file_and_line(repo, fake):
    """The IGEL targets fail with the file, line and fix, before the UMS is asked; a plan of
    other hosts is not held up by it."""
    _edit(repo, r"    pilot: \[12\.6\.0\]", "    pilots: [12.6.0]")
    fake.clear_requests()
    plan = _plan(repo)
    assert {h.status for h in plan.hosts} == {"failed"} and plan.exit_code == 1
    message = plan.host("igel-0001").error
    assert re.search(r"endpoints/igel\.yml:\d+: ring 'pilots' is not one of the rollout_rings", message)
    assert "fix the ring name" in message
    assert fake.requests == []  # nothing read, nothing changed
    # the other host: sip-1 with the SIP role left out (a managed SSH host would be connected to)
    from telework.roles.registry import ROLES

    without_sip = tuple(r for r in ROLES if r.name != "sip_server")
    with Planner(repo, limit="sip_servers", registry=without_sip, overlay={}) as planner:
        assert [h.name for h in planner.plan().hosts] == ["sip-1"]


def test_bootstrap_writes_a_setup_ini_per_site_and_igel_os(tmp_path):
    from click.testing import CliRunner

    from telework.cli.main import cli as main
    from telework.roles.igel import vlist

    result = CliRunner().invoke(main, ["igel", "bootstrap", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    os12 = vlist.parse((tmp_path / "rathaus" / "os12" / "setup.ini").read_text())
    assert os12["system.remotemanager.connector0.address"] == {"value": "ums.gruenfelden.example"}
    assert os12["system.remotemanager.connector0.port"] == {"value": "8443"}
    assert os12["system.remotemanager.ums_structure_tag"] == {"value": "rathaus"}
    os11 = vlist.parse((tmp_path / "buergerbuero-sued" / "os11" / "setup.ini").read_text())
    assert os11["system.remotemanager.server0.port"] == {"value": "30001"}
    assert len(list(tmp_path.rglob("setup.ini"))) == 6
