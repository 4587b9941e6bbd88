"""Rollout rings: which hosts are applied together, in which order, and when to stop.

Rings come from `rollout_rings` of the organisation (ordered by `order`); every host names
its ring (`ring:` in the inventory, pyinfra data `telework_ring`), servers included: the two
VPN concentrators sit in different rings so that one always keeps serving. Hosts without a
ring go last, in a ring of their own that tolerates no failure.

After each ring, the share of its hosts that failed (or could not be reached) is compared
with the ring's `failure_threshold`; above it, the rollout stops and later rings are left
untouched (a bad change reaches the pilot users, not the whole city).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NO_RING = "(no ring)"


@dataclass
class Ring:
    name: str
    failure_threshold: float
    hosts: list[str] = field(default_factory=list)

    def failure_ratio(self, failed: int) -> float:
        return failed / len(self.hosts) if self.hosts else 0.0

    def stops_rollout(self, failed: int) -> bool:
        return self.failure_ratio(failed) > self.failure_threshold


def plan_rings(rollout_rings, hosts: list[tuple[str, str | None]]) -> list[Ring]:
    """`rollout_rings` (model objects with name, order, failure_threshold) and (host, ring
    name) pairs in inventory order -> the non-empty rings in rollout order."""
    ordered = sorted(rollout_rings, key=lambda r: (r.order, r.name))
    rings = {r.name: Ring(r.name, r.failure_threshold) for r in ordered}
    rest = Ring(NO_RING, 0.0)
    for host, ring in hosts:
        rings.get(ring or "", rest).hosts.append(host)
    return [r for r in [*rings.values(), rest] if r.hosts]
