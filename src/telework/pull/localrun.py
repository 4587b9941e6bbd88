"""Apply an unpacked pull bundle on this machine: deploy/site.py through pyinfra on @local.

    cd BUNDLE && PYTHONPATH=. python -m telework.pull.localrun --bundle . --result result.json

The pull agent runs this (telework.pull.agent) after it verified the bundle. The host is the
bundle's host (host.json: name, groups, data as `telework pull build` computed them with
telework.inventory.hosts.host_entries), so deploys see the same `host.name`, `host.groups`
and `host.data` as a push apply does, and the same engine runs them
(telework.engine.deployment); group_data/ is loaded as pyinfra's CLI loads it. Only the
connector differs: commands run locally, as root, through pyinfra's @local connector. The
bundle's telework (with its deploy files, templates and group data) is the one imported.

A pull bundle carries no secrets: a deploy that asks the secret store for a value fails the
run with `PULL_SECRET_ERROR` (README, "Pull mode").

The result file: {"host", "status": applied|failed, "changed": [operation names],
"failed": [operation names], "error": text or null}. Exit code 0 applied, 1 failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

PULL_SECRET_ERROR = (
    "pull mode: the deploy asks for secret {name}, but pull bundles carry no secrets; "
    "deploy this host by push (telework apply) or change the deploy (README, 'Pull mode')"
)


def _refuse_secrets() -> None:
    from telework.core.problems import SecretError
    from telework.secrets.store import SecretStore

    def get(self, name: str) -> str:
        raise SecretError(PULL_SECRET_ERROR.format(name=name))

    SecretStore.get = get  # type: ignore[method-assign]


def run(bundle: Path) -> dict:
    """Apply the bundle's host on this machine; the result dict (see the module docstring)."""
    from telework.engine.deployment import Deployment
    from telework.engine.group_data import group_data_dirs, load_group_data
    from telework.resources import site_deploy

    _refuse_secrets()
    spec = json.loads((bundle / "host.json").read_text(encoding="utf-8"))
    name, groups, data = spec["name"], spec["groups"], dict(spec["data"])
    data["telework_inventory"] = str((bundle / data["telework_inventory"]).resolve())
    group_data = load_group_data(group_data_dirs(data["telework_inventory"]))
    result: dict = {"host": name, "changed": [], "failed": [], "error": None}
    deployment = Deployment([(name, data, groups)], [name], group_data, connector="local",
                            deploy_file=site_deploy())
    try:
        deployment.open()
        outcome = deployment.execute([name])[name]
        result["changed"], result["failed"] = outcome.changed_ops, outcome.failed_ops
        if outcome.status in ("failed", "unreachable"):
            result["error"] = outcome.error or "the host failed (see the operations listed as failed)"
    except Exception as exc:  # noqa: BLE001 - reported, never a traceback to the timer's log only
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        deployment.close()
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
