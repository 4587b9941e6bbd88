"""`telework generate`: a synthetic inventory of any size, for tests and benchmarks."""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path

import click

from telework.cli.common import console, fail
from telework.inventory.generate import (
    FIXED_FILES,
    SAMPLE_ALLOCATED,
    SAMPLE_PEOPLE,
    SAMPLE_SEED,
    generate_inventory,
)


@click.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--people", "-n", type=click.IntRange(min=1), help="How many people (staff) to generate.")
@click.option("--seed", type=int, default=SAMPLE_SEED, show_default=True,
              help="Random seed: the same seed and size give the same bytes.")
@click.option("--sample", is_flag=True,
              help=f"The sample organisation (inventory/sample): --people {SAMPLE_PEOPLE} --seed {SAMPLE_SEED}.")
@click.option("--force", is_flag=True, help="Overwrite the generated files in a non-empty OUT_DIR.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date recorded for new address allocations (default: today; --sample: "
                   f"{SAMPLE_ALLOCATED}).")
@click.option("--concentrators", type=click.IntRange(1, 9),
              help="Number of VPN concentrators (default: 2, one more per ~10,000 people with VPN access).")
@click.option("--slug", help="The organisation's short name (default gruenfelden); a lab runs per slug, so "
                             "organisations with different slugs can have labs side by side.")
def generate(out_dir: Path, people: int | None, seed: int, sample: bool, force: bool, today,
             concentrators: int | None, slug: str | None) -> None:
    """Write a synthetic inventory of Stadt Grünfelden with N people into OUT_DIR.

    Sites, number blocks, address pools, concentrators and endpoints scale with N; the
    result validates without errors or warnings. Only the generated files are written
    (people/*.yml of sites that no longer exist are removed) and allocations.yml is synced
    as `telework ipam sync` does (existing addresses kept); secrets/ is left alone.
    """
    if sample:
        if people not in (None, SAMPLE_PEOPLE) or seed != SAMPLE_SEED or concentrators or slug:
            fail("--sample fixes --people, --seed, --concentrators and --slug; leave them out")
        people = SAMPLE_PEOPLE
        today = today or datetime.combine(SAMPLE_ALLOCATED, datetime.min.time())
    if people is None:
        fail("give the size with --people N (or --sample)")
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        fail(f"{out_dir} is not empty; pass --force to overwrite the generated files in it "
             f"({', '.join(FIXED_FILES)}, people/<site>.yml)")
    if slug is not None and not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", slug):
        fail(f"--slug {slug!r}: lowercase letters, digits, '-' and '_', starting with a letter or digit")
    started = time.perf_counter()
    generate_inventory(out_dir, people, seed, today.date() if today else None, concentrators=concentrators,
                       slug=slug)
    console.print(f"{out_dir}: {people} people (seed {seed}) in {time.perf_counter() - started:.2f}s; "
                  f"check it with `telework validate {out_dir}`", soft_wrap=True)
