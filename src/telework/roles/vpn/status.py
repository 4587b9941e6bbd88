"""What the VPN hosts see of one person right now, for `telework person status` (the helpdesk).

Read-only, from the hosts themselves, never from what the inventory expects:

* each concentrator's OpenVPN client list (`vpn_openvpn_status_file`, status-version 2,
  rewritten every `vpn_openvpn_status_interval` s): connected or not, since when, from which
  public address, with which tunnel address;
* each concentrator's WireGuard latest handshake and endpoint of the person's devices
  (`wg show IF latest-handshakes` and `endpoints`: never `wg show` alone, which prints keys);
* each auth server's last `Login OK` / `Login incorrect` line for the person in FreeRADIUS's
  log (`auth = yes`; the code itself is never logged): accepted, or refused for a wrong or
  already used code (pam_oath answers both alike);
* the person's newest certificate against the CRL each concentrator has deployed.

The commands are cat, grep, tail and wg: they read and change nothing.
"""

from __future__ import annotations

import csv
import io
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cryptography import x509

from telework.inventory.loaded import LoadedInventory
from telework.roles.live_hosts import Hosts, Unreachable
from telework.roles.registry import LiveFacts
from telework.roles.vpn import pki
from telework.roles.vpn.people import vpn_person

#: A WireGuard peer counts as connected while its last handshake is this recent (WireGuard
#: renews it every 2 minutes while traffic flows; keepalives are every 25 s).
HANDSHAKE_FRESH = timedelta(seconds=180)
#: How far the auth server's and a concentrator's clocks (both NTP-synchronised) may differ.
SESSION_CLOCK_SLACK = timedelta(seconds=5)
#: A login's RADIUS answer comes this soon after its TLS handshake (timeouts and retries
#: included); a later line belongs to another login.
LOGIN_ANSWER_WITHIN = timedelta(seconds=60)
OPENVPN_DIR = "/etc/openvpn/server/{instance}"
RADIUS_LOG = "/var/log/freeradius/radius.log"
_RADIUS_LINE = re.compile(
    r"^(?P<when>\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4}) : Auth: (?:\(\d+\) )?"
    r"(?P<outcome>Login OK|Login incorrect)(?: \((?P<why>[^)]*)\))?: \[(?P<user>[^\]/]*)(?:/[^\]]*)?\]"
    r" \(from client (?P<client>\S+)")


# ---------------------------------------------------------------- parsing what hosts print


@dataclass(frozen=True)
class OpenVpnSession:
    common_name: str
    real_address: str
    virtual_address: str
    since: datetime


def parse_openvpn_status(text: str) -> list[OpenVpnSession]:
    """The CLIENT_LIST rows of an OpenVPN status file, version 2 (fields named by its HEADER)."""
    header: list[str] | None = None
    out = []
    for row in csv.reader(io.StringIO(text)):
        if row[:2] == ["HEADER", "CLIENT_LIST"]:
            header = row[2:]
        elif row and row[0] == "CLIENT_LIST" and header:
            fields = dict(zip(header, row[1:], strict=False))
            try:
                since = datetime.fromtimestamp(int(fields["Connected Since (time_t)"]), UTC)
            except (KeyError, ValueError):
                continue
            out.append(OpenVpnSession(fields.get("Common Name", ""), _host_of(fields.get("Real Address", "")),
                                      fields.get("Virtual Address", ""), since))
    return out


def established(session: OpenVpnSession) -> bool:
    """OpenVPN lists a client from its TLS handshake on; it has a tunnel address only once its
    login (certificate, then the TOTP code through RADIUS) was accepted. Before, it is logging
    in, not connected."""
    return bool(session.virtual_address)


def _host_of(address: str) -> str:
    """`198.51.100.7:41234` -> `198.51.100.7` (OpenVPN writes udp4 addresses with their port)."""
    host, sep, port = address.rpartition(":")
    return host if sep and port.isdigit() and "." in host else address


def parse_wireguard(handshakes: str, endpoints: str) -> dict[str, tuple[datetime | None, str | None]]:
    """public key -> (latest handshake or None if never, endpoint or None)."""
    ends = {}
    for line in endpoints.splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            ends[parts[0]] = None if parts[1] == "(none)" else parts[1]
    out = {}
    for line in handshakes.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[1].isdigit():
            stamp = int(parts[1])
            out[parts[0]] = (datetime.fromtimestamp(stamp, UTC) if stamp else None, ends.get(parts[0]))
    return out


@dataclass(frozen=True)
class RadiusResult:
    when: datetime
    accepted: bool
    client: str
    detail: str | None


def parse_radius_log(text: str, username: str, zone: ZoneInfo) -> list[RadiusResult]:
    """Every login of `username` in a FreeRADIUS log, oldest first (local times of `zone`)."""
    out = []
    for line in text.splitlines():
        m = _RADIUS_LINE.match(line)
        if m and m.group("user") == username:
            when = datetime.strptime(" ".join(m.group("when").split()), "%a %b %d %H:%M:%S %Y")
            out.append(RadiusResult(when.replace(tzinfo=zone).astimezone(UTC), m.group("outcome") == "Login OK",
                                    m.group("client"), m.group("why")))
    return out


def refused_session(session: OpenVpnSession, concentrator: str, logins: list[RadiusResult]) -> bool:
    """True when the login that opened `session` was refused: OpenVPN lists a client from its TLS
    handshake on, and keeps one whose code was refused for 5 s more (its delayed exit). The
    first RADIUS answer for this concentrator from the session's start on decides (later
    renegotiations use the session token, not RADIUS)."""
    first = next((r for r in sorted(logins, key=lambda r: r.when)
                  if r.client == concentrator
                  and session.since - SESSION_CLOCK_SLACK <= r.when <= session.since + LOGIN_ANSWER_WITHIN), None)
    return first is not None and not first.accepted


def crl_serials(pem: str) -> set[str]:
    """The revoked serials of a CRL, as issued.yml writes them."""
    return {pki.serial_hex(r.serial_number) for r in x509.load_pem_x509_crl(pem.encode("ascii"))}


# ---------------------------------------------------------------- the person


def person_status(loaded: LoadedInventory, username: str, hosts: Hosts,
                  now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> LiveFacts:
    """What the concentrators and auth servers see of `username` now."""
    inv = loaded.model
    person = vpn_person(loaded, username)
    zone = ZoneInfo(inv.organisation.settings.timezone)
    facts = LiveFacts()
    moment = now()
    devices = {e.name: e.wireguard_public_key for _s, e in inv.managed_endpoints()
               if e.owner == username and e.wireguard_public_key}
    logins: list[tuple[str, RadiusResult]] = []
    for auth in sorted(inv.auth_servers, key=lambda a: a.name):
        try:
            found = parse_radius_log(hosts.run(auth.name, f"grep -F -- {shlex.quote(f'[{username}]')} "
                                                          f"{RADIUS_LOG} | tail -n 200"), username, zone)
        except Unreachable as exc:
            facts.unreachable[auth.name] = str(exc)
            continue
        logins += [(auth.name, r) for r in found]
    logins.sort(key=lambda pair: pair[1].when)
    radius = logins[-1] if logins else None
    sessions, logging_in, tunnels, crls = [], [], [], {}
    for concentrator in sorted(inv.vpn_concentrators, key=lambda c: c.name):
        name = concentrator.name
        data = hosts.data(name)
        try:
            status = hosts.run(name, f"cat {shlex.quote(data['vpn_openvpn_status_file'])}")
            for s in parse_openvpn_status(status):
                if s.common_name != username or refused_session(s, name, [r for _a, r in logins]):
                    continue
                entry = {"concentrator": name, "since": s.since.isoformat(), "public_address": s.real_address,
                         "tunnel_address": s.virtual_address}
                (sessions if established(s) else logging_in).append(entry)
            crl = OPENVPN_DIR.format(instance=data["vpn_openvpn_instance"]) + "/crl.pem"
            crls[name] = crl_serials(hosts.run(name, f"cat {shlex.quote(crl)}"))
            if devices:
                interface = shlex.quote(data["vpn_wireguard_interface"])
                peers = parse_wireguard(hosts.run(name, f"wg show {interface} latest-handshakes"),
                                        hosts.run(name, f"wg show {interface} endpoints"))
                for device, key in sorted(devices.items()):
                    handshake, endpoint = peers.get(key, (None, None))
                    tunnels.append({"device": device, "concentrator": name, "peer": key in peers,
                                    "latest_handshake": handshake.isoformat() if handshake else None,
                                    "endpoint": endpoint,
                                    "connected": bool(handshake and moment - handshake < HANDSHAKE_FRESH)})
        except Unreachable as exc:
            facts.unreachable[name] = str(exc)
    certificate = _certificate(loaded, username, crls, moment)

    facts.json = {
        "vpn_access": person.has_access,
        "openvpn": {"connected": bool(sessions), "sessions": sessions, "logging_in": logging_in},
        "wireguard": tunnels,
        "last_login": None if radius is None else {
            "auth_server": radius[0], "time": radius[1].when.isoformat(),
            "result": "accepted" if radius[1].accepted else "refused",
            "reason": None if radius[1].accepted else "wrong or already used code",
            "concentrator": radius[1].client},
        "certificate": certificate,
    }
    facts.lines += _lines(facts.json, zone)
    return facts


def _certificate(loaded: LoadedInventory, username: str, crls: dict[str, set[str]], now: datetime) -> dict | None:
    certs = [c for c in pki.load_issued(loaded.root) if c.owner == username and c.kind == "person"]
    if not certs:
        return None
    cert = max(certs, key=lambda c: c.not_before)
    on_hosts = sorted(name for name, serials in crls.items() if cert.serial in serials)
    state = ("revoked" if on_hosts else "revoked in the inventory, not deployed yet" if cert.revoked
             else "expired" if cert.not_after <= now else "valid")
    return {"serial": cert.serial, "state": state, "not_after": cert.not_after.isoformat(),
            "revoked_on": on_hosts, "reason": cert.revoked.reason if cert.revoked else None}


def _local(stamp: str, zone: ZoneInfo) -> str:
    return f"{datetime.fromisoformat(stamp).astimezone(zone):%Y-%m-%d %H:%M:%S %Z}"


def _lines(data: dict, zone: ZoneInfo) -> list[str]:
    lines = [f"VPN access in the inventory: {'yes' if data['vpn_access'] else 'no'}"]
    sessions = data["openvpn"]["sessions"]
    if not sessions:
        lines.append("OpenVPN: not connected")
    for s in sessions:
        lines.append(f"OpenVPN: connected to {s['concentrator']} since {_local(s['since'], zone)} from "
                     f"{s['public_address']}, tunnel address {s['tunnel_address']}")
    for s in data["openvpn"]["logging_in"]:
        lines.append(f"OpenVPN: logging in to {s['concentrator']} from {s['public_address']} since "
                     f"{_local(s['since'], zone)} (its code is being checked; no tunnel address yet)")
    for t in data["wireguard"]:
        if not t["peer"]:
            lines.append(f"WireGuard {t['device']}: not a peer of {t['concentrator']}")
        elif t["latest_handshake"] is None:
            lines.append(f"WireGuard {t['device']}: no handshake with {t['concentrator']} yet")
        else:
            state = "connected" if t["connected"] else "not connected"
            lines.append(f"WireGuard {t['device']}: {state}, last handshake with {t['concentrator']} "
                         f"{_local(t['latest_handshake'], zone)} from {t['endpoint']}")
    login = data["last_login"]
    if login is None:
        lines.append("last login: none in the auth servers' logs")
    else:
        result = "accepted" if login["result"] == "accepted" else f"refused ({login['reason']})"
        lines.append(f"last login: {result} at {_local(login['time'], zone)} via {login['concentrator']} "
                     f"({login['auth_server']})")
    cert = data["certificate"]
    if cert is None:
        lines.append("certificate: none issued (not enrolled)")
    else:
        where = f" on {', '.join(cert['revoked_on'])}" if cert["revoked_on"] else ""
        why = f": {cert['reason']}" if cert["reason"] else ""
        lines.append(f"certificate {cert['serial']}: {cert['state']}{where}{why}")
    return lines
