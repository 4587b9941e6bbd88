"""`<inventory>/access/personnel.yml`: which HR personnel number got which username.

The inventory's people carry no personnel number (the model has no field for it), yet an HR
export names people by it: this file is the link, written by the import with the change it
proposes, so it is reviewed and committed with it. It keeps every link ever made, leavers'
too: a person coming back gets their username again, and nobody else ever does.

Layout, one link a line, sorted by number, numbers JSON-quoted (leading zeros stay):

    personnel:
      "004711": jmueller
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from telework.core.problems import Problem
from telework.onboarding.hr_mapping import HrImportError

LINKS_FILE = Path("access") / "personnel.yml"

_HEADER = """\
# HR personnel numbers and the usernames they were given: written by the HR import
# (telework.onboarding.hr_import) together with the people it adds. Commit it with the
# inventory. Links are never removed, so a username is never given to another person.
"""
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def links_path(inventory_dir: str | Path) -> Path:
    return Path(inventory_dir) / LINKS_FILE


def load_links(inventory_dir: str | Path) -> dict[str, str]:
    """personnel number -> username; a missing file is no links."""
    path = links_path(inventory_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise HrImportError([Problem("hr.links", f"cannot read {path}: {exc}", "restore it from git",
                                     file=path)]) from None
    try:
        data = yaml.load(text, Loader=_Loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise HrImportError([Problem("hr.links", "not valid YAML", "restore the file from git", file=path,
                                     line=mark.line + 1 if mark else None)]) from None
    links = data.get("personnel") if isinstance(data, dict) else None
    if not isinstance(links, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in links.items()):
        raise HrImportError([Problem("hr.links", "expected `personnel:` with \"number\": username lines",
                                     "restore the file from git", file=path, line=1)])
    return dict(links)


def render_links(links: dict[str, str]) -> str:
    """The file's text: same links, same bytes."""
    lines = [_HEADER.rstrip("\n"), "personnel:"]
    lines += [f"  {json.dumps(number, ensure_ascii=False)}: {username}" for number, username in sorted(links.items())]
    return "\n".join(lines) + "\n"
