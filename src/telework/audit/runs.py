"""Reading the run records `telework apply` writes: who applied which commit, when, with what result.

The records are written by `telework.apply.runrecord` (format `telework.run/1`, documented
there): one JSON object per line in a git note on the applied commit under
`refs/notes/telework/runs`, or `<inventory>/.telework/runs/<run id>.json` for an inventory
outside git. This module only reads them, leniently (a record of an older or newer format
keeps what can be read), and is the one place to adapt when the format changes.

The plan inside a record is never shown by the audit beyond host counts: it is redacted by
apply already, and the audit has no need for more.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from telework.apply.runrecord import NOTES_REF
from telework.audit.gitrepo import GitError, Repository, git


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    commit: str | None
    result: str
    who: str
    who_source: str | None
    started: datetime | None
    finished: datetime | None
    #: host status -> number of hosts (changed, unchanged, failed, unreachable, skipped)
    hosts: dict[str, int] = field(default_factory=dict)
    failed_hosts: tuple[str, ...] = ()
    limit: tuple[str, ...] = ()
    pipeline: str | None = None
    reviewed_plan: str | None = None
    dirty: bool = False
    where: str = ""
    #: per host the run changed: what it changed (API targets name the object and the action,
    #: e.g. "igel | move device igel-0001 (MAC ...) in city/pilot/rathaus")
    changed_ops: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def host_total(self) -> int:
        return sum(self.hosts.values())


def _time(value) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _who(value) -> tuple[str, str | None]:
    if isinstance(value, dict):
        name, login, email = value.get("name"), value.get("login"), value.get("email")
        shown = name or login or "unknown"
        if login and name and login != name:
            shown = f"{name} ({login})"
        if email:
            shown += f" <{email}>"
        return shown, value.get("source")
    return (str(value) if value else "unknown"), None


def parse_record(data: dict, where: str) -> RunRecord | None:
    """One record of any `telework.run/*` version; None when it is not a run record."""
    if not isinstance(data, dict) or not data.get("run_id"):
        return None
    hosts = data.get("hosts") if isinstance(data.get("hosts"), dict) else {}
    statuses = Counter(str((h or {}).get("status", "unknown")) for h in hosts.values())
    failed = tuple(sorted(name for name, h in hosts.items()
                          if (h or {}).get("status") in ("failed", "unreachable")))
    who, source = _who(data.get("who"))
    ci = data.get("ci") if isinstance(data.get("ci"), dict) else {}
    reviewed = data.get("reviewed_plan") if isinstance(data.get("reviewed_plan"), dict) else {}
    limit = data.get("limit")
    return RunRecord(
        run_id=str(data["run_id"]), commit=data.get("commit"), result=str(data.get("result", "unknown")),
        who=who, who_source=source, started=_time(data.get("started")), finished=_time(data.get("finished")),
        hosts=dict(sorted(statuses.items())), failed_hosts=failed,
        limit=tuple(limit) if isinstance(limit, list) else ((str(limit),) if limit else ()),
        pipeline=ci.get("pipeline_url") or ci.get("job_url"), reviewed_plan=reviewed.get("sha256"),
        dirty=bool(data.get("dirty")), where=where,
        changed_ops={name: tuple(str(op) for op in (h or {}).get("changed_ops") or ())
                     for name, h in hosts.items() if (h or {}).get("status") == "changed"})


def read_runs(repo: Repository) -> list[RunRecord]:
    """Every run record of the repository (notes) and of the inventory directory (files),
    oldest first."""
    records: list[RunRecord] = []
    try:
        listing = git(repo.toplevel, "notes", f"--ref={NOTES_REF}", "list")
    except GitError:
        listing = ""
    for line in listing.splitlines():
        note, _, commit = line.partition(" ")
        for number, text in enumerate(repo.text(note).splitlines(), 1):
            records += _parse_line(text, f"git note on {commit[:12]}, line {number}")
    return sorted(records + read_run_files(repo.inventory_dir), key=_order)


def read_run_files(inventory_dir: Path) -> list[RunRecord]:
    records: list[RunRecord] = []
    for path in sorted((Path(inventory_dir) / ".telework" / "runs").glob("*.json")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            records += _parse_line(text, f"{path}:{number}")
    return records


def _parse_line(text: str, where: str) -> list[RunRecord]:
    if not text.strip():
        return []
    try:
        record = parse_record(json.loads(text), where)
    except json.JSONDecodeError:
        return []
    return [record] if record else []


def _order(record: RunRecord) -> tuple:
    return (record.started or datetime.min.replace(tzinfo=UTC), record.run_id)
