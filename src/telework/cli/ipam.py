"""`telework ipam sync` and `telework ipam show`: VPN tunnel addresses of people and devices."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from telework.cli.common import console, err_console, fail, inventory_argument
from telework.inventory.loading import load_inventory
from telework.ipam.allocations import (
    ALLOCATIONS_FILE,
    Allocations,
    allocations_path,
    client_bounds,
    pool_members,
)
from telework.ipam.allocations import sync as sync_allocations

#: a sync with more changes prints one summary line per pool (a new organisation: 2,400 addresses)
DETAIL_LIMIT = 20

_TODAY = click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
                      help="Date of the run, YYYY-MM-DD (default: today); for replays and tests.")


@click.group()
def ipam() -> None:
    """VPN tunnel addresses: allocate them from the pools, show who holds which."""


@ipam.command()
@inventory_argument
@click.option("--dry-run", is_flag=True, help=f"Print the changes without writing {ALLOCATIONS_FILE}.")
@click.option("--verbose", "-v", is_flag=True,
              help=f"List every change (by default only when there are at most {DETAIL_LIMIT}).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: every change and the per-pool counts, for programs.")
@_TODAY
def sync(inventory: Path, dry_run: bool, verbose: bool, fmt: str, today: datetime | None) -> None:
    """Give new members of each pool an address, release those of members who left.

    Existing members keep their addresses; released ones stay in quarantine for
    organisation.settings.address_quarantine_days. Writes INVENTORY/allocations.yml:
    commit it together with the inventory change. Exit code 1 when the inventory has
    errors or a pool is full.
    """
    day = today.date() if today else date.today()
    loaded = load_inventory(inventory)
    # Problems of the allocations file itself are what this command repairs.
    errors = [p for p in loaded.errors if not p.rule.startswith("allocations.")]
    if errors:
        for problem in errors:
            err_console.print(f"[red]{escape(problem.format())}[/]", soft_wrap=True)
        fail(f"{inventory} has {len(errors)} error(s); fix them before allocating addresses "
             f"(`telework validate {inventory}` lists them)")
    path = allocations_path(inventory)
    result = sync_allocations(loaded.model, Allocations.load(path), day)
    if fmt == "json":
        written = False if dry_run else _save(result.allocations, path)
        json.dump({"inventory": str(inventory), "date": day.isoformat(), "file": str(path), "dry_run": dry_run,
                   "written": written,
                   "counts": {pool: dict(sorted(c.items())) for pool, c in result.counts().items()},
                   "changes": [{"kind": c.kind.value, "pool": c.pool, "member": c.member,
                                "address": None if c.address is None else str(c.address), "note": c.note}
                               for c in result.changes]}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    if result.changes and (verbose or len(result.changes) <= DETAIL_LIMIT):
        width = max(len(change.pool) for change in result.changes)
        click.echo("\n".join(change.format(width) for change in result.changes))
    elif result.changes:
        console.print(escape(f"{len(result.changes)} change(s) in {len(result.counts())} pool(s); "
                             "--verbose lists each address"), soft_wrap=True)
    for pool, counts in result.counts().items():
        done = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        console.print(escape(f"{pool}: {done}"), soft_wrap=True)
    if dry_run:
        console.print(escape(f"dry run: {path} not written ({len(result.changes)} change(s))"), soft_wrap=True)
    elif _save(result.allocations, path):
        console.print(escape(f"wrote {path}: {len(result.changes)} change(s); commit it with the inventory"),
                      soft_wrap=True)
    else:
        console.print(escape(f"{path} is up to date"), soft_wrap=True)


def _save(allocations: Allocations, path: Path) -> bool:
    """Write the allocations file; a file system that refuses is an error message, nothing half-written."""
    try:
        return allocations.save(path)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror} (fix: make {path.parent} writable for this user, or run "
             "`telework ipam sync --dry-run` to see the changes without writing)")
        raise  # not reached: fail() exits


@ipam.command()
@inventory_argument
@click.option("--pool", "pool_name", metavar="POOL", help="List every address of this pool.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_TODAY
def show(inventory: Path, pool_name: str | None, fmt: str, today: datetime | None) -> None:
    """Use of every pool; with --pool, who holds each address and which are quarantined."""
    day = today.date() if today else date.today()
    loaded = load_inventory(inventory)
    inv = loaded.model
    allocations = Allocations.load(allocations_path(inventory))
    quarantine = timedelta(days=inv.organisation.settings.address_quarantine_days)
    pools = inv.address_pools
    if pool_name is not None:
        pools = [p for p in pools if p.name == pool_name]
        if not pools:
            fail(f"unknown pool '{pool_name}'; the pools are: {', '.join(p.name for p in inv.address_pools)}")
    rows = []
    for pool in pools:
        lo, hi = client_bounds(pool.prefix)
        allocated = allocations.allocated(pool.name)
        released = allocations.released(pool.name)
        members = pool_members(inv, pool)
        quarantined = [(a, m, d) for a, m, d in released if d + quarantine > day]
        rows.append({
            "pool": pool.name, "kind": pool.kind.value, "concentrator": pool.concentrator,
            "prefix": str(pool.prefix), "members": len(members),
            "without_address": sum(1 for m in members if allocations.address_of(pool.name, m) is None),
            "capacity": max(hi - lo + 1, 0), "allocated": len(allocated), "quarantined": len(quarantined),
            "free": max(hi - lo + 1, 0) - len(allocated) - len(quarantined),
            "addresses": [{"address": str(a), "member": m, "since": d.isoformat()} for a, m, d in allocated],
            "released": [{"address": str(a), "member": m, "released": d.isoformat(),
                          "free_from": (d + quarantine).isoformat()} for a, m, d in released],
        })
    if fmt == "json":
        json.dump({"inventory": str(inventory), "date": day.isoformat(),
                   "quarantine_days": quarantine.days, "pools": rows}, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    if pool_name is not None:
        lines = [f"{a['address']:<15} {'allocated':<11} {a['member']:<40} since {a['since']}"
                 for a in rows[0]["addresses"]]
        lines += [f"{r['address']:<15} {'quarantined' if r['free_from'] > day.isoformat() else 'free':<11} "
                  f"{r['member']:<40} released {r['released']}, free from {r['free_from']}"
                  for r in rows[0]["released"]]
        if lines:
            click.echo("\n".join(sorted(lines, key=_address_order)))
    table = Table(title=f"address pools ({ALLOCATIONS_FILE})")
    columns = ("pool", "kind", "concentrator", "prefix", "members", "without address", "allocated", "quarantined",
               "free", "capacity")
    for col in columns:
        table.add_column(col, justify="left" if col in ("pool", "kind", "concentrator", "prefix") else "right")
    for row in rows:
        table.add_row(*[str(row[c.replace(" ", "_")]) for c in columns])
    console.print(table)
    missing = sum(row["without_address"] for row in rows)
    if missing:
        err_console.print(escape(f"{missing} pool member(s) have no address yet: run `telework ipam sync "
                                 f"{inventory}`"), soft_wrap=True)


def _address_order(line: str):
    import netaddr

    return int(netaddr.IPAddress(line.split(" ", 1)[0]))
