"""Handover letters: one PDF per person with everything they receive, and a batch for printing.

A letter names the person and their username, lists what they receive (OpenVPN bundle,
WireGuard notebook, desk phone and number, IGEL device), gives the setup steps for each and
the helpdesk's contact, and carries the QR code of their authenticator app's `otpauth://`
URI. German by default, English on request; the words are in templates/onboarding/.

The QR code is the person's TOTP seed, so a letter is a secret until it is handed over:

* letters are written only into a directory the operator names, never inside a git work
  tree (an inventory repository, a checkout of telework): `LetterError` instead;
* every file is created 0600 (`atomicfile.write_atomic`: the mode is set on the empty
  temporary file, before a byte is written) in a directory created 0700;
* `remove_letters` deletes them after the handover, by person or all; a batch is deleted
  once everyone in it is handed over. The directory's `letters.json` says which file holds
  whom (usernames only), so removal never guesses and never touches other files;
* nothing here logs, and no error message or repr() carries the URI or the seed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from telework.core.atomicfile import write_atomic
from telework.core.problems import TeleworkError
from telework.onboarding import letter_pdf
from telework.onboarding.letter_texts import DEFAULT_LANGUAGE, LANGUAGES, LetterTexts

MANIFEST = "letters.json"
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{0,31}$")


class LetterError(TeleworkError):
    """A letter cannot be made, written or removed as asked."""


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class Helpdesk:
    """Who helps when something does not work (the caller takes it from the inventory)."""

    name: str
    phone: str | None = None
    email: str | None = None
    hours: str | None = None


@dataclass(frozen=True)
class OpenVpnItem:
    """The OpenVPN bundle, handed over separately (it holds the certificate's private key)."""

    bundle: str  # file name the person receives, e.g. jmueller.ovpn


@dataclass(frozen=True)
class NotebookItem:
    """A WireGuard notebook; its tunnel needs no password or code."""

    name: str
    model: str | None = None


@dataclass(frozen=True)
class DeskPhoneItem:
    model: str
    number: str  # as the person reads it (DIN 5008), e.g. +49 9999 12-1912
    extension: str


@dataclass(frozen=True)
class IgelItem:
    name: str
    model: str | None = None


@dataclass(frozen=True)
class Letter:
    """One person's letter. `otpauth_uri` is the TOTP seed: repr() hides it.

    Without `otpauth_uri` the letter has no QR code (the person keeps the app set up at an
    earlier enrolment)."""

    username: str
    name: str
    organisation: str  # also the issuer the authenticator app shows (as `enrolment.otpauth_uri`)
    otpauth_uri: str | None = field(default=None, repr=False)
    openvpn: OpenVpnItem | None = None
    notebooks: tuple[NotebookItem, ...] = ()
    desk_phones: tuple[DeskPhoneItem, ...] = ()
    igel_devices: tuple[IgelItem, ...] = ()
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Handover:
    """What `write_letters` wrote: usernames only, never content."""

    directory: Path
    letters: dict[str, Path]
    batch: Path | None
    pages: dict[str, int]  # pages of each person's letter (written with `each`)
    batch_pages: int = 0


@dataclass(frozen=True)
class Removal:
    removed: list[Path]
    #: batches kept because they still hold letters of people not handed over yet
    kept_batches: dict[Path, list[str]]


# ---------------------------------------------------------------- rendering


def render_letter(letter: Letter, helpdesk: Helpdesk, *, when: date | None = None) -> bytes:
    """The PDF of one letter (no blank padding page)."""
    return letter_pdf.render([_layout(letter, helpdesk)], when or _today(), duplex=False)[0]




def render_batch(letters: Sequence[Letter], helpdesk: Helpdesk, *, when: date | None = None,
                 duplex: bool = True) -> tuple[bytes, list[int]]:
    """All letters in one PDF for printing, each starting on a new page (with `duplex`, on a
    new sheet); returns the PDF and each letter's number of pages in it, padding included."""
    if not letters:
        raise LetterError("no letters to put into a batch: name at least one person")
    _unique(letters)
    return letter_pdf.render([_layout(x, helpdesk) for x in letters], when or _today(), duplex=duplex)


def _layout(letter: Letter, helpdesk: Helpdesk) -> letter_pdf.LetterLayout:
    _check(letter)
    texts = LetterTexts(letter.language)

    def model_note(model: str | None) -> str:
        return texts.text("model_note", model=model) if model else ""

    items: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    if letter.otpauth_uri is not None:
        items.append(texts.text("items.authenticator"))
    if letter.openvpn is not None:
        params = {"bundle": letter.openvpn.bundle, "username": letter.username}
        items.append(texts.text("items.openvpn", bundle=letter.openvpn.bundle))
        sections.append((texts.text("openvpn.heading"), texts.texts("openvpn.steps", **params)))
    for nb in letter.notebooks:
        items.append(texts.text("items.notebook", device=nb.name, model_note=model_note(nb.model)))
        sections.append((texts.text("notebook.heading", device=nb.name),
                         texts.texts("notebook.steps", username=letter.username)))
    for phone in letter.desk_phones:
        params = {"model": phone.model, "number": phone.number, "extension": phone.extension}
        items.append(texts.text("items.desk_phone", **params))
        sections.append((texts.text("desk_phone.heading", model=phone.model),
                         texts.texts("desk_phone.steps", number=phone.number, extension=phone.extension)))
    for igel in letter.igel_devices:
        items.append(texts.text("items.igel", device=igel.name, model_note=model_note(igel.model)))
        sections.append((texts.text("igel.heading", device=igel.name),
                         texts.texts("igel.steps", username=letter.username)))
    lines = []
    for key in ("phone", "email", "hours"):
        value = getattr(helpdesk, key)
        if value:
            lines.append(texts.text(f"helpdesk.{key}", **{key: value}))
    qr = letter_pdf.qr_matrix(letter.otpauth_uri) if letter.otpauth_uri is not None else None
    return letter_pdf.LetterLayout(
        username=letter.username, name=letter.name, organisation=letter.organisation,
        language=letter.language, otpauth_uri=letter.otpauth_uri, qr_matrix=qr, items=items, sections=sections,
        helpdesk_lines=lines, helpdesk_name=helpdesk.name)


def _check(letter: Letter) -> None:
    who = letter.username or "(no username)"
    if not _USERNAME.match(letter.username or ""):
        raise LetterError(f"letter for {who!r}: not a username of the inventory (lower-case ASCII, "
                          f"starting with a letter)")
    if not letter.name.strip():
        raise LetterError(f"letter for {who}: the person's name is empty")
    if letter.language not in LANGUAGES:
        raise LetterError(f"letter for {who}: no letter texts in {letter.language!r}; use one of "
                          f"{', '.join(LANGUAGES)}")
    uri = letter.otpauth_uri
    if uri is not None and not (uri.startswith("otpauth://totp/") and "secret=" in uri):
        # never echo the value: it may be a seed in the wrong place
        raise LetterError(f"letter for {who}: otpauth_uri is not an otpauth://totp/ URI with a secret "
                          f"(pass `Enrolment.otpauth_uri` of the person's enrolment)")
    if uri is None and not (letter.openvpn or letter.notebooks or letter.desk_phones or letter.igel_devices):
        raise LetterError(f"letter for {who}: nothing to hand over (no QR code, bundle or device)")


def _unique(letters: Sequence[Letter]) -> None:
    seen: set[str] = set()
    for letter in letters:
        if letter.username in seen:
            raise LetterError(f"two letters for {letter.username}: make one letter per person")
        seen.add(letter.username)


def _today() -> date:
    return datetime.now(UTC).date()


# ---------------------------------------------------------------- the directory


def letter_directory(directory: str | Path) -> Path:
    """The directory letters go to, checked: not inside a git work tree, not a file.

    Created 0700 when missing (missing parents too); an existing one is used as it is,
    since every letter in it is 0600 anyway."""
    path = Path(directory).expanduser()
    resolved = path.resolve()
    tree = git_work_tree(resolved)
    if tree is not None:
        raise LetterError(f"{path} is inside the git work tree {tree}: letters hold TOTP seeds and must "
                          f"never be committed; pass a directory outside any repository, e.g. "
                          f"~/handover/{date.today():%Y-%m-%d}")
    if resolved.exists() and not resolved.is_dir():
        raise LetterError(f"{path} is not a directory: pass a directory for the letters")
    missing = [d for d in [resolved, *resolved.parents] if not d.exists()]
    try:
        for made in reversed(missing):  # each 0700: mkdir(parents=True) would make the parents 0777-umask
            made.mkdir(mode=0o700)
    except OSError as exc:
        raise LetterError(f"cannot create {path}: {exc.strerror}") from None
    return resolved


def git_work_tree(path: Path) -> Path | None:
    """The top of the git work tree holding `path` (existing or not), or None.

    A `.git` directory or file (worktrees, submodules) in `path` or any parent marks one."""
    for candidate in [path, *path.parents]:
        if (candidate / ".git").exists():
            return candidate
    return None


# ---------------------------------------------------------------- writing and removing


def write_letters(directory: str | Path, letters: Sequence[Letter], helpdesk: Helpdesk, *,
                  when: date | None = None, each: bool = True, batch: bool = True,
                  duplex: bool = True) -> Handover:
    """Write `<username>.pdf` per person (with `each`) and one `letters-<time>.pdf` of all
    (with `batch`). A batch alone is much faster for hundreds of people (fonts are loaded
    once per PDF file).

    Everything is rendered before the first file is written, so bad input writes nothing."""
    if not letters:
        raise LetterError("no letters to write: name at least one person")
    if not (each or batch):
        raise LetterError("nothing to write: ask for the letters of each person, the batch, or both")
    _unique(letters)
    when = when or _today()
    layouts = [_layout(x, helpdesk) for x in letters]  # the QR codes are made once, for both
    rendered = {x.username: letter_pdf.render([x], when, duplex=False) for x in layouts} if each else {}
    batch_pdf, batch_counts = letter_pdf.render(layouts, when, duplex=duplex) if batch else (None, [])
    target = letter_directory(directory)
    manifest = _read_manifest(target)
    files: dict[str, Path] = {}
    pages: dict[str, int] = {}
    for letter in letters if each else ():
        path = target / f"{letter.username}.pdf"
        pdf, (pages[letter.username],) = rendered[letter.username]
        _write_private(path, pdf)
        files[letter.username] = path
        manifest["letters"][letter.username] = path.name
    batch_path = None
    if batch_pdf is not None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        batch_path = _free_name(target, f"letters-{stamp}", ".pdf")
        _write_private(batch_path, batch_pdf)
        manifest["batches"][batch_path.name] = [x.username for x in letters]
    _write_manifest(target, manifest)
    return Handover(target, files, batch_path, pages, sum(batch_counts))


def remove_letters(directory: str | Path, usernames: Iterable[str] | None = None) -> Removal:
    """Delete the letters of `usernames` (None: every letter and batch this module wrote there).

    A batch is deleted once none of its people is still waiting for a handover; otherwise it
    is kept and named in the result. Files are unlinked, not overwritten: on journaling file
    systems and SSDs overwriting gives no guarantee, so keep the directory on an encrypted
    disk and the printed letters locked away until handed over."""
    target = Path(directory).expanduser().resolve()
    if not target.is_dir():
        raise LetterError(f"{directory} is not a directory with letters")
    manifest = _read_manifest(target)
    known = set(manifest["letters"]) | {u for people in manifest["batches"].values() for u in people}
    wanted = known if usernames is None else set(usernames)
    unknown = sorted(wanted - known)
    if unknown:
        raise LetterError(f"no letter for {', '.join(unknown)} in {directory} (see {target / MANIFEST}); "
                          f"nothing was removed")
    removed: list[Path] = []
    for username in sorted(wanted):
        name = manifest["letters"].pop(username, None)
        if name is not None:
            _unlink(target / name, removed)
    kept: dict[Path, list[str]] = {}
    for name, people in list(manifest["batches"].items()):
        waiting = [u for u in people if u not in wanted]
        if waiting:
            manifest["batches"][name] = waiting
            kept[target / name] = waiting
        else:
            del manifest["batches"][name]
            _unlink(target / name, removed)
    if manifest["letters"] or manifest["batches"]:
        _write_manifest(target, manifest)
    else:
        _unlink(target / MANIFEST, removed)
    return Removal(removed, kept)


def _write_private(path: Path, data: bytes) -> None:
    try:
        write_atomic(path, data, mode=0o600)
    except OSError as exc:
        raise LetterError(f"cannot write {path}: {exc.strerror}") from None


def _unlink(path: Path, removed: list[Path]) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise LetterError(f"cannot remove {path}: {exc.strerror}") from None
    removed.append(path)


def _free_name(directory: Path, stem: str, suffix: str) -> Path:
    path, n = directory / f"{stem}{suffix}", 2
    while path.exists():
        path, n = directory / f"{stem}-{n}{suffix}", n + 1
    return path


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"letters": {}, "batches": {}}
    except (OSError, ValueError) as exc:
        raise LetterError(f"{path} cannot be read ({exc}): remove the letters in {directory} by hand") from None
    if not isinstance(data, dict) or not isinstance(data.get("letters"), dict) \
            or not isinstance(data.get("batches"), dict):
        raise LetterError(f"{path} is not a letters manifest: remove the letters in {directory} by hand")
    return data


def _write_manifest(directory: Path, manifest: dict) -> None:
    text = json.dumps({"letters": dict(sorted(manifest["letters"].items())),
                       "batches": dict(sorted(manifest["batches"].items()))}, indent=2, ensure_ascii=False)
    _write_private(directory / MANIFEST, (text + "\n").encode("utf-8"))


__all__ = [
    "DeskPhoneItem", "Handover", "Helpdesk", "IgelItem", "Letter", "LetterError", "NotebookItem",
    "OpenVpnItem", "Removal", "git_work_tree", "letter_directory", "remove_letters", "render_batch",
    "render_letter", "write_letters",
]
