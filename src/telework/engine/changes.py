"""One operation's would-be commands and log lines turned into a plan's change record.

The record is what ops review: the operation's name, what kind of change it is, the commands,
a unified diff of a file, pyinfra's "Will modify ..." messages - every text redacted, and for a
sensitive operation none of the content at all. Its fingerprint is what `apply --plan`
compares: it depends only on what would land on the host (the bytes of each upload, or the
identity an upload declares, and the commands with `sed -i` backup stamps normalised), never
on the time, a temporary file's name or the checkout's path.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from telework.plan.records import SENSITIVE_NOTE, Change
from telework.secrets.redact import Redactor

#: operation names with this prefix never show content
SENSITIVE_PREFIX = "secret:"

#: `files.line`/`files.replace` back up with `sed -i.<timestamp>`: not part of what changes
_SED_STAMP = re.compile(r"(-i\.|\.)(\d{9,})\b")
_WILL = re.compile(r"Will (?:modify|create|replace lines in|remove lines in) (?:secret file )?(/\S+)", re.I)


@dataclass(frozen=True)
class Fingerprinter:
    """sha256 of what would be done; HMAC-keyed by the inventory's secrets when there are any,
    so that a fingerprint in a plan artifact cannot be brute-forced into a secret."""

    key: bytes | None = None

    def __call__(self, parts: list[str]) -> str:
        data = "\n".join(parts).encode("utf-8")
        if self.key:
            return "hmac-sha256:" + hmac.new(self.key, data, hashlib.sha256).hexdigest()
        return "sha256:" + hashlib.sha256(data).hexdigest()


def change_record(op_name: str, commands: list, log_lines: list[str], *, declared_sensitive: bool,
                  conditional: bool, redactor: Redactor, fingerprint: Callable[[list[str]], str]) -> Change:
    """The change record of one operation on one host (see the module docstring)."""
    from pyinfra.api.command import FileUploadCommand, FunctionCommand

    redact = redactor.redact
    sensitive = declared_sensitive or op_name.startswith(SENSITIVE_PREFIX)
    shown: list[str] = []
    identity: list[str] = [op_name]
    kind, path = "other", None
    for command in commands:
        if isinstance(command, FileUploadCommand):
            content = upload_bytes(command.src)
            text = content.decode("utf-8", "replace")
            if redact(text) != text:
                sensitive = True
            declared = getattr(command, "telework_identity", None)
            identity.append(f"upload {command.dest} "
                            + (declared or hashlib.sha256(content).hexdigest()))
            shown.append(f"upload {command.dest}")
            kind, path = "file", command.dest
        elif isinstance(command, FunctionCommand):
            func = getattr(command.function, "__name__", "function")
            identity.append(f"python {func}")
            shown.append(f"python: {func}()")
        else:
            text = str(command)
            identity.append(_SED_STAMP.sub(r"\1<ts>", text))
            shown.append(redact(text))
            if kind in ("other", "command"):
                kind = kind_of(text)
    messages, diff = split_log(log_lines)
    for message in messages:
        found = _WILL.match(message)
        if found:  # the real destination (an upload may go to a staging file first)
            path, kind = found.group(1), "file"
    if sensitive:
        shown = [f"{SENSITIVE_NOTE}{': ' + path if path else ''}"]
        diff = []
        messages = [m for m in messages if m.startswith(("Will ", "mode ", "owner ", "group "))]
    return Change(
        op=redact(op_name), kind=kind, fingerprint=fingerprint(identity),
        commands=shown, diff=[redact(line) for line in diff],
        messages=[redact(m) for m in messages], path=path, sensitive=sensitive,
        conditional=conditional,
    )


def upload_bytes(src) -> bytes:
    """The bytes an upload would write (a StringIO/BytesIO, an open file or a local path)."""
    if hasattr(src, "getvalue"):
        value = src.getvalue()
    elif hasattr(src, "read"):
        position = src.tell() if hasattr(src, "tell") else None
        value = src.read()
        if position is not None:
            src.seek(position)
    else:
        value = Path(src).read_bytes()
    return value.encode("utf-8") if isinstance(value, str) else value


def kind_of(command: str) -> str:
    if re.search(r"\b(apt-get|apt|dpkg)\b", command):
        return "package"
    if re.search(r"\b(systemctl|service)\b", command):
        return "service"
    return "command"


def split_log(lines: list[str]) -> tuple[list[str], list[str]]:
    """pyinfra's DIFF log lines -> (messages, unified diff lines).

    pyinfra writes `  @@ -a,b +c,d @@`, `  - old`, `  + new` and `    context` (two spaces,
    then difflib-style prefixes); unified diff wants `-old`, `+new`, ` context`.
    """
    messages: list[str] = []
    diff: list[str] = []
    for raw in lines:
        if not raw.strip():
            continue
        if raw.startswith("  "):
            body = raw[2:]
            if body.startswith("@@"):
                diff.append(body)
            elif body.startswith(("- ", "+ ")) or body in ("-", "+"):
                diff.append(body[0] + body[2:])
            elif body.startswith("  "):
                diff.append(" " + body[2:])
            else:
                diff.append(" " + body)
        elif raw.startswith("noop: "):
            continue
        else:
            messages.append(raw.strip())
    return messages, diff
