"""group_data/*.py as pyinfra's CLI reads it, without importing pyinfra's CLI.

pyinfra loads `<cwd>/group_data/*.py`, then `<inventory dir>/group_data/*.py` (the inventory's
own wins), one file per group, every module-level name that is not private and not bound by an
import (research/pyinfra.md section 5). telework's plan/apply engine and `telework verify`
build their host data the same way, so a default in group_data means the same to a deploy, a
plan and a Testinfra suite.
"""

from __future__ import annotations

import ast
import runpy
import types
from pathlib import Path

from telework.resources import group_data_dir


def group_data_dirs(inventory_dir: Path | str) -> list[Path]:
    """telework's group_data/ (the defaults), then the inventory's own group_data/."""
    dirs = [group_data_dir(), Path(inventory_dir).resolve() / "group_data"]
    return [d for i, d in enumerate(dirs) if d.is_dir() and d not in dirs[:i]]


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def load_group_data(dirs: list[Path]) -> dict[str, dict]:
    """{group: data} from every `<dir>/<group>.py`, later directories overriding earlier ones."""
    out: dict[str, dict] = {}
    for directory in dirs:
        for path in sorted(directory.glob("*.py")):
            if path.name.startswith("_"):  # __init__.py: makes telework's group_data/ a package
                continue
            values = runpy.run_path(str(path))
            keys = values.get("__all__")
            if keys is None:
                skip = _imported_names(path)
                keys = [k for k in values if k not in skip]
            out.setdefault(path.stem, {}).update({
                k: values[k] for k in keys
                if not k.startswith("_") and not isinstance(values[k], types.ModuleType)
            })
    return out
