"""A plan changes nothing, even on a host that was never deployed.

vpn-b gets a fresh root (the lab boots it again from the base image: nothing of telework on it),
and a plan of the whole site - base and the concentrator role, every batched fact - runs
against it. The host's files, links, addresses, routes, nftables rules, kernel settings and
loaded modules are compared before and after, and `ip monitor` on the host records any link,
address or route that a fact created and removed again while the plan ran. Afterwards vpn-b
is deployed again, so the other lab tests find it as before.
"""

from __future__ import annotations

import time

import pytest

from .conftest import VENV_BIN, run

pytestmark = pytest.mark.lab

HOST = "vpn-b"
#: what a running system changes by itself, or the SSH login of the test
SKIP = ("/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/var/log", "/var/cache", "/var/lib/systemd",
        "/var/lib/private", "/root/.ssh", "/var/lib/apt/lists")
SNAPSHOT = (
    "find / -xdev \\( " + " -o ".join(f"-path {p}" for p in SKIP) + " \\) -prune -o "
    "-printf '%y %m %U %G %s %T@ %p -> %l\\n' | sort; "
    "echo '== links'; ip -d -o link show | sed 's/ link-netnsid [0-9]*//'; "
    "echo '== addresses'; ip -o addr show; echo '== routes'; ip route show table all; "
    "echo '== nftables'; nft list ruleset 2>/dev/null; "
    "echo '== sysctl'; sysctl -a 2>/dev/null | grep -E '^net\\.(ipv4|ipv6)\\.(ip_forward|conf\\.all\\.forwarding)'; "
    "echo '== modules'; cat /proc/modules 2>/dev/null | cut -d' ' -f1 | sort"
)


def _snapshot(lab) -> list[str]:
    done = lab.ssh(HOST, SNAPSHOT)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _differences(before: list[str], after: list[str]) -> list[str]:
    old, new = set(before), set(after)
    return [f"- {line}" for line in before if line not in new] + [f"+ {line}" for line in after if line not in old]


def test_plan_of_a_never_deployed_host_changes_nothing_on_it(lab, org):
    lab.reset_host(HOST)
    try:
        time.sleep(3)  # let the fresh boot's own first writes settle
        before = _snapshot(lab)
        assert _differences(before, _snapshot(lab)) == [], "the host changes by itself: widen SKIP"
        monitor = lab.ssh(HOST, "nohup timeout 300 ip monitor link address route > /run/tw-plan-monitor.log "
                                "2>&1 & echo started")
        assert "started" in monitor.stdout
        time.sleep(1)
        plan = run([str(VENV_BIN / "telework"), "plan", str(org.inventory), "--limit", HOST], env=org.env,
                   check=False)
        assert plan.returncode == 2, plan.stdout + plan.stderr  # a fresh host: everything to do
        assert "vpn-b: changed" in plan.stdout
        time.sleep(1)
        events = lab.ssh(HOST, "pkill -f 'ip monitor' ; cat /run/tw-plan-monitor.log").stdout
        after = _snapshot(lab)
        assert events.strip() == "", f"a fact changed the network while planning:\n{events}"
        assert _differences(before, after) == []
    finally:
        org.apply()  # vpn-b deployed again for the other lab tests
