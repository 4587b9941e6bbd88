"""Linking run records to the history: which run first applied which change.

A run applies the state of its commit, so it applies every change on the main line up to
that commit. The first run (by start time) whose commit reaches a change is the one that
applied it; when that run failed, the first successful run after it is named too, because
"attempted" and "in effect" are different answers for an auditor.

A run's commit may lie off the main line: on a branch merged later (it then applied the main
line up to the fork point, plus the branch), or nowhere in HEAD's history (a branch that was
never merged, or history rewritten since) - `in_history` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telework.audit.gitrepo import GitError, Repository, git
from telework.audit.runs import RunRecord

#: results after which the applied state is in effect on every selected host
GOOD_RESULTS = frozenset({"ok"})


@dataclass
class RunLink:
    run: RunRecord
    #: the run's commit is HEAD or an ancestor of it
    in_history: bool
    #: the run's commit is on HEAD's first-parent line
    on_main_line: bool
    #: main-line inventory commits this run was the first to apply
    first_applied: list[str] = field(default_factory=list)


@dataclass
class Applied:
    """For one change: the first run that applied it and, if that one did not succeed, the
    first that did."""

    first: RunRecord
    succeeded: RunRecord | None


def link_runs(repo: Repository, head: str, chain: list[str],
              runs: list[RunRecord]) -> tuple[list[RunLink], dict[str, Applied]]:
    """(one link per run, main-line commit -> Applied)."""
    main_line = repo.first_parent_chain(head, limited=False)
    position = {sha: i for i, sha in enumerate(main_line)}
    ancestors = repo.ancestors(head) if runs else set()
    links: list[RunLink] = []
    reach: list[int] = []
    for run in runs:
        commit = _full_sha(repo, run.commit)
        link = RunLink(run, in_history=commit in ancestors, on_main_line=commit in position)
        links.append(link)
        if commit is None:
            reach.append(-1)
        elif commit in position:
            reach.append(position[commit])
        else:
            reach.append(_fork_point(repo, commit, position))
    chain_positions = sorted((position[sha], sha) for sha in chain if sha in position)
    applied: dict[str, Applied] = {}
    first_upto = good_upto = -1
    for link, upto in zip(links, reach):
        for pos, sha in chain_positions:
            if pos > upto:
                break
            if pos > first_upto:
                applied[sha] = Applied(link.run, link.run if link.run.result in GOOD_RESULTS else None)
                link.first_applied.append(sha)
            elif pos > good_upto and link.run.result in GOOD_RESULTS and applied[sha].succeeded is None:
                applied[sha].succeeded = link.run
        first_upto = max(first_upto, upto)
        if link.run.result in GOOD_RESULTS:
            good_upto = max(good_upto, upto)
    return links, applied


def _full_sha(repo: Repository, commit: str | None) -> str | None:
    if not commit:
        return None
    if len(commit) == 40:
        return commit
    try:
        return repo.resolve(commit)
    except GitError:
        return commit


def _fork_point(repo: Repository, commit: str, position: dict[str, int]) -> int:
    """Position of the newest main-line commit in `commit`'s own first-parent history: a run
    from a branch applied the main line up to where the branch left it (plus the branch,
    whose changes count as applied once the merge brings them onto the main line)."""
    try:
        for sha in git(repo.toplevel, "rev-list", "--first-parent", commit).split():
            if sha in position:
                return position[sha]
    except GitError:
        pass
    return -1
