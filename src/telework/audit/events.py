"""A change event of the audit: language-neutral data (kind, params, entities).

Kept apart from the differ (telework.audit.diff) so that roles can make events of their own
files (`Role.audit`, e.g. telework.roles.vpn.audit) without importing the audit machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: params that describe the surroundings of a change rather than the change itself: two
#: events that differ only in these are the same change (used to find which branch commit
#: introduced a change that a merge brought in)
CONTEXT_PARAMS = frozenset({"name", "networks", "people", "count"})


@dataclass
class Event:
    kind: str
    params: dict
    entities: list[str] = field(default_factory=list)

    def identity(self) -> tuple:
        return (self.kind, tuple(sorted((k, repr(v)) for k, v in self.params.items()
                                        if k not in CONTEXT_PARAMS)))

    def to_json(self) -> dict:
        return {"kind": self.kind, "params": self.params, "entities": self.entities}
