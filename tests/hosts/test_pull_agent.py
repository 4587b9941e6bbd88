"""Endpoints as deploy/pull_agent.py leaves them: in pull mode, an agent that applies only
bundles signed by the organisation, for this host, on a schedule; otherwise no agent at all.

Each docstring starts with the BSI IT-Grundschutz requirement (Kompendium 2023) it evidences.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.role("linux_endpoints", "notebooks")


@pytest.fixture(scope="module")
def config(host, host_data) -> dict | None:
    """The agent's settings, None when this endpoint is not in pull mode."""
    settings = host.file(host_data["pull_config_file"])
    return json.loads(settings.content_string) if settings.exists else None


def _root_only_writable(f) -> bool:
    return f.exists and f.user == "root" and f.mode & 0o022 == 0


def test_agent_trusts_only_the_organisations_key_for_this_host(host, host_name, config):
    """OPS.1.1.3.A10: bundles are applied only when signed with the organisation's key, which
    only root can replace, and only when they name this host."""
    if config is None:
        assert not host.file("/etc/systemd/system/telework-pull.timer").exists  # no half-configured agent
        return
    assert config["host"] == host_name
    key = host.file(config["public_key"])
    assert _root_only_writable(key) and "BEGIN PUBLIC KEY" in key.content_string
    assert config["base_url"].startswith(("https://", "http://"))


def test_agent_code_and_state_belong_to_root(host, host_data, config):
    """OPS.1.1.3.A10: wherever an agent is on the host (in pull mode or left from before), it
    and what it downloaded cannot be changed by anyone but root (state directory 0700 at most)."""
    agent = host.file(host_data["pull_agent_file"])
    if config is not None:
        assert agent.exists
    if agent.exists:
        assert _root_only_writable(agent)
    state = host.file(config["state_dir"] if config else host_data["pull_state_dir"])
    if config is not None or state.exists:
        assert state.is_directory and state.user == "root" and state.mode & 0o077 == 0


def test_agent_runs_on_a_schedule(host, config):
    """OPS.1.1.3.A15: an endpoint in pull mode fetches its configuration regularly (the timer is
    enabled and running, with a randomised delay so endpoints spread over time)."""
    if config is None:  # no agent: the timer is not enabled (nor even installed)
        assert host.run("systemctl is-enabled telework-pull.timer").rc != 0
        return
    timer = host.service("telework-pull.timer")
    assert timer.is_enabled and timer.is_running
    unit = host.file("/etc/systemd/system/telework-pull.timer").content_string
    assert "OnCalendar=" in unit and "RandomizedDelaySec=" in unit and "Persistent=true" in unit
