"""A local stand-in of the GitLab parts the example pipeline talks to (FAKE: a faithful test
double, not GitLab): the merge-request notes API and the projects' git repositories over HTTP.

No GitLab can run on this machine, so the pipeline test talks to this instead. It follows
GitLab's REST API documentation (doc/api/notes.md "Merge requests", doc/api/rest/index.md
"Pagination" and "Namespaced paths") and the API's own source (lib/api/helpers/
notes_helpers.rb: who may edit a note, job tokens read-only), and serves git through git's own
`git http-backend`, as GitLab's smart HTTP does:

* authentication: `PRIVATE-TOKEN: <token>` or `Authorization: Bearer <token>`; none or an
  unknown one is 401 `{"message": "401 Unauthorized"}`; `JOB-TOKEN` may only read (GET);
  a token without the `api` scope gets 403 `{"error": "insufficient_scope", ...}`
* a project by numeric id or URL-encoded path; unknown: 404 `{"message": "404 Project Not Found"}`;
  an unknown merge request: 404 `{"message": "404 Merge Request Not Found"}`
* `GET .../merge_requests/:iid/notes`: `sort` asc|desc (default desc), `order_by`
  created_at|updated_at (default created_at), `page`, `per_page` (default 20, at most 100),
  headers X-Page, X-Per-Page, X-Total, X-Total-Pages, X-Next-Page, X-Prev-Page and Link
* `POST .../notes` with `body` (JSON, form or query): 201 and the note; no body: 400
  `{"error": "body is missing"}`; over 1,000,000 characters: 400 (the note's validation error)
* `PUT .../notes/:note_id` with `body`: 200 and the note; a note of someone else: 403
  `{"message": "403 Forbidden"}`; an unknown note: 404 `{"message": "404 Not found"}`
* `GET /api/v4/user`: the token's user
* git: `/<path>.git/info/refs?service=...`, `/git-upload-pack`, `/git-receive-pack`; a private
  project needs HTTP Basic with a token as password (any user name: GitLab's `oauth2:<token>`
  convention); pushing needs the `write_repository` scope

Every API request is logged (method, path, query, which token) for the tests; token values
never are.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

NOTE_LIMIT = 1_000_000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


@dataclass
class Token:
    user: str
    scopes: tuple[str, ...]


@dataclass
class Project:
    id: int
    path: str
    repo: Path
    public: bool = False
    merge_requests: dict[int, list[dict]] = field(default_factory=dict)


class FakeGitLab:
    """Projects (bare repositories under `root`), users and tokens, merge requests' notes."""

    def __init__(self, root: Path, host: str = "127.0.0.1"):
        self.root = Path(root)
        self.host = host
        self.projects: dict[str, Project] = {}
        self.tokens: dict[str, Token] = {}
        self.users: dict[str, int] = {}
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._note_id = 300
        self._server: ThreadingHTTPServer | None = None

    # --- set-up ---------------------------------------------------------------------------
    def add_user(self, username: str) -> None:
        self.users.setdefault(username, len(self.users) + 1)

    def add_token(self, value: str, user: str, scopes: tuple[str, ...]) -> None:
        self.add_user(user)
        self.tokens[value] = Token(user, scopes)

    def add_project(self, path: str, source: Path, *, public: bool = False) -> Project:
        """A project whose repository is a bare clone of the git repository `source`."""
        repo = self.root / f"{path}.git"
        repo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(repo)], check=True)
        # as GitLab: partial clones (`--filter`) are served, pushes go through receive-pack
        subprocess.run(["git", "-C", str(repo), "config", "uploadpack.allowFilter", "true"], check=True)
        subprocess.run(["git", "-C", str(repo), "config", "http.receivepack", "true"], check=True)
        project = Project(id=1000 + len(self.projects) + 1, path=path, repo=repo, public=public)
        self.projects[path] = project
        return project

    def open_merge_request(self, path: str, iid: int) -> None:
        self.projects[path].merge_requests.setdefault(iid, [])

    def add_note(self, path: str, iid: int, author: str, body: str, system: bool = False) -> dict:
        with self._lock:
            return self._new_note(self.projects[path], iid, author, body, system)

    # --- serving --------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeGitLab:
        fake = self

        class Handler(_Handler):
            gitlab = fake

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # --- state ----------------------------------------------------------------------------
    def notes(self, path: str, iid: int) -> list[dict]:
        return list(self.projects[path].merge_requests[iid])

    def _new_note(self, project: Project, iid: int, author: str, body: str, system: bool = False) -> dict:
        self._note_id += 1
        now = _now()
        note = {
            "id": self._note_id, "type": None, "body": body, "attachment": None,
            "author": {"id": self.users.setdefault(author, len(self.users) + 1), "username": author,
                       "name": author, "state": "active", "avatar_url": None,
                       "web_url": f"{self.url}/{author}"},
            "created_at": now, "updated_at": now, "system": system, "noteable_id": 5000 + iid,
            "noteable_type": "MergeRequest", "project_id": project.id, "noteable_iid": iid,
            "resolvable": False, "confidential": False, "internal": False,
        }
        project.merge_requests[iid].append(note)
        return note

    def project(self, ident: str) -> Project | None:
        ident = unquote(ident)
        for project in self.projects.values():
            if ident in (str(project.id), project.path):
                return project
        return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Handler(BaseHTTPRequestHandler):
    gitlab: FakeGitLab
    protocol_version = "HTTP/1.0"

    def log_message(self, *args) -> None:
        pass

    # --- plumbing -------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, code: int, data, headers: dict | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def _params(self, raw: bytes) -> dict:
        params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        kind = self.headers.get("Content-Type", "")
        if raw and kind.startswith("application/json"):
            params.update(json.loads(raw.decode("utf-8")))
        elif raw and kind.startswith("application/x-www-form-urlencoded"):
            params.update({k: v[-1] for k, v in parse_qs(raw.decode("utf-8")).items()})
        return params

    # --- dispatch -------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        raw = self._body()
        if path.startswith("/api/v4/"):
            self._api(method, path[len("/api/v4"):], raw)
        elif ".git/" in path:
            self._git(method, path, raw)
        else:
            self._send(404, {"message": "404 Not Found"})

    # --- REST API -------------------------------------------------------------------------
    def _token(self) -> tuple[str | None, Token | None]:
        """(how the caller authenticated, the token) - "job" for a JOB-TOKEN."""
        value = self.headers.get("PRIVATE-TOKEN")
        bearer = self.headers.get("Authorization", "")
        if value is None and bearer.startswith("Bearer "):
            value = bearer[len("Bearer "):]
        if value is not None:
            return "private", self.gitlab.tokens.get(value)
        if self.headers.get("JOB-TOKEN"):
            return "job", None
        return None, None

    def _api(self, method: str, path: str, raw: bytes) -> None:
        kind, token = self._token()
        self.gitlab.requests.append({"method": method, "path": path, "query": urlsplit(self.path).query,
                                     "auth": kind, "user": token.user if token else None})
        if kind == "job":
            if method != "GET":  # job tokens only read (notes_helpers.rb)
                return self._send(403, {"message": "403 Forbidden"})
            return self._send(401, {"message": "401 Unauthorized"})
        if token is None:
            return self._send(401, {"message": "401 Unauthorized"})
        if method != "GET" and "api" not in token.scopes:
            return self._send(403, {"error": "insufficient_scope",
                                    "error_description": "The request requires higher privileges than "
                                                         "provided by the access token.", "scope": "api"})
        if path == "/user" and method == "GET":
            return self._send(200, {"id": self.gitlab.users[token.user], "username": token.user,
                                    "name": token.user, "state": "active", "bot": token.user.startswith("project_")})
        parts = path.strip("/").split("/")
        if len(parts) < 5 or parts[0] != "projects" or parts[2] != "merge_requests" or parts[4] != "notes":
            return self._send(404, {"error": "404 Not Found"})
        project = self.gitlab.project(parts[1])
        if project is None:
            return self._send(404, {"message": "404 Project Not Found"})
        try:
            iid = int(parts[3])
        except ValueError:
            return self._send(400, {"error": "merge_request_iid is invalid"})
        if iid not in project.merge_requests:
            return self._send(404, {"message": "404 Merge Request Not Found"})
        params = self._params(raw)
        with self.gitlab._lock:
            if len(parts) == 5 and method == "GET":
                return self._list(project.merge_requests[iid], params)
            if len(parts) == 5 and method == "POST":
                problem = _body_problem(params)
                if problem:
                    return self._send(400, problem)
                return self._send(201, self.gitlab._new_note(project, iid, token.user, params["body"]))
            if len(parts) == 6 and method == "PUT":
                note = next((n for n in project.merge_requests[iid] if str(n["id"]) == parts[5]), None)
                if note is None:
                    return self._send(404, {"message": "404 Not found"})
                if note["author"]["username"] != token.user:  # authorize! :admin_note
                    return self._send(403, {"message": "403 Forbidden"})
                problem = _body_problem(params)
                if problem:
                    return self._send(400, problem)
                note["body"], note["updated_at"] = params["body"], _now()
                return self._send(200, note)
        self._send(405, {"message": "405 Method Not Allowed"})

    def _list(self, notes: list[dict], params: dict) -> None:
        order = params.get("order_by", "created_at")
        sort = params.get("sort", "desc")
        if order not in ("created_at", "updated_at") or sort not in ("asc", "desc"):
            return self._send(400, {"error": "order_by, sort does not have a valid value"})
        per_page = min(max(int(params.get("per_page", DEFAULT_PER_PAGE)), 1), MAX_PER_PAGE)
        page = max(int(params.get("page", 1)), 1)
        ordered = sorted(notes, key=lambda n: (n[order], n["id"]), reverse=sort == "desc")
        pages = max((len(ordered) + per_page - 1) // per_page, 1)
        chunk = ordered[(page - 1) * per_page: page * per_page]
        base = f"{self.gitlab.url}/api/v4{urlsplit(self.path).path}"

        def link(p: int) -> str:
            query = "&".join(f"{k}={quote(str(v))}" for k, v in {**params, "page": p, "per_page": per_page}.items())
            return f"{base}?{query}"

        links = [f'<{link(page + 1)}>; rel="next"'] if page < pages else []
        links += [f'<{link(page - 1)}>; rel="prev"'] if page > 1 else []
        links += [f'<{link(1)}>; rel="first"', f'<{link(pages)}>; rel="last"']
        self._send(200, chunk, {
            "X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(ordered)),
            "X-Total-Pages": str(pages), "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "", "Link": ", ".join(links)})

    # --- git over HTTP --------------------------------------------------------------------
    def _git(self, method: str, path: str, raw: bytes) -> None:
        repo_path, _, rest = path.lstrip("/").partition(".git/")
        project = self.gitlab.projects.get(repo_path)
        if project is None:
            return self._plain(404, "Not Found")
        query = urlsplit(self.path).query
        pushing = rest == "git-receive-pack" or "service=git-receive-pack" in query
        token = self._basic_token()
        if not project.public or pushing:
            if token is None:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="GitLab"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if pushing and "write_repository" not in token.scopes:
                return self._plain(403, "You are not allowed to push code to this project.")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": str(self.gitlab.root),
               "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": unquote(urlsplit(self.path).path),
               "QUERY_STRING": query, "REQUEST_METHOD": method,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(raw)),
               "REMOTE_USER": token.user if token else "anonymous", "REMOTE_ADDR": self.client_address[0],
               "GIT_HTTP_MAX_REQUEST_BUFFER": "100M"}
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        done = subprocess.run(["git", "http-backend"], input=raw, env=env, capture_output=True, timeout=120)
        head, found, body = done.stdout.partition(b"\r\n\r\n")
        if not found:
            head, _sep, body = done.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None

    def _basic_token(self) -> Token | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            _user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return None
        return self.gitlab.tokens.get(password)

    def _plain(self, code: int, text: str) -> None:
        raw = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def _body_problem(params: dict) -> dict | None:
    body = params.get("body")
    if body is None or body == "":
        return {"error": "body is missing"}
    if len(body) > NOTE_LIMIT:
        return {"message": "400 Bad request - Note {:note=>[\"is too long (maximum is 1000000 characters)\"]}"}
    return None
