"""HR import: an export (CSV as German HR systems write it, LDIF of Active Directory) becomes
exactly the expected change of a copy of the sample inventory, with every decision explained,
and malformed input is refused with the file, row, column and fix, writing nothing."""

from __future__ import annotations

import difflib
import hashlib
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from telework.inventory.loading import load_inventory
from telework.inventory.source import parse_yaml
from telework.onboarding import usernames
from telework.onboarding.hr_import import HrImportError, propose
from telework.onboarding.hr_links import LINKS_FILE
from telework.onboarding.hr_mapping import load_mapping
from telework.onboarding.hr_sources import read_export
from telework.onboarding.people_writer import apply_changes, format_scalar

from ..conftest import REPO, SAMPLE

FIXTURES = REPO / "tests" / "fixtures" / "hr"
TODAY = date(2026, 12, 1)
HEADER = "Personalnummer;Vorname;Nachname;Organisationseinheit;Dienstort;E-Mail;Eintritt;Austritt"
#: two joiners (Jürgen Müller clashes with jmueller, Jana Müller), a department move, a leaver
EXPORT = [
    HEADER,
    "00100234;Anna;Becker;21;RH;;01.04.2011;",
    "00104711;Jürgen;Müller;50;BBS;juergen.mueller@gruenfelden.example;01.12.2026;",
    "00104712;Zoë;Weiß;60;TR;;01.12.2026;",
    "00100777;Andrea;Horn;50;BBS;;01.03.2015;30.11.2026",
]


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    target = tmp_path / "gruenfelden"
    shutil.copytree(SAMPLE, target)
    return target


def write_csv(path: Path, rows: list[str], encoding: str = "utf-8-sig") -> Path:
    """As Excel writes it: CRLF, UTF-8 with BOM ("CSV UTF-8") or Windows-1252 ("CSV")."""
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode(encoding))
    return path


def people_by_file(root: Path) -> dict[str, list[dict]]:
    return {p.name: parse_yaml(p.read_text(encoding="utf-8"))["people"]
            for p in sorted((root / "people").glob("*.yml"))}


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines removed, lines added) between two texts; every other line is byte-identical."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    removed, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += a[i1:i2]
            added += b[j1:j2]
    return removed, added


def line_of(root: Path, file: str, username: str) -> str:
    return next(line for line in (root / "people" / file).read_text(encoding="utf-8").splitlines(keepends=True)
                if line.startswith(f"  - {{username: {username},"))


# ---------------------------------------------------------------- the change, exactly


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_csv_with_joiners_a_move_and_a_leaver_becomes_exactly_that_diff(inventory: Path, tmp_path: Path,
                                                                        encoding: str):
    export = write_csv(tmp_path / "Mitarbeiterliste.csv", EXPORT, encoding)
    before_files = {f: (inventory / "people" / f).read_text(encoding="utf-8") for f in
                    ("rathaus.yml", "buergerbuero-sued.yml", "technisches-rathaus.yml")}
    before_people = people_by_file(inventory)
    before_all = snapshot(inventory)
    before_other = {k: v for k, v in before_all.items() if not k.startswith("people/")}
    old_becker, old_horn = line_of(inventory, "rathaus.yml", "abecker"), line_of(inventory, "buergerbuero-sued.yml",
                                                                                   "ahorn")

    proposal = propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    assert snapshot(inventory) == before_all  # proposing writes nothing
    written = apply_changes(inventory, proposal.changes)

    assert sorted(p.relative_to(inventory).as_posix() for p in written) == [
        "access/personnel.yml", "people/buergerbuero-sued.yml", "people/rathaus.yml",
        "people/technisches-rathaus.yml"]
    # the data: exactly these four changes
    expected = {f: [dict(p) for p in people] for f, people in before_people.items()}
    next(p for p in expected["rathaus.yml"] if p["username"] == "abecker")["department"] = "stadtkasse"
    next(p for p in expected["buergerbuero-sued.yml"] if p["username"] == "ahorn")["status"] = "suspended"
    expected["buergerbuero-sued.yml"].append({"username": "jmueller2", "name": "Jürgen Müller",
                                              "department": "sozialamt", "site": "buergerbuero-sued", "vpn": True,
                                              "email": "juergen.mueller@gruenfelden.example"})
    expected["technisches-rathaus.yml"].append({"username": "zweiss", "name": "Zoë Weiß", "department": "bauamt",
                                                "site": "technisches-rathaus", "vpn": True})
    after_people = people_by_file(inventory)
    for file, people in expected.items():
        assert sorted(after_people[file], key=lambda p: p["username"]) == sorted(people, key=lambda p: p["username"])
        usernames_in_file = [p["username"] for p in after_people[file]]
        assert usernames_in_file == sorted(usernames_in_file), f"{file} is no longer sorted by username"
    # the text: untouched lines keep their bytes, changed lines change only the value
    diffs = {f: changed_lines(text, (inventory / "people" / f).read_text(encoding="utf-8"))
             for f, text in before_files.items()}
    assert diffs["rathaus.yml"] == ([old_becker], [old_becker.replace("department: kaemmerei",
                                                                      "department: stadtkasse")])
    assert diffs["buergerbuero-sued.yml"][0] == [old_horn]
    assert sorted(diffs["buergerbuero-sued.yml"][1]) == sorted([
        old_horn.replace("site: buergerbuero-sued,", "site: buergerbuero-sued, status: suspended,"),
        ("  - {username: jmueller2, name: Jürgen Müller, department: sozialamt, site: buergerbuero-sued, vpn: true, "
        "email: juergen.mueller@gruenfelden.example}\n")])
    assert diffs["technisches-rathaus.yml"] == ([], [
        "  - {username: zweiss, name: Zoë Weiß, department: bauamt, site: technisches-rathaus, vpn: true}\n"])
    # nothing else in the inventory changed; the links are recorded for the next import
    after_other = {k: v for k, v in snapshot(inventory).items() if not k.startswith("people/")}
    assert after_other.pop(str(LINKS_FILE)) and after_other == before_other
    assert parse_yaml((inventory / LINKS_FILE).read_text(encoding="utf-8")) == {"personnel": {
        "00100234": "abecker", "00100777": "ahorn", "00104711": "jmueller2", "00104712": "zweiss"}}
    # and the result is a valid inventory (the joiners' tunnel addresses come with `ipam sync`)
    assert [p.format() for p in load_inventory(inventory).errors] == []


def test_every_decision_is_explained(inventory: Path, tmp_path: Path):
    export = write_csv(tmp_path / "export.csv", EXPORT)
    proposal = propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    report = proposal.report()
    assert report.startswith("4 people in the export: 2 joiners, 1 changed, 1 to suspend, 1 revocations to run")
    by_action = {}
    for decision in proposal.decisions:
        by_action.setdefault((decision.action, decision.subject), []).append(decision.message)
    assert by_action[("username", "jmueller2")] == [
        "jmueller is taken: Jana Müller (people/buergerbuero-sued.yml); jmueller2 is free (clash rule digits)"]
    assert by_action[("username", "zweiss")] == ["zweiss from pattern {given:1}{surname}"]
    assert by_action[("move", "abecker")] == [
        'department kaemmerei -> stadtkasse: HR department "21" maps to stadtkasse']
    assert by_action[("match", "abecker")] == [
        "Anna Becker is abecker (people/rathaus.yml): matched by the name Anna Becker (the only person of that name)"]
    assert by_action[("leave", "ahorn")][0].startswith("left on 2026-11-30 (HR export ")
    [revocation] = proposal.changes.revocations
    assert revocation.username == "ahorn"
    assert revocation.command.startswith('telework person revoke ahorn --reason "left on 2026-11-30')
    # every decision names the row it comes from, in the export's order
    lines = [int(d.source.split(":")[1].split()[0]) for d in proposal.decisions]
    assert lines == sorted(lines) and set(lines) == {2, 3, 4, 5}


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_ldif_export_with_base64_and_folded_lines_gives_the_same_people(inventory: Path, tmp_path: Path,
                                                                        line_end: str):
    ldif = tmp_path / "users.ldf"
    ldif.write_bytes((FIXTURES / "users.ldf").read_text(encoding="utf-8").replace("\n", line_end).encode())
    csv_export = write_csv(tmp_path / "export.csv", EXPORT, "cp1252")
    from_csv = propose(inventory, csv_export, FIXTURES / "mapping-csv.yml", today=TODAY)
    from_ldif = propose(inventory, ldif, FIXTURES / "mapping-ldif.yml", today=TODAY)

    def facts(records):
        return [(r.personnel_number, r.given_name, r.surname, r.department, r.site, r.email, r.start_date,
                 r.leave_date) for r in records]

    assert facts(from_ldif.records) == facts(from_csv.records)
    assert [r.name for r in from_ldif.records] == ["Anna Becker", "Jürgen Müller", "Zoë Weiß", "Andrea Horn"]
    # entries 1 and 4 (an OU, a group) are no people; lines point at each entry's dn line
    assert [r.source.label.split(" (")[0] for r in from_ldif.records] == ["entry 2", "entry 3", "entry 5", "entry 6"]
    text = (FIXTURES / "users.ldf").read_text(encoding="utf-8").splitlines()
    assert all(text[r.source.line - 1].startswith("dn") for r in from_ldif.records)
    assert from_ldif.changes.joiners == from_csv.changes.joiners
    assert from_ldif.changes.updates == from_csv.changes.updates
    assert [s.username for s in from_ldif.changes.suspensions] == ["ahorn"]
    assert from_ldif.changes.links == from_csv.changes.links


def test_a_site_move_takes_the_line_into_the_other_sites_file(inventory: Path, tmp_path: Path):
    export = write_csv(tmp_path / "export.csv", [HEADER, "00100234;Anna;Becker;20;TR;;01.04.2011;"])
    old = line_of(inventory, "rathaus.yml", "abecker")
    rathaus = (inventory / "people" / "rathaus.yml").read_text(encoding="utf-8")
    technisches = (inventory / "people" / "technisches-rathaus.yml").read_text(encoding="utf-8")
    proposal = propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    assert [(c.field, c.old, c.new) for u in proposal.changes.updates for c in u.changes] == [
        ("site", "rathaus", "technisches-rathaus")]
    apply_changes(inventory, proposal.changes)
    assert changed_lines(rathaus, (inventory / "people" / "rathaus.yml").read_text(encoding="utf-8")) == ([old], [])
    assert changed_lines(technisches, (inventory / "people" / "technisches-rathaus.yml").read_text(
        encoding="utf-8")) == ([], [old.replace("site: rathaus", "site: technisches-rathaus")])
    assert [p.format() for p in load_inventory(inventory).errors] == []


def test_a_complete_export_proposes_only_the_people_missing_from_it(inventory: Path, tmp_path: Path):
    """The whole city exported, as HR does every month: two people are missing, so they left;
    nobody else changes (a second import links by personnel number, names may repeat)."""
    loaded = load_inventory(inventory)
    codes = {d.id: f"D{n:02d}" for n, d in enumerate(loaded.model.departments)}
    site_codes = {"rathaus": "RH", "technisches-rathaus": "TR", "buergerbuero-sued": "BBS"}
    mapping = parse_yaml((FIXTURES / "mapping-csv.yml").read_text(encoding="utf-8"))
    mapping["departments"] = {code: dep for dep, code in codes.items()}
    mapping["complete"] = True
    (tmp_path / "mapping.yml").write_text(json.dumps(mapping), encoding="utf-8")
    rows, links = [HEADER], {}
    for n, person in enumerate(loaded.model.people):
        number = f"{n + 1:08d}"
        links[number] = person.username
        if person.username in ("bbauer", "wkoenig"):
            continue
        given, surname = person.name.split(" ", 1)
        rows.append(f"{number};{given};{surname};{codes[person.department]};{site_codes[person.site]};;01.01.2020;")
    (inventory / "access").mkdir(exist_ok=True)
    (inventory / LINKS_FILE).write_text("personnel:\n" + "".join(f'  "{k}": {v}\n' for k, v in links.items()),
                                        encoding="utf-8")
    export = write_csv(tmp_path / "export.csv", rows)  # Ayşe, Łukasz: not in cp1252
    proposal = propose(inventory, export, tmp_path / "mapping.yml", today=TODAY)
    changes = proposal.changes
    assert [s.username for s in changes.suspensions] == ["bbauer", "wkoenig"]
    assert all("not in the complete HR export" in s.reason for s in changes.suspensions)
    assert not changes.joiners and not changes.updates and not changes.links
    # matched people whose names HR spells without accents would be notes, never renames
    assert {d.action for d in proposal.decisions} <= {"match", "leave", "revoke", "note"}


def test_leavers_to_come_and_joiners_far_ahead_are_left_for_a_later_import(inventory: Path, tmp_path: Path):
    export = write_csv(tmp_path / "export.csv", [
        HEADER, "00100777;Andrea;Horn;50;BBS;;01.03.2015;31.12.2026", "00104720;Ida;Imhof;60;TR;;01.06.2027;"])
    proposal = propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    assert not proposal.changes.suspensions and not proposal.changes.joiners
    messages = {d.action: d.message for d in proposal.decisions if d.action in ("note", "defer")}
    assert messages["note"].startswith("leaves on 2026-12-31: the suspension is proposed by an import on or after")
    assert messages["defer"] == "Ida Imhof starts on 2027-06-01, more than 30 days ahead: added by a later import"


# ---------------------------------------------------------------- usernames


def test_usernames_never_reuse_one_of_a_past_person(inventory: Path, tmp_path: Path):
    git = ["git", "-C", str(inventory), "-c", "user.name=Ops", "-c", "user.email=ops@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    people = inventory / "people" / "technisches-rathaus.yml"
    original = people.read_text(encoding="utf-8")
    people.write_text(original + "  - {username: zweiss, name: Zacharias Weiss, department: bauamt, "
                      "site: technisches-rathaus}\n", encoding="utf-8")
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "Zacharias Weiss joins"], check=True)
    people.write_text(original, encoding="utf-8")
    subprocess.run([*git, "commit", "-qam", "Zacharias Weiss leaves"], check=True)
    (inventory / "access").mkdir()
    (inventory / "access" / "revocations.yml").write_text(
        'revocations:\n  iimhof:\n    date: 2026-01-15\n    reason: "left"\n    by: "Ops"\n', encoding="utf-8")
    export = write_csv(tmp_path / "export.csv", [HEADER, "00104712;Zoë;Weiß;60;TR;;01.12.2026;",
                                                 "00104720;Ida;Imhof;60;TR;;01.12.2026;"])
    proposal = propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    assert [j.username for j in proposal.changes.joiners] == ["zweiss2", "iimhof2"]
    reasons = {d.subject: d.message for d in proposal.decisions if d.action == "username"}
    assert reasons["zweiss2"] == ("zweiss is taken: a past person (in the inventory's git history); "
                                  "zweiss2 is free (clash rule digits)")
    assert reasons["iimhof2"] == ("iimhof is taken: a past person (revoked 2026-01-15, access/revocations.yml); "
                                  "iimhof2 is free (clash rule digits)")


def test_two_joiners_of_one_name_get_different_usernames_and_next_letter_works(inventory: Path, tmp_path: Path):
    mapping = (FIXTURES / "mapping-csv.yml").read_text(encoding="utf-8").replace("clash: digits",
                                                                                  "clash: next_letter")
    (tmp_path / "mapping.yml").write_text(mapping, encoding="utf-8")
    export = write_csv(tmp_path / "export.csv", [HEADER, "00104711;Jürgen;Müller;50;BBS;;01.12.2026;",
                                                 "00104719;Jürgen;Müller;60;TR;;01.12.2026;"])
    proposal = propose(inventory, export, tmp_path / "mapping.yml", today=TODAY)
    assert [j.username for j in proposal.changes.joiners] == ["juemueller", "juermueller"]
    reason = next(d.message for d in proposal.decisions if d.subject == "juermueller" and d.action == "username")
    assert "juemueller is taken: Jürgen Müller, a joiner of this import (row 2)" in reason


@pytest.mark.parametrize(("given", "surname", "pattern", "expected"), [
    ("Jürgen", "Müller", "{given:1}{surname}", "jmueller"),
    ("Özlem", "Şahin", "{given:1}{surname}", "oesahin"),
    ("Łukasz", "Dąbrowski", "{given:1}{surname}", "ldabrowski"),
    ("Renée", "Çelik-Nußbaum", "{given:1}{surname}", "rceliknussbaum"),
    ("Ayşe", "Yılmaz", "{given}.{surname}", "ayse.yilmaz"),
    ("Sean", "O'Neill", "{surname:6}{given:2}", "oneillse"),
])
def test_transliteration_is_german_first_then_accents_dropped(given, surname, pattern, expected):
    assert usernames.render(pattern, given, surname) == expected


def test_new_values_are_written_plain_only_where_yaml_reads_them_back_as_text():
    assert format_scalar("Jürgen Müller") == "Jürgen Müller"
    for tricky in ("true", "null", "12.6", "0640", "Ja: Nein", "#1", "- dash", "a, b", "2026-12-01", ""):
        written = format_scalar(tricky)
        assert parse_yaml("{k: " + written + "}") == {"k": tricky}, written


# ---------------------------------------------------------------- bad input


def test_malformed_rows_are_named_with_file_row_column_and_fix_and_nothing_is_written(inventory: Path,
                                                                                      tmp_path: Path):
    export = write_csv(tmp_path / "export.csv", [
        HEADER,
        "00104711;Jürgen;Müller;50;BBS;juergen.mueller@gruenfelden.example;01.12.2026;",
        "00104712;Zoë;;60;TR;;01.12.2026;",
        "00104713;Ida;Imhof;77;TR;;01.12.2026;",
        "00104714;Jan;Jansen;50;BBS;jan@;31.02.2026;",
        "00104715;Kai;Kern;50;BBS",
        "00104711;Lea;Lang;50;BBS;;01.12.2026;",
    ])
    before = snapshot(inventory)
    with pytest.raises(HrImportError) as caught:
        propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    mapping = FIXTURES / "mapping-csv.yml"
    assert [p.format() for p in caught.value.problems] == [
        f'{export}:3: error: row 3, column "Nachname": is empty (fix: fill in the surname, or remove the row)',
        (f"{export}:4: error: row 4, column \"Organisationseinheit\": HR code '77' is not in the mapping (fix: add "
        f'it under departments: in {mapping}, e.g. "77": <department id>, or "77": null to leave these people out)'),
        (f"{export}:5: error: row 5, column \"Eintritt\": '31.02.2026' is not a date in the form DD.MM.YYYY (fix: "
        f"write it like 01.03.2026)"),
        (f"{export}:5: error: row 5, column \"E-Mail\": 'jan@' is not an email address (fix: write it as "
        f"name@example.org, or leave it empty)"),
        (f"{export}:6: error: row 6: 5 fields, the header has 8 (fix: check the delimiter ';' and the quotes of "
        f"this row (a field holding ';' must be in double quotes))"),
        (f'{export}:7: error: row 7, column "Personalnummer": personnel number 00104711 appears again (first in '
        f"row 2, line 2) (fix: keep one row per person)"),
    ]
    assert snapshot(inventory) == before


def test_encoding_delimiter_and_header_mistakes_say_how_to_export_again(inventory: Path, tmp_path: Path):
    mapping = FIXTURES / "mapping-csv.yml"
    broken = tmp_path / "broken.csv"
    broken.write_bytes(("\r\n".join(EXPORT[:2]) + "\r\n").encode("cp1252") + b"00100235;Bad;\x81yte;21;RH;;;\r\n")
    comma = write_csv(tmp_path / "comma.csv", [line.replace(";", ",") for line in EXPORT])
    header = write_csv(tmp_path / "header.csv", [HEADER.replace("Austritt", "Austrittsdatum"), *EXPORT[1:]])
    messages = {}
    for path in (broken, comma, header):
        with pytest.raises(HrImportError) as caught:
            propose(inventory, path, mapping, today=TODAY)
        messages[path.name] = [p.format() for p in caught.value.problems]
    assert messages["broken.csv"] == [
        (f'{broken}:3: error: byte 0x81 is not text in utf-8, cp1252 (fix: save the export as UTF-8 (Excel: '
        f'"CSV UTF-8") or as Windows-1252, and set csv.encoding)')]
    assert messages["comma.csv"] == [
        (f"{comma}:1: error: the header has one column only; the file is separated by ',' (fix: set "
        f'csv.delimiter: "," in {mapping})')]
    assert messages["header.csv"] == [
        (f"{header}:1: error: column \"Austritt\" is not in the header (fix: the header has 'Personalnummer', "
        f"'Vorname', 'Nachname', 'Organisationseinheit', 'Dienstort', 'E-Mail', 'Eintritt', 'Austrittsdatum'; "
        f"did you mean 'Austrittsdatum'? correct fields: in {mapping})")]


def test_malformed_ldif_entries_are_named_with_their_line(inventory: Path, tmp_path: Path):
    text = (FIXTURES / "users.ldf").read_text(encoding="utf-8")
    bad = tmp_path / "bad.ldf"
    bad.write_text(text.replace("sn: Horn\n", "").replace("whenCreated: 20110331220000.0Z",
                                                           "whenCreated: 2011-03-31"), encoding="utf-8")
    with pytest.raises(HrImportError) as caught:
        propose(inventory, bad, FIXTURES / "mapping-ldif.yml", today=TODAY)
    dn_becker = "CN=Becker\\, Anna,OU=Kaemmerei,OU=Benutzer,DC=gruenfelden,DC=example"
    dn_horn = "CN=Horn\\, Andrea,OU=Sozialamt,OU=Benutzer,DC=gruenfelden,DC=example"
    assert [p.format() for p in caught.value.problems] == [
        (f"{bad}:10: error: entry 2 ({dn_becker}), attribute \"whenCreated\": '2011-03-31' is not a date in the "
        f"form LDAP GeneralizedTime (fix: e.g. 20261130000000Z)"),
        (f'{bad}:62: error: entry 6 ({dn_horn}), attribute "sn": is empty (fix: fill in the surname, or remove '
        f"the entry)"),
    ]
    garbage = tmp_path / "garbage.ldf"
    garbage.write_text(text.replace("employeeID: 00104712", "employeeID 00104712"), encoding="utf-8")
    with pytest.raises(HrImportError, match=r"garbage.ldf:49: error: entry 5: not valid LDIF \(a line without ':'\)"):
        propose(inventory, garbage, FIXTURES / "mapping-ldif.yml", today=TODAY)


def test_a_name_shared_by_two_people_is_an_error_until_a_link_says_which(inventory: Path, tmp_path: Path):
    export = write_csv(tmp_path / "export.csv", [HEADER, "00100999;Ahmet;Arslan;50;BBS;;01.01.2020;"])
    with pytest.raises(HrImportError) as caught:
        propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    assert [p.format() for p in caught.value.problems] == [
        (f"{export}:2: error: row 2: Ahmet Arslan is the name of 2 people and no personnel number tells which: "
        f"aarslan (people/buergerbuero-sued.yml), aarslan2 (people/buergerbuero-sued.yml) (fix: add the right one "
        f'to access/personnel.yml, e.g. "00100999": aarslan)')]
    (inventory / "access").mkdir()
    (inventory / LINKS_FILE).write_text('personnel:\n  "00100999": aarslan2\n', encoding="utf-8")
    proposal = propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    assert proposal.changes.empty
    assert proposal.decisions[0].message.startswith("Ahmet Arslan is aarslan2")


def test_mapping_mistakes_name_the_mapping_files_line(inventory: Path, tmp_path: Path):
    text = (FIXTURES / "mapping-csv.yml").read_text(encoding="utf-8")
    cases = {
        "target": (text.replace('"50": sozialamt', '"50": sozialamtt'),
                   ("departments.50: 'sozialamtt' is not a department of the inventory (fix: use 'sozialamt', or "
                   "null to leave these people out)")),
        "quotes": (text.replace('"21": stadtkasse', "21: stadtkasse"),
                   ("departments: HR code 21 is not in quotes (fix: write it as \"21\" (unquoted numbers lose leading "
                   "zeros, 010 even reads as 8))")),
        "unknown": (text.replace("usernames: {", "usernamse: {"), ("unknown key 'usernamse' (fix: remove it or "
                    "correct the spelling)")),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(HrImportError) as caught:
            load_mapping(path, departments={"sozialamt", "stadtkasse", "hauptamt", "personalamt", "kaemmerei", "edv",
                                            "standesamt", "jugendamt", "bauamt", "buergeramt"},
                         sites={"rathaus", "technisches-rathaus", "buergerbuero-sued"})
        [problem] = caught.value.problems
        key = {"target": '"50"', "quotes": "21:", "unknown": "usernamse"}[name]
        line = next(n for n, text_line in enumerate(content.splitlines(), 1) if text_line.lstrip().startswith(key))
        assert problem.format() == f"{path}:{line}: error: {message}"


def test_a_change_set_applied_twice_is_refused_the_second_time(inventory: Path, tmp_path: Path):
    export = write_csv(tmp_path / "export.csv", EXPORT)
    proposal = propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    apply_changes(inventory, proposal.changes)
    after = snapshot(inventory)
    with pytest.raises(HrImportError, match="joiner jmueller2 is already in the inventory"):
        apply_changes(inventory, proposal.changes)
    assert snapshot(inventory) == after
    # and the export read again proposes nothing new: everyone is linked and up to date
    again = propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    assert not again.changes.joiners and not again.changes.updates and not again.changes.links
    assert [s.username for s in again.changes.suspensions] == []


def test_read_export_alone_gives_records_for_other_callers(tmp_path: Path):
    mapping = load_mapping(FIXTURES / "mapping-csv.yml", departments={"stadtkasse", "sozialamt", "bauamt",
                           "hauptamt", "personalamt", "kaemmerei", "edv", "standesamt", "jugendamt", "buergeramt"},
                           sites={"rathaus", "technisches-rathaus", "buergerbuero-sued"})
    records = read_export(write_csv(tmp_path / "e.csv", EXPORT), mapping)
    assert [(r.personnel_number, r.department, r.site) for r in records][:2] == [
        ("00100234", "stadtkasse", "rathaus"), ("00104711", "sozialamt", "buergerbuero-sued")]


def test_a_joiner_of_a_site_without_people_gets_a_new_people_file(inventory: Path, tmp_path: Path):
    organisation = inventory / "organisation.yml"
    text = organisation.read_text(encoding="utf-8")
    organisation.write_text(text.replace("rollout_rings:", "  - id: bauhof\n    name: Bauhof\n\nrollout_rings:", 1),
                            encoding="utf-8")
    mapping = (FIXTURES / "mapping-csv.yml").read_text(encoding="utf-8")
    mapping = mapping.replace("  BBS: buergerbuero-sued", "  BBS: buergerbuero-sued\n  BH: bauhof")
    (tmp_path / "mapping.yml").write_text(mapping, encoding="utf-8")
    export = write_csv(tmp_path / "export.csv", [HEADER, "00104712;Zoë;Weiß;60;BH;;01.12.2026;"])
    apply_changes(inventory, propose(inventory, export, tmp_path / "mapping.yml", today=TODAY).changes)
    new = (inventory / "people" / "bauhof.yml").read_text(encoding="utf-8")
    assert new == ("# People based at Bauhof, one a line, sorted by username.\n"
                   "# yaml-language-server: $schema=../../schema/inventory.schema.json\n\npeople:\n"
                   "  - {username: zweiss, name: Zoë Weiß, department: bauamt, site: bauhof, vpn: true}\n")
    assert [p.format() for p in load_inventory(inventory).errors] == []


def test_block_style_entries_are_edited_key_by_key(inventory: Path, tmp_path: Path):
    people = inventory / "people" / "buergerbuero-sued.yml"
    flow = line_of(inventory, "buergerbuero-sued.yml", "ahorn")
    block = ("  - username: ahorn\n    name: Andrea Horn  # Teamleitung\n    department: sozialamt\n"
             "    site: buergerbuero-sued\n    vpn: true\n"
             "    phone: {extension: \"2099\", did: \"+49 9999 12-2099\"}\n")
    people.write_text(people.read_text(encoding="utf-8").replace(flow, block), encoding="utf-8")
    export = write_csv(tmp_path / "export.csv", [HEADER, "00100777;Andrea;Horn;51;BBS;;01.03.2015;30.11.2026",
                                                 "00100778;Andrea;Horn;51;BBS;;01.03.2015;"])
    with pytest.raises(HrImportError, match="matches ahorn"):  # two rows, one person: refused
        propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY)
    row = "00100777;Andrea;Horn;51;BBS;a.horn@gruenfelden.example;01.03.2015;"
    export = write_csv(tmp_path / "export.csv", [HEADER, row])
    before = people.read_text(encoding="utf-8")
    apply_changes(inventory, propose(inventory, export, FIXTURES / "mapping-csv.yml", today=TODAY).changes)
    removed, added = changed_lines(before, people.read_text(encoding="utf-8"))
    assert removed == ["    department: sozialamt\n"]
    assert added == ["    department: jugendamt\n", "    email: a.horn@gruenfelden.example\n"]
    assert "    name: Andrea Horn  # Teamleitung\n" in people.read_text(encoding="utf-8")
