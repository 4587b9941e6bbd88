"""`telework person letter` and `handover-done`: letters of enrolled people, from the CLI.

The PDF is rasterised (pdftoppm) and its QR code scanned (zbarimg): it must be the otpauth
URI of the seed the RADIUS server checks, and a code computed from the scan must be the code
of that seed (RFC 6238). Nothing of it may reach the command's output or the inventory."""

from __future__ import annotations

import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from telework.cli.main import cli
from telework.roles.vpn import bulk_enrolment, pki
from telework.roles.vpn.bulk_enrolment import Selection
from telework.secrets.store import SecretStore

from .test_enrolment import rfc6238
from .test_onboarding_letters import needs_poppler, needs_zbar, raster, scan

DEPT = "rechtsamt"


@pytest.fixture
def enrolled(sample: Path, store: SecretStore, tmp_path: Path) -> Path:
    pki.init_pki(sample, store)
    bulk_enrolment.enroll_many(sample, store, Selection(department=DEPT), tmp_path / "bundles")
    return sample


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@needs_poppler
@needs_zbar
@pytest.mark.parametrize("language", ["de", "en"])
def test_a_letter_renders_and_its_qr_code_gives_the_seed_radius_checks(enrolled, store, tmp_path, language):
    username = "rberger" if store.exists("totp/rberger") else sorted(
        p.name[:-4] for p in (enrolled / "secrets" / "totp").iterdir())[0]
    out = tmp_path / "letters"
    output = run("person", "letter", username, str(enrolled), "--out", str(out), "--language", language)
    pdf = out / f"{username}.pdf"
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600 and stat.S_IMODE(out.stat().st_mode) == 0o700
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert username in text and ("IT-Service der Stadt" in text if language == "de" else "IT service of" in text)
    (uri,) = scan(raster(pdf, tmp_path / "page1"))
    seed = store.get(f"totp/{username}")
    assert uri.startswith(f"otpauth://totp/Stadt%20Gr%C3%BCnfelden:{username}?")
    scanned = parse_qs(urlsplit(uri).query)["secret"][0]
    now = datetime.now(UTC)
    assert rfc6238(scanned, now) == rfc6238(seed, now)
    assert seed not in output and "otpauth" not in output
    record = (enrolled / "access" / "letters.yml").read_text()
    assert username in record and seed not in record and "otpauth" not in record
    assert f'language: "{language}"' in record


def test_a_department_gets_letters_and_a_batch_and_handover_removes_them(enrolled, tmp_path):
    out = tmp_path / "letters"
    output = run("person", "letter", "--department", DEPT, str(enrolled), "--out", str(out))
    pdfs = sorted(p.name for p in out.glob("*.pdf"))
    batch = [n for n in pdfs if n.startswith("letters-")]
    assert len(batch) == 1 and "wrote the batch for printing" in output
    people = [n[:-4] for n in pdfs if not n.startswith("letters-")]
    assert people and all(stat.S_IMODE((out / n).stat().st_mode) == 0o600 for n in pdfs)
    first = run("person", "handover-done", str(out), people[0])
    assert f"{people[0]}.pdf" in first and "kept letters-" in first
    run("person", "handover-done", str(out), "--all")
    assert list(out.iterdir()) == []


def test_letters_are_refused_inside_a_git_work_tree(enrolled, tmp_path):
    subprocess.run(["git", "init", "-q", str(enrolled)], check=True)
    result = CliRunner().invoke(cli, ["person", "letter", "--department", DEPT, str(enrolled),
                                      "--out", str(enrolled / "letters")])
    assert result.exit_code == 1
    assert "inside the git work tree" in result.output and not (enrolled / "letters").exists()


def test_people_not_enrolled_are_named_and_get_no_qr_code(sample, store, tmp_path):
    pki.init_pki(sample, store)
    result = CliRunner().invoke(cli, ["person", "letter", "--department", "edv", str(sample),
                                                      "--out", str(tmp_path / "letters")])
    assert "are not enrolled: their letters have no QR code" in result.output
    if result.exit_code == 1:  # nobody had a device or phone either
        assert "nothing to hand over" in result.output


def test_the_audit_sees_that_a_letter_was_made_for_whom_and_nothing_else(enrolled, tmp_path):
    from telework.roles.vpn.audit import letter_events, parse_letters
    from telework.inventory.source import parse_yaml

    run("person", "letter", "--department", DEPT, str(enrolled), "--out", str(tmp_path / "a"))
    first = parse_letters(parse_yaml((enrolled / "access" / "letters.yml").read_text()))
    run("person", "letter", sorted(first)[0], str(enrolled), "--out", str(tmp_path / "b"), "--language", "en")
    second = parse_letters(parse_yaml((enrolled / "access" / "letters.yml").read_text()))
    events = letter_events(first, second, lambda u: u.upper())
    assert [(e.kind, e.params["person"], e.params["language"]) for e in events] == \
        [("letter_made", sorted(first)[0], "en")]
    assert set(events[0].params) == {"person", "name", "made", "by", "language", "items"}
    assert events[0].params["items"].startswith("authenticator, openvpn")
