"""Bulk enrolment: a department, a site or everyone pending in one run, rerun-safe after a kill."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from telework.cli.main import cli
from telework.inventory.loading import require_inventory
from telework.inventory.lookup import UnknownName
from telework.roles.vpn import bulk_enrolment, enrolment, pki
from telework.roles.vpn.bulk_enrolment import Selection
from telework.roles.vpn.people import AccessError, enrolled_usernames, vpn_people
from telework.roles.vpn.revocations import load_revocations
from telework.secrets.store import SecretStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def initialised(sample: Path, store: SecretStore) -> Path:
    pki.init_pki(sample, store)
    return sample


def people_of(inventory: Path, **where) -> list[str]:
    loaded = require_inventory(inventory)
    return sorted(p.username for p in vpn_people(loaded) if p.has_access
                  and all(getattr(p, k) == v for k, v in where.items()))


def staged_people(staging: Path) -> list[Path]:
    return [p for p in staging.glob("*.json") if p.name != bulk_enrolment.PLAN_FILE] if staging.exists() else []


def valid_certs(inventory: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cert in pki.load_issued(inventory):
        if cert.kind == "person" and cert.revoked is None:
            out.setdefault(cert.owner, []).append(cert.serial)
    return out


def test_a_department_is_enrolled_in_one_run_with_one_valid_certificate_each(initialised, store, tmp_path):
    expected = people_of(initialised, department="stadtkasse")
    result = bulk_enrolment.enroll_many(initialised, store, Selection(department="stadtkasse"),
                                        tmp_path / "out", now=NOW)
    assert result.enrolled == expected
    certs = valid_certs(initialised)
    assert sorted(certs) == expected and all(len(v) == 1 for v in certs.values())
    assert enrolled_usernames(initialised) == frozenset(expected)
    for username in expected:
        bundle = tmp_path / "out" / f"{username}.ovpn"
        assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
        assert "# VPN access to" in bundle.read_text() and "<key>" in bundle.read_text()
    assert not (tmp_path / "out" / bulk_enrolment.STAGING).exists()
    # the seeds decrypt, and each index entry says totp
    assert store.info(f"totp/{expected[0]}").kind == "totp" and len(store.get(f"totp/{expected[0]}")) == 32


def test_the_bundle_is_the_same_as_one_by_one_enrolment_makes(initialised, store, tmp_path):
    """Bulk and single enrolment write the same bundle layout (only keys and serials differ)."""
    username = people_of(initialised, department="rechtsamt")[0]
    enrolment.enroll(initialised, store, username, tmp_path / "one", now=NOW)
    single = (tmp_path / "one" / f"{username}.ovpn").read_text()
    bulk_enrolment.enroll_many(initialised, store, Selection(department="rechtsamt"), tmp_path / "many", now=NOW)
    bulk = (tmp_path / "many" / f"{username}.ovpn").read_text()
    strip = lambda t: [line for line in t.splitlines() if not line.startswith(("# Written", "# valid", "MII"))
                       and len(line) < 60]  # noqa: E731
    assert strip(single)[:20] == strip(bulk)[:20]


def test_pending_skips_the_enrolled_and_reenrolment_revokes_the_old_certificate(initialised, store, tmp_path):
    dept = people_of(initialised, department="liegenschaften")
    first = enrolment.enroll(initialised, store, dept[0], tmp_path / "one", now=NOW)
    dry = bulk_enrolment.enroll_many(initialised, store, Selection(department="liegenschaften", pending=True),
                                     tmp_path / "out", dry_run=True, now=NOW)
    assert [p.username for p in dry.planned] == dept[1:] and dry.dry_run
    assert not (tmp_path / "out").exists(), "a dry run writes nothing"
    again = bulk_enrolment.enroll_many(initialised, store, Selection(department="liegenschaften"),
                                       tmp_path / "out", dry_run=True, now=NOW)
    assert next(p for p in again.planned if p.username == dept[0]).supersedes == [first.serial]
    done = bulk_enrolment.enroll_many(initialised, store, Selection(department="liegenschaften"),
                                      tmp_path / "out", now=NOW)
    assert done.revoked == [first.serial]
    assert all(len(v) == 1 for v in valid_certs(initialised).values())
    crl = pki.crl_info(initialised)
    assert crl.revoked == 1


def test_reenrolment_lifts_a_revocation(initialised, store, tmp_path):
    username = people_of(initialised, department="rechtsamt")[0]
    enrolment.enroll(initialised, store, username, tmp_path / "one", now=NOW)
    enrolment.revoke(initialised, store, username, "lost the phone", by="test", now=NOW)
    # revoked people have no access: the department run leaves them out until the revocation is lifted
    assert username not in people_of(initialised, department="rechtsamt")
    assert username in load_revocations(initialised)


def test_unknown_department_names_the_closest(initialised, store, tmp_path):
    with pytest.raises(UnknownName, match="no department 'stadtkase'.*did you mean stadtkasse"):
        bulk_enrolment.enroll_many(initialised, store, Selection(department="stadtkase"), tmp_path / "out")


def test_a_commit_interrupted_half_way_is_finished_by_the_rerun(initialised, store, tmp_path, monkeypatch):
    """Killed after issued.yml is written but before the seeds: the rerun finishes, once each."""
    expected = people_of(initialised, department="rechtsamt")
    earlier = enrolment.enroll(initialised, store, expected[0], tmp_path / "one", now=NOW)
    real = store.put_encrypted

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(store, "put_encrypted", crash)
    with pytest.raises(KeyboardInterrupt):
        bulk_enrolment.enroll_many(initialised, store, Selection(department="rechtsamt"), tmp_path / "out", now=NOW)
    assert sorted(valid_certs(initialised)) == expected  # recorded already
    assert enrolled_usernames(initialised) == frozenset([expected[0]])  # only the earlier enrolment
    assert pki.crl_info(initialised).revoked == 0  # the crash came before the CRL was signed
    monkeypatch.setattr(store, "put_encrypted", real)
    with pytest.raises(AccessError, match="interrupted enrolment .*--department rechtsamt"):
        bulk_enrolment.enroll_many(initialised, store, Selection(pending=True), tmp_path / "out", now=NOW)
    result = bulk_enrolment.enroll_many(initialised, store, Selection(department="rechtsamt"),
                                        tmp_path / "out", now=NOW)
    assert result.enrolled == expected and result.resumed == expected
    certs = valid_certs(initialised)
    assert sorted(certs) == expected and all(len(v) == 1 for v in certs.values())
    assert enrolled_usernames(initialised) == frozenset(expected)
    from cryptography import x509

    crl = x509.load_pem_x509_crl(pki.crl_pem(initialised).encode())
    assert [pki.serial_hex(r.serial_number) for r in crl] == [earlier.serial]


def test_killed_while_staging_the_rerun_enrols_everyone_exactly_once(initialised, tmp_path):
    """A real SIGKILL of `telework person enroll --pending` half-way, then the same command again."""
    expected = people_of(initialised)
    out = tmp_path / "out"
    staging = out / bulk_enrolment.STAGING
    cmd = [str(Path(sys.executable).with_name("telework")), "person", "enroll", "--pending", str(initialised), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        staged = len(staged_people(staging))
        if staged >= len(expected) // 3:
            break
        time.sleep(0.005)
    assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    staged = len(staged_people(staging))
    assert 0 < staged < len(expected)
    assert pki.load_issued(initialised) and valid_certs(initialised) == {}, "nothing committed yet"
    assert enrolled_usernames(initialised) == frozenset()
    rerun = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"kept {staged} people staged by the interrupted run" in rerun.stdout
    assert f"enrolled {len(expected)} people" in rerun.stdout
    certs = valid_certs(initialised)
    assert sorted(certs) == expected
    assert all(len(serials) == 1 for serials in certs.values()), "someone was enrolled twice"
    assert enrolled_usernames(initialised) == frozenset(expected)
    assert sorted(p.stem for p in out.glob("*.ovpn")) == expected
    third = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert third.returncode == 0 and "nobody to enrol" in third.stdout


def test_cli_dry_run_and_summary(initialised, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    dry = runner.invoke(cli, ["person", "enroll", "--department", "rechtsamt", "--dry-run", str(initialised),
                              "--out", str(out)])
    assert dry.exit_code == 0, dry.output
    expected = people_of(initialised, department="rechtsamt")
    assert f"would enrol {len(expected)} people (--department rechtsamt)" in dry.output
    assert "nothing was written" in dry.output and not out.exists()
    done = runner.invoke(cli, ["person", "enroll", "--department", "rechtsamt", str(initialised), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert f"enrolled {len(expected)} people: {', '.join(expected)}" in done.output
    bad = runner.invoke(cli, ["person", "enroll", "--site", "rathaus", "someone", str(initialised), "--out", str(out)])
    assert bad.exit_code == 2 and "give only INVENTORY" in bad.output


def test_someone_without_a_tunnel_address_stops_the_run_before_anything_is_written(initialised, store, tmp_path):
    path = initialised / "allocations.yml"
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if "person:rberger " not in line))
    issued = (initialised / pki.ISSUED_FILE).read_text()
    with pytest.raises(AccessError, match=r"1 of them have no tunnel address yet \(rberger\): run `telework ipam sync"):
        bulk_enrolment.enroll_many(initialised, store, Selection(department="rechtsamt"), tmp_path / "out")
    assert not (tmp_path / "out").exists() and (initialised / pki.ISSUED_FILE).read_text() == issued
