"""The plan as a merge-request comment, through GitLab's REST API.

One comment per merge request, kept current: the comment starts with `MARKER`, and a new
plan edits that comment instead of adding another (reviewers see the plan of the latest
push, the history of the comment keeps the earlier ones). Only a note of the token's own user
is edited (GitLab lets only its author or a maintainer edit a note): a reviewer who quotes the
comment does not make the next plan land in their note.

The requests are those of GitLab's notes API (doc/api/notes.md, "Merge requests"): list with
`sort=desc&order_by=updated_at`, paginated (`per_page` at most 100, `X-Next-Page`), `POST` a
new note, `PUT` an existing one; `GET /user` names the token's user. tests/pipeline/
fake_gitlab.py is a stand-in that answers as GitLab documents.

Authentication: a project access token with `api` scope in the CI variable
`TELEWORK_GITLAB_TOKEN` (masked, protected as your policy requires). GitLab's `CI_JOB_TOKEN`
cannot write notes in current GitLab releases; it is tried as a fallback so that a GitLab
that allows it works without a token. A comment that cannot be posted is a warning, never a
failed plan: the plan artifact is the record, the comment a convenience.

The token is sent in a header only; no message here ever contains it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

MARKER = "<!-- telework-plan -->"
TOKEN_ENV = "TELEWORK_GITLAB_TOKEN"


class CommentError(Exception):
    """The comment could not be posted (message safe to print)."""


#: notes read per page (GitLab's maximum) and pages read at most before giving up the search
PER_PAGE = 100
MAX_PAGES = 50


def _request(method: str, url: str, headers: dict, data: dict | None = None, timeout: int = 30):
    """(JSON answer, response headers) of one API request."""
    body = None
    if data is not None:
        body = json.dumps(data).encode("utf-8")
        headers = {**headers, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8") or "null"), response.headers
    except urllib.error.HTTPError as exc:
        raise CommentError(f"GitLab answered {exc.code} {exc.reason} to {method} "
                           f"{urllib.parse.urlsplit(url).path}{_hint(exc.code)}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CommentError(f"GitLab API not reachable: {exc}") from None


def _hint(code: int) -> str:
    return {401: f" (is ${TOKEN_ENV} a valid, unexpired token?)",
            403: f" (${TOKEN_ENV} needs the api scope and at least the Reporter role)",
            404: " (no such project or merge request, or the token cannot see it)"}.get(code, "")


def _own_user_id(api: str, headers: dict) -> int | None:
    """The id of the token's user (`GET /user`), or None when the token may not ask (a job
    token): then any note with the marker is taken as ours."""
    try:
        user, _ = _request("GET", f"{api}/user", headers)
    except CommentError:
        return None
    return user.get("id") if isinstance(user, dict) else None


def _plan_note(base: str, headers: dict, own_id: int | None) -> dict | None:
    """Our plan comment: the most recently updated note that starts with MARKER, is no system
    note and (when known) was written by the token's user. Reads every page (GitLab answers 20
    notes per page unless asked, at most 100), following `X-Next-Page`."""
    page: str | None = "1"
    for _ in range(MAX_PAGES):
        notes, answer = _request("GET", f"{base}?sort=desc&order_by=updated_at&per_page={PER_PAGE}&page={page}",
                                 headers)
        for note in notes or []:
            if (isinstance(note, dict) and not note.get("system")
                    and str(note.get("body", "")).startswith(MARKER)
                    and (own_id is None or (note.get("author") or {}).get("id") == own_id)):
                return note
        page = (answer.get("X-Next-Page") or "").strip() if answer is not None else ""
        if not page:
            return None
    return None


def post_plan_comment(markdown: str, env: Mapping[str, str] | None = None) -> str:
    """Create or update the plan comment of the merge request this CI job runs for;
    returns "created" or "updated". Raises CommentError with a printable message."""
    env = os.environ if env is None else env
    missing = [v for v in ("CI_API_V4_URL", "CI_PROJECT_ID", "CI_MERGE_REQUEST_IID") if not env.get(v)]
    if missing:
        raise CommentError(f"not a merge-request pipeline ({', '.join(missing)} unset)")
    if env.get(TOKEN_ENV):
        headers = {"PRIVATE-TOKEN": env[TOKEN_ENV]}
    elif env.get("CI_JOB_TOKEN"):
        headers = {"JOB-TOKEN": env["CI_JOB_TOKEN"]}
    else:
        raise CommentError(f"no token: set the CI variable {TOKEN_ENV} (project access token, api scope)")
    api = env["CI_API_V4_URL"].rstrip("/")
    base = (f"{api}/projects/{urllib.parse.quote(str(env['CI_PROJECT_ID']), safe='')}"
            f"/merge_requests/{urllib.parse.quote(str(env['CI_MERGE_REQUEST_IID']), safe='')}/notes")
    body = f"{MARKER}\n{markdown}"
    mine = _plan_note(base, headers, _own_user_id(api, headers) if "PRIVATE-TOKEN" in headers else None)
    if mine is not None:
        _request("PUT", f"{base}/{mine['id']}", headers, {"body": body})
        return "updated"
    _request("POST", base, headers, {"body": body})
    return "created"
