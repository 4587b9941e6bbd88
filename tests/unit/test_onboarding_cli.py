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
    # the helpdesk as the inventory's organisation names it (organisation.yml, helpdesk:)
    assert "+49 9999 12-1000" in text and "Mo-Fr 7:30-16:00" in text and "it-service@gruenfelden.example" in text
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


# ---------------------------------------------------------------- HR import


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    from ..conftest import SAMPLE
    import shutil

    root = tmp_path / "gruenfelden"
    shutil.copytree(SAMPLE, root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", "sample")
    return root


def test_person_import_writes_exactly_the_joiners_the_move_and_the_leaver_for_review(repo, tmp_path):
    from .test_onboarding_hr_import import EXPORT, FIXTURES, write_csv

    export = write_csv(tmp_path / "Mitarbeiterliste.csv", EXPORT)
    mapping = str(FIXTURES / "mapping-csv.yml")
    dry = run("person", "import", str(export), str(repo), "--mapping", mapping, "--today", "2026-12-01")
    assert "2 joiners, 1 changed, 1 to suspend, 1 revocations to run" in dry
    assert "nothing written" in dry and git(repo, "status", "--porcelain") == ""
    done = run("person", "import", str(export), str(repo), "--mapping", mapping, "--today", "2026-12-01", "--write")
    assert 'after the merge: telework person revoke ahorn --reason' in done
    status = sorted(git(repo, "status", "--porcelain").splitlines())
    assert status == [" M people/buergerbuero-sued.yml", " M people/rathaus.yml", " M people/technisches-rathaus.yml",
                      "?? access/"]
    diff = git(repo, "diff", "-U0", "--no-color")
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert [line.split(",")[0] for line in removed] == ["-  - {username: ahorn", "-  - {username: abecker"]
    assert sorted(line.split(",")[0] for line in added) == [
        "+  - {username: abecker", "+  - {username: ahorn", "+  - {username: jmueller2", "+  - {username: zweiss"]
    assert any("department: stadtkasse" in line for line in added if "abecker" in line)
    assert any("status: suspended" in line for line in added if "ahorn" in line)


def test_person_import_names_the_row_and_column_of_a_malformed_row_and_writes_nothing(repo, tmp_path):
    from .test_onboarding_hr_import import FIXTURES, HEADER, write_csv

    export = write_csv(tmp_path / "export.csv", [HEADER, "00104712;Zoë;;60;TR;;01.12.2026;"])
    result = CliRunner().invoke(cli, ["person", "import", str(export), str(repo), "--mapping",
                                      str(FIXTURES / "mapping-csv.yml"), "--write"])
    assert result.exit_code == 1
    assert 'row 2, column "Nachname": is empty (fix: fill in the surname, or remove the row)' in result.output
    assert "Traceback" not in result.output and git(repo, "status", "--porcelain") == ""


def test_person_import_of_an_ldif_export_writes_the_same_change_as_the_csv(repo, tmp_path):
    from .test_onboarding_hr_import import EXPORT, FIXTURES, write_csv

    run("person", "import", str(FIXTURES / "users.ldf"), str(repo), "--mapping", str(FIXTURES / "mapping-ldif.yml"),
        "--today", "2026-12-01", "--write")
    from_ldif = git(repo, "diff", "--no-color")
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "clean", "-qfd")
    export = write_csv(tmp_path / "Mitarbeiterliste.csv", EXPORT)
    run("person", "import", str(export), str(repo), "--mapping", str(FIXTURES / "mapping-csv.yml"),
        "--today", "2026-12-01", "--write")
    assert from_ldif and git(repo, "diff", "--no-color") == from_ldif
