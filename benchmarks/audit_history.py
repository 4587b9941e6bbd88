"""A long synthetic inventory history, and how fast `telework audit` answers on it.

    python benchmarks/audit_history.py [--commits 5000] [--keep DIR]

Builds a git repository whose first commit is the sample city (inventory/sample) followed by
N commits of the kinds an administration makes (VPN granted and withdrawn, department
changes, extra networks, device ring moves and firmware updates, people joining with a
number and a tunnel address, people leaving, revocations, suspensions), every tenth one
merged from a topic branch, with ticket references in the messages. It is written with one
`git fast-import` (seconds, not the minutes thousands of `git commit`s take).

Then it measures, with a fresh index each time: the cold index build over the whole history,
a warm per-person query (index present: `git rev-list` plus one indexed lookup), and the
incremental update after one more commit. The numbers go to stdout as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "inventory" / "sample"
START = 1704067200  # 2024-01-01T00:00:00Z
AUTHORS = [("Jana Admin", "jana.admin@gruenfelden.example"), ("Tobias Netz", "tobias.netz@gruenfelden.example"),
           ("Petra Personal", "petra.personal@gruenfelden.example")]
_ITEM = re.compile(r"^  - (\{.*\})$")
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$")


def _flow(item: dict) -> str:
    """One item as the sample writes it: a flow mapping on one line."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return _flow(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        text = str(v)
        if _PLAIN.match(text) and not text.replace(".", "").isdigit() and text not in ("true", "false", "null"):
            return text
        return json.dumps(text, ensure_ascii=False)
    return "{" + ", ".join(f"{k}: {value(v)}" for k, v in item.items()) + "}"


class ListFile:
    """A section file of the sample in the one-item-a-line layout, kept as header + items."""

    def __init__(self, path: Path):
        import yaml
        self.header, self.items, self.section = [], [], None
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _ITEM.match(line)
            if match:
                self.items.append(yaml.safe_load(match.group(1)))
            elif not self.items:
                self.header.append(line)
        self.section = next(h[:-1] for h in self.header if h.endswith(":") and not h.startswith("#"))

    def render(self) -> str:
        return "\n".join(self.header + [f"  - {_flow(i)}" for i in self.items]) + "\n"


class Allocations:
    def __init__(self, path: Path):
        from telework.ipam import file as allocations_file
        self.module = allocations_file
        self.pools = allocations_file.parse(path.read_text(encoding="utf-8")).pools

    def allocate(self, pool: str, member: str, day: str) -> None:
        from datetime import date
        entries = self.pools[pool]
        used = set(entries.allocated) | set(entries.released)
        address = max(used) + 1
        entries.allocated[address] = (member, date.fromisoformat(day))

    def release(self, member: str, day: str) -> None:
        from datetime import date
        for entries in self.pools.values():
            for address, (who, _d) in list(entries.allocated.items()):
                if who == member:
                    del entries.allocated[address]
                    entries.released[address] = (member, date.fromisoformat(day))

    def render(self) -> str:
        return self.module.render(self.pools)


class History:
    """The generator: an in-memory inventory and a fast-import stream of its commits."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.files: dict[str, str] = {}
        for path in sorted(SAMPLE.rglob("*")):
            if path.is_file():
                self.files[str(path.relative_to(SAMPLE))] = path.read_text(encoding="utf-8")
        self.people = {rel: ListFile(SAMPLE / rel) for rel in self.files if rel.startswith("people/")}
        self.igel = ListFile(SAMPLE / "endpoints" / "igel.yml")
        self.notebooks = ListFile(SAMPLE / "endpoints" / "notebooks.yml")
        self.allocations = Allocations(SAMPLE / "allocations.yml")
        self.revocations: dict[str, dict] = {}
        import yaml
        org = yaml.safe_load(self.files["organisation.yml"])
        self.departments = [d["id"] for d in org["departments"]]
        nets = yaml.safe_load(self.files["networks.yml"])
        self.networks = [n["name"] for n in nets["networks"] if n["purpose"] == "servers"]
        self.mark = 0
        self.time = START
        self.out: list[bytes] = []
        self.serial = 0

    # ---- stream writing

    def _data(self, text: str) -> None:
        raw = text.encode("utf-8")
        self.out.append(b"data %d\n" % len(raw) + raw + b"\n")

    def commit(self, ref: str, message: str, changed: dict[str, str], parent: int | None,
               merge: int | None = None) -> int:
        self.mark += 1
        self.time += self.rng.randint(600, 6 * 3600)
        name, email = self.rng.choice(AUTHORS)
        self.out.append(f"commit {ref}\nmark :{self.mark}\n".encode())
        self.out.append(f"author {name} <{email}> {self.time} +0100\n".encode())
        self.out.append(f"committer {name} <{email}> {self.time} +0100\n".encode())
        self._data(message)
        if parent is not None:
            self.out.append(f"from :{parent}\n".encode())
        if merge is not None:
            self.out.append(f"merge :{merge}\n".encode())
        for rel, text in sorted(changed.items()):
            self.out.append(f"M 100644 inline inventory/{rel}\n".encode())
            self._data(text)
        return self.mark

    def day(self) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(self.time))

    # ---- changes an administration makes

    def _person(self):
        rel = self.rng.choice(sorted(self.people))
        return rel, self.rng.choice(self.people[rel].items)

    def _ref(self) -> str:
        n = self.rng.randint(1000, 9999)
        return self.rng.choice([f" (#{n})", f"\n\nTicket: INC-2025-{n:04d}",
                                "\n\nApproved-by: Amtsleitung <al@gruenfelden.example>", ""])

    def change(self, single_file: bool = False) -> tuple[str, dict[str, str]]:
        """Apply one random change; returns (commit message, changed files)."""
        kinds = ["vpn", "department", "extra", "suspend"] if single_file else \
            ["vpn"] * 5 + ["department"] * 3 + ["extra", "ring", "ring", "firmware", "firmware", "firmware",
                                                 "join", "join", "leave", "revoke", "suspend"]
        kind = self.rng.choice(kinds)
        if kind in ("vpn", "department", "extra", "suspend"):
            rel, person = self._person()
            if kind == "vpn":
                person["vpn"] = not person.get("vpn", False)
                message = f"{'Grant' if person['vpn'] else 'Withdraw'} VPN access: {person['username']}"
            elif kind == "department":
                person["department"] = self.rng.choice(self.departments)
                message = f"{person['username']} moves to {person['department']}"
            elif kind == "extra":
                extra = sorted(set(person.get("extra_access", [])) | {self.rng.choice(self.networks)})
                person["extra_access"] = extra
                message = f"{person['username']}: access to {extra[-1]}"
            else:
                person["status"] = "active" if person.get("status") == "suspended" else "suspended"
                message = f"{person['username']}: {person['status']}"
            return message + self._ref(), {rel: self.people[rel].render()}
        if kind in ("ring", "firmware"):
            device = self.rng.choice(self.igel.items)
            if kind == "ring":
                device["ring"] = self.rng.choice(["pilot", "early", "all"])
                message = f"{device['name']} to ring {device['ring']}"
            else:
                device["firmware"] = self.rng.choice(["12.5.1", "12.6.0", "12.6.1", "12.7.0"])
                message = f"IGEL OS {device['firmware']} on {device['name']}"
            return message + self._ref(), {"endpoints/igel.yml": self.igel.render()}
        if kind == "join":
            rel = self.rng.choice(sorted(self.people))
            self.serial += 1
            username = f"neu{self.serial:05d}"
            ext = 2100 + self.serial % 7900
            self.people[rel].items.append({"username": username, "name": f"Neue Person {self.serial}",
                                           "department": self.rng.choice(self.departments),
                                           "site": self.people[rel].items[0]["site"], "vpn": True,
                                           "phone": {"extension": str(ext), "did": f"+49 9999 {ext}"}})
            self.allocations.allocate("vpn-a-openvpn", f"person:{username}", self.day())
            return f"New colleague {username}{self._ref()}", {
                rel: self.people[rel].render(), "allocations.yml": self.allocations.render()}
        if kind == "leave":
            rel, person = self._person()
            self.people[rel].items.remove(person)
            self.allocations.release(f"person:{person['username']}", self.day())
            return f"{person['username']} left{self._ref()}", {
                rel: self.people[rel].render(), "allocations.yml": self.allocations.render()}
        # revoke
        _rel, person = self._person()
        self.revocations[person["username"]] = {"date": self.day(), "reason": "device lost", "by": "Jana Admin"}
        lines = ["revocations:"]
        for user in sorted(self.revocations):
            entry = self.revocations[user]
            lines += [f"  {user}:", f"    date: {entry['date']}", f"    reason: \"{entry['reason']}\"",
                      f"    by: \"{entry['by']}\""]
        return f"Revoke VPN access of {person['username']}{self._ref()}", {
            "access/revocations.yml": "\n".join(lines) + "\n"}

    def build(self, commits: int) -> bytes:
        main = self.commit("refs/heads/main", "Sample city: initial inventory", self.files, None)
        n = 1
        while n < commits:
            if n % 10 == 0 and n + 3 <= commits:
                # a topic branch with one change, main moves on in another file, then the merge
                message, changed = self.change(single_file=True)
                topic = self.commit("refs/heads/topic", message, changed, main)
                device = self.rng.choice(self.igel.items)
                device["firmware"] = self.rng.choice(["12.6.1", "12.7.0"])
                main = self.commit("refs/heads/main", f"IGEL OS {device['firmware']} on {device['name']}",
                                   {"endpoints/igel.yml": self.igel.render()}, main)
                main = self.commit("refs/heads/main",
                                   f"Merge branch 'topic' into 'main'\n\nSee merge request city/inventory!{n}",
                                   changed, main, merge=topic)
                n += 3
                continue
            message, changed = self.change()
            main = self.commit("refs/heads/main", message, changed, main)
            n += 1
        return b"".join(self.out)


def build_repository(directory: Path, commits: int, seed: int = 1) -> Path:
    """A git repository in `directory` with `commits` commits; returns its inventory dir."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(directory)], check=True)
    stream = History(seed).build(commits)
    subprocess.run(["git", "-C", str(directory), "fast-import", "--quiet"], input=stream, check=True)
    subprocess.run(["git", "-C", str(directory), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)
    subprocess.run(["git", "-C", str(directory), "reset", "-q", "--hard"], check=True)
    return directory / "inventory"


def _timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def _spread(values: list[float], unit: float = 1.0, fmt: str = "{:.2f}") -> str:
    ordered = sorted(values)
    pick = [ordered[0], ordered[len(ordered) // 2], ordered[-1]]
    return " / ".join(fmt.format(v * unit) for v in pick)


SECTION = "audit-history"


def write_section(path: Path, body: str) -> None:
    """Replace this script's `<!-- bench:audit-history -->` section of RESULTS.md (or append it);
    every other section of the shared file stays as it is."""
    begin, end = f"<!-- bench:{SECTION} -->", f"<!-- /bench:{SECTION} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# telework benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="cold builds (fresh index each) and warm queries")
    parser.add_argument("--person", default=None, help="person to ask about (default: the most changed)")
    parser.add_argument("--keep", type=Path, help="build the repository here and keep it")
    parser.add_argument("--results", type=Path, help="write the section into this RESULTS.md")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT / "src"))
    from telework.audit.gitrepo import Repository
    from telework.audit.index import AuditIndex

    tmp = Path(tempfile.mkdtemp(prefix="telework-audit-bench-"))
    where = args.keep or tmp / "repo"
    try:
        build_time, inventory = _timed(lambda: build_repository(where, args.commits))
        repo = Repository(inventory)
        colds = []
        for n in range(args.repeat):
            index_path = tmp / f"index-{n}.sqlite"
            cold, chain = _timed(lambda path=index_path: AuditIndex(repo, path).update())
            colds.append(cold)
        index = AuditIndex(repo, index_path)
        counts = index.db.execute("SELECT entity, COUNT(*) FROM entity_events WHERE entity LIKE 'person:%' "
                                  "GROUP BY entity ORDER BY 2 DESC LIMIT 1").fetchone()
        person = args.person or counts[0].split(":", 1)[1]
        events_total = index.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

        def query():
            warm_index = AuditIndex(repo, index_path)
            found = warm_index.events(warm_index.update(), [f"person:{person}"])
            warm_index.close()
            return found

        warm, found = [], []
        for _ in range(max(args.repeat, 5)):
            t, found = _timed(query)
            warm.append(t)
        cli = []
        for _ in range(args.repeat):
            t, _done = _timed(lambda: subprocess.run(
                [sys.executable, "-m", "telework.cli", "audit", "log", str(inventory), "--person", person,
                 "--format", "json", "--index", str(index_path)], capture_output=True, check=True))
            cli.append(t)
        # one more commit on top: the index computes only that one
        subprocess.run(["git", "-C", str(where), "commit", "-q", "--allow-empty", "-m", "empty"], check=True)
        (inventory / "endpoints" / "linux.yml").write_text(
            (inventory / "endpoints" / "linux.yml").read_text(encoding="utf-8") + "# reviewed\n", encoding="utf-8")
        subprocess.run(["git", "-C", str(where), "commit", "-q", "-am", "comment (#1)"], check=True,
                       env={**__import__("os").environ, "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
                            "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"})
        incremental, _chain = _timed(lambda: AuditIndex(repo, index_path).update())
        import platform
        rows = [
            "## `telework audit`: one person over a long history",
            "",
            f"Command: `python benchmarks/audit_history.py --commits {args.commits} --repeat {args.repeat}`  ",
            f"Machine: {platform.machine()}, {__import__('os').cpu_count()} CPUs, Python {platform.python_version()}, "
            f"git {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.split()[-1]}  ",
            "History: the sample city (750 people) then synthetic commits (VPN grants and withdrawals, "
            "department moves, extra networks, ring moves, firmware updates, joiners with number and "
            "tunnel address, leavers, revocations, suspensions), every tenth change merged from a topic "
            "branch; written with `git fast-import`.",
            "",
            "| measurement | min / median / max |",
            "|---|---|",
            f"| commits in the repository / on the inventory's main line | {args.commits} / {len(chain)} "
            f"(repository built in {build_time:.1f} s) |",
            f"| change events indexed | {events_total} |",
            f"| cold index build, whole history (s) | {_spread(colds)} "
            f"({min(colds) / len(chain) * 1000:.2f} ms per commit at best) |",
            f"| warm query of one person (`{person}`, {len(found)} events), in-process (ms) | "
            f"{_spread(warm, 1000, '{:.0f}')} |",
            f"| warm `telework audit log --person {person} --format json`, whole process (s) | {_spread(cli)} |",
            f"| index update after one new commit (s) | {incremental:.2f} |",
        ]
        body = "\n".join(rows) + "\n"
        print(body)
        if args.results:
            write_section(args.results, body)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
