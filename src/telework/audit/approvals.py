"""The approval a commit names: ticket, issue, merge request, reviewer.

Auditors ask "on whose word?". In a reviewed inventory the answer is written into the
commit message by convention: an issue `#1234`, a ticket `Ticket: INC-2026-0042` (or any
`KEY-123` / `KEY-2026-0042` ticket key), a merge request `!57` (GitLab writes "See merge
request group/project!57" into merge commits), or trailers such as `Reviewed-by:` and
`Approved-by:`. A commit that names none of these is reported as such: that is a finding.

The recognised forms are data (`REFERENCE_PATTERNS`, `APPROVAL_TRAILERS`) so an
organisation with other conventions changes one table.
"""

from __future__ import annotations

import re

#: Trailers ("Key: value" lines of the message's last paragraph) that record an approval
#: or name the ticket; their value is reported as written.
APPROVAL_TRAILERS = ("Reviewed-by", "Approved-by", "Acked-by", "Ticket", "Refs", "Issue", "Change-Request")

#: (kind, pattern) found anywhere in the message; group "ref" is what is reported.
REFERENCE_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    # GitLab merge requests: !57, group/project!57
    ("merge_request", re.compile(r"(?<![\w!/.:])(?P<ref>(?:[\w.-]+/[\w./-]*[\w-])?!\d+)\b")),
    # issues: #1234, group/project#1234 (not "#" inside words, URLs' anchors or colours)
    ("issue", re.compile(r"(?<![\w&#/.:])(?P<ref>(?:[\w.-]+/[\w./-]*[\w-])?#\d+)\b")),
    # ticket keys: INC-2026-0042, OPS-17
    ("ticket", re.compile(r"(?<![\w-])(?P<ref>[A-Z][A-Z0-9]{1,9}-(?:\d{4}-)?\d+)(?![\w-])")),
)
#: Upper-case words with a number that are standards and algorithms, not tickets.
NOT_TICKETS = frozenset({"UTF", "SHA", "ISO", "RFC", "TR", "DIN", "EN", "IEC", "AES", "ECP", "TLS",
                         "DTLS", "CVE", "X", "IPV", "SIP", "MD", "CRC"})

_TRAILER = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9-]*):\s+(?P<value>\S.*)$")


def trailers(message: str) -> list[tuple[str, str]]:
    """The "Key: value" lines of the last paragraph (git's trailer convention)."""
    paragraphs = [p for p in re.split(r"\n\s*\n", message.strip()) if p.strip()]
    if len(paragraphs) < 2:
        return []
    found = []
    for line in paragraphs[-1].splitlines():
        match = _TRAILER.match(line.strip())
        if match is None:
            return []
        found.append((match["key"], match["value"].strip()))
    return found


def approvals(message: str) -> list[str]:
    """Every approval reference of a commit message, in order, each once.

    >>> approvals("Grant VPN to jmueller (#1234)\\n\\nSee merge request city/inventory!57\\n\\n"
    ...           "Ticket: INC-2026-0042\\nReviewed-by: Jana Admin <jana@example.org>")
    ['#1234', 'city/inventory!57', 'INC-2026-0042', 'Reviewed-by: Jana Admin <jana@example.org>']
    """
    found: list[str] = []

    def add(ref: str) -> None:
        if ref not in found:
            found.append(ref)

    found_trailers = trailers(message)
    trailer_lines = {f"{k}: {v}" for k, v in found_trailers}
    body = "\n".join(line for line in message.splitlines() if line.strip() not in trailer_lines)
    spans: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in REFERENCE_PATTERNS:
        for match in pattern.finditer(body):
            start, end = match.span("ref")
            if any(s < end and start < e for s, e in taken):
                continue
            ref = match["ref"]
            if kind == "ticket" and ref.split("-", 1)[0] in NOT_TICKETS:
                continue
            taken.append((start, end))
            spans.append((start, ref))
    for _start, ref in sorted(spans):
        add(ref)
    for key, value in found_trailers:
        canonical = next((t for t in APPROVAL_TRAILERS if t.lower() == key.lower()), None)
        if canonical is None:
            continue
        if canonical in ("Ticket", "Refs", "Issue", "Change-Request"):
            add(value)
        else:
            add(f"{canonical}: {value}")
    return found
