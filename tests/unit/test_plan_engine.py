"""The engine's pieces that need no host: turning pyinfra's commands and log lines into
redacted change records, hiding sensitive content, fingerprints, `_if` at plan time."""

from __future__ import annotations

from io import StringIO
from types import SimpleNamespace

from pyinfra.api.command import FileUploadCommand, StringCommand

from telework.plan.engine import Deployment, _conditional, _kind_of, _split_log
from telework.plan.records import SENSITIVE_NOTE
from telework.redact import Redactor

SECRET = "Pa55wordXyzVeryLong42"


def deployment(names: dict[str, str], lines: dict | None = None, key: bytes | None = None) -> Deployment:
    d = Deployment("/nonexistent", overlay={}, redactor=Redactor({"sip/2345": SECRET}),
                   fingerprint_key=key)
    d.state = SimpleNamespace(op_meta={h: SimpleNamespace(names={n}) for h, n in names.items()})
    d._log.op_lines = lines or {}
    return d


def test_split_log_turns_pyinfra_diff_into_unified_lines():
    lines = ["Will modify /etc/x", "  @@ -1,3 +1,3 @@", "    keep", "  - old", "  + new", "",
             "mode 644", "noop: nothing"]
    messages, diff = _split_log(lines)
    assert messages == ["Will modify /etc/x", "mode 644"]
    assert diff == ["@@ -1,3 +1,3 @@", " keep", "-old", "+new"]


def test_kind_of_commands():
    assert _kind_of("DEBIAN_FRONTEND=noninteractive apt-get install -y nftables") == "package"
    assert _kind_of("systemctl reload ssh.service") == "service"
    assert _kind_of("ln -s /a /b") == "command"


def test_file_change_record():
    d = deployment({"h1": "deploy/base.py | ssh: hardened server settings"},
                   {("sip-1", "h1"): ["Will modify /etc/ssh/x.conf", "  @@ -1 +1 @@", "  - a 3", "  + a 4"]})
    c = d._change("sip-1", "h1", [FileUploadCommand(StringIO("a 4\n"), "/etc/ssh/x.conf"),
                                  StringCommand("chmod", "644", "/etc/ssh/x.conf")], False)
    assert (c.kind, c.path, c.sensitive) == ("file", "/etc/ssh/x.conf", False)
    assert c.commands == ["upload /etc/ssh/x.conf", "chmod 644 /etc/ssh/x.conf"]
    assert c.diff == ["@@ -1 +1 @@", "-a 3", "+a 4"]
    assert c.fingerprint.startswith("sha256:")


def test_secret_in_uploaded_content_makes_the_change_sensitive():
    d = deployment({"h1": "deploy/sip.py | kamailio: settings"},
                   {("sip-1", "h1"): ["Will modify /etc/k.cfg", "  @@ -1 +1 @@", "  - pw = old", f"  + pw = {SECRET}"]})
    c = d._change("sip-1", "h1", [FileUploadCommand(StringIO(f"pw = {SECRET}\n"), "/etc/k.cfg")], False)
    assert c.sensitive
    assert c.diff == []
    assert c.commands == [f"{SENSITIVE_NOTE}: /etc/k.cfg"]
    assert SECRET not in repr(c)


def test_secret_prefix_makes_the_change_sensitive():
    d = deployment({"h1": "secret: /etc/wireguard/wg0.key"},
                   {("vpn-a", "h1"): ["Will create /etc/wireguard/wg0.key", "  + not-a-known-secret-but-hidden"]})
    c = d._change("vpn-a", "h1", [FileUploadCommand(StringIO("not-a-known-secret-but-hidden\n"),
                                                    "/etc/wireguard/wg0.key")], False)
    assert c.sensitive and c.diff == []
    assert "not-a-known-secret" not in repr(c)
    assert c.messages == ["Will create /etc/wireguard/wg0.key"]


def test_secret_in_commands_and_names_is_redacted():
    d = deployment({"h1": f"server.shell (commands=['echo {SECRET}'])"})
    c = d._change("sip-1", "h1", [StringCommand("echo", SECRET)], False)
    assert SECRET not in repr(c)
    assert c.op == "server.shell (commands=['echo [redacted:sip/2345]'])"


def test_fingerprints_are_stable_content_bound_and_keyed():
    d = deployment({"h1": "op"})
    upload = lambda text: [FileUploadCommand(StringIO(text), "/etc/x")]  # noqa: E731
    assert d._change("h", "h1", upload("a"), False).fingerprint == d._change("h", "h1", upload("a"), False).fingerprint
    assert d._change("h", "h1", upload("a"), False).fingerprint != d._change("h", "h1", upload("b"), False).fingerprint
    # sed backup timestamps differ between plan and apply: not part of the fingerprint
    sed = lambda ts: [StringCommand(f"sed -i.{ts} 's/a/b/' /etc/x && rm -f /etc/x.{ts}")]  # noqa: E731
    assert d._change("h", "h1", sed(2611222029), False).fingerprint == d._change("h", "h1", sed(2611222030), False).fingerprint
    keyed = deployment({"h1": "op"}, key=b"k" * 32)
    assert keyed._change("h", "h1", upload("a"), False).fingerprint.startswith("hmac-sha256:")


class FakeMeta:
    def __init__(self, op_hash):
        self._hash = op_hash

    def did_change(self):  # pragma: no cover - only its identity matters
        raise AssertionError

    def did_not_change(self):  # pragma: no cover
        raise AssertionError


def test_if_conditions_evaluated_from_earlier_changes():
    meta = FakeMeta("h1")
    assert _conditional(None, {}) is True
    assert _conditional([meta.did_change], {"h1": True}) is True
    assert _conditional([meta.did_change], {"h1": False}) is False
    assert _conditional(meta.did_not_change, {"h1": False}) is True
    # a condition the plan cannot evaluate: unknown (shown as conditional)
    assert _conditional([lambda: True], {}) is None
    assert _conditional([meta.did_change, lambda: True], {"h1": False}) is False


def test_if_any_changed_and_all_changed():
    from pyinfra.operations.util import all_changed, any_changed

    a, b = FakeMeta("a"), FakeMeta("b")
    assert _conditional(any_changed(a, b), {"a": False, "b": True}) is True
    assert _conditional(any_changed(a, b), {"a": False, "b": False}) is False
    assert _conditional(all_changed(a, b), {"a": True, "b": False}) is False
    assert _conditional(all_changed(a, b), {"a": True, "b": True}) is True
    assert _conditional(any_changed(a, b), {"a": True}) is None  # b not planned on this host


def test_deploy_files_are_found_by_inspect_without_scanning_every_module(tmp_path):
    """register_deploy_files: pyinfra inspects the call stack of every operation, and a frame of
    an exec'd deploy file now maps to a module entry (one dictionary lookup, not a scan)."""
    import inspect
    import sys

    from telework.deploy_support import register_deploy_files

    deploy = tmp_path / "deploy"
    deploy.mkdir()
    (deploy / "role_x.py").write_text("import inspect\nframe = inspect.currentframe()\n")
    register_deploy_files(deploy)
    namespace: dict = {}
    exec(compile((deploy / "role_x.py").read_text(), str(deploy / "role_x.py"), "exec"), namespace)
    try:
        module = inspect.getmodule(namespace["frame"])
        assert module is sys.modules["telework_deploy_files.role_x"]
        assert module.__file__ == str(deploy / "role_x.py")
    finally:
        del sys.modules["telework_deploy_files.role_x"]
