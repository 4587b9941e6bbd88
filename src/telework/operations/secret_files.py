"""A file whose content is a secret: written without ever showing or diffing the value.

pyinfra's `files.put`/`files.template` print a diff with `--diff`, put template arguments into
automatic operation names, and upload with the default mode before they chmod. This operation
compares a sha256 digest (fact `FileState`) and says only that the content differs (no digest
either: a hash of a short secret can be brute-forced),
and writes through a temporary file that is 0600 (or the asked mode) before a byte lands in it.
"""

from __future__ import annotations

from hashlib import sha256
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation

from ..facts.files import FileState


def digest(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return sha256(data).hexdigest()


@operation()
def secret_file(path: str, content: str | bytes, mode: str = "600", user: str = "root", group: str = "root"):
    """Write the secret `content` to `path` with `mode`, `user` and `group`.

    + path: the destination file
    + content: the secret value (give the operation a `name=` that does not contain it)
    + mode: octal mode as a string; 600 unless a service user must read it (then 640 + group)
    + user, group: owner of the file

    No command when digest, mode and owner match. On a change, the value is uploaded to a
    temporary file created with the final mode and owner (`install`), then renamed over
    `path`: the file is never readable by others, never half-written.
    """
    data = content.encode() if isinstance(content, str) else content
    want = digest(data)
    state = host.get_fact(FileState, path=path)
    same_content = state is not None and state["sha256"] == want
    if same_content and state["mode"] == int(mode) and (state["user"], state["group"]) == (user, group):
        host.noop(f"secret file {path} is up to date")
        return
    if same_content:
        host.log(f"{path}: mode/owner {state['mode']} {state['user']}:{state['group']} -> {mode} {user}:{group}")
        yield StringCommand("chmod", mode, QuoteString(path), "&&", "chown", f"{user}:{group}", QuoteString(path))
        return
    host.log(f"Will {'modify' if state else 'create'} secret file {path} (content is secret, not shown)")
    tmp = f"{path}.telework-new"
    yield StringCommand("install", "-m", mode, "-o", user, "-g", group, "/dev/null", QuoteString(tmp))
    yield FileUploadCommand(BytesIO(data), tmp)
    yield StringCommand("mv", "-f", QuoteString(tmp), QuoteString(path))
