"""Lab tests get the session `lab` fixture from tests/conftest.py (telework.lab.pytest_plugin).

`org` (session): a throwaway organisation made from inventory/sample the way an operator makes a
real one, deployed to the lab's vpn-a, vpn-b and radius-1:

* a copy of inventory/sample as a git repository, a throwaway age identity
  (TELEWORK_AGE_IDENTITY), `telework pki init`;
* linux-001 handed to `anowak` with a WireGuard key pair made here (the test is the device:
  the private key stays in the test's directory, the public key goes into the inventory);
* two people enrolled: `anowak` (Kämmerei: reaches fv-finanzen) and `awalter` (Hauptamt: does
  not), plus anowak's device;
* `org.apply()` runs `pyinfra deploy/site.py` on the three hosts (env TELEWORK_OVERLAY = the
  lab's overlay) and checks that no secret value appears in its output.

The lab is shared with other engineers' tests: only vpn-a, vpn-b and radius-1 are deployed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from telework.roles.vpn.lab_clients import OpenVpnClient, totp, wait_for_next_login  # noqa: F401 (totp: used by the tests)
from telework.secrets.store import SecretStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "inventory" / "sample"
VENV_BIN = Path(sys.executable).parent
HOSTS = ("radius-1", "vpn-a", "vpn-b")
#: Kämmerei (fileserver, intranet, fv-finanzen) and Hauptamt (fileserver, intranet)
WITH_FINANZEN, WITHOUT_FINANZEN = "anowak", "awalter"
DEVICE = "linux-001"


def run(argv: list[str], env: dict | None = None, timeout: int = 600, check: bool = True,
        cwd: Path | str = REPO) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


@dataclass
class Org:
    inventory: Path
    bundles: Path
    env: dict
    overlay: Path
    device_private_key: str
    device_public_key: str
    applies: list[str] = field(default_factory=list)
    first_apply: str = ""

    @property
    def store(self) -> SecretStore:
        return SecretStore(self.inventory, self.env["TELEWORK_AGE_IDENTITY"])

    def secret_values(self) -> list[str]:
        return [v for v in self.store.values() if len(v) >= 6] + [self.device_private_key]

    def telework(self, *args: str) -> subprocess.CompletedProcess:
        return run([str(VENV_BIN / "telework"), *args], env=self.env)

    def commit(self, message: str) -> None:
        run(["git", "add", "-A"], cwd=self.inventory)
        run(["git", "-c", "user.name=telework test", "-c", "user.email=test@invalid", "commit", "-q",
             "--allow-empty", "-m", message], cwd=self.inventory)

    def apply(self, *extra: str) -> str:
        """Deploy site.py to the three hosts; the combined output, checked for secrets."""
        started = time.monotonic()
        proc = run([str(VENV_BIN / "pyinfra"), "-y", str(self.inventory / "inventory.py"), "deploy/site.py",
                    *[arg for name in HOSTS for arg in ("--limit", name)], *extra], env=self.env, timeout=900, check=False)
        output = proc.stdout + proc.stderr
        leaked = [f"secret #{i}" for i, value in enumerate(self.secret_values()) if value in output]
        assert not leaked, f"pyinfra output shows {', '.join(leaked)} in clear"
        assert proc.returncode == 0, f"pyinfra failed:\n{output[-5000:]}"
        self.applies.append(f"{time.monotonic() - started:.0f} s")
        return output


def changed_operations(output: str) -> list[str]:
    """Rows of pyinfra's results table whose Success column (= hosts changed) is not `-`."""
    rows = []
    for line in output.splitlines():
        m = re.match(r"\s+(\S.*?)\s{2,}(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", line)
        if m and not line.strip().startswith(("Operation", "Grand total")) and m.group(3) != "-":
            rows.append(m.group(1))
    return rows


@pytest.fixture(scope="session")
def org(lab, tmp_path_factory) -> Org:
    if shutil.which("openvpn") is None or shutil.which("wg-quick") is None or shutil.which("oathtool") is None:
        pytest.skip("needs openvpn, wireguard-tools, wireguard-go and oathtool on this machine "
                    "(scripts/bootstrap.sh installs them)")
    base = tmp_path_factory.mktemp("org")
    inventory = base / "inventory"
    shutil.copytree(SAMPLE, inventory, ignore=shutil.ignore_patterns("pki", "secrets", "access"))
    identity = base / "age-identity.txt"
    env = {**os.environ, "TELEWORK_AGE_IDENTITY": str(identity), "TELEWORK_OVERLAY": str(lab.overlay_file),
           "PYINFRA_PROGRESS": "off"}
    # the device: a key pair made here, only the public key goes into the inventory
    private = run(["wg", "genkey"]).stdout.strip()
    public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True, check=True,
                            timeout=10).stdout.strip()
    linux = inventory / "endpoints" / "linux.yml"
    text = linux.read_text()
    line = next(line for line in text.splitlines() if f"name: {DEVICE}," in line)
    new = re.sub(r"owner: [a-z0-9._-]+", f"owner: {WITH_FINANZEN}", line)
    new = re.sub(r"wireguard_public_key: \S+}", f"wireguard_public_key: {public}}}", new)
    linux.write_text(text.replace(line, new))
    org = Org(inventory, base / "bundles", env, lab.overlay_file, private, public)
    run(["git", "init", "-q"], cwd=inventory)
    org.commit("the sample city")
    org.telework("secret", "init", str(inventory))
    org.telework("pki", "init", str(inventory))
    for person in (WITH_FINANZEN, WITHOUT_FINANZEN):
        org.telework("person", "enroll", person, str(inventory), "--out", str(org.bundles))
    org.telework("person", "enroll", WITH_FINANZEN, str(inventory), "--out", str(org.bundles), "--device", DEVICE)
    org.commit("enrol two people and a device")
    org.first_apply = org.apply()
    return org


# ------------------------------------------------------------------------------ real clients


def next_login_time(last_login: float) -> float:
    """Wait until the same person may log in again (see `wait_for_next_login`); the time then."""
    wait_for_next_login(last_login)
    return time.time()


@pytest.fixture
def openvpn(lab, tmp_path):
    """An OpenVPN client in home-1's client namespace, killed after the test."""
    client = OpenVpnClient(lab.overlay["homes"]["home-1"]["client_netns"], tmp_path / "openvpn")
    yield client
    client.disconnect()


def pytest_collection_modifyitems(config, items):
    """A test that restarts the lab throws away what the session deployed (the `org`): it
    runs after every other test, whatever the file order."""
    items.sort(key=lambda item: item.get_closest_marker("restarts_lab") is not None)
