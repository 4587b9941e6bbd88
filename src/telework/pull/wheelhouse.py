"""The wheelhouse an endpoint installs into /opt/telework/venv: pyinfra and telework's other
dependencies as wheels, so the endpoint never needs PyPI (Debian 12 has no pyinfra package).

Versions are pinned to what this controller's environment runs (importlib.metadata: the
dependency closure of the installed telework), so an endpoint applies with exactly the
versions the pipeline tested. The wheels are fetched once with `pip download` (the
controller's configured index) into /var/cache/telework/wheels/<key>/ and packed into a
deterministic tar: the same pins give the same bytes and the same sha256, so endpoints
download a new wheelhouse only when a version changes. telework itself is not in it: each
bundle carries the telework package the controller runs (telework/, with its deploy files and
templates), so deploys and library always match.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from telework.pull.signing import PullError

CACHE_ENV = "TELEWORK_WHEEL_CACHE"
DEFAULT_CACHE = Path("/var/cache/telework/wheels")
#: The endpoints' interpreter: Debian 12's python3 (3.11) on x86_64.
TARGET = {"python_version": "3.11", "implementation": "cp", "abi": "cp311",
          "platforms": ["manylinux_2_36_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64",
                        "manylinux2014_x86_64", "linux_x86_64"]}


@dataclass(frozen=True)
class Wheelhouse:
    path: Path  # the tar
    sha256: str
    size: int
    requirements: tuple[str, ...]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_requirements(root: str = "telework") -> list[str]:
    """`name==version` of every distribution `root` needs at run time (extras left out), as
    installed here, sorted; `root` itself excluded."""
    from packaging.requirements import Requirement

    seen: dict[str, str] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = _canonical(name)
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise PullError(f"wheelhouse: {name} is required but not installed here") from None
        seen[key] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker and not req.marker.evaluate({"extra": "", "python_version": "3.11",
                                                       "sys_platform": "linux", "platform_system": "Linux"}):
                continue
            todo.append(req.name)
    seen.pop(_canonical(root), None)
    return [f"{name}=={version}" for name, version in sorted(seen.items())]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def build_wheelhouse(out_dir: Path, requirements: list[str] | None = None,
                     cache: Path | None = None, timeout: int = 900) -> Wheelhouse:
    """out_dir/wheels/<sha256>.tar holding a wheel per requirement and requirements.txt."""
    requirements = requirements or pinned_requirements()
    text = "".join(f"{r}\n" for r in requirements)
    key = hashlib.sha256((repr(TARGET) + text).encode()).hexdigest()[:16]
    directory = (cache or cache_dir()) / key
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "requirements.txt").is_file():
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                "--disable-pip-version-check", "--no-input", "-q", "-d", str(directory),
                "--python-version", TARGET["python_version"], "--implementation", TARGET["implementation"],
                "--abi", TARGET["abi"], "--abi", "abi3", "--abi", "none",
                *[arg for p in TARGET["platforms"] for arg in ("--platform", p)], *requirements]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PullError(f"wheelhouse: pip download took longer than {timeout} s") from None
        if done.returncode != 0:
            raise PullError(f"wheelhouse: pip download failed (is the package index reachable?):\n"
                            f"{done.stderr.strip()[-3000:]}")
        (directory / "requirements.txt").write_text(text)
    files = sorted(p for p in directory.iterdir() if p.is_file() and (p.suffix == ".whl" or p.name == "requirements.txt"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            add_file(tar, path.name, path.read_bytes())
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    target = out_dir / "wheels" / f"{sha}.tar"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return Wheelhouse(target, sha, len(data), tuple(requirements))


def add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    """A regular file with fixed owner, time and mode: the tar depends on content only."""
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))
