"""Lab: a no-change plan of a SIP server against a one-subscriber change applied to it.

    TELEWORK_LAB_SUFFIX=-bench python benchmarks/sip_lab.py [--repeat 3] [--write]   (root)

A throwaway organisation made from inventory/sample (secret init, pki init, sip init: every
person with a phone is a subscriber) is deployed to the running lab's sip-1 (the lab must be
up: `telework lab up inventory/sample`). Then, `--repeat` times each, in one run: a no-change
`telework plan --limit sip-1` (seconds and remote commands, from $TELEWORK_COMMAND_LOG), and a
one-subscriber change (a person's SIP password rotated and committed) applied with `telework
apply --limit sip-1`, checking that Kamailio kept its process (no restart). The ratio of the two
medians is the number to watch (goal: below 2).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
VENV_BIN = Path(sys.executable).parent
SECTION = "sip-lab"
HOST = "sip-1"


def run(argv: list[str], env: dict, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd or REPO_ROOT, timeout=900)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    from benchmarks.harness import RESULTS, section_header, write_results
    from telework.inventory.loading import require_inventory
    from telework.lab import lab
    from telework.lab.overlay import overlay_path
    from telework.roles.sip.server import sip_view

    topo = lab.load_topology(REPO_ROOT / "inventory" / "sample")
    if not lab.is_up(topo):
        raise SystemExit(f"lab {topo.slug} is not up: run `telework lab up inventory/sample` first")
    base = Path(tempfile.mkdtemp(prefix="telework-sip-bench-"))
    inventory = base / "inventory"
    shutil.copytree(REPO_ROOT / "inventory" / "sample", inventory, ignore=shutil.ignore_patterns("pki", "secrets"))
    env = {**os.environ, "TELEWORK_AGE_IDENTITY": str(base / "age.txt"), "PYINFRA_PROGRESS": "off",
           "TELEWORK_OVERLAY": str(overlay_path(topo.slug))}
    tw = str(VENV_BIN / "telework")

    def git(*a: str) -> None:
        run(["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", *a], env, cwd=inventory)

    try:
        git("init", "-q")
        for step in (("secret", "init"), ("pki", "init"), ("sip", "init")):
            run([tw, *step, str(inventory)], env)
        git("add", "-A")
        git("commit", "-q", "-m", "the sample city with SIP")
        run([tw, "apply", str(inventory), "--limit", HOST], env)
        view = sip_view(require_inventory(inventory), HOST)
        people = [s.username for s in view.subscribers][: args.repeat]
        plans, applies, commands = [], [], []
        pid = lab.ssh(topo, HOST, "systemctl show -p MainPID --value kamailio").stdout.strip()
        for username in people:
            log = base / "commands.jsonl"
            log.unlink(missing_ok=True)
            started = time.monotonic()
            run([tw, "plan", str(inventory), "--limit", HOST], {**env, "TELEWORK_COMMAND_LOG": str(log)})
            plans.append(time.monotonic() - started)
            commands.append(sum(1 for line in log.read_text().splitlines()
                                if json.loads(line)["host"] in (HOST, f"@telework/{HOST}")))
            run([tw, "secret", "rotate", f"sip/password/{username}", str(inventory)], env)
            git("add", "-A")
            git("commit", "-q", "-m", f"new SIP password for {username}")
            started = time.monotonic()
            run([tw, "apply", str(inventory), "--limit", HOST], env)
            applies.append(time.monotonic() - started)
        restarted = lab.ssh(topo, HOST, "systemctl show -p MainPID --value kamailio").stdout.strip() != pid
    finally:
        shutil.rmtree(base, ignore_errors=True)

    def mmm(values: list[float]) -> str:
        return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"

    ratio = statistics.median(applies) / statistics.median(plans)
    body = "\n".join([
        f"Subscribers on {HOST}: {len(view.subscribers)} (the sample city); desk phones provisioned: "
        f"{len(view.desk_phones)}.", "",
        "| measurement | min / median / max |", "|---|---|",
        f"| no-change `telework plan --limit {HOST}` (s) | {mmm(plans)} |",
        f"| remote commands of that plan | {min(commands)} / {statistics.median(commands):.0f} / {max(commands)} |",
        f"| one subscriber's new SIP password, `telework apply --limit {HOST}` (s) | {mmm(applies)} |",
        f"| apply of one change / no-change plan (medians) | {ratio:.2f} |",
        f"| Kamailio restarted by the changes | {'yes' if restarted else 'no'} |",
    ])
    command = "TELEWORK_LAB_SUFFIX=... python benchmarks/sip_lab.py " + " ".join(sys.argv[1:])
    section = (f"## SIP lab: no-change plan against a one-subscriber change\n\n"
               f"{section_header(command)}\n{body}\n")
    print(section)
    if args.write:
        write_results({SECTION: section}, RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
