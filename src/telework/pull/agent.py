"""The pull agent: runs on an endpoint from a systemd timer, applies the endpoint's signed bundle.

Installed as /opt/telework/pull-agent.py by deploy/pull_agent.py and run as
`/opt/telework/venv/bin/python /opt/telework/pull-agent.py run` by telework-pull.service. One
file, Python's standard library only, except `cryptography` (from the venv) for the signature.
It must not import telework: the telework that deploys comes from the verified bundle.

What a run does, in this order (nothing from the bundle runs before every check passed):

1. GET `<base_url>/<host>/manifest.json` and `manifest.json.sig`; verify the Ed25519
   signature with the organisation's committed public key (/etc/telework/pull-signing.pub);
   the manifest must name this host.
2. Refuse a manifest older than the last one applied (`created` is the inventory commit's
   time): a replayed or downgraded bundle never runs.
3. GET `<host>/<sha256>.tar`, the tar the manifest names (unless that very bundle is unpacked already), check its size and
   sha256 against the manifest, and unpack it member by member: regular files only, relative
   paths without `..`, exactly the files the manifest lists, each with its sha256.
4. When the manifest names another wheelhouse than the venv holds: GET
   `<base_url>/wheels/<sha256>.tar`, check it, `pip install --no-index` it into the venv.
5. Run `python -m telework.pull.localrun` from the bundle (pyinfra on @local, the bundled
   host data and groups) with a time limit.
6. Report: PUT a JSON result to `<base_url>/reports/<host>/<time>.json`. A report that cannot
   be delivered waits in <state_dir>/outbox/ and goes with the next run.

Exit codes: 0 applied, 1 the apply failed, 3 the bundle was refused, 4 nothing could be
fetched (offline: the normal case for a notebook at home without VPN).
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

AGENT_VERSION = "1"
BUNDLE_FORMAT = "telework-pull-bundle/1"
REPORT_FORMAT = "telework-pull-report/1"
CONFIG_FILE = "/etc/telework/pull.json"

#: Size limits of what the agent downloads (bytes); a bigger answer is refused, not truncated.
MAX_MANIFEST = 8 * 1024 * 1024
MAX_SIGNATURE = 1024
DEFAULT_MAX_BUNDLE = 256 * 1024 * 1024
DEFAULT_MAX_WHEELHOUSE = 512 * 1024 * 1024

EXIT_APPLIED, EXIT_FAILED, EXIT_REFUSED, EXIT_OFFLINE = 0, 1, 3, 4

_HOST = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MEMBER = re.compile(r"[A-Za-z0-9._@+-][A-Za-z0-9._@+ -]*")


class Refused(Exception):
    """The bundle must not run: bad signature, wrong host, downgrade, tampered file."""


class FetchError(Exception):
    """The server could not be reached or answered with an error."""


# --- time ----------------------------------------------------------------------------------

def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


# --- verification ------------------------------------------------------------------------

def load_public_key(pem: bytes):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise Refused("the pull signing key is not an Ed25519 public key")
    return key


def verify_manifest(manifest_bytes: bytes, signature_text: bytes, public_key_pem: bytes,
                    host: str) -> dict:
    """The manifest as a dict, if `signature_text` (base64 Ed25519) signs exactly
    `manifest_bytes` with the key `public_key_pem` and the manifest is this host's; else Refused."""
    from cryptography.exceptions import InvalidSignature

    try:
        signature = base64.b64decode(signature_text.strip(), validate=True)
    except ValueError:
        raise Refused("signature: not base64") from None
    try:
        load_public_key(public_key_pem).verify(signature, manifest_bytes)
    except InvalidSignature:
        raise Refused("signature: the manifest is not signed by the organisation's pull key") from None
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        raise Refused("manifest: not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise Refused(f"manifest: format is not {BUNDLE_FORMAT}")
    if manifest.get("host") != host:
        raise Refused(f"manifest: the bundle is for host {manifest.get('host')!r}, this is {host!r}")
    for key in ("created", "inventory_commit", "bundle", "files"):
        if key not in manifest:
            raise Refused(f"manifest: no {key!r}")
    try:
        parse_time(manifest["created"])
    except (TypeError, ValueError):
        raise Refused(f"manifest: created {manifest['created']!r} is not YYYY-MM-DDTHH:MM:SSZ") from None
    for path, digest in manifest["files"].items():
        check_member_name(path)
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise Refused(f"manifest: sha256 of {path} is malformed")
    return manifest


def check_not_older(manifest: dict, last: dict | None) -> None:
    """Refuse a bundle built from an older inventory commit than the last one applied."""
    if not last:
        return
    if parse_time(manifest["created"]) < parse_time(last["created"]):
        raise Refused(
            f"downgrade: bundle of commit {manifest['inventory_commit'][:12]} created "
            f"{manifest['created']} is older than the applied commit "
            f"{str(last.get('inventory_commit'))[:12]} created {last['created']}"
        )


def check_member_name(name: str) -> str:
    """A bundle path: relative, POSIX, no `..`, no empty or hidden-trick segments."""
    path = PurePosixPath(name)
    if (not name or name.startswith("/") or "\\" in name or path.is_absolute()
            or any(part in ("", ".", "..") for part in name.split("/"))
            or not all(_MEMBER.fullmatch(part) for part in name.split("/"))):
        raise Refused(f"bundle: unsafe path {name!r}")
    return name


def extract_verified(tar_path: Path, files: dict[str, str], target: Path) -> None:
    """Unpack `tar_path` into the empty directory `target`, refusing anything but the regular
    files `files` names ({path: sha256}), each with that digest. Nothing is written outside
    `target`; on refusal `target` may hold a partial tree (the caller removes it)."""
    seen: set[str] = set()
    with tarfile.open(tar_path, "r:") as tar:
        for member in tar:
            name = check_member_name(member.name)
            if not member.isreg():
                raise Refused(f"bundle: {name} is not a regular file (links and devices are refused)")
            if name not in files:
                raise Refused(f"bundle: {name} is not listed in the signed manifest")
            if name in seen:
                raise Refused(f"bundle: {name} appears twice")
            seen.add(name)
            source = tar.extractfile(member)
            data = source.read() if source else b""
            if hashlib.sha256(data).hexdigest() != files[name]:
                raise Refused(f"bundle: {name} does not match its sha256 in the signed manifest")
            dest = target.joinpath(*name.split("/"))
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            os.chmod(dest, 0o755 if member.mode & 0o111 else 0o644)
    missing = sorted(set(files) - seen)
    if missing:
        raise Refused(f"bundle: {len(missing)} file(s) of the manifest missing, e.g. {missing[0]}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- HTTP ------------------------------------------------------------------------------------

def fetch(url: str, limit: int, timeout: float, dest: Path | None = None) -> bytes:
    """GET `url`; at most `limit` bytes (more is an error). With `dest`, streams to that file."""
    request = urllib.request.Request(url, headers={"User-Agent": f"telework-pull-agent/{AGENT_VERSION}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length is not None and int(length) > limit:
                raise Refused(f"{url}: {length} bytes, more than the limit of {limit}")
            out = open(dest, "wb") if dest else io.BytesIO()
            try:
                total = 0
                while chunk := response.read(1 << 16):
                    total += len(chunk)
                    if total > limit:
                        raise Refused(f"{url}: more than the limit of {limit} bytes")
                    out.write(chunk)
                return b"" if dest else out.getvalue()
            finally:
                out.close()
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise FetchError(f"{url}: {getattr(exc, 'reason', exc)}") from None


def put_json(url: str, body: dict, timeout: float) -> None:
    data = json.dumps(body, indent=1, sort_keys=True).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="PUT", headers={
        "Content-Type": "application/json", "User-Agent": f"telework-pull-agent/{AGENT_VERSION}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(4096)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"{url}: {getattr(exc, 'reason', exc)}") from None


# --- the agent -------------------------------------------------------------------------------

class Agent:
    def __init__(self, config: dict):
        self.host = config.get("host") or socket.gethostname()
        if not _HOST.fullmatch(self.host):
            raise SystemExit(f"telework-pull: host name {self.host!r} is not valid")
        self.base_url = config["base_url"].rstrip("/")
        self.public_key_file = Path(config.get("public_key", "/etc/telework/pull-signing.pub"))
        self.state_dir = Path(config.get("state_dir", "/var/lib/telework/pull"))
        self.venv = Path(config.get("venv", "/opt/telework/venv"))
        self.http_timeout = float(config.get("http_timeout", 60))
        self.apply_timeout = float(config.get("apply_timeout", 1800))
        self.max_bundle = int(config.get("max_bundle_bytes", DEFAULT_MAX_BUNDLE))
        self.max_wheelhouse = int(config.get("max_wheelhouse_bytes", DEFAULT_MAX_WHEELHOUSE))
        self.keep_bundles = int(config.get("keep_bundles", 3))

    # state files
    @property
    def last_applied_file(self) -> Path:
        return self.state_dir / "last-applied.json"

    def last_applied(self) -> dict | None:
        try:
            return json.loads(self.last_applied_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write_state(self, path: Path, body: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def url(self, *parts: str) -> str:
        return "/".join([self.base_url, *parts])

    # steps
    def fetch_manifest(self, retry_delay: float = 3.0) -> tuple[dict, str]:
        """The verified manifest and its sha256. A bad signature is tried once more after
        `retry_delay`: the run may have read the manifest and signature of two publications."""
        for attempt in (1, 2):
            manifest_bytes = fetch(self.url(self.host, "manifest.json"), MAX_MANIFEST, self.http_timeout)
            signature = fetch(self.url(self.host, "manifest.json.sig"), MAX_SIGNATURE, self.http_timeout)
            try:
                manifest = verify_manifest(manifest_bytes, signature, self.public_key_file.read_bytes(),
                                           self.host)
            except Refused as exc:
                if attempt == 2 or not str(exc).startswith("signature:"):
                    raise
                time.sleep(retry_delay)
                continue
            return manifest, hashlib.sha256(manifest_bytes).hexdigest()
        raise AssertionError("unreachable")

    def unpack(self, manifest: dict, manifest_sha: str) -> Path:
        """The bundle's directory, unpacked and verified (reused when it is there already)."""
        bundles = self.state_dir / "bundles"
        target = bundles / manifest_sha[:16]
        if (target / ".complete").is_file():
            return target
        bundles.mkdir(parents=True, exist_ok=True)
        info = manifest["bundle"]
        if int(info["size"]) > self.max_bundle:
            raise Refused(f"bundle: {info['size']} bytes, more than the limit of {self.max_bundle}")
        with tempfile.TemporaryDirectory(dir=bundles, prefix=".fetch-") as tmp:
            if not _SHA256.fullmatch(str(info["sha256"])):
                raise Refused("manifest: bundle sha256 is malformed")
            tar_path = Path(tmp) / "bundle.tar"
            fetch(self.url(self.host, f"{info['sha256']}.tar"), int(info["size"]), self.http_timeout, tar_path)
            if sha256_file(tar_path) != info["sha256"]:
                raise Refused("bundle: the tar does not match its sha256 in the signed manifest")
            tree = Path(tmp) / "tree"
            tree.mkdir()
            extract_verified(tar_path, manifest["files"], tree)
            (tree / ".complete").write_text(manifest_sha + "\n")
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tree, target)
        self._prune(bundles, keep=target)
        return target

    def _prune(self, bundles: Path, keep: Path) -> None:
        old = sorted((p for p in bundles.iterdir() if p.is_dir() and p != keep and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
        for path in old[max(self.keep_bundles - 1, 0):]:
            shutil.rmtree(path, ignore_errors=True)

    def ensure_wheelhouse(self, manifest: dict) -> None:
        wheels = manifest.get("wheelhouse")
        if not wheels:
            return
        sha = wheels["sha256"]
        if not _SHA256.fullmatch(sha):
            raise Refused("manifest: wheelhouse sha256 is malformed")
        if installed_wheelhouse(self.venv) == sha:
            return
        if int(wheels["size"]) > self.max_wheelhouse:
            raise Refused(f"wheelhouse: {wheels['size']} bytes, more than the limit of {self.max_wheelhouse}")
        cache = self.state_dir / "wheels"
        cache.mkdir(parents=True, exist_ok=True)
        tar_path = cache / f"{sha}.tar"
        if not tar_path.is_file() or sha256_file(tar_path) != sha:
            partial = cache / f".{sha}.part"
            fetch(self.url("wheels", f"{sha}.tar"), int(wheels["size"]), self.http_timeout, partial)
            if sha256_file(partial) != sha:
                partial.unlink(missing_ok=True)
                raise Refused("wheelhouse: the download does not match its sha256 in the signed manifest")
            os.replace(partial, tar_path)
        install_wheelhouse(tar_path, sha, self.venv)
        for other in cache.glob("*.tar"):
            if other != tar_path:
                other.unlink(missing_ok=True)

    def apply(self, bundle: Path, result_file: Path) -> tuple[int, dict]:
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "PYTHONPATH": str(bundle), "PYINFRA_PROGRESS": "off", "LANG": "C.UTF-8",
               "HOME": os.environ.get("HOME", "/root"), "PYTHONDONTWRITEBYTECODE": "1"}
        argv = [str(self.venv / "bin" / "python"), "-m", "telework.pull.localrun",
                "--bundle", str(bundle), "--result", str(result_file)]
        result_file.unlink(missing_ok=True)
        try:
            proc = subprocess.run(argv, cwd=bundle, env=env, capture_output=True, text=True,
                                  timeout=self.apply_timeout)
            code, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            code, output = 124, f"the apply took longer than {self.apply_timeout:.0f} s and was stopped"
        try:
            result = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result = {"changed": [], "failed": [], "error": output[-4000:] or f"exit code {code}"}
        sys.stdout.write(output[-20000:])
        return code, result

    # reporting
    def report(self, body: dict) -> bool:
        outbox = self.state_dir / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        name = body["finished"].replace(":", "").replace("-", "") + f"-{body['status']}.json"
        self._write_state(outbox / name, body)
        delivered = True
        for path in sorted(outbox.glob("*.json")):
            try:
                put_json(self.url("reports", self.host, path.name),
                         json.loads(path.read_text(encoding="utf-8")), self.http_timeout)
            except FetchError as exc:
                print(f"telework-pull: report not delivered, kept in {outbox}: {exc}", file=sys.stderr)
                delivered = False
                break
            except ValueError:
                pass  # a damaged outbox file: dropped below
            path.unlink(missing_ok=True)
        return delivered

    def run(self) -> int:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o700)
        with open(self.state_dir / "lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("telework-pull: another run is in progress", file=sys.stderr)
                return EXIT_FAILED
            return self._run()

    def _run(self) -> int:
        started = utc_now()
        body: dict = {"format": REPORT_FORMAT, "host": self.host, "agent_version": AGENT_VERSION,
                      "started": started, "bundle": None, "changed": [], "failed": [], "error": None}
        try:
            manifest, manifest_sha = self.fetch_manifest()
            body["bundle"] = {"inventory_commit": manifest["inventory_commit"], "created": manifest["created"],
                              "manifest_sha256": manifest_sha}
            check_not_older(manifest, self.last_applied())
            bundle = self.unpack(manifest, manifest_sha)
            self.ensure_wheelhouse(manifest)
            code, result = self.apply(bundle, self.state_dir / "result.json")
            body.update(changed=result.get("changed", []), failed=result.get("failed", []),
                        error=result.get("error"))
            body["status"] = "applied" if code == 0 else "failed"
            body["exit_code"] = EXIT_APPLIED if code == 0 else EXIT_FAILED
            if code == 0:
                self._write_state(self.last_applied_file, {
                    "inventory_commit": manifest["inventory_commit"], "created": manifest["created"],
                    "manifest_sha256": manifest_sha, "applied": utc_now()})
        except Refused as exc:
            body.update(status="refused", exit_code=EXIT_REFUSED, error=str(exc))
        except FetchError as exc:
            body.update(status="offline", exit_code=EXIT_OFFLINE, error=str(exc))
        except subprocess.CalledProcessError as exc:
            body.update(status="failed", exit_code=EXIT_FAILED,
                        error=f"{' '.join(map(str, exc.cmd))} exited {exc.returncode}: "
                              f"{(exc.stderr or exc.stdout or '')[-2000:]}")
        body["finished"] = utc_now()
        print(f"telework-pull: {body['status']}" + (f": {body['error']}" if body["error"] and
                                                   body["status"] != "applied" else ""),
              file=sys.stderr)
        if body["status"] != "offline":  # offline: nobody to tell; the next run will
            self._write_state(self.state_dir / "last-result.json", body)
            self.report(body)
        return body["exit_code"]


# --- the venv --------------------------------------------------------------------------------

WHEELHOUSE_MARKER = "telework-wheelhouse.sha256"


def installed_wheelhouse(venv: Path) -> str | None:
    try:
        return (venv / WHEELHOUSE_MARKER).read_text().strip() or None
    except OSError:
        return None


def install_wheelhouse(tar_path: Path, sha: str, venv: Path) -> None:
    """Create `venv` (python3 -m venv) if needed and install the wheelhouse `tar_path` offline
    (`pip install --no-index`, the pinned requirements.txt inside it); record `sha`."""
    if sha256_file(tar_path) != sha:
        raise Refused(f"wheelhouse: {tar_path} does not match sha256 {sha}")
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable if sys.prefix == sys.base_prefix else "/usr/bin/python3",
                        "-m", "venv", str(venv)], check=True, capture_output=True, text=True, timeout=300)
    with tempfile.TemporaryDirectory(prefix="telework-wheels-") as tmp:
        with tarfile.open(tar_path, "r:") as tar:
            for member in tar:
                name = check_member_name(member.name)
                if not member.isreg() or "/" in name:
                    raise Refused(f"wheelhouse: unexpected member {name!r}")
                source = tar.extractfile(member)
                (Path(tmp) / name).write_bytes(source.read() if source else b"")
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index", "--find-links", tmp,
                        "--disable-pip-version-check", "--no-input", "-q", "-r", str(Path(tmp) / "requirements.txt")],
                       check=True, capture_output=True, text=True, timeout=900)
    (venv / WHEELHOUSE_MARKER).write_text(sha + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="telework-pull", description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=CONFIG_FILE)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="fetch, verify, apply and report (what the timer runs)")
    wheels = commands.add_parser("install-wheelhouse", help="create the venv from a wheelhouse tar, offline")
    wheels.add_argument("tar", type=Path)
    wheels.add_argument("--sha256", required=True)
    wheels.add_argument("--venv", type=Path, default=Path("/opt/telework/venv"))
    args = parser.parse_args(argv)
    if args.command == "install-wheelhouse":
        if installed_wheelhouse(args.venv) == args.sha256:
            return 0
        install_wheelhouse(args.tar, args.sha256, args.venv)
        return 0
    config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    return Agent(config).run()


if __name__ == "__main__":
    sys.exit(main())
