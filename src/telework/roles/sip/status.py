"""What the SIP servers see of one person right now, for `telework person status` (the helpdesk):
whether the person's extension is registered, from which public address (the home router's, as
the registrar's NAT fix-up recorded it: `Received`), over which transport, by which phone, and
for how much longer.

Read-only: `kamcmd ul.lookup location s:EXTENSION` (`s:` keeps kamcmd from sending the digits
as an integer, which the RPC refuses) asks Kamailio's user location over its control
socket (the usrloc module's RPC); it reads and changes nothing.
"""

from __future__ import annotations

import re
import shlex

from telework.inventory.loaded import LoadedInventory
from telework.roles.live_hosts import Hosts, Unreachable
from telework.roles.registry import LiveFacts
from telework.roles.sip.server import sip_view

_FIELD = re.compile(r"^\s*(Address|Expires|Received|User-Agent|Socket): (.*?)\s*$")
_RECEIVED = re.compile(r"^sips?:(?P<host>[0-9a-fA-F.:\[\]]+?):(?P<port>\d+)(?:;transport=(?P<transport>\w+))?")
#: what kamcmd prints when the AoR has no binding: the RPC's fault 404 ("error: 404 - ...");
#: not a shell's "command not found", which is no answer at all
_NOT_FOUND = re.compile(r"^error: 404\b|AOR not found", re.IGNORECASE | re.MULTILINE)


def parse_lookup(text: str) -> list[dict] | None:
    """The contacts of one `ul.lookup` answer; None when the answer is no lookup result at all."""
    if _NOT_FOUND.search(text) and "Contact:" not in text:
        return []
    if "AoR:" not in text:
        return None
    contacts: list[dict] = []
    for block in text.split("Contact:")[1:]:
        fields = {}
        for line in block.splitlines():
            m = _FIELD.match(line)
            if m and m.group(1) not in fields:
                fields[m.group(1)] = m.group(2)
        received = _RECEIVED.match(fields.get("Received", ""))  # "[not set]" without NAT: no match
        expires = fields.get("Expires", "")
        contacts.append({
            "contact": fields.get("Address"),
            "public_address": received.group("host") if received else None,
            "public_port": int(received.group("port")) if received else None,
            "transport": (received.group("transport") or "udp").lower() if received else None,
            "expires_in_s": int(expires) if expires.isdigit() else None,
            "user_agent": fields.get("User-Agent"),
        })
    return contacts


def person_status(loaded: LoadedInventory, username: str, hosts: Hosts) -> LiveFacts:
    """Where the person's extension is registered now, per SIP server serving it."""
    facts = LiveFacts()
    registrations = []
    for server in sorted(loaded.model.sip_servers, key=lambda s: s.name):
        sub = sip_view(loaded, server.name).subscriber(username)
        if sub is None:
            continue
        try:
            aor = shlex.quote("s:" + sub.extension)
            answer = hosts.run(server.name, f"kamcmd ul.lookup location {aor} 2>&1 || true")
        except Unreachable as exc:
            facts.unreachable[server.name] = str(exc)
            continue
        contacts = parse_lookup(answer)
        if contacts is None:
            facts.unreachable[server.name] = f"kamcmd gave no user location answer: {answer.strip()[:400]!r}"
            continue
        registrations.append({"server": server.name, "extension": sub.extension, "registered": bool(contacts),
                              "contacts": contacts})
        if contacts:
            for c in contacts:
                facts.lines.append(
                    f"phone: {sub.extension} registered on {server.name} from {c['public_address']}:"
                    f"{c['public_port']} ({c['transport']}), {c['user_agent'] or 'unknown phone'}, "
                    f"expires in {c['expires_in_s']} s")
        else:
            facts.lines.append(f"phone: {sub.extension} not registered on {server.name}")
    facts.json["phone_registrations"] = registrations if registrations else None
    return facts
