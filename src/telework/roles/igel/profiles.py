"""IGEL profiles as files: IGEL OS 12 `.ipm`, IGEL OS 11 XML, and the bootstrap setup.ini.

The IMI cannot create profiles or write settings; an administrator imports these files in the
UMS (Web App for OS 12, Console for OS 11), and the reconciler assigns the imported profiles.
What each profile sets is data: `templates/igel/os12/<kind>.ipm.yml.j2` and
`templates/igel/os11/<kind>.xml.yml.j2` render (jinja2, every value through `tojson`) to YAML
listing registry keys and values; this module checks every value against the key's type and
range for that IGEL OS (`registry.py`), escapes it the IGEL way and writes the file.

Formats, as seen in public exports (github.com/IGEL-Community/IGEL-Custom-Partitions and
IGEL-Docs-v02, e.g. `wireguard-profile.xml`, `wireguard-profile-OS12.ipm`,
`HOWTO-Profile-Templates-Display-Pager.ipm`):
- OS 12 `.ipm`: a zip with `PROFILES/<name>.json` = {meta, parameterDescriptions, path, apps};
  scalar keys as {value, systemSettings, activatedInProfile, uiType, type: 2}; instance
  templates (`sessions.openvpn%`) as {templateParameters, instances: {"0": ...}, type: 1}.
  Exports also carry `APPS/<app>-<version>/...` (the app's setup.def and UI) copied from the
  UMS; telework copies them from an export of the target UMS when given one (`apps_from`),
  because they are IGEL's files. Whether the UMS imports an `.ipm` without them is UNVERIFIED.
- OS 11 XML: `<profiles><profile>...<settings><pclass name=KEY><pvalue instancenr=N>`.
- Values: IGEL escaping (`&lt &gt &lb &rb &amp`), in XML additionally XML-escaped.

OS 11 and OS 12 profiles are different types (`Os11Profile`, `Os12Profile`); each renderer takes
only its own, and each is checked against its own registry table.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import jinja2
import yaml

from telework.core.problems import TeleworkError
from telework.resources import templates_dir
from telework.roles.igel import vlist
from telework.roles.igel.registry import RegistryValueError, Value, registry

TEMPLATES = templates_dir() / "igel"
#: profile kinds and the IGEL OS majors each exists for
KINDS: dict[str, tuple[int, ...]] = {
    "openvpn": (11, 12),
    "rdp": (11,),  # OS 12: RDP is an app whose registry keys are not in telework's tables
    "screenlock": (11, 12),
    "usb_storage": (11, 12),
}
OS12_BASE_SYSTEM = "12.5.1"  # the base system release whose registry the values are checked with
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same profile gives the same bytes
_UI_TYPE = {"bool": "bool", "boolean": "bool", "integer": "integer"}


class ProfileError(TeleworkError):
    """A profile cannot be made: unknown kind, a parameter missing, a wrong value."""


@dataclass(frozen=True)
class Setting:
    """One registry value; `instance` is None for a plain key, else the instance number of an
    instance template key ('sessions.openvpn%.vpnopts.remote', instance '0')."""

    key: str
    value: Value
    instance: str | None = None


@dataclass(frozen=True)
class Os12Profile:
    name: str
    description: str
    settings: tuple[Setting, ...]
    folder: str = "telework"
    base_system: str = OS12_BASE_SYSTEM
    source: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.ipm"


@dataclass(frozen=True)
class Os11Profile:
    name: str
    description: str
    settings: tuple[Setting, ...]
    firmware: str
    source: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.xml"


Profile = Os11Profile | Os12Profile


def _env(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    env.filters["x"] = lambda v: escape(str(v), {'"': "&quot;"})
    env.filters["tojson"] = _tojson
    return env


def _tojson(value: Any) -> str:
    """Plain JSON (valid YAML) for a template value; a missing parameter is an error."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value, ensure_ascii=False)


def _render_yaml(templates: Path, relative: str, params: Mapping[str, Any], what: str) -> Any:
    env = _env(templates)
    try:
        text = env.get_template(relative).render(**params)
    except jinja2.TemplateNotFound:
        raise ProfileError(f"{what}: template {templates / relative} is missing") from None
    except jinja2.UndefinedError as exc:
        raise ProfileError(f"{what} ({templates / relative}): parameter missing: {exc.message} "
                           "(fix: give it in the inventory)") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{templates / relative} does not render to YAML: {exc}") from None


def build_profile(kind: str, os_major: int, params: Mapping[str, Any],
                  templates: Path = TEMPLATES) -> Profile:
    """The profile `kind` for IGEL OS `os_major` from its template, every value checked."""
    if kind not in KINDS:
        raise ProfileError(f"profile kind {kind!r}: telework makes {', '.join(sorted(KINDS))}")
    if os_major not in KINDS[kind]:
        raise ProfileError(
            f"profile kind {kind!r} exists for IGEL OS {', '.join(map(str, KINDS[kind]))} only, "
            f"not {os_major} (fix: assign the {kind} profile of the device's IGEL OS)")
    relative = f"os{os_major}/{kind}.{'ipm' if os_major == 12 else 'xml'}.yml.j2"
    what = f"profile {kind} for IGEL OS {os_major}"
    data = _render_yaml(templates, relative, params, what)
    name = str(data.get("name") or "")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._\-]{0,63}", name):
        raise ProfileError(f"{what}: name {name!r} must be 1-64 letters, digits, ' ._-'")
    where = f"profile {name!r} ({relative})"
    reg = registry(os_major)
    settings: list[Setting] = []
    for key, value in (data.get("settings") or {}).items():
        settings.append(Setting(key, _check(reg, key, value, where)))
    for template, instances in (data.get("instances") or {}).items():
        if not template.endswith("%"):
            raise ProfileError(f"{where}: instance key {template!r} must end with '%'")
        for number, values in instances.items():
            if not str(number).isdigit():
                raise ProfileError(f"{where}: instance {number!r} of {template} is not a number")
            for sub, value in values.items():
                key = f"{template}.{sub}"
                settings.append(Setting(key, _check(reg, key, value, where), str(number)))
    settings.sort(key=lambda s: (s.key, int(s.instance) if s.instance else -1))
    description = str(data.get("description") or "")
    if os_major == 12:
        return Os12Profile(name, description, tuple(settings),
                           folder=str(params.get("folder", "telework")), source=relative)
    firmware = str(data.get("firmware") or "")
    if not re.fullmatch(r"11\.\d+(\.\d+)*", firmware):
        raise ProfileError(f"{where}: firmware {firmware!r} is not an IGEL OS 11 version "
                           "(fix: give the OS 11 firmware version the UMS knows, e.g. 11.10.150.01)")
    return Os11Profile(name, description, tuple(settings), firmware, source=relative)


def _check(reg, key: str, value: Any, where: str) -> Value:
    try:
        return reg.check(key, value, where)
    except RegistryValueError as exc:
        raise ProfileError(str(exc)) from None


def _ui_type(os_major: int, key: str) -> str:
    k = registry(os_major).key(key)
    return _UI_TYPE.get(k.type, "string") if k else "string"


def _text(value: Value) -> str:
    """A value as IGEL text: booleans lower case, text IGEL-escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return vlist.igel_escape(value)


def _profile_id(name: str) -> int:
    """A stable number for the export's profile id (the UMS gives its own on import)."""
    return 100000 + zlib.crc32(name.encode("utf-8")) % 900000


# ---------------------------------------------------------------- IGEL OS 12


def render_os12_json(profile: Os12Profile) -> str:
    """PROFILES/<name>.json of the `.ipm`."""
    if not isinstance(profile, Os12Profile):
        raise ProfileError(f"{getattr(profile, 'name', profile)!r} is not an IGEL OS 12 profile: "
                           "OS 11 and OS 12 profiles are never crossed")
    params: dict[str, Any] = {}
    for s in profile.settings:
        value: Value = s.value if not isinstance(s.value, str) else vlist.igel_escape(s.value)
        if s.instance is None:
            params[s.key] = {"value": value, "systemSettings": False,
                             "activatedInProfile": profile.name,
                             "uiType": _ui_type(12, s.key), "type": 2}
            continue
        base, _, sub = s.key.partition("%.")
        entry = params.setdefault(base, {"templateParameters": {}, "instances": {}, "type": 1})
        entry["templateParameters"].setdefault(sub, {"uiType": _ui_type(12, s.key)})
        entry["instances"].setdefault(s.instance, {})[sub] = {
            "value": value, "systemSettings": False, "isIntegerInstance": True,
            "activatedInProfile": profile.name}
    doc = {
        "meta": {"version": "1.0.0", "profileId": _profile_id(profile.name),
                 "profileName": profile.name, "profileDescription": profile.description,
                 "profileType": "PROFILE"},
        "parameterDescriptions": params,
        "path": [profile.folder],
        "apps": [{"line": "base_system"}],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_ipm(profile: Os12Profile, apps_from: Path | None = None) -> bytes:
    """The `.ipm` (zip) bytes; the same profile always gives the same bytes.

    `apps_from`: an `.ipm` exported from the target UMS whose `APPS/base_system-<version>/`
    members are copied in (their version must be the profile's `base_system`)."""
    payload = render_os12_json(profile).encode("utf-8")
    members: list[tuple[str, bytes]] = [(f"PROFILES/{profile.name}.json", payload)]
    if apps_from is not None:
        prefix = f"APPS/base_system-{profile.base_system}/"
        try:
            with zipfile.ZipFile(apps_from) as src:
                copied = [(n, src.read(n)) for n in sorted(src.namelist())
                          if n.startswith(prefix) and not n.endswith("/")]
        except (OSError, zipfile.BadZipFile) as exc:
            raise ProfileError(f"{apps_from}: not a readable .ipm export ({exc})") from None
        if not copied:
            raise ProfileError(f"{apps_from} has no {prefix} (fix: export any profile of base "
                               f"system {profile.base_system} from the UMS and give that file)")
        members.extend(copied)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


# ---------------------------------------------------------------- IGEL OS 11


def render_os11_xml(profile: Os11Profile, templates: Path = TEMPLATES) -> str:
    if not isinstance(profile, Os11Profile):
        raise ProfileError(f"{getattr(profile, 'name', profile)!r} is not an IGEL OS 11 profile: "
                           "OS 11 and OS 12 profiles are never crossed")
    grouped: dict[str, list[tuple[str, str]]] = {}
    for s in profile.settings:
        grouped.setdefault(s.key, []).append((s.instance or "-1", _text(s.value)))
    pclasses = [{"name": k, "pvalues": v} for k, v in grouped.items()]
    template = _env(templates).get_template("os11/_profile.xml.j2")
    return template.render(profile_id=_profile_id(profile.name), name=profile.name,
                           firmware=profile.firmware, description=profile.description,
                           master=False, pclasses=pclasses)


# ---------------------------------------------------------------- files and bootstrap


def write_profile(profile: Profile, directory: Path, apps_from: Path | None = None) -> Path:
    """Write `<name>.ipm` (OS 12) or `<name>.xml` (OS 11) into `directory`."""
    from telework.core.atomicfile import write_atomic

    path = Path(directory) / profile.filename
    if isinstance(profile, Os12Profile):
        write_atomic(path, render_ipm(profile, apps_from))
    else:
        write_atomic(path, render_os11_xml(profile))
    return path


def render_setup_ini(os_major: int, params: Mapping[str, Any],
                     templates: Path = TEMPLATES) -> str:
    """The bootstrap setup.ini (IGEL registry text format) for a device's first contact.

    UNVERIFIED: no public setup.ini was found; the format is that of setup.def and firmware
    exports (which IGEL describes as the same), written on one line without a `<vlist>` root."""
    if os_major not in (11, 12):
        raise ProfileError(f"setup.ini for IGEL OS {os_major}: only 11 and 12 exist")
    data = _render_yaml(templates, "setup.ini.yml.j2", params, f"setup.ini for IGEL OS {os_major}")
    reg = registry(os_major)
    values = {}
    for key, value in (data.get(f"os{os_major}") or {}).items():
        values[key] = _text(_check(reg, key, value, f"setup.ini for IGEL OS {os_major}"))
    # dump() escapes itself: give it plain text
    return vlist.dump({k: vlist.igel_unescape(v) for k, v in values.items()})


def instance_uuid(profile_name: str, key: str) -> str:
    """A stable UUID for a new (non-numbered) OS 12 instance, should a template need one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"telework:{profile_name}:{key}"))
