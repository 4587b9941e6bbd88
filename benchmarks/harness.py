"""What every benchmark family shares: contenders run paired and interleaved, one fresh process
per measurement, min/median/max, the machine and versions, and RESULTS.md merged section by section.

A family is a module of this package with `NAME`, `TITLE` and `run(ctx) -> str` (the Markdown
body of its section); it is listed in `benchmarks.FAMILIES`. A family measures by running
`Contender`s through `ctx.measure()`: each call is one child process (`python -m
benchmarks.<family> --child JSON`) that prints one JSON object of numbers on its last line
and adds its own peak RSS (VmHWM, else `resource.getrusage`), so the memory of one size or one host count
is never mixed with another's. Children of the same `pair` key are run back to back, contenders
alternating in order from one repetition to the next (A B, B A, ...), so that a neighbour's load
on this shared machine hits both alike: compare contenders by the median of per-pair ratios.
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS = REPO_ROOT / "benchmarks" / "RESULTS.md"
_SECTION = re.compile(r"<!-- bench:(?P<name>[\w.-]+) -->\n.*?<!-- /bench:(?P=name) -->\n?", re.S)


@dataclass(frozen=True)
class Contender:
    """One way of doing the work: a name for the tables and the environment of its child process.

    `src` puts another telework source tree first on the import path (the baseline commit)."""

    name: str
    src: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        paths = [str(self.src), str(REPO_ROOT)] if self.src else [str(REPO_ROOT)]
        env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
        # An installed telework has its bytecode (pip compiles it at install); with
        # PYTHONDONTWRITEBYTECODE set (some CI machines) every run compiles ~100 modules from
        # source first, which measures the interpreter, not the contender.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env


@dataclass
class Context:
    """What a family gets from the runner."""

    smoke: bool
    repetitions: int
    contenders: list[Contender]
    cache_dir: Path
    log: object = sys.stderr

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)  # type: ignore[arg-type]

    def child(self, family: str, contender: Contender, args: dict) -> dict:
        """Run one measurement in a fresh process; its JSON result plus `peak_rss_mb`."""
        cmd = [sys.executable, "-m", f"benchmarks.{family}", "--child", json.dumps(args)]
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=contender.environ(), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{contender.name}: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def measure(self, family: str, cases: list[dict], contenders: list[Contender] | None = None) -> dict:
        """Every case for every contender, `repetitions` times, interleaved.

        Returns {(case index, contender name): [result of each repetition]}."""
        contenders = contenders or self.contenders
        out: dict[tuple[int, str], list[dict]] = {}
        for rep in range(self.repetitions):
            for index, case in enumerate(cases):
                order = contenders if (rep + index) % 2 == 0 else list(reversed(contenders))
                for contender in order:
                    self.say(f"  rep {rep + 1}/{self.repetitions} {contender.name}: {case.get('label') or json.dumps(case)}")
                    out.setdefault((index, contender.name), []).append(self.child(family, contender, case))
        return out


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    VmHWM (Linux) belongs to the address space exec() made, so it is this process's own;
    getrusage's ru_maxrss can carry the peak of the parent the child was forked from."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_result(values: dict) -> None:
    """Print a child's numbers as its last line, with the process's peak RSS (MiB)."""
    values = dict(values)
    values["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(values))


# ---------------------------------------------------------------- statistics


def spread(values: Iterable[float], digits: int = 2) -> str:
    """`min / median / max` of the values."""
    v = sorted(values)
    return " / ".join(f"{x:.{digits}f}" for x in (v[0], statistics.median(v), v[-1]))


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median of a[i] / b[i] over repetitions measured back to back."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True) if y)


# ---------------------------------------------------------------- machine and versions


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, {ram} RAM, kernel {platform.release()}, "
            f"load average at start {load}")


def versions(src: Path | None = None) -> str:
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True,
                            text=True).stdout.strip() or "?"
    return (f"telework {v('telework')} (git {commit}), pyinfra {v('pyinfra')}, Python {platform.python_version()}, "
            f"PyYAML {v('pyyaml')}, rapidyaml {v('rapidyaml')}, pydantic {v('pydantic')}, Jinja2 {v('jinja2')}")


def section_header(command: str) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Command: `{command}`  \nDate: {now}  \nVersions: {versions()}  \nMachine: {machine()}\n")


# ---------------------------------------------------------------- RESULTS.md


def merge_sections(text: str, sections: dict[str, str]) -> str:
    """`text` with each `<!-- bench:NAME -->` section replaced by the new one, or appended.

    Everything else in the file (other families' sections, sections other engineers wrote by
    hand or with their own scripts, notes between sections) is kept byte for byte."""
    done = set()

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name in sections and name not in done:
            done.add(name)
            return wrap(name, sections[name])
        return match.group(0)

    text = _SECTION.sub(replace, text)
    for name, body in sections.items():
        if name not in done:
            text = text.rstrip("\n") + "\n\n" + wrap(name, body)
    return text


def wrap(name: str, body: str) -> str:
    return f"<!-- bench:{name} -->\n{body.rstrip()}\n<!-- /bench:{name} -->\n"


RESULTS_INTRO = """# telework benchmarks

Written by `python -m benchmarks` (see benchmarks/__init__.py). Each section between
`<!-- bench:NAME -->` markers belongs to one benchmark family and is replaced when that family
runs again; everything else in this file is kept as it is. Compare contenders by their paired
ratios from one run: this machine is shared, absolute seconds drift between runs.
"""


def write_results(sections: dict[str, str], path: Path) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else RESULTS_INTRO
    path.write_text(merge_sections(text, sections), encoding="utf-8")


def smoke_results_path() -> Path:
    fd, name = tempfile.mkstemp(prefix="telework-bench-smoke-", suffix=".md")
    os.close(fd)
    os.unlink(name)
    return Path(name)
