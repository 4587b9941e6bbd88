"""The SIP role's rendering at city scale: the number plan Kamailio loads and the phones' files.

    python benchmarks/sip_render.py [--people 1000 10000] [--repeat 3] [--write]

For synthetic inventories (`telework generate`, cached like benchmarks/scale.py's) it measures,
in one process per size and min / median / max of `--repeat` runs: choosing the subscribers of
sip-1 (`sip_view`), the four tables (extension -> HA1, DID -> extension, caller IDs, barring),
Kamailio's configuration, and every desk phone's provisioning file (Yealink / Snom). Passwords
are synthetic values made here (no secret store: decryption is the deploy's cost, not
rendering's). The ratios compare the sizes in the same run: time factor against people factor
(1.0 = linear). `--write` merges the section into benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SECTION = "sip-render"


def measure(inventory: Path) -> dict:
    """One run: seconds of each step and the counts (in this process)."""
    from telework.engine.deploy_support import render_template
    from telework.inventory.loading import require_inventory
    from telework.roles.sip.provisioning import YEALINK_COMMON, provisioned_phones
    from telework.roles.sip.render import barring_table, caller_id_table, did_table, subscriber_table
    from telework.roles.sip.server import sip_view

    loaded = require_inventory(inventory)
    name = loaded.model.sip_servers[0].name
    out: dict = {}
    t = time.perf_counter()
    view = sip_view(loaded, name)
    out["view"] = time.perf_counter() - t
    passwords = {s.username: f"bench-{s.username}-0123456789" for s in view.subscribers}
    t = time.perf_counter()
    tables = [subscriber_table(view.subscribers, view.realm, passwords), did_table(view.subscribers),
              caller_id_table(view.subscribers), barring_table(view.subscribers, {"kulturamt": ["premium"]})]
    out["tables"] = time.perf_counter() - t
    t = time.perf_counter()
    render_template("sip_server", "/etc/kamailio/kamailio.cfg", header="#", name=name, realm=view.realm,
                    internal_address=view.internal_address, public_address=view.public_address, sip_port=5060,
                    sips_port=5061, db_dir="/etc/kamailio/telework-db", children=4, max_expires=300,
                    default_expires=120, min_expires=60, natping_interval=20, tcp_keepidle=20,
                    rtpengine_control="127.0.0.1:2223", ban_seconds=300, pike_window=2, pike_density=16,
                    auth_fail_window=600, auth_fail_per_source=10, auth_fail_per_user=20, log_prefix="tw:",
                    srtp_refused_pattern="NULL", rtpengine_flags="ICE=remove", trunk=None, country_code="49",
                    national_prefix="0", international_prefix="00", emergency=["110", "112"],
                    number_classes={"premium": "^[+]49900"})
    out["kamailio_cfg"] = time.perf_counter() - t
    t = time.perf_counter()
    prov = {"header": "#", "realm": view.realm, "port": 443, "sips_port": 5061,
            "public_address": view.public_address, "expires": 120}
    files = {YEALINK_COMMON: render_template("sip_server", f"/var/lib/telework/provisioning/{YEALINK_COMMON}", **prov)}
    for p in provisioned_phones(view):
        files[p.file_name] = render_template("sip_server", f"/var/lib/telework/provisioning/MAC{p.file_name[len(p.mac):]}",
                                             **prov, phone=p.phone, sub=p.subscriber, mac=p.mac,
                                             password=passwords[p.subscriber.username])
    out["provisioning"] = time.perf_counter() - t
    out["total"] = out["view"] + out["tables"] + out["kamailio_cfg"] + out["provisioning"]
    out["subscribers"] = len(view.subscribers)
    out["phones"] = len(files) - 1
    out["bytes"] = sum(map(len, tables)) + sum(map(len, files.values()))
    return out


def child(inventory: str) -> None:
    print(json.dumps(measure(Path(inventory))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    from benchmarks.__main__ import _cache_dir
    from benchmarks.harness import RESULTS, section_header, write_results
    from benchmarks.scale import inventory

    cache = _cache_dir(False)
    runs: dict[int, list[dict]] = {}
    for people in args.people:
        inv = inventory(cache, people, say=lambda m: print(m, file=sys.stderr))
        runs[people] = []
        for _ in range(args.repeat):  # a fresh process per run: no warm template or model caches
            done = subprocess.run([sys.executable, __file__, "--child", str(inv)], capture_output=True, text=True,
                                  check=True, cwd=REPO_ROOT)
            runs[people].append(json.loads(done.stdout.strip().splitlines()[-1]))
    steps = ("view", "tables", "kamailio_cfg", "provisioning", "total")

    def mmm(values: list[float]) -> str:
        return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"

    lines = ["| people | subscribers | desk phones | " + " | ".join(steps) + " (s) | output MiB |",
             "|---" * (len(steps) + 4) + "|"]
    for people, rs in runs.items():
        lines.append(f"| {people:,} | {rs[0]['subscribers']:,} | {rs[0]['phones']:,} | "
                     + " | ".join(mmm([r[s] for r in rs]) for s in steps) + f" | {rs[0]['bytes'] / 2**20:.1f} |")
    sizes = list(runs)
    ratio_lines = ["", "Growth (medians, same run): time factor against subscriber factor (1.0 = linear).", "",
                   "| from -> to | subscribers x | total time x | of linear | per 1,000 subscribers (s) |",
                   "|---|---|---|---|---|"]
    for a, b in zip(sizes, sizes[1:]):
        sa, sb = runs[a][0]["subscribers"], runs[b][0]["subscribers"]
        ta, tb = (statistics.median(r["total"] for r in runs[x]) for x in (a, b))
        ratio_lines.append(f"| {a:,} -> {b:,} | {sb / sa:.1f} | {tb / ta:.2f} | {(tb / ta) / (sb / sa):.2f} | "
                           f"{tb / sb * 1000:.3f} |")
    body = "\n".join(lines + ratio_lines)
    command = "python benchmarks/sip_render.py " + " ".join(sys.argv[1:])
    section = (f"## SIP: the number plan and the phones' provisioning files\n\n"
               f"{section_header(command)}\n{body}\n")
    print(section)
    if args.write:
        write_results({SECTION: section}, RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
