"""Run every function of telework.engine.adapter against real pyinfra, on @local, and print
what each one saw as JSON (tests/unit/test_pyinfra_contract.py checks it).

A subprocess of its own: loading deploy files imports pyinfra's CLI, which monkey-patches the
process with gevent; the test process must stay unpatched.

    python pyinfra_contract_probe.py WORKDIR
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from pathlib import Path

from telework.engine import adapter


def operation_identities(workdir: Path, fast: bool) -> list:
    """(hash, names) of every operation a real deploy adds, with telework's stack walk or
    pyinfra's own (`adapter.use_fast_operation_order`)."""
    from pyinfra.api import Config, Inventory
    from pyinfra.api.state import StateStage

    deploy_dir = workdir / "order"
    deploy_dir.mkdir(exist_ok=True)
    role = deploy_dir / "role.py"
    role.write_text(textwrap.dedent("""\
        from pyinfra.operations import server
        from telework.engine.operations import files

        def helper(n):
            server.shell(name=f"in a helper {n}", commands=["true"])

        for n in range(3):
            helper(n)
        if True:
            files.directory(name="a branch", path="/tmp")
        files.directory(name="after", path="/tmp")
        """))
    site = deploy_dir / "site.py"
    site.write_text(f"from pyinfra import local\nlocal.include({str(role)!r})\n")
    inventory = Inventory(([("@local", {})], {}))
    state = adapter.new_state(inventory, Config(), [inventory.get_host("@local")])
    adapter.use_fast_operation_order(fast)
    adapter.set_cwd(state, workdir)
    state.set_stage(StateStage.Prepare)
    host = inventory.get_host("@local")
    adapter.load_deploy(state, host, str(site))
    adapter.use_fast_operation_order(True)
    return [(h, adapter.operation_name(state, h)) for h in adapter.host_operations(state, host)]


def main(workdir: Path) -> dict:
    adapter.load_cli()
    from pyinfra.api import Config, Inventory
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.api.operations import run_ops
    from pyinfra.api.state import StateStage

    from telework.engine.declare import Changed, is_sensitive
    from telework.engine.log_capture import PyinfraLog

    target = workdir / "target"
    deploy_dir = workdir / "deploy"
    deploy_dir.mkdir()
    deploy = deploy_dir / "probe.py"
    deploy.write_text(textwrap.dedent(f"""\
        from pyinfra import host
        from pyinfra.operations import server
        from telework.engine.declare import changed
        from telework.engine.operations.secret_files import secret_file

        made = server.shell(name="probe: make the directory", commands=["mkdir -p {target}"])
        key = secret_file(name="probe: a secret file", path="{target}/key", content="s3cret-value-probe\\n")
        server.shell(name="probe: handler of the secret", commands=["touch {target}/handled"], _if=changed(key))
        server.shell(name="probe: pyinfra's own condition", commands=["touch {target}/own"], _if=made.did_change)
        if host.name == "probe-broken":
            raise ValueError("the deploy of this host is broken")
        """))
    (deploy_dir / "__init__.py").write_text("")
    site = deploy_dir / "site.py"  # as telework's deploy/site.py: roles are included
    site.write_text(f"from pyinfra import local\nlocal.include({str(deploy)!r})\n")
    adapter.register_deploy_files(deploy_dir)
    out: dict = {"registered": "telework_deploy_files.probe" in sys.modules,
                 "order_fast": operation_identities(workdir, True),
                 "order_pyinfra": operation_identities(workdir, False)}

    inventory = Inventory(([("@local", {}), ("probe-broken", {})], {}))
    adapter.use_local_connector(inventory.get_host("probe-broken"))
    config = Config(CONNECT_TIMEOUT=5)
    log = PyinfraLog()
    log.take()
    state = adapter.new_state(inventory, config, [inventory.get_host("@local"), inventory.get_host("probe-broken")])
    adapter.set_cwd(state, workdir)
    out["cwd"] = str(state.cwd)
    state.set_stage(StateStage.Connect)
    connect_all(state)
    state.set_stage(StateStage.Prepare)
    local, broken = inventory.get_host("@local"), inventory.get_host("probe-broken")
    errors = adapter.spawn_per_host(state, lambda h: adapter.load_deploy(state, h, str(site)), [local, broken])
    out["load_errors"] = {h.name: (type(adapter.user_error(e)).__name__, str(adapter.user_error(e)))
                          for h, e in errors.items() if e is not None}
    adapter.fail_hosts(state, [broken])
    out["failed"] = sorted(h.name for h in state.failed_hosts)
    out["active"] = sorted(h.name for h in state.active_hosts)

    hashes = adapter.host_operations(state, local)
    out["names"] = [adapter.operation_name(state, h) for h in hashes]
    log.capturing = True
    out["commands"] = {}
    for op_hash in hashes:
        commands = adapter.operation_commands(state, local, op_hash)
        out["commands"][adapter.operation_name(state, op_hash)] = [type(c).__name__ for c in commands]
    log.capturing = False
    out["log_attributed"] = sorted({adapter.operation_name(state, h) for (_n, h) in log.op_lines})
    out["sensitive"] = [adapter.operation_name(state, h) for h in hashes if is_sensitive(state, h)]
    conditions = {}
    for op_hash in hashes:
        condition = adapter.operation_condition(state, local, op_hash)
        if isinstance(condition, Changed):
            conditions[adapter.operation_name(state, op_hash)] = [
                adapter.operation_name(state, h) for h in condition.hashes()]
        elif condition:
            target_hash, method = adapter.condition_target(condition)
            conditions[adapter.operation_name(state, op_hash)] = [adapter.operation_name(state, target_hash), method]
    out["conditions"] = conditions
    out["meta_hash_matches"] = all(
        adapter.meta_hash(adapter.operation_meta(state, local, h)) == h for h in hashes)
    out["diff_lines"] = adapter.color_diff(["a\n", "b\n"], ["a\n", "c\n"])
    out["current_host_outside"] = adapter.current_host() is None

    state.set_stage(StateStage.Execute)
    with adapter.only_hosts(state, [local]):
        out["active_inside"] = sorted(h.name for h in state.active_hosts)
        run_ops(state)
    out["active_after"] = sorted(h.name for h in state.active_hosts)
    results = {}
    for op_hash in hashes:
        meta = adapter.operation_meta(state, local, op_hash)
        results[adapter.operation_name(state, op_hash)] = meta.is_complete() and meta.did_change()
    out["changed"] = results
    out["files"] = sorted(p.name for p in target.iterdir())
    disconnect_all(state)
    log.give_back()
    return out


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(main(Path(sys.argv[1]))))
