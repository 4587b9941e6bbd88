"""Bulk enrolment of a synthetic county against one-by-one enrolment, paired in one run.

    python benchmarks/onboarding.py [--people 1030] [--sample 20] [--repeat 3] [--results FILE]

A synthetic county of N people (telework.inventory.generate; 1,030 gives about 900 with VPN
access, the county of issue 24) with its PKI made once; every
repetition works on a fresh copy of it and runs, back to back and alternating in order:

* bulk: one `telework person enroll --pending INV --out DIR` process for everyone with access;
* one by one: `telework person enroll USERNAME INV --out DIR`, one process per person, as an
  operator scripts it, for the first `--sample` people; its per-person time times N is the
  estimate for everyone (one process each for 900 people takes minutes a repetition).

The ratio is the median of per-repetition ratios (estimated one-by-one total / bulk), so a
neighbour's load on this shared machine hits both alike. Writes the `onboarding` section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.harness import RESULTS, paired_ratio, section_header, spread, write_results  # noqa: E402

SEED = 1
TODAY = date(2026, 11, 22)
COMMAND = "python benchmarks/onboarding.py --people {people} --sample {sample} --repeat {repeat}"


def telework() -> str:
    found = Path(sys.executable).with_name("telework")
    return str(found) if found.exists() else shutil.which("telework") or "telework"


def prepare(work: Path, people: int, env: dict) -> tuple[Path, list[str]]:
    """The synthetic inventory with its PKI and an identity, and who has access."""
    from telework.inventory.generate import generate_inventory
    from telework.inventory.loading import require_inventory
    from telework.roles.vpn import pki
    from telework.roles.vpn.people import vpn_people
    from telework.secrets.store import SecretStore

    inventory = work / "county"
    generate_inventory(inventory, people, SEED, TODAY)
    os.environ.update(env)
    store = SecretStore(inventory)
    store.init_identity(comment="benchmark")
    pki.init_pki(inventory, store)
    loaded = require_inventory(inventory)
    return inventory, [p.username for p in vpn_people(loaded) if p.has_access]


def run(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1030)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="telework-bench-onboarding-"))
    env = dict(os.environ, XDG_CONFIG_HOME=str(work / "config"),
               TELEWORK_AGE_IDENTITY=str(work / "identity.txt"), COLUMNS="200")
    try:
        template, people = prepare(work, args.people, env)
        sample = people[: args.sample]
        bulk, single = [], []
        for rep in range(args.repeat):
            order = ("bulk", "single") if rep % 2 == 0 else ("single", "bulk")
            for which in order:
                inventory = work / f"{which}-{rep}"
                shutil.copytree(template, inventory)
                out = work / f"out-{which}-{rep}"
                if which == "bulk":
                    seconds = run([telework(), "person", "enroll", "--pending", str(inventory), "--out", str(out)], env)
                    bulk.append(seconds)
                else:
                    seconds = sum(run([telework(), "person", "enroll", u, str(inventory), "--out", str(out)], env)
                                  for u in sample)
                    single.append(seconds / len(sample) * len(people))
                print(f"rep {rep + 1}/{args.repeat} {which}: {seconds:.2f} s", file=sys.stderr, flush=True)
                shutil.rmtree(inventory)
                shutil.rmtree(out)
        per_single = [s / len(people) for s in single]
        body = "\n".join([
            "## Bulk enrolment of a county against one-by-one enrolment",
            "",
            section_header(COMMAND.format(people=args.people, sample=args.sample, repeat=args.repeat)).rstrip("\n"),
            "",
            f"Inventory: synthetic, {args.people} people (seed {SEED}), {len(people)} with VPN access, none "
            f"enrolled; PKI made once, a fresh copy per repetition. Repetitions: {args.repeat}, bulk and "
            f"one-by-one back to back, alternating in order. Seconds as min / median / max of whole processes.",
            "",
            "| contender | what was run | seconds for everyone | per person (ms) |",
            "|---|---|---|---|",
            f"| bulk | one `telework person enroll --pending` for {len(people)} people | {spread(bulk)} | "
            f"{spread([b / len(people) * 1000 for b in bulk], 1)} |",
            f"| one by one | `telework person enroll USERNAME`, one process each, {len(sample)} people measured, "
            f"times {len(people)} | {spread(single)} (estimate) | {spread([s * 1000 for s in per_single], 1)} |",
            "",
            f"Paired ratio one-by-one / bulk (median of per-repetition ratios): "
            f"**{paired_ratio(single, bulk):.0f}x**; the bulk run stays under 30 s for {len(people)} people: "
            f"{'yes' if max(bulk) < 30 else 'no'} (slowest {max(bulk):.1f} s).",
        ])
        write_results({"onboarding": body}, args.results)
        print(body)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
