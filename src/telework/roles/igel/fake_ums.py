"""A faithful, stateful test double of the UMS IMI v3 over HTTPS (FAKE: not an IGEL product).

No UMS can run here (it is licensed Java software, and IMI needs a licence above Essential), so
tests and the lab talk to this instead. It is built only from the IMI v3 reference of the IGEL
knowledge base (PDF export `13-IGEL-Management-Interface.pdf` in
github.com/IGEL-Community/IGEL-Docs-KB, commit 7247f74; pages cited below as "KB p.N") and from
the shapes PSIGEL's tests mock (github.com/IGEL-Community/PSIGEL):

- login with HTTP Basic -> `JSESSIONID` cookie and `{"message": "JSESSIONID=..."}`; a session
  lives 30 minutes and every successful request restarts that period (KB p.9-10)
- ids are strings, the root directory is "-1"; lists include recycle-bin objects, which no call
  may act on (ITG-0A017/0A018/0A022)
- device create needs a MAC (12 characters, ITG-0A007/0A014) and a firmware id
  (ITG-0A009/0A015); a MAC that exists already is a duplicate key (ITG-0A008)
- moves answer 200 with a result per item (`successful`, `does_not_exist`); tests can make any
  item fail (`inject_move_failure`)
- assignment answers say "asssignments" (sic); assignments carry `assignmentPosition`
- deleting a non-empty directory is refused (ITG-0A006); `DELETE /v3/thinclients/{id}` answers
  with a `CommandExecList` (KB p.104)
- facets (details, online, shadow, networkadapters, deviceattributes, loginhistory, children)
- a "not licensed" mode (ITG-0C001), and every error body `{"message","errorCode","stackTrace"}`

What the reference does not say is SIMULATED, and marked so where it is decided:
HTTP statuses of most ITG codes, the code for crossing IGEL OS 11/12 in a direct assignment,
positions after an unassign, what a device does on settings2tc/reboot (device-side timing),
which profile wins (precedence), device name characters, the licence error status. Tests that
depend on a SIMULATED behaviour test the fake, not the UMS.

Run in-process (`FakeUms().serve(certfile, keyfile)`) or as a program for a lab host:
`python -m telework.roles.igel.fake_ums --listen ADDR:PORT --cert F --key F --state DIR`.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from telework.roles.igel.clock import Clock, SystemClock

SESSION_SECONDS = 30 * 60
ROOT = "-1"
COMMANDS = ("reboot", "shutdown", "wakeup", "settings2tc", "tcreset2facdefs")
DEVICE_FACETS = ("details", "online", "shadow", "networkadapters", "deviceattributes", "loginhistory")
#: SIMULATED: the reference lists ITG-0A024 "Invalid thin client name" without the rule; PSIGEL
#: allows 1..15 characters; the characters allowed here are a guess (KB examples use spaces).
NAME_RULE = re.compile(r"^[A-Za-z0-9 ._\-]{1,15}$")
#: device fields the update call accepts (KB p.101-103)
UPDATABLE = ("name", "site", "department", "costCenter", "lastIP", "comment", "assetID",
             "inserviceDate", "serialNumber")
DETAIL_FIELDS = ("networkName", "site", "department", "costCenter", "comment", "assetID",
                 "inserviceDate", "serialNumber", "productId", "umsStructuralTag", "deviceType",
                 "deviceSerialNumber", "osType", "lastBoottime", "lastContact", "configChanges",
                 "lastUser", "registrationDate", "isThinClientRegistered",
                 "isConnectedViaReverseProxy")
DIRECTORY_KINDS = {"tcdirectories": "tcdirectory", "profiledirectories": "profiledirectory",
                   "masterprofiledirectories": "masterprofiledirectory"}
STACK = "[fake UMS: no stack trace]"


class Fault(Exception):
    """An IMI error answer: HTTP status, ITG code and the reference's message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# SIMULATED: the reference gives HTTP statuses only in general (400/401/404/415/500, KB p.231)
def _client(code: str, message: str, status: int = 400) -> Fault:
    return Fault(status, code, message)


@dataclass
class Request:
    """One request as the fake saw it (for call counts and rates in tests)."""

    method: str
    path: str  # after /umsapi, e.g. /v3/thinclients
    query: dict[str, str]
    time: float
    status: int
    items: int | None  # length of a JSON list body (devices per command, items per move)


def _hash(password: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 20_000).hex()


def os_major(version: str) -> int | None:
    head = str(version).split(".", 1)[0]
    return int(head) if head.isdigit() else None


class FakeUms:
    """The state of one fake UMS, its IMI handlers and its admin console (Python methods)."""

    def __init__(self, clock: Clock | None = None, *, state_dir: str | Path | None = None,
                 session_seconds: float = SESSION_SECONDS) -> None:
        self.clock = clock or SystemClock()
        self.session_seconds = session_seconds
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.state_dir = Path(state_dir) if state_dir else None
        self.sessions: dict[str, dict[str, Any]] = {}
        self.move_failures: dict[str, str] = {}
        self.not_licensed = False
        self.s: dict[str, Any] = {
            "next_id": 10000, "users": {}, "devices": {}, "directories": {}, "profiles": {},
            "assignments": {}, "firmwares": {}, "attributes": {}, "template_keys": {},
            "template_values": {}, "template_tc": {}, "template_dir": {}, "dir_firmware": {},
            "views": {}, "assets": [], "asset_history": [],
        }
        if self.state_dir and (self.state_dir / "state.json").exists():
            self.s.update(json.loads((self.state_dir / "state.json").read_text("utf-8")))

    # ================================================================ admin console (tests, lab)

    def add_user(self, name: str, password: str) -> None:
        salt = secrets.token_bytes(16)
        with self.lock:
            self.s["users"][name] = {"salt": salt.hex(), "hash": _hash(password, salt)}
            self._save()

    def add_firmware(self, version: str, product: str = "IGEL OS", firmware_type: str = "LX") -> str:
        with self.lock:
            fid = self._new_id()
            self.s["firmwares"][fid] = {"id": fid, "product": product, "version": version,
                                        "firmwareType": firmware_type}
            self._save()
            return fid

    def add_profile(self, name: str, firmware_id: str, *, master: bool = False,
                    parent_id: str = "-2") -> str:
        """A profile as an administrator imports it (the IMI cannot create profiles)."""
        with self.lock:
            pid = self._new_id()
            self.s["profiles"][pid] = {
                "firmwareID": firmware_id, "isMasterProfile": master, "overridesSessions": False,
                "id": pid, "name": name, "parentID": parent_id, "movedToBin": False,
                "objectType": "masterprofile" if master else "profile",
            }
            self._save()
            return pid

    def add_directory(self, name: str, parent_id: str = ROOT, kind: str = "tcdirectory") -> str:
        with self.lock:
            did = self._new_id()
            self.s["directories"][did] = {"id": did, "name": name, "parentID": parent_id,
                                          "movedToBin": False, "objectType": kind}
            self._save()
            return did

    def add_device(self, mac: str, firmware_id: str, *, name: str | None = None,
                   parent_id: str = ROOT, online: bool = True, **fields: Any) -> str:
        """A device that registered itself (scan and register, onboarding)."""
        with self.lock:
            tid = self._new_id()
            dev = self._blank_device(tid, mac.upper(), firmware_id, name or f"ITC{mac.upper()}",
                                     parent_id)
            dev["online"] = online
            dev.update(fields)
            self.s["devices"][tid] = dev
            self._save()
            return tid

    def add_device_attribute(self, identifier: str, name: str, type: str = "string",
                             allowed: list[str] | None = None) -> None:
        with self.lock:
            self.s["attributes"][identifier] = {"name": name, "type": type,
                                                "allowedValues": allowed or []}
            self._save()

    def move_to_bin(self, object_id: str) -> None:
        with self.lock:
            for table in ("devices", "directories", "profiles"):
                if object_id in self.s[table]:
                    self.s[table][object_id]["movedToBin"] = True
                    self._save()
                    return
            raise KeyError(object_id)

    def set_online(self, tc_id: str, online: bool) -> None:
        with self.lock:
            self.s["devices"][tc_id]["online"] = online

    def set_directory_firmware(self, dir_id: str, firmware_id: str) -> None:
        """SIMULATED: an admin assigns a firmware (OS 12: base system) to a directory in the UMS
        console (no IMI call exists); devices below adopt it on their next reboot."""
        with self.lock:
            self.s["dir_firmware"][dir_id] = firmware_id
            self._save()

    def inject_move_failure(self, item_id: str, result: str = "does_not_exist") -> None:
        """The next move of `item_id` answers `result` for it (HTTP 200 as always)."""
        with self.lock:
            self.move_failures[item_id] = result

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def count(self, method: str | None = None, path: str | None = None,
              query: dict[str, str] | None = None) -> int:
        return len(self.matching(method, path, query))

    def matching(self, method: str | None = None, path: str | None = None,
                 query: dict[str, str] | None = None) -> list[Request]:
        with self.lock:
            return [
                r for r in self.requests
                if (method is None or r.method == method)
                and (path is None or r.path.rstrip("/") == path.rstrip("/"))
                and all(r.query.get(k) == v for k, v in (query or {}).items())
            ]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def effective_profiles(self, tc_id: str) -> list[str]:
        """SIMULATED (the UMS does not publish its precedence): profiles of the directories from
        the root down, then the device's own, priority profiles first; a profile for another IGEL
        OS major is ignored, as the UMS silently ignores such inherited profiles."""
        with self.lock:
            dev = self.s["devices"][tc_id]
            major = self._device_major(dev)
            chain = []
            parent = dev["parentID"]
            while parent in self.s["directories"]:
                chain.append(("tcdirectory", parent))
                parent = self.s["directories"][parent]["parentID"]
            receivers = [*reversed(chain), ("tc", tc_id)]
            normal: list[str] = []
            master: list[str] = []
            for rtype, rid in receivers:
                for atype, aid in self.s["assignments"].get(f"{rtype}:{rid}", []):
                    prof = self.s["profiles"].get(aid)
                    if not prof or prof["movedToBin"]:
                        continue
                    if major is not None and self._firmware_major(prof["firmwareID"]) not in (
                            None, major):
                        continue
                    (master if atype == "masterprofile" else normal).append(aid)
            return master + normal

    def device(self, tc_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.s["devices"][tc_id])

    # ================================================================ serving

    def serve(self, certfile: str | Path, keyfile: str | Path, host: str = "127.0.0.1",
              port: int = 0) -> RunningFake:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(certfile), str(keyfile))
        server = _TlsServer((host, port), _handler_for(self), ctx)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="fake-ums", daemon=True)
        thread.start()
        return RunningFake(self, server, thread)

    # ================================================================ request handling

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, Any, dict]:
        """-> (status, JSON body, extra headers). Everything below works on `self.s` under lock.
        The request log records when a request arrived (before the lock), not when it was done."""
        arrived = self.clock.monotonic()
        parts = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if not path.startswith("/umsapi/"):
            return self._answer(method, path, query, Fault(404, "ITG-0A020",
                                                           "No handler is mapped for this request."),
                                None, arrived)
        sub = path[len("/umsapi"):]
        items = None
        with self.lock:
            try:
                data = None
                if body:
                    try:
                        data = json.loads(body.decode("utf-8"))
                    except (ValueError, UnicodeDecodeError) as exc:
                        raise Fault(415, "ITG-0A005", f'"Could not read JSON: {exc}"') from None
                    if isinstance(data, list):
                        items = len(data)
                status, result, extra = self._route(method, sub, query, headers, data)
            except Fault as fault:
                return self._answer(method, sub, query, fault, items, arrived)
            self._log(method, sub, query, status, items, arrived)
            if method != "GET":
                self._save()
            return status, result, extra

    def _answer(self, method: str, sub: str, query: dict, fault: Fault, items: int | None,
                arrived: float | None = None):
        self._log(method, sub, query, fault.status, items, arrived)
        return fault.status, {"message": fault.message, "errorCode": fault.code,
                              "stackTrace": STACK}, {}

    def _log(self, method: str, sub: str, query: dict, status: int, items: int | None,
             arrived: float | None = None) -> None:
        with self.lock:
            self.requests.append(Request(method, sub, dict(query),
                                         self.clock.monotonic() if arrived is None else arrived,
                                         status, items))

    def _route(self, method: str, sub: str, query: dict, headers: Any, data: Any):
        seg = [s for s in sub.split("/") if s]
        if len(seg) < 2 or seg[0] != "v3":
            raise Fault(400, "ITG-0B006", "No valid IMI API version.")
        seg = seg[1:]
        if seg == ["serverstatus"] and method == "GET":
            return 200, self._server_status(), {}
        if seg == ["login"]:
            self._method(method, "POST")
            return self._login(headers)
        if self.not_licensed:
            raise _client("ITG-0C001", "License required")  # SIMULATED status 400
        sid = self._session(headers)
        status, result = self._dispatch(method, seg, query, data, sid)
        if status < 400 and sid in self.sessions:
            self.sessions[sid]["last"] = self.clock.monotonic()  # sliding expiry
        return status, result, {}

    def _dispatch(self, method: str, seg: list[str], query: dict, data: Any, sid: str):
        head = seg[0]
        if head == "logout":
            self._method(method, "POST")
            self.sessions.pop(sid, None)
            return 200, {"message": "Logout successful"}
        if head == "thinclients":
            return self._thinclients(method, seg[1:], query, data)
        if head == "thinclientview" and len(seg) == 2:
            self._method(method, "GET")
            ids = self.s["views"].get(seg[1])
            if ids is None:
                raise _client("ITG-0A020", "No handler is mapped for this request.", 404)
            return 200, [self._device_json(self.s["devices"][i], query.get("facets"))
                         for i in ids if i in self.s["devices"]]
        if head in ("profiles", "masterprofiles", "masterprofile"):
            return self._profiles(method, head != "profiles", seg[1:], data)
        if head == "directories" and len(seg) >= 2 and seg[1] in DIRECTORY_KINDS:
            return self._directories(method, DIRECTORY_KINDS[seg[1]], seg[2:], query, data)
        if head == "firmwares":
            self._method(method, "GET")
            fws = self.s["firmwares"]
            if len(seg) == 1:
                return 200, {"FwResource": [self._links(dict(f)) for f in fws.values()]}
            if len(seg) == 2:
                if seg[1] not in fws:
                    raise _client("ITG-0A015", f"Firmware with ID {seg[1]} does not exist.", 404)
                return 200, self._links(dict(fws[seg[1]]))
        if head == "template":
            return self._template(method, seg[1:], data)
        if head in ("assetinfo", "assethistory"):
            self._method(method, "GET")
            return 200, self._assets(head, seg[1:])
        raise _client("ITG-0A020", "No handler is mapped for this request.", 404)

    # ---------------------------------------------------------------- session

    def _server_status(self) -> dict[str, Any]:
        return {"rmGuiServerVersion": "12.09.110.fake", "buildNumber": "0",
                "activeMQVersion": "fake", "derbyVersion": "fake",
                "serverUUID": "00000000-0000-0000-0000-000000000000", "server": "fake-ums:8443",
                "links": []}

    def _login(self, headers: Any):
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            raise _client("ITG-0B001", "No authentication header found in request.", 401)
        try:
            user, _, password = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise _client("ITG-0B001", "No authentication header found in request.", 401) from None
        entry = self.s["users"].get(user)
        good = entry is not None and hmac.compare_digest(
            entry["hash"], _hash(password, bytes.fromhex(entry["salt"])))
        if not good:
            raise _client("ITG-0B002", "Invalid login credentials.", 401)
        if self.not_licensed:
            raise _client("ITG-0C001", "License required")  # SIMULATED: login refused as well
        sid = secrets.token_hex(16).upper()
        self.sessions[sid] = {"user": user, "last": self.clock.monotonic()}
        cookie = f"JSESSIONID={sid}; Path=/umsapi/; Secure; HttpOnly"
        return 200, {"message": f"JSESSIONID={sid}"}, {"Set-Cookie": cookie}

    def _session(self, headers: Any) -> str:
        cookie = headers.get("Cookie") or ""
        m = re.search(r"JSESSIONID=([0-9A-Fa-f]+)", cookie)
        if not m:
            raise _client("ITG-0B003", "No session ID found.", 401)
        sid = m.group(1)
        entry = self.sessions.get(sid)
        if entry is None or self.clock.monotonic() - entry["last"] > self.session_seconds:
            self.sessions.pop(sid, None)
            raise _client("ITG-0B004", f"No session found for requested session ID {sid}.", 401)
        return sid

    # ---------------------------------------------------------------- devices

    def _thinclients(self, method: str, rest: list[str], query: dict, data: Any):
        devices = self.s["devices"]
        if not rest:
            if method == "GET":
                facet = self._facet(query, DEVICE_FACETS)
                return 200, [self._device_json(d, facet) for d in devices.values()]
            if method == "PUT":
                return self._create_device(data)
            if method == "POST":
                return self._command(query.get("command"), data)
            raise self._unsupported(method)
        tid = rest[0]
        self._numeric(tid)
        if len(rest) == 1:
            if method == "GET":
                dev = self._tc(tid)
                return 200, self._device_json(dev, self._facet(query, DEVICE_FACETS))
            if method == "PUT":
                return self._update_device(tid, data)
            if method == "DELETE":
                dev = self._tc(tid)
                self._remove_device(tid)
                return 200, {"CommandExecList": [self._exec(dev, "OK", "SUCCESS")]}  # KB p.104
            raise self._unsupported(method)
        if rest[1:] == ["deletetcoffline"]:
            self._method(method, "DELETE")
            self._tc(tid)
            self._remove_device(tid)
            return 200, {"message": "Offline deletion successful"}
        if rest[1:] == ["assignments", "profiles"]:
            self._tc(tid)
            if method == "GET":
                return 200, self._assignment_list("tc", tid)
            if method == "PUT":
                count = 0
                for a in self._assignment_body(data):
                    if a["receiver"] != ("tc", tid):
                        raise _client("ITG-0A019", "Invalid assignment receiver")
                    count += self._assign(a["assignee"], a["receiver"])
                return 200, {"message": f"{count} asssignments successfully assigned to "
                                        f"thinclient <{tid}>"}
            raise self._unsupported(method)
        raise _client("ITG-0A020", "No handler is mapped for this request.", 404)

    def _blank_device(self, tid: str, mac: str, firmware_id: str, name: str, parent: str) -> dict:
        return {
            "unitID": mac, "mac": mac, "firmwareID": firmware_id, "lastIP": "", "batteryLevel": -1,
            "id": tid, "name": name, "parentID": parent, "movedToBin": False, "objectType": "tc",
            "networkName": name, "site": "", "department": "", "costCenter": "", "comment": "",
            "assetID": "", "inserviceDate": "", "serialNumber": "", "productId": "",
            "umsStructuralTag": "", "deviceType": "", "deviceSerialNumber": "", "osType": "",
            "lastBoottime": "", "lastContact": "", "configChanges": "APPLIED", "lastUser": "",
            "registrationDate": "", "isThinClientRegistered": "false",
            "isConnectedViaReverseProxy": "false", "online": False, "deviceAttributes": {},
        }

    def _device_json(self, dev: dict, facet: str | None) -> dict[str, Any]:
        out = {k: dev[k] for k in ("unitID", "mac", "firmwareID", "lastIP", "batteryLevel", "id",
                                   "name", "parentID", "movedToBin", "objectType")}
        if facet == "details":
            out.update({k: dev.get(k, "") for k in DETAIL_FIELDS})
        elif facet == "online":
            out["online"] = bool(dev.get("online"))
        elif facet == "shadow":
            out["shadowSecret"] = {"certificate": "-----BEGIN CERTIFICATE-----\nFAKE\n"
                                                  "-----END CERTIFICATE-----",
                                   "password": "00000000-0000-0000-0000-" + dev["id"].zfill(12)}
        elif facet == "networkadapters":
            out["networkAdapters"] = [{"type": "lan", "mac": dev["mac"], "name": "enp1s0",
                                       "state": "up" if dev.get("online") else "down"}]
        elif facet == "deviceattributes":
            out["deviceAttributes"] = [
                {"name": self.s["attributes"].get(k, {}).get("name", k), "identifier": k,
                 "value": v, "type": self.s["attributes"].get(k, {}).get("type", "string"),
                 "allowedValues": self.s["attributes"].get(k, {}).get("allowedValues", [])}
                for k, v in sorted(dev.get("deviceAttributes", {}).items())
            ]
        elif facet == "loginhistory":
            out["userLoginHistory"] = []
        out["links"] = []
        return out

    def _create_device(self, data: Any):
        if not isinstance(data, dict):
            raise _client("ITG-0A004", "Invalid request body")
        mac = str(data.get("mac") or "")
        if not mac:
            raise _client("ITG-0A007", "No MAC defined.")
        if len(mac) != 12:
            raise _client("ITG-0A014", "MAC must be 12 characters long.")
        if not re.fullmatch(r"[0-9A-Fa-f]{12}", mac):  # SIMULATED: the code for non-hex MACs
            raise _client("ITG-0A014", "MAC must be 12 characters long.")
        mac = mac.upper()
        fw = str(data.get("firmwareID") or "")
        if not fw:
            raise _client("ITG-0A009", "No firmware defined.")
        if fw not in self.s["firmwares"]:
            raise _client("ITG-0A015", f"Firmware with ID {fw} does not exist.")
        parent = str(data.get("parentID") or ROOT)
        self._target_dir(parent, code="ITG-0A016", what=f"Parent with ID {parent} does not exist.")
        name = data.get("name")
        if name is not None:
            self._check_name(name)
        if any(d["mac"] == mac for d in self.s["devices"].values()):
            raise _client("ITG-0A008", "[...] The statement was aborted because it would have "
                          "caused a duplicate key value [...]")
        tid = self._new_id()
        dev = self._blank_device(tid, mac, fw, name or f"ITC{mac}", parent)
        for key in UPDATABLE:
            if key in data and key != "name":
                dev[key] = str(data[key])
        dev["deviceAttributes"] = self._device_attributes(data.get("deviceAttributes"), {})
        self.s["devices"][tid] = dev
        return 200, {"message": "Thin client successfully inserted.", "id": tid,
                     "name": dev["name"], "parentID": parent}

    def _update_device(self, tid: str, data: Any):
        dev = self._tc(tid, act=True)
        if not isinstance(data, dict):
            raise _client("ITG-0A004", "Invalid request body")
        known = [k for k in data if k in UPDATABLE or k == "deviceAttributes"]
        if not known:
            raise _client("ITG-0A013", "No valid property in body")
        if "name" in data:
            self._check_name(data["name"])
        attrs = self._device_attributes(data.get("deviceAttributes"), dev["deviceAttributes"])
        for key in known:
            if key != "deviceAttributes":
                dev[key] = str(data[key])
        dev["deviceAttributes"] = attrs
        if "name" in data:
            dev["networkName"] = dev["name"]
        return 200, {"message": "Update successful"}

    def _device_attributes(self, raw: Any, current: dict) -> dict:
        out = dict(current)
        if raw is None:
            return out
        if not isinstance(raw, list):
            raise _client("ITG-0A004", "Invalid request body")
        for item in raw:
            if not isinstance(item, dict) or "identifier" not in item:
                raise _client("ITG-0A004", "Invalid request body")
            ident, value = str(item["identifier"]), str(item.get("value", ""))
            spec = self.s["attributes"].get(ident)
            if spec is None:  # SIMULATED: an attribute the UMS does not define
                raise _client("ITG-0A013", "No valid property in body")
            if spec["allowedValues"] and value not in spec["allowedValues"]:
                raise _client("ITG-0A004", "Invalid request body")  # SIMULATED code
            out[ident] = value
        return out

    def _remove_device(self, tid: str) -> None:
        del self.s["devices"][tid]
        self.s["assignments"].pop(f"tc:{tid}", None)
        self.s["template_tc"].pop(tid, None)
        for ids in self.s["views"].values():
            if tid in ids:
                ids.remove(tid)

    def _command(self, command: Any, data: Any):
        if command not in COMMANDS:
            raise _client("ITG-0A003", f"{command} is an invalid command.")
        if not isinstance(data, list):
            raise _client("ITG-0A004", "Invalid request body")
        if not data:
            raise _client("ITG-0A012", "IDList is empty.")
        rows = []
        for obj in data:
            if not isinstance(obj, dict) or obj.get("type") != "tc":
                raise _client("ITG-0A004", "Invalid request body")
            tid = str(obj.get("id"))
            dev = self.s["devices"].get(tid)
            # SIMULATED from here: per-device outcome and what the device does (device side)
            if dev is None:
                rows.append({"execID": self._exec_id(), "id": tid, "mac": "",
                             "exectime": self._exectime(), "message": "Thin client not found",
                             "state": "FAILED"})
                continue
            if dev["movedToBin"]:
                rows.append(self._exec(dev, "Thin client is in Recycling Bin", "FAILED"))
                continue
            if not dev.get("online") and command != "wakeup":
                rows.append(self._exec(dev, "Thin client is not reachable", "FAILED"))
                continue
            self._device_agent(dev, command)
            rows.append(self._exec(dev, "OK", "SUCCESS"))
        return 200, {"CommandExecList": rows}

    def _device_agent(self, dev: dict, command: str) -> None:
        """SIMULATED device side: what a device does when the command reaches it, at once."""
        stamp = self._stamp()
        if command in ("settings2tc", "reboot", "wakeup"):
            dev["lastContact"] = stamp
        if command == "settings2tc":
            dev["configChanges"] = "APPLIED"
        elif command == "reboot":
            dev["lastBoottime"] = stamp
            dev["configChanges"] = "APPLIED"
            target = self._inherited_firmware(dev["parentID"])
            if target is not None:
                dev["firmwareID"] = target
        elif command == "shutdown":
            dev["online"] = False
        elif command == "wakeup":
            dev["online"] = True

    def _inherited_firmware(self, dir_id: str) -> str | None:
        while dir_id in self.s["directories"]:
            if dir_id in self.s["dir_firmware"]:
                return self.s["dir_firmware"][dir_id]
            dir_id = self.s["directories"][dir_id]["parentID"]
        return None

    def _exec(self, dev: dict, message: str, state: str) -> dict[str, Any]:
        return {"execID": self._exec_id(), "id": dev["id"], "mac": dev["mac"],
                "exectime": self._exectime(), "message": message, "state": state}

    def _exec_id(self) -> str:
        return f"ID-FAKE-UMS-{secrets.token_hex(4)}-0"

    def _exectime(self) -> str:
        return str(int(self.clock.monotonic() * 1000))

    def _stamp(self) -> str:
        return f"fake-clock {self.clock.monotonic():.3f}"

    # ---------------------------------------------------------------- profiles and assignments

    def _profiles(self, method: str, master: bool, rest: list[str], data: Any):
        profiles = {k: p for k, p in self.s["profiles"].items() if p["isMasterProfile"] == master}
        ptype = "masterprofile" if master else "profile"
        if not rest:
            self._method(method, "GET")
            return 200, [self._links(dict(p)) for p in profiles.values()]
        pid = rest[0]
        self._numeric(pid)
        if pid not in profiles:
            # SIMULATED: the reference has no "profile not found" code; this one is the closest
            raise _client("ITG-0A020", "No handler is mapped for this request.", 404)
        prof = profiles[pid]
        if len(rest) == 1:
            if method == "GET":
                return 200, self._links(dict(prof))
            if method == "PUT":
                if not isinstance(data, dict) or "name" not in data:
                    raise _client("ITG-0A013", "No valid property in body")
                prof["name"] = str(data["name"])
                return 200, {"message": "Update successful"}
            if method == "DELETE":
                del self.s["profiles"][pid]
                for key in list(self.s["assignments"]):
                    self.s["assignments"][key] = [a for a in self.s["assignments"][key]
                                                  if a[1] != pid]
                return 200, {"message": f"Deleted profile with id {pid}"}
            raise self._unsupported(method)
        if len(rest) >= 3 and rest[1] == "assignments" and rest[2] in ("thinclients",
                                                                       "tcdirectories"):
            rtype = "tc" if rest[2] == "thinclients" else "tcdirectory"
            if len(rest) == 3:
                if method == "GET":
                    return 200, [a for a in self._all_assignments()
                                 if a["assignee"] == {"id": pid, "type": ptype}
                                 and a["receiver"]["type"] == rtype]
                if method == "PUT":
                    count, last = 0, ""
                    for a in self._assignment_body(data):
                        if a["assignee"] != (ptype, pid) or a["receiver"][0] != rtype:
                            raise _client("ITG-0A019", "Invalid assignment receiver")
                        count += self._assign(a["assignee"], a["receiver"])
                        last = a["receiver"][1]
                    # the reference's answers (KB p.124, p.129) -- sic, three s; for directories
                    # the example even names the profile id in the brackets; the fake names the
                    # receiver, as the device answer does
                    where = "thinclient" if rtype == "tc" else "thinclient directory"
                    return 200, {"message": f"{count} asssignments successfully assigned to "
                                            f"{where} <{last}>"}
                raise self._unsupported(method)
            if len(rest) == 4 and method == "DELETE":
                self._unassign((ptype, pid), (rtype, rest[3]))
                return 200, {"message": "deleted profile assignment"}
            raise self._unsupported(method)
        raise _client("ITG-0A020", "No handler is mapped for this request.", 404)

    def _assignment_body(self, data: Any) -> list[dict[str, tuple[str, str]]]:
        if not isinstance(data, list):
            raise _client("ITG-0A004", "Invalid request body")
        out = []
        for item in data:
            try:
                a, r = item["assignee"], item["receiver"]
                out.append({"assignee": (str(a["type"]), str(a["id"])),
                            "receiver": (str(r["type"]), str(r["id"]))})
            except (KeyError, TypeError):
                raise _client("ITG-0A004", "Invalid request body") from None
        return out

    def _assign(self, assignee: tuple[str, str], receiver: tuple[str, str]) -> int:
        atype, aid = assignee
        rtype, rid = receiver
        prof = self.s["profiles"].get(aid)
        if atype not in ("profile", "masterprofile") or prof is None or (
                prof["isMasterProfile"] != (atype == "masterprofile")):
            raise _client("ITG-0A021", "Invalid ssignment")  # sic (KB p.233)
        if prof["movedToBin"]:
            raise _client("ITG-0A022", "Profile is in Recycling Bin.")
        if rtype == "tc":
            dev = self._tc(rid, act=True)
            major = self._device_major(dev)
            pmajor = self._firmware_major(prof["firmwareID"])
            if major is not None and pmajor is not None and major != pmajor:
                # SIMULATED: the UMS refuses an IGEL OS 12 profile for an OS 11 device and vice
                # versa; which code it answers with is not documented
                raise _client("ITG-0A021", "Invalid ssignment")
            dev["configChanges"] = "PENDING"  # SIMULATED
        elif rtype == "tcdirectory":
            self._target_dir(rid, code="ITG-0A002", what=f"No target directory with ID {rid} found.")
            for dev in self._devices_below(rid):
                dev["configChanges"] = "PENDING"  # SIMULATED
        else:
            raise _client("ITG-0A019", "Invalid assignment receiver")
        lst = self.s["assignments"].setdefault(f"{rtype}:{rid}", [])
        if [atype, aid] in lst or (atype, aid) in lst:
            return 0
        lst.append([atype, aid])  # SIMULATED: a new assignment goes last
        return 1

    def _unassign(self, assignee: tuple[str, str], receiver: tuple[str, str]) -> None:
        key = f"{receiver[0]}:{receiver[1]}"
        lst = self.s["assignments"].get(key, [])
        entry = [assignee[0], assignee[1]]
        if entry not in lst:
            raise _client("ITG-0A021", "Invalid ssignment")  # SIMULATED
        lst.remove(entry)  # SIMULATED: later positions move up by one
        if receiver[0] == "tc" and receiver[1] in self.s["devices"]:
            self.s["devices"][receiver[1]]["configChanges"] = "PENDING"

    def _assignment_list(self, rtype: str, rid: str) -> list[dict[str, Any]]:
        return [self._assignment_json(atype, aid, rtype, rid, pos)
                for pos, (atype, aid) in enumerate(self.s["assignments"].get(f"{rtype}:{rid}", []))]

    def _all_assignments(self) -> Iterator[dict[str, Any]]:
        for key, lst in self.s["assignments"].items():
            rtype, rid = key.split(":", 1)
            for pos, (atype, aid) in enumerate(lst):
                # SIMULATED: the profile-side lists carry the receiver-side position
                yield self._assignment_json(atype, aid, rtype, rid, pos)

    def _assignment_json(self, atype: str, aid: str, rtype: str, rid: str, pos: int):
        base = "https://fake-ums:8443/umsapi/v3"
        prefix = "masterprofiles" if atype == "masterprofile" else "profiles"
        rpath = "thinclients" if rtype == "tc" else "tcdirectories"
        return {"assignee": {"id": aid, "type": atype}, "receiver": {"id": rid, "type": rtype},
                "assignmentPosition": pos,
                "links": [{"rel": "assigned", "href": f"{base}/{prefix}/{aid}"},
                          {"rel": "receiver", "href": f"{base}/{rpath}/{rid}"},
                          {"rel": "self",
                           "href": f"{base}/{prefix}/{aid}/assignments/{rpath}/{rid}"}]}

    # ---------------------------------------------------------------- directories

    def _directories(self, method: str, kind: str, rest: list[str], query: dict, data: Any):
        dirs = {k: d for k, d in self.s["directories"].items() if d["objectType"] == kind}
        children = self._facet(query, ("children",)) == "children"
        if not rest:
            if method == "GET":
                return 200, [self._dir_json(d, children) for d in dirs.values()]
            if method == "PUT":
                if not isinstance(data, dict):
                    raise _client("ITG-0A004", "Invalid request body")
                name = str(data.get("name") or "")
                if not name:  # SIMULATED: the reference marks name optional
                    raise _client("ITG-0A004", "Invalid request body")
                did = self._new_id()
                self.s["directories"][did] = {"id": did, "name": name, "parentID": ROOT,
                                              "movedToBin": False, "objectType": kind}
                return 200, {"message": "Directory successfully inserted.", "id": did,
                             "name": name}
            raise self._unsupported(method)
        did = rest[0]
        self._numeric(did)
        if len(rest) == 1:
            if method == "GET":
                if did not in dirs:
                    raise _client("ITG-0A002", f"No target directory with ID {did} found.", 404)
                return 200, self._dir_json(dirs[did], children)
            if method == "PUT" and query.get("operation") == "move":
                return self._move(kind, did, data)
            if method == "PUT":
                d = self._target_dir(did, kind=kind)
                if not isinstance(data, dict) or not data.get("name"):
                    raise _client("ITG-0A013", "No valid property in body")
                d["name"] = str(data["name"])
                return 200, {"message": "Updated directory successfully."}
            if method == "DELETE":
                if did not in dirs:
                    raise _client("ITG-0A002", f"No target directory with ID {did} found.", 404)
                if self._children(did):
                    raise _client("ITG-0A006", f"Directory with ID {did} is not empty. "
                                  "Remove content first.")
                del self.s["directories"][did]
                self.s["assignments"].pop(f"tcdirectory:{did}", None)
                self.s["dir_firmware"].pop(did, None)
                return 200, {"message": "Deletion successful."}
            raise self._unsupported(method)
        if rest[1:] == ["assignments", "profiles"] and kind == "tcdirectory":
            self._target_dir(did, kind=kind, act=method != "GET")
            if method == "GET":
                return 200, self._assignment_list("tcdirectory", did)
            if method == "PUT":
                count = 0
                for a in self._assignment_body(data):
                    if a["receiver"] != ("tcdirectory", did):
                        raise _client("ITG-0A019", "Invalid assignment receiver")
                    count += self._assign(a["assignee"], a["receiver"])
                return 200, {"message": f"{count} asssignments successfully assigned to "
                                        f"thinclient directory <{did}>"}
            raise self._unsupported(method)
        raise _client("ITG-0A020", "No handler is mapped for this request.", 404)

    def _dir_json(self, d: dict, children: bool) -> dict[str, Any]:
        out = {k: d[k] for k in ("id", "name", "parentID", "movedToBin", "objectType")}
        out["links"] = []
        if children:
            out["DirectoryChildren"] = [
                {"objectType": t, "id": i, "link": {"rel": "child", "href": f"fake/{i}"}}
                for t, i in self._children(d["id"])
            ]
        return out

    def _children(self, did: str) -> list[tuple[str, str]]:
        kids = [(d["objectType"], k) for k, d in self.s["directories"].items()
                if d["parentID"] == did]
        kids += [("tc", k) for k, d in self.s["devices"].items() if d["parentID"] == did]
        kids += [(p["objectType"], k) for k, p in self.s["profiles"].items()
                 if p["parentID"] == did]
        return kids

    def _devices_below(self, did: str) -> Iterator[dict]:
        for dev in self.s["devices"].values():
            parent = dev["parentID"]
            while parent in self.s["directories"]:
                if parent == did:
                    yield dev
                    break
                parent = self.s["directories"][parent]["parentID"]

    def _move(self, kind: str, dest: str, data: Any):
        self._target_dir(dest, kind=kind, code="ITG-0A002",
                         what=f"No target directory with ID {dest} found.", act=True)
        if not isinstance(data, list):
            raise _client("ITG-0A004", "Invalid request body")
        if not data:
            raise _client("ITG-0A012", "IDList is empty.")
        member = {"tcdirectory": "tc", "profiledirectory": "profile",
                  "masterprofiledirectory": "masterprofile"}[kind]
        out = []
        for obj in data:
            if not isinstance(obj, dict):
                raise _client("ITG-0A004", "Invalid request body")
            oid, otype = str(obj.get("id")), str(obj.get("type"))
            if oid in self.move_failures:
                out.append({"id": oid, "results": self.move_failures.pop(oid)})
                continue
            if otype == kind:
                table: str | None = "directories"
            elif otype == member:
                table = "devices" if member == "tc" else "profiles"
            else:
                table = None
            target = self.s[table].get(oid) if table else None
            if target is None or target.get("objectType", "tc") != otype:
                out.append({"id": oid, "results": "does_not_exist"})
                continue
            if target["movedToBin"] or (otype == kind and self._is_below(dest, oid)):
                out.append({"id": oid, "results": "failed"})  # SIMULATED result text
                continue
            target["parentID"] = dest
            if otype == "tc":
                target["configChanges"] = "PENDING"  # SIMULATED
            out.append({"id": oid, "results": "successful"})
        return 200, out

    def _is_below(self, did: str, ancestor: str) -> bool:
        while did in self.s["directories"]:
            if did == ancestor:
                return True
            did = self.s["directories"][did]["parentID"]
        return False

    # ---------------------------------------------------------------- template keys

    def _template(self, method: str, rest: list[str], data: Any):
        keys, values = self.s["template_keys"], self.s["template_values"]
        if rest == [] and method == "PUT":
            if not isinstance(data, dict) or not data.get("name") or not data.get("type"):
                raise _client("ITG-0A004", "Invalid request body")
            kid = self._new_id()
            parent = str(data.get("parentID", ROOT))
            keys[kid] = {"name": str(data["name"]), "type": str(data["type"]), "parentID": parent}
            return 200, {"id": kid, "name": keys[kid]["name"], "parentID": parent,
                         "message": "Template key successfully created."}
        if len(rest) == 2 and rest[1] == "value" and method == "PUT":
            kid = rest[0]
            if kid not in keys:
                raise _client("ITG-0A004", "Invalid request body")  # SIMULATED code
            if not isinstance(data, dict) or "value" not in data:
                raise _client("ITG-0A004", "Invalid request body")
            vid = self._new_id()
            values[vid] = {"keyId": kid, "value": str(data["value"]),
                           "description": str(data.get("description", "")),
                           "type": str(data.get("type", keys[kid]["type"]))}
            return 200, {"id": vid, "value": values[vid]["value"],
                         "message": "Template value successfully created."}
        if len(rest) == 2 and rest[1] == "read" and method == "GET":
            kid = rest[0]
            if kid not in keys:
                raise _client("ITG-0A004", "Invalid request body")  # SIMULATED code
            # the reference answers numbers here (KB p.199): id and parentId are integers
            return 200, [{"id": int(v_id), "value": v["value"], "name": keys[kid]["name"],
                          "parentId": int(kid), "description": v["description"],
                          "type": v["type"]}
                         for v_id, v in values.items() if v["keyId"] == kid]
        if len(rest) == 2 and rest[0] == "assign" and rest[1] in ("tc", "dir") and method == "PUT":
            if not isinstance(data, dict) or not isinstance(data.get("template"), list):
                raise _client("ITG-0A004", "Invalid request body")
            if rest[1] == "tc":
                target = str(data.get("tcId"))
                self._tc(target, act=True)
                table, what = self.s["template_tc"], "device"
            else:
                target = str(data.get("dirId"))
                self._target_dir(target, act=True)
                table, what = self.s["template_dir"], "device directory"
            for pair in data["template"]:
                kid, vid = str(pair.get("templateId")), str(pair.get("valueId"))
                if kid not in keys or values.get(vid, {}).get("keyId") != kid:
                    raise _client("ITG-0A004", "Invalid request body")  # SIMULATED code
                table.setdefault(target, {})[kid] = vid
            return 200, {"message": f"Template value successfully assigned to {what}."}
        raise _client("ITG-0A020", "No handler is mapped for this request.", 404)

    # ---------------------------------------------------------------- assets (AIT licence)

    def _assets(self, head: str, rest: list[str]) -> dict[str, Any]:
        rows = self.s["assets"] if head == "assetinfo" else self.s["asset_history"]
        wrapper = "assetinfos" if head == "assetinfo" else "assethistories"
        if rest[:1] == ["assets"] and len(rest) == 2:
            rows = [r for r in rows if str(r.get("assetId")) == rest[1]]
        elif rest[:1] == ["thinclients"] and len(rest) == 2:
            key = "tcId" if head == "assetinfo" else "unitId"
            rows = [r for r in rows if str(r.get(key)) == rest[1]]
        elif rest:
            raise _client("ITG-0A020", "No handler is mapped for this request.", 404)
        return {wrapper: rows}

    # ---------------------------------------------------------------- checks

    def _tc(self, tid: str, act: bool = False) -> dict:
        dev = self.s["devices"].get(tid)
        if dev is None:
            raise _client("ITG-0A001", f"Thin client with ID {tid} not found.", 404)
        if act and dev["movedToBin"]:
            raise _client("ITG-0A018", "Thin client is in Recycling Bin. In order to use it, "
                          "revert it first.")
        return dev

    def _target_dir(self, did: str, *, kind: str = "tcdirectory", code: str = "ITG-0A002",
                    what: str | None = None, act: bool = True) -> dict:
        if did == ROOT and kind == "tcdirectory":
            return {"id": ROOT, "movedToBin": False}
        d = self.s["directories"].get(did)
        if d is None or d["objectType"] != kind:
            raise _client(code, what or f"No target directory with ID {did} found.", 404)
        if act and d["movedToBin"]:
            raise _client("ITG-0A017", "Target directory is in Recycling Bin. In order to use "
                          "it revert it first.")
        return d

    def _check_name(self, name: Any) -> None:
        if not isinstance(name, str) or not NAME_RULE.match(name):
            raise _client("ITG-0A024", "Invalid thin client name")

    def _facet(self, query: dict, allowed: tuple[str, ...]) -> str | None:
        facet = query.get("facets")
        if facet is not None and facet not in allowed:
            raise _client("ITG-0A020", "No handler is mapped for this request.", 404)
        return facet

    @staticmethod
    def _numeric(value: str) -> None:
        if not re.fullmatch(r"-?\d+", value):
            raise _client("ITG-0A010", "Number format error")

    @staticmethod
    def _method(method: str, expected: str) -> None:
        if method != expected:
            raise FakeUms._unsupported(method)

    @staticmethod
    def _unsupported(method: str) -> Fault:
        return _client("ITG-0A011", f"Request method '{method}' not supported")

    def _device_major(self, dev: dict) -> int | None:
        return self._firmware_major(dev["firmwareID"])

    def _firmware_major(self, fid: str) -> int | None:
        fw = self.s["firmwares"].get(fid)
        return os_major(fw["version"]) if fw else None

    def _links(self, obj: dict) -> dict:
        obj["links"] = []
        return obj

    def _new_id(self) -> str:
        self.s["next_id"] += 1
        return str(self.s["next_id"])

    def _save(self) -> None:
        if self.state_dir is None:
            return
        from telework.core.atomicfile import write_atomic

        write_atomic(self.state_dir / "state.json", json.dumps(self.s, indent=1, sort_keys=True),
                     mode=0o600)


# ==================================================================== HTTPS plumbing


class _TlsServer(ThreadingHTTPServer):
    """Threaded HTTP server whose connections do the TLS handshake in their own thread, so
    that one client that fails the handshake (a wrong CA) blocks nobody."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handler: type, ctx: ssl.SSLContext) -> None:
        super().__init__(addr, handler)
        self.ctx = ctx

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        # headers and body leave in separate writes: without this, delayed ACKs add ~40 ms
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that drops its connection is not the fake's business


def _handler_for(fake: FakeUms) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "fake-ums"
        timeout = 30

        def _go(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, result, extra = fake.handle(self.command, self.path, self.headers, body)
            payload = json.dumps(result).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = _go

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class RunningFake:
    """A fake UMS serving HTTPS on a thread; `url` is the UMS address (https://host:port)."""

    def __init__(self, fake: FakeUms, server: _TlsServer, thread: threading.Thread) -> None:
        self.fake, self.server, self.thread = fake, server, thread
        host, port = server.server_address[:2]
        self.url = f"https://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ==================================================================== program (lab host)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m telework.roles.igel.fake_ums",
        description="FAKE UMS (IMI v3 test double) over HTTPS; state kept in DIR/state.json",
    )
    parser.add_argument("--listen", required=True, help="ADDR:PORT, e.g. 10.20.0.5:8443")
    parser.add_argument("--cert", required=True, help="PEM server certificate (chain)")
    parser.add_argument("--key", required=True, help="PEM private key of the certificate")
    parser.add_argument("--state", required=True, help="directory for state.json (created)")
    parser.add_argument("--user", help="add or replace this IMI user at start")
    parser.add_argument("--password-file", help="file whose first line is the user's password")
    parser.add_argument("--seed", help="JSON file: {firmwares: [version], profiles: "
                                       "[{name, firmware, master}]} applied to an empty state")
    args = parser.parse_args(argv)
    addr, _, port = args.listen.rpartition(":")
    if not addr or not port.isdigit():
        parser.error(f"--listen {args.listen!r}: give ADDR:PORT")
    state = Path(args.state)
    state.mkdir(parents=True, exist_ok=True)
    fresh = not (state / "state.json").exists()
    fake = FakeUms(state_dir=state)
    if args.user:
        if not args.password_file:
            parser.error("--user needs --password-file")
        lines = Path(args.password_file).read_text("utf-8").splitlines()
        if not lines or not lines[0]:
            parser.error(f"{args.password_file}: the first line must be the password")
        fake.add_user(args.user, lines[0])
    if args.seed and fresh:
        seed = json.loads(Path(args.seed).read_text("utf-8"))
        ids = {v: fake.add_firmware(v) for v in seed.get("firmwares", [])}
        for p in seed.get("profiles", []):
            fake.add_profile(p["name"], ids[p["firmware"]], master=bool(p.get("master")))
    running = fake.serve(args.cert, args.key, addr, int(port))
    print(f"fake UMS (FAKE, not an IGEL product) serving {running.url}/umsapi/v3/", flush=True)
    try:
        running.thread.join()
    except KeyboardInterrupt:
        running.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
