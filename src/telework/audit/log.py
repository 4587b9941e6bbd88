"""The questions the CLI and the report ask, answered from the index and the run records.

`Audit` opens the repository and the index once, brings the index up to date with HEAD
(computing only commits not yet indexed), and answers: the change log (optionally for one
person or device, within dates), the run history linked to the commits, the summaries over
time. Every answer is data; `telework.cli.audit` and `telework.audit.report` put it in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from telework.audit.applied import Applied, RunLink, link_runs
from telework.audit.at import end_of_day, zone
from telework.audit.gitrepo import Repository
from telework.audit.i18n import Catalogue
from telework.audit.index import AuditIndex, CommitRow, EventRow
from telework.audit.runs import RunRecord, read_runs


#: device events whose change a run makes on the device's own target (an IGEL device's ring or
#: firmware is a move or a command in the UMS): the audit names the run that did it there
PLACEMENT_EVENTS = frozenset({"device_added", "device_ring_changed", "device_firmware_changed",
                              "device_site_changed"})


@dataclass
class Made:
    """The first run (from the one that first applied the commit on) that changed the device
    itself, and what it did there."""

    run: RunRecord
    ops: tuple[str, ...]


@dataclass
class LogEntry:
    event: EventRow
    applied: Applied | None
    made: Made | None = None


class Audit:
    def __init__(self, inventory_dir: Path | str, *, head: str = "HEAD", index_path: Path | None = None,
                 timezone: str | None = None):
        self.repo = Repository(inventory_dir)
        self.tz: ZoneInfo = zone(timezone)
        self.head = self.repo.resolve(head)
        self.index = AuditIndex(self.repo, index_path)
        self.chain = self.index.update(self.head)
        self._runs: tuple[list[RunLink], dict[str, Applied]] | None = None

    def close(self) -> None:
        self.index.close()
        self.repo.close()

    def __enter__(self) -> Audit:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # ---- runs

    def runs(self) -> tuple[list[RunLink], dict[str, Applied]]:
        if self._runs is None:
            records: list[RunRecord] = read_runs(self.repo)
            self._runs = link_runs(self.repo, self.head, self.chain, records)
        return self._runs

    # ---- the change log

    def entities(self, person: str | None, device: str | None) -> list[str] | None:
        if person is None and device is None:
            return None
        wanted = []
        if person:
            wanted.append(f"person:{person}")
        if device:
            wanted += [f"device:{device}", f"phone:{device.replace('-', ':').upper()}"]
        return wanted

    def log(self, *, person: str | None = None, device: str | None = None,
            since: date | None = None, until: date | None = None) -> list[LogEntry]:
        events = self.index.events(self.chain, self.entities(person, device))
        start = end_of_day(since - timedelta(days=1), self.tz) if since else None
        stop = end_of_day(until, self.tz) if until else None
        events = [e for e in events if (start is None or e.commit.commit_time >= start)
                  and (stop is None or e.commit.commit_time < stop)]
        links, applied = self.runs()
        return [LogEntry(e, applied.get(e.commit.sha), _made(e, applied.get(e.commit.sha), links))
                for e in events]

    def commits(self) -> list[CommitRow]:
        return self.index.commits(self.chain)


def _made(event: EventRow, applied: Applied | None, links: list[RunLink]) -> Made | None:
    """A run applies a commit to the targets it selected (--limit): the ring move of a device
    took effect with the first run from `applied.first` on that changed that device."""
    device = (event.params or {}).get("device")
    if applied is None or not device or event.kind not in PLACEMENT_EVENTS:
        return None
    runs = [link.run for link in links if link.in_history]
    start = next((i for i, r in enumerate(runs) if r is applied.first), None)
    for run in runs[start:] if start is not None else []:
        ops = run.changed_ops.get(device)
        if ops:
            return Made(run, ops)
    return None


def entry_json(entry: LogEntry, catalogue: Catalogue, tz: ZoneInfo) -> dict:
    """One change for `--format json` and changes.csv: the sentence plus every fact behind it."""
    e = entry.event
    c = e.commit
    out = {
        "text": catalogue.event(e.kind, e.params),
        "kind": e.kind,
        "params": e.params,
        "entities": e.entities,
        "commit": c.sha,
        "date": _iso(c.commit_time, tz),
        "author": e.author,
        "committer": c.committer,
        "subject": (e.origin or {}).get("subject") or c.subject,
        "approvals": e.approvals,
        "merge": None,
        "applied": None,
    }
    if e.origin:
        out["merge"] = {"commit": c.sha, "merged_by": c.author, "subject": c.subject,
                        "change_commit": e.origin["sha"], "authored": _iso(e.origin["author_time"], tz)}
    if entry.applied:
        out["applied"] = {"first": run_json(entry.applied.first, tz),
                          "succeeded": run_json(entry.applied.succeeded, tz) if entry.applied.succeeded else None}
        if entry.made:
            out["applied"]["made_on_device"] = {**run_json(entry.made.run, tz), "ops": list(entry.made.ops)}
    return out


def run_json(run: RunRecord, tz: ZoneInfo) -> dict:
    return {"run_id": run.run_id, "commit": run.commit, "result": run.result, "who": run.who,
            "started": run.started.astimezone(tz).isoformat() if run.started else None,
            "finished": run.finished.astimezone(tz).isoformat() if run.finished else None,
            "hosts": run.hosts, "failed_hosts": list(run.failed_hosts), "limit": list(run.limit),
            "pipeline": run.pipeline}


def _iso(when: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(when, tz).isoformat()
