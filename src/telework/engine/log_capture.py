"""pyinfra's log records, kept instead of printed: diff lines per (host, operation) while a plan
generates commands, warnings and errors per host always.

pyinfra writes its diffs and "Will modify" messages as log lines (research: no structured hook);
the plan attributes each to the operation pyinfra is generating at that moment. Nothing pyinfra
logs reaches the terminal: every text telework shows passes its redactor first.
"""

from __future__ import annotations

import logging
import re

from telework.engine.adapter import current_host, current_op_hash

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PREFIX = re.compile(r"^\[([^\]]+)\]\s*")


class PyinfraLog(logging.Handler):
    """Takes every record of the `pyinfra` logger while installed (`take()` .. `give_back()`)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.capturing = False
        self.op_lines: dict[tuple[str, str], list[str]] = {}
        self.host_errors: dict[str, list[str]] = {}
        self._saved: tuple | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = _ANSI.sub("", record.getMessage())
        except Exception:  # a broken log call must not break a plan
            return
        host = current_host()
        name = getattr(host, "name", None)
        prefixed = _PREFIX.match(message)
        if prefixed:
            name = name or prefixed.group(1)
            message = message[prefixed.end():]
        if self.capturing and host is not None and record.levelno <= logging.INFO:
            op_hash = current_op_hash(host)
            if op_hash:
                self.op_lines.setdefault((host.name, op_hash), []).append(message)
                return
        if record.levelno >= logging.WARNING and name:
            self.host_errors.setdefault(name, []).append(message.strip())

    def errors_of(self, name: str) -> list[str]:
        return [line for line in self.host_errors.get(name, []) if line]

    def take(self) -> None:
        """pyinfra's logger goes only here; paramiko's (its transport thread logs tracebacks of
        failed handshakes) goes nowhere: pyinfra reports the same failure as the host's
        connect error."""
        saved = []
        for logger_name, handler in (("pyinfra", self), ("paramiko", logging.NullHandler())):
            logger = logging.getLogger(logger_name)
            saved.append((logger, logger.handlers[:], logger.level, logger.propagate))
            logger.handlers = [handler]
            logger.propagate = False
        logging.getLogger("pyinfra").setLevel(logging.INFO)
        self._saved = tuple(saved)

    def give_back(self) -> None:
        for logger, handlers, level, propagate in self._saved or ():
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
        self._saved = None
