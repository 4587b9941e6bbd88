"""A file whose content is a secret: written without ever showing or diffing the value.

pyinfra's `files.put`/`files.template` print a diff with `--diff`, put template arguments into
automatic operation names, and upload with the default mode before they chmod. This operation
compares a sha256 digest (the role's remembered `PathStates` listing) and says only that the
content differs (no digest either: a hash of a short secret can be brute-forced), and writes
through a temporary file that is 0600 (or the asked mode) before a byte lands in it
(`files.converge_file`, which `files.put` uses too, with a diff). It is declared `sensitive`
(telework.engine.declare), so a plan never shows its content or commands.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation

from telework.engine.declare import sensitive
from telework.engine.operations.files import converge_file


@sensitive
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
    yield from converge_file(
        path, data, mode, user, group, "secret file",
        lambda existed: host.log(f"Will {'modify' if existed else 'create'} secret file {path} "
                                 "(content is secret, not shown)"))
