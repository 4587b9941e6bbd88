"""Scale: load, validate, allocate and render all configs of synthetic inventories of growing size.

    python -m benchmarks --only scale [--baseline REV]

Per size (700, 2,000, 10,000 and 50,000 people), one fresh process per measurement:

* load      `load_inventory(dir, check=False)`: read and parse the YAML files, schema (pydantic)
* validate  `validation.cross_check`: references, uniqueness, numbers, pools, allocations.yml
            (load + validate is what `telework validate` does)
* allocate  `ipam.sync` against the committed allocations.yml: the plan `telework ipam sync
            --dry-run` prints (no change here: the generator allocated everyone)
* render    every server's configuration as its deploy renders it: per concentrator
            `access.concentrator_view`, its templates (OpenVPN, PAM, WireGuard, nftables) and
            one client-config-dir file per person; per auth server `access.radius_view` and its
            templates; the baseline's sshd and apt templates per server. Secrets are never read:
            templates get the secret *paths* the deploys use, the secret values go through
            `secret_file` and are not rendered here.

Also one concentrator with about 10,000 clients and peers (view + templates + ccd files), and
the SIP number plan of 10,000 extensions once a SIP role exists.

The inventories are made once by `telework generate` into the cache directory (default
/var/cache/telework/bench) with everyone with `vpn: true` marked enrolled (an empty
`secrets/totp/<username>.age`: access.py reads only the names), and reused while the generator's
code is unchanged (a stamp holds a digest of it and of the parameters).

Contenders: `telework` (this tree) and, with `--baseline REV`, `telework@REV` (that commit's
src/ on the import path, same inventories, same harness): the before/after of a change,
measured paired in one run.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import shutil
import sys
import time
from pathlib import Path

NAME = "scale"
TITLE = "Scale: load, validate, allocate, render (synthetic inventories)"
SIZES = [700, 2_000, 10_000, 50_000]
SMOKE_SIZES = [20, 60]
#: people in the inventory whose first concentrator gets about 10,000 clients and peers
#: (80 % of people have vpn: true, plus the managed Linux devices)
CONCENTRATOR_PEOPLE = 11_100
SMOKE_CONCENTRATOR_PEOPLE = 60
SEED = 1
TODAY = "2026-11-22"
STAGES = ["load", "validate", "allocate", "render"]
REPO_ROOT = Path(__file__).resolve().parents[1]


def _load(*targets: str):
    """The first of `targets` ("module:name") that imports: the child measures the current
    tree and older baselines (`--baseline REV`), whose modules had other paths."""
    import importlib

    for target in targets:
        module, name = target.split(":")
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"none of {', '.join(targets)}")


# ---------------------------------------------------------------- inventories


def _generator_digest(people: int) -> str:
    """Digest of what decides the generator's output: its code, the IPAM code it allocates
    with, and the parameters."""
    h = hashlib.sha256(f"{people} {SEED} {TODAY} enrolled-stubs-1".encode())
    for rel in ("src/telework/inventory/generate.py", "src/telework/ipam/allocations.py",
                "src/telework/ipam/file.py"):
        h.update((REPO_ROOT / rel).read_bytes())
    return h.hexdigest()


def inventory(cache_dir: Path, people: int, say=print) -> Path:
    """The synthetic inventory of `people` people, generated unless the cached one is current."""
    out = cache_dir / f"people-{people}-seed-{SEED}"
    stamp = out / ".bench-stamp"
    digest = _generator_digest(people)
    if stamp.exists() and stamp.read_text().strip() == digest:
        return out
    say(f"  generating {out} ({people} people)")
    if out.exists():
        shutil.rmtree(out)
    from datetime import date

    generate_inventory = _load("telework.inventory.generate:generate_inventory", "telework.generate:generate_inventory")
    load_inventory = _load("telework.inventory.loading:load_inventory", "telework.inventory:load_inventory")

    generate_inventory(out, people, SEED, date.fromisoformat(TODAY))
    totp = out / "secrets" / "totp"
    totp.mkdir(parents=True, exist_ok=True)
    for person in load_inventory(out, check=False).model.vpn_people():
        (totp / f"{person.username}.age").touch()
    stamp.write_text(digest + "\n")
    return out


# ---------------------------------------------------------------- the child: one measurement


def _renderer():
    """The template renderer the deploys use (deploy_support.render_template; a baseline older
    than 2026-11-23 has it as vpn_render.render)."""
    return _load("telework.engine.deploy_support:render_template", "telework.deploy_support:render_template",
                 "telework.vpn_render:render")


def _header() -> str:
    return _load("telework.engine.deploy_support:MANAGED_HEADER", "telework.deploy_support:MANAGED_HEADER")


def _group_data() -> dict[str, dict]:
    """group_data/<group>.py as dicts (the defaults the deploys see in host.data)."""
    out = {}
    for name in ("all", "vpn_concentrators", "auth_servers"):
        data = runpy.run_path(str(REPO_ROOT / "group_data" / f"{name}.py"))
        out[name] = {k: v for k, v in data.items() if not k.startswith("_")}
    return out


def _ruleset(loaded, name: str, group: str, d: dict, header: str, render, nft_elements, view) -> str:
    """The host's nftables ruleset: the base role's, with the role's part (telework.roles.base.firewall);
    a baseline older than that has it as the concentrator's own template."""
    try:
        from telework.roles.base.firewall import FirewallSettings, host_firewall
        from telework.roles.registry import roles_serving
    except ImportError:
        conc = view.concentrator
        tunnels = ", ".join(f'"{i}"' for i in (d["vpn_openvpn_device"], d["vpn_wireguard_interface"]))
        return render("vpn_concentrator", "/etc/nftables.conf", header=header, name=name,
                      auth_server=view.auth_server.name, groups=view.access_groups,
                      nft_elements=nft_elements, tunnels=tunnels, ssh_port=d["vpn_firewall_ssh_port"],
                      public_address=conc.public_address, openvpn_port=conc.openvpn_port,
                      wireguard_port=conc.wireguard_port, log_rate=d["vpn_nft_log_rate"],
                      input_log_prefix=d["vpn_nft_log_prefix_input_drop"],
                      forward_log_prefix=d["vpn_nft_log_prefix_forward_drop"])
    settings = FirewallSettings(table=d["base_firewall_table"], ssh_port=d["base_firewall_ssh_port"],
                                log_rate=d["base_firewall_log_rate"],
                                input_log_prefix=d["base_firewall_log_prefix_input_drop"])
    return host_firewall(loaded, name, roles_serving([group]), d, settings, header).text


def _render_concentrator(loaded, name: str, data: dict) -> tuple[int, int]:
    """As deploy/vpn_concentrator.py renders: returns (bytes rendered, clients + peers)."""
    MANAGED_HEADER = _header()
    concentrator_view = _load("telework.roles.vpn.concentrator:concentrator_view", "telework.access:concentrator_view")
    render = _renderer()
    ccd_files = _load("telework.roles.vpn.render:ccd_files", "telework.vpn_render:ccd_files")
    nft_elements = _load("telework.roles.vpn.render:nft_elements", "telework.vpn_render:nft_elements")

    d = data
    view = concentrator_view(loaded, name)
    conc = view.concentrator
    common = {"header": "# " + MANAGED_HEADER.format(org=loaded.model.organisation.slug), "name": name,
              "auth_server": view.auth_server.name}
    instance = d["vpn_openvpn_instance"]
    ovpn_dir = f"/etc/openvpn/server/{instance}"
    size = 0
    if view.openvpn_pool is not None:
        pool = view.openvpn_pool
        size += len(render("vpn_concentrator", f"/etc/pam.d/{d['vpn_openvpn_pam_service']}", **common,
                           radius_conf="/etc/telework/pam_radius_auth.conf",
                           radius_secret_name=view.radius_secret))
        size += len(render("vpn_concentrator", f"/etc/openvpn/server/{instance}.conf", **common,
                           instance=instance, public_address=conc.public_address, port=conc.openvpn_port,
                           device=d["vpn_openvpn_device"], pool_network=pool.network.network,
                           pool_netmask=pool.network.netmask, pool_address=pool.address, dir=ovpn_dir,
                           dns_servers=view.dns_servers, keepalive=d["vpn_openvpn_keepalive"],
                           tls_version_min=d["vpn_openvpn_tls_version_min"],
                           data_ciphers=":".join(d["vpn_openvpn_data_ciphers"]),
                           pam_service=d["vpn_openvpn_pam_service"]))
        size += sum(len(text) for text in ccd_files(view).values())
    if view.wireguard_pool is not None:
        wg_if = d["vpn_wireguard_interface"]
        size += len(render("vpn_concentrator", f"/etc/wireguard/{wg_if}.conf", **common, interface=wg_if,
                           address=view.wireguard_pool.interface, port=conc.wireguard_port,
                           private_key=d["vpn_wireguard_private_key"], peers=view.wireguard_peers))
    size += len(_ruleset(loaded, name, "vpn_concentrators", d, common["header"], render, nft_elements, view))
    return size, len(view.openvpn_clients) + len(view.wireguard_peers)


def _render_auth_server(loaded, name: str, d: dict) -> int:
    """As deploy/auth_server.py renders (every concentrator's client entry; seeds are secrets)."""
    MANAGED_HEADER = _header()
    radius_view = _load("telework.roles.vpn.radius:radius_view", "telework.access:radius_view")
    render = _renderer()

    view = radius_view(loaded, name)
    header = "# " + MANAGED_HEADER.format(org=loaded.model.organisation.slug)
    common = {"header": header, "name": name}
    conf = d["radius_config_dir"]
    size = len(render("auth_server", f"{conf}/clients.conf", **common, clients=view.clients,
                      secrets_dir=f"{conf}/telework-secrets"))
    size += len(render("auth_server", f"/etc/pam.d/{d['radius_totp_pam_service']}", **common,
                       users_file=d["radius_totp_users_file"], window=d["radius_totp_window"], digits=d["radius_totp_digits"]))
    size += len(render("auth_server", f"{conf}/mods-enabled/telework_totp", **common,
                       pam_service=d["radius_totp_pam_service"]))
    size += len(render("auth_server", f"{conf}/sites-enabled/telework", **common,
                       address=view.auth_server.address.ip, port=d["radius_auth_port"], digits=d["radius_totp_digits"],
                       pam_service=d["radius_totp_pam_service"]))
    size += len(render("auth_server", f"{conf}/radiusd.conf", **common, reject_delay=d["radius_reject_delay"]))
    size += len(render("auth_server", "/usr/local/lib/telework/telework-oath-merge", header=header))
    return size + sum(len(u.username) for u in view.users)


def _render_base(loaded, d: dict) -> int:
    """deploy/base.py's templates, once per server (pyinfra renders them with Jinja2 too)."""
    import jinja2

    MANAGED_HEADER = _header()
    template_path = _load("telework.engine.deploy_support:template_path", "telework.deploy_support:template_path")

    settings = loaded.model.organisation.settings
    header = MANAGED_HEADER.format(org=loaded.model.organisation.slug)
    size = 0
    for _group, _server in loaded.model.servers():
        sshd = Path(template_path("base", "/etc/ssh/sshd_config.d/telework.conf")).read_text()
        size += len(jinja2.Template(sshd).render(header="# " + header, **d))
        if settings.apt_proxy:
            apt = Path(template_path("base", "/etc/apt/apt.conf.d/01telework-proxy")).read_text()
            size += len(jinja2.Template(apt).render(header="// " + header, apt_proxy=settings.apt_proxy))
    return size


def child(args: dict) -> dict:
    """One measurement in this fresh process: the stages of `args["kind"]`, in seconds."""
    from datetime import date

    t0 = time.perf_counter()
    load_inventory = _load("telework.inventory.loading:load_inventory", "telework.inventory:load_inventory")
    cross_check = _load("telework.inventory.validation:cross_check", "telework.validation:cross_check")
    Allocations = _load("telework.ipam.allocations:Allocations", "telework.ipam:Allocations")
    allocations_path = _load("telework.ipam.allocations:allocations_path", "telework.ipam:allocations_path")
    sync = _load("telework.ipam.allocations:sync", "telework.ipam:sync")

    root = Path(args["inventory"])
    data = _group_data()
    out: dict = {"import": time.perf_counter() - t0}
    t = time.perf_counter()
    loaded = load_inventory(root, check=False)
    out["load"] = time.perf_counter() - t
    if args["kind"] == "concentrator":
        t = time.perf_counter()
        size, peers = _render_concentrator(loaded, args["concentrator"], {**data["all"], **data["vpn_concentrators"]})
        out.update(render=time.perf_counter() - t, bytes=size, peers=peers)
        return out
    t = time.perf_counter()
    problems = cross_check(loaded)
    out["validate"] = time.perf_counter() - t
    loaded.problems.extend(problems)
    if loaded.errors:
        raise SystemExit(f"{root} has errors: {loaded.errors[0].format()}")
    t = time.perf_counter()
    result = sync(loaded.model, Allocations.load(allocations_path(root)), date.fromisoformat(TODAY))
    out["allocate"] = time.perf_counter() - t
    out["changes"] = len(result.changes)
    del result  # the sync's own copy of the allocations is not part of the render that follows
    t = time.perf_counter()
    size = _render_base(loaded, data["all"])
    for conc in loaded.model.vpn_concentrators:
        size += _render_concentrator(loaded, conc.name, {**data["all"], **data["vpn_concentrators"]})[0]
    for auth in loaded.model.auth_servers:
        size += _render_auth_server(loaded, auth.name, {**data["all"], **data["auth_servers"]})
    out["render"] = time.perf_counter() - t
    out["bytes"] = size
    out["servers"] = len(loaded.model.servers())
    return out


# ---------------------------------------------------------------- the parent: tables


def run(ctx) -> str:
    from benchmarks.harness import median, paired_ratio, spread

    sizes = SMOKE_SIZES if ctx.smoke else SIZES
    cases = [{"kind": "all", "people": n, "inventory": str(inventory(ctx.cache_dir, n, ctx.say))} for n in sizes]
    conc_people = SMOKE_CONCENTRATOR_PEOPLE if ctx.smoke else CONCENTRATOR_PEOPLE
    cases.append({"kind": "concentrator", "people": conc_people, "concentrator": "vpn-a",
                  "inventory": str(inventory(ctx.cache_dir, conc_people, ctx.say))})
    results = ctx.measure(NAME, cases)
    names = [c.name for c in ctx.contenders]
    main = names[0]
    lines = [f"Repetitions: {ctx.repetitions} per size and contender, each in a fresh process, contenders "
             f"interleaved. Seconds as min / median / max; peak RSS of the whole process (MiB, median).", ""]

    lines += ["| people | contender | load | validate | allocate | render | load+validate+render | "
              "peak RSS MiB |", "|---|---|---|---|---|---|---|---|"]
    totals: dict[tuple[int, str], list[float]] = {}
    for index, case in enumerate(cases[:-1]):
        for name in names:
            runs = results[(index, name)]
            totals[(index, name)] = [r["load"] + r["validate"] + r["render"] for r in runs]
            row = [f"{case['people']:,}", name] + [spread(r[s] for r in runs) for s in STAGES]
            row += [spread(totals[(index, name)]), f"{median(r['peak_rss_mb'] for r in runs):.0f}"]
            lines.append("| " + " | ".join(row) + " |")
    first = results[(0, main)][0]
    lines += ["", f"Servers rendered per inventory: {first['servers']} (concentrators, auth servers, SIP servers); "
              f"allocate found {first['changes']} change(s) (the generator allocated everyone)."]

    lines += ["", f"Growth of load+validate+render ({main}, medians): time factor against people factor, "
              "from one size to the next (1.0 = linear).", "",
              "| from -> to | people x | time x | time per 1,000 people (s) | peak RSS x |", "|---|---|---|---|---|"]
    for index in range(1, len(cases) - 1):
        a, b = cases[index - 1]["people"], cases[index]["people"]
        ta, tb = median(totals[(index - 1, main)]), median(totals[(index, main)])
        ra = median(r["peak_rss_mb"] for r in results[(index - 1, main)])
        rb = median(r["peak_rss_mb"] for r in results[(index, main)])
        lines.append(f"| {a:,} -> {b:,} | {b / a:.1f} | {tb / ta:.2f} ({tb / ta / (b / a):.2f} of linear) | "
                     f"{tb / b * 1000:.3f} | {rb / ra:.2f} |")

    if len(names) > 1:
        lines += ["", f"Paired ratios {names[1]} / {main} (median of per-repetition ratios; above 1: {main} is "
                  "faster):", "", "| people | load | validate | allocate | render | load+validate+render | "
                  "peak RSS |", "|---|---|---|---|---|---|---|"]
        for index, case in enumerate(cases[:-1]):
            a, b = results[(index, main)], results[(index, names[1])]
            row = [f"{case['people']:,}"] + [f"{paired_ratio([r[s] for r in b], [r[s] for r in a]):.1f}"
                                             for s in STAGES]
            row.append(f"{paired_ratio(totals[(index, names[1])], totals[(index, main)]):.1f}")
            row.append(f"{paired_ratio([r['peak_rss_mb'] for r in b], [r['peak_rss_mb'] for r in a]):.2f}")
            lines.append("| " + " | ".join(row) + " |")

    conc = cases[-1]
    lines += ["", "Single configurations:", "", "| what | contender | load (s) | render (s) | output | peak RSS MiB |",
              "|---|---|---|---|---|---|"]
    for name in names:
        runs = results[(len(cases) - 1, name)]
        lines.append(f"| concentrator {conc['concentrator']} of the {conc['people']:,}-person inventory: "
                     f"{runs[0]['peers']:,} OpenVPN clients + WireGuard peers (view, 4 templates, "
                     f"{runs[0]['peers']:,} ccd files) | {name} | {spread(r['load'] for r in runs)} | "
                     f"{spread(r['render'] for r in runs)} | {runs[0]['bytes'] / 1e6:.1f} MB | "
                     f"{median(r['peak_rss_mb'] for r in runs):.0f} |")
    sip = "deploy/sip_server.py exists: add its number plan here" if (REPO_ROOT / "deploy" / "sip_server.py").exists() \
        else "no SIP role yet (deploy/sip_server.py)"
    lines.append(f"| SIP number plan of 10,000 extensions | - | not built yet | not built yet | {sip} | - |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        from benchmarks.harness import child_result

        child_result(child(json.loads(sys.argv[2])))
    else:
        raise SystemExit("run the benchmarks with `python -m benchmarks --only scale`")
