"""`python -m benchmarks [--smoke] [--only NAME...] [--baseline REV] [--results FILE]`."""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import FAMILIES
from benchmarks.harness import (
    REPO_ROOT,
    RESULTS,
    Contender,
    Context,
    section_header,
    smoke_results_path,
    write_results,
)


def _cache_dir(smoke: bool) -> Path:
    """Synthetic inventories: /var/cache/telework/bench (shared, reused between runs), else the
    user's cache; smoke runs get a fresh temporary directory (tiny inventories, seconds)."""
    if smoke:
        return Path(tempfile.mkdtemp(prefix="telework-bench-"))
    for path in (Path("/var/cache/telework/bench"),
                 Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "telework" / "bench"):
        try:
            path.mkdir(parents=True, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    raise SystemExit("benchmarks: no writable cache directory for the synthetic inventories")


def _baseline(rev: str, tmp: Path) -> Contender:
    """`telework@REV`: that commit's src/, deploy/, group_data/ and templates/ unpacked (git
    archive), imported first."""
    out = tmp / "baseline"
    out.mkdir()
    archive = subprocess.run(["git", "archive", rev, "src", "templates", "group_data", "deploy"], cwd=REPO_ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    connector = out / "src" / "telework" / "engine" / "connector.py"
    if not connector.exists():
        # The installed package registers telework.engine.connector as a pyinfra entry point, and
        # pyinfra loads every registered connector: an older tree (telework/connector.py, before
        # the engine package) gets the current module, which imports nothing of telework's.
        connector.parent.mkdir(exist_ok=True)
        (connector.parent / "__init__.py").touch()
        connector.write_bytes((REPO_ROOT / "src" / "telework" / "engine" / "connector.py").read_bytes())
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO_ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    return Contender(f"telework@{commit}", src=out / "src")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one repetition, results to a temporary file (CI: the runner must not rot)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(FAMILIES), help="families to run")
    parser.add_argument("--repetitions", type=int, help="measurements per case and contender (default 5; smoke 1)")
    parser.add_argument("--baseline", metavar="REV", help="also measure telework at this git revision, paired")
    parser.add_argument("--results", type=Path, help="file to update (default benchmarks/RESULTS.md; smoke: a temp file)")
    args = parser.parse_args(argv)

    names = args.only or list(FAMILIES)
    results = args.results or (smoke_results_path() if args.smoke else RESULTS)
    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="telework-bench-") as tmp:
        contenders = [Contender("telework")]
        if args.baseline:
            contenders.append(_baseline(args.baseline, Path(tmp)))
        ctx = Context(smoke=args.smoke, repetitions=args.repetitions or (1 if args.smoke else 5),
                      contenders=contenders, cache_dir=_cache_dir(args.smoke))
        sections = {}
        for name in names:
            family = importlib.import_module(FAMILIES[name])
            ctx.say(f"benchmark family {name}: {family.TITLE}")
            body = family.run(ctx)
            sections[name] = f"## {family.TITLE}\n\n{section_header(command)}\n{body}"
            print(f"family {name}: ok")
        write_results(sections, results)
    print(f"results: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
