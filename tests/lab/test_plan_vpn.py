"""The flagship plan test (issue 8's "done when") on the VPN concentrators: a person changes
department, and the plan shows exactly what that means on the hosts, nothing else.

Uses the VPN suite's `org` (tests/lab/conftest.py): a throwaway organisation deployed once to
vpn-a, vpn-b and radius-1. This test only plans (never applies) and puts the department back
afterwards, so the other VPN tests find the organisation as it was.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from telework.inventory.loading import require_inventory
from telework.roles.vpn.concentrator import concentrator_view

pytestmark = pytest.mark.lab

HOSTS = "vpn-a,vpn-b,radius-1"
#: enrolled by `org`, in Hauptamt (fileserver, intranet); moves to Kämmerei (+ fv-finanzen)
WITHOUT_FINANZEN = "awalter"
VENV_BIN = Path(sys.executable).parent
#: the host firewall, the access policy in it, is the base role's one ruleset per host
NFTABLES_OP = "deploy/base.py | firewall: "
CCD_OP = "deploy/vpn_concentrator.py | openvpn: "


def plan(org, tmp_path: Path, name: str) -> tuple[int, dict, str]:
    out = tmp_path / f"{name}.json"
    done = subprocess.run([str(VENV_BIN / "telework"), "plan", str(org.inventory), "--limit", HOSTS,
                           "--out", str(out), "--out", str(tmp_path / f"{name}.txt"),
                           "--out", str(tmp_path / f"{name}.md")],
                          capture_output=True, text=True, env=org.env, timeout=300)
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(out.read_text()), done.stderr


def set_department(org, person: str, department: str) -> str:
    """Move `person` to `department`; returns the old department."""
    for path in (org.inventory / "people").glob("*.yml"):
        text = path.read_text()
        found = re.search(rf"(username: {person}, .*?department: )([a-z0-9_-]+)", text)
        if found:
            path.write_text(text[:found.start(2)] + department + text[found.end(2):])
            org.commit(f"{person} moves to {department}")
            return found.group(2)
    raise AssertionError(f"{person} not in people/")


def set_elements(diff: list[str]) -> tuple[dict, dict, dict]:
    """From a ruleset diff: per nftables set whose elements line changed, the old and new
    elements, and the change of each access group's member count in its comment line.
    Fails on any other changed line."""
    old: dict[str, set] = {}
    new: dict[str, set] = {}
    counts: dict[str, int] = {}
    current = None
    for line in diff:
        body = line[1:]
        named = re.search(r"set vpn_(\S+) \{", body)
        if named:
            current = named.group(1)
        if line[:1] not in "+-":
            continue
        elements = re.search(r"elements = \{ (.*) \}", body)
        comment = re.search(r"# access group (\S+): (\d+) member\(s\)", body)
        if elements and current:
            (old if line[0] == "-" else new)[current] = set(elements.group(1).split(", "))
        elif comment:
            sign = 1 if line[0] == "+" else -1
            counts[comment.group(1)] = counts.get(comment.group(1), 0) + sign * int(comment.group(2))
        else:
            raise AssertionError(f"unexpected changed line in the ruleset: {line!r}")
    return old, new, counts


def test_department_change_shows_exactly_the_concentrator_changes(org, tmp_path: Path):
    code, before, err = plan(org, tmp_path, "before")
    assert code == 0, err + json.dumps(before["summary"])
    # An unchanged host is asked one batched command per deploy file (base + its role), not
    # one per fact (54 on a concentrator before telework.engine.facts.batch).
    assert {h["name"]: h["remote_commands"] for h in before["hosts"]} == {"vpn-a": 2, "vpn-b": 2, "radius-1": 2}

    addresses = {c.name: {str(client.address) for client in concentrator_view(require_inventory(org.inventory), c.name)
                          .openvpn_clients if client.username == WITHOUT_FINANZEN}
                 for c in require_inventory(org.inventory).model.vpn_concentrators}
    old_department = set_department(org, WITHOUT_FINANZEN, "kaemmerei")
    assert old_department == "hauptamt"
    try:
        code, after, err = plan(org, tmp_path, "after")
        assert code == 2, err
        status = {h["name"]: h["status"] for h in after["hosts"]}
        assert status == {"vpn-a": "changed", "vpn-b": "changed", "radius-1": "unchanged"}
        for host in (h for h in after["hosts"] if h["status"] == "changed"):
            ops = [c["op"] for c in host["changes"]]
            # the access policy (in the host's ruleset, written by the base role, which runs
            # first), and the person's client-config-dir entry (the routes OpenVPN pushes follow
            # the department's networks); nothing else: no restart, no other file
            assert len(ops) == 2 and ops[0].startswith(NFTABLES_OP) and ops[1].startswith(CCD_OP), ops
            assert host["changes"][1]["messages"] == [
                f"/etc/openvpn/server/telework/ccd: 1 changed, 0 new, 0 removed ({WITHOUT_FINANZEN})"]
            nft = host["changes"][0]
            assert nft["path"] == "/etc/nftables.conf"
            (address,) = addresses[host["name"]]
            old, new, counts = set_elements(nft["diff"])
            # the person's address leaves the Hauptamt set and joins the Kämmerei set; no other
            # element of any set changes, and the only other changed lines are member counts
            assert old["hauptamt"] - new["hauptamt"] == {address} and new["hauptamt"] <= old["hauptamt"]
            assert new["kaemmerei"] - old["kaemmerei"] == {address} and old["kaemmerei"] <= new["kaemmerei"]
            assert set(old) == set(new) == {"hauptamt", "kaemmerei"}, nft["diff"]
            assert counts == {"hauptamt": -1, "kaemmerei": +1}
        text = (tmp_path / "after.txt").read_text()
        assert text.count("+\t\telements = {") == 4  # both sets, on both concentrators
        assert (tmp_path / "after.md").read_text().count("```diff") == 2
        for value in org.secret_values():
            for name in ("after.json", "after.txt", "after.md"):
                assert value not in (tmp_path / name).read_text(), f"a secret in {name}"
    finally:
        set_department(org, WITHOUT_FINANZEN, old_department)
    code, again, err = plan(org, tmp_path, "again")
    assert code == 0, err + json.dumps(again["summary"])
