"""IGEL through the real network path: the fake UMS as a service on the lab host `ums`, with a
certificate from the organisation's own CA, and `telework plan|apply` from the controller.

A throwaway organisation made from the sample (`telework pki init`, the IMI password set with
`telework secret set`); the lab's overlay says where the UMS is reached in the lab, as it does
for the SSH hosts. Nothing here depends on the VPN hosts' state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from telework.lab.topology import UMS_HOST
from telework.roles.igel.lab import fake_ums_state, stop_fake_ums
from telework.secrets.store import SecretStore

from .conftest import SAMPLE, VENV_BIN, run

pytestmark = pytest.mark.lab

PASSWORD = "lab-imi-password-0815-not-real"


@pytest.fixture(scope="module")
def city(lab, tmp_path_factory):
    work = tmp_path_factory.mktemp("igel-city")
    inventory = work / "inventory"
    shutil.copytree(SAMPLE, inventory)
    env = {**os.environ, "TELEWORK_AGE_IDENTITY": str(work / "identity.txt"),
           "TELEWORK_OVERLAY": str(lab.overlay_file), "XDG_CONFIG_HOME": str(work / "config")}
    store = SecretStore(inventory, env["TELEWORK_AGE_IDENTITY"])
    store.init_identity(comment="igel lab test")
    run([str(VENV_BIN / "telework"), "pki", "init", str(inventory)], env=env)
    store.set("ums/imi-password", PASSWORD)
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=t", "-c", "user.email=t@invalid", "commit", "-qm", "city"]):
        run(["git", *args], cwd=inventory)
    started = run([str(VENV_BIN / "telework"), "lab", "fake-ums", str(inventory), "--firmware", "11.10.150.01",
                   "--firmware", "12.5.1", "--firmware", "12.6.0"], env=env)
    url = started.stdout.split("FAKE UMS on lab host ums: ")[1].split()[0]
    run(["git", "add", "-A"], cwd=inventory)  # the UMS certificate is recorded in pki/issued.yml
    run(["git", "-c", "user.name=t", "-c", "user.email=t@invalid", "commit", "-qm", "ums certificate"],
        cwd=inventory)
    yield {"inventory": inventory, "env": env, "url": url}
    stop_fake_ums(lab.topology)


def telework(city, *args: str) -> subprocess.CompletedProcess:
    return run([str(VENV_BIN / "telework"), *args], env=city["env"], check=False, timeout=600)


def test_the_overlay_names_the_lab_ums(lab, city):
    assert lab.overlay["ums"]["url"] == city["url"]
    assert city["url"].startswith(f"https://{lab.topology.host(UMS_HOST).management_address}:")


def test_plan_apply_and_an_empty_second_plan_over_the_lab_network(lab, city):
    inv = str(city["inventory"])
    plan = telework(city, "plan", inv, "--limit", "igel_devices", "--format", "json")
    assert plan.returncode == 2, plan.stdout[-2000:] + plan.stderr[-2000:]
    data = json.loads(plan.stdout)
    assert data["summary"]["changed"] == 106  # 103 devices and the three ring directories
    ops = [c["op"] for h in data["hosts"] for c in h["changes"]]
    assert sum(op.startswith("igel | create device ") for op in ops) == 103
    assert sum(" assign directory " in op for op in ops) == 3 * 7
    assert PASSWORD not in plan.stdout + plan.stderr

    applied = telework(city, "apply", inv, "--limit", "igel_devices")
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    assert PASSWORD not in applied.stdout + applied.stderr
    state = fake_ums_state(lab.topology)
    assert len([d for d in state["devices"].values() if not d["movedToBin"]]) == 103

    again = telework(city, "plan", inv, "--limit", "igel_devices")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]


def test_a_ums_certificate_from_another_ca_is_refused(lab, city, tmp_path):
    """The UMS's certificate is checked against ums.ca_file: another CA there, and the plan
    says the TLS check failed instead of talking to the UMS."""
    from telework.roles.igel.testing import make_tls

    other = tmp_path / "other"
    shutil.copytree(city["inventory"], other)
    shutil.copy(make_tls(tmp_path / "tls").ca, other / "pki" / "ca.crt")
    run(["git", "-c", "user.name=t", "-c", "user.email=t@invalid", "commit", "-qam", "other CA"], cwd=other)
    plan = telework(city, "plan", str(other), "--limit", "igel-0001", "--format", "json")
    assert plan.returncode == 1, plan.stdout[-2000:] + plan.stderr[-2000:]
    [host] = [h for h in json.loads(plan.stdout)["hosts"] if h["name"] == "igel-0001"]
    assert host["status"] == "unreachable" and "certificate" in host["error"].lower()

