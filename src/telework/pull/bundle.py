"""`telework pull build`: one signed bundle per endpoint, for the pull agent to apply.

Output directory layout (what `telework pull serve` or nginx publishes as <base-url>/)::

    <out>/<host>/<sha256>.tar         the files below, deterministic (sorted, mtime 0, root),
                                      named by its sha256 (the previous one is kept a while)
    <out>/<host>/manifest.json        host, organisation, inventory commit, created, the
                                      bundle's and every file's sha256, the wheelhouse
    <out>/<host>/manifest.json.sig    base64 Ed25519 signature over manifest.json's bytes
    <out>/wheels/<sha256>.tar         the wheelhouse (pinned wheels + requirements.txt)

The tar holds telework as the controller runs it, and the inventory::

    telework/**                       the installed telework package: the library the deploys
                                      import, with its deploy files, templates and group data
                                      under telework/resources/ (telework.resources); the
                                      manifest records its version and a digest of its files
    inventory/<slug>/**               the inventory YAML without secrets/ (deploys load and
                                      validate the whole inventory, as in push mode)
    host.json                         name, groups and host data as the push path computes them
                                      (telework.inventory.hosts.host_entries + the overlay),
                                      without ssh_* connection data

`created` is the inventory commit's committer time, not the time of the build: the same
commit gives byte-identical bundles and signatures (Ed25519 is deterministic), and the agent
refuses a bundle whose `created` is older than the last one it applied.

Pull bundles carry no secrets: there is no secrets/ directory in them and a deploy that asks
for a secret fails on the endpoint with a clear message (telework.pull.localrun).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from telework import __version__
from telework.core.repo import repo_state
from telework.engine.group_data import group_data_dirs, load_group_data
from telework.inventory.hosts import host_entries
from telework.inventory.loading import require_inventory
from telework.inventory.overlay import load_overlay
from telework.plan.selection import select
from telework.pull.agent import BUNDLE_FORMAT, check_member_name
from telework.pull.signing import PullError, key_id, load_public_key, public_pem, sign
from telework.pull.wheelhouse import Wheelhouse, add_file
from telework.resources import deploy_dir, group_data_dir, templates_dir
from telework.roles.registry import role
from telework.secrets.store import SECRETS_DIR

#: inventory groups whose hosts are applied by pull: those the pull agent role serves
PULL_GROUPS = role("pull_agent").groups
#: resource directories an endpoint needs (telework.resources); suites, sample and examples stay home
_RESOURCES = {"deploy": deploy_dir, "templates": templates_dir, "group_data": group_data_dir}
#: host data keys that only make sense for a connection from the controller
_CONNECTION_PREFIXES = ("ssh_",)
_SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class BuiltBundle:
    host: str
    directory: Path
    manifest_sha256: str
    files: int
    size: int


def _tree(root: Path, prefix: str, skip_top: set[str] = frozenset()) -> dict[str, Path]:
    """{bundle path: file} of every regular file under `root`, without caches, hidden files,
    compiled files and the top-level directories `skip_top`."""
    out: dict[str, Path] = {}
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")
                             and not (rel == Path(".") and d in skip_top))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or name.endswith((".pyc", ".pyo")) or not path.is_file() or path.is_symlink():
                continue
            member = "/".join(p for p in (prefix, *rel.parts, name) if p)
            out[check_member_name(member)] = path
    return out


def telework_files() -> dict[str, Path]:
    """{bundle path: file} of the telework that runs here: its package (without the resource
    directories an endpoint does not need) and the deploy files, templates and group data, at
    the paths an installed wheel has them (telework/resources/<name>/)."""
    import telework

    package = Path(telework.__file__).resolve().parent
    files = _tree(package, "telework", skip_top={"resources"})
    files.update(_tree(package / "resources", "telework/resources",
                       skip_top={"deploy", "templates", "group_data", "host_suites", "inventory", "examples"}))
    for name, directory in _RESOURCES.items():
        files.update(_tree(directory(), f"telework/resources/{name}"))
    return files


def telework_digest(contents: dict[str, bytes]) -> str:
    """sha256 over the name and sha256 of every telework/ file of a bundle: which telework it ran."""
    digest = hashlib.sha256()
    for name in sorted(n for n in contents if n.startswith("telework/")):
        digest.update(f"{name} {hashlib.sha256(contents[name]).hexdigest()}\n".encode())
    return digest.hexdigest()


def _commit_time(inventory_dir: Path, commit: str) -> str:
    stamp = subprocess.run(["git", "-C", str(inventory_dir), "show", "-s", "--format=%ct", commit],
                           capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    return datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pull_hosts(inventory_dir: Path, limit: str | None, overlay: dict | None) -> list[tuple[str, dict, list[str]]]:
    """The endpoints `limit` selects (every endpoint of PULL_GROUPS without a limit)."""
    loaded = require_inventory(inventory_dir)
    entries = host_entries(loaded.model, inventory_dir, overlay)
    chosen = set(select(entries, limit))
    out = [e for e in entries if e[0] in chosen]
    servers = [name for name, _, groups in out if not set(groups) & set(PULL_GROUPS)]
    if servers and limit:
        raise PullError(f"pull bundles are for endpoints ({', '.join(PULL_GROUPS)}); --limit also "
                        f"selects {', '.join(servers[:5])}: servers are deployed by push (telework apply)")
    return [e for e in out if set(e[2]) & set(PULL_GROUPS)]


def build_bundles(inventory_dir: Path | str, out_dir: Path | str, signing_key, *,
                  wheelhouse: Wheelhouse | None, limit: str | None = None,
                  overlay: dict | None = None, base_url: str | None = None,
                  allow_dirty: bool = False) -> list[BuiltBundle]:
    """Write every selected endpoint's bundle into `out_dir` (see the module docstring)."""
    inventory_dir = Path(inventory_dir).resolve()
    out_dir = Path(out_dir)
    overlay = overlay if overlay is not None else load_overlay()
    state = repo_state(inventory_dir)
    if state.commit is None:
        raise PullError(f"{inventory_dir} is not a committed git inventory: bundles name the commit "
                        f"they were built from")
    if state.dirty and not allow_dirty:
        raise PullError(f"{inventory_dir} has uncommitted changes ({len(state.changes)}): commit them, "
                        f"or pass --allow-dirty (the bundle then does not match its commit)")
    created = _commit_time(inventory_dir, state.commit)
    pub = load_public_key(inventory_dir)
    if pub.strip() != public_pem(signing_key).strip():
        raise PullError(f"the signing key is not the one in {inventory_dir}/pull/signing.pub")
    loaded = require_inventory(inventory_dir)
    slug = loaded.model.organisation.slug

    common: dict[str, Path] = {}
    common.update(telework_files())
    inv_files = _tree(inventory_dir, f"inventory/{slug}", skip_top={SECRETS_DIR})
    common.update(inv_files)
    contents = {name: path.read_bytes() for name, path in common.items()}
    group_data = load_group_data(group_data_dirs(inventory_dir))

    built = []
    for name, data, groups in pull_hosts(inventory_dir, limit, overlay):
        host_data = {k: v for k, v in data.items() if not k.startswith(_CONNECTION_PREFIXES)}
        host_data["telework_inventory"] = f"inventory/{slug}"
        url = base_url or _group_value(group_data, groups, "pull_base_url")
        if url:
            host_data["pull_base_url"] = url
        files = dict(contents)
        files["host.json"] = (json.dumps({"name": name, "groups": groups, "data": host_data},
                                         indent=1, sort_keys=True) + "\n").encode("utf-8")
        built.append(_write_bundle(out_dir / name, name, slug, state.commit, created, files,
                                   signing_key, pub, wheelhouse))
    return built


def _group_value(group_data: dict[str, dict], groups: list[str], key: str):
    """A value as pyinfra resolves group data: the last of the host's groups that sets it wins,
    then `all`."""
    for group in reversed(groups):
        if key in group_data.get(group, {}):
            return group_data[group][key]
    return group_data.get("all", {}).get(key)


def _write_bundle(directory: Path, host: str, slug: str, commit: str, created: str,
                  files: dict[str, bytes], key, pub: bytes, wheelhouse: Wheelhouse | None) -> BuiltBundle:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            add_file(tar, name, files[name])
    tar_bytes = buffer.getvalue()
    manifest = {
        "format": BUNDLE_FORMAT,
        "host": host,
        "organisation": slug,
        "inventory_commit": commit,
        "created": created,
        "telework_version": __version__,
        "telework": {"version": __version__, "digest": telework_digest(files)},
        "signing_key": key_id(pub),
        "bundle": {"sha256": hashlib.sha256(tar_bytes).hexdigest(), "size": len(tar_bytes)},
        "wheelhouse": None if wheelhouse is None else {"sha256": wheelhouse.sha256, "size": wheelhouse.size},
        "files": {name: hashlib.sha256(files[name]).hexdigest() for name in sorted(files)},
    }
    manifest_bytes = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")
    directory.mkdir(parents=True, exist_ok=True)
    # The tar is content-addressed and written first, the manifest and its signature last, so
    # an agent that read the previous manifest still finds the tar it names; older tars go.
    tar_name = f"{manifest['bundle']['sha256']}.tar"
    for name, data in ((tar_name, tar_bytes), ("manifest.json", manifest_bytes),
                       ("manifest.json.sig", sign(key, manifest_bytes))):
        tmp = directory / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, directory / name)
    tars = sorted((p for p in directory.glob("*.tar") if p.name != tar_name),
                  key=lambda p: p.stat().st_mtime, reverse=True)
    for old in tars[1:]:  # the newest previous one stays for agents in the middle of a run
        old.unlink(missing_ok=True)
    return BuiltBundle(host, directory, hashlib.sha256(manifest_bytes).hexdigest(), len(files), len(tar_bytes))
