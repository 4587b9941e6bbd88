"""A client of the UMS IGEL Management Interface (IMI), API v3, on httpx.

What it covers is what the IMI offers for placing a fleet: devices (list with facets, get, create
by MAC, update, delete), device directories (flat list, children, create, rename, move with
per-item results, delete), profile and priority ("master") profile assignments to devices and
directories, template keys and values, the firmware list and commands in throttled batches.
The IMI cannot create profiles or write settings; profiles are files (`profiles.py`).

Shapes and quirks follow the IMI v3 reference of the IGEL knowledge base (PDF export
`13-IGEL-Management-Interface.pdf`, github.com/IGEL-Community/IGEL-Docs-KB): ids are strings,
the root directory is "-1", lists include recycle-bin objects (`movedToBin`), moves answer 200
with a result per item, assignment answers spell "asssignments", `DELETE /v3/thinclients/{id}`
answers with a command list. Session: `POST /v3/login` with HTTP Basic sets `JSESSIONID`
(30 minutes, renewed by every successful request); an expired session is renewed once, without
the caller noticing.

TLS: the certificate of the UMS is verified against the CA file the caller gives (the UMS ships a
self-signed one, so the UMS CA must come from the inventory). Verification is off only when the
caller passes `insecure=True`, and that is logged as an error on every client made so.

Every error is a `TeleworkError` (see `errors.py`) naming the device (name, MAC, id) when the
client knows it, and the fix.
"""

from __future__ import annotations

import base64
import http.cookiejar
import logging
import re
import socket
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import httpx

from telework.core.problems import TeleworkError
from telework.roles.igel import errors
from telework.roles.igel.clock import Clock, SystemClock, Throttle

log = logging.getLogger("telework.roles.igel.imi")

ROOT_DIRECTORY = "-1"
COMMANDS = ("reboot", "shutdown", "wakeup", "settings2tc", "tcreset2facdefs")
DEVICE_FACETS = ("details", "online", "shadow", "networkadapters", "deviceattributes", "loginhistory")
NAME_MAX = 15  # device names: 1..15 characters (PSIGEL New-UMSDevice validates this length)
_MAC_SEPARATORS = re.compile(r"[:\-.\s]")
_HEX12 = re.compile(r"^[0-9A-F]{12}$")
_ASSIGNED = re.compile(r"(\d+)\s+as+ignments?\s+successfully", re.IGNORECASE)

ObjectType = Literal["tc", "tcdirectory", "profile", "profiledirectory", "masterprofile",
                     "masterprofiledirectory"]
Command = Literal["reboot", "shutdown", "wakeup", "settings2tc", "tcreset2facdefs"]


class ImiSetupError(TeleworkError):
    """The client was given settings that cannot work (before any request is sent)."""


# ------------------------------------------------------------------ data read from the IMI


@dataclass(frozen=True)
class ApiObject:
    """The IMI's most basic reference to an object: `{"id": "68257", "type": "profile"}`."""

    id: str
    type: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "type": self.type}


#: TCResourceV3 attribute -> the JSON name the IMI uses (list, details facet, create, update)
DEVICE_FIELDS: dict[str, str] = {
    "name": "name",
    "site": "site",
    "department": "department",
    "cost_center": "costCenter",
    "comment": "comment",
    "asset_id": "assetID",
    "inservice_date": "inserviceDate",
    "serial_number": "serialNumber",
    "last_ip": "lastIP",
}


@dataclass(frozen=True)
class Device:
    """A device record (TCResourceV3). Detail fields are None unless `facets=details` was read."""

    id: str
    name: str
    mac: str
    unit_id: str
    firmware_id: str
    parent_id: str
    moved_to_bin: bool
    last_ip: str | None = None
    site: str | None = None
    department: str | None = None
    cost_center: str | None = None
    comment: str | None = None
    asset_id: str | None = None
    inservice_date: str | None = None
    serial_number: str | None = None
    product_id: str | None = None
    last_contact: str | None = None
    config_changes: str | None = None
    online: bool | None = None
    device_attributes: tuple[tuple[str, str], ...] | None = None
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ref(self) -> ApiObject:
        return ApiObject(self.id, "tc")

    @property
    def label(self) -> str:
        return device_label(self.name, self.mac, self.id)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Device:
        try:
            attrs = data.get("deviceAttributes")
            return cls(
                id=_sid(data["id"]),
                name=str(data.get("name") or ""),
                mac=str(data.get("mac") or ""),
                unit_id=str(data.get("unitID") or ""),
                firmware_id=_sid(data.get("firmwareID", "")),
                parent_id=_sid(data.get("parentID", ROOT_DIRECTORY)),
                moved_to_bin=_bool(data.get("movedToBin", False)),
                last_ip=_opt(data.get("lastIP")),
                site=_opt(data.get("site")),
                department=_opt(data.get("department")),
                cost_center=_opt(data.get("costCenter")),
                comment=_opt(data.get("comment")),
                asset_id=_opt(data.get("assetID")),
                inservice_date=_opt(data.get("inserviceDate")),
                serial_number=_opt(data.get("serialNumber")),
                product_id=_opt(data.get("productId")),
                last_contact=_opt(data.get("lastContact")),
                config_changes=_opt(data.get("configChanges")),
                online=_bool(data["online"]) if "online" in data else None,
                device_attributes=(
                    tuple((str(a.get("identifier")), str(a.get("value", ""))) for a in attrs)
                    if isinstance(attrs, list) else None
                ),
                details=dict(data),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise errors.UmsProtocolError(
                "device list", ums_message=f"device record without {exc}: {_short(data)}"
            ) from None


@dataclass(frozen=True)
class Directory:
    """A device directory (DirectoryResource); `children` only with `facets=children`."""

    id: str
    name: str
    parent_id: str
    moved_to_bin: bool
    object_type: str = "tcdirectory"
    children: tuple[ApiObject, ...] | None = None

    @property
    def ref(self) -> ApiObject:
        return ApiObject(self.id, "tcdirectory")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Directory:
        try:
            kids = data.get("DirectoryChildren")
            return cls(
                id=_sid(data["id"]),
                name=str(data.get("name") or ""),
                parent_id=_sid(data.get("parentID", ROOT_DIRECTORY)),
                moved_to_bin=_bool(data.get("movedToBin", False)),
                object_type=str(data.get("objectType") or "tcdirectory"),
                children=(
                    tuple(ApiObject(_sid(k["id"]), str(k.get("objectType"))) for k in kids)
                    if isinstance(kids, list) else None
                ),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise errors.UmsProtocolError(
                "directory list", ums_message=f"directory without {exc}: {_short(data)}"
            ) from None


@dataclass(frozen=True)
class Profile:
    """A profile or priority profile; the IMI can rename and delete it, never create it."""

    id: str
    name: str
    firmware_id: str
    parent_id: str
    moved_to_bin: bool
    is_master: bool
    overrides_sessions: bool

    @property
    def ref(self) -> ApiObject:
        return ApiObject(self.id, "masterprofile" if self.is_master else "profile")

    @classmethod
    def from_json(cls, data: Mapping[str, Any], master: bool) -> Profile:
        try:
            return cls(
                id=_sid(data["id"]),
                name=str(data.get("name") or ""),
                firmware_id=_sid(data.get("firmwareID", "")),
                parent_id=_sid(data.get("parentID", "")),
                moved_to_bin=_bool(data.get("movedToBin", False)),
                is_master=_bool(data.get("isMasterProfile", master)),
                overrides_sessions=_bool(data.get("overridesSessions", False)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise errors.UmsProtocolError(
                "profile list", ums_message=f"profile without {exc}: {_short(data)}"
            ) from None


@dataclass(frozen=True)
class Firmware:
    id: str
    product: str
    version: str
    firmware_type: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Firmware:
        return cls(
            id=_sid(data["id"]),
            product=str(data.get("product") or ""),
            version=str(data.get("version") or ""),
            firmware_type=str(data.get("firmwareType") or ""),
        )


@dataclass(frozen=True)
class Assignment:
    """A profile (assignee) assigned to a device or directory (receiver).

    `position` is the order of application as the UMS reports it; only the lists read from the
    receiver's side (`device_assignments`, `directory_assignments`) are documented as ordered
    per receiver, so callers use positions from those lists only.
    """

    assignee: ApiObject
    receiver: ApiObject
    position: int | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Assignment:
        try:
            pos = data.get("assignmentPosition")
            a, r = data["assignee"], data.get("receiver") or data.get("Receiver")
            return cls(
                ApiObject(_sid(a["id"]), str(a["type"])),
                ApiObject(_sid(r["id"]), str(r["type"])),
                int(pos) if pos is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.UmsProtocolError(
                "assignment list", ums_message=f"assignment without {exc}: {_short(data)}"
            ) from None


@dataclass(frozen=True)
class MoveResult:
    id: str
    result: str

    @property
    def ok(self) -> bool:
        return self.result == "successful"


@dataclass(frozen=True)
class CommandResult:
    id: str
    state: str
    message: str
    mac: str | None = None
    exec_id: str | None = None
    exectime: str | None = None

    @property
    def ok(self) -> bool:
        return self.state == "SUCCESS"


@dataclass(frozen=True)
class TemplateValue:
    id: str
    value: str
    name: str
    key_id: str
    description: str
    type: str


# ------------------------------------------------------------------ helpers


def normalise_mac(mac: str) -> str:
    """'00:e0:c5:02:81:0e' -> '00E0C502810E' (the form the IMI lists); '' if not 12 hex digits."""
    text = _MAC_SEPARATORS.sub("", str(mac)).upper()
    return text if _HEX12.match(text) else ""


def device_label(name: str | None = None, mac: str | None = None, id: str | None = None) -> str:
    """'device igel-0001 (MAC 00E0C502810E, id 95)': how errors and results name a device."""
    parts = [f"MAC {mac}" if mac else "", f"id {id}" if id else ""]
    inner = ", ".join(p for p in parts if p)
    head = f"device {name}" if name else "device"
    return f"{head} ({inner})" if inner else head


def _sid(value: Any) -> str:
    """IMI ids are strings; a few answers (template reads) carry numbers: keep them as text."""
    if isinstance(value, bool):
        raise TypeError("id")
    return str(value)


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() == "true"


def _short(data: Any, limit: int = 160) -> str:
    text = repr(data)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _base_url(url: str) -> str:
    """'https://ums:8443' or '.../umsapi' or '.../umsapi/v3' -> 'https://ums:8443/umsapi/v3/'."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ImiSetupError(
            f"UMS address {url!r} is not an https:// URL (fix: give it as https://<ums>:8443)"
        )
    path = parts.path.rstrip("/")
    for tail in ("/v3", "/umsapi"):
        path = path.removesuffix(tail)
    netloc = parts.netloc
    return f"https://{netloc}{path}/umsapi/v3/"


def _no_cookies() -> http.cookiejar.CookieJar:
    """A jar that stores nothing: the session cookie is sent explicitly, never by the jar."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def _is_tls_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLError):
            return True
        text = str(cur)
        if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text and "handshake" in text.lower():
            return True
        cur = cur.__cause__ or cur.__context__
    return False


# ------------------------------------------------------------------ the client


class ImiClient:
    """One IMI session against one UMS. Use as a context manager (logs out at the end).

    `command_rate` (devices per second) and `command_batch` bound how fast commands reach the
    fleet; `clock` is injectable so that tests do not sleep.
    """

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        ca_file: str | Path | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
        command_rate: float = 5.0,
        command_batch: int = 25,
        clock: Clock | None = None,
    ) -> None:
        self.base = _base_url(url)
        self.user = user
        self._password = password
        if insecure and ca_file is not None:
            raise ImiSetupError(
                "UMS client: both a CA file and insecure=True were given "
                "(fix: give the UMS CA file and drop insecure)"
            )
        if command_batch < 1:
            raise ImiSetupError(f"command batch must be at least 1 device, not {command_batch}")
        verify: ssl.SSLContext | bool
        if insecure:
            log.error(
                "TLS VERIFICATION IS OFF for the UMS at %s: anyone on the network path can read "
                "the IMI password and change the fleet. Use this in a lab only; give the UMS CA "
                "file instead.", self.base,
            )
            verify = False
        else:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            except (OSError, ssl.SSLError) as exc:
                raise ImiSetupError(
                    f"UMS CA file {ca_file}: cannot be read as PEM certificates ({exc}) "
                    "(fix: give the PEM file of the CA that issued the UMS certificate)"
                ) from None
            verify.minimum_version = ssl.TLSVersion.TLSv1_2  # UMS 5.08+ requires TLS 1.2
        self.clock: Clock = clock or SystemClock()
        self.throttle = Throttle(command_rate, self.clock)
        self.command_batch = command_batch
        self._session: str | None = None
        self._known: dict[str, tuple[str, str]] = {}  # device id -> (name, MAC), for messages
        # TCP_NODELAY: a request's headers and body are separate writes; with Nagle's
        # algorithm and delayed ACKs every call would wait ~40 ms for nothing
        transport = httpx.HTTPTransport(
            verify=verify, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        self._http = httpx.Client(
            transport=transport, timeout=timeout, cookies=_no_cookies(), trust_env=False,
            headers={"Accept": "application/json"},
        )
        self.logins = 0

    # -- lifecycle

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self._session is not None:
                self.logout()
        except errors.UmsError as exc:  # logging out is a courtesy; the session expires anyway
            log.info("UMS logout failed: %s", exc)
        finally:
            self._http.close()

    # -- session

    def login(self) -> None:
        """POST /v3/login with HTTP Basic; keeps the JSESSIONID of the answer."""
        token = base64.b64encode(f"{self.user}:{self._password}".encode()).decode()
        resp = self._send("POST", "login", operation="login", subject=f"IMI user {self.user}",
                          headers={"Authorization": f"Basic {token}"})
        body = self._decode(resp, "login", f"IMI user {self.user}")
        session = resp.cookies.get("JSESSIONID")
        if not session:
            # the http cookie jar stores nothing, but the answer's Set-Cookie is still readable
            for header in resp.headers.get_list("set-cookie"):
                m = re.match(r"\s*JSESSIONID=([^;]+)", header)
                if m:
                    session = m.group(1)
        if not session and isinstance(body, dict):
            m = re.match(r"\s*JSESSIONID=(\S+)", str(body.get("message", "")))
            session = m.group(1) if m else None
        if not session:
            raise errors.UmsProtocolError(
                "login", subject=f"IMI user {self.user}",
                ums_message="the answer carries no JSESSIONID (neither cookie nor message)",
            )
        self._session = session
        self.logins += 1

    def logout(self) -> None:
        if self._session is None:
            return
        try:
            self._call("POST", "logout", operation="logout", relogin=False)
        finally:
            self._session = None

    def server_status(self) -> dict[str, Any]:
        """GET /v3/serverstatus (no login). UMS 12 answers a reduced form: read it loosely."""
        resp = self._send("GET", "serverstatus", operation="server status")
        body = self._decode(resp, "server status", None)
        return dict(body) if isinstance(body, dict) else {}

    # -- devices

    def list_devices(self, facet: str | None = None) -> list[Device]:
        """GET /v3/thinclients[?facets=...]: every device, recycle-bin entries included."""
        params = self._facet(facet, DEVICE_FACETS)
        body = self._call("GET", "thinclients", params=params, operation="device list")
        devices = [Device.from_json(d) for d in self._list(body, "device list")]
        for d in devices:
            self._known[d.id] = (d.name, d.mac)
        return devices

    def get_device(self, tc_id: str, facet: str | None = None) -> Device:
        params = self._facet(facet, DEVICE_FACETS)
        body = self._call("GET", f"thinclients/{tc_id}", params=params, operation="device read",
                          subject=self._device(tc_id))
        if not isinstance(body, dict):
            raise errors.UmsProtocolError("device read", subject=self._device(tc_id),
                                          ums_message=f"not an object: {_short(body)}")
        device = Device.from_json(body)
        self._known[device.id] = (device.name, device.mac)
        return device

    def create_device(
        self,
        mac: str,
        firmware_id: str,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        attributes: Mapping[str, str] | None = None,
        device_attributes: Mapping[str, str] | None = None,
    ) -> str:
        """PUT /v3/thinclients: a device record for a MAC (and a firmware the UMS knows).

        `attributes` uses the names of `DEVICE_FIELDS` (site, department, ...). Returns the new
        id. MAC, name and firmware are checked here first, so a bad inventory entry fails with
        the same error the UMS would give, without a request.
        """
        norm = normalise_mac(mac)
        subject = device_label(name, norm or mac)
        if not str(mac).strip():
            raise errors.NoMacDefined("device create", subject=subject)
        if not norm:
            raise errors.InvalidMacLength("device create", subject=subject,
                                          ums_message=f"{mac!r} is not 12 hexadecimal digits")
        if not str(firmware_id or "").strip():
            raise errors.NoFirmwareDefined("device create", subject=subject)
        body: dict[str, Any] = {"mac": norm, "firmwareID": _sid(firmware_id)}
        if name is not None:
            self._check_name(name, "device create", subject)
            body["name"] = name
        if parent_id is not None:
            body["parentID"] = _sid(parent_id)
        body.update(self._fields(attributes or {}, "device create", subject))
        if device_attributes:
            body["deviceAttributes"] = [
                {"identifier": k, "value": v} for k, v in device_attributes.items()
            ]
        answer = self._call("PUT", "thinclients", json_body=body, operation="device create",
                            subject=subject)
        new_id = _sid(answer.get("id", "")) if isinstance(answer, dict) else ""
        if not new_id:
            raise errors.UmsProtocolError("device create", subject=subject,
                                          ums_message=f"no id in the answer: {_short(answer)}")
        self._known[new_id] = (str(answer.get("name") or name or ""), norm)
        return new_id

    def update_device(
        self,
        tc_id: str,
        attributes: Mapping[str, str] | None = None,
        device_attributes: Mapping[str, str] | None = None,
    ) -> None:
        """PUT /v3/thinclients/{id}: change record fields (`DEVICE_FIELDS` names) and custom
        device attributes (UMS 6.10+, IGEL OS 11.07+, overwrite rule must allow the IMI)."""
        subject = self._device(tc_id)
        body = self._fields(attributes or {}, "device update", subject)
        if "name" in body:
            self._check_name(body["name"], "device update", subject)
        if device_attributes:
            body["deviceAttributes"] = [
                {"identifier": k, "value": v} for k, v in device_attributes.items()
            ]
        if not body:
            return
        self._call("PUT", f"thinclients/{tc_id}", json_body=body, operation="device update",
                   subject=subject)
        if "name" in body and tc_id in self._known:
            self._known[tc_id] = (body["name"], self._known[tc_id][1])

    def delete_device(self, tc_id: str, *, offline: bool = False) -> None:
        """DELETE /v3/thinclients/{id} (or .../deletetcoffline): gone for good, no recycle bin."""
        path = f"thinclients/{tc_id}/deletetcoffline" if offline else f"thinclients/{tc_id}"
        self._call("DELETE", path, operation="device delete", subject=self._device(tc_id))
        self._known.pop(tc_id, None)

    def send_command(self, command: str, tc_ids: Sequence[str]) -> list[CommandResult]:
        """POST /v3/thinclients?command=...: in batches of `command_batch`, never faster than
        `command_rate` devices per second. Returns one result per device id, in order; a device
        the answer does not mention gets state 'MISSING'."""
        if command not in COMMANDS:
            raise errors.InvalidCommand(f"command {command!r}",
                                        ums_message=f"{command!r} is not an IMI command")
        ids = [_sid(i) for i in tc_ids]
        results: dict[str, CommandResult] = {}
        for start in range(0, len(ids), self.command_batch):
            batch = ids[start : start + self.command_batch]
            self.throttle.wait_for(len(batch))
            subject = self._devices(batch)
            answer = self._call(
                "POST", "thinclients", params={"command": command},
                json_body=[{"id": i, "type": "tc"} for i in batch],
                operation=f"command {command}", subject=subject,
            )
            rows = answer.get("CommandExecList") if isinstance(answer, dict) else None
            if not isinstance(rows, list):
                raise errors.UmsProtocolError(f"command {command}", subject=subject,
                                              ums_message=f"no CommandExecList: {_short(answer)}")
            by_mac = {normalise_mac(self._known.get(i, ("", ""))[1]): i for i in batch}
            for row in rows:
                rid = _sid(row.get("id")) if row.get("id") is not None else by_mac.get(
                    normalise_mac(str(row.get("mac", ""))), "")
                if rid in batch:
                    results[rid] = CommandResult(
                        rid, str(row.get("state", "")), str(row.get("message", "")),
                        _opt(row.get("mac")), _opt(row.get("execID")), _opt(row.get("exectime")),
                    )
            for i in batch:
                results.setdefault(i, CommandResult(i, "MISSING", "not in the UMS answer"))
        return [results[i] for i in ids]

    # -- directories

    def list_directories(self, children: bool = False) -> list[Directory]:
        """GET /v3/directories/tcdirectories[?facets=children]: all, flat, bin included."""
        params = {"facets": "children"} if children else None
        body = self._call("GET", "directories/tcdirectories", params=params,
                          operation="directory list")
        return [Directory.from_json(d) for d in self._list(body, "directory list")]

    def get_directory(self, dir_id: str, children: bool = False) -> Directory:
        params = {"facets": "children"} if children else None
        body = self._call("GET", f"directories/tcdirectories/{dir_id}", params=params,
                          operation="directory read", subject=f"directory id {dir_id}")
        if not isinstance(body, dict):
            raise errors.UmsProtocolError("directory read", ums_message=_short(body))
        return Directory.from_json(body)

    def create_directory(self, name: str) -> str:
        """PUT /v3/directories/tcdirectories/: a new directory at the root (move it to nest)."""
        answer = self._call("PUT", "directories/tcdirectories/", json_body={"name": name},
                            operation="directory create", subject=f"directory {name!r}")
        new_id = _sid(answer.get("id", "")) if isinstance(answer, dict) else ""
        if not new_id:
            raise errors.UmsProtocolError("directory create", subject=f"directory {name!r}",
                                          ums_message=f"no id in the answer: {_short(answer)}")
        return new_id

    def rename_directory(self, dir_id: str, name: str) -> None:
        self._call("PUT", f"directories/tcdirectories/{dir_id}", json_body={"name": name},
                   operation="directory rename", subject=f"directory id {dir_id}")

    def delete_directory(self, dir_id: str, label: str | None = None) -> None:
        """DELETE /v3/directories/tcdirectories/{id}: only an empty directory (else ITG-0A006)."""
        self._call("DELETE", f"directories/tcdirectories/{dir_id}", operation="directory delete",
                   subject=label or f"directory id {dir_id}")

    def move(self, dest_dir_id: str, items: Sequence[ApiObject],
             label: str | None = None) -> list[MoveResult]:
        """PUT /v3/directories/tcdirectories/{dest}?operation=move. The UMS answers 200 even when
        items fail; one result per item, in order ('missing' if the answer leaves one out)."""
        if not items:
            return []
        answer = self._call(
            "PUT", f"directories/tcdirectories/{dest_dir_id}", params={"operation": "move"},
            json_body=[i.as_json() for i in items], operation="move",
            subject=label or f"directory id {dest_dir_id}",
        )
        got = {_sid(r.get("id")): str(r.get("results", "")) for r in self._list(answer, "move")}
        return [MoveResult(i.id, got.get(i.id, "missing")) for i in items]

    # -- profiles and assignments

    def list_profiles(self) -> list[Profile]:
        body = self._call("GET", "profiles", operation="profile list")
        return [Profile.from_json(p, False) for p in self._list(body, "profile list")]

    def list_master_profiles(self) -> list[Profile]:
        """Priority profiles (called master profiles before UMS 12)."""
        body = self._call("GET", "masterprofiles", operation="priority profile list")
        return [Profile.from_json(p, True) for p in self._list(body, "priority profile list")]

    def profile_assignments(self, profile: ApiObject, receiver_type: str) -> list[Assignment]:
        """Who a profile is assigned to: `receiver_type` 'tc' or 'tcdirectory'."""
        path = f"{self._profile_path(profile)}/assignments/{self._receivers(receiver_type)}"
        body = self._call("GET", path, operation="assignment list",
                          subject=f"{profile.type} id {profile.id}")
        return [Assignment.from_json(a) for a in self._list(body, "assignment list")]

    def device_assignments(self, tc_id: str) -> list[Assignment]:
        """Profiles and priority profiles of one device, in order of application."""
        body = self._call("GET", f"thinclients/{tc_id}/assignments/profiles",
                          operation="assignment list", subject=self._device(tc_id))
        found = [Assignment.from_json(a) for a in self._list(body, "assignment list")]
        return sorted(found, key=lambda a: (a.position is None, a.position or 0))

    def directory_assignments(self, dir_id: str) -> list[Assignment]:
        """Profiles and priority profiles of one directory, in order of application."""
        body = self._call("GET", f"directories/tcdirectories/{dir_id}/assignments/profiles",
                          operation="assignment list", subject=f"directory id {dir_id}")
        found = [Assignment.from_json(a) for a in self._list(body, "assignment list")]
        return sorted(found, key=lambda a: (a.position is None, a.position or 0))

    def assign(self, profile: ApiObject, receivers: Sequence[ApiObject],
               label: str | None = None) -> int:
        """Assign a profile or priority profile to devices or directories (one type per call).

        Returns the number the UMS reports ("N asssignments successfully assigned ..." -- the
        reference spells it with three s; both spellings are read)."""
        if not receivers:
            return 0
        kinds = {r.type for r in receivers}
        if len(kinds) != 1:
            raise ImiSetupError(f"assign: receivers of one type per call, not {sorted(kinds)}")
        path = f"{self._profile_path(profile)}/assignments/{self._receivers(kinds.pop())}/"
        body = [{"assignee": profile.as_json(), "receiver": r.as_json()} for r in receivers]
        subject = label or (self._devices([r.id for r in receivers])
                            if receivers[0].type == "tc" else f"directory id {receivers[0].id}")
        answer = self._call("PUT", path, json_body=body, operation=f"assign {profile.type} "
                            f"id {profile.id}", subject=subject)
        message = str(answer.get("message", "")) if isinstance(answer, dict) else ""
        m = _ASSIGNED.search(message)
        if m:
            return int(m.group(1))
        if "successfully" in message.lower():
            return len(receivers)
        raise errors.UmsProtocolError("assign", subject=subject,
                                      ums_message=f"unexpected answer: {_short(answer)}")

    def unassign(self, profile: ApiObject, receiver: ApiObject, label: str | None = None) -> None:
        path = (f"{self._profile_path(profile)}/assignments/"
                f"{self._receivers(receiver.type)}/{receiver.id}")
        subject = label or (self._device(receiver.id) if receiver.type == "tc"
                            else f"directory id {receiver.id}")
        self._call("DELETE", path, operation=f"unassign {profile.type} id {profile.id}",
                   subject=subject)

    # -- firmware and template keys

    def list_firmwares(self) -> list[Firmware]:
        """GET /v3/firmwares: the answer wraps the list as {"FwResource": [...]}."""
        body = self._call("GET", "firmwares", operation="firmware list")
        rows = body.get("FwResource") if isinstance(body, dict) else body
        return [Firmware.from_json(f) for f in self._list(rows, "firmware list")]

    def create_template_key(self, name: str, type: str = "StringType",
                            parent_id: str | None = None) -> str:
        """PUT /v3/template (UMS 12.05.100+)."""
        body: dict[str, Any] = {"name": name, "type": type}
        if parent_id is not None:
            body["parentID"] = _sid(parent_id)
        answer = self._call("PUT", "template", json_body=body, operation="template key create",
                            subject=f"template key {name!r}")
        return _sid(answer["id"]) if isinstance(answer, dict) and "id" in answer else self._noid(
            "template key create", answer)

    def create_template_value(self, key_id: str, value: str, description: str = "",
                              type: str = "StringType") -> str:
        answer = self._call(
            "PUT", f"template/{key_id}/value",
            json_body={"value": value, "description": description, "type": type},
            operation="template value create", subject=f"template key id {key_id}",
        )
        return _sid(answer["id"]) if isinstance(answer, dict) and "id" in answer else self._noid(
            "template value create", answer)

    def read_template(self, key_id: str) -> list[TemplateValue]:
        body = self._call("GET", f"template/{key_id}/read", operation="template read",
                          subject=f"template key id {key_id}")
        return [
            TemplateValue(_sid(v["id"]), str(v.get("value", "")), str(v.get("name", "")),
                          _sid(v.get("parentId", key_id)), str(v.get("description", "")),
                          str(v.get("type", "")))
            for v in self._list(body, "template read")
        ]

    def assign_template_to_device(self, tc_id: str, pairs: Iterable[tuple[str, str]]) -> None:
        """PUT /v3/template/assign/tc: (template key id, value id) pairs for one device."""
        self._call("PUT", "template/assign/tc", json_body={
            "tcId": _sid(tc_id),
            "template": [{"templateId": _sid(k), "valueId": _sid(v)} for k, v in pairs],
        }, operation="template assign", subject=self._device(tc_id))

    def assign_template_to_directory(self, dir_id: str, pairs: Iterable[tuple[str, str]]) -> None:
        self._call("PUT", "template/assign/dir", json_body={
            "dirId": _sid(dir_id),
            "template": [{"templateId": _sid(k), "valueId": _sid(v)} for k, v in pairs],
        }, operation="template assign", subject=f"directory id {dir_id}")

    def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                json_body: Any = None, subject: str | None = None) -> Any:
        """Any IMI call by its path under /umsapi/v3/ (decoded JSON), with the same session,
        error and TLS handling: for diagnostics and contract tests of raw answers."""
        return self._call(method, path.lstrip("/"), params=params, json_body=json_body,
                          operation=f"{method} /v3/{path.lstrip('/')}", subject=subject)

    # -- plumbing

    def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              json_body: Any = None, operation: str, subject: str | None = None,
              relogin: bool = True) -> Any:
        """One authenticated request; an expired session is renewed once and the request sent
        again (a 401 means the UMS did not act on it)."""
        for attempt in (1, 2):
            if self._session is None:
                self.login()
            resp = self._send(method, path, params=params, json_body=json_body,
                              operation=operation, subject=subject,
                              headers={"Cookie": f"JSESSIONID={self._session}"})
            if resp.status_code == 401 and relogin and attempt == 1 and self._session_lost(resp):
                log.info("UMS session expired during %s; logging in again", operation)
                self._session = None
                continue
            return self._decode(resp, operation, subject)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, path: str, *, operation: str, subject: str | None = None,
              params: Mapping[str, str] | None = None, json_body: Any = None,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        url = self.base + path
        try:
            resp = self._http.request(method, url, params=params, json=json_body,
                                      headers=dict(headers or {}))
        except httpx.TimeoutException:
            raise errors.UmsConnectionError(operation, subject=subject,
                                            ums_message=f"no answer from {self.base} in time",
                                            fix="check that the UMS is up; try again") from None
        except httpx.TransportError as exc:
            if _is_tls_failure(exc):
                raise errors.UmsTlsError(operation, subject=subject,
                                         ums_message=f"TLS handshake with {self.base}: {exc}") \
                    from None
            raise errors.UmsConnectionError(operation, subject=subject,
                                            ums_message=f"{self.base}: {exc}") from None
        log.debug("IMI %s /%s -> %s", method, path, resp.status_code)
        return resp

    def _decode(self, resp: httpx.Response, operation: str, subject: str | None) -> Any:
        body: Any = None
        if resp.content:
            try:
                body = resp.json()
            except ValueError:
                if resp.status_code < 400:
                    raise errors.UmsProtocolError(
                        operation, subject=subject, status=resp.status_code,
                        ums_message=f"not JSON: {resp.text[:120]!r}") from None
        if resp.status_code >= 400:
            raise errors.from_response(operation, resp.status_code, body, subject=subject)
        return body

    @staticmethod
    def _session_lost(resp: httpx.Response) -> bool:
        try:
            code = resp.json().get("errorCode")
        except (ValueError, AttributeError):
            return True
        return code is None or code in errors.SESSION_CODES

    @staticmethod
    def _list(body: Any, operation: str) -> list[dict[str, Any]]:
        if body is None:
            return []
        if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
            raise errors.UmsProtocolError(operation, ums_message=f"not a list: {_short(body)}")
        return body

    @staticmethod
    def _facet(facet: str | None, allowed: Sequence[str]) -> dict[str, str] | None:
        if facet is None:
            return None
        if facet not in allowed:
            raise ImiSetupError(f"facet {facet!r} is not one of {', '.join(allowed)}")
        return {"facets": facet}

    @staticmethod
    def _profile_path(profile: ApiObject) -> str:
        if profile.type == "profile":
            return f"profiles/{profile.id}"
        if profile.type == "masterprofile":
            return f"masterprofiles/{profile.id}"
        raise ImiSetupError(f"assignee must be a profile or masterprofile, not {profile.type!r}")

    @staticmethod
    def _receivers(receiver_type: str) -> str:
        if receiver_type == "tc":
            return "thinclients"
        if receiver_type == "tcdirectory":
            return "tcdirectories"
        raise ImiSetupError(f"receiver must be 'tc' or 'tcdirectory', not {receiver_type!r}")

    @staticmethod
    def _fields(attributes: Mapping[str, str], operation: str, subject: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in attributes.items():
            if key not in DEVICE_FIELDS:
                raise errors.NoValidProperty(
                    operation, subject=subject,
                    ums_message=f"{key!r} is not a device field ({', '.join(DEVICE_FIELDS)})")
            out[DEVICE_FIELDS[key]] = "" if value is None else str(value)
        return out

    @staticmethod
    def _check_name(name: str, operation: str, subject: str) -> None:
        if not 1 <= len(name) <= NAME_MAX:
            raise errors.InvalidThinClientName(
                operation, subject=subject,
                ums_message=f"{name!r} has {len(name)} characters (1 to {NAME_MAX} allowed)")

    def _device(self, tc_id: str) -> str:
        name, mac = self._known.get(tc_id, ("", ""))
        return device_label(name or None, mac or None, tc_id)

    def _devices(self, ids: Sequence[str]) -> str:
        if len(ids) == 1:
            return self._device(ids[0])
        shown = ", ".join(self._known.get(i, (f"id {i}", ""))[0] or f"id {i}" for i in ids[:5])
        more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
        return f"devices {shown}{more}"

    @staticmethod
    def _noid(operation: str, answer: Any) -> str:
        raise errors.UmsProtocolError(operation, ums_message=f"no id in the answer: {_short(answer)}")
