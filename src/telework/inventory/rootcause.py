"""Report each mistake once: follow-on problems are folded into the problem that causes them.

One typo should give one error. Two kinds of follow-on problems are folded:

- a file that cannot be read (YAML syntax, not UTF-8, empty) takes its people, networks, ...
  with it, so every reference to them elsewhere would be "unknown": those references are not
  reported while such a file exists, its own problem says how many were left unchecked;
- the same problem at many places (an unquoted `firmware: 12.6` on every device, a department
  renamed under its people) is reported once, with "+N more like this" and their places.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from telework.core.problems import Problem, Severity

#: problems after which the file's sections are missing from the inventory
UNREADABLE_FILE_RULES = frozenset({
    "yaml.syntax", "yaml.encoding", "yaml.shape", "inventory.empty_file", "inventory.unreadable",
    "inventory.empty_section", "inventory.section_shape", "inventory.symlink_loop",
})

#: problems every place of which is its own finding, never folded into "+N more like this": a
#: link out of the inventory is a file telework refused to read (an auditor wants each one named)
NEVER_GROUPED_RULES = frozenset({"inventory.link_outside"})


def root_causes(problems: Iterable[Problem]) -> list[Problem]:
    """`problems` with references into unreadable files folded away and repeats grouped."""
    return group_similar(_fold_into_unreadable_files(list(problems)))


def _fold_into_unreadable_files(problems: list[Problem]) -> list[Problem]:
    roots = [p for p in problems if p.rule in UNREADABLE_FILE_RULES]
    refs = [p for p in problems if p.rule.startswith("ref.unknown_")]
    if not roots or not refs:
        return problems
    first = roots[0]
    files = ", ".join(sorted({r.where.split(":")[0] for r in roots}))
    note = (f"; {len(refs)} reference(s) elsewhere (e.g. {refs[0].dotted_path} at {refs[0].where}: "
            f"{refs[0].message}) are not checked until {files} is fixed")
    replaced = dataclasses.replace(first, message=first.message + note, severity=Severity.ERROR)
    return [replaced if p is first else p for p in problems if not p.rule.startswith("ref.unknown_")]


def _pattern(problem: Problem) -> tuple:
    """What makes two problems 'alike': rule, the path without item indexes, message and fix."""
    path = tuple(part for part in problem.path if not isinstance(part, int))
    return problem.rule, problem.severity, path, problem.message, problem.fix


def group_similar(problems: list[Problem]) -> list[Problem]:
    """Problems alike (see `_pattern`) reported once, at their first place, with the others' places."""
    groups: dict[tuple, list[Problem]] = {}
    for problem in problems:
        if problem.rule not in NEVER_GROUPED_RULES:
            groups.setdefault(_pattern(problem), []).append(problem)
    out = []
    for problem in problems:
        group = groups.get(_pattern(problem), [problem])
        if group[0] is not problem:
            continue
        if len(group) == 1:
            out.append(problem)
        else:
            out.append(dataclasses.replace(problem, similar=tuple(p.where for p in group[1:])))
    return out
