"""Directory symlinks that make an inventory contain itself (people/loop -> ..) are refused.

Such a link is never followed (the file walk does not follow directory links), so without this
check the files it seems to add would be left out without a word. Links that leave the
inventory are refused where files are read (telework.inventory.source).
"""

from __future__ import annotations

import os
from pathlib import Path

from telework.core.problems import Problem


def symlink_loops(root: Path, shown: Path) -> list[Problem]:
    """A problem for every directory symlink below `root` whose target contains the link itself."""
    problems = []
    for dirpath, dirnames, filenames in os.walk(root):  # does not follow links
        dirnames.sort()
        # a link to itself (or a chain back to itself) is listed as a file: it is no directory
        for name in sorted(dirnames) + sorted(filenames):
            link = Path(dirpath) / name
            if not link.is_symlink() or (name in filenames and link.exists()):
                continue
            if name in filenames and not _loops(link):
                continue
            try:
                target = link.resolve(strict=True)
            except (OSError, RuntimeError):  # a link chain that loops on itself
                target = None
            here = link.parent.resolve()
            if target is None or target == here or target in here.parents:
                rel = link.relative_to(root)
                problems.append(Problem(
                    "inventory.symlink_loop",
                    f"directory symlink {rel} -> {os.readlink(link)} loops back into the inventory "
                    "(it would contain itself); its files are not read",
                    f"remove the link (rm {shown / rel}) and keep each file in one place", file=shown / rel))
    return problems


def _loops(link: Path) -> bool:
    try:
        link.resolve(strict=True)
    except RuntimeError:
        return True
    except OSError as exc:
        return exc.errno == 40  # ELOOP
    return False
