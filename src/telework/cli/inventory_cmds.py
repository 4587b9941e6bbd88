"""`telework validate`, `telework inventory show`, `telework schema`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from telework.cli.common import console, err_console, fail, inventory_argument
from telework.core.problems import Severity
from telework.inventory.loading import load_inventory
from telework.inventory.schema import inventory_file_schema_json


@click.command()
@inventory_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(inventory: Path, fmt: str, strict: bool) -> None:
    """Check INVENTORY: schema, references, uniqueness, numbers, address pools.

    Exit code 0 when valid, 1 when any error (or, with --strict, any warning) is found.
    """
    loaded = load_inventory(inventory)
    failing = loaded.errors + (loaded.warnings if strict else [])
    if fmt == "json":
        json.dump({"inventory": str(inventory), "valid": not failing,
                   "problems": [p.as_dict() for p in loaded.problems]}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for problem in loaded.problems:
            style = "red" if problem.severity is Severity.ERROR else "yellow"
            err_console.print(f"[{style}]{_escape(problem.format())}[/]", soft_wrap=True)
        inv = loaded.model
        summary = (f"{inventory}: {len(loaded.errors)} error(s), {len(loaded.warnings)} warning(s); "
                   f"{len(inv.people)} people, {len(inv.sites)} sites, "
                   f"{len(inv.servers())} servers, {_endpoint_count(inv)} endpoints")
        (err_console if failing else console).print(_escape(summary), soft_wrap=True)
    sys.exit(1 if failing else 0)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _endpoint_count(inv) -> int:
    return (len(inv.igel_devices) + len(inv.linux_endpoints) + len(inv.notebooks) + len(inv.desk_phones)
            + len(inv.workstations))


@click.group()
def inventory() -> None:
    """Look at an inventory."""


@inventory.command("show")
@inventory_argument
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def show(inventory: Path, fmt: str) -> None:
    """Counts per site and per access method, the servers, and the use of every address pool.

    A person with `vpn: true` who is suspended or revoked (access/revocations.yml) is counted
    as revoked, not as a VPN user."""
    from telework.inventory.report import ACCESS_METHODS, inventory_summary
    from telework.roles.vpn.revocations import load_revocations

    loaded = load_inventory(inventory)
    summary = inventory_summary(loaded, revoked=set(load_revocations(inventory)))
    if fmt == "json":
        json.dump(summary, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print_show(summary, ACCESS_METHODS)
    if loaded.errors:
        err_console.print(f"{len(loaded.errors)} error(s): run `telework validate {inventory}`")
        sys.exit(1)


def _table(title: str, columns: list[str], rows: list[list], left: int = 1) -> Table:
    """A rich table of inventory text: names are shown as written, never read as rich markup."""
    table = Table(title=_escape(title))
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i < left else "right")
    for row in rows:
        table.add_row(*[_escape(str(cell)) for cell in row])
    return table


def _print_show(summary: dict, methods: tuple[str, ...]) -> None:
    columns = ["site", "people", "home office", "vpn", "revoked", "numbers", "igel", "linux", "notebooks",
               "desk phones", "workstations", "servers"]
    console.print(_table(f"{summary['organisation']} - per site", columns,
                         [[row[c.replace(" ", "_")] for c in columns] for row in summary["sites"]]))
    sites = [row["site"] for row in summary["sites"]]
    labels = {"openvpn_totp": "OpenVPN + TOTP", "wireguard_device": "WireGuard device",
              "openvpn_and_wireguard": "OpenVPN and WireGuard", "phone_only": "phone only",
              "revoked": "revoked or suspended", "none": "none"}
    console.print(_table("per access method", ["access", "people", *sites],
                         [[labels[row["method"]], row["people"], *(row[s] for s in sites)]
                          for row in summary["access"]]))
    console.print(_table("servers", ["server", "role", "site", "address", "public address", "ring"],
                         [[s["name"], s["group"], s["site"], s["address"], s["public_address"] or "-",
                           s["ring"] or "-"] for s in summary["servers"]], left=6))
    pools = [[r["pool"], r["kind"], r["concentrator"], r["prefix"], r["members"], r["allocated"], r["quarantined"],
              r["capacity"], f"{r['use']:.0%}"] for r in summary["pools"]]
    console.print(_table("address pools", ["pool", "kind", "concentrator", "prefix", "members", "allocated",
                                           "quarantined", "capacity", "use"], pools, left=4))


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the schema to this file instead of standard output.")
@click.option("--file", "kind", type=click.Choice(["inventory", "allocations"]), default="inventory",
              show_default=True, help="The schema of inventory files, or of allocations.yml.")
def schema(output: Path | None, kind: str) -> None:
    """Print the JSON Schema of inventory files (for yaml-language-server).

    In an organisation repository (`telework init`) the schemas lie in schema/ beside
    inventory/, where every file's `# yaml-language-server: $schema=...` line points."""
    if kind == "allocations":
        from telework.ipam.schema import allocations_file_schema_json

        text = allocations_file_schema_json()
    else:
        text = inventory_file_schema_json()
    if output:
        if not output.parent.is_dir():
            fail(f"directory {output.parent} does not exist (fix: create it with `mkdir -p {output.parent}` "
                 "or give another --output)")
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
