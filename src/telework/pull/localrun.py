"""Apply an unpacked pull bundle on this machine: deploy/site.py through pyinfra on @local.

    cd BUNDLE && PYTHONPATH=src python -m telework.pull.localrun --bundle . --result result.json

The pull agent runs this (telework.pull.agent) after it verified the bundle. The host is the
bundle's host (host.json: name, groups, data as `telework pull build` computed them with
telework.pyinfra_inventory.host_entries), so deploys see the same `host.name`, `host.groups`
and `host.data` as a push apply does; group_data/ is loaded as pyinfra's CLI loads it. Only
the connector differs: commands run locally, as root, through pyinfra's @local connector.

A pull bundle carries no secrets: a deploy that asks the secret store for a value fails the
run with `PULL_SECRET_ERROR` (README, "Pull mode").

The result file: {"host", "status": applied|failed, "changed": [operation names],
"failed": [operation names], "error": text or null}. Exit code 0 applied, 1 failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

PULL_SECRET_ERROR = (
    "pull mode: the deploy asks for secret {name}, but pull bundles carry no secrets; "
    "deploy this host by push (telework apply) or change the deploy (README, 'Pull mode')"
)


def _refuse_secrets() -> None:
    from ..problems import SecretError
    from ..secrets import SecretStore

    def get(self, name: str) -> str:
        raise SecretError(PULL_SECRET_ERROR.format(name=name))

    SecretStore.get = get  # type: ignore[method-assign]


def run(bundle: Path) -> dict:
    os.environ.setdefault("PYINFRA_PROGRESS", "off")
    import pyinfra_cli  # noqa: F401  (gevent patch; local.include needs pyinfra_cli.util)
    import pyinfra
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.api.exceptions import PyinfraError
    from pyinfra.api.operations import run_ops
    from pyinfra.api.state import StateStage
    from pyinfra.connectors.local import LocalConnector
    from pyinfra.context import ctx_config, ctx_host, ctx_inventory, ctx_state
    from pyinfra_cli.util import exec_file

    from ..plan.groupdata import group_data_dirs, load_group_data

    _refuse_secrets()
    spec = json.loads((bundle / "host.json").read_text(encoding="utf-8"))
    name, groups, data = spec["name"], spec["groups"], dict(spec["data"])
    data["telework_inventory"] = str((bundle / data["telework_inventory"]).resolve())
    group_data = load_group_data(group_data_dirs(data["telework_inventory"]))
    inventory = Inventory(([(name, data)], group_data.get("all", {})),
                          **{g: ([name], group_data.get(g, {})) for g in groups})
    host = inventory.get_host(name)
    host.connector_cls = LocalConnector  # the bundle's host is this machine

    pyinfra.is_cli = True
    config = Config(CONNECT_TIMEOUT=10)
    state = State(check_for_changes=False)
    for ctx, obj in ((ctx_state, state), (ctx_config, config), (ctx_inventory, inventory)):
        ctx.set(obj)
    state.init(inventory, config)
    state.cwd = str(bundle)
    deploy_file = str(bundle / "deploy" / "site.py")
    state.current_deploy_filename = deploy_file
    result: dict = {"host": name, "changed": [], "failed": [], "error": None}
    try:
        state.set_stage(StateStage.Connect)
        connect_all(state)
        state.set_stage(StateStage.Prepare)
        with ctx_config.use(state.config.copy()), ctx_host.use(host):
            exec_file(deploy_file)
        state.set_stage(StateStage.Execute)
        try:
            run_ops(state)
        except PyinfraError as exc:
            result["error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - reported, never a traceback to the timer's log only
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            disconnect_all(state)
        except Exception:  # noqa: BLE001
            pass
    for op_hash in state.get_op_order():
        op_data = state.ops[host].get(op_hash)
        meta = op_data.operation_meta if op_data else None
        op_name = sorted(state.op_meta[op_hash].names)[0]
        if meta is None:
            continue
        if meta.is_complete() and meta.did_change():
            result["changed"].append(op_name)
        elif meta.is_complete() and not meta.did_succeed():
            result["failed"].append(op_name)
    if host in state.failed_hosts and not result["error"]:
        result["error"] = "the host failed (see the operations listed as failed)"
    result["status"] = "failed" if (result["error"] or result["failed"]) else "applied"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m telework.pull.localrun")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    result = run(args.bundle.resolve())
    args.result.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    for op in result["changed"]:
        print(f"changed: {op}")
    for op in result["failed"]:
        print(f"failed: {op}")
    if result["error"]:
        print(f"error: {result['error']}", file=sys.stderr)
    return 0 if result["status"] == "applied" else 1


if __name__ == "__main__":
    sys.exit(main())
