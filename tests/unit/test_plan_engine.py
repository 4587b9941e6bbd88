"""The engine's pieces that need no host: turning pyinfra's commands and log lines into
redacted change records, hiding sensitive content, fingerprints, `_if` at plan time."""

from __future__ import annotations

from io import StringIO

from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.operation import OperationMeta

from telework.engine.changes import Fingerprinter, change_record, kind_of, split_log
from telework.engine.declare import changed
from telework.engine.deployment import evaluate_condition
from telework.plan.records import SENSITIVE_NOTE
from telework.secrets.redact import Redactor

SECRET = "Pa55wordXyzVeryLong42"


class Ops:
    """Change records as the deployment makes them: names per operation hash, log lines per
    (host, hash), the run's redactor and fingerprint key."""

    def __init__(self, names: dict[str, str], lines: dict | None = None, key: bytes | None = None):
        self.names, self.lines = names, lines or {}
        self.redactor = Redactor({"sip/2345": SECRET})
        self.fingerprint = Fingerprinter(key)

    def _change(self, host: str, op_hash: str, commands: list, conditional: bool, sensitive: bool = False):
        return change_record(self.names[op_hash], commands, self.lines.get((host, op_hash), []),
                             declared_sensitive=sensitive, conditional=conditional,
                             redactor=self.redactor, fingerprint=self.fingerprint)


deployment = Ops


def test_split_log_turns_pyinfra_diff_into_unified_lines():
    lines = ["Will modify /etc/x", "  @@ -1,3 +1,3 @@", "    keep", "  - old", "  + new", "",
             "mode 644", "noop: nothing"]
    messages, diff = split_log(lines)
    assert messages == ["Will modify /etc/x", "mode 644"]
    assert diff == ["@@ -1,3 +1,3 @@", " keep", "-old", "+new"]


def test_kind_of_commands():
    assert kind_of("DEBIAN_FRONTEND=noninteractive apt-get install -y nftables") == "package"
    assert kind_of("systemctl reload ssh.service") == "service"
    assert kind_of("ln -s /a /b") == "command"


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


def test_declared_sensitive_operations_never_show_content():
    d = deployment({"h1": "openvpn: tls-crypt key (from openvpn/tls-crypt)"},
                   {("vpn-a", "h1"): ["Will create secret file /etc/openvpn/ta.key (content is secret, not shown)"]})
    c = d._change("vpn-a", "h1", [FileUploadCommand(StringIO("-----BEGIN OpenVPN Static key V1-----\nabc\n"),
                                                    "/etc/openvpn/ta.key.telework-new"),
                                  StringCommand("mv", "-f", "/etc/openvpn/ta.key.telework-new", "/etc/openvpn/ta.key")],
                  False, sensitive=True)
    assert c.sensitive and c.diff == [] and c.path == "/etc/openvpn/ta.key"
    assert c.commands == [f"{SENSITIVE_NOTE}: /etc/openvpn/ta.key"]
    assert "OpenVPN Static key" not in repr(c)


def test_declared_upload_identity_is_fingerprinted_instead_of_the_bytes():
    """An upload that declares what it lands (a tar of files) is fingerprinted by that, so tar
    headers or times never make two plans of the same change differ."""
    d = deployment({"h1": "op"})

    def upload(data: str, identity: str):
        command = FileUploadCommand(StringIO(data), "/etc/ccd.telework-upload.tar")
        command.telework_identity = identity
        return [command]

    assert d._change("h", "h1", upload("tar bytes 1", "archive a:1"), False).fingerprint == \
        d._change("h", "h1", upload("tar bytes 2", "archive a:1"), False).fingerprint
    assert d._change("h", "h1", upload("tar bytes 1", "archive a:1"), False).fingerprint != \
        d._change("h", "h1", upload("tar bytes 1", "archive a:2"), False).fingerprint


def test_if_conditions_evaluated_from_earlier_changes():
    meta = OperationMeta("h1", None)
    assert evaluate_condition(None, {}) is True
    assert evaluate_condition([meta.did_change], {"h1": True}) is True
    assert evaluate_condition([meta.did_change], {"h1": False}) is False
    assert evaluate_condition(meta.did_not_change, {"h1": False}) is True
    # a condition the plan cannot evaluate: unknown (shown as conditional)
    assert evaluate_condition([lambda: True], {}) is None
    assert evaluate_condition([meta.did_change, lambda: True], {"h1": False}) is False


def test_if_changed_declared_by_the_deploy():
    a, b = OperationMeta("a", None), OperationMeta("b", None)
    assert evaluate_condition(changed(a, b), {"a": False, "b": True}) is True
    assert evaluate_condition(changed(a, b), {"a": False, "b": False}) is False
    assert evaluate_condition([changed(a), changed(b)], {"a": True, "b": False}) is False
    assert evaluate_condition(changed(a, b), {"a": True}) is None  # b not planned on this host


def test_deploy_files_are_found_by_inspect_without_scanning_every_module(tmp_path):
    """register_deploy_files: pyinfra inspects the call stack of every operation, and a frame of
    an exec'd deploy file now maps to a module entry (one dictionary lookup, not a scan)."""
    import inspect
    import sys

    from telework.engine.adapter import register_deploy_files

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
