"""`telework audit …`: the inventory's history as evidence (see telework.audit).

    telework audit log [INVENTORY] [--person P] [--device D] [--since DATE] [--until DATE]
    telework audit at DATE [INVENTORY]
    telework audit runs [INVENTORY]
    telework audit report [INVENTORY] --out DIR [--lang de|en] [--junit FILE]

Every command reads git (never the work tree's uncommitted state) and the run records; the
index of past commits is kept under the repository's git directory and filled on first use.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from telework.audit import at as at_module
from telework.audit.i18n import LANGUAGES, Catalogue
from telework.audit.log import Audit, entry_json, run_json
from telework.cli.common import console, err_console, inventory_argument

_LANG = click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
                     help="language of the output")
_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
_INDEX = click.option("--index", "index_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help="index file (default: <git dir>/telework/audit-index/)")
_TZ = click.option("--timezone", default=at_module.DEFAULT_TIMEZONE, show_default=True,
                   help="time zone of dates given and shown")


def _day(_ctx, _param, value: str | None) -> date | None:
    return None if value is None else at_module.parse_day(value)


def _say(text: str) -> None:
    console.print(escape(text), soft_wrap=True)


def _dump(data) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


@click.group("audit")
def audit() -> None:
    """Who had access when, who granted and who applied it: from the inventory's git history."""


@audit.command("log")
@inventory_argument
@click.option("--person", metavar="USERNAME", help="only changes concerning this person")
@click.option("--device", metavar="NAME", help="only changes concerning this device (name, or a desk phone's MAC)")
@click.option("--since", metavar="DATE", callback=_day, help="from this day on (YYYY-MM-DD)")
@click.option("--until", metavar="DATE", callback=_day, help="up to the end of this day (YYYY-MM-DD)")
@_FORMAT
@_LANG
@_TZ
@_INDEX
def log_(inventory: Path, person: str | None, device: str | None, since: date | None, until: date | None,
         fmt: str, lang: str, timezone: str, index_path: Path | None) -> None:
    """The semantic change log: every change with commit, author, date, approval and the run that applied it."""
    cat = Catalogue(lang)
    with Audit(inventory, index_path=index_path, timezone=timezone) as session:
        entries = session.log(person=person, device=device, since=since, until=until)
        if fmt == "json":
            _dump({"inventory": str(inventory), "head": session.head, "person": person, "device": device,
                   "since": since and since.isoformat(), "until": until and until.isoformat(),
                   "changes": [entry_json(e, cat, session.tz) for e in entries]})
            return
        if not entries:
            _say("no changes" + (f" concerning {person or device}" if person or device else ""))
            return
        current = None
        for entry in entries:
            e = entry.event
            if e.commit.sha != current:
                current = e.commit.sha
                refs = ", ".join(e.commit.approvals) or cat("no_approval")
                console.print(f"[bold]{cat.datetime(e.commit.commit_time, session.tz)}[/]  "
                              f"[yellow]{e.commit.sha[:10]}[/]  {escape(e.commit.author)}  "
                              f"[cyan]\\[{escape(refs)}][/]  {escape(e.commit.subject)}", soft_wrap=True)
            line = "    " + cat.event(e.kind, e.params)
            if e.origin:
                line += (f"  ({e.origin['sha'][:10]} {e.origin['author']}"
                         + (f", {', '.join(e.origin['approvals'])}" if e.origin["approvals"] else "")
                         + f"; {cat('merged_by', who=e.commit.author)})")
            _say(line)
            if entry.applied:
                _say("      " + _applied_text(entry.applied, cat, session.tz))
                if entry.made and entry.made.run is not entry.applied.first:
                    made = entry.made.run
                    _say("      " + cat("made_on_device", when=cat.datetime(made.started, session.tz),
                                        who=made.who, run=made.run_id, ops="; ".join(entry.made.ops)))
            elif _has_runs(session):
                _say("      " + cat("not_applied"))


def _has_runs(session: Audit) -> bool:
    return bool(session.runs()[0])


def _applied_text(applied, cat: Catalogue, tz) -> str:
    first = applied.first
    if applied.succeeded is first:
        return cat("applied_by", when=cat.datetime(first.started, tz), who=first.who, run=first.run_id,
                   result=cat.status(first.result))
    ok = applied.succeeded
    return cat("applied_first_failed", when=cat.datetime(first.started, tz), who=first.who, run=first.run_id,
               result=cat.status(first.result), when_ok=cat.datetime(ok.started, tz) if ok else None,
               run_ok=ok.run_id if ok else None)


@audit.command("at")
@click.argument("day", metavar="DATE", callback=_day)
@inventory_argument
@click.option("--person", metavar="USERNAME", help="only this person")
@click.option("--all", "show_all", is_flag=True, help="list people without VPN access too")
@_FORMAT
@_LANG
@_TZ
def at_(day: date, inventory: Path, person: str | None, show_all: bool, fmt: str, lang: str,
        timezone: str) -> None:
    """The state at the end of DATE: who had VPN access to which networks, their devices and numbers."""
    from telework.audit.gitrepo import Repository
    from telework.audit.runs import read_runs

    cat = Catalogue(lang)
    tz = at_module.zone(timezone)
    with Repository(inventory) as repo:
        state = at_module.state_at(repo, day, timezone=timezone, runs=read_runs(repo))
    people = [p for p in state.people if (person is None or p.username == person)
              and (show_all or person or p.access)]
    if fmt == "json":
        _dump({"inventory": str(inventory), "date": day.isoformat(), "timezone": state.timezone,
               "commit": state.commit.sha if state.commit else None,
               "commit_time": state.commit.commit_time if state.commit else None,
               "people_with_access": len(state.with_access),
               "last_run": run_json(state.last_run, tz) if state.last_run else None,
               "people": [vars(p) for p in people], "devices": state.devices, "problems": state.problems})
        return
    if state.commit is None:
        _say(cat("no_state", day=cat.date(day)))
        return
    _say(cat("state_at", day=cat.date(day), timezone=state.timezone, commit=state.commit.sha[:10],
             when=cat.datetime(state.commit.commit_time, tz), author=state.commit.author.name))
    _say(cat("access_summary", count=len(state.with_access)))
    if state.last_run:
        r = state.last_run
        _say(cat("last_run_before", when=cat.datetime(r.started, tz), who=r.who, commit=(r.commit or "")[:10],
                 result=cat.status(r.result)))
    for problem in state.problems:
        err_console.print(f"[yellow]{cat('problems')}:[/] {escape(problem)}", soft_wrap=True)
    table = Table(show_lines=False)
    for key in ("username", "name", "department", "access", "networks", "did", "addresses", "devices",
                "certificates"):
        table.add_column(cat(key))
    for p in people:
        access = cat.value(p.access)
        if p.revoked:
            access += " (" + cat("revoked", date=p.revoked.get("date"), reason=p.revoked.get("reason")) + ")"
        elif p.status != "active":
            access += f" ({p.status})"
        table.add_row(*(escape(cat.value(v)) for v in (p.username, p.name, p.department)), escape(access),
                      *(escape(cat.value(v)) for v in (p.networks, p.did, p.addresses, p.devices, p.certificates)))
    console.print(table)


@audit.command("runs")
@inventory_argument
@_FORMAT
@_LANG
@_TZ
@_INDEX
def runs_(inventory: Path, fmt: str, lang: str, timezone: str, index_path: Path | None) -> None:
    """The apply history from the run records, with the commits each run applied."""
    cat = Catalogue(lang)
    with Audit(inventory, index_path=index_path, timezone=timezone) as session:
        links, _applied = session.runs()
        subjects = {c.sha: c.subject for c in session.commits()}
        if fmt == "json":
            _dump({"inventory": str(inventory), "head": session.head, "runs": [
                {**run_json(link.run, session.tz), "in_history": link.in_history,
                 "on_main_line": link.on_main_line, "first_applied": link.first_applied}
                for link in links]})
            return
        if not links:
            _say(cat("no_runs"))
            return
        table = Table()
        for key in ("run", "started", "who", "commit", "run_status", "hosts_result", "in_history",
                    "first_applied"):
            table.add_column(cat(key))
        for link in links:
            r = link.run
            hosts = ", ".join(f"{n} {cat.status(s) if s in ('failed', 'skipped') else s}"
                              for s, n in r.hosts.items())
            first = "\n".join(f"{sha[:10]} {subjects.get(sha, '')}" for sha in link.first_applied[-5:])
            if len(link.first_applied) > 5:
                first = f"… (+{len(link.first_applied) - 5})\n" + first
            table.add_row(escape(r.run_id), cat.datetime(r.started, session.tz), escape(r.who),
                          (r.commit or "")[:10], cat.status(r.result), escape(hosts),
                          cat.value(link.in_history), escape(first))
        console.print(table)


@audit.command("report")
@inventory_argument
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="directory for report.html and the CSV files")
@click.option("--lang", type=click.Choice(LANGUAGES), default="de", show_default=True)
@click.option("--junit", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="JUnit XML of the last `telework verify` run")
@click.option("--suites", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Testinfra suites (default: tests/hosts of this checkout)")
@click.option("--since", metavar="DATE", callback=_day, help="change log from this day on")
@click.option("--until", metavar="DATE", callback=_day, help="change log up to this day")
@_TZ
@_INDEX
def report_(inventory: Path, out_dir: Path, lang: str, junit: Path | None, suites: Path | None,
            since: date | None, until: date | None, timezone: str, index_path: Path | None) -> None:
    """A self-contained HTML report with CSV files for auditors (German or English)."""
    from telework.audit.report import build_report

    with Audit(inventory, index_path=index_path, timezone=timezone) as session:
        written = build_report(session, out_dir, lang=lang, junit=junit, suites=suites, since=since, until=until)
    for path in written:
        _say(f"wrote {path}")
