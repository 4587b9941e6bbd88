"""The plan as a merge-request comment, through GitLab's REST API.

One comment per merge request, kept current: the comment starts with `MARKER`, and a new
plan edits that comment instead of adding another (reviewers see the plan of the latest
push, the history of the comment keeps the earlier ones).

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


def _request(method: str, url: str, headers: dict, data: dict | None = None, timeout: int = 30):
    body = None
    if data is not None:
        body = json.dumps(data).encode("utf-8")
        headers = {**headers, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8") or "null")
    except urllib.error.HTTPError as exc:
        raise CommentError(f"GitLab answered {exc.code} {exc.reason} to {method} "
                           f"{urllib.parse.urlsplit(url).path}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CommentError(f"GitLab API not reachable: {exc}") from None


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
    base = (f"{env['CI_API_V4_URL'].rstrip('/')}/projects/{urllib.parse.quote(str(env['CI_PROJECT_ID']), safe='')}"
            f"/merge_requests/{env['CI_MERGE_REQUEST_IID']}/notes")
    body = f"{MARKER}\n{markdown}"
    notes = _request("GET", f"{base}?sort=desc&order_by=updated_at&per_page=100", headers) or []
    mine = next((n for n in notes if isinstance(n, dict) and str(n.get("body", "")).startswith(MARKER)), None)
    if mine is not None:
        _request("PUT", f"{base}/{mine['id']}", headers, {"body": body})
        return "updated"
    _request("POST", base, headers, {"body": body})
    return "created"
