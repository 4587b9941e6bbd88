"""Problems found in an inventory, and the one exception hierarchy of telework.

Every check reports a `Problem` naming the rule, the place (file and line) and the fix,
so that ops can correct the YAML without reading telework's code. Checks collect all
problems of a run; nothing stops at the first one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One finding: `file:line: severity: path: message (fix: ...)`."""

    rule: str
    message: str
    fix: str = ""
    path: tuple[str | int, ...] = ()
    file: Path | None = None
    line: int | None = None
    severity: Severity = Severity.ERROR
    #: places (file:line) of further problems exactly like this one, reported once with it
    similar: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        if self.file is None:
            return "<inventory>"
        return f"{self.file}:{self.line}" if self.line else str(self.file)

    @property
    def dotted_path(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out

    def format(self) -> str:
        text = f"{self.where}: {self.severity.value}: "
        if self.path:
            text += f"{self.dotted_path}: "
        text += self.message
        if self.fix:
            text += f" (fix: {self.fix})"
        if self.similar:
            shown = ", ".join(self.similar[:3]) + (", ..." if len(self.similar) > 3 else "")
            text += f" (+{len(self.similar)} more like this: {shown})"
        return text

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "file": str(self.file) if self.file else None,
            "line": self.line,
            "path": self.dotted_path,
            "message": self.message,
            "fix": self.fix,
            "similar": list(self.similar),
        }


@dataclass
class ProblemList:
    """Collects problems of one run, in the order found."""

    items: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.items.append(problem)

    def extend(self, problems) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity is Severity.WARNING]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class TeleworkError(Exception):
    """Base of every error telework reports to a person (never shown as a traceback)."""


class InventoryError(TeleworkError):
    """The inventory cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.format() for p in problems))


class SecretError(TeleworkError):
    """A secret cannot be read, written or decrypted."""


class AllocationError(TeleworkError):
    """An address pool cannot serve its members."""
