"""IGEL profiles: golden files of every generated profile, the file formats, escaping, and the
check of every value against the IGEL registry key's type and range.

Golden files live in tests/unit/golden/igel/; TELEWORK_UPDATE_GOLDEN=1 rewrites them (review
the diff before committing).
"""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from telework.roles.igel import profiles, vlist
from telework.roles.igel.profiles import (
    KINDS,
    Os11Profile,
    Os12Profile,
    ProfileError,
    build_profile,
    render_ipm,
    render_os11_xml,
    render_os12_json,
    render_setup_ini,
)
from telework.roles.igel.registry import DATA, registry

GOLDEN = Path(__file__).parent / "golden" / "igel"
OS11_FIRMWARE = "11.10.150.01"
PARAMS = {
    "openvpn": {"remote": "vpn.gruenfelden.de", "username": "dseidel", "tls_auth": "ta.key"},
    "rdp": {"server": "ts.gruenfelden.de", "domain": "GRUENFELDEN", "gateway": "rdgw.gruenfelden.de"},
    "screenlock": {"minutes": 10},
    "usb_storage": {},
}
#: per IGEL OS, what differs from PARAMS
EXTRA = {11: {"firmware": OS11_FIRMWARE}, 12: {"tls_auth_direction": "crypt"}}
CASES = [(kind, os_major) for kind, majors in KINDS.items() for os_major in majors]
#: the element set of every public OS 11 profile export (181 files, see the module docstring
#: of profiles.py), and the top-level keys and entry shapes of the public OS 12 exports
OS11_ELEMENTS = {"profiles", "profile", "profile_id", "profilename", "firmware", "model",
                 "version", "description", "overwritesessions", "is_master_profile",
                 "is_igel_os", "settings", "pclass", "pvalue", "variableSubstitutionActive",
                 "instancesettings", "instance", "ivalue"}
OS12_TOP = {"meta", "parameterDescriptions", "path", "apps"}
OS12_SCALAR = {"value", "systemSettings", "activatedInProfile", "uiType", "type"}
OS12_INSTANCE_TEMPLATE = {"templateParameters", "instances", "type"}
OS12_INSTANCE_VALUE = {"value", "systemSettings", "isIntegerInstance", "activatedInProfile"}


def params(kind: str, os_major: int, **more) -> dict:
    p = {**PARAMS[kind], **EXTRA[os_major], **more}
    if kind != "openvpn":
        p.pop("tls_auth_direction", None)
    return p


def golden(relative: str, text: str) -> None:
    path = GOLDEN / relative
    if os.environ.get("TELEWORK_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with TELEWORK_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{relative} differs from its golden file"


# ---------------------------------------------------------------- golden files


@pytest.mark.parametrize("kind,os_major", CASES)
def test_generated_profiles_match_their_golden_files(kind, os_major):
    prof = build_profile(kind, os_major, params(kind, os_major))
    if os_major == 12:
        golden(f"os12/{prof.name}.json", render_os12_json(prof))
    else:
        golden(f"os11/{prof.name}.xml", render_os11_xml(prof))


@pytest.mark.parametrize("os_major", [11, 12])
def test_bootstrap_setup_ini_matches_its_golden_file(os_major):
    text = render_setup_ini(os_major, {"ums": "ums.gruenfelden.de", "structure_tag": "rathaus"})
    golden(f"bootstrap/os{os_major}/setup.ini", text)
    keys = vlist.parse(text)
    if os_major == 12:
        assert keys["system.remotemanager.connector0.type"] == {"value": "ums"}
        assert keys["system.remotemanager.connector0.port"] == {"value": "8443"}
    else:
        assert keys["system.remotemanager.server0.port"] == {"value": "30001"}
    assert keys["system.remotemanager.ums_structure_tag"] == {"value": "rathaus"}


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("kind", [k for k, m in KINDS.items() if 12 in m])
def test_the_ipm_is_a_zip_with_the_profile_json_in_the_export_shape(kind):
    prof = build_profile(kind, 12, params(kind, 12))
    data = render_ipm(prof)
    assert data == render_ipm(prof)  # same profile, same bytes
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == [f"PROFILES/{prof.name}.json"]
        doc = json.loads(zf.read(f"PROFILES/{prof.name}.json"))
    assert set(doc) == OS12_TOP and doc["apps"] == [{"line": "base_system"}]
    assert doc["meta"]["profileName"] == prof.name and doc["meta"]["profileType"] == "PROFILE"
    for entry in doc["parameterDescriptions"].values():
        if entry["type"] == 2:
            assert set(entry) == OS12_SCALAR and entry["activatedInProfile"] == prof.name
        else:
            assert entry["type"] == 1 and set(entry) == OS12_INSTANCE_TEMPLATE
            for values in entry["instances"].values():
                assert all(set(v) == OS12_INSTANCE_VALUE and v["isIntegerInstance"]
                           for v in values.values())
                assert set(values) <= set(entry["templateParameters"])


def test_apps_are_copied_from_an_export_of_the_target_ums(tmp_path):
    export = tmp_path / "export.ipm"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr("PROFILES/any.json", "{}")
        zf.writestr("APPS/base_system-12.5.1/app.json", '{"name": "base_system"}')
        zf.writestr("APPS/base_system-12.5.1/config/setup.def", "<vlist></vlist>")
        zf.writestr("APPS/cwa-23.9.24+1/app.json", "{}")
    prof = build_profile("screenlock", 12, params("screenlock", 12))
    with zipfile.ZipFile(io.BytesIO(render_ipm(prof, export))) as zf:
        assert zf.namelist() == [f"PROFILES/{prof.name}.json", "APPS/base_system-12.5.1/app.json",
                                 "APPS/base_system-12.5.1/config/setup.def"]
    other = tmp_path / "old.ipm"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("APPS/base_system-12.2.2/app.json", "{}")
    with pytest.raises(ProfileError, match="base_system-12.5.1"):
        render_ipm(prof, other)


@pytest.mark.parametrize("kind", [k for k, m in KINDS.items() if 11 in m])
def test_os11_xml_has_the_export_elements_and_round_trips(kind):
    prof = build_profile(kind, 11, params(kind, 11))
    root = ET.fromstring(render_os11_xml(prof).encode("utf-8"))
    assert {e.tag for e in root.iter()} <= OS11_ELEMENTS
    assert root.findtext("profile/firmware/model") == "IGEL OS 11"
    assert root.findtext("profile/firmware/version") == OS11_FIRMWARE
    got = {(p.get("name"), v.get("instancenr"), vlist.igel_unescape(v.text or ""))
           for p in root.iter("pclass") for v in p.iter("pvalue")}
    def plain(value):
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    want = {(s.key, s.instance or "-1", plain(s.value)) for s in prof.settings}
    assert got == want


def test_values_are_escaped_the_igel_way():
    odd = "A&B [x] <y>"
    p11 = build_profile("rdp", 11, params("rdp", 11, session_name=odd))
    xml = render_os11_xml(p11)
    assert "A&amp;ampB &amp;lbx&amp;rb &amp;lty&amp;gt" in xml  # IGEL escaping, then XML's
    text = [v.text for v in ET.fromstring(xml.encode()).iter("pvalue") if v.text and "&amp" in v.text]
    assert text == ["A&ampB &lbx&rb &lty&gt"] and vlist.igel_unescape(text[0]) == odd
    p12 = build_profile("openvpn", 12, params("openvpn", 12, username=odd))
    doc = json.loads(render_os12_json(p12))
    inst = doc["parameterDescriptions"]["sessions.openvpn"]["instances"]["0"]
    assert inst["vpnopts.auth-user-pass.username"]["value"] == "A&ampB &lbx&rb &lty&gt"
    assert vlist.igel_escape("&lt") == "&amplt" and vlist.igel_unescape("&amplt") == "&lt"


# ---------------------------------------------------------------- every value checked


def test_every_value_of_every_profile_fits_its_registry_key():
    for kind, os_major in CASES:
        prof = build_profile(kind, os_major, params(kind, os_major))
        reg = registry(os_major)
        for s in prof.settings:
            key = reg.key(s.key)
            assert key is not None, (kind, os_major, s.key)
            assert reg.check(s.key, s.value, "test") == s.value
            if key.range and key.type != "editable":
                assert str(s.value).lower() in key.range or str(s.value) in key.range


@pytest.mark.parametrize("kind,os_major,more,words", [
    ("openvpn", 12, {"port": 70000}, ["sessions.openvpn%.vpnopts.port", "70000", "1 to 65535"]),
    ("openvpn", 12, {"proto": "tcp"}, ["vpnopts.proto", "'tcp'", "'udp'", "'tcp-client'"]),
    ("openvpn", 11, {"tls_auth_direction": "crypt"},
     ["vpnopts.tls-auth-direction", "'crypt'", "IGEL OS 11", "'None'", "'0'", "'1'"]),
    ("openvpn", 12, {"ums_inside_vpn": "yes"}, ["ums_inside_vpn", "'yes'", "true or false"]),
    ("screenlock", 12, {"minutes": "10"}, ["options.timeout", "'10'", "an integer"]),
    ("screenlock", 11, {"minutes": 0}, ["options.timeout", "= 0", "1 to 120"]),
])
def test_a_value_out_of_range_names_the_key_the_value_and_the_range(kind, os_major, more, words):
    with pytest.raises(ProfileError) as caught:
        build_profile(kind, os_major, params(kind, os_major, **more))
    text = str(caught.value)
    for w in words:
        assert w in text, (w, text)
    assert "fix:" in text and f"os{os_major}/{kind}" in text


def test_a_missing_parameter_or_kind_is_a_clear_error():
    with pytest.raises(ProfileError, match="parameter missing.*remote"):
        build_profile("openvpn", 12, {})
    with pytest.raises(ProfileError, match="IGEL OS 11 only, not 12"):
        build_profile("rdp", 12, {"server": "ts"})
    with pytest.raises(ProfileError, match="telework makes"):
        build_profile("citrix", 12, {})
    with pytest.raises(ProfileError, match="not an IGEL OS 11 version"):
        build_profile("screenlock", 11, {"firmware": "12.5.1"})


def test_a_key_of_the_other_igel_os_is_refused(tmp_path):
    """A template naming an OS 11-only key (RDP's winconnect) in an OS 12 profile."""
    (tmp_path / "os12").mkdir()
    (tmp_path / "os12" / "screenlock.ipm.yml.j2").write_text(
        'name: "crossed"\nsettings:\n  sessions.winconnect%.option.address: "ts"\n')
    with pytest.raises(ProfileError, match="not a registry key telework knows for IGEL OS 12"):
        build_profile("screenlock", 12, {}, templates=tmp_path)


def test_os11_and_os12_profiles_are_never_crossed():
    p11 = build_profile("screenlock", 11, params("screenlock", 11))
    p12 = build_profile("screenlock", 12, params("screenlock", 12))
    assert isinstance(p11, Os11Profile) and isinstance(p12, Os12Profile)
    assert p11.name != p12.name and p11.filename.endswith(".xml") and p12.filename.endswith(".ipm")
    with pytest.raises(ProfileError, match="never crossed"):
        render_ipm(p11)  # type: ignore[arg-type]
    with pytest.raises(ProfileError, match="never crossed"):
        render_os11_xml(p12)  # type: ignore[arg-type]


def test_write_profile(tmp_path):
    for kind, os_major in CASES:
        prof = build_profile(kind, os_major, params(kind, os_major))
        path = profiles.write_profile(prof, tmp_path)
        assert path.name == prof.filename and path.stat().st_size > 0


# ---------------------------------------------------------------- the registry data file


def test_the_registry_data_file_names_its_sources_and_is_consistent():
    text = DATA.read_text(encoding="utf-8")
    assert "IGEL-Community/IGEL-Scripts" in text and "IGEL-Community/IGEL-Custom-Partitions" in text
    data = yaml.safe_load(text)
    for section in ("os11", "os12"):
        for name, entry in data[section].items():
            assert entry["type"] in {"bool", "boolean", "integer", "string", "ip", "editable",
                                     "multiline"}, name
            assert all(isinstance(v, str) for v in entry.get("range", [])), name
            if "range_labels" in entry:
                assert len(entry["range_labels"]) == len(entry["range"]), name
    # the keys one IGEL OS has and the other has not stay apart
    assert "sessions.winconnect%.option.address" in data["os11"]
    assert "sessions.winconnect%.option.address" not in data["os12"]
    assert "system.remotemanager.connector%.address" in data["os12"]
    assert "system.remotemanager.connector%.address" not in data["os11"]
