"""Loading an inventory directory into the validated model, with every problem located.

`load_inventory()` never raises on bad input: it returns the model built from the items
that are valid plus the list of problems, so `telework validate` reports everything in one
run. `require_inventory()` is for commands that need a usable inventory and stop on errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from telework.core.problems import InventoryError, Problem
from telework.inventory import cache, model
from telework.inventory.loaded import LoadedInventory
from telework.inventory.symlinks import symlink_loops
from telework.inventory.source import InventorySource, load_source, load_texts
from telework.inventory.rootcause import root_causes
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
    if files is None and root.is_dir():
        problems.extend(symlink_loops(root, source.relative(root)))
    inv, origin, schema_problems = _validate_schema(source)
    problems.extend(schema_problems)
    loaded = LoadedInventory(root=root, model=inv, source=source, problems=problems, origin=origin,
                             invalid_ids=_invalid_ids(source.data, origin))
    if check:
        loaded.problems.extend(cross_check(loaded))
    loaded.problems = root_causes(loaded.problems)
    return loaded


def _invalid_ids(data: dict, origin: dict[str, list[int]]) -> dict[str, set[str]]:
    """The keys (username, host name, ...) of the items left out of the model for schema errors.

    References to them are not reported again: the entry's own schema error is the one to fix,
    "unknown person 'x'" on every device of that person would point at the wrong thing."""
    out: dict[str, set[str]] = {}
    for section, alive in origin.items():
        key = model.LIST_SECTIONS.get(section)
        items = data.get(section)
        if key is None or not isinstance(items, list):
            continue
        kept = set(alive)
        for index, item in enumerate(items):
            if index not in kept and isinstance(item, dict) and isinstance(item.get(key), str):
                out.setdefault(section, set()).add(item[key])
    return out


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
    problems = [_problem_from_error(source, err) for err in _one_per_place(errors)]
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


#: how pydantic names the member of a union in an error's place: list[constrained-str], literal['all']
_UNION_TAG = re.compile(r"[a-z][a-z0-9_-]*\[.*\]")


def _one_per_place(errors: list[dict]) -> list[dict]:
    """pydantic's errors with the choices of a union (`access: [..] | all`) as one error per value."""
    out: dict[tuple, dict] = {}
    for err in errors:
        loc = tuple(part for part in err["loc"] if not (isinstance(part, str) and _UNION_TAG.fullmatch(part)))
        loc = loc or tuple(err["loc"])
        if loc in out:
            out[loc]["union"] = True
            continue
        out[loc] = {**err, "loc": loc}
    return list(out.values())


#: fixes for pydantic's error types (telework's own validators name their fix in the message)
_TYPE_FIXES = {
    "bool_type": "write true or false (words such as yes, no, on or off are not booleans here)",
    "bool_parsing": "write true or false (words such as yes, no, on or off are not booleans here)",
    "int_type": "write a whole number without quotes, e.g. 30",
    "int_parsing": "write a whole number without quotes, e.g. 30",
    "int_from_float": "write a whole number without a decimal point",
    "float_type": "write a number such as 0.1",
    "float_parsing": "write a number such as 0.1",
    "list_type": "write a list: [first, second] or one '- item' a line",
    "dict_type": "write a mapping of keys and values",
    "model_type": "write a mapping of keys and values",
    "model_attributes_type": "write a mapping of keys and values",
    "string_type": "write one text value (in quotes if it could be read as a number, a date or true/false)",
    "string_too_long": "shorten it",
    "string_too_short": "write a value that is not empty",
}


def _type_fix(source: InventorySource, err: dict, loc: tuple, value) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        words = {"greater_than_equal": "at least", "greater_than": "above", "less_than_equal": "at most",
                 "less_than": "below"}[kind]
        return f"use a value {words} {bound}"
    if kind == "literal_error":
        return "use " + str(ctx.get("expected", ""))
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _TYPE_FIXES[kind] + _known_keys_hint(loc)
    if err.get("union") and isinstance(value, str):
        return f"write a list: [{value}] (or one of the words the schema allows, such as all)"
    if "not an IP address" in err["msg"]:
        return "write an address such as 10.20.0.5 (IPv4: four numbers 0-255) or fd00::5"
    if "not an IP prefix" in err["msg"] or "not an address with mask" in err["msg"]:
        return "write an address and prefix length such as 10.20.0.0/24"
    return _TYPE_FIXES.get(kind, "")


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
    if kind == "device_incomplete":
        return source.problem("schema.missing", loc, err["msg"],
                              "add them (from the delivery note), or write status: ordered until the device arrives")
    value = err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    message = err["msg"].removeprefix("Value error, ")
    fix = _type_fix(source, err, loc, value)
    if err.get("union") and isinstance(value, str):
        message = "expected a list"
    if kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
        text = _raw_text(source, loc) or str(value)
        fix = f"quote it: {loc[-1]}: \"{text}\" (YAML reads {text} unquoted as a number)"
    if kind == "string_pattern_mismatch":
        fix = "use lower-case letters, digits, '-' or '_'" if "a-z" in str(err.get("ctx", {})) else ""
        other = _case_twin(source, loc, value)
        if other is not None:
            file, line = source.locate(other)
            taken = {item.get(loc[2]) for item in source.data[str(loc[0])] if isinstance(item, dict)}
            free = next(f"{value.lower()}{n}" for n in range(2, 10_000) if f"{value.lower()}{n}" not in taken)
            return source.problem(
                "unique.case", loc, f"{loc[-1]} '{value}' differs only in case from '{value.lower()}' at "
                f"{file}:{line}, and names are lower-case", f"give this entry its own lower-case {loc[-1]}, "
                f"e.g. '{free}'")
    if kind == "enum":
        fix = "use one of " + str(err.get("ctx", {}).get("expected", ""))
    return source.problem("schema.type", loc, f"{message} (got {shown})", fix)


def _case_twin(source: InventorySource, loc: tuple, value) -> tuple | None:
    """The path of the other entry whose key is `value` in lower case (aBusch next to abusch)."""
    if len(loc) != 3 or not isinstance(value, str) or model.LIST_SECTIONS.get(str(loc[0])) != loc[2]:
        return None
    items = source.data.get(str(loc[0]))
    for index, item in enumerate(items if isinstance(items, list) else []):
        if index != loc[1] and isinstance(item, dict) and item.get(loc[2]) == value.lower():
            return (loc[0], index, loc[2])
    return None


def _raw_text(source: InventorySource, loc: tuple) -> str | None:
    """The value at `loc` as written in its file (12.6, not 12.6 read back from a float)."""
    file, line = source.locate(loc)
    if file is None or line is None:
        return None
    origin = source.item_origins.get(str(loc[0]))
    sf = origin[loc[1]].source if origin and isinstance(loc[1], int) and loc[1] < len(origin) else None
    if sf is None:
        return None
    row = sf.text.splitlines()[line - 1] if line <= len(sf.text.splitlines()) else ""

    match = re.search(rf"\b{re.escape(str(loc[-1]))}:\s*([^,}}\s]+)", row)
    return match.group(1) if match else None


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
