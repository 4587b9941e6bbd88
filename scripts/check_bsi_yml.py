"""Check templates/audit/bsi.yml against the BSI's XML edition of the IT-Grundschutz-Kompendium.

    python scripts/check_bsi_yml.py XML_Kompendium_2023.xml

The XML (DocBook) is the BSI's own download (https://www.bsi.bund.de/grundschutz, "IT-Grundschutz-
Kompendium ... XML"); it is not kept in this repository. Every requirement in bsi.yml must be
in the edition with the same title and level, none may be one the edition dropped
("ENTFALLEN"), and every module title must match. Prints the differences; exit 1 when any.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

BSI_YML = Path(__file__).resolve().parents[1] / "templates" / "audit" / "bsi.yml"
_TITLE = re.compile(r"<title>([A-Z]{3,4}(?:\.\d+)+)(\.A\d+)? (.*?)</title>", re.S)


def edition_titles(xml: str) -> tuple[dict[str, str], dict[str, str]]:
    """({requirement ID: 'title (level)'}, {module ID: title}) from the DocBook headings."""
    requirements: dict[str, str] = {}
    modules: dict[str, str] = {}
    for module, requirement, text in _TITLE.findall(xml):
        title = re.sub(r"<[^>]+>|<\?linebreak\?>", "", text)
        title = re.sub(r"\s*\[[^\]]*\]\s*$", "", " ".join(title.split()))  # the responsible role
        if requirement:
            requirements.setdefault(module + requirement, title)
        else:
            modules.setdefault(module, title)
    return requirements, modules


def differences(catalogue: dict, xml: str) -> list[str]:
    requirements, modules = edition_titles(xml)
    out = []
    for rid, title in catalogue["requirements"].items():
        found = requirements.get(rid)
        if found is None:
            out.append(f"{rid}: not in this edition")
        elif found.startswith("ENTFALLEN"):
            out.append(f"{rid}: dropped in this edition (ENTFALLEN)")
        elif found != title:
            out.append(f"{rid}: bsi.yml says {title!r}, the edition {found!r}")
    for mid, names in catalogue["modules"].items():
        if modules.get(mid) != names["de"]:
            out.append(f"{mid}: bsi.yml says {names['de']!r}, the edition {modules.get(mid)!r}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    found = differences(yaml.safe_load(BSI_YML.read_text(encoding="utf-8")),
                        Path(argv[0]).read_text(encoding="utf-8"))
    for line in found:
        print(line)
    print(f"{BSI_YML.name}: {len(found)} difference(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
