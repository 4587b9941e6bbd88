"""Letters from the inventory: what each person receives, their QR code, and the record of it.

`letters_for` builds `letters.Letter`s from the inventory and the person's TOTP secret (decrypted
here, only to draw the QR code); `record_letters` adds to the committed
`access/letters.yml` *that* a letter was made, when, by whom and in which language, for
whom, never what it says. Its git history is the audit trail (`telework audit log` shows
`letter_made`), so an auditor can ask "who received a QR code when" without a seed in git.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from telework.core.atomicfile import write_atomic
from telework.inventory.loaded import LoadedInventory
from telework.inventory.lookup import find_person, unknown_name
from telework.inventory.model import DeviceStatus, PersonStatus
from telework.onboarding.letter_texts import LetterTexts
from telework.onboarding.letters import (
    DeskPhoneItem,
    Helpdesk,
    IgelItem,
    Letter,
    LetterError,
    NotebookItem,
    OpenVpnItem,
)
from telework.roles.vpn.enrolment import otpauth_uri
from telework.roles.vpn.people import vpn_person
from telework.roles.vpn.revocations import current_operator
from telework.roles.vpn.secret_names import totp_secret
from telework.secrets.store import SecretStore

LETTERS_RECORD = Path("access") / "letters.yml"
_HEADER = """\
# Handover letters made: written by `telework person letter`, never by hand. Only that a
# letter was made, for whom, when, by whom and in which language: never what it says (the
# letters carry TOTP seeds and live outside git until they are handed over and removed).
"""
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def helpdesk_of(loaded: LoadedInventory, language: str, *, phone: str | None = None,
                hours: str | None = None) -> Helpdesk:
    """The IT department as the inventory names it (organisation name, its `helpdesk:` and
    contact mailbox); a phone number or hours given on the command line win."""
    org = loaded.model.organisation
    name = LetterTexts(language).text("helpdesk.name", organisation=org.name)
    desk = org.helpdesk
    return Helpdesk(name, phone=phone or (desk.phone if desk else None),
                    email=(desk.email if desk and desk.email else org.contact),
                    hours=hours or (desk.hours if desk else None))


def select_people(loaded: LoadedInventory, usernames: Iterable[str] = (), department: str | None = None,
                  site: str | None = None) -> list[str]:
    """Usernames named, or the active people of a department/site, sorted."""
    inv = loaded.model
    if department and inv.department(department) is None:
        raise unknown_name(loaded, "department", department, (d.id for d in inv.departments))
    if site and inv.site(site) is None:
        raise unknown_name(loaded, "site", site, (s.id for s in inv.sites))
    named = [find_person(loaded, u).username for u in usernames]
    if department or site:
        named += [p.username for p in inv.people if p.status is PersonStatus.active
                  and (not department or p.department == department) and (not site or p.site == site)]
    return sorted(set(named))


def letters_for(loaded: LoadedInventory, store: SecretStore, usernames: Iterable[str],
                language: str) -> tuple[list[Letter], list[str]]:
    """One letter per person: their QR code and bundle when they have VPN access and a TOTP seed,
    their notebooks, desk phone and IGEL devices; and who has VPN access but no seed yet (their
    letter has no QR code). People with nothing to hand over are an error naming them."""
    inv = loaded.model
    org = inv.organisation
    out, empty, unenrolled = [], [], []
    for username in usernames:
        person = find_person(loaded, username)
        access = vpn_person(loaded, username)
        uri = None
        if access.has_access and store.exists(totp_secret(username)):
            uri = otpauth_uri(org.name, username, store.get(totp_secret(username)))
        elif access.has_access:
            unenrolled.append(username)
        phones = []
        if person.phone is not None:
            phones = [DeskPhoneItem(p.model, str(person.phone.did), str(person.phone.extension))
                      for p in inv.desk_phones if p.owner == username and p.status is DeviceStatus.active]
        letter = Letter(
            username=username, name=person.name, organisation=org.name, otpauth_uri=uri,
            openvpn=OpenVpnItem(f"{username}.ovpn") if uri is not None else None,
            notebooks=tuple(NotebookItem(n.name) for n in inv.notebooks
                            if n.owner == username and n.status is DeviceStatus.active),
            desk_phones=tuple(phones),
            igel_devices=tuple(IgelItem(d.name, d.model) for d in inv.igel_devices
                               if d.owner == username and d.status is DeviceStatus.active),
            language=language)
        if uri is None and not (letter.notebooks or letter.desk_phones or letter.igel_devices):
            empty.append(username)
            continue
        out.append(letter)
    if empty:
        shown = ", ".join(empty[:10]) + (f" and {len(empty) - 10} more" if len(empty) > 10 else "")
        raise LetterError(f"nothing to hand over to {shown}: no TOTP seed (enrol them first: "
                          f"`telework person enroll USERNAME --out DIR`) and no device or phone")
    return out, unenrolled


def load_record(inventory_dir: str | Path) -> dict[str, list[dict]]:
    """username -> the letters made for them, oldest first."""
    path = Path(inventory_dir) / LETTERS_RECORD
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    except FileNotFoundError:
        return {}
    except yaml.YAMLError:
        raise LetterError(f"{path} is not valid YAML: restore it from git") from None
    letters = data.get("letters") if isinstance(data, dict) else None
    if not isinstance(letters, dict):
        raise LetterError(f"{path}: expected a mapping `letters:` of username -> list; restore it from git")
    return {str(k): list(v or []) for k, v in letters.items()}


def record_letters(inventory_dir: str | Path, letters: Iterable[Letter], *, by: str | None = None,
                   now: datetime | None = None) -> Path:
    """Add one entry per letter to access/letters.yml (one write), with what kinds of items it
    lists; returns the file."""
    record = load_record(inventory_dir)
    moment = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    who = by or current_operator(inventory_dir)
    for letter in letters:
        items = [name for name, present in (
            ("authenticator", letter.otpauth_uri is not None), ("openvpn", letter.openvpn is not None),
            ("notebook", bool(letter.notebooks)), ("desk_phone", bool(letter.desk_phones)),
            ("igel", bool(letter.igel_devices))) if present]
        record.setdefault(letter.username, []).append(
            {"made": moment, "by": who, "language": letter.language, "items": items})
    lines = [_HEADER.rstrip("\n"), "letters:" if record else "letters: {}"]
    for username in sorted(record):
        lines.append(f"  {username}:")
        for entry in record[username]:
            lines.append("    - {" + ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}"
                                                for k, v in entry.items()) + "}")
    path = Path(inventory_dir) / LETTERS_RECORD
    write_atomic(path, "\n".join(lines) + "\n")
    return path
