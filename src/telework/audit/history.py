"""Walking an inventory's history: one `CommitRecord` per commit of the main line.

The main line is HEAD's first-parent chain, restricted to commits that changed the
inventory directory: on a reviewed repository that is the sequence of states the inventory
was really in. Each commit is compared with its first parent, so a merge shows what it
brought onto the main line, once.

For a merge the record also says which commit on the merged branch made each change (its
author and the approval its message names): auditors want the person who wrote "grant
jmueller VPN", not only the maintainer who pressed merge. A change no branch commit made
(a conflict resolved in the merge itself) is the merge's own.

The walk keeps one rolling state and reads only the files each commit changed (blob ids
from `git log --raw`, contents through one `git cat-file --batch`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from telework.audit.approvals import approvals
from telework.audit.diff import Event, diff_states
from telework.audit.entities import Parser, State
from telework.audit.gitrepo import Commit, LoggedCommit, Repository


@dataclass
class Origin:
    """The branch commit that made a change a merge brought in."""

    commit: Commit
    approvals: list[str]

    def to_json(self) -> dict:
        c = self.commit
        return {"sha": c.sha, "author": c.author.name, "author_email": c.author.email,
                "author_time": c.author_time, "subject": c.subject, "approvals": self.approvals}


@dataclass
class CommitRecord:
    commit: Commit
    approvals: list[str]
    events: list[tuple[Event, Origin | None]] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class HistoryReader:
    """Computes `CommitRecord`s from git; the index stores them so this runs once per commit."""

    def __init__(self, repo: Repository):
        self.repo = repo
        self.parser = Parser(repo.text)
        #: recent main-line states by commit: a merged branch usually starts at one of them
        self._main_states: OrderedDict[str, State] = OrderedDict()

    def walk(self, head: str, chain: list[str], done: set[str]) -> Iterator[CommitRecord]:
        """Records of the commits of `chain` (the main line up to `head`, oldest first) that are
        not in `done`; commits in `done` after the first missing one are replayed, not re-diffed."""
        missing = [i for i, sha in enumerate(chain) if sha not in done]
        if not missing:
            return
        first = chain[missing[0]]
        parents = self.repo.read_commit(first).parents
        base = parents[0] if parents else None
        state = State(self.repo.tree(base), self.parser)
        revisions = [f"{base}..{head}"] if base else [head]
        for logged in self.repo.log(revisions):
            new_state = state.changed({c.path: c.new for c in logged.changes})
            self._remember(logged.commit.sha, new_state)
            if logged.commit.sha not in done:
                yield self._record(logged, state, new_state)
            state = new_state

    def _remember(self, sha: str, state: State, keep: int = 64) -> None:
        self._main_states[sha] = state
        if len(self._main_states) > keep:
            self._main_states.popitem(last=False)

    def _record(self, logged: LoggedCommit, old: State, new: State) -> CommitRecord:
        commit = logged.commit
        changed = [c.path for c in logged.changes]
        events = diff_states(old, new, changed)
        origins = self._origins(commit, events) if len(commit.parents) > 1 and events else {}
        record = CommitRecord(commit, approvals(commit.message),
                              [(e, origins.get(e.identity())) for e in events], new.summary())
        record.problems = [p for p in new.problems() if p.split(":", 1)[0] in changed]
        return record

    def _origins(self, merge: Commit, events: list[Event]) -> dict[tuple, Origin]:
        """identity of a change -> the last commit of the merged branch(es) that made it."""
        wanted = {e.identity() for e in events}
        found: dict[tuple, Origin] = {}
        states: dict[str, State] = {}
        branch = self.repo.log([f"^{merge.parents[0]}", *merge.parents[1:]], first_parent=False)
        for logged in branch:
            commit = logged.commit
            parent = commit.parents[0] if commit.parents else None
            before = (states.get(parent) or self._main_states.get(parent)) if parent else None
            if before is None:
                before = State(self.repo.tree(parent), self.parser)
            after = before.changed({c.path: c.new for c in logged.changes})
            states[commit.sha] = after
            for event in diff_states(before, after, [c.path for c in logged.changes]):
                if event.identity() in wanted:
                    found[event.identity()] = Origin(commit, approvals(commit.message))
        return found
