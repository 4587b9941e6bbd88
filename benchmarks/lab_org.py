"""The lab family's organisation: a synthetic city with six VPN concentrators, its lab, and
what the other contenders need from it (the files telework writes, the floor's commands).

Kept apart from the measuring (benchmarks/lab.py): this module only prepares and
restores state, with telework's own commands, and is reused between runs (a stamp).

* `telework generate --people N --concentrators 6 --slug benchlab` in a git repository under
  the cache directory, an age identity, `telework pki init`, and a TOTP seed (age-encrypted,
  as enrolment makes it) for everyone with VPN access: each concentrator serves every person,
  one client-config-dir file per person, as in production.
* Two commits: state A, and state B = one person moved to another department (their
  client-config-dir routes and the nftables sets change on every concentrator: "one change").
* Its own lab (`telework lab up`), side by side with the sample's, then `telework apply`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
TODAY = "2026-11-22"
#: files and directories the baseline + VPN role write on a concentrator (what the Ansible
#: playbook converges; fetched from a host telework applied)
MANAGED = ["/etc/apt/apt.conf.d/01telework-proxy", "/etc/timezone", "/etc/ssh/sshd_config.d/telework.conf",
           "/etc/sysctl.d/60-telework-vpn.conf", "/etc/openvpn/server/telework.conf", "/etc/openvpn/server/telework",
           "/etc/telework/pam_radius_auth.conf", "/etc/pam.d/openvpn-telework", "/etc/wireguard/wg-telework.conf",
           "/etc/wireguard/wg-telework.key", "/etc/nftables.conf"]
#: the person who changes department in state B, and where to
MOVER_DEPARTMENTS = ("hauptamt", "kaemmerei")


def run(cmd: list[str], env: dict | None = None, cwd: Path | None = None, check: bool = True,
        timeout: int = 1800) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, cwd=cwd or REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@dataclass
class BenchOrg:
    root: Path
    slug: str
    people: int
    concentrators: int

    @property
    def inventory(self) -> Path:
        return self.root / "repo" / "inv"

    @property
    def overlay_file(self) -> Path:
        """The lab's overlay (its name carries $TELEWORK_LAB_SUFFIX, as telework.lab names it)."""
        return Path("/var/lib/telework/lab") / (self.slug + os.environ.get("TELEWORK_LAB_SUFFIX", "")) / "overlay.yml"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "TELEWORK_AGE_IDENTITY": str(self.root / "identity.txt"),
                "TELEWORK_OVERLAY": str(self.overlay_file), "PYINFRA_PROGRESS": "off", "COLUMNS": "200"}

    @property
    def hosts(self) -> list[str]:
        return [f"vpn-{chr(ord('a') + i)}" for i in range(self.concentrators)]

    def overlay(self) -> dict:
        return yaml.safe_load(self.overlay_file.read_text())["hosts"]

    def commits(self) -> dict[str, str]:
        return json.loads((self.root / "commits.json").read_text())

    def git(self, *args: str) -> str:
        return run(["git", "-C", str(self.inventory.parent), "-c", "user.name=telework bench", "-c",
                    "user.email=bench@example.org", *args]).stdout.strip()

    def telework(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run([str(VENV_BIN / "python"), "-m", "telework.cli", *args], env=self.env, check=check)

    # --- states A and B ---------------------------------------------------------------------
    def checkout(self, state: str) -> None:
        self.git("checkout", "-q", "--detach", self.commits()[state])

    def apply(self, state: str, hosts: list[str]) -> None:
        """Bring `hosts` to `state` with telework (not measured)."""
        self.checkout(state)
        self.telework("apply", str(self.inventory), "--limit", ",".join(hosts))
        self.set_host_states(hosts, state)

    def host_states(self) -> dict[str, str]:
        path = self.root / "host-states.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def set_host_states(self, hosts: list[str], state: str) -> None:
        states = self.host_states()
        states.update({h: state for h in hosts})
        (self.root / "host-states.json").write_text(json.dumps(states))

    # --- what the other contenders need ----------------------------------------------------
    def ssh(self, host: str) -> list[str]:
        data = self.overlay()[host]
        return ["ssh", "-i", data["ssh_key"], "-o", f"UserKnownHostsFile={data['ssh_known_hosts_file']}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ControlPath=none",
                f"{data['ssh_user']}@{data['ssh_hostname']}"]

    def export(self, state: str, out: Path) -> None:
        """The files telework wrote for `state`, fetched from every concentrator into
        out/<state>/<host>/<path> (secrets included: `out` must be private and temporary)."""
        self.apply(state, self.hosts)
        for host in self.hosts:
            proc = subprocess.run(self.ssh(host) + ["tar", "-C", "/", "-cf", "-", *[p.lstrip("/") for p in MANAGED]],
                                  capture_output=True, timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"{host}: fetching the managed files failed: {proc.stderr.decode()[-2000:]}")
            target = out / state / host
            target.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=BytesIO(proc.stdout)) as tar:
                members = tar.getmembers()
                if any(m.name.startswith("/") or ".." in Path(m.name).parts or m.islnk() for m in members):
                    raise RuntimeError(f"{host}: unexpected paths in the fetched tar")
                tar.extractall(target, members)  # Python 3.11.2 (Debian 12) has no filter=

    def ansible_inventory(self, path: Path) -> Path:
        lines = ["[vpn_concentrators]"]
        for host in self.hosts:
            data = self.overlay()[host]
            lines.append(f"{host} ansible_host={data['ssh_hostname']} ansible_user={data['ssh_user']} "
                         f"ansible_ssh_private_key_file={data['ssh_key']} known_hosts={data['ssh_known_hosts_file']} "
                         f"ansible_ssh_extra_args='-o UserKnownHostsFile={data['ssh_known_hosts_file']}'")
        path.write_text("\n".join(lines) + "\n")
        return path

    def floor_scripts(self) -> dict[str, str]:
        """The remote commands a no-change `telework plan` sends each concentrator (logged by
        the telework connector): the SSH floor runs exactly these, as one command per host."""
        log = self.root / "commands.jsonl"
        log.unlink(missing_ok=True)
        self.checkout("A")
        env = {**self.env, "TELEWORK_COMMAND_LOG": str(log)}
        proc = run([str(VENV_BIN / "python"), "-m", "telework.cli", "plan", str(self.inventory), "--limit",
                    ",".join(self.hosts)], env=env, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"the hosts are not converged to state A (plan exit {proc.returncode}):\n{proc.stdout}")
        scripts: dict[str, list[str]] = {}
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            scripts.setdefault(entry["host"], []).append(entry["command"])
        log.unlink()
        return {host: "\n".join(commands) for host, commands in scripts.items()}


def _move_person(inventory: Path) -> str:
    """State B: the first Hauptamt member with VPN access moves to the Kämmerei."""
    old, new = MOVER_DEPARTMENTS
    for path in sorted((inventory / "people").glob("*.yml")):
        text = path.read_text()
        found = re.search(rf"(username: ([a-z0-9._-]+), [^\n]*?department: ){old}\b([^\n]*vpn: true)", text)
        if found:
            path.write_text(text[:found.start()] + found.group(1) + new + found.group(3) + text[found.end():])
            return found.group(2)
    raise RuntimeError(f"no {old} member with VPN access in {inventory}/people")


def prepare(cache_dir: Path, people: int, concentrators: int, slug: str, say=print) -> BenchOrg:
    """The organisation, its lab running and every concentrator in state A."""
    from telework.inventory.loading import load_inventory
    from telework.roles.vpn.secret_names import totp_secret
    from telework.secrets.store import SecretStore
    from telework.secrets.store import generate as generate_secret

    org = BenchOrg(cache_dir / f"lab-{slug}", slug, people, concentrators)
    stamp = org.root / "stamp"
    wanted = f"{people} {concentrators} {slug} {TODAY} v1"
    if not (stamp.exists() and stamp.read_text().strip() == wanted):
        say(f"  organisation {org.inventory}: {people} people, {concentrators} concentrators")
        if org.root.exists():
            org.telework("lab", "down", str(org.inventory), check=False)
            shutil.rmtree(org.root)
        org.root.mkdir(parents=True)
        org.root.chmod(0o700)
        org.telework("generate", str(org.inventory), "--people", str(people), "--concentrators", str(concentrators),
                     "--slug", slug, "--today", TODAY)
        org.git("init", "-q")
        org.telework("secret", "init", str(org.inventory), "--comment", "benchmark")
        org.telework("pki", "init", str(org.inventory))
        store = SecretStore(org.inventory, org.root / "identity.txt")
        for person in load_inventory(org.inventory, check=False).model.vpn_people():
            store.set(totp_secret(person.username), generate_secret("totp").value, "totp")
        org.git("add", "-A")
        org.git("commit", "-qm", "state A: the synthetic city")
        a = org.git("rev-parse", "HEAD")
        mover = _move_person(org.inventory)
        org.git("commit", "-qam", f"state B: {mover} moves to {MOVER_DEPARTMENTS[1]}")
        b = org.git("rev-parse", "HEAD")
        (org.root / "commits.json").write_text(json.dumps({"A": a, "B": b, "mover": mover}))
        (org.root / "host-states.json").unlink(missing_ok=True)
        stamp.write_text(wanted + "\n")
    say(f"  lab {slug}: up")
    org.checkout("A")
    org.telework("lab", "up", str(org.inventory))
    states = org.host_states()
    if any(states.get(h) != "A" for h in org.hosts) or org.telework(
            "plan", str(org.inventory), "--limit", ",".join(org.hosts), check=False).returncode != 0:
        say("  applying state A to every concentrator (first time: packages from the lab's apt proxy)")
        org.apply("A", org.hosts)
    for host in org.hosts:  # the Ansible contender's ccd task needs rsync on both ends
        run(org.ssh(host) + ["command -v rsync >/dev/null || DEBIAN_FRONTEND=noninteractive "
                             "apt-get install -y -q rsync >/dev/null"])
    return org


def ensure_controller_tools(cache_dir: Path, say=print) -> Path:
    """rsync on this machine and ansible-core in its own venv (cached); the ansible-playbook path."""
    if shutil.which("rsync") is None:
        say("  installing rsync (Debian) for the Ansible contender")
        run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "rsync"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    venv = Path("/var/cache/telework/ansible/venv")
    playbook = venv / "bin" / "ansible-playbook"
    if not playbook.exists():
        say(f"  installing ansible-core into {venv}")
        venv.parent.mkdir(parents=True, exist_ok=True)
        run(["/usr/bin/python3", "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "ansible-core>=2.19,<2.20"],
            env={**os.environ, "PIP_CACHE_DIR": "/var/cache/telework/pip"})
    return playbook
