"""The auditor's report: one self-contained HTML file and the CSV files behind it.

`build_report` collects the data (fleet counts at HEAD, summaries over time, the change log,
the run history, the compliance table), and renders templates/audit/report.html.j2 with it;
texts come from the message catalogue of the chosen language. The HTML has its CSS inline
and its charts as inline SVG drawn by `telework.audit.charts`: no script, no font or style
from the network, so it opens the same on an air-gapped auditor's laptop and in an archive
years later.

CSV files are for the auditor's own analysis: UTF-8 with a byte order mark (spreadsheets
then read umlauts right), `;` as separator in German (as German spreadsheets expect), `,`
in English. Headers are in the report's language; values are as stored.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import jinja2

from telework import __version__
from telework.audit import charts
from telework.audit.compliance import (
    PARTIAL,
    VerifyRun,
    by_requirement,
    compliance,
    coverage,
    read_junit,
    read_suites,
    requirement_order,
)
from telework.audit.i18n import TEMPLATES, Catalogue
from telework.audit.log import Audit, LogEntry, entry_json
from telework.inventory.source import parse_yaml

#: changes shown in the HTML (newest first); all of them are in changes.csv
MAX_HTML_CHANGES = 1500


def _default_suites() -> Path:
    from telework.resources import host_suites_dir

    return host_suites_dir()


def build_report(audit: Audit, out_dir: Path, *, lang: str = "de", junit: Path | None = None,
                 suites: Path | None = None, since: date | None = None, until: date | None = None,
                 now: datetime | None = None) -> list[Path]:
    """Write report.html and the CSV files into `out_dir`; returns the files written."""
    cat = Catalogue(lang)
    tz = audit.tz
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    commits = audit.commits()
    head_summary = commits[-1].summary if commits else {}
    entries = audit.log(since=since, until=until)
    links, _applied = audit.runs()
    checks = read_suites(suites or _default_suites())
    verify_run: VerifyRun | None = None
    results_by_test = None
    if junit is not None:
        verify_run, results_by_test = read_junit(junit)
    results = compliance(checks, results_by_test)
    bsi = parse_yaml((TEMPLATES / "bsi.yml").read_text(encoding="utf-8"))

    # ---- fleet and charts
    fleet = _fleet(head_summary, cat)
    series = _vpn_series(commits)
    vpn_chart = charts.step_chart(series, title=cat("vpn_over_time"),
                                  x_label=lambda x: cat.date(datetime.fromtimestamp(x, tz)))
    firmware = sorted(head_summary.get("firmware", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    rings = sorted(head_summary.get("rings", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    firmware_chart = charts.bar_chart(firmware, title=cat("devices_by_firmware"))
    ring_chart = charts.bar_chart(rings, title=cat("devices_by_ring"))

    # ---- change log
    rows = [_change_row(entry, cat, audit) for entry in entries]
    without = sum(1 for entry in entries if not entry.event.approvals)
    shown = list(reversed(rows))[:MAX_HTML_CHANGES]

    # ---- compliance
    requirement_rows = []
    named = by_requirement(results)
    scopes = bsi.get("coverage") or {}
    for requirement in sorted(set(named) | set(bsi["requirements"]), key=requirement_order):
        evidence = named.get(requirement, [])
        module = requirement.rsplit(".A", 1)[0]
        scope = scopes.get(requirement) or {}
        requirement_rows.append({
            "id": requirement, "title": bsi["requirements"].get(requirement, ""),
            "module": (bsi["modules"].get(module) or {}).get(lang, ""),
            "checks": [f"{r.check.module}::{r.check.name}" for r in evidence],
            "results": [r.status for r in evidence],
            "coverage": coverage(evidence, scope.get("scope", PARTIAL)),
            "gap": (scope.get("gap") or {}).get(lang, "") if evidence else ""})
    check_rows = [{
        "id": f"{r.check.module}::{r.check.name}", "suite": r.check.module, "name": r.check.name,
        "role": r.check.role, "requirements": list(r.check.requirements), "description": r.check.description,
        "status": r.status, "hosts": dict(r.hosts),
        "failed_hosts": sorted(h for h, s in r.hosts.items() if s in ("failed", "error")),
    } for r in results]

    # ---- runs
    subjects = {c.sha: c.subject for c in commits}
    run_rows = [{
        "run": link.run, "started": cat.datetime(link.run.started, tz),
        "finished": cat.datetime(link.run.finished, tz), "in_history": link.in_history,
        "on_main_line": link.on_main_line,
        "first_applied": [(sha[:10], subjects.get(sha, "")) for sha in link.first_applied],
    } for link in reversed(links)]

    head = audit.repo.read_commit(audit.head)
    context = {
        "t": cat, "lang": lang, "version": __version__,
        "organisation": _organisation(audit),
        "generated": cat.datetime(now or datetime.now(UTC), tz),
        "head": head, "inventory": audit.repo.prefix.rstrip("/") or ".",
        "first": cat.datetime(commits[0].commit_time, tz) if commits else None,
        "last": cat.datetime(commits[-1].commit_time, tz) if commits else None,
        "fleet": fleet, "vpn_chart": vpn_chart, "firmware_chart": firmware_chart, "ring_chart": ring_chart,
        "vpn_by_department": sorted(head_summary.get("vpn_by_department", {}).items()),
        "firmware": firmware, "rings": rings,
        "changes": shown, "changes_total": len(rows), "without_approval": without,
        "requirements": requirement_rows, "checks": check_rows,
        "checks_without_ids": sum(1 for r in results if not r.check.requirements),
        "verify_run": verify_run, "runs": run_rows,
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("report.html.j2").render(**context)
    written = [out_dir / "report.html"]
    written[0].write_text(html, encoding="utf-8")

    sep = ";" if lang == "de" else ","
    written.append(_csv(out_dir / "fleet.csv", sep, [cat("metric"), cat("value")], fleet))
    written.append(_csv(out_dir / "vpn_by_department.csv", sep, [cat("date"), cat("commit"), cat("department"),
                                                                 cat("people_vpn")],
                        [(datetime.fromtimestamp(c.commit_time, tz).isoformat(), c.sha, dep, n)
                         for c in commits for dep, n in sorted(c.summary.get("vpn_by_department", {}).items())]))
    written.append(_csv(out_dir / "devices_by_firmware.csv", sep, [cat("firmware"), cat("devices")], firmware))
    written.append(_csv(out_dir / "devices_by_ring.csv", sep, [cat("ring"), cat("devices")], rings))
    written.append(_csv(out_dir / "changes.csv", sep,
                        [cat("when"), cat("commit"), cat("author"), cat("approval"), cat("change"),
                         cat("applied"), "kind", "entities", cat("commit_subject")],
                        [(r["date_iso"], r["sha"], r["author"], " | ".join(r["approvals"]), r["text"],
                          r["applied"], r["kind"], " ".join(r["entities"]), r["subject"]) for r in rows]))
    written.append(_csv(out_dir / "runs.csv", sep,
                        [cat("run"), cat("started"), cat("finished"), cat("who"), cat("commit"),
                         cat("run_status"), cat("hosts_result"), cat("in_history"), cat("first_applied"),
                         cat("limit")],
                        [(r["run"].run_id, r["started"], r["finished"], r["run"].who, r["run"].commit,
                          r["run"].result, " ".join(f"{k}={v}" for k, v in r["run"].hosts.items()),
                          cat.value(r["in_history"]), len(r["first_applied"]), " ".join(r["run"].limit))
                         for r in run_rows]))
    written.append(_csv(out_dir / "requirements.csv", sep,
                        [cat("requirement"), cat("description"), cat("coverage"), cat("check"), cat("result")],
                        [(r["id"], r["title"], r["coverage"], " ".join(r["checks"]), " ".join(r["results"]))
                         for r in requirement_rows]))
    written.append(_csv(out_dir / "compliance.csv", sep,
                        [cat("suite"), cat("check"), cat("requirements"), cat("description"), cat("result"),
                         cat("hosts")],
                        [(c["suite"], c["name"], " ".join(c["requirements"]), c["description"],
                          c["status"], " ".join(f"{h}={s}" for h, s in c["hosts"].items()))
                         for c in check_rows]))
    return written


def _organisation(audit: Audit) -> str:
    organisation = audit.repo.inventory_dir.name
    for rel, oid in audit.repo.tree(audit.head).items():
        if rel.endswith((".yml", ".yaml")) and "/" not in rel:
            text = audit.repo.text(oid)
            if "organisation:" in text:
                try:
                    data = parse_yaml(text)
                except Exception:  # noqa: BLE001 - a broken file only costs the name
                    continue
                if isinstance(data, dict) and isinstance(data.get("organisation"), dict):
                    return str(data["organisation"].get("name") or organisation)
    return organisation


def _fleet(summary: dict, cat: Catalogue) -> list[tuple[str, int]]:
    rows = [(cat("people"), summary.get("people", 0)), (cat("people_vpn"), summary.get("vpn", 0)),
            (cat("numbers"), summary.get("numbers", 0)), (cat("desk_phones"), summary.get("phones", 0))]
    for key, count in sorted(summary.get("devices", {}).items()):
        kind, _, status = key.partition("/")
        rows.append((cat("devices_kind", kind=cat.kind(kind), status=cat.status(status)), count))
    return rows


def _vpn_series(commits) -> dict[str, list[tuple[float, float]]]:
    points = charts.downsample([(c.commit_time, c.summary.get("vpn_by_department", {})) for c in commits])
    departments = sorted({d for _, counts in points for d in counts})
    return {d: [(x, counts.get(d, 0)) for x, counts in points] for d in departments}


def _change_row(entry: LogEntry, cat: Catalogue, audit: Audit) -> dict:
    data = entry_json(entry, cat, audit.tz)
    applied = ""
    if entry.applied:
        first, ok = entry.applied.first, entry.applied.succeeded
        applied = cat("applied_by", when=cat.datetime(first.started, audit.tz), who=first.who,
                      run=first.run_id, result=cat.status(first.result)) if ok is first else \
            cat("applied_first_failed", when=cat.datetime(first.started, audit.tz), who=first.who,
                run=first.run_id, result=cat.status(first.result),
                when_ok=cat.datetime(ok.started, audit.tz) if ok else None, run_ok=ok.run_id if ok else None)
    elif audit.runs()[0]:
        applied = cat("not_applied")
    return {
        "date": cat.datetime(entry.event.commit.commit_time, audit.tz), "date_iso": data["date"],
        "sha": data["commit"], "short": data["commit"][:10], "author": data["author"],
        "merged_by": data["merge"]["merged_by"] if data["merge"] else None,
        "approvals": data["approvals"], "text": data["text"], "applied": applied, "kind": data["kind"],
        "entities": data["entities"], "subject": data["subject"],
    }


def _csv(path: Path, sep: str, header: list[str], rows) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=sep)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path
