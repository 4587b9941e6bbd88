"""The audit index: every commit's change events, computed once and kept by commit id.

Questions such as "everything about jmueller" must not replay the history each time. The
`HistoryReader` computes each main-line commit's events once; this index keeps them in a
SQLite file with an entity table (`person:jmueller` -> events), so a per-person question is
one indexed lookup plus `git rev-list` for the current main line (which commits count).

Where: `<git common dir>/telework/audit-index/v<FORMAT>-<inventory path>.sqlite` (beside the
repository, shared by its work trees, never committed), or under `$XDG_CACHE_HOME/telework/`
when the git directory is read-only. A commit id fixes the commit's content, so a stored
record never goes stale; `FORMAT` changes whenever the events telework derives change, and
a new format starts a new file. Rewritten history (rebase) simply adds records for the new
commits. Deleting the file is always safe: the next question rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from telework import __version__
from telework.audit.gitrepo import Repository
from telework.audit.history import CommitRecord, HistoryReader

#: Bump when events, params or summaries change meaning: old index files are then ignored.
FORMAT = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS commits (
    sha TEXT PRIMARY KEY, parents TEXT, author TEXT, author_email TEXT, author_time INTEGER,
    committer TEXT, committer_email TEXT, commit_time INTEGER, subject TEXT, approvals TEXT,
    summary TEXT, problems TEXT);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, sha TEXT, seq INTEGER, kind TEXT, params TEXT, entities TEXT, origin TEXT);
CREATE TABLE IF NOT EXISTS entity_events (entity TEXT, event INTEGER);
CREATE INDEX IF NOT EXISTS events_sha ON events (sha);
CREATE INDEX IF NOT EXISTS entity_events_entity ON entity_events (entity);
"""


@dataclass(frozen=True)
class CommitRow:
    sha: str
    parents: tuple[str, ...]
    author: str
    author_email: str
    author_time: int
    committer: str
    committer_email: str
    commit_time: int
    subject: str
    approvals: list[str]
    summary: dict
    problems: list[str]


@dataclass(frozen=True)
class EventRow:
    """One change on the main line, with the commit that brought it there."""

    commit: CommitRow
    seq: int
    kind: str
    params: dict
    entities: list[str]
    #: the branch commit that made the change (merges), else None: the commit itself
    origin: dict | None

    @property
    def author(self) -> str:
        return (self.origin or {}).get("author") or self.commit.author

    @property
    def approvals(self) -> list[str]:
        refs = list((self.origin or {}).get("approvals") or [])
        return refs + [r for r in self.commit.approvals if r not in refs]


def default_path(repo: Repository) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", repo.prefix.strip("/")) or "root"
    name = f"v{FORMAT}-{slug}.sqlite"
    base = repo.git_dir / "telework" / "audit-index"
    try:
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK):
            return base / name
    except OSError:
        pass
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "telework" / "audit-index"
    cache.mkdir(parents=True, exist_ok=True)
    where = hashlib.sha256(str(repo.git_dir).encode()).hexdigest()[:16]
    return cache / f"{where}-{name}"


class AuditIndex:
    """Open (creating it if needed) the index of `repo`'s inventory directory."""

    def __init__(self, repo: Repository, path: Path | None = None):
        self.repo = repo
        self.path = path or default_path(repo)
        self.db = self._open()
        #: how many commits the last `update` had to compute (0: everything came from the index)
        self.computed = 0

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path)
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (str(FORMAT),))
            db.commit()
            return db
        except sqlite3.DatabaseError:
            # a damaged cache is no loss: start again
            self.path.unlink(missing_ok=True)
            db = sqlite3.connect(self.path)
            db.executescript(_SCHEMA)
            return db

    def close(self) -> None:
        self.db.close()

    # ---------------------------------------------------------------- filling

    def update(self, head: str = "HEAD") -> list[str]:
        """Index every main-line commit of `head` not yet indexed; returns the main line
        (inventory commits on the first-parent chain, oldest first)."""
        sha = self.repo.resolve(head)
        chain = self.repo.first_parent_chain(sha)
        done = {row[0] for row in self.db.execute("SELECT sha FROM commits")}
        reader = HistoryReader(self.repo)
        self.computed = 0
        with self.db:
            for record in reader.walk(sha, chain, done):
                self._store(record)
                self.computed += 1
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('telework', ?)", (__version__,))
        self.db.commit()
        self.stats = dict(reader.parser.stats)
        return chain

    def _store(self, record: CommitRecord) -> None:
        c = record.commit
        self.db.execute(
            "INSERT OR REPLACE INTO commits VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (c.sha, " ".join(c.parents), c.author.name, c.author.email, c.author_time, c.committer.name,
             c.committer.email, c.commit_time, c.subject, _dump(record.approvals), _dump(record.summary),
             _dump(record.problems)))
        self.db.execute("DELETE FROM entity_events WHERE event IN (SELECT id FROM events WHERE sha=?)", (c.sha,))
        self.db.execute("DELETE FROM events WHERE sha=?", (c.sha,))
        for seq, (event, origin) in enumerate(record.events):
            cursor = self.db.execute(
                "INSERT INTO events (sha, seq, kind, params, entities, origin) VALUES (?,?,?,?,?,?)",
                (c.sha, seq, event.kind, _dump(event.params), _dump(event.entities),
                 _dump(origin.to_json()) if origin else None))
            self.db.executemany("INSERT INTO entity_events VALUES (?,?)",
                                [(entity, cursor.lastrowid) for entity in set(event.entities)])

    # ---------------------------------------------------------------- questions

    def commits(self, chain: list[str]) -> list[CommitRow]:
        """Rows of the commits of `chain`, in its order."""
        rows = {row[0]: _commit_row(row) for row in self.db.execute("SELECT * FROM commits")}
        return [rows[sha] for sha in chain if sha in rows]

    def events(self, chain: list[str], entities: list[str] | None = None) -> list[EventRow]:
        """Events of the commits of `chain` in history order; with `entities`, only those
        concerning one of them (`person:jmueller`, `device:nb-0003`, ...)."""
        position = {sha: i for i, sha in enumerate(chain)}
        query = ("SELECT e.sha, e.seq, e.kind, e.params, e.entities, e.origin FROM events e")
        args: list = []
        if entities is not None:
            marks = ",".join("?" * len(entities))
            query += (f" WHERE e.id IN (SELECT event FROM entity_events WHERE entity IN ({marks}))")
            args = list(entities)
        found = [row for row in self.db.execute(query, args) if row[0] in position]
        shas = sorted({row[0] for row in found}, key=position.__getitem__)
        commits = self._commit_rows(shas)
        out = [EventRow(commits[sha], seq, kind, json.loads(params), json.loads(ents),
                        json.loads(origin) if origin else None)
               for sha, seq, kind, params, ents, origin in found]
        out.sort(key=lambda e: (position[e.commit.sha], e.seq))
        return out

    def _commit_rows(self, shas: list[str]) -> dict[str, CommitRow]:
        out = {}
        for start in range(0, len(shas), 500):
            part = shas[start:start + 500]
            marks = ",".join("?" * len(part))
            for row in self.db.execute(f"SELECT * FROM commits WHERE sha IN ({marks})", part):
                out[row[0]] = _commit_row(row)
        return out


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _commit_row(row) -> CommitRow:
    (sha, parents, author, author_email, author_time, committer, committer_email, commit_time,
     subject, approvals, summary, problems) = row
    return CommitRow(sha, tuple(parents.split()), author, author_email, author_time, committer,
                     committer_email, commit_time, subject, json.loads(approvals), json.loads(summary),
                     json.loads(problems))
