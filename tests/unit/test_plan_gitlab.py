"""The merge-request comment: one comment, created once and then updated; the token goes in
a header and never into a message."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from telework.plan.gitlab import MARKER, CommentError, post_plan_comment

TOKEN = "glpat-SECRETTOKENVALUE123"


@pytest.fixture
def gitlab():
    notes: list[dict] = [{"id": 1, "body": "LGTM"}]
    seen: list[tuple[str, str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, code, data):
            raw = json.dumps(data).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _body(self):
            return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

        def do_GET(self):
            seen.append(("GET", self.path, dict(self.headers)))
            if self.headers.get("PRIVATE-TOKEN") != TOKEN:
                return self._reply(401, {"message": "401 Unauthorized"})
            self._reply(200, list(reversed(notes)))

        def do_POST(self):
            seen.append(("POST", self.path, dict(self.headers)))
            notes.append({"id": len(notes) + 1, "body": self._body()["body"]})
            self._reply(201, notes[-1])

        def do_PUT(self):
            seen.append(("PUT", self.path, dict(self.headers)))
            note_id = int(self.path.rsplit("/", 1)[1])
            next(n for n in notes if n["id"] == note_id)["body"] = self._body()["body"]
            self._reply(200, {})

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"CI_API_V4_URL": f"http://127.0.0.1:{server.server_port}/api/v4", "CI_PROJECT_ID": "it/inventory",
           "CI_MERGE_REQUEST_IID": "17", "TELEWORK_GITLAB_TOKEN": TOKEN}
    yield env, notes, seen
    server.shutdown()


def test_created_then_updated(gitlab):
    env, notes, seen = gitlab
    assert post_plan_comment("### plan 1", env) == "created"
    assert post_plan_comment("### plan 2", env) == "updated"
    assert [n["body"] for n in notes] == ["LGTM", f"{MARKER}\n### plan 2"]
    assert seen[1][1] == "/api/v4/projects/it%2Finventory/merge_requests/17/notes"
    assert seen[-1][0] == "PUT" and seen[-1][1].endswith("/notes/2")


def test_errors_never_show_the_token(gitlab):
    env, _, _ = gitlab
    with pytest.raises(CommentError) as info:
        post_plan_comment("x", {**env, "TELEWORK_GITLAB_TOKEN": TOKEN + "wrong"})
    assert "401" in str(info.value) and TOKEN not in str(info.value)


def test_outside_a_merge_request():
    with pytest.raises(CommentError, match="not a merge-request pipeline"):
        post_plan_comment("x", {"CI_API_V4_URL": "http://x"})
    with pytest.raises(CommentError, match="no token"):
        post_plan_comment("x", {"CI_API_V4_URL": "http://x", "CI_PROJECT_ID": "1", "CI_MERGE_REQUEST_IID": "2"})
