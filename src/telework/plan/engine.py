"""Drive pyinfra through its API: connect, load deploy/site.py per host, plan, and execute.

Why not the pyinfra CLI: its exit code is 0 with or without changes, its diffs are log lines
on stderr that also carry secrets, and it prompts (research/pyinfra.md sections 0-4). Here:

* the inventory is built from the telework model (`host_entries`, the environment overlay and
  group_data/ as pyinfra's CLI loads it), limited with `--limit` through pyinfra's own
  `initial_limit` so that deploys still see the whole inventory;
* the deploy file is loaded CLI-style (`pyinfra.is_cli = True`, op identity = file and line),
  one greenlet per host, and a host whose deploy raises is failed alone - the others go on;
* change detection is the full iteration of every operation's `command_generator()` under
  `ctx_host.use(host)` (commands are generated, not executed; only read-only fact commands
  run). pyinfra's own "first command" detection is switched off (`check_for_changes=False`):
  it would run every operation's facts a second time;
* diff lines come from a logging handler on the `pyinfra` logger that attributes each record
  to `(host, host.current_op_hash)`; nothing pyinfra logs reaches the terminal;
* every text that leaves (operation names, commands, diff lines, errors) goes through the
  run's `Redactor` first, and operations that are *sensitive* never show content: the
  operation is `telework.operations.secret_files.secret_file` (or any operation function
  with `telework_sensitive = True`), its name starts with `secret:`, or a file it uploads
  contains a secret value of the inventory. A sensitive change shows `SENSITIVE_NOTE`, the
  path and pyinfra's "Will modify" line, never a diff or a command.

`execute(hosts)` then runs the prepared operations on a subset of hosts (one rollout ring)
with pyinfra's `run_ops`; commands are regenerated from fresh facts at that moment, as pyinfra
3 always does.

This module imports `pyinfra_cli` (deploy files use `local.include`, which needs it), and that
import monkey-patches the process with gevent: import it only in the process that plans.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..deploy_support import REPO_ROOT, loaded_inventory, register_deploy_files
from ..problems import TeleworkError
from ..pyinfra_inventory import host_entries, load_overlay
from ..redact import Redactor
from .groupdata import group_data_dirs, load_group_data
from .records import SENSITIVE_NOTE, Change, HostPlan, Plan
from .repo import repo_state
from .selection import parse_limit, select

SITE_DEPLOY = REPO_ROOT / "deploy" / "site.py"

#: operation names with this prefix never show content
SENSITIVE_PREFIX = "secret:"
#: operations whose content is a secret by definition: (module, function); an operation
#: function may also say so itself with an attribute `telework_sensitive = True`
SENSITIVE_OPERATIONS = {("telework.operations.secret_files", "secret_file")}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PREFIX = re.compile(r"^\[([^\]]+)\]\s*")
#: `files.line`/`files.replace` back up with `sed -i.<timestamp>`: not part of what changes
_SED_STAMP = re.compile(r"(-i\.|\.)(\d{9,})\b")

Progress = Callable[[str, str, int, int], None]  # (phase, host, done, total)


class PlanError(TeleworkError):
    """The plan or apply could not run at all (not: a host failed - that is a result)."""


@dataclass
class HostResult:
    """What `execute` did on one host."""

    name: str
    status: str  # changed | unchanged | failed | unreachable
    changed_ops: list[str] = field(default_factory=list)
    error: str | None = None


class _PyinfraLog(logging.Handler):
    """Takes every record of the `pyinfra` logger: diff and noop lines per (host, operation)
    while a plan iterates, warnings and errors per host always. Nothing is printed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.capturing = False
        self.op_lines: dict[tuple[str, str], list[str]] = {}
        self.host_errors: dict[str, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        from pyinfra.context import ctx_host

        try:
            message = _ANSI.sub("", record.getMessage())
        except Exception:  # a broken log call must not break a plan
            return
        host = ctx_host.get()
        name = getattr(host, "name", None)
        prefixed = _PREFIX.match(message)
        if prefixed:
            name = name or prefixed.group(1)
            message = message[prefixed.end():]
        if self.capturing and host is not None and record.levelno <= logging.INFO:
            op_hash = getattr(host, "current_op_hash", None)
            if op_hash:
                self.op_lines.setdefault((host.name, op_hash), []).append(message)
                return
        if record.levelno >= logging.WARNING and name:
            self.host_errors.setdefault(name, []).append(message.strip())


class Deployment:
    """One pyinfra State over an inventory: `open()` connects and loads the deploy,
    `plan()` says what would change, `execute(hosts)` applies it to some hosts.

    Use as a context manager; `close()` disconnects.
    """

    def __init__(self, inventory_dir: Path | str, *, limit: str | list[str] | None = None,
                 overlay: dict | None = None, deploy_file: Path | str = SITE_DEPLOY,
                 redactor: Redactor | None = None, fingerprint_key: bytes | None = None,
                 progress: Progress | None = None, connect_timeout: int = 10):
        self.inventory_dir = Path(inventory_dir).resolve()
        self.limit = parse_limit(limit)
        self.overlay = overlay if overlay is not None else load_overlay()
        self.deploy_file = str(Path(deploy_file).resolve())
        self.redactor = redactor or Redactor()
        self.fingerprint_key = fingerprint_key
        self.progress = progress or (lambda *_: None)
        self.connect_timeout = connect_timeout
        self.state = None
        self.entries: list[tuple[str, dict, list[str]]] = []
        self.selected: list[str] = []
        self.load_errors: dict[str, str] = {}
        self._log = _PyinfraLog()
        self._saved_logger: tuple | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Deployment:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        """Build the inventory, connect to the selected hosts and load the deploy for each."""
        os.environ.setdefault("PYINFRA_PROGRESS", "off")  # no pyinfra spinner; ours is rich
        import pyinfra
        import pyinfra_cli  # noqa: F401  (gevent patch; local.include needs pyinfra_cli.util)
        from pyinfra.api import Config, Inventory, State
        from pyinfra.api.connect import connect_all
        from pyinfra.api.exceptions import PyinfraError
        from pyinfra.api.state import StateStage
        from pyinfra.context import ctx_config, ctx_inventory, ctx_state

        from ..connector import connector_name

        self._take_logger()
        # The deploys read the same inventory through deploy_support's per-process cache.
        loaded = loaded_inventory(str(self.inventory_dir))
        self.organisation = loaded.model.organisation.slug
        self.entries = host_entries(loaded.model, self.inventory_dir, self.overlay)
        self.selected = select(self.entries, self.limit)

        group_data = load_group_data(group_data_dirs(self.inventory_dir))
        # `@telework/<name>`: pyinfra's SSH connector with TCP_NODELAY (telework.connector).
        groups: dict[str, list] = {}
        for name, data, host_groups in self.entries:
            for group in host_groups:
                groups.setdefault(group, []).append((connector_name(name), data))
        inventory = Inventory(
            ([(connector_name(name), data) for name, data, _ in self.entries], group_data.get("all", {})),
            **{g: (hosts, group_data.get(g, {})) for g, hosts in groups.items()},
        )
        pyinfra.is_cli = True  # op identity from file:line, as `pyinfra` itself (research 1)
        config = Config(DIFF=True, CONNECT_TIMEOUT=self.connect_timeout)
        state = State(check_for_changes=False)
        for ctx, obj in ((ctx_state, state), (ctx_config, config), (ctx_inventory, inventory)):
            ctx.set(obj)
        state.init(inventory, config, initial_limit=[inventory.get_host(n) for n in self.selected])
        state.cwd = str(REPO_ROOT)
        state.print_noop_info = True
        self.state = state

        state.set_stage(StateStage.Connect)
        self.progress("connect", "", 0, len(self.selected))
        try:
            connect_all(state)
        except PyinfraError:
            pass  # every host failed to connect: each is reported as unreachable
        self.unreachable = {h.name for h in state.failed_hosts}
        state.set_stage(StateStage.Prepare)
        self._load_deploy()

    def close(self) -> None:
        if self.state is not None:
            from pyinfra.api.connect import disconnect_all

            try:
                disconnect_all(self.state)
            except Exception:  # noqa: BLE001 - a dead connection must not hide the result
                pass
            self.state = None
        self._give_back_logger()

    def _take_logger(self) -> None:
        """pyinfra's logger goes only to our handler while this deployment lives; paramiko's
        (its transport thread logs tracebacks of failed handshakes) goes nowhere: pyinfra
        reports the same failure as the host's connect error."""
        saved = []
        for name, handler in (("pyinfra", self._log), ("paramiko", logging.NullHandler())):
            logger = logging.getLogger(name)
            saved.append((logger, logger.handlers[:], logger.level, logger.propagate))
            logger.handlers = [handler]
            logger.propagate = False
        logging.getLogger("pyinfra").setLevel(logging.INFO)
        self._saved_logger = tuple(saved)

    def _give_back_logger(self) -> None:
        for logger, handlers, level, propagate in self._saved_logger or ():
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
        self._saved_logger = None

    # --- prepare --------------------------------------------------------------------------
    def _active(self):
        return [h for h in self.state.inventory.iter_activated_hosts()
                if h not in self.state.failed_hosts]

    def _each_host(self, phase: str, work: Callable) -> dict:
        """Run `work(host)` for every active host in its own greenlet; {host: exception|None}."""
        import gevent

        hosts = self._active()
        greenlets = {self.state.pool.spawn(self._guarded, work, h): h for h in hosts}
        results = {}
        for done, greenlet in enumerate(gevent.iwait(list(greenlets)), start=1):
            host = greenlets[greenlet]
            results[host] = greenlet.get()
            self.progress(phase, host.name, done, len(hosts))
        return results

    @staticmethod
    def _guarded(work, host):
        try:
            work(host)
        except Exception as exc:  # noqa: BLE001 - reported per host
            return exc
        return None

    def _load_deploy(self) -> None:
        from pyinfra.context import ctx_config, ctx_host
        from pyinfra_cli.util import exec_file

        self.state.current_deploy_filename = self.deploy_file
        register_deploy_files(Path(self.deploy_file).parent)

        def load(host):
            with ctx_config.use(self.state.config.copy()), ctx_host.use(host):
                exec_file(self.deploy_file)

        for host, exc in self._each_host("prepare", load).items():
            if exc is not None:
                self.load_errors[host.name] = _describe(exc)
        self._fail(self.load_errors)

    def _fail(self, errors: dict[str, str]) -> None:
        """Fail hosts by hand: pyinfra's `fail_hosts` raises once no host is left."""
        hosts = {h for h in self._active() if h.name in errors}
        if hosts:
            self.state.failed_hosts.update(hosts)
            self.state.active_hosts -= hosts

    # --- plan -----------------------------------------------------------------------------
    def plan(self) -> Plan:
        """Every selected host's changes, by fully generating each operation's commands."""
        started = time.monotonic()
        from pyinfra.context import ctx_host

        state = self.state
        order = state.get_op_order()
        planned: dict[str, list] = {}
        iterate_errors: dict[str, str] = {}

        def iterate(host):
            out = []
            changes_by_hash: dict[str, bool] = {}
            for op_hash in order:
                if op_hash not in state.ops[host]:
                    continue
                op_data = state.get_op_data_for_host(host, op_hash)
                with ctx_host.use(host):
                    commands = list(op_data.command_generator())
                conditional = _conditional(op_data.global_arguments.get("_if"), changes_by_hash)
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

        repo = repo_state(self.inventory_dir)
        plan = Plan(
            inventory=str(self.inventory_dir), organisation=self.organisation,
            commit=repo.commit, dirty=repo.dirty, telework_version=__version__,
            created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), limit=list(self.limit),
        )
        selected = set(self.selected)
        for name, data, groups in self.entries:
            if name not in selected:
                continue
            hp = HostPlan(name=name, status="unchanged", groups=list(groups),
                          ring=data.get("telework_ring"), remote_commands=self.remote_commands(name))
            error = self.load_errors.get(name) or iterate_errors.get(name)
            if name in self.unreachable:
                hp.status = "unreachable"
                hp.error = self._host_error(name) or "could not connect"
            elif error or self.state.inventory.get_host(name) in self.state.failed_hosts:
                hp.status = "failed"
                hp.error = self.redactor.redact(error or self._host_error(name) or "failed")
            else:
                for op_hash, commands, conditional in planned.get(name, []):
                    if not commands or conditional is False:
                        hp.unchanged_ops += 1
                        continue
                    hp.changes.append(self._change(name, op_hash, commands, conditional is None))
                hp.status = "changed" if hp.changes else "unchanged"
            plan.hosts.append(hp)
        plan.duration_s = round(time.monotonic() - started, 3)
        return plan

    def remote_commands(self, name: str) -> int | None:
        """Remote commands run on host `name` so far (None: not through the telework connector)."""
        host = self.state.inventory.get_host(name) if self.state else None
        return getattr(getattr(host, "connector", None), "commands", None)

    def _host_error(self, name: str) -> str | None:
        lines = [line for line in self._log.host_errors.get(name, []) if line]
        return self.redactor.redact("; ".join(dict.fromkeys(lines))) if lines else None

    def _change(self, host_name: str, op_hash: str, commands: list, conditional: bool) -> Change:
        """A change record: redacted, sensitive content hidden, fingerprinted."""
        from pyinfra.api.command import FileUploadCommand, FunctionCommand

        redact = self.redactor.redact
        names = sorted(self.state.op_meta[op_hash].names) or [op_hash]
        op_name = names[0]
        sensitive = op_name.startswith(SENSITIVE_PREFIX) or _sensitive_function(
            self._op_data(host_name, op_hash))
        shown: list[str] = []
        identity: list[str] = [op_name]
        kind = "other"
        path = None
        for command in commands:
            if isinstance(command, FileUploadCommand):
                content = _upload_bytes(command.src)
                if redact(content.decode("utf-8", "replace")) != content.decode("utf-8", "replace"):
                    sensitive = True
                digest = hashlib.sha256(content).hexdigest()
                identity.append(f"upload {command.dest} {digest}")
                shown.append(f"upload {command.dest}")
                kind, path = "file", command.dest
            elif isinstance(command, FunctionCommand):
                func = getattr(command.function, "__name__", "function")
                identity.append(f"python {func}")
                shown.append(f"python: {func}()")
            else:
                text = str(command)
                identity.append(_SED_STAMP.sub(r"\1<ts>", text))
                shown.append(redact(text))
                if kind in ("other", "command"):
                    kind = _kind_of(text)
        lines = self._log.op_lines.get((host_name, op_hash), [])
        messages, diff = _split_log(lines)
        for message in messages:
            found = re.match(r"Will (?:modify|create|replace lines in|remove lines in) "
                             r"(?:secret file )?(/\S+)", message, re.I)
            if found:  # the real destination (an upload may go to a staging file first)
                path = found.group(1)
                kind = "file"
        if sensitive:
            shown = [f"{SENSITIVE_NOTE}{': ' + path if path else ''}"]
            diff = []
            messages = [m for m in messages if m.startswith(("Will ", "mode ", "owner ", "group "))]
        return Change(
            op=redact(op_name), kind=kind, fingerprint=self._fingerprint(identity),
            commands=shown, diff=[redact(line) for line in diff],
            messages=[redact(m) for m in messages], path=path, sensitive=sensitive,
            conditional=conditional,
        )

    def _op_data(self, host_name: str, op_hash: str):
        ops = getattr(self.state, "ops", None)
        if not ops:
            return None
        host = self.state.inventory.get_host(host_name)
        return ops.get(host, {}).get(op_hash)

    def _fingerprint(self, parts: list[str]) -> str:
        """sha256 of what would be done; HMAC-keyed by the inventory's secrets when there are
        any, so that a fingerprint in a plan artifact cannot be brute-forced into a secret."""
        data = "\n".join(parts).encode("utf-8")
        if self.fingerprint_key:
            return "hmac-sha256:" + hmac.new(self.fingerprint_key, data, hashlib.sha256).hexdigest()
        return "sha256:" + hashlib.sha256(data).hexdigest()

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
        wanted = {state.inventory.get_host(n) for n in names}
        runnable = wanted - state.failed_hosts
        waiting = state.active_hosts - runnable
        state.active_hosts = set(runnable)
        try:
            if runnable:
                for host in runnable:
                    self.progress("apply", host.name, 0, len(state.ops[host]))
                run_ops(state)
        except PyinfraError:
            pass  # "No hosts remaining!": every host of this batch failed; reported below
        finally:
            state.active_hosts = (state.active_hosts | waiting) - state.failed_hosts
        results = {}
        for host in sorted(wanted, key=lambda h: names.index(h.name)):
            results[host.name] = self._result(host)
        return results

    def _result(self, host) -> HostResult:
        name = host.name
        if name in self.unreachable:
            return HostResult(name, "unreachable", error=self._host_error(name) or "could not connect")
        changed = []
        for op_hash in self.state.get_op_order():
            op_data = self.state.ops[host].get(op_hash)
            meta = op_data.operation_meta if op_data else None
            if meta is not None and meta.is_complete() and meta.did_change():
                changed.append(self.redactor.redact(sorted(self.state.op_meta[op_hash].names)[0]))
        if host in self.state.failed_hosts:
            error = self.load_errors.get(name) or self._host_error(name) or "failed"
            return HostResult(name, "failed", changed, self.redactor.redact(error))
        return HostResult(name, "changed" if changed else "unchanged", changed)


def _progress_callback(deployment: Deployment):
    """A pyinfra state callback turning finished operations into
    `progress("apply", host, ops done, ops total)` (pyinfra is imported only here)."""
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


# --- helpers ------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """One line for a person: the exception's own text, never a traceback."""
    inner = getattr(exc, "e", None)  # pyinfra_cli's UnexpectedExternalError wraps user errors
    text = str(inner or exc) or type(inner or exc).__name__
    return f"{type(inner or exc).__name__}: {text}" if inner is not None else text


def _conditional(conditions, changes_by_hash: dict[str, bool]) -> bool | None:
    """Evaluate `_if=` at plan time where it refers to earlier operations of the host
    (`op.did_change`, `op.did_not_change`, pyinfra's `any_changed(...)`/`all_changed(...)`);
    None when it cannot be known before execution (shown as a conditional change)."""
    if not conditions:
        return True
    conditions = conditions if isinstance(conditions, list) else [conditions]
    values = [_condition_value(c, changes_by_hash) for c in conditions]
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _condition_value(condition, changes_by_hash: dict[str, bool]) -> bool | None:
    meta = getattr(condition, "__self__", None)
    if meta is not None and hasattr(meta, "_hash"):
        changed = changes_by_hash.get(meta._hash)
        if changed is None:
            return None
        return {"did_change": changed, "did_not_change": not changed,
                "did_succeed": True, "did_error": False}.get(getattr(condition, "__name__", ""))
    combine = {"any_changed": any, "all_changed": all}.get(
        getattr(condition, "__qualname__", "").split(".", 1)[0])
    if combine is not None:  # pyinfra.operations.util.any_changed / all_changed
        metas = [m for cell in condition.__closure__ or () for m in _cell_tuple(cell)]
        changed = [changes_by_hash.get(getattr(m, "_hash", None)) for m in metas]
        if metas and None not in changed:
            return combine(changed)
    return None


def _cell_tuple(cell) -> tuple:
    try:
        value = cell.cell_contents
    except ValueError:
        return ()
    return tuple(value) if isinstance(value, (tuple, list)) else ()


def _sensitive_function(op_data) -> bool:
    """Is the operation behind `op_data` one whose content is a secret? pyinfra keeps the
    operation function only in the closure of `command_generator`."""
    generator = getattr(op_data, "command_generator", None)
    for cell in getattr(generator, "__closure__", None) or ():
        try:
            func = cell.cell_contents
        except ValueError:
            continue
        if callable(func) and hasattr(func, "is_idempotent"):  # set by @operation
            if getattr(func, "telework_sensitive", False):
                return True
            if (getattr(func, "__module__", None), getattr(func, "__name__", None)) in SENSITIVE_OPERATIONS:
                return True
    return False


def _upload_bytes(src) -> bytes:
    if hasattr(src, "getvalue"):
        value = src.getvalue()
    elif hasattr(src, "read"):
        position = src.tell() if hasattr(src, "tell") else None
        value = src.read()
        if position is not None:
            src.seek(position)
    else:
        value = Path(src).read_bytes()
    return value.encode("utf-8") if isinstance(value, str) else value


def _kind_of(command: str) -> str:
    if re.search(r"\b(apt-get|apt|dpkg)\b", command):
        return "package"
    if re.search(r"\b(systemctl|service)\b", command):
        return "service"
    return "command"


def _split_log(lines: list[str]) -> tuple[list[str], list[str]]:
    """pyinfra's DIFF log lines -> (messages, unified diff lines).

    pyinfra writes `  @@ -a,b +c,d @@`, `  - old`, `  + new` and `    context` (two spaces,
    then difflib-style prefixes); unified diff wants `-old`, `+new`, ` context`.
    """
    messages: list[str] = []
    diff: list[str] = []
    for raw in lines:
        if not raw.strip():
            continue
        if raw.startswith("  "):
            body = raw[2:]
            if body.startswith("@@"):
                diff.append(body)
            elif body.startswith(("- ", "+ ")) or body in ("-", "+"):
                diff.append(body[0] + body[2:])
            elif body.startswith("  "):
                diff.append(" " + body[2:])
            else:
                diff.append(" " + body)
        elif raw.startswith("noop: "):
            continue
        else:
            messages.append(raw.strip())
    return messages, diff
