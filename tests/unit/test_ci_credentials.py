"""What a CI job hands telework instead of files in the runner user's home: the hosts' SSH
host keys come from $TELEWORK_SSH_KNOWN_HOSTS for every host (plan, apply and verify connect
through the same host data), and an environment overlay still decides where it points."""

from __future__ import annotations

from telework.inventory.hosts import KNOWN_HOSTS_ENV, host_entries
from telework.inventory.loading import load_inventory
from telework.verify.hosts import verify_hosts
from tests.conftest import MINIMAL


def test_known_hosts_from_the_environment_for_every_host(monkeypatch, tmp_path):
    known = tmp_path / "job" / "known_hosts"
    monkeypatch.setenv(KNOWN_HOSTS_ENV, str(known))
    entries = host_entries(load_inventory(MINIMAL).model, MINIMAL)
    assert entries and {data["ssh_known_hosts_file"] for _, data, _ in entries} == {str(known)}
    assert {h.known_hosts for h in verify_hosts(MINIMAL, overlay={})} == {str(known)}


def test_an_overlay_still_points_a_host_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setenv(KNOWN_HOSTS_ENV, str(tmp_path / "known_hosts"))
    overlay = {"hosts": {"vpn-a": {"ssh_known_hosts_file": "/lab/known_hosts"}}}
    data = {name: d for name, d, _ in host_entries(load_inventory(MINIMAL).model, MINIMAL, overlay)}
    assert data["vpn-a"]["ssh_known_hosts_file"] == "/lab/known_hosts"
    assert data["radius-1"]["ssh_known_hosts_file"] == str(tmp_path / "known_hosts")


def test_without_the_variable_nothing_is_set(monkeypatch):
    monkeypatch.delenv(KNOWN_HOSTS_ENV, raising=False)
    entries = host_entries(load_inventory(MINIMAL).model, MINIMAL)
    assert all("ssh_known_hosts_file" not in data for _, data, _ in entries)
