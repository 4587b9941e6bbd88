"""Handover letters: the PDF as a person sees it (rasterised, QR code scanned), its texts in
German and English, and how the files that carry a TOTP seed are written and removed.

Uses Debian's poppler-utils (pdftoppm, pdftotext, pdfinfo) and zbar-tools (zbarimg)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import subprocess
from datetime import date
from pathlib import Path

import pytest

from telework.inventory.source import parse_yaml
from telework.onboarding import letters as L
from telework.onboarding.letter_texts import LANGUAGES, TEMPLATES
from telework.roles.vpn.enrolment import otpauth_uri


def _needs(tool: str, package: str):
    return pytest.mark.skipif(shutil.which(tool) is None and not os.environ.get("CI"),
                              reason=f"{tool} is not installed (Debian package {package})")


needs_poppler = _needs("pdftoppm", "poppler-utils")
needs_zbar = _needs("zbarimg", "zbar-tools")

ORG = "Stadt Grünfelden"
SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # RFC 4648 example, no real account
WHEN = date(2026, 11, 23)
HELPDESK = L.Helpdesk("IT-Service der Stadt Grünfelden", phone="+49 9999 12-1000",
                      email="it-service@gruenfelden.example", hours="Mo–Fr 7:30–16:00")


def full_letter(username: str = "jmueller2", language: str = "de") -> L.Letter:
    return L.Letter(
        username=username, name="Jürgen Müller", organisation=ORG, otpauth_uri=otpauth_uri(ORG, username, SEED),
        openvpn=L.OpenVpnItem(f"{username}.ovpn"),
        notebooks=(L.NotebookItem("nb-0001", "Lenovo ThinkPad T14 Gen 4"),),
        desk_phones=(L.DeskPhoneItem("Yealink T46U", "+49 9999 12-1912", "1912"),),
        igel_devices=(L.IgelItem("igel-0001", "UD3-M340C"),), language=language)


def short_letter(username: str, name: str = "Zoë Weiß", language: str = "de") -> L.Letter:
    return L.Letter(username=username, name=name, organisation=ORG, otpauth_uri=otpauth_uri(ORG, username, SEED),
                    openvpn=L.OpenVpnItem(f"{username}.ovpn"), language=language)


def pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE).group(1))


def raster(path: Path, out: Path, page: int = 1, dpi: int = 150) -> Path:
    """The page as an 8-bit grey PGM image, as a printer or screen would show it."""
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                    str(path), str(out)], check=True, capture_output=True)
    return out.with_suffix(".pgm")


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    match = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    width, height = int(match.group(1)), int(match.group(2))
    return width, height, data[match.end():]


def scan(image: Path) -> list[str]:
    """Every QR code zbarimg finds in the image (it exits 4 when it finds none)."""
    result = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
                            check=False, capture_output=True, text=True)
    assert result.returncode in (0, 4), result.stderr
    return [line for line in result.stdout.splitlines() if line]


# ---------------------------------------------------------------- what the person sees


@needs_poppler
@needs_zbar
def test_letter_renders_and_its_qr_code_scans_to_exactly_the_otpauth_uri(tmp_path: Path):
    letter = full_letter()
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(L.render_letter(letter, HELPDESK, when=WHEN))
    width, height, pixels = read_pgm(raster(pdf, tmp_path / "page1"))
    assert abs(width - 1240) <= 2 and abs(height - 1754) <= 2  # A4 at 150 dpi
    dark = sum(1 for p in pixels if p < 128) / len(pixels)
    assert 0.02 < dark < 0.30, f"page 1 is {dark:.1%} dark: blank or a black box, not a letter"
    assert scan(tmp_path / "page1.pgm") == [letter.otpauth_uri]
    # one QR code in the whole letter: the later pages carry none
    for page in range(2, pdf_pages(pdf) + 1):
        assert scan(raster(pdf, tmp_path / f"page{page}", page)) == []


@needs_poppler
@needs_zbar
def test_qr_code_still_scans_from_a_coarse_100_dpi_image(tmp_path: Path):
    letter = short_letter("zweiss")
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(L.render_letter(letter, HELPDESK, when=WHEN))
    assert scan(raster(pdf, tmp_path / "coarse", dpi=100)) == [letter.otpauth_uri]


@needs_poppler
def test_letter_names_the_person_every_item_and_the_helpdesk(tmp_path: Path):
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(L.render_letter(full_letter(), HELPDESK, when=WHEN))
    text = " ".join(pdf_text(pdf).split())
    for expected in ("Jürgen Müller", "jmueller2", "jmueller2.ovpn", "nb-0001", "Lenovo ThinkPad T14 Gen 4",
                     "Yealink T46U", "+49 9999 12-1912", "1912", "igel-0001", "UD3-M340C",
                     "IT-Service der Stadt Grünfelden", "+49 9999 12-1000", "it-service@gruenfelden.example",
                     "Mo–Fr 7:30–16:00", "23.11.2026"):
        assert expected in text, expected
    # the key for typing in, in groups of four, and nothing else of the URI in clear text
    assert "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP" in text
    assert "otpauth://" not in text


@needs_poppler
def test_german_is_the_default_english_on_request_and_umlauts_survive(tmp_path: Path):
    german, english = tmp_path / "de.pdf", tmp_path / "en.pdf"
    german.write_bytes(L.render_letter(full_letter(), HELPDESK, when=WHEN))
    english.write_bytes(L.render_letter(full_letter(language="en"), HELPDESK, when=WHEN))
    de = " ".join(pdf_text(german).split())
    en = " ".join(pdf_text(english).split())
    assert "Ihr Zugang für die Arbeit von zu Hause" in de and "Your access for working from home" not in de
    assert "Your access for working from home" in en and "Ihr Zugang" not in en
    # German letters: umlauts and ß of the texts and of the data come out as written
    for word in ("Jürgen Müller", "Grünfelden", "außen", "Schlüssel", "Persönlich", "für"):
        assert word in de, word
    assert "Jürgen Müller" in en and "Grünfelden" in en
    shared = set(de.split()) & set(en.split())
    assert len(shared) < 0.3 * len(set(de.split())), "the English letter repeats much of the German one"


def test_both_languages_have_the_same_texts_and_placeholders():
    catalogues = {lang: parse_yaml((TEMPLATES / f"{lang}.yml").read_text(encoding="utf-8")) for lang in LANGUAGES}

    def flatten(node, prefix=""):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from flatten(value, f"{prefix}{key}.")
        elif isinstance(node, list):
            yield prefix.rstrip("."), tuple(sorted(set(re.findall(r"{(\w+)}", " ".join(node))))), len(node)
        else:
            yield prefix.rstrip("."), tuple(sorted(set(re.findall(r"{(\w+)}", str(node))))), 1

    shapes = {lang: {key: (names, n) for key, names, n in flatten(data)} for lang, data in catalogues.items()}
    assert shapes["de"] == shapes["en"]
    same = [k for k, *_ in flatten(catalogues["de"]) if _value(catalogues["de"], k) == _value(catalogues["en"], k)]
    assert set(same) <= {"sender", "model_note", "notebook.heading"}, f"texts not translated: {same}"


def _value(data: dict, dotted: str):
    for part in dotted.split("."):
        data = data[part]
    return data


def test_unknown_language_and_bad_input_are_clear_errors_that_never_echo_the_seed():
    with pytest.raises(L.LetterError, match="no letter texts in 'fr'"):
        L.render_letter(short_letter("zweiss", language="fr"), HELPDESK)
    wrong = L.Letter("zweiss", "Zoë Weiß", ORG, otpauth_uri=SEED, openvpn=L.OpenVpnItem("zweiss.ovpn"))
    with pytest.raises(L.LetterError) as caught:
        L.render_letter(wrong, HELPDESK)
    assert SEED not in str(caught.value) and "otpauth://totp/" in str(caught.value)
    with pytest.raises(L.LetterError, match="nothing to hand over"):
        L.render_letter(L.Letter("zweiss", "Zoë Weiß", ORG), HELPDESK)
    assert SEED not in repr(short_letter("zweiss"))


# ---------------------------------------------------------------- the batch


@needs_poppler
def test_batch_has_every_letter_and_each_starts_on_a_new_sheet(tmp_path: Path):
    people = [short_letter("zweiss"), full_letter("jmueller2"), short_letter("ldabrowski", "Łukasz Dąbrowski", "en")]
    handover = L.write_letters(tmp_path / "out", people, HELPDESK, when=WHEN)
    own = {u: pdf_pages(path) for u, path in handover.letters.items()}
    assert own == handover.pages
    batch = handover.batch
    # duplex: every letter padded to whole sheets, so the batch is exactly that long
    assert pdf_pages(batch) == handover.batch_pages == sum(n + n % 2 for n in own.values())
    page = 1
    for letter in people:
        first = " ".join(pdf_text(batch, page).split())
        assert letter.name in first, f"page {page} should start the letter of {letter.username}"
        for n in range(own[letter.username]):
            footer = " ".join(pdf_text(batch, page + n).split())
            assert re.search(rf"{letter.username} · (Seite|page) {n + 1} (von|of) {own[letter.username]}", footer)
        page += own[letter.username] + own[letter.username] % 2
        assert page % 2 == 1, "a letter would start on the back of another one's sheet"


@needs_poppler
def test_batch_for_single_sided_printing_has_no_blank_pages(tmp_path: Path):
    people = [short_letter("zweiss"), short_letter("ldabrowski", "Łukasz Dąbrowski")]
    pdf, counts = L.render_batch(people, HELPDESK, when=WHEN, duplex=False)
    path = tmp_path / "batch.pdf"
    path.write_bytes(pdf)
    singles = []
    for letter in people:
        one = tmp_path / f"{letter.username}.pdf"
        one.write_bytes(L.render_letter(letter, HELPDESK, when=WHEN))
        singles.append(pdf_pages(one))
    assert counts == singles and pdf_pages(path) == sum(singles)


# ---------------------------------------------------------------- files that carry a seed


def test_letters_are_created_0600_in_a_0700_directory_even_with_an_open_umask(tmp_path: Path):
    old = os.umask(0)
    try:
        handover = L.write_letters(tmp_path / "handover" / "2026-11-23", [short_letter("zweiss")], HELPDESK)
    finally:
        os.umask(old)
    directory = handover.directory
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "handover").stat().st_mode) == 0o700
    files = sorted(directory.iterdir())
    assert {f.name for f in files} == {"zweiss.pdf", handover.batch.name, L.MANIFEST}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert SEED not in (directory / L.MANIFEST).read_text(encoding="utf-8")


def test_a_directory_inside_a_git_work_tree_is_refused_and_nothing_is_written(tmp_path: Path):
    repo = tmp_path / "org-inventory"
    (repo / ".git").mkdir(parents=True)
    for target in (repo, repo / "handover", repo / "inventory" / "letters"):
        with pytest.raises(L.LetterError, match="inside the git work tree .*org-inventory.*never be committed"):
            L.write_letters(target, [short_letter("zweiss")], HELPDESK)
    assert sorted(p.name for p in repo.rglob("*")) == [".git"]
    worktree = tmp_path / "worktree"  # a `git worktree` has a .git file, not a directory
    worktree.mkdir()
    (worktree / ".git").write_text("gitdir: /elsewhere\n")
    with pytest.raises(L.LetterError, match="inside the git work tree"):
        L.write_letters(worktree / "out", [short_letter("zweiss")], HELPDESK)


def test_remove_by_person_keeps_the_batch_until_everyone_in_it_is_handed_over(tmp_path: Path):
    people = [short_letter("zweiss"), short_letter("ldabrowski", "Łukasz Dąbrowski")]
    handover = L.write_letters(tmp_path / "out", people, HELPDESK)
    other = tmp_path / "out" / "notes.txt"
    other.write_text("not a letter")
    first = L.remove_letters(tmp_path / "out", ["zweiss"])
    assert first.removed == [handover.letters["zweiss"]]
    assert first.kept_batches == {handover.batch: ["ldabrowski"]}
    with pytest.raises(L.LetterError, match="no letter for nobody"):
        L.remove_letters(tmp_path / "out", ["ldabrowski", "nobody"])
    assert handover.letters["ldabrowski"].exists()
    second = L.remove_letters(tmp_path / "out", ["ldabrowski"])
    assert set(second.removed) == {handover.letters["ldabrowski"], handover.batch, tmp_path / "out" / L.MANIFEST}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]


def test_remove_all_removes_every_letter_and_batch_written_there(tmp_path: Path):
    L.write_letters(tmp_path / "out", [short_letter("zweiss")], HELPDESK)
    L.write_letters(tmp_path / "out", [short_letter("ldabrowski", "Łukasz Dąbrowski")], HELPDESK)
    removal = L.remove_letters(tmp_path / "out")
    assert len(removal.removed) == 5 and not removal.kept_batches  # 2 letters, 2 batches, the manifest
    assert list((tmp_path / "out").iterdir()) == []


def test_nothing_of_a_letter_is_logged(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG)
    L.write_letters(tmp_path / "out", [full_letter()], HELPDESK)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SEED not in logged and "Jürgen" not in logged and "otpauth" not in logged
