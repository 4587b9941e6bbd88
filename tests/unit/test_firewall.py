"""The host firewall as the base role composes it for the sample city's hosts: `nft -c` accepts
each ruleset, SSH is accepted only from management networks, RADIUS only from the concentrators,
and each host opens only its own roles' ports.

The policy is asserted on the rules nft itself prints back (`nft -j list ruleset` of the ruleset
loaded into a throwaway network namespace), not on the template's text.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
from pathlib import Path

import netaddr
import pytest

from telework.engine.facts.nftables import SshClientAddress
from telework.inventory.loading import require_inventory
from telework.roles.base.firewall import FirewallSettings, host_firewall, management_networks
from telework.roles.registry import roles_serving

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "inventory" / "sample"
LAB_MANAGEMENT = "10.199.7.0/24"


def group_data(group: str) -> dict:
    """group_data/all.py under group_data/<group>.py, as pyinfra merges them."""
    data = {k: v for k, v in runpy.run_path(str(REPO / "group_data" / "all.py")).items() if not k.startswith("_")}
    path = REPO / "group_data" / f"{group}.py"
    if path.exists():
        data.update({k: v for k, v in runpy.run_path(str(path)).items() if not k.startswith("_")})
    return data


def ruleset_of(host: str, group: str, extra=(LAB_MANAGEMENT,)):
    data = group_data(group)
    settings = FirewallSettings(table=data["base_firewall_table"], ssh_port=data["base_firewall_ssh_port"],
                                log_rate=data["base_firewall_log_rate"],
                                input_log_prefix=data["base_firewall_log_prefix_input_drop"])
    return host_firewall(require_inventory(SAMPLE), host, roles_serving([group]), data, settings, header="# test",
                         extra_management=extra)


def can_run_nft() -> bool:
    if os.geteuid() == 0 and shutil.which("nft") and shutil.which("unshare"):
        return True
    if os.environ.get("CI"):
        pytest.fail("nft and root are needed to check the rulesets (scripts/bootstrap.sh installs nftables)")
    pytest.skip("nft -c needs root and nftables")


def loaded_rules(text: str, tmp_path: Path) -> list[dict]:
    """The rules as nft parsed them: load the ruleset into a new network namespace and list it."""
    path = tmp_path / "ruleset.nft"
    path.write_text(text)
    proc = subprocess.run(["unshare", "--net", "sh", "-c", f"nft -f {path} && nft -j list ruleset"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [item["rule"] for item in json.loads(proc.stdout)["nftables"] if "rule" in item]


def _addresses(value) -> netaddr.IPSet:
    """An nft JSON address match (address, prefix, range, or a set of them) as an IPSet."""
    items = value["set"] if isinstance(value, dict) and "set" in value else [value]
    out = netaddr.IPSet()
    for i in items:
        if isinstance(i, dict) and "prefix" in i:
            out.add(netaddr.IPNetwork(f"{i['prefix']['addr']}/{i['prefix']['len']}"))
        elif isinstance(i, dict) and "range" in i:
            out.add(netaddr.IPRange(*i["range"]))
        else:
            out.add(netaddr.IPAddress(i))
    return out


def accepts(rules: list[dict], chain: str = "input") -> list[dict]:
    """Accepting rules of `chain` with what they match: {comment, saddr, daddr, proto, dport}."""
    out = []
    for rule in (r for r in rules if r["chain"] == chain):
        if not any("accept" in e for e in rule["expr"]):
            continue
        found: dict = {"comment": rule.get("comment")}
        for e in rule["expr"]:
            match = e.get("match")
            if not match or "payload" not in match["left"]:
                continue
            field, value = match["left"]["payload"]["field"], match["right"]
            if field == "saddr":
                found["saddr"] = _addresses(value)
            elif field == "daddr":
                found["daddr"] = value
            elif field == "dport":
                found["proto"], found["dport"] = match["left"]["payload"]["protocol"], value
        out.append(found)
    return out


SERVERS = [("vpn-a", "vpn_concentrators"), ("vpn-b", "vpn_concentrators"), ("radius-1", "auth_servers"),
           ("linux-001", "linux_endpoints")]


@pytest.mark.parametrize(("host", "group"), SERVERS)
def test_every_ruleset_is_accepted_by_nft_and_drops_by_default(host, group, tmp_path):
    """Input and forward: policy drop and a final counted drop; nothing NATed."""
    can_run_nft()
    text = ruleset_of(host, group).text
    path = tmp_path / "ruleset.nft"
    path.write_text(text)
    proc = subprocess.run(["unshare", "--net", "sh", "-c", f"nft -f {path} && nft -j list ruleset"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    items = json.loads(proc.stdout)["nftables"]
    chains = {i["chain"]["name"]: i["chain"] for i in items if "chain" in i}
    assert chains["input"]["policy"] == chains["forward"]["policy"] == "drop"
    rules = [i["rule"] for i in items if "rule" in i]
    for chain, comment in (("input", "input-drop"), ("forward", "forward-drop")):
        last = [r for r in rules if r["chain"] == chain][-1]
        assert last.get("comment") == comment and {"counter", "drop"} <= {k for e in last["expr"] for k in e}
    assert "masquerade" not in proc.stdout and '"nat"' not in proc.stdout


@pytest.mark.parametrize(("host", "group"), SERVERS)
def test_ssh_only_from_management_networks(host, group, tmp_path):
    """Port 22 is accepted only from the inventory's management networks and the overlay's."""
    can_run_nft()
    rules = accepts(loaded_rules(ruleset_of(host, group).text, tmp_path))
    ssh = [r for r in rules if r.get("dport") == 22]
    mgmt = {str(n) for n in management_networks(require_inventory(SAMPLE))}
    assert mgmt == {"10.20.254.0/24", "10.21.254.0/24", "10.22.254.0/24"}
    assert len(ssh) == 1 and ssh[0]["saddr"] == netaddr.IPSet([*mgmt, LAB_MANAGEMENT])
    # every accepting rule is either state/loopback/icmp, or names a port
    assert all(r.get("dport") is not None for r in rules if r["comment"]), rules


def opened(host: str, group: str, tmp_path: Path) -> dict[tuple[str, int], dict]:
    rules = accepts(loaded_rules(ruleset_of(host, group).text, tmp_path))
    return {(r["proto"], r["dport"]): r for r in rules if "dport" in r}


def test_each_host_opens_only_its_roles_ports(tmp_path):
    """A concentrator: SSH, OpenVPN on its public address, WireGuard. The auth server: SSH and
    RADIUS from the concentrators only, on its own address. An endpoint: SSH only."""
    can_run_nft()
    assert set(opened("vpn-a", "vpn_concentrators", tmp_path)) == {("tcp", 22), ("udp", 1194), ("udp", 51820)}
    assert opened("vpn-a", "vpn_concentrators", tmp_path)[("udp", 1194)]["daddr"] == "198.51.100.10"
    radius = opened("radius-1", "auth_servers", tmp_path)
    assert set(radius) == {("tcp", 22), ("udp", 1812)}
    assert radius[("udp", 1812)]["saddr"] == netaddr.IPSet(["10.20.0.11", "10.20.0.12"])  # vpn-a, vpn-b
    assert radius[("udp", 1812)]["daddr"] == "10.20.0.21"
    assert set(opened("linux-001", "linux_endpoints", tmp_path)) == {("tcp", 22)}


def test_the_access_policy_is_in_the_concentrators_one_ruleset(tmp_path):
    """The VPN role's sets and forward rules sit in the same table as the input chain."""
    can_run_nft()
    rules = loaded_rules(ruleset_of("vpn-a", "vpn_concentrators").text, tmp_path)
    comments = [r.get("comment") for r in rules if r["chain"] == "forward"]
    assert "vpn-forward-drop" in comments and "hauptamt" in comments
    assert comments[-1] == "forward-drop"


def test_a_ruleset_nft_refuses_is_refused(tmp_path):
    """What the `ruleset` operation relies on: `nft -c` fails on a broken rule (the lab test
    tests/lab/test_firewall.py proves the live rules stay)."""
    can_run_nft()
    broken = ruleset_of("radius-1", "auth_servers").text.replace("counter drop comment \"input-drop\"",
                                                                  "counter drop comment \"input-drop\" bogus")
    path = tmp_path / "broken.nft"
    path.write_text(broken)
    proc = subprocess.run(["unshare", "--net", "nft", "-c", "-f", str(path)], capture_output=True, text=True)
    assert proc.returncode != 0 and "syntax error" in proc.stderr


def test_ssh_client_address_fact_reads_sshd_environment():
    """The fact's shell command on this machine, with and without sshd's $SSH_CONNECTION."""
    command = SshClientAddress().command()
    for env, expected in (({"SSH_CONNECTION": "10.199.7.1 40022 10.199.7.5 22"}, "10.199.7.1"), ({}, None)):
        out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True,
                             env={"PATH": os.environ["PATH"], **env}).stdout
        assert SshClientAddress().process(out.splitlines()) == expected
