"""Pull mode without the lab: bundles are deterministic and signed; the agent refuses tampered
files, foreign keys, other hosts' bundles, downgrades and unsafe tar members; the server keeps
to its paths and limits; reports show who is stale."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import telework
from telework.core.problems import SecretError
from telework.pull import agent as agent_mod
from telework.pull.agent import Agent, Refused, check_not_older, extract_verified, verify_manifest
from telework.pull.bundle import build_bundles, telework_digest
from telework.pull.reports import endpoint_statuses
from telework.pull.server import make_server
from telework.pull.signing import init_signing_key, load_signing_key, public_pem, sign
from telework.secrets.store import SecretStore

SAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "sample"
HOST = "linux-002"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@invalid", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """A committed copy of the sample with an age identity and the pull signing key."""
    base = tmp_path_factory.mktemp("pull")
    inv = base / "inv"
    shutil.copytree(SAMPLE, inv, ignore=shutil.ignore_patterns("secrets", "pki", "access", "pull"))
    store = SecretStore(inv, base / "identity.txt")
    store.init_identity(comment="test")
    init_signing_key(inv, store)
    git(inv, "init", "-q")
    git(inv, "add", "-A")
    git(inv, "commit", "-qm", "sample")
    return inv, store


@pytest.fixture(scope="module")
def built(org, tmp_path_factory):
    inv, store = org
    out = tmp_path_factory.mktemp("out")
    key = load_signing_key(inv, store)
    build_bundles(inv, out, key, wheelhouse=None, limit=HOST, overlay={}, base_url="http://pull.invalid")
    return out


def _bundle_files(tar_path: Path) -> dict[str, bytes]:
    with tarfile.open(tar_path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


def test_build_is_deterministic_for_one_commit(org, built, tmp_path):
    """The same inventory commit gives byte-identical bundles, manifests and signatures."""
    inv, store = org
    build_bundles(inv, tmp_path, load_signing_key(inv, store), wheelhouse=None, limit=HOST, overlay={},
                  base_url="http://pull.invalid")
    assert _files(tmp_path / HOST) == _files(built / HOST)


def test_bundle_holds_no_secrets_and_names_its_commit(org, built):
    """No secrets/ in a bundle; host data without ssh_* keys; the manifest names the commit."""
    inv, _ = org
    manifest = json.loads((built / HOST / "manifest.json").read_text())
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=inv, capture_output=True, text=True).stdout.strip()
    assert manifest["inventory_commit"] == commit and manifest["host"] == HOST
    assert not [f for f in manifest["files"] if f.startswith("inventory/") and "/secrets/" in f]
    assert "inventory/gruenfelden/pull/signing.pub" in manifest["files"]
    # telework as installed here: its version and a digest of its files, deploys included
    assert manifest["telework"]["version"] == telework.__version__
    assert manifest["telework"]["digest"] == telework_digest(
        _bundle_files(built / HOST / f"{manifest['bundle']['sha256']}.tar"))
    assert "telework/resources/deploy/site.py" in manifest["files"]
    assert "telework/engine/deployment.py" in manifest["files"]
    assert not [f for f in manifest["files"] if f.startswith(("telework/resources/host_suites/",
                                                              "telework/resources/inventory/"))]
    with tarfile.open(built / HOST / f"{manifest['bundle']['sha256']}.tar") as tar:
        host = json.load(tar.extractfile("host.json"))
    assert host["name"] == HOST and "linux_endpoints" in host["groups"]
    assert host["data"]["telework_inventory"] == "inventory/gruenfelden"
    assert host["data"]["pull_base_url"] == "http://pull.invalid"
    assert not [k for k in host["data"] if k.startswith("ssh_")]


def test_dirty_inventory_is_refused(org, tmp_path):
    """A bundle must match its commit: uncommitted changes stop the build."""
    inv, store = org
    extra = inv / "stray.yml"
    extra.write_text("# nothing\n")
    try:
        with pytest.raises(Exception, match="uncommitted changes"):
            build_bundles(inv, tmp_path, load_signing_key(inv, store), wheelhouse=None, limit=HOST, overlay={})
    finally:
        extra.unlink()


def test_servers_are_not_pulled(org, tmp_path):
    """Servers are deployed by push: a --limit naming one is an error."""
    inv, store = org
    with pytest.raises(Exception, match="servers are deployed by push"):
        build_bundles(inv, tmp_path, load_signing_key(inv, store), wheelhouse=None, limit="vpn-a", overlay={})


# --- verification -------------------------------------------------------------------------

def test_signature_verifies_and_tampering_is_refused(org, built):
    """A signed manifest verifies; one changed byte, a foreign key or another host is refused."""
    inv, _ = org
    manifest, sig = (built / HOST / "manifest.json").read_bytes(), (built / HOST / "manifest.json.sig").read_bytes()
    pub = (inv / "pull" / "signing.pub").read_bytes()
    assert verify_manifest(manifest, sig, pub, HOST)["host"] == HOST
    with pytest.raises(Refused, match="not signed by the organisation"):
        verify_manifest(manifest.replace(b'"linux-002"', b'"linux-003"', 1), sig, pub, HOST)
    foreign = Ed25519PrivateKey.generate()
    with pytest.raises(Refused, match="not signed by the organisation"):
        verify_manifest(manifest, sig, public_pem(foreign), HOST)
    with pytest.raises(Refused, match="not signed by the organisation"):
        verify_manifest(manifest, sign(foreign, manifest), pub, HOST)
    with pytest.raises(Refused, match="is for host 'linux-002', this is 'linux-001'"):
        verify_manifest(manifest, sig, pub, "linux-001")


def test_downgrade_is_refused():
    """A bundle older than the last one applied never runs; the same or a newer one does."""
    last = {"created": "2026-05-02T10:00:00Z", "inventory_commit": "b" * 40}
    check_not_older({"created": "2026-05-02T10:00:00Z", "inventory_commit": "b" * 40}, last)
    check_not_older({"created": "2026-05-03T10:00:00Z", "inventory_commit": "c" * 40}, last)
    with pytest.raises(Refused, match="downgrade: bundle of commit aaaaaaaaaaaa created 2026-05-01T10:00:00Z"):
        check_not_older({"created": "2026-05-01T10:00:00Z", "inventory_commit": "a" * 40}, last)


def _tar(members: list[tuple[str, bytes, bytes]]) -> bytes:
    """members: (name, data, type); type b'0' regular, b'2' symlink to /etc/passwd."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == tarfile.SYMTYPE:
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name,kind,message", [
    ("../evil", tarfile.REGTYPE, "unsafe path '../evil'"),
    ("/etc/evil", tarfile.REGTYPE, "unsafe path '/etc/evil'"),
    ("deploy/../../evil", tarfile.REGTYPE, "unsafe path"),
    ("deploy/link.py", tarfile.SYMTYPE, "not a regular file"),
])
def test_unsafe_tar_members_are_refused(tmp_path, name, kind, message):
    """Path traversal, absolute paths and links in a bundle tar are refused, nothing written outside."""
    tar = tmp_path / "b.tar"
    tar.write_bytes(_tar([("deploy/site.py", b"x", tarfile.REGTYPE), (name, b"evil", kind)]))
    target = tmp_path / "tree"
    target.mkdir()
    with pytest.raises(Refused, match=message):
        extract_verified(tar, {"deploy/site.py": _digest(b"x"), name: _digest(b"evil")}, target)
    assert not (tmp_path / "evil").exists()


def test_tampered_extra_and_missing_files_are_refused(tmp_path):
    """Every file must be in the signed manifest with its sha256, and every listed file present."""
    tar = tmp_path / "b.tar"
    files = {"deploy/site.py": _digest(b"good")}
    for members, message in (
        ([("deploy/site.py", b"evil", tarfile.REGTYPE)], "does not match its sha256"),
        ([("deploy/site.py", b"good", tarfile.REGTYPE), ("deploy/x.py", b"", tarfile.REGTYPE)], "not listed"),
        ([], "missing, e.g. deploy/site.py"),
    ):
        tar.write_bytes(_tar(members))
        target = tmp_path / f"t{len(message)}"
        target.mkdir()
        with pytest.raises(Refused, match=message):
            extract_verified(tar, files, target)


# --- the agent against the server ----------------------------------------------------------

@pytest.fixture
def served(built, tmp_path):
    root = tmp_path / "www"
    shutil.copytree(built, root)
    server = make_server(root, "127.0.0.1", 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _agent(org, tmp_path: Path, url: str, monkeypatch, code: int = 0) -> Agent:
    inv, _ = org
    agent = Agent({"host": HOST, "base_url": url, "public_key": str(inv / "pull" / "signing.pub"),
                   "state_dir": str(tmp_path / "state"), "venv": str(tmp_path / "venv"), "http_timeout": 5})
    applied = []

    def fake_apply(bundle, result_file):
        applied.append(bundle)
        assert (bundle / "telework" / "resources" / "deploy" / "site.py").is_file()
        assert (bundle / "host.json").is_file()
        return code, {"changed": ["ssh: hardened server settings"], "failed": [], "error": None}

    monkeypatch.setattr(agent, "apply", fake_apply)
    agent.applied = applied  # type: ignore[attr-defined]
    return agent


def _reports(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((root / "reports" / HOST).glob("*.json"))]


def test_agent_applies_and_reports(org, served, tmp_path, monkeypatch):
    """Verified bundle unpacked, applied, report delivered, last-applied recorded."""
    root, url = served
    agent = _agent(org, tmp_path, url, monkeypatch)
    assert agent.run() == agent_mod.EXIT_APPLIED
    assert len(agent.applied) == 1
    (report,) = _reports(root)
    assert report["status"] == "applied" and report["changed"] == ["ssh: hardened server settings"]
    manifest = json.loads((root / HOST / "manifest.json").read_text())
    assert report["bundle"]["inventory_commit"] == manifest["inventory_commit"]
    assert agent.last_applied()["created"] == manifest["created"]
    assert not list((tmp_path / "state" / "outbox").iterdir())


def test_agent_refuses_tampered_bundle_and_reports_it(org, served, tmp_path, monkeypatch):
    """A tar changed on the server is refused before anything runs, and the refusal is reported."""
    root, url = served
    manifest = json.loads((root / HOST / "manifest.json").read_text())
    tar = root / HOST / f"{manifest['bundle']['sha256']}.tar"
    tar.write_bytes(tar.read_bytes().replace(b"PasswordAuthentication no", b"PasswordAuthentication ya"))
    agent = _agent(org, tmp_path, url, monkeypatch)
    assert agent.run() == agent_mod.EXIT_REFUSED
    assert agent.applied == []
    (report,) = _reports(root)
    assert report["status"] == "refused" and "does not match its sha256" in report["error"]


def test_agent_refuses_foreign_signature(org, served, tmp_path, monkeypatch):
    """A manifest re-signed with another key is refused (after one retry)."""
    root, url = served
    manifest = (root / HOST / "manifest.json").read_bytes()
    (root / HOST / "manifest.json.sig").write_bytes(sign(Ed25519PrivateKey.generate(), manifest))
    agent = _agent(org, tmp_path, url, monkeypatch)
    monkeypatch.setattr(agent_mod.time, "sleep", lambda _s: None)
    assert agent.run() == agent_mod.EXIT_REFUSED
    assert "not signed by the organisation" in _reports(root)[0]["error"]


def test_agent_refuses_downgrade(org, served, tmp_path, monkeypatch):
    """After a newer bundle was applied, the published older one is refused."""
    root, url = served
    agent = _agent(org, tmp_path, url, monkeypatch)
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    agent._write_state(agent.last_applied_file, {"created": future, "inventory_commit": "f" * 40})
    assert agent.run() == agent_mod.EXIT_REFUSED
    assert _reports(root)[0]["error"].startswith("downgrade:")


def test_agent_offline_keeps_quiet(org, tmp_path, monkeypatch):
    """No server (a notebook at home): exit 4, nothing applied, no report queued."""
    agent = _agent(org, tmp_path, "http://127.0.0.1:9", monkeypatch)
    assert agent.run() == agent_mod.EXIT_OFFLINE
    assert not (tmp_path / "state" / "outbox").exists()


def test_undelivered_report_waits_in_the_outbox(org, served, tmp_path, monkeypatch):
    """A report the server did not take is sent with the next run."""
    root, url = served
    agent = _agent(org, tmp_path, url, monkeypatch)
    outbox = tmp_path / "state" / "outbox"
    outbox.mkdir(parents=True)
    (outbox / "20260101T000000Z-failed.json").write_text(json.dumps(
        {"host": HOST, "status": "failed", "finished": "2026-01-01T00:00:00Z"}))
    assert agent.run() == agent_mod.EXIT_APPLIED
    assert [r["status"] for r in _reports(root)] == ["failed", "applied"]


# --- server ---------------------------------------------------------------------------------

def _http(method: str, url: str, body: bytes | None = None) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_server_paths_and_limits(served):
    """Only bundle paths are served; reports only for known hosts, as JSON naming the host, small."""
    root, url = served
    (root / "secret.txt").write_text("x")
    assert _http("GET", f"{url}/{HOST}/manifest.json") == 200
    for path in ("/secret.txt", "/../etc/passwd", f"/{HOST}/../secret.txt", "/%2e%2e/etc/passwd",
                 f"/reports/{HOST}/x.json"):
        assert _http("GET", url + path) == 404, path
    ok = json.dumps({"host": HOST}).encode()
    assert _http("PUT", f"{url}/reports/{HOST}/a.json", ok) == 201
    assert _http("PUT", f"{url}/reports/linux-999/a.json", json.dumps({"host": "linux-999"}).encode()) == 403
    assert _http("PUT", f"{url}/reports/{HOST}/b.json", json.dumps({"host": "linux-001"}).encode()) == 400
    assert _http("PUT", f"{url}/reports/{HOST}/../../x.json", ok) == 404
    assert _http("PUT", f"{url}/reports/{HOST}/c.json", b"{" + b" " * 300_000 + b"}") == 413
    assert sorted(p.name for p in (root / "reports" / HOST).iterdir()) == ["a.json"]


def test_reports_show_stale_and_failed(tmp_path):
    """The last report per endpoint counts; no report for N days is stale; never reported is listed."""
    for host in ("linux-001", "linux-002", "nb-1"):
        (tmp_path / host).mkdir()
        (tmp_path / host / "manifest.json").write_text(json.dumps({"inventory_commit": "c" * 40}))
    reports = tmp_path / "reports"
    (reports / "linux-001").mkdir(parents=True)
    (reports / "linux-002").mkdir(parents=True)
    now = datetime(2026, 6, 10, tzinfo=UTC)

    def put(host, name, finished, status, commit="c" * 40):
        (reports / host / name).write_text(json.dumps({"host": host, "finished": finished, "status": status,
                                                       "bundle": {"inventory_commit": commit}}))
    put("linux-001", "1.json", "2026-06-09T10:00:00Z", "failed")
    put("linux-001", "2.json", "2026-06-09T11:00:00Z", "applied")
    put("linux-002", "1.json", "2026-05-01T10:00:00Z", "applied", "a" * 40)
    rows = {r.host: r for r in endpoint_statuses(tmp_path, 7, now)}
    assert rows["linux-001"].status == "applied" and rows["linux-001"].current and not rows["linux-001"].stale
    assert rows["linux-002"].stale and not rows["linux-002"].current
    assert rows["nb-1"].status == "never"


def test_local_apply_refuses_secrets(monkeypatch):
    """A deploy asking for a secret in pull mode fails with a message that says why."""
    from telework.pull import localrun

    monkeypatch.setattr(SecretStore, "get", SecretStore.get)  # restored after the test
    localrun._refuse_secrets()
    with pytest.raises(SecretError, match="pull bundles carry no secrets"):
        SecretStore("/nonexistent").get("wireguard/linux-002")
