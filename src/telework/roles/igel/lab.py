"""The lab's stand-in for the organisation's IGEL UMS: the fake UMS (FAKE, not an IGEL product)
as a systemd service on the lab host `ums`, with a TLS certificate from the organisation's own
CA (`telework pki init`), so that `telework plan|apply` reach it over the lab network exactly as
they would reach a real UMS: TLS verified against `ums.ca_file`, the IMI password an age secret.

The fake needs only Python's standard library and three telework modules, which are copied to
the host (/opt/telework-fake-ums); its state lives in /var/lib/telework-fake-ums/state.json.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import tarfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import telework
from telework.lab.lab import ssh, ssh_command
from telework.lab.overlay import UMS_PORT
from telework.lab.topology import UMS_HOST, Topology
from telework.roles.vpn import pki
from telework.secrets.store import SecretStore

UNIT = "telework-fake-ums"
CODE_DIR = "/opt/telework-fake-ums"
STATE_DIR = "/var/lib/telework-fake-ums"
#: the modules the fake imports (besides the standard library), relative to the package root
MODULES = ("__init__.py", "core/__init__.py", "core/atomicfile.py", "roles/__init__.py",
           "roles/igel/__init__.py", "roles/igel/clock.py", "roles/igel/fake_ums.py")


def _tar(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o600 if name.endswith((".key", ".pw")) else 0o644
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def start_fake_ums(topo: Topology, inventory_dir: Path | str, store: SecretStore, *,
                   firmwares: list[str], profiles: list[dict], timeout: float = 30) -> str:
    """Install and start the fake UMS on the lab host `ums` (a fresh state each time); returns
    the URL the lab's overlay names. `profiles`: [{name, firmware, master}] as the fake's seed."""
    from telework.inventory.loading import require_inventory

    ums = require_inventory(Path(inventory_dir)).model.ums
    if ums is None or ums.address is None:
        raise ValueError("the inventory's ums: section needs an address for the lab's UMS host")
    host = topo.host(UMS_HOST)
    name = urlsplit(ums.url).hostname or "ums"
    cert, key = pki.issue_service(inventory_dir, store, name, "ums", [name],
                                  [str(host.management_address), str(ums.address.ip)])
    root = Path(telework.__file__).parent
    files = {f"code/telework/{m}": (root / m).read_bytes() for m in MODULES}
    files.update({"tls/ums.crt": cert.encode(), "tls/ums.key": key.encode(),
                  "tls/imi.pw": (store.get(ums.password_secret) + "\n").encode(),
                  "seed.json": json.dumps({"firmwares": firmwares, "profiles": profiles}).encode()})
    script = (f"systemctl stop {UNIT} 2>/dev/null; systemctl reset-failed {UNIT} 2>/dev/null; "
              f"rm -rf {CODE_DIR} {STATE_DIR} && mkdir -p {CODE_DIR} && tar -xz -C {CODE_DIR} && "
              f"systemd-run --unit={UNIT} --property=Restart=on-failure "
              f"--setenv=PYTHONPATH={CODE_DIR}/code python3 -m telework.roles.igel.fake_ums "
              f"--listen 0.0.0.0:{UMS_PORT} --cert {CODE_DIR}/tls/ums.crt --key {CODE_DIR}/tls/ums.key "
              f"--state {STATE_DIR} --user {ums.user} --password-file {CODE_DIR}/tls/imi.pw "
              f"--seed {CODE_DIR}/seed.json")
    done = subprocess.run(ssh_command(topo, UMS_HOST, script), input=_tar(files), capture_output=True,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"starting the fake UMS on {UMS_HOST} failed: {done.stderr.decode(errors='replace')}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((str(host.management_address), UMS_PORT), timeout=2):
                return f"https://{host.management_address}:{UMS_PORT}"
        except OSError:
            time.sleep(0.3)
    journal = ssh(topo, UMS_HOST, f"journalctl -u {UNIT} --no-pager -n 30").stdout
    raise RuntimeError(f"the fake UMS on {UMS_HOST} does not listen on {UMS_PORT}:\n{journal}")


def fake_ums_state(topo: Topology) -> dict:
    """The fake's state as the host has it (devices, directories, assignments)."""
    done = ssh(topo, UMS_HOST, f"cat {STATE_DIR}/state.json")
    if done.returncode != 0:
        raise RuntimeError(f"no fake UMS state on {UMS_HOST}: {done.stderr}")
    return json.loads(done.stdout)


def stop_fake_ums(topo: Topology) -> None:
    ssh(topo, UMS_HOST, f"systemctl stop {UNIT}; rm -rf {CODE_DIR} {STATE_DIR}")
