"""IGEL through the UMS: plan and apply of many devices against the fake UMS over HTTPS.

A generated city with about `--devices` IGEL devices (`telework generate`), its `ums:` section
pointed at an in-process fake UMS (HTTPS on loopback, throwaway CA), the IMI password an age
secret. Measured in one process, through the real Planner and apply (rings, run record):

1. the first plan (empty UMS), 2. the apply that makes everything, 3. a no-change plan;
each with its time, its IMI calls (from the fake's request log) and both per device. The
no-change plan is also made at a tenth of the size: its list calls must be the same number.

    python benchmarks/igel_ums.py --devices 1000 --results benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from benchmarks.harness import section_header, write_results  # noqa: E402

SECTION = "igel-ums"
PASSWORD = "bench-imi-password-not-a-secret"
PROFILES_12 = ("tw-openvpn-os12", "tw-screenlock-os12", "tw-usb-storage-os12")
PROFILES_11 = ("tw-openvpn-os11", "tw-rdp-os11", "tw-screenlock-os11", "tw-usb-storage-os11")


def _fake():
    from telework.roles.igel.fake_ums import FakeUms

    fake = FakeUms()
    fake.add_user("telework-imi", PASSWORD)
    fw = {v: fake.add_firmware(v) for v in ("11.10.150.01", "12.5.1", "12.6.0")}
    for name in PROFILES_12:
        fake.add_profile(name, fw["12.5.1"])
    for name in PROFILES_11:
        fake.add_profile(name, fw["11.10.150.01"])
    return fake


def _city(work: Path, devices: int, url: str, ca: Path, slug: str) -> Path:
    from telework.inventory.generate import generate_inventory
    from telework.secrets.store import SecretStore

    inventory = work / slug / "inventory"
    generate_inventory(inventory, people=max(10, round(devices / 0.133)), seed=7, slug=slug)
    igel = inventory / "endpoints" / "igel.yml"
    igel.write_text(re.sub(r"url: https://\S+", f"url: {url}", igel.read_text()))
    (inventory / "pki").mkdir(exist_ok=True)
    shutil.copy(ca, inventory / "pki" / "ca.crt")
    store = SecretStore(inventory)
    store.init_identity(comment="bench")
    store.set("ums/imi-password", PASSWORD)
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "user.name=bench", "-c", "user.email=b@invalid", "commit", "-qm", "city"]):
        subprocess.run(["git", *args], cwd=inventory.parent, check=True, capture_output=True)
    return inventory


def _plan(inventory: Path):
    from telework.plan.planner import Planner
    from telework.secrets.run import load_run_secrets

    run = load_run_secrets(inventory)
    with Planner(inventory, limit="igel_devices", overlay={}, redactor=run.redactor,
                 fingerprint_key=run.fingerprint_key) as planner:
        return planner.plan()


def _calls(fake) -> Counter:
    return Counter(f"{r.method} {re.sub(r'/[0-9-]+(?=/|$)', '/{id}', r.path)}" for r in fake.requests)


def _step(fake, what, fn):
    fake.clear_requests()
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started, _calls(fake)


def measure(devices: int, work: Path) -> dict:
    from telework.apply.run import apply
    from telework.engine.deploy_support import loaded_inventory
    from telework.roles.igel.testing import make_tls

    tls = make_tls(work / f"tls-{devices}")
    fake = _fake()
    with fake.serve(tls.cert, tls.key) as running:
        inventory = _city(work, devices, running.url, tls.ca, f"igelbench{devices}")
        loaded_inventory.cache_clear()
        n = len([d for d in loaded_inventory(str(inventory)).model.igel_devices if d.status.value != "retired"])
        plan, t_plan, c_plan = _step(fake, "plan", lambda: _plan(inventory))
        outcome, t_apply, c_apply = _step(fake, "apply", lambda: apply(inventory, limit="igel_devices"))
        again, t_again, c_again = _step(fake, "no-change plan", lambda: _plan(inventory))
    assert outcome.result == "ok", [(n, r.error) for n, r in outcome.results.items() if r.status == "failed"][:5]
    assert again.exit_code == 0, "the plan after apply is not empty"
    return {"devices": n, "changes": plan.summary["changes"],
            "plan": (t_plan, c_plan), "apply": (t_apply, c_apply), "again": (t_again, c_again)}


def _row(label: str, n: int, seconds: float, calls: Counter) -> str:
    total = sum(calls.values())
    lists = sum(v for k, v in calls.items() if k.startswith("GET "))
    return (f"| {label} | {n} | {seconds:.2f} | {1000 * seconds / n:.2f} | {total} | {total / n:.2f} | {lists} |")


def report(results: list[dict], command: str) -> str:
    lines = ["## IGEL: plan and apply of many devices against the fake UMS", "", section_header(command),
             "", "The fake UMS serves HTTPS on loopback in the same process (a thread); times include "
             "TLS, JSON and the fake's own work, so they bound telework's cost from above; a plan's "
             "time includes loading the inventory. A warm-up run of 20 devices goes first, unreported. "
             "API calls are counted from the fake's request log.", "",
             "| step | devices | seconds | ms per device | IMI calls | calls per device | GET calls |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        n = r["devices"]
        lines.append(_row(f"first plan (empty UMS, {r['changes']} changes)", n, *r["plan"]))
        lines.append(_row("apply (rings pilot, early, all)", n, *r["apply"]))
        lines.append(_row("no-change plan", n, *r["again"]))
    small, big = results[0], results[-1]
    lines += ["", "Calls of the no-change plan by endpoint (the same list calls at both sizes; "
              "none per device):", "", "| endpoint | " + " | ".join(f"{r['devices']} devices" for r in results) + " |",
              "|---|" + "---:|" * len(results)]
    keys = sorted(set().union(*(r["again"][1] for r in results)))
    for k in keys:
        lines.append(f"| `{k}` | " + " | ".join(str(r["again"][1].get(k, 0)) for r in results) + " |")
    ratio = (big["again"][0] / small["again"][0]) if small["again"][0] else float("nan")
    lines += ["", f"No-change plan: {big['devices'] / small['devices']:.1f}x the devices took {ratio:.1f}x "
              f"the time; apply per device: {1000 * small['apply'][0] / small['devices']:.2f} ms at "
              f"{small['devices']}, {1000 * big['apply'][0] / big['devices']:.2f} ms at {big['devices']}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--results", type=Path, help="write the section into this RESULTS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="telework-bench-igel-") as tmp:
        work = Path(tmp)
        os.environ["XDG_CONFIG_HOME"] = str(work / "config")
        os.environ["TELEWORK_AGE_IDENTITY"] = str(work / "identity.txt")
        os.environ.pop("TELEWORK_OVERLAY", None)
        measure(20, work)  # warm-up, not reported: imports and first-use caches of one process
        results = [measure(max(100, args.devices // 10), work), measure(args.devices, work)]
    command = "python benchmarks/igel_ums.py --devices " + str(args.devices) + (
        f" --results {args.results}" if args.results else "")
    text = report(results, command)
    print(text)
    small, big = results[0]["again"][1], results[-1]["again"][1]
    gets = lambda c: {k: v for k, v in c.items() if k.startswith("GET ")}  # noqa: E731
    if gets(small) != gets(big):
        print("the no-change plan's list calls grow with the fleet", file=sys.stderr)
        return 1
    if args.results:
        write_results({SECTION: text}, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
