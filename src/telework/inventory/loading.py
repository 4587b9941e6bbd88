"""Loading an inventory directory into the validated model, with every problem located.

`load_inventory()` never raises on bad input: it returns the model built from the items
that are valid plus the list of problems, so `telework validate` reports everything in one
run. `require_inventory()` is for commands that need a usable inventory and stop on errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from telework.core.problems import InventoryError, Problem
from telework.inventory import cache, model
from telework.inventory.loaded import LoadedInventory
from telework.inventory.source import InventorySource, load_source, load_texts
from telework.inventory.validation import cross_check

_PLACEHOLDER_ORG = {"name": "(missing organisation)", "slug": "missing", "domain": "invalid"}


def load_inventory(root: str | Path, *, check: bool = True,
                   files: Iterable[tuple[Path, str]] | None = None) -> LoadedInventory:
    """Load and (with `check`) cross-validate the inventory in `root`.

    `files` (path, text) pairs replace reading `root`: `telework audit` passes the section
    files of a past commit, read from git, and parses them as the current ones are parsed.
    A full load of a directory is served from telework.inventory.cache when nothing changed."""
    root = Path(root)
    if files is None and check:
        return cache.load(root, lambda: _load(root, None, check))
    return _load(root, files, check)


def _load(root: Path, files: Iterable[tuple[Path, str]] | None, check: bool) -> LoadedInventory:
    source, problems = load_source(root) if files is None else load_texts(root, files)
    inv, origin, schema_problems = _validate_schema(source)
    problems.extend(schema_problems)
    loaded = LoadedInventory(root=root, model=inv, source=source, problems=problems, origin=origin)
    if check:
        loaded.problems.extend(cross_check(loaded))
    return loaded


def require_inventory(root: str | Path) -> LoadedInventory:
    """Load the inventory or raise `InventoryError` with every error found."""
    loaded = load_inventory(root)
    if loaded.errors:
        raise InventoryError(loaded.errors)
    return loaded


def _validate_schema(source: InventorySource) -> tuple[model.Inventory, dict[str, list[int]], list[Problem]]:
    """Validate types, required fields and unknown keys; drop invalid items, keep the rest."""
    data = source.data
    try:
        return model.Inventory.model_validate(data), {}, []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    problems = [_problem_from_error(source, err) for err in errors]
    # Repair a copy so cross-reference checks still see as much as possible: drop unknown
    # keys and invalid optional keys, then whole items, then whole sections, as needed.
    cleaned = {k: v for k, v in data.items() if k in model.Inventory.model_fields}
    cleaned.setdefault("organisation", _PLACEHOLDER_ORG)
    dropped: dict[str, set[int]] = {}
    for _round in range(4):
        cleaned = _repair(cleaned, errors, dropped, lenient=_round < 2)
        try:
            inv = model.Inventory.model_validate(cleaned)
            break
        except ValidationError as again:
            errors = again.errors(include_url=False)
    else:  # pragma: no cover - defensive
        inv = model.Inventory.model_validate({"organisation": _PLACEHOLDER_ORG})
    # Dropped items shift indexes; remember the mapping for locating later problems.
    origin = {}
    for section, gone in dropped.items():
        raw_len = len(data.get(section) or [])
        origin[section] = [i for i in range(raw_len) if i not in gone]
    return inv, origin, problems


def _problem_from_error(source: InventorySource, err: dict) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        parent = loc[:-1]
        if len(loc) == 1:
            fix = "remove it or correct the spelling; sections are: " + ", ".join(model.Inventory.model_fields)
            return source.problem("schema.unknown_section", loc, f"unknown section '{key}'", fix)
        fix = "remove it or correct the spelling" + _known_keys_hint(parent)
        return source.problem("schema.unknown_key", loc, f"unknown key '{key}'", fix)
    if kind == "missing":
        key = loc[-1]
        return source.problem("schema.missing", loc, f"required key '{key}' is missing", f"add '{key}: ...'")
    value = err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    message = err["msg"].removeprefix("Value error, ")
    fix = "quote it: numbers such as extensions are strings" if kind == "string_type" and isinstance(value, int) else ""
    if kind == "string_pattern_mismatch":
        fix = "use lower-case letters, digits, '-' or '_'" if "a-z" in str(err.get("ctx", {})) else ""
    if kind == "enum":
        fix = "use one of " + str(err.get("ctx", {}).get("expected", ""))
    return source.problem("schema.type", loc, f"{message} (got {shown})", fix)


def _known_keys_hint(parent: tuple) -> str:
    cls = _model_at(parent)
    if cls is None:
        return ""
    return "; allowed keys: " + ", ".join(cls.model_fields)


def _model_at(loc: tuple):
    """The model class that validates the object at `loc` (for listing its allowed keys)."""
    cls = model.Inventory
    for part in loc:
        if isinstance(part, int):
            continue
        field_info = cls.model_fields.get(str(part))
        if field_info is None:
            return None
        annotation = field_info.annotation
        inner = getattr(annotation, "__args__", None)
        candidates = list(inner) if inner else [annotation]
        cls = next((c for c in candidates if isinstance(c, type) and issubclass(c, model.BaseModel)), None)
        if cls is None:
            return None
    return cls


def _repair(data: dict, errors: list[dict], dropped: dict[str, set[int]], lenient: bool) -> dict:
    """Remove what the `errors` point at; `lenient` first tries removing single keys only.

    `dropped` maps list sections to the raw indexes removed so far (cumulative)."""
    data = dict(data)
    remove_items: dict[str, set[int]] = {}
    for err in errors:
        loc = err["loc"]
        section = str(loc[0]) if loc else ""
        if section == "organisation":
            data["organisation"] = _PLACEHOLDER_ORG if len(loc) < 2 or not lenient else data["organisation"]
            if lenient and isinstance(data["organisation"], dict) and len(loc) >= 2:
                org = dict(data["organisation"])
                org.pop(loc[1], None)
                data["organisation"] = org if all(k in org for k in ("name", "slug", "domain")) else _PLACEHOLDER_ORG
            continue
        if section not in model.LIST_SECTIONS or not isinstance(data.get(section), list):
            data.pop(section, None)
            continue
        if len(loc) < 2 or not isinstance(loc[1], int):
            data.pop(section, None)
            continue
        index = loc[1]
        item_model = _model_at((section,))
        if lenient and len(loc) >= 3 and item_model is not None and isinstance(data[section][index], dict):
            key = loc[2]
            field_info = item_model.model_fields.get(str(key))
            if err["type"] == "extra_forbidden" or (field_info is not None and not field_info.is_required()):
                items = data[section] = list(data[section])
                items[index] = {k: v for k, v in items[index].items() if k != key}
                continue
        remove_items.setdefault(section, set()).add(index)
    for section, indexes in remove_items.items():
        current = data[section]
        alive = [i for i in range(len(current) + len(dropped.get(section, ())))
                 if i not in dropped.get(section, set())]
        for idx in indexes:
            dropped.setdefault(section, set()).add(alive[idx])
        data[section] = [item for i, item in enumerate(current) if i not in indexes]
    return data
