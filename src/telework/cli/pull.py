"""`telework pull …`: pull mode for endpoints that are offline when CI runs (telework.pull)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from telework.cli.common import console, err_console, inventory_argument
from telework.cli.secret import _identity_option
from telework.pull.signing import PullError
from telework.resources import deploy_dir, group_data_dir
from telework.secrets.store import SecretStore


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


@click.group("pull")
def pull_group() -> None:
    """Pull mode: endpoints fetch their signed bundle and apply it themselves (README "Pull mode")."""


@pull_group.command()
@inventory_argument
@_identity_option
def init(inventory: Path, identity: Path | None) -> None:
    """Create the Ed25519 signing key: secret pull/signing-key, public key INVENTORY/pull/signing.pub."""
    from telework.pull.signing import SIGNING_SECRET, init_signing_key, key_id

    path, created = init_signing_key(inventory, SecretStore(inventory, identity))
    kid = key_id(path.read_bytes())
    if not created:
        _say(f"{inventory}: the pull signing key exists (key id {kid}), nothing to do")
        return
    _say(f"created secret {SIGNING_SECRET} and {path} (key id {kid})")
    _say(f"commit {path} and {inventory}/secrets, then install the agent (telework pull install)")


@pull_group.command()
@inventory_argument
@_identity_option
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write into (what the web server publishes).")
@click.option("--limit", help="Endpoints or groups, as for `telework plan` (default: every endpoint).")
@click.option("--base-url", help="URL the agents use (default: pull_base_url of the group data).")
@click.option("--allow-dirty", is_flag=True, help="Build from an inventory with uncommitted changes.")
@click.option("--no-wheelhouse", is_flag=True, help="Leave the wheelhouse out (the agents keep their venv).")
def build(inventory: Path, identity: Path | None, out: Path, limit: str | None, base_url: str | None,
          allow_dirty: bool, no_wheelhouse: bool) -> None:
    """Write a signed bundle for every selected endpoint into OUT/<host>/."""
    from telework.pull.bundle import build_bundles
    from telework.pull.signing import load_signing_key
    from telework.pull.wheelhouse import build_wheelhouse

    key = load_signing_key(inventory, SecretStore(inventory, identity))
    wheelhouse = None if no_wheelhouse else build_wheelhouse(out)
    built = build_bundles(inventory, out, key, wheelhouse=wheelhouse, limit=limit, base_url=base_url,
                          allow_dirty=allow_dirty)
    if not built:
        raise PullError(f"no endpoint selected in {inventory} (groups linux_endpoints, notebooks)")
    for bundle in built:
        _say(f"{bundle.host}: {bundle.files} files, {bundle.size // 1024} KiB, manifest {bundle.manifest_sha256[:12]}")
    if wheelhouse is not None:
        _say(f"wheelhouse {wheelhouse.sha256[:12]}: {len(wheelhouse.requirements)} packages, "
             f"{wheelhouse.size // 1024 // 1024} MiB")
    _say(f"{len(built)} bundle(s) in {out}")


@pull_group.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--listen", default="127.0.0.1:8089", show_default=True, help="ADDRESS:PORT to listen on.")
@click.option("--quiet", is_flag=True, help="No request log.")
def serve(directory: Path, listen: str, quiet: bool) -> None:
    """Serve DIRECTORY's bundles over HTTP and store the agents' reports in DIRECTORY/reports/."""
    from telework.pull.server import make_server, parse_listen

    try:
        address, port = parse_listen(listen)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    server = make_server(directory, address, port, quiet=quiet)
    err_console.print(f"telework pull: serving {escape(str(directory))} on http://{address}:{server.server_port}/",
                      soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@pull_group.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--stale-days", type=float, default=7, show_default=True,
              help="An endpoint without a report for this long is stale.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def reports(directory: Path, stale_days: float, fmt: str) -> None:
    """The last report of every endpoint in DIRECTORY; exit 2 when one failed, was refused or is stale."""
    from telework.pull.reports import endpoint_statuses

    rows = endpoint_statuses(directory, stale_days)
    if fmt == "json":
        json.dump({"directory": str(directory), "stale_days": stale_days, "endpoints": [r.to_dict() for r in rows]},
                  sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        table = Table(title=f"pull reports in {directory}")
        for column in ("host", "status", "finished", "commit", "changed", "failed", "note"):
            table.add_column(column)
        for r in rows:
            status = {"applied": "[green]applied[/]", "never": "[yellow]never reported[/]"}.get(
                r.status, f"[red]{escape(r.status)}[/]")
            notes = []
            if r.stale and r.status != "never":
                notes.append(f"[yellow]stale: no report for {stale_days:g} days[/]")
            if r.status == "applied" and not r.current:
                notes.append("not on the published bundle yet")
            if r.error and r.status != "applied":
                notes.append(escape(r.error[:120]))
            table.add_row(escape(r.host), status, r.finished or "", (r.commit or "")[:12], str(r.changed),
                          str(r.failed), "; ".join(notes))
        console.print(table)
    if any(r.stale or r.status not in ("applied",) for r in rows):
        sys.exit(2)


@pull_group.command()
@click.argument("hosts")
@inventory_argument
@click.option("--base-url", required=True, help="URL the agent fetches from, e.g. http://10.199.0.1:8089")
@click.option("--timeout", type=int, default=1200, show_default=True, help="Seconds for the whole install.")
def install(hosts: str, inventory: Path, base_url: str, timeout: int) -> None:
    """Install the pull agent on HOSTS by push (once, while the device is in the office or on VPN):
    the venv from the wheelhouse, the agent, its key and the timer (deploy/pull_agent.py)."""
    from telework.inventory.hosts import host_entries
    from telework.inventory.loading import require_inventory
    from telework.inventory.overlay import load_overlay
    from telework.plan.selection import select
    from telework.pull.bundle import pull_hosts
    from telework.pull.signing import load_public_key
    from telework.pull.wheelhouse import build_wheelhouse, cache_dir

    load_public_key(inventory)
    overlay = load_overlay()
    targets = [name for name, _, _ in pull_hosts(inventory.resolve(), hosts, overlay)]
    if not targets:
        entries = host_entries(require_inventory(inventory).model, inventory, overlay)
        raise PullError(f"{hosts!r} selects no endpoint (selected: {', '.join(select(entries, hosts)) or 'nothing'})")
    wheelhouse = build_wheelhouse(cache_dir())
    argv = [str(Path(sys.executable).parent / "pyinfra"), "-y", str(inventory.resolve() / "inventory.py"),
            str(deploy_dir() / "pull_agent.py"),
            *[arg for name in targets for arg in ("--limit", name)],
            "--data", f"pull_base_url={base_url}",
            "--data", f"pull_wheelhouse={wheelhouse.path}",
            "--data", f"pull_wheelhouse_sha256={wheelhouse.sha256}"]
    env = {**os.environ, "PYINFRA_PROGRESS": "off"}
    try:
        # pyinfra's CLI reads <cwd>/group_data first (telework's defaults), then the inventory's own
        done = subprocess.run(argv, cwd=group_data_dir().parent, env=env, timeout=timeout,
                              capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        raise PullError(f"the install took longer than {timeout} s") from None
    if done.returncode != 0:
        raise PullError(f"pyinfra failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
    _say(f"pull agent installed on {', '.join(targets)}: telework-pull.timer fetches from {base_url}")
