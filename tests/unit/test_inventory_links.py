"""Nothing outside the inventory is read (issue 18): a symbolic link leading out of the
inventory directory, to a file or a directory, is refused by its name without being opened.

The links point at a FIFO: opening it would block, so a loader (or the load cache) that so
much as opens the target hangs the command and fails the test by its timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from telework.inventory.loading import load_inventory
from telework.inventory.source import scan_inventory

REPO = Path(__file__).resolve().parents[2]
SECRET = "SECRETHASHVALUE-do-not-echo"


@pytest.fixture
def linked(tmp_path) -> Path:
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO / "inventory" / "sample", inventory)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "fifo")
    (outside / "shadow.yml").write_text(f'people:\n  - {{username: root, name: "root:{SECRET}"}}\n')
    (inventory / "people" / "x.yml").symlink_to(outside / "fifo")           # a file link out
    (inventory / "people" / "y.yml").symlink_to(outside / "shadow.yml")     # another
    (inventory / "endpoints" / "more").symlink_to(outside)                  # a directory link out
    (inventory / "vpn.yaml").symlink_to("../outside/shadow.yml")            # relative, still out
    # a link that stays inside is followed: telephony.yml kept in pki/ (not a section directory)
    (inventory / "pki").mkdir(exist_ok=True)
    (inventory / "telephony.yml").rename(inventory / "pki" / "telephony.yml")
    (inventory / "telephony.yml").symlink_to("pki/telephony.yml")
    # not a section file, but read by the VPN deploy (uploaded, diffed in a plan)
    (inventory / "pki" / "ca.crt").symlink_to(outside / "fifo")
    return inventory


def test_links_out_of_the_inventory_are_refused_by_name(linked):
    files, problems = scan_inventory(linked)
    assert [(p.rule, str(p.file)) for p in problems] == [
        ("inventory.link_outside", "endpoints/more"), ("inventory.link_outside", "people/x.yml"),
        ("inventory.link_outside", "people/y.yml"), ("inventory.link_outside", "pki/ca.crt"),
        ("inventory.link_outside", "vpn.yaml")]
    assert linked / "telephony.yml" in files and linked / "people" / "x.yml" not in files


def test_validate_names_the_links_and_nothing_of_their_targets(linked):
    env = {**os.environ, "TELEWORK_INVENTORY_CACHE": str(linked.parent / "cache")}
    done = subprocess.run([sys.executable, "-m", "telework.cli", "validate", str(linked)], capture_output=True,
                          text=True, timeout=120, env=env)
    out = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in out
    for name in ("people/x.yml", "people/y.yml", "endpoints/more", "pki/ca.crt", "vpn.yaml"):
        assert f"{name}: error: a symbolic link leading out of the inventory directory" in out, out
    assert SECRET not in out and "root:" not in out and "outside" not in out
    # the link that stays inside was read: the telephony section is there, so no error about it
    assert "telephony" not in out


def test_the_loader_refuses_them_too(linked):
    loaded = load_inventory(linked, check=False)
    assert {str(p.file) for p in loaded.problems if p.rule == "inventory.link_outside"} == {
        "people/x.yml", "people/y.yml", "endpoints/more", "pki/ca.crt", "vpn.yaml"}
    assert all(p.username != "root" for p in loaded.model.people)
