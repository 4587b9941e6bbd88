"""The secrets sweep (issue 18): every secret of the lab organisation, decrypted with the `age`
CLI (not telework's own code), is searched in everything telework writes where people or CI can
read it; one hit fails.

Uses the VPN suite's `org` (tests/lab/conftest.py), deployed to vpn-a, vpn-b and radius-1:
a plan with a change (json, text, markdown), the apply output, a `telework apply` with its
output and run record, the verify JUnit, a pull bundle for linux-001, and the organisation
repository's whole git history with its notes.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from .conftest import HOSTS, VENV_BIN, run

pytestmark = pytest.mark.lab

LIMIT = ",".join(HOSTS)


def clear_secrets(org) -> dict[str, str]:
    """{secret file: clear value} of every secret, decrypted by the age CLI."""
    identity = org.env["TELEWORK_AGE_IDENTITY"]
    out = {}
    for path in sorted((org.inventory / "secrets").rglob("*.age")):
        done = subprocess.run(["age", "--decrypt", "-i", identity, str(path)], capture_output=True, timeout=30)
        assert done.returncode == 0, (path, done.stderr)
        out[str(path.relative_to(org.inventory))] = done.stdout.decode()
    return out


def needles(secrets: dict[str, str]) -> dict[str, str]:
    """What must not appear: each whole value, and each long line of a multi-line one (a PEM
    key leaks line by line too), but not the format's own lines (`-----BEGIN ...`, `# 2048 bit
    OpenVPN static key`), which telework's code contains. Short values would match by chance."""
    found = {}
    for name, value in secrets.items():
        for piece in {value.strip(), *(line.strip() for line in value.splitlines())}:
            if len(piece) >= 12 and not piece.startswith(("-----", "#")):
                found[piece] = name
    return found


def telework(org, *args: str, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
    return run([str(VENV_BIN / "telework"), *args], env=org.env, timeout=timeout, check=check)


def test_no_secret_anywhere(org, lab, tmp_path: Path):
    from .test_plan_vpn import WITHOUT_FINANZEN, set_department

    secrets = clear_secrets(org)
    assert len(secrets) >= 8, sorted(secrets)  # server keys, tls-crypt, RADIUS, TOTP seeds, WireGuard
    haystacks: dict[str, bytes] = {"first apply (pyinfra output)": org.first_apply.encode()}

    # a plan with changes, in every format: a person changes department, and vpn-a's RADIUS
    # secret is rotated (secret files on vpn-a and radius-1 change); the new value is swept too
    old = set_department(org, WITHOUT_FINANZEN, "kaemmerei")
    telework(org, "secret", "rotate", "radius/secret/vpn-a", str(org.inventory))
    org.commit("rotate vpn-a's RADIUS secret")
    rotated = clear_secrets(org)
    try:
        outs = [tmp_path / f"plan.{ext}" for ext in ("json", "txt", "md")]
        done = telework(org, "plan", str(org.inventory), "--limit", LIMIT,
                        *[a for o in outs for a in ("--out", str(o))], check=False)
        assert done.returncode == 2, done.stderr[-2000:]
        haystacks["plan output"] = (done.stdout + done.stderr).encode()
        for o in outs:
            haystacks[o.name] = o.read_bytes()
        assert b'"sensitive": true' in haystacks["plan.json"]  # the secret files are in the plan
    finally:
        run(["git", "checkout", "HEAD~1", "--", "secrets"], cwd=org.inventory)
        set_department(org, WITHOUT_FINANZEN, old)
    assert clear_secrets(org) == secrets
    wanted = needles({**secrets, **{f"{k} (rotated)": v for k, v in rotated.items()}})

    # an apply through telework (nothing to change) and the run record it writes
    done = telework(org, "apply", str(org.inventory), "--limit", LIMIT, timeout=900)
    haystacks["telework apply output"] = (done.stdout + done.stderr).encode()

    # the verify JUnit
    junit = tmp_path / "verify.xml"
    done = telework(org, "verify", str(org.inventory), "--limit", LIMIT, "--junitxml", str(junit), timeout=900,
                    check=False)
    haystacks["verify output"] = (done.stdout + done.stderr).encode()
    haystacks["verify.xml"] = junit.read_bytes()

    # a pull bundle for an endpoint, every member of its tar
    telework(org, "pull", "init", str(org.inventory))
    org.commit("a pull signing key")
    bundles = tmp_path / "bundles"
    telework(org, "pull", "build", str(org.inventory), "--out", str(bundles), "--limit", "linux-001",
             "--base-url", "http://127.0.0.1:9/", "--no-wheelhouse", timeout=900)
    for path in sorted(p for p in bundles.rglob("*") if p.is_file()):
        haystacks[str(path.relative_to(bundles))] = path.read_bytes()
        if path.suffix == ".tar":
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    data = tar.extractfile(member)
                    if data is not None:
                        haystacks[f"{path.name}:{member.name}"] = data.read()

    # the organisation repository: every commit's patch, every note (run records)
    notes = run(["git", "log", "-p", "refs/notes/telework/runs"], cwd=org.inventory).stdout
    assert notes.strip(), "the apply wrote no run record"
    history = run(["git", "log", "--all", "-p", "--binary", "--notes=*"], cwd=org.inventory).stdout
    haystacks["git history"] = (history + notes).encode()

    hits = [f"{where}: {wanted[n]}" for where, data in haystacks.items()
            for n in wanted if n.encode() in data or n.encode() in _gunzipped(data)]
    assert hits == [], hits


def _gunzipped(data: bytes) -> bytes:
    import gzip

    if data[:2] != b"\x1f\x8b":
        return b""
    try:
        return gzip.GzipFile(fileobj=io.BytesIO(data)).read()
    except OSError:
        return b""
