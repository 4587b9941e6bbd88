"""Every use of pyinfra beyond its documented API, in one place.

telework drives pyinfra through its Python API (research: the CLI's exit code, prompts and
stderr diffs do not fit a reviewed plan). The documented API (`Inventory`, `Config`, `State`,
`connect_all`, `run_ops`, `disconnect_all`, `BaseStateCallback`, `FactBase`, `@operation`,
`StringCommand`, `FileUploadCommand`, connectors) is used where it is needed. What a plan needs
beyond that - the commands an operation *would* run, an operation's names and conditions, the
operation a log line belongs to, running a subset of hosts, loading a deploy file the way the
CLI does - reads pyinfra's internals, and only this module does so.

Each function here has a contract test (tests/unit/test_pyinfra_contract.py) that runs it
against real pyinfra and fails loudly when an upgrade changes what it relies on; pyproject.toml
pins pyinfra to the minor release those tests pass on (`TESTED_MINOR`).

Importing this module does not import pyinfra's CLI: `load_cli()` does, once, in the process
that plans or applies (it monkey-patches the process with gevent).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: the pyinfra minor release the contract tests were run against (pyproject pins it)
TESTED_MINOR = "3.10"


def load_cli() -> None:
    """Import `pyinfra_cli`: deploy files use `local.include`, which needs it. The import runs
    `gevent.monkey.patch_all()`: call this only in a process that plans, applies or pulls."""
    import pyinfra_cli  # noqa: F401


def _operation_order(state) -> list[int]:
    """pyinfra's `get_operation_order_from_stack`, without `inspect.stack()`.

    pyinfra identifies an operation by the line numbers of the call stack below the deploy file
    (so branches in a deploy merge). It gets them with `inspect.stack()`, which builds a
    FrameInfo with source context for every frame - about 3 ms per operation, 0.1 s for a
    concentrator. This walks the same frames with `sys._getframe`: the same filenames
    (`co_filename`), the same line numbers, the same result (contract-tested against pyinfra's
    own function on a real deploy).
    """
    import pyinfra
    from pyinfra.api.util import PYINFRA_INSTALL_DIR

    frames = []
    frame = sys._getframe(1)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()  # outermost first, as pyinfra reverses its stack
    start = 0
    if state.current_deploy_filename:
        for start, item in enumerate(frames):
            if item.f_code.co_filename == state.current_deploy_filename:
                break
    numbers = [state.current_op_file_number] if pyinfra.is_cli else []
    numbers += [f.f_lineno for f in frames[start:] if not f.f_code.co_filename.startswith(PYINFRA_INSTALL_DIR)]
    return numbers


def use_fast_operation_order(enabled: bool = True) -> None:
    """Make pyinfra identify operations with `_operation_order` (or its own function again)."""
    import pyinfra.api.operation as operation_module
    from pyinfra.api import util

    operation_module.get_operation_order_from_stack = _operation_order if enabled \
        else util.get_operation_order_from_stack


def new_state(inventory, config, limit_hosts: list | None = None):
    """A State over `inventory` as the CLI makes one: operation identity from the deploy file's
    lines (`pyinfra.is_cli`), pyinfra's own change detection off (telework generates every
    operation's commands itself), the context variables set, `limit_hosts` as the CLI's
    `--limit` (deploys still see the whole inventory)."""
    import pyinfra
    from pyinfra.api import State
    from pyinfra.context import ctx_config, ctx_inventory, ctx_state

    pyinfra.is_cli = True
    use_fast_operation_order()
    state = State(check_for_changes=False)
    for ctx, obj in ((ctx_state, state), (ctx_config, config), (ctx_inventory, inventory)):
        ctx.set(obj)
    state.init(inventory, config, initial_limit=limit_hosts)
    state.print_noop_info = True
    return state


def set_cwd(state, directory: Path | str) -> None:
    """Where pyinfra resolves relative `src=` paths of operations (the CLI's working directory)."""
    state.cwd = str(directory)


def load_deploy(state, host, deploy_file: str) -> None:
    """Run a deploy file for one host the way `pyinfra INVENTORY DEPLOY` does (pyinfra_cli's
    `exec_file` under the host's context); its operations are added to the state."""
    from pyinfra.context import ctx_config, ctx_host
    from pyinfra_cli.util import exec_file

    state.current_deploy_filename = deploy_file
    with ctx_config.use(state.config.copy()), ctx_host.use(host):
        exec_file(deploy_file)


def user_error(exc: BaseException) -> BaseException:
    """The error a deploy file raised: pyinfra's CLI wraps it in UnexpectedExternalError
    (`.exception`; the wrapper's own str() fails, it never sets click's message), once per
    `local.include` level it passed through."""
    while isinstance(getattr(exc, "exception", None), BaseException):
        exc = exc.exception
    return exc


def register_deploy_files(deploy_dir: Path | str) -> None:
    """Give every deploy file a module entry in sys.modules (looked up, never imported).

    pyinfra orders operations by their call stack (`inspect.stack()` for every operation), and
    `inspect.getmodule` scans all of sys.modules (~1,200 entries) for each frame of a file that
    is no module - deploy files, run by `exec`, are not: about 1.5 ms per frame, three frames per
    operation, 30 operations per concentrator. With an entry per file it is one dictionary
    lookup; a six-concentrator plan got 0.2 s faster.
    """
    for path in Path(deploy_dir).glob("*.py"):
        name = f"telework_deploy_files.{path.stem}"
        if name not in sys.modules:
            module = types.ModuleType(name, f"deploy file {path} (looked up by inspect, never imported)")
            module.__file__ = str(path)
            sys.modules[name] = module


# --- operations of a prepared state ---------------------------------------------------------


def host_operations(state, host) -> list[str]:
    """The operation hashes of `host`, in execution order."""
    ops = state.ops[host]
    return [op_hash for op_hash in state.get_op_order() if op_hash in ops]


def operation_name(state, op_hash: str) -> str:
    """The operation's `name=` (the first of its names when calls at one line differ)."""
    names = sorted(state.op_meta[op_hash].names)
    return names[0] if names else op_hash


def operation_commands(state, host, op_hash: str) -> list:
    """Every command the operation would run on `host` now: its body is run against the
    (remembered) facts and its commands collected, none executed."""
    from pyinfra.context import ctx_host

    op_data = state.get_op_data_for_host(host, op_hash)
    with ctx_host.use(host):
        return list(op_data.command_generator())


def operation_condition(state, host, op_hash: str):
    """The `_if=` global argument the operation was added with (None without one)."""
    return state.get_op_data_for_host(host, op_hash).global_arguments.get("_if")


def operation_meta(state, host, op_hash: str):
    """The OperationMeta pyinfra returned when the deploy added the operation."""
    op_data = state.ops[host].get(op_hash)
    return op_data.operation_meta if op_data else None


def meta_hash(meta) -> str:
    """The operation hash of an OperationMeta (what a deploy holds of an earlier operation)."""
    return meta._hash


def condition_target(condition) -> tuple[str, str] | None:
    """(operation hash, method) when `condition` is a bound OperationMeta method such as
    `op.did_change` - pyinfra's own way to write `_if=`; else None."""
    from pyinfra.api.operation import OperationMeta

    meta = getattr(condition, "__self__", None)
    if isinstance(meta, OperationMeta):
        return meta_hash(meta), getattr(condition, "__name__", "")
    return None


def current_host():
    """The host whose deploy or operation runs now in this greenlet (None outside one)."""
    from pyinfra.context import ctx_host

    return ctx_host.get() if ctx_host.isset() else None


def current_state():
    """The State of the run in progress."""
    from pyinfra.context import ctx_state

    return ctx_state.get()


def current_op_hash(host) -> str | None:
    """The operation pyinfra is running (or generating) for `host`, for attributing log lines."""
    return getattr(host, "current_op_hash", None)


# --- hosts --------------------------------------------------------------------------------


def fail_hosts(state, hosts) -> None:
    """Fail `hosts` by hand: pyinfra's own `fail_hosts` raises once no host is left."""
    hosts = set(hosts)
    if hosts:
        state.failed_hosts.update(hosts)
        state.active_hosts -= hosts


@contextmanager
def only_hosts(state, hosts) -> Iterator[None]:
    """Run what happens inside on `hosts` alone (one rollout ring); the other active hosts wait
    and are active again afterwards, minus those that failed meanwhile."""
    waiting = state.active_hosts - set(hosts)
    state.active_hosts = set(hosts) - state.failed_hosts
    try:
        yield
    finally:
        state.active_hosts = (state.active_hosts | waiting) - state.failed_hosts


def spawn_per_host(state, work: Callable, hosts: list) -> dict:
    """Run `work(host)` for each host in pyinfra's greenlet pool; {host: exception or None},
    in completion order."""
    import gevent

    def guarded(host):
        try:
            work(host)
        except Exception as exc:  # noqa: BLE001 - reported per host
            return exc
        return None

    greenlets = {state.pool.spawn(guarded, h): h for h in hosts}
    return {greenlets[g]: g.get() for g in gevent.iwait(list(greenlets))}


def use_local_connector(host) -> None:
    """Make `host` run its commands on this machine (pull mode: the bundle's host is here)."""
    from pyinfra.connectors.local import LocalConnector

    host.connector_cls = LocalConnector


def color_diff(current: list[str], desired: list[str]) -> list[str]:
    """pyinfra's `--diff` lines for a text change (what its own `files.put` logs)."""
    from pyinfra.operations.util.files import generate_color_diff

    return list(generate_color_diff(current, desired))
