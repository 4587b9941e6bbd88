"""Real SIP phones for the lab: this machine's baresip in a home's phone namespace.

A `Phone` runs `baresip` (Debian's 1.0.0) behind its home router with one account registered
over TLS to the SIP server's public address, SRTP mandatory, auto-answer, a WAV file as its
microphone and sndfile recording what it hears. It is bounded: every process gets baresip's own
`-t` lifetime and is killed on `stop()`. Commands (dial, hang up) go to its ctrl_tcp socket on
the namespace's loopback.

baresip 1.0.0 does not verify the server's certificate (it has no option for it): TLS
certificate checking is proven with a Python client (`tls_handshake`), not with baresip.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from telework.lab.errors import LabError

MODULES = ("g711.so", "aufile.so", "sndfile.so", "srtp.so", "account.so", "menu.so", "ctrl_tcp.so")
CTRL_PORT = 4444
#: baresip's log line for an answered REGISTER: "<aor>: {0/TLS/v4} 200 OK (...) [1 binding]"
REGISTERED = re.compile(r"\{\d+/TLS/v4\} 200 OK")
REFUSED = re.compile(r"\{\d+/TLS/v4\} (40[13]) ")


def tone(path: Path, frequency: int, seconds: int = 20) -> Path:
    """A mono 8 kHz WAV sine of `frequency` Hz (sox), the phone's microphone."""
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth", str(seconds), "sine",
                    str(frequency), "vol", "0.5"], check=True, capture_output=True, timeout=30)
    return path


def rough_frequency(path: Path) -> tuple[float, float]:
    """(seconds, rough frequency in Hz) of a WAV file, as sox's `stat` measures them."""
    out = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, timeout=30).stderr
    length = re.search(r"Length \(seconds\):\s+([0-9.]+)", out)
    freq = re.search(r"Rough\s+frequency:\s+(-?[0-9.]+)", out)
    return (float(length.group(1)) if length else 0.0, float(freq.group(1)) if freq else 0.0)


@dataclass
class Account:
    extension: str
    domain: str
    password: str
    proxy: str  # "198.51.100.20:5061"
    regint: int = 60

    def line(self) -> str:
        return (f"<sip:{self.extension}@{self.domain};transport=tls>;auth_user={self.extension};"
                f"auth_pass={self.password};outbound=\"sip:{self.proxy};transport=tls\";"
                f"regint={self.regint};mediaenc=srtp-mand;answermode=auto")


class Phone:
    """One baresip process in `netns` with `account`, its files in `workdir` (0700)."""

    def __init__(self, netns: str, workdir: Path, account: Account, ca_file: Path, microphone: Path,
                 lifetime: int = 120):
        self.netns, self.workdir, self.account = netns, Path(workdir), account
        self.ca_file, self.microphone, self.lifetime = ca_file, microphone, lifetime
        self.proc: subprocess.Popen | None = None

    @property
    def log_file(self) -> Path:
        return self.workdir / "baresip.log"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.workdir, 0o700)
        config = [
            "poll_method epoll",
            "sip_listen 0.0.0.0:5070",
            f"sip_cafile {self.ca_file}",
            f"audio_source aufile,{self.microphone}",
            "audio_player aufile,/dev/null",
            "audio_alert aufile,/dev/null",
            "module_path /usr/lib/baresip/modules",
            *(f"module {m}" for m in MODULES[:4]),
            *(f"module_app {m}" for m in MODULES[4:]),
            f"ctrl_tcp_listen 127.0.0.1:{CTRL_PORT}",
            f"snd_path {self.workdir}",
        ]
        (self.workdir / "config").write_text("\n".join(config) + "\n")
        accounts = self.workdir / "accounts"
        accounts.touch(mode=0o600)
        accounts.write_text(self.account.line() + "\n")
        log = open(self.log_file, "w")  # noqa: SIM115 (the process keeps it)
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns, "baresip", "-f", str(self.workdir),
                                      "-t", str(self.lifetime)], stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def wait_registered(self, timeout: float = 20) -> bool:
        """True once the server answered its REGISTER with 200; False on 401/403 or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if REGISTERED.search(text):
                return True
            if self.proc and self.proc.poll() is not None:
                return False
            time.sleep(0.25)
        return False

    def command(self, command: str, params: str = "") -> str:
        """One ctrl_tcp command (netstring JSON) on the phone's loopback; its response text."""
        payload = json.dumps({"command": command, "params": params, "token": "t"})
        script = ("import socket,sys;s=socket.create_connection(('127.0.0.1',%d),5);"
                  "m=sys.argv[1].encode();s.sendall(b'%%d:'%%len(m)+m+b',');s.settimeout(5);"
                  "print(s.recv(65536).decode(errors='replace'))" % CTRL_PORT)
        proc = subprocess.run(["ip", "netns", "exec", self.netns, "python3", "-c", script, payload],
                              capture_output=True, text=True, timeout=15)
        if proc.returncode != 0:
            raise LabError(f"baresip in {self.netns} did not take {command!r}: {proc.stderr.strip()[-300:]}")
        return proc.stdout

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def hangup(self) -> None:
        self.command("hangup")

    def wait_for(self, pattern: str, timeout: float = 20) -> re.Match | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log())
            if found:
                return found
            time.sleep(0.25)
        return None

    def recordings(self, kind: str = "dec") -> list[Path]:
        """What the phone heard (`dec`) or sent (`enc`), one WAV per call, oldest first."""
        return sorted(self.workdir.glob(f"dump-*-{kind}.wav"))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None


def tls_handshake(netns: str, address: str, port: int, ca_file: Path, server_name: str,
                  timeout: float = 10) -> tuple[bool, str]:
    """A Python TLS client in `netns` checking the server's certificate against `ca_file` and
    `server_name`: (completed, TLS version and cipher or the error)."""
    script = (
        "import socket,ssl,sys\n"
        "ctx=ssl.create_default_context(cafile=sys.argv[1])\n"
        "try:\n"
        "  s=ctx.wrap_socket(socket.create_connection((sys.argv[2],int(sys.argv[3])),%d),server_hostname=sys.argv[4])\n"
        "  print('ok',s.version(),s.cipher()[0]);s.close()\n"
        "except (ssl.SSLError,OSError) as e:\n"
        "  print('failed',e)\n" % timeout)
    proc = subprocess.run(["ip", "netns", "exec", netns, "python3", "-c", script, str(ca_file), address, str(port),
                           server_name], capture_output=True, text=True, timeout=timeout + 10)
    out = proc.stdout.strip()
    return out.startswith("ok "), out



def https_get(netns: str, host_name: str, address: str, port: int, path: str, ca_file: Path,
              user: str | None = None, password: str | None = None, timeout: float = 10) -> tuple[int, str]:
    """GET https://host_name:port/path from inside `netns` (host_name resolved to `address`,
    the certificate checked against `ca_file`), with HTTP basic credentials if given: (status,
    body). The password goes over stdin, never on a command line."""
    script = (
        "import base64,http.client,json,ssl,sys\n"
        "a=json.loads(sys.stdin.read())\n"
        "ctx=ssl.create_default_context(cafile=a['ca'])\n"
        "class C(http.client.HTTPSConnection):\n"
        "  def connect(self):\n"
        "    import socket\n"
        "    s=socket.create_connection((a['address'],a['port']),a['timeout'])\n"
        "    self.sock=ctx.wrap_socket(s,server_hostname=a['host'])\n"
        "c=C(a['host'],a['port'],timeout=a['timeout'])\n"
        "h={}\n"
        "if a['user'] is not None:\n"
        "  h['Authorization']='Basic '+base64.b64encode((a['user']+':'+a['password']).encode()).decode()\n"
        "c.request('GET',a['path'],headers=h)\n"
        "r=c.getresponse()\n"
        "print(json.dumps({'status':r.status,'body':r.read().decode(errors='replace')}))\n")
    args = {"ca": str(ca_file), "address": address, "port": port, "host": host_name, "path": path,
            "user": user, "password": password, "timeout": timeout}
    proc = subprocess.run(["ip", "netns", "exec", netns, "python3", "-c", script], input=json.dumps(args),
                          capture_output=True, text=True, timeout=timeout + 10)
    if proc.returncode != 0:
        raise LabError(f"HTTPS GET {path} from {netns} failed: {proc.stderr.strip()[-500:]}")
    answer = json.loads(proc.stdout)
    return answer["status"], answer["body"]
