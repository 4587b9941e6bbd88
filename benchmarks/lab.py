"""Lab: a no-change plan and a one-change apply on 1, 3 and 6 real VPN concentrators, against
the SSH floor, bare pyinfra and Ansible.

    python -m benchmarks --only lab [--baseline REV]     (root; boots its own lab)

The hosts are the lab's systemd-nspawn containers of a synthetic city (benchmarks/lab_org.py):
750 people, 6 concentrators, each serving everyone (client-config-dir: a file per person).
Contenders, each a whole process as an operator runs it:

* telework   `telework plan INV --limit H` / `telework apply INV --limit H`
* pyinfra    `pyinfra INV/inventory.py deploy/site.py --limit H --dry --diff` / `-y`: the same
             deploy files through pyinfra's own CLI and SSH connector (`-y --dry` would skip
             change detection, see performance.md observation 3)
* ansible    `ansible-playbook benchmarks/ansible/vpn_concentrator.yml --check --diff` / without
             `--check`: the same end state written as an Ansible playbook, settings as in the study
             (pipelining, forks 10, no fact gathering, cold ControlMaster per run)
* ssh floor  the very commands telework's no-change plan sends each host, as one `ssh` command
             per host, all hosts in parallel (plans only)
* telework@REV with `--baseline REV`: that commit's telework (src/, deploy/, group_data/,
             templates/), same hosts: the before/after of a change

"One change" is state A -> B or B -> A (a person changes department: their client-config-dir
file and the nftables sets change on every concentrator); measurements alternate the direction,
so every apply is one change. The end state of the two tools is shown equal at the end: a
telework plan after Ansible's apply, and Ansible's check after telework's apply, both empty.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

NAME = "lab"
TITLE = "Lab: no-change plan and one-change apply on real VPN concentrators"
NEEDS_LAB = True
HOST_COUNTS = [1, 3, 6]
SMOKE_HOST_COUNTS = [1]
PEOPLE = 750
SMOKE_PEOPLE = 40
REPO_ROOT = Path(__file__).resolve().parents[1]
ANSIBLE_DIR = REPO_ROOT / "benchmarks" / "ansible"
_RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


# ---------------------------------------------------------------- the child: one measurement


@contextmanager
def _cold_ssh_masters():
    """A fresh ControlPath directory for one Ansible run (cold masters, like the other tools'
    new connections); afterwards its masters are closed and the directory removed, as in the
    study, so no master of one run serves the next."""
    with tempfile.TemporaryDirectory(prefix="telework-bench-cp-") as control:
        try:
            yield control
        finally:
            for sock in Path(control).iterdir():
                subprocess.run(["ssh", "-S", str(sock), "-O", "exit", "master"], capture_output=True, timeout=30)


def _ansible(case: dict, hosts: list[str], state: str, check: bool, control: str) -> tuple[list[str], dict]:
    cmd = [case["ansible_playbook"], "-i", case["ansible_inventory"], str(ANSIBLE_DIR / "vpn_concentrator.yml"),
           "-e", f"files_root={case['export']}/{state}", "--limit", ",".join(hosts)]
    if check:
        cmd += ["--check", "--diff"]
    return cmd, {"ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"), "ANSIBLE_SSH_CONTROL_PATH_DIR": control}


def _ansible_changes(output: str, hosts: list[str]) -> int:
    recap = {m.group(1): (int(m.group(3)), int(m.group(4)) + int(m.group(5))) for m in _RECAP.finditer(output)}
    if set(recap) != set(hosts) or any(bad for _, bad in recap.values()):
        raise RuntimeError(f"ansible-playbook did not succeed on {hosts}:\n{output[-4000:]}")
    return sum(changed for changed, _ in recap.values())


def _command(tool: str, case: dict, hosts: list[str], target: str | None, control: str) -> tuple[list[str], dict]:
    """(argv, extra environment) of `tool` for `case`; `target`: the state an apply brings;
    `control`: Ansible's ControlPath directory."""
    inv = case["inventory"]
    if tool == "telework":
        verb = ["plan", inv, "--limit", ",".join(hosts), "--format", "json"] if case["kind"] == "plan" \
            else ["apply", inv, "--limit", ",".join(hosts)]
        return [sys.executable, "-m", "telework.cli", *verb], {}
    if tool == "pyinfra":
        limits = [a for h in hosts for a in ("--limit", h)]
        mode = ["--dry", "--diff"] if case["kind"] == "plan" else ["-y"]
        return [str(Path(sys.executable).parent / "pyinfra"), f"{inv}/inventory.py", "deploy/site.py", *limits,
                *mode], {}
    if tool == "ansible":
        return _ansible(case, hosts, target or "A", check=case["kind"] == "plan", control=control)
    raise ValueError(tool)


def _floor(case: dict, hosts: list[str]) -> dict:
    """Every host's no-change checks as one ssh command, all hosts at once."""
    t = time.perf_counter()
    procs = [subprocess.Popen(case["ssh"][h] + [case["floor"][h]], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for h in hosts]
    for h, proc in zip(hosts, procs):
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"floor on {h} failed ({proc.returncode}): {err.decode()[-1000:]}")
    return {"seconds": time.perf_counter() - t}


def child(case: dict) -> dict:
    from benchmarks.lab_org import BenchOrg

    tool = os.environ["TELEWORK_BENCH_TOOL"]
    org = BenchOrg(Path(case["root"]), case["slug"], case["people"], case["concentrators"])
    hosts = org.hosts[:case["hosts"]]
    if tool == "floor":
        return _floor(case, hosts)
    target = None
    if case["kind"] == "plan":
        org.checkout("A")
    else:
        states = org.host_states()
        if len({states.get(h) for h in hosts}) != 1:  # make them alike first (not measured)
            org.apply(states.get(hosts[0]) or "A", hosts)
            states = org.host_states()
        target = "B" if states[hosts[0]] == "A" else "A"
        org.checkout(target)
    with _cold_ssh_masters() as control:
        cmd, extra = _command(tool, case, hosts, target, control)
        env = {**os.environ, **org.env, **extra}
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=case["cwd"], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=1800)
        seconds = time.perf_counter() - t
    out = {"seconds": seconds}
    if proc.returncode != 0:  # a plan of unchanged hosts exits 0 too (telework: 2 = changes)
        raise RuntimeError(f"{tool} {case['kind']} on {hosts} exited {proc.returncode}:\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    if tool == "ansible":
        changed = _ansible_changes(proc.stdout, hosts)
        if case["kind"] == "plan" and changed:
            raise RuntimeError(f"ansible --check reports {changed} change(s) on unchanged hosts:\n{proc.stdout[-4000:]}")
    if tool == "telework" and case["kind"] == "plan":
        plan = json.loads(proc.stdout)
        counts = [h.get("remote_commands") for h in plan["hosts"]]
        out["remote_commands"] = None if None in counts else sum(counts) / len(counts)
    if target:
        org.set_host_states(hosts, target)
    return out


# ---------------------------------------------------------------- the parent: setup and tables


def _contenders(ctx):
    from benchmarks.harness import Contender

    tools = [Contender("telework", env={"TELEWORK_BENCH_TOOL": "telework"})]
    for baseline in ctx.contenders[1:]:
        tools.append(Contender(baseline.name, src=baseline.src, env={"TELEWORK_BENCH_TOOL": "telework"}))
    tools += [Contender("pyinfra", env={"TELEWORK_BENCH_TOOL": "pyinfra"}),
              Contender("ansible", env={"TELEWORK_BENCH_TOOL": "ansible"})]
    return tools, Contender("ssh floor", env={"TELEWORK_BENCH_TOOL": "floor"})


def _run_ansible(org, case: dict, hosts: list[str], state: str, check: bool) -> int:
    """One Ansible run to `state` (not measured); the number of changes it reports."""
    with _cold_ssh_masters() as control:
        cmd, extra = _ansible(case, hosts, state, check, control)
        proc = subprocess.run(cmd, env={**os.environ, **org.env, **extra}, capture_output=True, text=True,
                              timeout=1800)
    return _ansible_changes(proc.stdout, hosts)


def _end_state_proof(org, case: dict, say) -> list[str]:
    """Each tool's no-change run after the other's apply (all concentrators)."""
    hosts = org.hosts
    lines = []
    org.checkout("A")
    _run_ansible(org, case, hosts, "A", check=False)
    org.set_host_states(hosts, "A")
    plan = org.telework("plan", str(org.inventory), "--limit", ",".join(hosts), check=False)
    lines.append(f"* Ansible applied state A, then `telework plan`: exit {plan.returncode} "
                 f"({'no change' if plan.returncode == 0 else 'CHANGES'})")
    org.apply("B", hosts)
    changed = _run_ansible(org, case, hosts, "B", check=True)
    lines.append(f"* telework applied state B, then `ansible-playbook --check`: changed={changed} "
                 f"({'no change' if changed == 0 else 'CHANGES'})")
    org.apply("A", hosts)
    if plan.returncode != 0 or changed:
        say("\n".join(lines))
        raise RuntimeError("the two tools do not converge to the same end state; see above")
    return lines


def run(ctx) -> str:
    from benchmarks.harness import median, paired_ratio, spread
    from benchmarks.lab_org import ensure_controller_tools, prepare

    if os.geteuid() != 0:
        raise SystemExit("the lab family needs root (it boots a lab)")
    counts = SMOKE_HOST_COUNTS if ctx.smoke else HOST_COUNTS
    people = SMOKE_PEOPLE if ctx.smoke else PEOPLE
    slug = "benchsmoke" if ctx.smoke else "benchlab"
    playbook = ensure_controller_tools(ctx.cache_dir, ctx.say)
    org = prepare(ctx.cache_dir, people, max(counts), slug, ctx.say)
    tools, floor = _contenders(ctx)
    with tempfile.TemporaryDirectory(prefix="telework-bench-export-") as export:
        os.chmod(export, 0o700)
        ctx.say("  fetching the files telework writes, states A and B (the Ansible contender's input)")
        org.export("B", Path(export))
        org.export("A", Path(export))
        base = {"root": str(org.root), "slug": slug, "people": people, "concentrators": max(counts),
                "inventory": str(org.inventory), "export": export, "ansible_playbook": str(playbook),
                "ansible_inventory": str(org.ansible_inventory(Path(export) / "hosts.ini")),
                "cwd": str(REPO_ROOT), "floor": org.floor_scripts(), "ssh": {h: org.ssh(h) for h in org.hosts}}
        plan_cases = [{**base, "kind": "plan", "hosts": n, "label": f"no-change plan, {n} host(s)"} for n in counts]
        apply_cases = [{**base, "kind": "apply", "hosts": n, "label": f"one-change apply, {n} host(s)"}
                       for n in counts]
        plans = ctx.measure(NAME, plan_cases, tools + [floor])
        applies = ctx.measure(NAME, apply_cases, tools)
        ctx.say("  end state: each tool's no-change run after the other's apply")
        proof = _end_state_proof(org, base, ctx.say)
    if ctx.smoke:
        org.telework("lab", "down", str(org.inventory))

    names = [t.name for t in tools]
    lines = [f"Hosts: lab containers of a synthetic city ({people} people, {max(counts)} concentrator(s), each "
             f"serving everyone; `benchmarks/lab_org.py`), all sharing this machine's cores. "
             f"{ctx.repetitions} repetition(s) per case and contender, interleaved; whole-process seconds as "
             "min / median / max.", "",
             "### No-change plan", "",
             "| hosts | " + " | ".join(names + ["ssh floor"]) + " | remote commands per host (telework) |",
             "|---|" + "---|" * (len(names) + 2)]
    for i, case in enumerate(plan_cases):
        row = [str(case["hosts"])] + [spread(r["seconds"] for r in plans[(i, n)]) for n in names + ["ssh floor"]]
        rc = plans[(i, "telework")][0].get("remote_commands")
        lines.append("| " + " | ".join(row + [f"{rc:g}" if rc is not None else "-"]) + " |")
    lines += ["", "Paired ratios (median of per-repetition ratios):", "",
              "| hosts | telework / floor | pyinfra / telework | ansible / telework | per extra host, "
              "telework (s) |", "|---|---|---|---|---|"]
    def secs(results, i, name):
        return [r["seconds"] for r in results[(i, name)]]

    first = median(secs(plans, 0, "telework"))
    for i, case in enumerate(plan_cases):
        t = secs(plans, i, "telework")
        extra = case["hosts"] - plan_cases[0]["hosts"]
        lines.append(f"| {case['hosts']} | {paired_ratio(t, secs(plans, i, 'ssh floor')):.1f} | "
                     f"{paired_ratio(secs(plans, i, 'pyinfra'), t):.1f} | {paired_ratio(secs(plans, i, 'ansible'), t):.1f} | "
                     + (f"{(median(t) - first) / extra:.3f} |" if extra else "- |"))
    for baseline in names[1:-2]:
        lines += ["", f"Before/after: {baseline} / telework (paired): no-change plan " + ", ".join(
            f"{c['hosts']} host(s) {paired_ratio(secs(plans, i, baseline), secs(plans, i, 'telework')):.1f}x"
            for i, c in enumerate(plan_cases)) + "; apply with one change " + ", ".join(
            f"{c['hosts']} host(s) {paired_ratio(secs(applies, i, baseline), secs(applies, i, 'telework')):.1f}x"
            for i, c in enumerate(apply_cases))]
    lines += ["", "### Apply with one change", "",
              "| hosts | " + " | ".join(names) + " | pyinfra / telework | ansible / telework |",
              "|---|" + "---|" * (len(names) + 2)]
    for i, case in enumerate(apply_cases):
        t = secs(applies, i, "telework")
        row = [str(case["hosts"])] + [spread(secs(applies, i, n)) for n in names]
        row += [f"{paired_ratio(secs(applies, i, 'pyinfra'), t):.1f}", f"{paired_ratio(secs(applies, i, 'ansible'), t):.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Same end state:", "", *proof]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        from benchmarks.harness import child_result

        child_result(child(json.loads(sys.argv[2])))
    else:
        raise SystemExit("run through the runner: python -m benchmarks --only lab")
