"""An inventory as loaded: the validated model, where every value came from, and the problems.

Kept apart from the loader (telework.inventory.loading) so that the checks the loader runs
(validation, the allocations file) can name this type without importing the loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from telework.core.problems import Problem, Severity
from telework.inventory import model
from telework.inventory.source import InventorySource


@dataclass
class LoadedInventory:
    root: Path
    model: model.Inventory
    source: InventorySource
    problems: list[Problem] = field(default_factory=list)
    #: section -> raw index of each valid item (items with schema errors are left out of the model)
    origin: dict[str, list[int]] = field(default_factory=dict)
    #: section -> keys of the items left out for schema errors (references to them are not errors)
    invalid_ids: dict[str, set[str]] = field(default_factory=dict)

    def item_path(self, section: str, index: int, *rest) -> tuple:
        """Path in the raw data of the `index`-th valid item of `section`."""
        raw = self.origin.get(section)
        return (section, raw[index] if raw is not None and index < len(raw) else index, *rest)

    def problem(self, rule: str, section: str, index: int | None, rest: tuple, message: str, fix: str = "",
                severity: Severity = Severity.ERROR) -> Problem:
        """A problem located at item `index` of `section` (or the section itself when index is None)."""
        path = (section,) if index is None else self.item_path(section, index, *rest)
        return self.source.problem(rule, path, message, fix, severity=severity)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]
