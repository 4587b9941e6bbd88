"""telework's own pyinfra operations against fake fact answers: a no-op when the host is in
state, exactly these commands when it is not, owner/mode-only fixes, and the batched facts'
memory forgotten after a change.

Each operation's body runs under a real pyinfra Host and State that never connect: the host's
answers are seeded into telework.engine.facts.batch's memory, and any fact the operation asked
for beyond them would fail the test (`get_fact` raises), so a test also proves that an
operation decides from the batch alone.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from pyinfra.api import Config, FileUploadCommand, Inventory, OperationError, State
from pyinfra.context import ctx_config, ctx_host, ctx_inventory, ctx_state

from telework.engine.facts import batch
from telework.engine.facts.files import PathStates
from telework.engine.facts.nftables import NftTableLoaded, SshClientAddress
from telework.engine.facts.packages import PackageStates
from telework.engine.facts.sysctl import SysctlValues
from telework.engine.facts.systemd import UnitStates
from telework.engine.operations import files, packages, services
from telework.engine.operations.digests import digest
from telework.engine.operations.nftables import ruleset
from telework.engine.operations.secret_files import secret_file
from telework.engine.operations.sysctl import setting
from telework.engine.operations.trees import synced_directory


def _file(content: str | None = None, mode: int = 644, user: str = "root", group: str = "root",
          kind: str = "file", target: str | None = None) -> dict:
    return {"type": kind, "mode": mode, "user": user, "group": group, "target": target,
            "sha256": digest(content) if content is not None else None}


class Host:
    """A pyinfra host that never connects, with answers seeded into the batch memory."""

    def __init__(self) -> None:
        inventory = Inventory(([("fake-host", {})], {}))
        self.state = State(inventory, Config(DIFF=True))
        self.host = inventory.get_host("fake-host")
        self.asked: list = []
        self.host.get_fact = self._refuse  # every answer must come from the seeded memory

    def _refuse(self, cls, *args, **kwargs):
        self.asked.append(cls.__name__)
        raise AssertionError(f"the operation asked the host for {cls.__name__} {kwargs}: not batched")

    @contextmanager
    def context(self):
        with ctx_state.use(self.state), ctx_config.use(self.state.config), \
                ctx_inventory.use(self.state.inventory), ctx_host.use(self.host):
            yield

    def seed(self, request, answer) -> None:
        cls, kwargs = request
        with self.context():
            batch._memory(self.host).answers[batch._key(cls, kwargs)] = answer

    def paths(self, root: str, paths: dict[str, dict]) -> None:
        self.seed(PathStates.ask(root), {"paths": paths})

    def run(self, operation, **kwargs) -> list[str]:
        """The commands the operation yields, as text; uploads as `upload DEST <content>`."""
        with self.context():
            out = []
            for command in operation._inner(**kwargs):
                if isinstance(command, FileUploadCommand):
                    data = command.src.getvalue()
                    out.append(f"upload {command.dest} {data.decode() if isinstance(data, bytes) else data}")
                else:
                    out.append(str(command))
            return out


@pytest.fixture
def fake():
    return Host()


# --- files ----------------------------------------------------------------------------------


def test_put_is_a_noop_when_content_mode_and_owner_match(fake):
    fake.paths("/etc/app", {"/etc/app": _file(kind="directory"), "/etc/app/a.conf": _file("a = 1\n")})
    assert fake.run(files.put, dest="/etc/app/a.conf", content="a = 1\n") == []


def test_put_writes_through_a_temporary_file_when_content_differs(fake):
    fake.paths("/etc/app", {"/etc/app/a.conf": _file("a = 0\n")})
    fake.seed((files.FileContents, {"path": "/etc/app/a.conf"}), ["a = 0"])
    assert fake.run(files.put, dest="/etc/app/a.conf", content="a = 1\n", mode="640") == [
        "install -D -m 640 -o root -g root /dev/null /etc/app/a.conf.telework-new",
        "upload /etc/app/a.conf.telework-new a = 1\n",
        "mv -f /etc/app/a.conf.telework-new /etc/app/a.conf",
    ]


def test_put_creates_a_missing_file_with_its_final_mode_first(fake):
    fake.paths("/etc/app", {})
    commands = fake.run(files.put, dest="/etc/app/new.conf", content="x\n", mode="600", user="freerad")
    assert commands[0] == "install -D -m 600 -o freerad -g root /dev/null /etc/app/new.conf.telework-new"
    assert len(commands) == 3


def test_put_fixes_only_mode_or_owner_when_the_content_matches(fake):
    fake.paths("/etc/app", {"/etc/app/a.conf": _file("a\n", mode=666, user="nobody")})
    assert fake.run(files.put, dest="/etc/app/a.conf", content="a\n") == [
        "chmod 644 /etc/app/a.conf", "chown root:root /etc/app/a.conf"]
    fake2 = Host()
    fake2.paths("/etc/app", {"/etc/app/a.conf": _file("a\n", group="adm")})
    assert fake2.run(files.put, dest="/etc/app/a.conf", content="a\n") == ["chown root:root /etc/app/a.conf"]


def test_put_refuses_to_replace_a_directory(fake):
    fake.paths("/etc/app", {"/etc/app/a.conf": _file(kind="directory")})
    with pytest.raises(OperationError, match="is a directory, not a file"):
        fake.run(files.put, dest="/etc/app/a.conf", content="a\n")


def test_directory_created_fixed_or_left(fake):
    fake.paths("/etc/app", {})
    assert fake.run(files.directory, path="/etc/app", mode="700") == ["install -d -m 700 -o root -g root /etc/app"]
    fake2 = Host()
    fake2.paths("/etc/app", {"/etc/app": _file(kind="directory", mode=755)})
    assert fake2.run(files.directory, path="/etc/app", mode="700") == ["chmod 700 /etc/app"]
    assert fake2.run(files.directory, path="/etc/app", mode="755") == []


def test_link_made_replaced_or_left(fake):
    fake.paths("/etc/localtime", {"/etc/localtime": _file(kind="link", target="/usr/share/zoneinfo/UTC")})
    assert fake.run(files.link, path="/etc/localtime", target="/usr/share/zoneinfo/UTC") == []
    assert fake.run(files.link, path="/etc/localtime", target="/usr/share/zoneinfo/Europe/Berlin") == [
        "ln -sfn /usr/share/zoneinfo/Europe/Berlin /etc/localtime"]


def test_absent_removes_files_only(fake):
    fake.paths("/etc/x", {"/etc/x/gone": _file("a"), "/etc/x/dir": _file(kind="directory")})
    assert fake.run(files.absent, path="/etc/x/missing") == []
    assert fake.run(files.absent, path="/etc/x/gone") == ["rm -f /etc/x/gone"]
    with pytest.raises(OperationError, match="removes only files and links"):
        fake.run(files.absent, path="/etc/x/dir")


def test_secret_file_compares_digests_and_never_logs_the_value(fake, caplog):
    secret = "Xq9-very-secret-value-77"
    fake.paths("/etc/k", {"/etc/k/key": _file(secret + "\n", mode=600)})
    assert fake.run(secret_file, path="/etc/k/key", content=secret + "\n") == []
    commands = fake.run(secret_file, path="/etc/k/key", content="another-secret-value-88\n")
    assert commands[0] == "install -D -m 600 -o root -g root /dev/null /etc/k/key.telework-new"
    assert secret not in caplog.text and "another-secret-value-88" not in caplog.text
    assert secret_file.telework_sensitive


# --- services, packages, sysctl, nftables, trees ----------------------------------------------


def _unit(active: str = "active", enabled: str = "enabled") -> dict:
    return {"LoadState": "loaded", "ActiveState": active, "SubState": "running", "UnitFileState": enabled}


def test_service_starts_and_enables_only_what_is_not(fake):
    fake.seed(UnitStates.ask("a", "b", "c"), [_unit(), _unit("inactive"), _unit(enabled="disabled")])
    assert fake.run(services.service, unit="a") == []
    assert fake.run(services.service, unit="b") == ["systemctl start b"]
    assert fake.run(services.service, unit="c") == ["systemctl enable c"]
    assert fake.run(services.service, unit="a", running=False, enabled=None) == ["systemctl stop a"]
    assert fake.run(services.service, unit="c", enabled=None) == []


def test_packages_install_only_the_missing_ones(fake):
    fake.seed(PackageStates.ask("openvpn", "nftables", "tzdata"), {"openvpn": True, "nftables": False, "tzdata": True})
    assert fake.run(packages.installed, packages=["openvpn", "tzdata"]) == []
    assert fake.run(packages.installed, packages=["openvpn", "nftables"]) == [
        "DEBIAN_FRONTEND=noninteractive apt-get update -q",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o "
        "Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold nftables"]


def test_sysctl_sets_the_file_and_the_live_value_as_needed(fake):
    path = "/etc/sysctl.d/60-x.conf"
    fake.paths(path, {path: _file("net.ipv4.ip_forward = 1\n")})
    fake.seed(SysctlValues.ask("net.ipv4.ip_forward"), {"net.ipv4.ip_forward": "1"})
    assert fake.run(setting, key="net.ipv4.ip_forward", value=1, path=path) == []
    fake2 = Host()
    fake2.paths(path, {path: _file("net.ipv4.ip_forward = 1\n")})
    fake2.seed(SysctlValues.ask("net.ipv4.ip_forward"), {"net.ipv4.ip_forward": "0"})
    assert fake2.run(setting, key="net.ipv4.ip_forward", value=1, path=path) == [
        "sysctl -q -w net.ipv4.ip_forward=1"]


def test_ruleset_is_validated_before_it_replaces_the_live_rules(fake):
    text = "flush ruleset\ntable inet telework {}\n"
    fake.paths("/etc/nftables.conf", {"/etc/nftables.conf": _file(text)})
    fake.seed((NftTableLoaded, {"family": "inet", "table": "telework"}), True)
    assert fake.run(ruleset, path="/etc/nftables.conf", content=text, table=("inet", "telework")) == []
    fake.seed((NftTableLoaded, {"family": "inet", "table": "telework"}), False)
    assert fake.run(ruleset, path="/etc/nftables.conf", content=text, table=("inet", "telework")) == [
        "nft -f /etc/nftables.conf"]
    fake.seed((files.FileContents, {"path": "/etc/nftables.conf"}), text.splitlines())
    new = text + "# more\n"
    commands = fake.run(ruleset, path="/etc/nftables.conf", content=new, table=("inet", "telework"))
    assert commands == ["install -m 600 /dev/null /etc/nftables.conf.telework-new",
                        f"upload /etc/nftables.conf.telework-new {new}",
                        "nft -c -f /etc/nftables.conf.telework-new || { rm -f /etc/nftables.conf.telework-new ; "
                        "exit 1 ; }",
                        "chmod 644 /etc/nftables.conf.telework-new && mv -f /etc/nftables.conf.telework-new "
                        "/etc/nftables.conf", "nft -f /etc/nftables.conf"]


def test_ruleset_that_would_lock_out_this_deploy_is_refused_before_anything_is_written(fake):
    """The deploy connects from 10.199.7.1; a ruleset accepting SSH only from the inventory's
    management network fails with the fix, yielding no command at all."""
    text = "flush ruleset\ntable inet telework {}\n"
    fake.paths("/etc/nftables.conf", {})
    fake.seed((NftTableLoaded, {"family": "inet", "table": "telework"}), False)
    fake.seed((SshClientAddress, {}), "10.199.7.1")
    with pytest.raises(OperationError) as refused:
        fake.run(ruleset, path="/etc/nftables.conf", content=text, table=("inet", "telework"),
                 ssh_sources=["10.20.254.0/24"])
    assert str(refused.value) == (
        "refusing to load /etc/nftables.conf: it accepts SSH only from 10.20.254.0/24, and this deploy connects "
        "from 10.199.7.1: the next deploy would be locked out (fix: give the network 10.199.7.1 is in "
        "`purpose: management` in the inventory's networks.yml)")
    commands = fake.run(ruleset, path="/etc/nftables.conf", content=text, table=("inet", "telework"),
                        ssh_sources=["10.20.254.0/24", "10.199.7.0/24"])
    assert commands[0].startswith("install ") and commands[-1] == "nft -f /etc/nftables.conf"


def test_ruleset_without_an_ssh_connection_has_nobody_to_lock_out(fake):
    """A local run (the pull agent on an endpoint) has no $SSH_CONNECTION: nothing to keep open."""
    fake.paths("/etc/nftables.conf", {})
    fake.seed((NftTableLoaded, {"family": "inet", "table": "telework"}), False)
    fake.seed((SshClientAddress, {}), None)
    commands = fake.run(ruleset, path="/etc/nftables.conf", content="flush ruleset\n", table=("inet", "telework"),
                        ssh_sources=[])
    assert commands[-1] == "nft -f /etc/nftables.conf"


def test_synced_directory_uploads_changed_files_and_removes_extra_ones(fake):
    fake.paths("/etc/ccd", {"/etc/ccd": _file(kind="directory"), "/etc/ccd/anna": _file("a\n"),
                            "/etc/ccd/bert": _file("old\n"), "/etc/ccd/gone": _file("x\n")})
    assert fake.run(synced_directory, path="/etc/ccd", files={"anna": "a\n", "bert": "old\n", "gone": "x\n"}) == []
    commands = fake.run(synced_directory, path="/etc/ccd", files={"anna": "a\n", "bert": "new\n"})
    assert commands[0].startswith("upload /etc/ccd.telework-upload.tar ")
    assert commands[1:] == ["tar --no-same-owner --no-overwrite-dir -xf /etc/ccd.telework-upload.tar -C /etc/ccd "
                            "&& rm -f /etc/ccd.telework-upload.tar", "cd /etc/ccd && rm -f -- gone"]


# --- the batch's memory ---------------------------------------------------------------------


def test_answers_are_asked_once_and_forgotten_after_a_change(fake):
    """A prefetched batch is asked in one command; after an operation changed the host the next
    lookup asks the whole batch again (one command); unchanged operations keep the memory."""
    outputs = iter([
        ["@@n1 0", "p\tf\t644\troot\troot\t/etc/a\t", "@@n1 rc 0"],
        ["@@n2 0", "p\tf\t600\troot\troot\t/etc/a\t", "@@n2 rc 0"],
    ])
    nonces = iter(["n1", "n2"])
    asked = []

    def get_fact(cls, **kwargs):
        asked.append(cls.__name__)
        return next(outputs)

    fake.host.get_fact = get_fact
    original = batch.secrets.token_hex
    batch.secrets.token_hex = lambda _n: next(nonces)
    try:
        with fake.context():
            batch.prefetch(PathStates.ask("/etc/a"))
            first = batch.fact(PathStates, roots=("/etc/a",), shallow=())
            again = batch.fact(PathStates, roots=("/etc/a",), shallow=())
            assert asked == ["Batch"] and first["paths"]["/etc/a"]["mode"] == 644 and again is first

            class Meta:  # what `operation_meta` returns for the operation that just ran
                def __init__(self, changed):
                    self.changed = changed

                def did_change(self):
                    return self.changed

            watcher = next(h for h in fake.state.callback_handlers if isinstance(h, batch._ForgetAfterChanges))
            metas = {"op-unchanged": Meta(False), "op-changed": Meta(True)}
            batch.operation_meta = lambda state, host, op_hash: metas[op_hash]  # noqa: ARG005
            watcher.operation_host_success(fake.state, fake.host, "op-unchanged")
            watcher.operation_host_start(fake.state, fake.host, "next-op")
            assert batch.fact(PathStates, roots=("/etc/a",), shallow=())["paths"]["/etc/a"]["mode"] == 644
            assert asked == ["Batch"]  # nothing changed: still remembered
            watcher.operation_host_success(fake.state, fake.host, "op-changed")
            watcher.operation_host_start(fake.state, fake.host, "next-op")
            assert batch.fact(PathStates, roots=("/etc/a",), shallow=())["paths"]["/etc/a"]["mode"] == 600
            assert asked == ["Batch", "Batch"]  # asked again, as one batch
    finally:
        batch.secrets.token_hex = original
        from telework.engine.adapter import operation_meta

        batch.operation_meta = operation_meta
