"""The SIP role's own operation: a flat directory of secret files (phone provisioning files).

A phone's provisioning file holds its clear SIP password, and a city has hundreds of phones:
a `secret_file` per phone would cost an operation each, `synced_directory` shows names and
fingerprints in plans. `secret_directory` compares every file against the role's one listing
(digests stay on the controller, as `secret_file` does it), says only how many files change,
and writes them as one tar whose members are created with their final mode before a byte
lands in them. It is `sensitive`: a plan never shows its content or commands.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation

from telework.engine.declare import sensitive
from telework.engine.facts.files import directory_digests, path_state
from telework.engine.operations.digests import digest
from telework.engine.operations.trees import ArchiveUpload


@sensitive
@operation()
def secret_directory(path: str, files: dict[str, str], mode: str = "640", group: str = "root",
                     dir_mode: str = "750"):
    """Make `path` (root:`group`, `dir_mode`) hold exactly `files` ({name: secret text}), each
    `mode` root:`group`; files not in `files` are removed.

    No command when every digest matches and nothing is extra; the log names counts only."""
    state = path_state(path)
    current = directory_digests(path)
    wanted = {name: digest(text) for name, text in files.items()}
    have = current or {}
    changed = sorted(n for n, d in wanted.items() if have.get(n) != d)
    extra = sorted(n for n in have if n not in wanted)
    owner_ok = state is not None and state["mode"] == int(dir_mode) and state["group"] == group
    if current is not None and not changed and not extra and owner_ok:
        host.noop(f"secret directory {path} holds its {len(files)} files")
        return
    host.log(f"{path}: {len(changed)} secret file(s) to write, {len(extra)} to remove (contents not shown)")
    p = QuoteString(path)
    yield StringCommand("install", "-d", "-m", dir_mode, "-o", "root", "-g", group, p)
    if changed:
        archive = f"{path.rstrip('/')}.telework-upload.tar"
        # the tar lands in a directory only root may enter; members are extracted 0600 first
        yield StringCommand("install", "-m", "600", "/dev/null", QuoteString(archive))
        yield ArchiveUpload({n: files[n] for n in changed}, 0o600, archive)
        yield StringCommand("tar", "--no-same-owner", "--no-overwrite-dir", "-xf", QuoteString(archive),
                            "-C", p, "&&", "rm", "-f", QuoteString(archive))
        yield StringCommand("cd", p, "&&", "chown", f"root:{group}", *[QuoteString(n) for n in changed],
                            "&&", "chmod", mode, *[QuoteString(n) for n in changed])
    if extra:
        yield StringCommand("cd", p, "&&", "rm", "-f", "--", *[QuoteString(n) for n in extra])
