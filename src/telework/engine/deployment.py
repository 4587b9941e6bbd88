"""One pyinfra run over some hosts: connect, load deploy/site.py per host, plan, execute.

Used by `telework plan` and `apply` (hosts over SSH, through `@telework/<host>`) and by the pull
agent's local run (the one host of a bundle, on this machine). Everything that reads pyinfra's
internals goes through `telework.engine.adapter`.

* The pyinfra inventory holds every host entry given, `limit` selects those that are connected
  and deployed (pyinfra's `initial_limit`), so deploys still see the whole inventory.
* The deploy file is loaded CLI-style (operation identity = file and line), one greenlet per
  host; a host whose deploy raises is failed alone, the others go on.
* A plan generates every operation's commands without executing them (only read-only fact
  commands run) and turns them into change records (`telework.engine.changes`); `_if=`
  conditions are evaluated from the plan's own view of earlier operations where they were
  declared with `telework.engine.declare.changed` (or pyinfra's bound `op.did_change`).
* `execute(names)` runs the prepared operations on some hosts (one rollout ring) with pyinfra's
  `run_ops`; pyinfra regenerates commands from fresh facts at that moment, as it always does.
"""

from __future__ import annotations

import re

import os
from collections.abc import Callable
from pathlib import Path

from telework.core.problems import TeleworkError
from telework.engine import adapter
from telework.engine.changes import Fingerprinter, change_record
from telework.engine.declare import Changed, is_sensitive
from telework.engine.log_capture import PyinfraLog
from telework.plan.records import HostPlan, HostResult
from telework.resources import site_deploy
from telework.secrets.redact import Redactor

Progress = Callable[[str, str, int, int], None]  # (phase, host, done, total)
#: (host name, host data, groups): one pyinfra host (telework.inventory.hosts.host_entries)
Entry = tuple[str, dict, list[str]]


class PlanError(TeleworkError):
    """The plan or apply could not run at all (not: a host failed - that is a result)."""


class Deployment:
    """One pyinfra State over `entries`: `open()` connects the `selected` hosts and loads the
    deploy for each, `plan()` says what would change, `execute(names)` applies it.

    Use as a context manager; `close()` disconnects.
    """

    def __init__(self, entries: list[Entry], selected: list[str], group_data: dict[str, dict], *,
                 deploy_file: Path | str | None = None, connector: str = "ssh",
                 redactor: Redactor | None = None, fingerprint_key: bytes | None = None,
                 progress: Progress | None = None, connect_timeout: int = 10, cwd: Path | str | None = None):
        self.entries = entries
        self.selected = list(selected)
        self.group_data = group_data
        self.deploy_file = str(Path(deploy_file or site_deploy()).resolve())
        self.connector = connector
        self.redactor = redactor or Redactor()
        self.fingerprint = Fingerprinter(fingerprint_key)
        self.progress = progress or (lambda *_: None)
        self.connect_timeout = connect_timeout
        # operation names are "<deploy file relative to cwd> | <name>": "deploy/base.py | ..."
        # wherever telework is installed (a checkout, a wheel, a pull bundle)
        self.cwd = cwd or Path(self.deploy_file).parent.parent
        self.state = None
        self.unreachable: set[str] = set()
        self.load_errors: dict[str, str] = {}
        self._log = PyinfraLog()

    # --- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Deployment:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _name(self, name: str) -> str:
        """pyinfra's inventory name of a host: `@telework/<name>` selects telework's SSH
        connector (the host is still called `<name>`)."""
        if self.connector == "ssh":
            from telework.engine.connector import connector_name

            return connector_name(name)
        return name

    def open(self) -> None:
        """Build the inventory, connect to the selected hosts and load the deploy for each."""
        os.environ.setdefault("PYINFRA_PROGRESS", "off")  # no pyinfra spinner; ours is rich
        adapter.load_cli()
        from pyinfra.api import Config, Inventory
        from pyinfra.api.connect import connect_all
        from pyinfra.api.exceptions import PyinfraError
        from pyinfra.api.state import StateStage

        self._log.take()
        groups: dict[str, list] = {}
        for name, data, host_groups in self.entries:
            for group in host_groups:
                groups.setdefault(group, []).append((self._name(name), data))
        inventory = Inventory(
            ([(self._name(name), data) for name, data, _ in self.entries], self.group_data.get("all", {})),
            **{g: (hosts, self.group_data.get(g, {})) for g, hosts in groups.items()},
        )
        if self.connector == "local":
            for name in self.selected:
                adapter.use_local_connector(inventory.get_host(name))
        config = Config(DIFF=True, CONNECT_TIMEOUT=self.connect_timeout)
        state = self.state = adapter.new_state(inventory, config, [inventory.get_host(n) for n in self.selected])
        adapter.set_cwd(state, self.cwd)

        state.set_stage(StateStage.Connect)
        self.progress("connect", "", 0, len(self.selected))
        try:
            connect_all(state)
        except PyinfraError:
            pass  # every host failed to connect: each is reported as unreachable
        self.unreachable = {h.name for h in state.failed_hosts}
        state.set_stage(StateStage.Prepare)
        adapter.register_deploy_files(Path(self.deploy_file).parent)
        for host, exc in self._each_host("prepare",
                                         lambda h: adapter.load_deploy(state, h, self.deploy_file)).items():
            if exc is not None:
                self.load_errors[host.name] = _describe(exc)
        self._fail(self.load_errors)

    def close(self) -> None:
        if self.state is not None:
            from pyinfra.api.connect import disconnect_all

            try:
                disconnect_all(self.state)
            except Exception:  # noqa: BLE001 - a dead connection must not hide the result
                pass
            self.state = None
        self._log.give_back()

    # --- helpers --------------------------------------------------------------------------
    def _active(self):
        return [h for h in self.state.inventory.iter_activated_hosts() if h not in self.state.failed_hosts]

    def _each_host(self, phase: str, work: Callable) -> dict:
        hosts = self._active()
        results = {}
        for done, (host, exc) in enumerate(adapter.spawn_per_host(self.state, work, hosts).items(), start=1):
            results[host] = exc
            self.progress(phase, host.name, done, len(hosts))
        return results

    def _fail(self, errors: dict[str, str]) -> None:
        adapter.fail_hosts(self.state, {h for h in self._active() if h.name in errors})

    def remote_commands(self, name: str) -> int | None:
        """Remote commands run on host `name` so far (None: not through the telework connector)."""
        host = self.state.inventory.get_host(name) if self.state else None
        return getattr(getattr(host, "connector", None), "commands", None)

    def _host_error(self, name: str) -> str | None:
        lines = self._log.errors_of(name)
        return self.redactor.redact("; ".join(dict.fromkeys(lines))) if lines else None

    # --- plan -----------------------------------------------------------------------------
    def plan(self) -> list[HostPlan]:
        """Every selected host's changes, by fully generating each operation's commands."""
        state = self.state
        planned: dict[str, list] = {}
        iterate_errors: dict[str, str] = {}

        def iterate(host):
            out = []
            changes_by_hash: dict[str, bool] = {}
            for op_hash in adapter.host_operations(state, host):
                commands = adapter.operation_commands(state, host, op_hash)
                conditional = evaluate_condition(adapter.operation_condition(state, host, op_hash),
                                                 changes_by_hash)
                changes_by_hash[op_hash] = bool(commands) and conditional is not False
                out.append((op_hash, commands, conditional))
            planned[host.name] = out

        self._log.capturing = True
        try:
            for host, exc in self._each_host("plan", iterate).items():
                if exc is not None:
                    iterate_errors[host.name] = _describe(exc)
        finally:
            self._log.capturing = False
        self._fail(iterate_errors)

        plans = []
        by_name = {name: (data, groups) for name, data, groups in self.entries}
        for name in self.selected:
            data, groups = by_name[name]
            hp = HostPlan(name=name, status="unchanged", groups=list(groups), ring=data.get("telework_ring"),
                          remote_commands=self.remote_commands(name))
            error = self.load_errors.get(name) or iterate_errors.get(name)
            pyinfra_host = state.inventory.get_host(name)
            if name in self.unreachable:
                hp.status = "unreachable"
                hp.error = _login_hint(self._host_error(name) or "could not connect", data)
            elif error or pyinfra_host in state.failed_hosts:
                hp.status = "failed"
                hp.error = self.redactor.redact(error or self._host_error(name) or "failed")
            else:
                for op_hash, commands, conditional in planned.get(name, []):
                    if not commands or conditional is False:
                        hp.unchanged_ops += 1
                        continue
                    hp.changes.append(change_record(
                        adapter.operation_name(state, op_hash), commands,
                        self._log.op_lines.get((name, op_hash), []),
                        declared_sensitive=is_sensitive(state, op_hash), conditional=conditional is None,
                        redactor=self.redactor, fingerprint=self.fingerprint))
                hp.status = "changed" if hp.changes else "unchanged"
            plans.append(hp)
        return plans

    # --- execute --------------------------------------------------------------------------
    def execute(self, names: list[str]) -> dict[str, HostResult]:
        """Run the prepared operations on the hosts `names` (the others wait), as `pyinfra -y`
        would; returns each host's result. Hosts that failed earlier are reported, not run."""
        from pyinfra.api.exceptions import PyinfraError
        from pyinfra.api.operations import run_ops
        from pyinfra.api.state import StateStage

        state = self.state
        if state.current_stage < StateStage.Execute:
            state.set_stage(StateStage.Execute)
            state.add_callback_handler(_progress_callback(self))
        wanted = [state.inventory.get_host(n) for n in names]
        runnable = set(wanted) - state.failed_hosts
        with adapter.only_hosts(state, runnable):
            try:
                if runnable:
                    for host in runnable:
                        self.progress("apply", host.name, 0, len(adapter.host_operations(state, host)))
                    run_ops(state)
            except PyinfraError:
                pass  # "No hosts remaining!": every host of this batch failed; reported below
        return {name: self._result(name, host) for name, host in zip(names, wanted)}

    def _result(self, name: str, host) -> HostResult:
        if name in self.unreachable:
            data = next((d for n, d, _g in self.entries if n == name), {})
            return HostResult(name, "unreachable", error=_login_hint(self._host_error(name) or "could not connect", data))
        changed, failed = [], []
        for op_hash in adapter.host_operations(self.state, host):
            meta = adapter.operation_meta(self.state, host, op_hash)
            if meta is None or not meta.is_complete():
                continue
            op_name = self.redactor.redact(adapter.operation_name(self.state, op_hash))
            if meta.did_change():
                changed.append(op_name)
            elif not meta.did_succeed():
                failed.append(op_name)
        if host in self.state.failed_hosts or failed:
            error = self.load_errors.get(name) or self._host_error(name) or (
                f"failed: {', '.join(failed)}" if failed else "failed")
            return HostResult(name, "failed", changed, self.redactor.redact(error), failed_ops=failed)
        return HostResult(name, "changed" if changed else "unchanged", changed)


def _progress_callback(deployment: Deployment):
    """A pyinfra state callback turning finished operations into
    `progress("apply", host, ops done, ops total)`."""
    from pyinfra.api.state import BaseStateCallback

    class ExecuteProgress(BaseStateCallback):
        def __init__(self) -> None:
            self.done: dict[str, int] = {}

        def _tick(self, state, host) -> None:
            self.done[host.name] = self.done.get(host.name, 0) + 1
            deployment.progress("apply", host.name, self.done[host.name], len(state.ops[host]))

        def operation_host_success(self, state, host, op_hash, retry_count=0):
            self._tick(state, host)

        def operation_host_error(self, state, host, op_hash, *args, **kwargs):
            self._tick(state, host)

    return ExecuteProgress()


def _describe(exc: BaseException) -> str:
    """One line for a person: the exception's own text, never a traceback."""
    inner = adapter.user_error(exc)
    text = str(inner) or type(inner).__name__
    return f"{type(inner).__name__}: {text}" if inner is not exc else text


def evaluate_condition(conditions, changes_by_hash: dict[str, bool]) -> bool | None:
    """`_if=` at plan time, from the plan's view of the host's earlier operations: True, False,
    or None when it cannot be known before execution (shown as a conditional change)."""
    if not conditions:
        return True
    conditions = conditions if isinstance(conditions, list) else [conditions]
    values = [_condition_value(c, changes_by_hash) for c in conditions]
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _condition_value(condition, changes_by_hash: dict[str, bool]) -> bool | None:
    if isinstance(condition, Changed):
        changed = [changes_by_hash.get(h) for h in condition.hashes()]
        if None in changed:
            return None
        return any(changed)
    target = adapter.condition_target(condition)
    if target is not None:
        op_hash, method = target
        changed = changes_by_hash.get(op_hash)
        if changed is None:
            return None
        return {"did_change": changed, "did_not_change": not changed,
                "did_succeed": True, "did_error": False}.get(method)
    return None


def _login_hint(error: str, data: dict) -> str:
    """A refused login as another account than root is most often the plan account on a host
    not bootstrapped for planning yet: say so."""
    user = data.get("ssh_user")
    if user and user != "root" and re.search(r"auth|permission denied", error, re.I):
        return (f"{error} (logging in as {user}: a host is bootstrapped for planning by an apply of "
                f"the base role with the deploy credential and base_plan_public_key set)")
    return error
