"""Which hosts a command works on: `--limit` resolved against the inventory's hosts and groups.

`plan`, `apply` and `verify` take the same `--limit`: a comma-separated list of host names,
group names (role groups such as `sip_servers`, `site_<id>`, `ring_<name>`) or shell-style
patterns of either (`linux-*`). An entry starting with `!` leaves hosts out (`!notebooks`:
every host but the notebooks, which are offline when CI runs), as Ansible's `--limit` does.
An entry that matches nothing is an error: a typo in a CI variable must not silently shrink
a rollout to nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from telework.core.problems import TeleworkError


class LimitError(TeleworkError):
    """A `--limit` entry that names no host and no group."""


def parse_limit(limit: str | Sequence[str] | None) -> list[str]:
    """`"sip-1, linux_endpoints"` or `("sip-1", "linux_endpoints")` -> `["sip-1", "linux_endpoints"]`."""
    if not limit:
        return []
    parts = limit.split(",") if isinstance(limit, str) else [p for item in limit for p in item.split(",")]
    return [p.strip() for p in parts if p.strip()]


def select(entries: Iterable[tuple[str, dict, list[str]]], limit: str | Sequence[str] | None) -> list[str]:
    """Names of the hosts of `entries` ((name, data, groups) as `host_entries` returns) that
    `limit` selects, in inventory order; every host when `limit` is empty."""
    entries = list(entries)
    wanted = parse_limit(limit)
    if not wanted:
        return [name for name, _, _ in entries]

    def matching(pattern: str) -> set[str]:
        hits = {name for name, _, groups in entries
                if fnmatchcase(name, pattern) or any(fnmatchcase(g, pattern) for g in groups)}
        if not hits:
            groups = sorted({g for _, _, gs in entries for g in gs})
            raise LimitError(
                f"--limit {pattern!r} matches no host and no group of the inventory "
                f"(groups: {', '.join(groups)})"
            )
        return hits

    include = [p for p in wanted if not p.startswith("!")]
    chosen: set[str] = set()
    for pattern in include:
        chosen |= matching(pattern)
    if not include:
        chosen = {name for name, _, _ in entries}
    for pattern in (p[1:] for p in wanted if p.startswith("!")):
        chosen -= matching(pattern)
    return [name for name, _, _ in entries if name in chosen]
