"""Real VPN clients in a lab home network: the proof that a deployed concentrator serves people.

An `OpenVpnClient` runs this machine's `openvpn` inside a home's client namespace (behind the
home router's NAT, as an employee's PC sits behind a FRITZ!Box) with a bundle that
`telework person enroll` wrote, logging in with the person's username and current TOTP code.
Used by `telework lab vpn-check` (the main job's last step) and by the lab tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import signal
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from telework.lab.errors import LabError

#: RFC 6238 parameters authenticator apps use and `telework person enroll` puts in the QR code.
TOTP_STEP, TOTP_DIGITS = 30, 6


def totp(seed_base32: str, at: float | None = None) -> str:
    """The TOTP code of a base32 seed at time `at` (now): what the authenticator app shows."""
    key = base64.b32decode(seed_base32.strip().upper() + "=" * (-len(seed_base32.strip()) % 8))
    counter = int((time.time() if at is None else at) // TOTP_STEP)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def wait_for_next_login(last_login: float) -> None:
    """Wait until the same person may log in again.

    pam_oath on the RADIUS server records the time of each successful login and refuses any
    code less than one step after it (measured from the login, not from the step's start, and
    shared by both concentrators), so a person's next login needs a code made a step later."""
    while time.time() < last_login + TOTP_STEP + 1:
        time.sleep(min(1.0, last_login + TOTP_STEP + 1 - time.time()))


@dataclass
class OpenVpnResult:
    connected: bool
    log: str
    address: str | None


class OpenVpnClient:
    """`openvpn` of this machine in a network namespace, with an enrolled bundle.

    The bundle's `remote` lines are replaced by the one concentrator under test, so a refusal
    is that concentrator's answer and not a silent failover to the other one.
    """

    def __init__(self, netns: str, workdir: Path):
        self.netns, self.workdir = netns, Path(workdir)
        self.pidfile: Path | None = None
        self.device: str | None = None

    def connect(self, bundle: Path, remote: str, port: int, username: str, code: str, device: str,
                timeout: float = 20) -> OpenVpnResult:
        """Start the client against one concentrator; wait for the tunnel or the refusal."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o700)
        config = self.workdir / f"{device}.ovpn"
        lines = [line for line in Path(bundle).read_text().splitlines()
                 if not line.startswith(("remote ", "auth-user-pass"))]
        creds = self.workdir / f"{device}.creds"
        creds.touch(mode=0o600)
        creds.write_text(f"{username}\n{code}\n")
        config.touch(mode=0o600)
        config.write_text("\n".join(lines + [f"remote {remote} {port} udp", f"auth-user-pass {creds}",
                                             "connect-retry-max 1", "auth-retry none"]) + "\n")
        log = self.workdir / f"{device}.log"
        log.unlink(missing_ok=True)
        self.pidfile, self.device = self.workdir / f"{device}.pid", device
        proc = subprocess.run(["ip", "netns", "exec", self.netns, "openvpn", "--config", str(config), "--dev", device,
                               "--dev-type", "tun", "--log", str(log), "--writepid", str(self.pidfile), "--daemon"],
                              capture_output=True, text=True, timeout=15)
        if proc.returncode != 0:
            raise LabError(f"openvpn did not start in {self.netns}: {proc.stderr.strip() or proc.stdout.strip()}")
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "Initialization Sequence Completed" in text:
                address = re.search(r"net_addr_v4_add: ([0-9.]+)/", text)
                return OpenVpnResult(True, text, address.group(1) if address else None)
            if "AUTH_FAILED" in text or "process exiting" in text:
                break
            time.sleep(0.25)
        self.disconnect()
        return OpenVpnResult(False, text, None)

    def ping(self, address: str, count: int = 2) -> bool:
        """Bounded ping from the client's namespace (through the tunnel when it is up)."""
        proc = subprocess.run(["ip", "netns", "exec", self.netns, "ping", "-n", "-c", str(count), "-W", "2", address],
                              capture_output=True, text=True, timeout=15)
        return proc.returncode == 0

    def route_into_tunnel(self, prefix: str) -> None:
        """Send `prefix` into the tunnel although the concentrator did not push it: only the
        concentrator's firewall then stands between the client and that network."""
        if self.device is None:
            raise LabError("no tunnel is up to route into")
        subprocess.run(["ip", "netns", "exec", self.netns, "ip", "route", "replace", prefix, "dev", self.device],
                       capture_output=True, text=True, timeout=15, check=True)

    def disconnect(self) -> None:
        if self.pidfile and self.pidfile.exists():
            try:
                pid = int(self.pidfile.read_text().strip())
                os.kill(pid, signal.SIGTERM)
                for _ in range(40):
                    os.kill(pid, 0)
                    time.sleep(0.1)
            except (ValueError, ProcessLookupError):
                pass
            self.pidfile.unlink(missing_ok=True)
