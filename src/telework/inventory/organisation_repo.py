"""`telework init ORG DIR`: an organisation's inventory repository, made from the sample.

A city installs telework as a package and needs no clone of it: this writes what the sample
and the example pipeline hold, from the installed package (telework.resources)::

    DIR/.gitlab-ci.yml          the example pipeline (examples/gitlab-ci/)
    DIR/.gitignore              the pipeline's outputs, never part of the inventory
    DIR/inventory/**            the sample organisation (inventory/sample/), its slug set to ORG
    DIR/schema/...              the JSON Schema, where the files' `$schema` lines point

and makes DIR a git repository (nothing committed: the first commit is the operator's own).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from telework.core.problems import TeleworkError
from telework.inventory.schema import inventory_file_schema_json
from telework.resources import example_pipeline_dir, sample_inventory

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)\s*$", re.M)
_SAMPLE_SLUG = re.compile(r"^(  slug: )gruenfelden\s*$", re.M)
#: what the sample directory holds besides the organisation's data
_NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py")


class InitError(TeleworkError):
    """The organisation repository cannot be made as asked."""


def make_organisation_repo(slug: str, directory: Path | str) -> list[Path]:
    """Write the repository (see the module docstring); returns the top-level paths written."""
    if not _SLUG.match(slug):
        raise InitError(f"organisation {slug!r}: use lower-case letters, digits, '-' or '_' "
                        f"(at most 63), e.g. 'gruenfelden' or 'kreis-nordheim'")
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InitError(f"{target} exists and is not an empty directory: name a new one")
    try:
        target.mkdir(parents=True, exist_ok=True)
        inventory = target / "inventory"
        shutil.copytree(sample_inventory(), inventory, ignore=_NOT_COPIED)
        organisation = inventory / "organisation.yml"
        text, count = _SAMPLE_SLUG.subn(rf"\g<1>{slug}", organisation.read_text(encoding="utf-8"), count=1)
        if count != 1:
            raise InitError(f"{organisation}: the sample names no slug to replace; telework is broken, reinstall it")
        organisation.write_text(text, encoding="utf-8")
        for name in (".gitlab-ci.yml", ".gitignore"):
            shutil.copyfile(example_pipeline_dir() / name, target / name)
        schemas = _schema_places(inventory)
        for path in schemas:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_schema_text(path.name), encoding="utf-8")
    except OSError as exc:
        raise InitError(f"cannot write {exc.filename or target}: {exc.strerror}") from None
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(target)], check=True, capture_output=True)
    return [target / ".gitlab-ci.yml", target / ".gitignore", target / "inventory", *sorted(schemas)]


def _schema_text(name: str) -> str:
    """The schema a `$schema` line names: allocations.yml's own, else the inventory files'."""
    if name == "allocations.schema.json":
        from telework.ipam.schema import allocations_file_schema_json

        return allocations_file_schema_json()
    return inventory_file_schema_json()


def _schema_places(inventory: Path) -> set[Path]:
    """Where the `$schema` lines of the inventory's files point (one place in the sample)."""
    places = set()
    for path in inventory.rglob("*.yml"):
        found = _SCHEMA_LINE.search(path.read_text(encoding="utf-8"))
        if found:
            places.add((path.parent / found.group(1)).resolve())
    return places
