"""`telework pull reports DIR`: the last report of every endpoint, and who has gone quiet.

Reads DIR/reports/<host>/*.json (what agents PUT, through `telework pull serve` or nginx) and
DIR/<host>/manifest.json (which bundle each endpoint should be on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from telework.pull.agent import parse_time


@dataclass(frozen=True)
class EndpointStatus:
    host: str
    status: str  # applied | failed | refused | never (no report) ; stale is a flag
    finished: str | None
    commit: str | None
    current: bool  # the report is about the bundle published now
    changed: int
    failed: int
    error: str | None
    stale: bool

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _latest(directory: Path) -> dict | None:
    best: tuple[str, dict] | None = None
    for path in directory.glob("*.json"):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
            finished = str(report["finished"])
            parse_time(finished)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if best is None or finished > best[0]:
            best = (finished, report)
    return best[1] if best else None


def endpoint_statuses(root: Path | str, stale_days: float = 7, now: datetime | None = None) -> list[EndpointStatus]:
    root = Path(root)
    now = now or datetime.now(UTC)
    hosts = {p.parent.name for p in root.glob("*/manifest.json")}
    if (root / "reports").is_dir():
        hosts |= {p.name for p in (root / "reports").iterdir() if p.is_dir()}
    out = []
    for host in sorted(hosts):
        report = _latest(root / "reports" / host) if (root / "reports" / host).is_dir() else None
        published = None
        try:
            published = json.loads((root / host / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        if report is None:
            out.append(EndpointStatus(host, "never", None, None, False, 0, 0, None, True))
            continue
        bundle = report.get("bundle") or {}
        commit = bundle.get("inventory_commit")
        finished = report["finished"]
        stale = now - parse_time(finished) > timedelta(days=stale_days)
        current = bool(published and commit == published.get("inventory_commit")
                       and report.get("status") == "applied")
        out.append(EndpointStatus(host, str(report.get("status")), finished, commit, current,
                                  len(report.get("changed") or []), len(report.get("failed") or []),
                                  report.get("error"), stale))
    return out
