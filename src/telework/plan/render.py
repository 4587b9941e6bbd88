"""A plan as text (terminal, CI log), Markdown (merge-request comment) or JSON (machines).

Every renderer ends in the run's redactor: the records are redacted when the engine builds
them, and the finished output is redacted once more, so a value that slipped into a record
by another path (an error text, a host name) still never leaves telework.
"""

from __future__ import annotations

import html
import json
import re

from telework.plan.records import Change, HostPlan, Plan
from telework.secrets.redact import Redactor

FORMATS = ("text", "markdown", "json")

#: GitLab refuses notes over 1,000,000 characters; a comment far shorter stays readable.
MARKDOWN_LIMIT = 100_000
#: diff lines shown per change before the Markdown renderer starts cutting
DIFF_LINES_SHORT = 40

_STATUS_MARK = {"changed": "~", "unchanged": "=", "failed": "!", "unreachable": "!", "unmanaged": "?"}
_STATUS_ICON = {"changed": "🟡", "unchanged": "🟢", "failed": "🔴", "unreachable": "🔴", "unmanaged": "⚪"}


def render(plan: Plan, fmt: str, redactor: Redactor | None = None, *, colour: bool = False,
           artifact_url: str | None = None, limit: int = MARKDOWN_LIMIT) -> str:
    if fmt == "text":
        out = render_text(plan, colour=colour)
    elif fmt == "markdown":
        out = render_markdown(plan, artifact_url=artifact_url, limit=limit)
    elif fmt == "json":
        out = render_json(plan)
    else:
        raise ValueError(f"unknown format {fmt!r}: {', '.join(FORMATS)}")
    return (redactor or Redactor()).redact(out)


def summary_line(plan: Plan) -> str:
    s = plan.summary
    line = (f"{s['changed']} host(s) changing ({s['changes']} change(s)), "
            f"{s['unchanged']} unchanged, {s['unreachable']} unreachable, {s['failed']} failed")
    if s["unmanaged"]:
        line += f", {s['unmanaged']} unmanaged" + (" (an error with --strict)" if plan.strict else "")
    return line


# --- text ---------------------------------------------------------------------------------


def render_text(plan: Plan, colour: bool = False) -> str:
    def paint(line: str, code: str) -> str:
        return f"\x1b[{code}m{line}\x1b[0m" if colour else line

    lines = [f"telework plan: {plan.organisation} ({plan.inventory})",
             f"commit {plan.commit or '(none)'}{' + uncommitted changes' if plan.dirty else ''}"
             + (f", limit {','.join(plan.limit)}" if plan.limit else ""), ""]
    for host in plan.hosts:
        head = f"{_STATUS_MARK[host.status]} {host.name}: {host.status}"
        if host.status == "changed":
            head += f", {len(host.changes)} change(s)"
        if host.error:
            head += f": {host.error}"
        lines.append(paint(head, {"changed": "33", "unchanged": "32", "unmanaged": "90"}.get(host.status, "31")))
        for note in host.notes:
            lines.append(f"    ! {note}")
        for change in host.changes:
            lines.append(f"    ~ {change.op}" + (" (if an earlier change happens)" if change.conditional else ""))
            for message in change.messages:
                lines.append(f"        {message}")
            for command in change.commands if not change.diff else [c for c in change.commands if not c.startswith("upload ")]:
                lines.append(f"        $ {command}")
            for d in change.diff:
                code = "31" if d.startswith("-") else "32" if d.startswith("+") else "36" if d.startswith("@@") else ""
                lines.append("        " + (paint(d, code) if code else d))
    lines += ["", f"Plan: {summary_line(plan)}"]
    return "\n".join(lines) + "\n"


# --- Markdown -----------------------------------------------------------------------------


def _fence(lines: list[str], lang: str = "") -> str:
    """A code fence longer than any backtick run inside, so content cannot close it."""
    body = "\n".join(lines)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{body}\n{ticks}"


def _md_change(change: Change, max_diff: int | None) -> list[str]:
    title = html.escape(change.op)
    if change.conditional:
        title += " <em>(if an earlier change happens)</em>"
    out = [f"**{title}**", ""]
    if change.sensitive:
        out += [f"_{html.escape(change.commands[0] if change.commands else 'sensitive')}_", ""]
        return out
    if change.diff:
        diff = change.diff
        cut = 0
        if max_diff is not None and len(diff) > max_diff:
            cut, diff = len(diff) - max_diff, diff[:max_diff]
        header = [f"--- {change.path or 'current'}", f"+++ {change.path or 'planned'}"]
        out += [_fence(header + diff, "diff"), ""]
        if cut:
            out += [f"_… {cut} more diff line(s): see the full plan artifact_", ""]
        extra = [m for m in change.messages if not m.lower().startswith("will ")]
        extra += [c for c in change.commands if not c.startswith("upload ")]
        if extra:
            out += [_fence(extra, "shell"), ""]
    else:
        out += [_fence(change.messages + change.commands, "shell"), ""]
    return out


def _md_host(host: HostPlan, max_diff: int | None, details: bool = True) -> list[str]:
    icon = _STATUS_ICON[host.status]
    label = f"{icon} <b>{html.escape(host.name)}</b>: {host.status}"
    if host.status == "changed":
        label += f", {len(host.changes)} change(s)"
    if host.error:
        return [f"- {label}: `{host.error.replace('`', chr(39))}`"]
    notes = [f"  - note: {html.escape(n)}" for n in host.notes]
    if not details or not host.changes:
        return [f"- {label}", *notes]
    out = ["<details>", f"<summary>{label}</summary>", "", *[n.strip() for n in notes], *([""] if notes else [])]
    for change in host.changes:
        out += _md_change(change, max_diff)
    out += ["</details>", ""]
    return out


def render_markdown(plan: Plan, artifact_url: str | None = None, limit: int = MARKDOWN_LIMIT) -> str:
    """A merge-request comment: the summary first, then one collapsed section per changing
    host. Too long for `limit` characters: diffs are cut, then only the list of hosts is kept,
    pointing to the artifact."""
    s = plan.summary
    verdict = {0: "no changes", 2: "changes to apply", 1: "**errors: the plan is incomplete**"}[plan.exit_code]
    head = [
        f"### telework plan: {verdict}",
        "",
        "| changing | unchanged | unreachable | failed | unmanaged | changes |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {s['changed']} | {s['unchanged']} | {s['unreachable']} | {s['failed']} | {s['unmanaged']} "
        f"| {s['changes']} |",
        "",
        f"Inventory `{plan.organisation}` at `{(plan.commit or 'uncommitted')[:12]}`"
        + (" with uncommitted changes" if plan.dirty else "")
        + (f", limit `{','.join(plan.limit)}`" if plan.limit else "")
        + f", telework {plan.telework_version}.",
        "",
    ]
    foot = [f"[Full plan (JSON, text)]({artifact_url})"] if artifact_url else []
    noisy = [h for h in plan.hosts if h.status != "unchanged"]
    quiet = [h for h in plan.hosts if h.status == "unchanged"]

    def body(max_diff: int | None, details: bool) -> list[str]:
        out: list[str] = []
        for host in noisy:
            out += _md_host(host, max_diff, details)
        if quiet:
            names = ", ".join(h.name for h in quiet)
            out += ["", f"<details><summary>🟢 {len(quiet)} host(s) unchanged</summary>", "",
                    html.escape(names), "", "</details>", ""]
        return out

    for max_diff, details in ((None, True), (DIFF_LINES_SHORT, True), (None, False)):
        text = "\n".join(head + body(max_diff, details) + foot) + "\n"
        if len(text) <= limit:
            return text
    note = [f"_The plan is too long for a comment ({len(noisy)} host(s) with changes or errors): "
            "see the plan artifact._", ""]
    return ("\n".join(head + note + foot) + "\n")[:limit]


# --- JSON ---------------------------------------------------------------------------------


def render_json(plan: Plan) -> str:
    """`Plan.to_dict()` as JSON (format: plan.schema.json beside this module)."""
    return json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n"
