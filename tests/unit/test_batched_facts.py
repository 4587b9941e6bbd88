"""The batched facts and their parsers, run for real through `sh` on this machine.

The commands are the ones sent to hosts (telework.engine.facts.*); here they run on a temporary tree,
so a change in their shell or in their parsing shows up without a lab.
"""

from __future__ import annotations

import hashlib
import os
import subprocess

from telework.engine.facts.batch import Batch, split_parts
from telework.engine.facts.files import PathStates
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.sysctl import SysctlValues
from telework.engine.facts.systemd import UnitStates


def run(command: str) -> list[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout.splitlines()


def ask(cls, **kwargs):
    fact = cls()
    return fact.process(run(fact.command(**kwargs)))


def tree(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "app.conf").write_text("a = 1\n")
    (tmp_path / "etc" / "app.conf").chmod(0o640)
    (tmp_path / "etc" / "ccd").mkdir(mode=0o750)
    for name in ("anowak", "bmüller", "with space"):
        (tmp_path / "etc" / "ccd" / name).write_text(f"ifconfig-push {name}\n")
    (tmp_path / "etc" / "localtime").symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    return tmp_path / "etc"


def test_path_states_lists_type_mode_owner_digest_and_link_target(tmp_path):
    etc = tree(tmp_path)
    paths = ask(PathStates, roots=(str(etc), str(tmp_path / "missing")))["paths"]
    conf = paths[f"{etc}/app.conf"]
    assert conf == {"type": "file", "mode": 640, "user": "root", "group": "root", "target": None,
                    "sha256": hashlib.sha256(b"a = 1\n").hexdigest()}
    assert paths[f"{etc}/ccd"]["type"] == "directory" and paths[f"{etc}/ccd"]["mode"] == 750
    assert paths[f"{etc}/ccd/with space"]["sha256"] == hashlib.sha256(b"ifconfig-push with space\n").hexdigest()
    assert paths[f"{etc}/ccd/bmüller"]["type"] == "file"
    link = paths[f"{etc}/localtime"]
    assert link["type"] == "link" and link["target"] == "/usr/share/zoneinfo/Europe/Berlin"
    assert not any(p.startswith(str(tmp_path / "missing")) for p in paths)


def test_shallow_paths_are_listed_without_what_is_below_them(tmp_path):
    etc = tree(tmp_path)
    paths = ask(PathStates, roots=(), shallow=(str(etc / "ccd"), str(etc / "app.conf"), str(etc / "none")))["paths"]
    assert sorted(paths) == [f"{etc}/app.conf", f"{etc}/ccd"]
    assert paths[f"{etc}/ccd"]["type"] == "directory" and paths[f"{etc}/ccd"]["sha256"] is None
    assert paths[f"{etc}/app.conf"]["sha256"] == hashlib.sha256(b"a = 1\n").hexdigest()
    both = ask(PathStates, roots=(str(etc / "ccd"),), shallow=(str(etc),))["paths"]
    assert f"{etc}/ccd/anowak" in both and f"{etc}" in both and f"{etc}/app.conf" not in both


def test_a_single_file_root_is_listed_alone(tmp_path):
    etc = tree(tmp_path)
    paths = ask(PathStates, roots=(f"{etc}/app.conf",))["paths"]
    assert list(paths) == [f"{etc}/app.conf"]


def test_batch_keeps_parts_apart_and_survives_a_failing_part(tmp_path):
    etc = tree(tmp_path)
    # A file that tries to forge the end of its part: the nonce makes that impossible.
    (etc / "forged").write_text("@@0000 rc 0\n@@0000 1\n")
    parts = (PathStates().command(roots=(str(etc),)), "echo before; exit 3", "cat " + str(etc / "forged"),
             SysctlValues().command(keys=("kernel.ostype",)))
    nonce = "5f3a9c0e11d2b7a4"
    split = split_parts(run(Batch().command(parts=parts, nonce=nonce)), nonce, len(parts))
    assert [rc for rc, _ in split] == [0, 3, 0, 0]
    assert f"{etc}/forged" in PathStates().process(split[0][1])["paths"]
    assert split[1][1] == ["before"]
    assert split[2][1] == ["@@0000 rc 0", "@@0000 1"]
    assert SysctlValues().process(split[3][1]) in ({"kernel.ostype": "Linux"}, {"kernel.ostype": None})


def test_batch_command_exits_zero_whatever_the_parts_do():
    done = subprocess.run(["sh", "-c", Batch().command(parts=("false",), nonce="ab")], capture_output=True)
    assert done.returncode == 0


def test_package_states_of_installed_and_unknown_packages():
    states = ask(PackageStates, packages=("dpkg", "telework-no-such-package"))
    assert states["dpkg"] is True
    assert not states.get("telework-no-such-package")


def test_sysctl_values_reads_live_keys_and_marks_unknown_ones():
    if not os.path.exists("/proc/sys/kernel/ostype"):
        return
    values = ask(SysctlValues, keys=("kernel.ostype", "telework.no.such.key"))
    assert values == {"kernel.ostype": "Linux", "telework.no.such.key": None}


def test_unit_states_parses_one_block_per_unit_in_order():
    # `systemctl show --property=... a b` output as systemd 252 prints it (no systemd here).
    output = ["LoadState=loaded", "ActiveState=active", "SubState=running", "UnitFileState=enabled", "",
              "LoadState=not-found", "ActiveState=inactive", "SubState=dead", "UnitFileState="]
    states = UnitStates().process(output)
    assert states == [
        {"LoadState": "loaded", "ActiveState": "active", "SubState": "running", "UnitFileState": "enabled"},
        {"LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead", "UnitFileState": ""},
    ]
    assert "systemctl show --property=LoadState,ActiveState,SubState,UnitFileState -- ssh wg-quick@wg0" \
        == UnitStates().command(units=("ssh", "wg-quick@wg0"))


def test_empty_answers_are_empty_states_not_none():
    assert PathStates.default() == {"paths": {}}
    assert UnitStates.default() == [] and PackageStates.default() == {} and SysctlValues.default() == {}
