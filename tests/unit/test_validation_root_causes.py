"""One mistake, one error that names it: no cascade of follow-on errors, the real cause and its fix.

Each case is a class of fault as a new user makes it (found by injecting faults into copies of
the sample); the tests pin the message, so a later change cannot make it vague again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from telework.inventory.loading import load_inventory
from tests.conftest import SAMPLE, edit


@pytest.fixture
def city(tmp_path: Path, monkeypatch) -> Path:
    """A writable copy of the sample city; problems name files relative to its parent."""
    target = tmp_path / "city"
    shutil.copytree(SAMPLE, target)
    monkeypatch.chdir(tmp_path)
    return target


def errors_of(inv: Path) -> list[str]:
    return [p.format() for p in load_inventory(inv).errors]


def the_error(inv: Path) -> str:
    errors = errors_of(inv)
    assert len(errors) == 1, "\n".join(errors)
    return errors[0]


PERSON = "{username: abrandt, name: Anja Brandt, department: standesamt, site: rathaus, vpn: true"


# ---------------------------------------------------------------- no cascade


def test_entry_with_schema_error_keeps_its_name_for_references(city):
    """A person dropped for a bad site is still the owner of their devices: one error, not one per device."""
    edit(city / "people/rathaus.yml", PERSON, PERSON.replace("site: rathaus", "site: [rathaus]"))
    message = the_error(city)
    assert message.startswith("city/people/rathaus.yml:13: error: people[225].site:")


def test_renamed_department_gives_one_error_with_the_count(city):
    """A typo in a department's id: its people are one error "+N more like this", with the hint."""
    edit(city / "organisation.yml", "  - id: kaemmerei\n", "  - id: kaemerei\n")
    message = the_error(city)
    assert "unknown department 'kaemmerei' (fix: did you mean 'kaemerei'?" in message
    assert "(+52 more like this: city/people/rathaus.yml:20, city/people/rathaus.yml:22," in message


def test_unquoted_firmware_gets_the_fix_once(city):
    text = (city / "endpoints/igel.yml").read_text()
    assert text.count("firmware: 12.6.0}") == 28
    (city / "endpoints/igel.yml").write_text(text.replace("firmware: 12.6.0}", "firmware: 12.6}"))
    message = the_error(city)
    assert 'firmware: Input should be a valid string (got 12.6) (fix: quote it: firmware: "12.6" ' \
           "(YAML reads 12.6 unquoted as a number)) (+27 more like this:" in message


def test_octal_looking_extension_is_named(minimal_copy, monkeypatch):
    monkeypatch.chdir(minimal_copy)
    edit(minimal_copy / "people/rathaus.yml", 'extension: "101"', "extension: 0101")
    messages = errors_of(minimal_copy)
    assert any("0101 is a YAML 1.1 octal number" in m for m in messages), messages


# ---------------------------------------------------------------- files that cannot be read


def test_tab_is_named_with_the_fix_and_hides_follow_on_errors(city):
    edit(city / "people/rathaus.yml", "  - {username: abrandt", "\t- {username: abrandt")
    message = the_error(city)
    assert message.startswith("city/people/rathaus.yml:13: error: a tab character at column 1: YAML indents "
                              "with spaces only; 412 reference(s) elsewhere (e.g. igel_devices[0].owner at "
                              "city/endpoints/igel.yml:")
    assert ": unknown person 'dseidel') are not checked until city/people/rathaus.yml is fixed" in message
    assert "(fix: replace the tab with spaces" in message


def test_byte_that_is_not_utf8_is_named_with_line_and_column(city):
    path = city / "people/rathaus.yml"
    path.write_bytes(path.read_bytes().replace("Dürr".encode(), "Dürr".encode("latin-1"), 1))
    message = the_error(city)
    assert message.startswith("city/people/rathaus.yml:16: error: byte 0xFC at column 39 is not UTF-8 "
                              "('ü' in Windows-1252/Latin-1)")
    assert "(fix: save the file as UTF-8 (iconv -f windows-1252 -t utf-8 rathaus.yml))" in message


def test_empty_people_file_is_named_instead_of_its_people(city):
    (city / "people/rathaus.yml").write_text("")
    message = the_error(city)
    assert message.startswith("city/people/rathaus.yml: error: the file holds no sections (it is empty); "
                              "412 reference(s) elsewhere")
    assert "(fix: restore its content (git checkout -- city/people/rathaus.yml) or delete the file)" in message


def test_empty_file_alone_is_a_warning(minimal_copy):
    (minimal_copy / "extra.yml").write_text("# nothing yet\n")
    loaded = load_inventory(minimal_copy)
    assert loaded.errors == []
    assert [p.rule for p in loaded.warnings if p.rule != "allocations.missing"] == ["inventory.empty_file"]


def test_yaml_1_1_octal_is_refused_not_read_as_416(city):
    edit(city / "organisation.yml", "address_quarantine_days: 180", "address_quarantine_days: 0640")
    assert the_error(city) == (
        "city/organisation.yml:29: error: 0640 is a YAML 1.1 octal number (read as 416 by some tools, as 640 "
        "by others); telework does not guess (fix: write 640 for the number, or '0640' in quotes for text such "
        "as a file mode)")


def test_quoted_octal_looking_text_is_text(minimal_copy):
    edit(minimal_copy / "endpoints.yml", "serial: PF3X0001", 'serial: "0640"')
    assert load_inventory(minimal_copy).errors == []


# ---------------------------------------------------------------- the rule behind the message


def test_three_digit_extension_names_the_width_rule(city):
    edit(city / "people/rathaus.yml", 'extension: "1357", did: "+49 9999 12-1357"',
         'extension: "135", did: "+49 9999 12-135"')
    message = the_error(city)
    assert "ends in the 3-digit extension 135, but block 'rathaus'" in message
    assert "has 4-digit extensions: an extension has as many digits as its block's 'last'" in message
    assert "(fix: use a 4-digit extension from 1000-1499" in message


def test_case_only_duplicate_username_names_the_other_entry(city):
    edit(city / "people/rathaus.yml", "{username: abusch2,", "{username: aBusch,")
    edit(city / "endpoints/desk_phones.yml", "owner: abusch2,", "owner: abusch,")
    errors = [m for m in errors_of(city) if "aBusch" in m]
    assert errors == ["city/people/rathaus.yml:15: error: people[227].username: username 'aBusch' differs only in "
                      "case from 'abusch' at city/people/rathaus.yml:14, and names are lower-case (fix: give this "
                      "entry its own lower-case username, e.g. 'abusch2')"]


@pytest.mark.parametrize("key, old, new, line", [
    ("address", "address: 10.20.0.11/24", "address: 10.128.0.5/22", 10),
    ("public_address", "public_address: 198.51.100.10", "public_address: 10.128.1.1", 11),
])
def test_concentrator_address_inside_a_client_pool_names_the_pool(city, key, old, new, line):
    edit(city / "vpn.yml", old, new)
    message = the_error(city)
    assert message.startswith(f"city/vpn.yml:{line}: error: vpn_concentrators[0].{key}: ")
    assert "of 'vpn-a' lies in address pool 'vpn-a-openvpn' 10.128.0.0/22, whose addresses concentrator " \
           "'vpn-a' hands to VPN clients" in message


def test_sip_server_public_address_inside_a_pool_is_refused(city):
    edit(city / "telephony.yml", "public_address: 198.51.100.20", "public_address: 10.129.0.7")
    assert "sip_servers[0].public_address: public address 10.129.0.7 of 'sip-1' lies in address pool " \
           "'vpn-a-wireguard'" in the_error(city)


def test_ipv6_pool_too_small_gets_an_ipv6_prefix(city):
    edit(city / "networks.yml", "prefix: 10.128.0.0/22, kind: openvpn", "prefix: fd00:1::/120, kind: openvpn")
    message = the_error(city)
    assert "pool 'vpn-a-openvpn' fd00:1::/120 holds 253 addresses but has 667 members" in message
    assert "(fix: enlarge the prefix to at least /118)" in message


# ---------------------------------------------------------------- file-system states, no traceback


def telework(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "telework.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={**os.environ, "COLUMNS": "300"})


def test_schema_into_a_missing_directory_says_so(tmp_path):
    result = telework("schema", "-o", str(tmp_path / "missing" / "inventory.schema.json"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"error: directory {tmp_path / 'missing'} does not exist (fix: create it with `mkdir -p" in result.stderr


def test_ipam_sync_into_a_read_only_directory_says_so(city):
    """A real read-only directory: a read-only bind mount for root (who may write anywhere), else chmod."""
    (city / "allocations.yml").unlink()
    command = [sys.executable, "-m", "telework.cli", "ipam", "sync", str(city), "--today", "2026-12-06"]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.fail("unshare (util-linux) is needed to make a read-only directory for root")
        command = ["unshare", "-m", "sh", "-c", f'mount --bind -o ro "{city}" "{city}" && exec "$@"', "sh", *command]
    else:
        city.chmod(0o555)
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                env={**os.environ, "COLUMNS": "300"})
    finally:
        city.chmod(0o755)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"error: cannot write {city}/allocations.yml: " in result.stderr
    assert "run `telework ipam sync --dry-run` to see the changes without writing" in result.stderr
    assert not (city / "allocations.yml").exists()


def test_an_os_error_of_any_command_is_a_message(tmp_path):
    """The CLI's last line of defence: an OSError nobody expected is a message with a fix, exit code 1."""
    target = tmp_path / "file"
    target.write_text("")
    result = telework("schema", "-o", str(target / "x.json"))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "give another" in result.stderr


@pytest.mark.parametrize("link, target", [("people/loop", ".."), ("people/again", "ABS"), ("self", "self")])
def test_directory_symlink_loop_is_refused(minimal_copy, monkeypatch, link, target):
    monkeypatch.chdir(minimal_copy.parent)
    (minimal_copy / link).symlink_to(str(minimal_copy) if target == "ABS" else target)
    shown = str(minimal_copy) if target == "ABS" else target
    assert errors_of(minimal_copy) == [
        f"inv/{link}: error: directory symlink {link} -> {shown} loops back into the inventory (it would contain "
        f"itself); its files are not read (fix: remove the link (rm inv/{link}) and keep each file in one place)"]


# ---------------------------------------------------------------- one phone-number format


def test_numbers_are_e164_in_data_and_din_5008_for_people(city):
    """The data keeps E.164; what people read (messages, `person show`) is DIN 5008 in the
    grouping of the number block as written: +49 9999 12-1357."""
    from telework.inventory.phone import din5008

    inv = load_inventory(city).model
    assert inv.person("abecker").phone.did == "+49999912" + "1357"
    assert din5008("+499999121357", inv.number_blocks) == "+49 9999 12-1357"
    assert din5008("+4930123456", inv.number_blocks) == "+49 30123456"
    result = subprocess.run([sys.executable, "-m", "telework.cli", "person", "show", "abecker", str(city)],
                            capture_output=True, text=True, timeout=120)
    assert "phone: extension 1357, +49 9999 12-1357" in result.stdout, result.stdout + result.stderr
    edit(city / "people/rathaus.yml", 'did: "+49 9999 12-1357"', 'did: "+49 9999 77-1357"')
    assert "DID +49 9999771357 is not in any of the organisation's number blocks (+49 9999 12 1000-1499, " \
           "+49 9999 12 1500-1799, +49 9999 12 1800-2099)" in the_error(city)


def test_did_must_end_in_the_extension(city):
    """Extension 1681 with DID ...-1999 validated: outside callers would ring another phone."""
    edit(city / "people/rathaus.yml", 'extension: "1357", did: "+49 9999 12-1357"',
         'extension: "1357", did: "+49 9999 12-1002"')
    assert the_error(city) == (
        "city/people/rathaus.yml:12: error: people[224].phone.extension: extension 1357 does not match DID "
        "+49 9999 12-1002, which ends in extension 1002: callers from outside would reach another phone than "
        "colleagues dialling the extension (fix: make them agree: extension '1002' or DID ending in 1357)")


# ---------------------------------------------------------------- facts of real organisations


def test_access_all_follows_networks_added_later(minimal_copy):
    """IT reaches every network: `access: all` instead of a list that silently misses a new one."""
    edit(minimal_copy / "organisation.yml", "access: [srv-rathaus]", "access: all")
    edit(minimal_copy / "networks.yml", "networks:\n",
         "networks:\n  - {name: rechenzentrum, prefix: 10.40.0.0/24, purpose: servers}\n")
    loaded = load_inventory(minimal_copy)
    assert loaded.errors == []
    dep = next(d for d in loaded.model.departments if d.reaches_all)
    assert sorted(dep.access) == ["gis-bauhof", "rechenzentrum", "srv-rathaus"]
    person = next(p for p in loaded.model.people if p.department == dep.id)
    assert "rechenzentrum" in loaded.model.reachable_networks(person)


def test_networks_and_number_blocks_without_a_site(minimal_copy):
    """County-wide networks and numbers belong to no site; a server may live in such a network."""
    edit(minimal_copy / "networks.yml", "{name: srv-rathaus, site: rathaus, prefix: 10.30.0.0/24",
         "{name: srv-rathaus, prefix: 10.30.0.0/24")
    edit(minimal_copy / "telephony.yml", "{name: zentrale, site: rathaus, ", "{name: zentrale, ")
    loaded = load_inventory(minimal_copy)
    assert loaded.errors == []
    assert loaded.model.network("srv-rathaus").site is None and loaded.model.number_blocks[0].site is None


def test_office_workstations_are_recorded_and_checked(minimal_copy):
    """Office PCs that never leave the building: checked like every device (owner, site, names, MACs)."""
    path = minimal_copy / "endpoints.yml"
    path.write_text(path.read_text() + "workstations:\n"
                    "  - {name: ws-0001, site: rathaus, owner: jmueller, mac: \"00:11:22:33:44:55\"}\n"
                    "  - {name: ws-0002, site: rathaus, description: counter PC}\n"
                    "  - {name: nb-0001, site: rathaus, owner: jmuller}\n")
    errors = [p.format() for p in load_inventory(minimal_copy).errors]
    assert len(errors) == 2, errors
    assert "workstations[2].owner: unknown person 'jmuller' (fix: did you mean 'jmueller'?" in errors[0] + errors[1]
    assert "workstations[2].name: duplicate host name 'nb-0001'" in errors[0] + errors[1]


@pytest.mark.parametrize("file, old, new, fix", [
    ("people/rathaus.yml", '    vpn: true\n    phone: {extension: "101"', '    vpn: yes\n    phone: {extension: "101"',
     "write true or false (words such as yes, no, on or off are not booleans here)"),
    ("organisation.yml", "address_quarantine_days: 30", "address_quarantine_days: soon",
     "write a whole number without quotes, e.g. 30"),
    ("organisation.yml", "address_quarantine_days: 30", "address_quarantine_days: -3", "use a value at least 0"),
    ("vpn.yml", "    auth_server: radius-1\n", "    auth_server: radius-1\n    openvpn_port: 99999\n",
     "use a value at most 65535"),
    ("people/rathaus.yml", "    name: Jürgen Müller\n", "    name: [Jürgen]\n", "write one text value"),
    ("people/rathaus.yml", "  - username: jmueller\n", "  - username: j mueller\n",
     "use lower-case letters, digits, '-' or '_'"),
    ("people/rathaus.yml", '    phone: {extension: "101", did: "+49 9999 55 101"}', "    phone: 101",
     "write a mapping of keys and values; allowed keys: extension, did"),
    ("networks.yml", "purpose: servers, gateway: 10.30.0.1", "purpose: server, gateway: 10.30.0.1",
     "use one of 'servers', 'clients', 'management', 'voice' or 'dmz'"),
    ("organisation.yml", "access: [srv-rathaus]", "access: srv-rathaus",
     "write a list: [srv-rathaus] (or one of the words the schema allows, such as all)"),
    ("networks.yml", "gateway: 10.30.0.1", "gateway: 10.30.0.300",
     "write an address such as 10.20.0.5 (IPv4: four numbers 0-255) or fd00::5"),
])
def test_every_schema_error_has_a_fix_and_no_follow_on(minimal_copy, file, old, new, fix):
    """A bad key of an entry (its name, a required field) is one error with its fix: references
    to that entry and addresses in that network are not reported on top."""
    edit(minimal_copy / file, old, new)
    errors = load_inventory(minimal_copy).errors
    assert len(errors) == 1, [p.format() for p in errors]
    assert errors[0].file.name == Path(file).name and errors[0].fix.startswith(fix), errors[0].format()


# ---------------------------------------------------------------- inputs that once ended in a traceback


def test_control_character_is_named_with_line_and_column(minimal_copy, monkeypatch):
    monkeypatch.chdir(minimal_copy.parent)
    edit(minimal_copy / "people/rathaus.yml", "name: Jürgen Müller", "name: Jürgen\x00Müller")
    message = the_error(minimal_copy)
    assert message.startswith("inv/people/rathaus.yml:3: error: control character U+0000 at column 17: YAML files "
                              "hold no control characters")
    assert "(fix: delete it (it often comes with text copied out of another program))" in message


def test_a_list_as_mapping_key_is_a_syntax_error(minimal_copy, monkeypatch):
    monkeypatch.chdir(minimal_copy.parent)
    edit(minimal_copy / "vpn.yml", "    site: rathaus\n", "    [site]: rathaus\n")
    assert the_error(minimal_copy).startswith("inv/vpn.yml:")


def test_a_section_twice_in_one_file_is_located(minimal_copy, monkeypatch):
    """Two `notebooks:` keys in one file: the duplicate is named; problems of its items still have a place."""
    monkeypatch.chdir(minimal_copy.parent)
    path = minimal_copy / "endpoints.yml"
    text = path.read_text().replace("ring: all, serial: PF3X0001", "ring: al, serial: PF3X0001")
    path.write_text("notebooks: none\n" + text)
    messages = errors_of(minimal_copy)
    assert any("key 'notebooks' appears twice in one mapping" in m for m in messages), messages
    assert all(m.startswith("inv/endpoints.yml:") for m in messages), messages


@pytest.mark.parametrize("content, message", [
    ("people:\n", "section 'people' is empty"),
    ("people: {}\n", "section 'people' must be a list of entries, not a mapping"),
    ("people:\n  abecker: {name: Anna Becker}\n", "section 'people' must be a list of entries, not a mapping"),
])
def test_a_people_section_of_the_wrong_shape_is_one_error(city, content, message):
    """Not "also defined in another file" and not one error per device of the people it hid."""
    (city / "people/rathaus.yml").write_text(content)
    assert the_error(city).startswith(f"city/people/rathaus.yml:1: error: {message}; 412 reference(s) elsewhere")


def test_an_empty_section_alone_is_a_warning(minimal_copy):
    (minimal_copy / "extra.yml").write_text("linux_endpoints:\n")
    loaded = load_inventory(minimal_copy)
    assert loaded.errors == []
    assert "inventory.empty_section" in {p.rule for p in loaded.warnings}


def test_devices_on_order_need_no_serial_or_mac_until_delivered(minimal_copy):
    path = minimal_copy / "endpoints.yml"
    path.write_text(path.read_text().replace("igel_devices:\n", (
        "igel_devices:\n"
        "  - {name: igel-0002, site: rathaus, owner: jmueller, ring: pilot, status: ordered}\n"
        "  - {name: igel-0003, site: rathaus, owner: jmueller, ring: pilot, model: UD3-M340C}\n")))
    assert [p.format() for p in load_inventory(minimal_copy).errors] == [
        f"{path}:3: error: igel_devices[1]: serial, mac, firmware required for a device with status active (fix: "
        "add them (from the delivery note), or write status: ordered until the device arrives)"]


def test_home_office_false_beside_home_office_access_is_a_warning(minimal_copy):
    edit(minimal_copy / "people/rathaus.yml", "    site: rathaus\n    vpn: true\n",
         "    site: rathaus\n    vpn: true\n    home_office: false\n")
    loaded = load_inventory(minimal_copy)
    assert loaded.errors == []
    warning = next(p for p in loaded.warnings if p.rule == "people.home_office")
    assert warning.message == ("home_office: false, but jmueller has home-office access (vpn: true, igel-0001, "
                               "desk phone 80:5E:C0:00:00:01)")
    assert warning.fix == "write home_office: true, or take the access away"
