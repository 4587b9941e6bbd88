"""The VPN role's part of the audit: who lost access and why (`access/revocations.yml`), every
certificate issued and revoked (`pki/issued.yml`), every handover letter made with a TOTP QR
code (`access/letters.yml`: for whom and when, never its content), as change events.

`telework.audit` reads these files from each commit and asks this module what they hold
(`parse_*`: lenient, an old commit's broken file gives what can be read) and what changed
between two commits (`*_events`). The words of the events are in the message catalogues
(templates/audit/messages/*.yml).
"""

from __future__ import annotations

from collections.abc import Callable

from telework.audit.events import Event
from telework.audit.role_files import RoleFile

NameOf = Callable[[str], "str | None"]


def _text(value) -> str | None:
    return None if value is None else str(value)


def parse_revocations(data) -> dict:
    """username -> {date, reason, by}."""
    entries = data.get("revocations") if isinstance(data, dict) else None
    out = {}
    for username, entry in (entries or {}).items() if isinstance(entries, dict) else ():
        if isinstance(entry, dict):
            out[str(username)] = {"date": _text(entry.get("date")), "reason": _text(entry.get("reason")),
                                  "by": _text(entry.get("by"))}
    return out


def parse_certificates(data) -> dict:
    """serial -> {kind, cn, owner, not_before, not_after, revoked: {date, reason} | None}."""
    out = {}
    for entry in (data.get("certificates") or []) if isinstance(data, dict) else ():
        if not isinstance(entry, dict) or entry.get("serial") is None:
            continue
        revoked = entry.get("revoked")
        out[str(entry["serial"])] = {
            "kind": _text(entry.get("kind")), "cn": _text(entry.get("cn")),
            "owner": _text(entry.get("owner")), "not_before": _text(entry.get("not_before")),
            "not_after": _text(entry.get("not_after")),
            "revoked": {"date": _text(revoked.get("date")), "reason": _text(revoked.get("reason"))}
            if isinstance(revoked, dict) else None,
        }
    return out


def revocation_events(old: dict, new: dict, name_of: NameOf) -> list[Event]:
    """Access revoked, or a revocation lifted (by enrolling again)."""
    out = []
    for username in sorted(set(old) | set(new)):
        before, after = old.get(username), new.get(username)
        if before == after:
            continue
        name = name_of(username)
        who = [f"person:{username}"]
        if after is not None:
            out.append(Event("access_revoked", {"person": username, "name": name, **after}, who))
        else:
            out.append(Event("revocation_lifted", {"person": username, "name": name, **before}, who))
    return out


def _cert_entity(cert: dict) -> str:
    kind = cert.get("kind")
    return f"{'server' if kind == 'server' else 'device' if kind == 'device' else 'person'}:{cert.get('owner')}"


def certificate_events(old: dict, new: dict, name_of: NameOf) -> list[Event]:  # noqa: ARG001
    """Certificates issued, revoked, unrevoked and removed."""
    out = []
    for serial in sorted(set(old) | set(new)):
        before, after = old.get(serial), new.get(serial)
        if before == after:
            continue
        cert = after or before
        who = [_cert_entity(cert), f"certificate:{serial}"]
        base = {"serial": serial, "kind": cert["kind"], "owner": cert["owner"], "cn": cert["cn"]}
        if before is None:
            out.append(Event("certificate_issued", {**base, "not_after": cert["not_after"]}, who))
            if after["revoked"]:
                out.append(Event("certificate_revoked", {**base, **after["revoked"]}, who))
        elif after is None:
            out.append(Event("certificate_removed", base, who))
        elif after["revoked"] and not before["revoked"]:
            out.append(Event("certificate_revoked", {**base, **after["revoked"]}, who))
        elif before["revoked"] and not after["revoked"]:
            out.append(Event("certificate_unrevoked", base, who))
    return out


def parse_letters(data) -> dict:
    """username -> [{made, by, language, items}] of the letters made for them."""
    entries = data.get("letters") if isinstance(data, dict) else None
    out = {}
    for username, made in (entries or {}).items() if isinstance(entries, dict) else ():
        if isinstance(made, list):
            out[str(username)] = [{"made": _text(m.get("made")), "by": _text(m.get("by")),
                                   "language": _text(m.get("language")),
                                   "items": ", ".join(str(i) for i in m.get("items") or [])}
                                  for m in made if isinstance(m, dict)]
    return out


def letter_events(old: dict, new: dict, name_of: NameOf) -> list[Event]:
    """A handover letter made (the entries added since the old commit)."""
    out = []
    for username in sorted(new):
        before = old.get(username, [])
        for entry in new[username][len(before):] if new[username][:len(before)] == before else new[username]:
            out.append(Event("letter_made", {"person": username, "name": name_of(username), **entry},
                             [f"person:{username}"]))
    return out


#: the VPN role's files of the audit (Role.audit in telework.roles.registry)
AUDIT_FILES = (
    RoleFile("access/revocations.yml", "revocations", parse_revocations, revocation_events),
    RoleFile("pki/issued.yml", "certificates", parse_certificates, certificate_events),
    RoleFile("access/letters.yml", "letters", parse_letters, letter_events),
)
