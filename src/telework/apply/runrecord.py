"""Run records: who applied which inventory commit when, and what happened on every host.

Where: a **git note** on the applied commit, under `refs/notes/telework/runs`, one JSON
object per line (a commit applied twice carries two lines). Why a note and not a committed
file: the record is attached to exactly the commit that was applied, writing it needs no
commit on a protected main branch (no pipeline loop, no merge race), and `git log
--notes=telework/runs` or `telework`'s audit reader shows it beside the change it describes.
Notes travel only when pushed: the CI apply job fetches the notes ref before applying and
pushes it afterwards (see examples/gitlab-ci/.gitlab-ci.yml); `fetch_notes`/`push_notes` do the
same by hand.

The record holds the applied plan as JSON - already redacted, like every plan output - and
passes the run's redactor once more before it is written. A run on an inventory outside git
is written to `<inventory>/.telework/runs/<run id>.json` instead (and said so).

Format (`schema: telework.run/1`)::

    {"schema": "telework.run/1", "run_id": "20261123T151253Z-4f2a", "result": "ok|failed|stopped|refused",
     "commit": "<sha>", "dirty": false, "inventory": "<path>", "organisation": "gruenfelden",
     "who": {"login": "...", "name": "...", "email": "...", "source": "gitlab-ci|git|unix"},
     "ci": {"pipeline_url": ..., "job_url": ..., "job_id": ..., "project": ...} | null,
     "started": "...Z", "finished": "...Z", "telework_version": "0.1.0", "limit": [...],
     "reviewed_plan": {"file": "...", "sha256": "..."} | null,
     "rings": [{"name": "pilot", "hosts": [...], "failed": 0, "failure_threshold": 0.2,
                "stopped_rollout": false}],
     "hosts": {"<name>": {"status": "changed|unchanged|failed|unreachable|skipped",
                          "ring": "pilot", "changed_ops": [...], "error": null}},
     "plan": {<the plan, telework.plan/1>}}
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from telework.core.repo import git
from telework.secrets.redact import Redactor

SCHEMA = "telework.run/1"
NOTES_REF = "refs/notes/telework/runs"


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(2)}"


def who(inventory_dir: Path | str, env: dict | None = None) -> dict:
    """The person behind a run: the GitLab user of a CI job, else git's user, else the login."""
    env = os.environ if env is None else env
    if env.get("GITLAB_USER_LOGIN"):
        return {"login": env["GITLAB_USER_LOGIN"], "name": env.get("GITLAB_USER_NAME"),
                "email": env.get("GITLAB_USER_EMAIL"), "source": "gitlab-ci"}
    name = email = None
    try:
        name = git(inventory_dir, "config", "user.name", check=False) or None
        email = git(inventory_dir, "config", "user.email", check=False) or None
    except OSError:
        pass
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = env.get("USER") or "unknown"
    if name or email:
        return {"login": login, "name": name, "email": email, "source": "git"}
    return {"login": login, "name": None, "email": None, "source": f"unix@{socket.gethostname()}"}


def ci_context(env: dict | None = None) -> dict | None:
    env = os.environ if env is None else env
    if not env.get("CI_PIPELINE_ID"):
        return None
    return {"pipeline_url": env.get("CI_PIPELINE_URL"), "job_url": env.get("CI_JOB_URL"),
            "job_id": env.get("CI_JOB_ID"), "project": env.get("CI_PROJECT_PATH"),
            "ref": env.get("CI_COMMIT_REF_NAME")}


def write(record: dict, inventory_dir: Path | str, redactor: Redactor | None = None) -> str:
    """Store `record`; returns where (`git notes … <commit>` or a file path)."""
    line = (redactor or Redactor()).redact(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    commit = record.get("commit")
    if commit:
        done = subprocess.run(
            ["git", "-C", str(inventory_dir), "notes", f"--ref={NOTES_REF}", "append",
             "--no-separator", "-F", "-", commit],
            input=line + "\n", capture_output=True, text=True)
        if done.returncode == 0:
            return f"git note {NOTES_REF} on {commit[:12]}"
        # git older than 2.42 has no --no-separator: the blank line between records is harmless
        done = subprocess.run(
            ["git", "-C", str(inventory_dir), "notes", f"--ref={NOTES_REF}", "append", "-F", "-", commit],
            input=line + "\n", capture_output=True, text=True)
        if done.returncode == 0:
            return f"git note {NOTES_REF} on {commit[:12]}"
    path = Path(inventory_dir) / ".telework" / "runs" / f"{record['run_id']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(line + "\n", encoding="utf-8")
    return str(path)


def read(inventory_dir: Path | str, commit: str = "HEAD") -> list[dict]:
    """Every run record on `commit` (oldest first); [] when there is none."""
    done = subprocess.run(["git", "-C", str(inventory_dir), "notes", f"--ref={NOTES_REF}", "show", commit],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return []
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def fetch_notes(inventory_dir: Path | str, remote: str = "origin") -> None:
    git(inventory_dir, "fetch", remote, f"+{NOTES_REF}:{NOTES_REF}", check=False)


def push_notes(inventory_dir: Path | str, remote: str = "origin") -> None:
    git(inventory_dir, "push", remote, NOTES_REF)
