"""Contract tests: every documented IMI v3 example, replayed through the client.

The examples are those of the IMI v3 reference (IGEL knowledge base PDF export
`13-IGEL-Management-Interface.pdf` in github.com/IGEL-Community/IGEL-Docs-KB; "KB p.N" below) and
of the endpoint list taken from it. By default they run against the fake UMS over HTTPS; with
TELEWORK_UMS_URL, TELEWORK_UMS_USER, TELEWORK_UMS_PASSWORD and TELEWORK_UMS_CA set they run,
unchanged, against that UMS: each test then works in a directory of its own
(`tw-contract-...`), deletes what it made, and needs a UMS with at least one firmware and one
profile (and one priority profile, and TELEWORK_UMS_VIEW for the view test).

Assertions are about shapes and documented behaviour (ids are strings, answers carry the
documented fields and messages), never about values only the fake would produce.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from telework.roles.igel import errors
from telework.roles.igel.clock import FakeClock
from telework.roles.igel.fake_ums import FakeUms
from telework.roles.igel.imi import ApiObject, ImiClient, Profile
from telework.roles.igel.testing import make_tls

ENV = ("TELEWORK_UMS_URL", "TELEWORK_UMS_USER", "TELEWORK_UMS_PASSWORD", "TELEWORK_UMS_CA")
DEVICE_LIST_FIELDS = {"unitID", "mac", "firmwareID", "lastIP", "id", "name", "parentID",
                      "movedToBin", "objectType", "links"}
DETAIL_FIELDS = {"networkName", "site", "department", "costCenter", "comment", "assetID",
                 "inserviceDate", "serialNumber", "productId", "umsStructuralTag",
                 "lastContact", "configChanges"}
DIRECTORY_FIELDS = {"id", "name", "parentID", "movedToBin", "objectType"}
PROFILE_FIELDS = {"firmwareID", "isMasterProfile", "overridesSessions", "id", "name",
                  "parentID", "movedToBin", "objectType"}
EXEC_FIELDS = {"execID", "mac", "exectime", "message", "state"}


def _missing_or_not(action: str) -> None:
    """A prerequisite of the real UMS is missing: fail in CI, skip (with the reason) elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(action)
    pytest.skip(action)


@dataclass
class Target:
    client: ImiClient
    fake: FakeUms | None
    firmware_id: str
    profile: Profile
    master: Profile | None
    view_id: str | None
    made: list[Callable[[], None]] = field(default_factory=list)

    def root(self) -> str:
        """A directory of this test's own (deleted with everything in it afterwards)."""
        dir_id = self.client.create_directory(f"tw-contract-{secrets.token_hex(3)}")
        self.made.append(lambda: self.client.delete_directory(dir_id))
        return dir_id

    def device(self, parent: str, firmware_id: str | None = None) -> str:
        mac = "02" + secrets.token_hex(5).upper()  # locally administered: never a real IGEL
        tc = self.client.create_device(mac, firmware_id or self.firmware_id,
                                       name=f"tw-{mac[-8:]}", parent_id=parent)
        self.made.append(lambda: self.client.delete_device(tc))
        return tc


def _fake_target(tmp_path_factory) -> tuple[ImiClient, FakeUms, object]:
    tls = make_tls(tmp_path_factory.mktemp("contract-tls"))
    fake = FakeUms(FakeClock())
    fake.add_user("admin", "W00t")  # the reference's example credentials (KB p.9)
    fw = fake.add_firmware("10.02.100.01", "IGEL Universal Desktop LX")
    fake.add_firmware("12.5.1", "IGEL OS 12")
    fake.add_profile("Benchmark intern", fw)
    fake.add_profile("Company Master Profile", fw, master=True)
    tc = fake.add_device("00E0C514325B", fw, name="ITC00E0C514325B")
    fake.s["views"]["4711"] = [tc]
    fake.s["assets"] = [{"tcId": int(tc), "assetId": 49067, "assetName": "Elite Keyboard",
                         "assetVendor": "Hewlett-Packard", "deviceId": "034a"}]
    fake.s["asset_history"] = [{"historyId": 2, "unitId": "00E0C514325B", "assetId": 49067,
                                "eventTimeStamp": 1500012051000,
                                "event": {"identifier": "add_on_boot"}}]
    running = fake.serve(tls.cert, tls.key)
    client = ImiClient(running.url, "admin", "W00t", ca_file=tls.ca, command_rate=50.0)
    return client, fake, running


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Iterator[Target]:
    given = [name for name in ENV if os.environ.get(name)]
    running = None
    if given:
        if len(given) != len(ENV):
            missing = sorted(set(ENV) - set(given))
            pytest.fail(f"set all of {', '.join(ENV)} to test a real UMS; missing: {missing}")
        client = ImiClient(os.environ["TELEWORK_UMS_URL"], os.environ["TELEWORK_UMS_USER"],
                           os.environ["TELEWORK_UMS_PASSWORD"],
                           ca_file=os.environ["TELEWORK_UMS_CA"], command_rate=2.0)
        fake = None
    else:
        client, fake, running = _fake_target(tmp_path_factory)
    profiles = [p for p in client.list_profiles() if not p.moved_to_bin]
    masters = [p for p in client.list_master_profiles() if not p.moved_to_bin]
    firmwares = {f.id for f in client.list_firmwares()}
    usable = [p for p in profiles if p.firmware_id in firmwares]
    if not usable:
        client.close()
        pytest.fail("the UMS needs one profile whose firmware it lists, for the contract tests")
    view = os.environ.get("TELEWORK_UMS_VIEW") if fake is None else "4711"
    tgt = Target(client, fake, usable[0].firmware_id, usable[0], masters[0] if masters else None,
                 view)
    yield tgt
    client.close()
    if running is not None:
        running.stop()


@pytest.fixture
def ums(target) -> Iterator[Target]:
    yield target
    while target.made:
        undo = target.made.pop()
        try:
            undo()
        except errors.UmsError as exc:  # already gone with its directory: fine
            if not isinstance(exc, (errors.ThinClientNotFound, errors.TargetDirectoryNotFound)):
                raise


# ---------------------------------------------------------------- session (KB p.9-11)


def test_login_sets_a_session_and_logout_ends_it(ums):
    c = ums.client
    before = c.logins
    c.logout()
    c.list_firmwares()  # a call after logout logs in again
    assert c.logins == before + 1


def test_serverstatus_needs_no_login(ums):
    status = ums.client.server_status()
    assert isinstance(status, dict)  # UMS 12 answers a reduced form (PSIGEL issue #49)


# ---------------------------------------------------------------- devices (KB p.50-112)


def test_device_list_has_the_documented_fields_and_string_ids(ums):
    root = ums.root()
    ums.device(root)
    rows = ums.client.request("GET", "thinclients")
    assert rows and all(DEVICE_LIST_FIELDS <= set(r) for r in rows)
    assert all(isinstance(r[k], str) for r in rows for k in ("id", "firmwareID", "parentID"))
    assert all(isinstance(r["movedToBin"], bool) for r in rows)


def test_every_device_facet(ums):
    root = ums.root()
    tc = ums.device(root)
    added = {"details": DETAIL_FIELDS, "online": {"online"}, "shadow": {"shadowSecret"},
             "networkadapters": {"networkAdapters"}, "deviceattributes": {"deviceAttributes"},
             "loginhistory": {"userLoginHistory"}}
    for facet, keys in added.items():
        one = ums.client.request("GET", f"thinclients/{tc}", params={"facets": facet})
        assert keys <= set(one), facet
        everyone = ums.client.request("GET", "thinclients", params={"facets": facet})
        mine = [r for r in everyone if r["id"] == tc]
        assert len(mine) == 1 and keys <= set(mine[0]), facet
    device = ums.client.get_device(tc, "details")
    assert device.id == tc and device.parent_id == root and device.config_changes is not None


def test_create_device_as_in_the_reference(ums):
    """KB p.98: `{"mac": "...", "firmwareID": "..."}` and the answer's four fields."""
    root = ums.root()
    mac = "02" + secrets.token_hex(5).upper()
    answer = ums.client.request("PUT", "thinclients", json_body={
        "mac": mac, "firmwareID": ums.firmware_id, "parentID": root})
    ums.made.append(lambda: ums.client.delete_device(answer["id"]))
    assert answer["message"] == "Thin client successfully inserted."
    assert isinstance(answer["id"], str) and answer["parentID"] == root and answer["name"]


def test_update_device_as_in_the_reference(ums):
    """KB p.101: `{"name": "reception thin client", "site": "main campus"}`. telework allows 15
    characters for a name (as PSIGEL does); the reference's 21-character example name is refused
    before a request, the rest of the example is accepted."""
    root = ums.root()
    tc = ums.device(root)
    with pytest.raises(errors.InvalidThinClientName):
        ums.client.update_device(tc, {"name": "reception thin client", "site": "main campus"})
    answer = ums.client.request("PUT", f"thinclients/{tc}", json_body={"site": "main campus"})
    assert answer == {"message": "Update successful"}
    assert ums.client.get_device(tc, "details").site == "main campus"


def test_delete_device_answers_a_command_list(ums):
    """KB p.104: the answer to DELETE is a CommandExecList; p.106: offline deletion's message."""
    root = ums.root()
    tc, other = ums.device(root), ums.device(root)
    answer = ums.client.request("DELETE", f"thinclients/{tc}")
    assert EXEC_FIELDS <= set(answer["CommandExecList"][0])
    offline = ums.client.request("DELETE", f"thinclients/{other}/deletetcoffline")
    assert offline == {"message": "Offline deletion successful"}
    ids = {d.id for d in ums.client.list_devices()}
    assert tc not in ids and other not in ids


@pytest.mark.parametrize("command", ["settings2tc", "reboot", "shutdown", "wakeup"])
def test_commands_answer_a_command_exec_list(ums, command):
    """KB p.107-110: body `[{"id": "27", "type": "tc"}, ...]`, answer `CommandExecList`."""
    root = ums.root()
    tc = ums.device(root)
    answer = ums.client.request("POST", "thinclients", params={"command": command},
                                json_body=[{"id": tc, "type": "tc"}])
    rows = answer["CommandExecList"]
    assert len(rows) == 1 and EXEC_FIELDS <= set(rows[0]) and rows[0]["state"]
    result = ums.client.send_command(command, [tc])[0]
    assert result.id == tc and result.state


def test_an_invalid_command_is_itg_0a003(ums):
    root = ums.root()
    tc = ums.device(root)
    with pytest.raises(errors.InvalidCommand):
        ums.client.request("POST", "thinclients", params={"command": "bogus"},
                           json_body=[{"id": tc, "type": "tc"}])


def test_device_assignments_in_order_of_application(ums):
    """KB p.79 and p.96: the device's profile and priority profile assignments."""
    root = ums.root()
    tc = ums.device(root, ums.profile.firmware_id)
    answer = ums.client.request("PUT", f"thinclients/{tc}/assignments/profiles", json_body=[
        {"assignee": ums.profile.ref.as_json(), "receiver": {"id": tc, "type": "tc"}}])
    assert "successfully assigned" in answer["message"]
    got = ums.client.device_assignments(tc)
    assert [(a.assignee, a.receiver) for a in got] == [(ums.profile.ref, ApiObject(tc, "tc"))]
    assert got[0].position is not None
    raw = ums.client.request("GET", f"thinclients/{tc}/assignments/profiles")
    assert {"assignee", "receiver", "assignmentPosition"} <= set(raw[0])


def test_a_view_lists_devices(ums):
    """KB p.82 (UMS 6.10.110+)."""
    if ums.view_id is None:
        _missing_or_not("set TELEWORK_UMS_VIEW to the id of a UMS view to test views")
    rows = ums.client.request("GET", f"thinclientview/{ums.view_id}")
    assert isinstance(rows, list) and all(DEVICE_LIST_FIELDS <= set(r) for r in rows)


# ---------------------------------------------------------------- profiles (KB p.114-150)


def test_profile_lists(ums):
    for path, master in (("profiles", False), ("masterprofiles", True)):
        rows = ums.client.request("GET", path)
        assert all(PROFILE_FIELDS <= set(r) for r in rows)
        assert all(r["isMasterProfile"] is master for r in rows)
    one = ums.client.request("GET", f"profiles/{ums.profile.id}")
    assert one["id"] == ums.profile.id and PROFILE_FIELDS <= set(one)


def test_assign_and_unassign_a_profile_as_in_the_reference(ums):
    """KB p.121-131: the 'asssignments' answer (sic), assignment lists with positions, and
    'deleted profile assignment'."""
    root = ums.root()
    tc = ums.device(root, ums.profile.firmware_id)
    p = ums.profile.ref
    answer = ums.client.request("PUT", f"profiles/{p.id}/assignments/thinclients/", json_body=[
        {"assignee": p.as_json(), "receiver": {"id": tc, "type": "tc"}}])
    assert answer["message"].startswith("1 asssignments successfully assigned to thinclient")
    rows = ums.client.request("GET", f"profiles/{p.id}/assignments/thinclients")
    mine = [r for r in rows if r["receiver"] == {"id": tc, "type": "tc"}]
    assert len(mine) == 1 and isinstance(mine[0]["assignmentPosition"], int)
    answer = ums.client.request("PUT", f"profiles/{p.id}/assignments/tcdirectories/", json_body=[
        {"assignee": p.as_json(), "receiver": {"id": root, "type": "tcdirectory"}}])
    assert answer["message"].startswith(
        "1 asssignments successfully assigned to thinclient directory")
    dirs = ums.client.profile_assignments(p, "tcdirectory")
    assert ApiObject(root, "tcdirectory") in {a.receiver for a in dirs}
    assert ums.client.request("DELETE", f"profiles/{p.id}/assignments/thinclients/{tc}") == {
        "message": "deleted profile assignment"}
    ums.client.unassign(p, ApiObject(root, "tcdirectory"))
    assert ApiObject(root, "tcdirectory") not in {
        a.receiver for a in ums.client.profile_assignments(p, "tcdirectory")}


def test_assign_a_priority_profile(ums):
    """KB p.143-150: the same shape under /v3/masterprofiles."""
    if ums.master is None:
        _missing_or_not("the UMS needs one priority (master) profile for this test")
    root = ums.root()
    m = ums.master.ref
    assert ums.client.assign(m, [ApiObject(root, "tcdirectory")]) == 1
    got = ums.client.directory_assignments(root)
    assert [a.assignee for a in got] == [m]
    ums.client.unassign(m, ApiObject(root, "tcdirectory"))
    assert ums.client.directory_assignments(root) == []


# ---------------------------------------------------------------- directories (KB p.206-229)


def test_directory_create_rename_list_and_delete(ums):
    answer = ums.client.request("PUT", "directories/tcdirectories/",
                                json_body={"name": f"tw-contract-{secrets.token_hex(3)}"})
    assert answer["message"] == "Directory successfully inserted."
    dir_id = answer["id"]
    assert isinstance(dir_id, str)
    renamed = ums.client.request("PUT", f"directories/tcdirectories/{dir_id}",
                                 json_body={"name": f"tw-contract-{secrets.token_hex(3)}"})
    assert renamed == {"message": "Updated directory successfully."}
    flat = ums.client.request("GET", "directories/tcdirectories")
    assert all(DIRECTORY_FIELDS <= set(d) for d in flat)
    assert [d["parentID"] for d in flat if d["id"] == dir_id] == ["-1"]
    assert ums.client.request("DELETE", f"directories/tcdirectories/{dir_id}") == {
        "message": "Deletion successful."}


def test_children_facet(ums):
    root = ums.root()
    tc = ums.device(root)
    one = ums.client.request("GET", f"directories/tcdirectories/{root}",
                             params={"facets": "children"})
    assert {"objectType": "tc", "id": tc} in [
        {"objectType": k["objectType"], "id": k["id"]} for k in one["DirectoryChildren"]]
    every = ums.client.list_directories(children=True)
    mine = [d for d in every if d.id == root]
    assert mine and ApiObject(tc, "tc") in mine[0].children


def test_move_answers_200_with_a_result_per_item(ums):
    """KB p.222: body `[{"id": "76462", "type": "tcdirectory"}, {"id": "7121", "type": "tc"}]`;
    the research notes' example also shows `does_not_exist` for an unknown id."""
    root = ums.root()
    made = []
    for _ in range(2):  # registered before the device: undone after it (last in, first out)
        made.append(ums.client.create_directory(f"tw-contract-{secrets.token_hex(3)}"))
        ums.made.append(lambda d=made[-1]: ums.client.delete_directory(d))
    dest, sub = made
    tc = ums.device(root)
    first = ums.client.request("PUT", f"directories/tcdirectories/{root}",
                               params={"operation": "move"},
                               json_body=[{"id": dest, "type": "tcdirectory"}])
    assert first == [{"id": dest, "results": "successful"}]
    results = ums.client.move(dest, [ApiObject(sub, "tcdirectory"), ApiObject(tc, "tc"),
                                     ApiObject("987654321", "tc")])
    assert [(r.id, r.ok) for r in results] == [(sub, True), (tc, True), ("987654321", False)]
    assert results[2].result == "does_not_exist"
    assert ums.client.get_device(tc).parent_id == dest


def test_deleting_a_non_empty_directory_is_itg_0a006(ums):
    root = ums.root()
    ums.device(root)
    with pytest.raises(errors.DirectoryNotEmpty) as caught:
        ums.client.delete_directory(root)
    assert "ITG-0A006" in str(caught.value)


def test_directory_assignments(ums):
    """KB p.225-229."""
    root = ums.root()
    p = ums.profile.ref
    answer = ums.client.request("PUT", f"directories/tcdirectories/{root}/assignments/profiles",
                                json_body=[{"assignee": p.as_json(),
                                            "receiver": {"id": root, "type": "tcdirectory"}}])
    assert "asssignments successfully assigned to thinclient directory" in answer["message"]
    rows = ums.client.request("GET", f"directories/tcdirectories/{root}/assignments/profiles")
    assert [r["assignee"] for r in rows] == [p.as_json()] and rows[0]["assignmentPosition"] == 0
    ums.client.unassign(p, ApiObject(root, "tcdirectory"))


# ---------------------------------------------------------------- firmware, templates, assets


def test_firmware_list_is_wrapped_in_fwresource(ums):
    """KB p.191-193."""
    raw = ums.client.request("GET", "firmwares")
    assert set(raw) == {"FwResource"}
    fields = {"id", "product", "version", "firmwareType"}
    assert raw["FwResource"] and all(fields <= set(f) for f in raw["FwResource"])
    one = ums.client.request("GET", f"firmwares/{ums.firmware_id}")
    assert one["id"] == ums.firmware_id and fields <= set(one)


def test_template_keys_and_values(ums):
    """KB p.195-204 (UMS 12.05.100+): create a key and a value, read, assign to a device and
    a directory."""
    root = ums.root()
    tc = ums.device(root)
    answer = ums.client.request("PUT", "template", json_body={
        "name": f"tw_contract_{secrets.token_hex(3)}", "type": "StringType"})
    assert answer["message"] == "Template key successfully created." and isinstance(
        answer["id"], str)
    key = answer["id"]
    value = ums.client.request("PUT", f"template/{key}/value", json_body={
        "value": "new value", "description": "new value", "type": "StringType"})
    assert value["message"] == "Template value successfully created." and value["value"] == (
        "new value")
    read = ums.client.read_template(key)
    assert [(v.id, v.value, v.key_id) for v in read] == [(value["id"], "new value", key)]
    ums.client.assign_template_to_device(tc, [(key, value["id"])])
    ums.client.assign_template_to_directory(root, [(key, value["id"])])


def test_asset_information_wrappers(ums):
    """KB p.29-48: assetinfo answers {"assetinfos": [...]}, assethistory {"assethistories"}
    (the Asset Inventory Tracker needs an Enterprise licence)."""
    for path, key in (("assetinfo", "assetinfos"), ("assethistory", "assethistories")):
        try:
            raw = ums.client.request("GET", path)
        except errors.UmsLicenceError:
            if ums.fake is not None:
                raise
            continue
        assert isinstance(raw[key], list)


# ---------------------------------------------------------------- error bodies (KB p.231-233)


def test_error_bodies_become_named_errors(ums):
    with pytest.raises(errors.ThinClientNotFound, match="ITG-0A001"):
        ums.client.get_device("987654321")
    with pytest.raises(errors.MethodNotSupported, match="ITG-0A011"):
        ums.client.request("DELETE", "firmwares")
    with pytest.raises(errors.TargetDirectoryNotFound, match="ITG-0A002"):
        ums.client.move("987654321", [ApiObject("1", "tc")])
