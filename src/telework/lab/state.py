"""The lab's own records: every namespace, link, mount and process it made, written *before*
making it, so `down` removes exactly those (and can clean up after a run killed midway)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_ROOT = Path("/var/lib/telework/lab")


def lab_dir(slug: str) -> Path:
    return STATE_ROOT / slug


@dataclass
class LabState:
    slug: str
    inventory: str = ""
    netns: list[str] = field(default_factory=list)
    root_links: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)  # what -> pid (nspawn per host, apt-cacher-ng)
    complete: bool = False

    @property
    def path(self) -> Path:
        return lab_dir(self.slug) / "state.json"

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, self.path)

    def record(self, kind: str, value: str) -> None:
        items = getattr(self, kind)
        if value not in items:
            items.append(value)
            self.save()

    def record_pid(self, what: str, pid: int) -> None:
        self.pids[what] = pid
        self.save()

    @classmethod
    def load(cls, slug: str) -> "LabState | None":
        path = lab_dir(slug) / "state.json"
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))
