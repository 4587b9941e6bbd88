"""`telework pull serve DIR`: publish bundles and take the agents' reports, for the lab and
small sites (production: nginx, see README "Pull mode").

GET  /<host>/manifest.json | manifest.json.sig | <sha256>.tar   a bundle (pull build's output)
GET  /wheels/<sha256>.tar                                       the wheelhouse
PUT  /reports/<host>/<name>.json (or POST)                      an agent's report

Only these paths exist: names are checked against strict patterns before any file is touched,
reports are accepted only for hosts that have a bundle in DIR, must be JSON objects naming
that host, and are limited to MAX_REPORT bytes. Reports are written atomically to
DIR/reports/<host>/<name>.json and never overwrite one another.

No authentication: the bundles are signed and hold no secrets, and a report is a claim of the
endpoint, not proof. Run it where only endpoints reach it (the VPN) or put nginx with TLS in
front of it.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_REPORT = 256 * 1024
_HOST = r"[a-z0-9][a-z0-9._-]{0,62}"
_GET = re.compile(rf"/(?:({_HOST})/(manifest\.json|manifest\.json\.sig|[0-9a-f]{{64}}\.tar)|wheels/([0-9a-f]{{64}}\.tar))")
_PUT = re.compile(rf"/reports/({_HOST})/([0-9A-Za-z][0-9A-Za-z._-]{{0,100}}\.json)")


class PullHandler(BaseHTTPRequestHandler):
    server_version = "telework-pull"
    root: Path  # set by make_server
    quiet = False

    def _send(self, status: HTTPStatus, body: bytes = b"", content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: HTTPStatus, text: str) -> None:
        self._send(status, (text + "\n").encode())

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        match = _GET.fullmatch(self.path.split("?", 1)[0])
        if not match:
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        path = self.root / ("wheels/" + match.group(3) if match.group(3) else f"{match.group(1)}/{match.group(2)}")
        if path.is_symlink() or not path.is_file():
            return self._error(HTTPStatus.NOT_FOUND, "not found")
        size = path.stat().st_size
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json" if path.suffix == ".json" else "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                self.wfile.write(chunk)

    do_HEAD = do_GET

    def do_PUT(self) -> None:  # noqa: N802
        match = _PUT.fullmatch(self.path.split("?", 1)[0])
        if not match:
            return self._error(HTTPStatus.NOT_FOUND, "reports go to /reports/<host>/<name>.json")
        host, name = match.groups()
        if not (self.root / host / "manifest.json").is_file():
            return self._error(HTTPStatus.FORBIDDEN, f"no bundle for host {host} here")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        if length < 0 or length > MAX_REPORT:
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a report is at most {MAX_REPORT} bytes")
        body = self.rfile.read(length)
        try:
            report = json.loads(body)
        except ValueError:
            return self._error(HTTPStatus.BAD_REQUEST, "a report is JSON")
        if not isinstance(report, dict) or report.get("host") != host:
            return self._error(HTTPStatus.BAD_REQUEST, f"a report is a JSON object with host {host!r}")
        directory = self.root / "reports" / host
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / name
        if target.exists():
            return self._send(HTTPStatus.OK, b"already there\n")  # a resent report: idempotent
        tmp = directory / f".{name}.{threading.get_ident()}.tmp"
        tmp.write_bytes(body)
        os.replace(tmp, target)
        self._send(HTTPStatus.CREATED, b"stored\n")

    do_POST = do_PUT

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


def make_server(root: Path | str, host: str, port: int, quiet: bool = False) -> ThreadingHTTPServer:
    handler = type("Handler", (PullHandler,), {"root": Path(root).resolve(), "quiet": quiet})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    # a slow or stuck client must not hold a thread for ever
    handler.timeout = 60
    return server


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {text!r}: expected ADDRESS:PORT, e.g. 10.199.0.1:8089")
    return host.strip("[]") or "0.0.0.0", int(port)
