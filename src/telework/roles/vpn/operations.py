"""The pam_oath users file on the auth server: seeds managed by telework, replay state kept.

pam_oath rewrites its users file after every successful login, appending the counter, the last
code and its time to the person's line: that is the replay protection (a code is refused once
used, on every concentrator, because all of them ask this one server). A plain `secret_file`
would see a changed file after every login and overwrite the state. Here the fact compares only
type, user, PIN and seed (`OathUsers`), and a change is merged on the host by
telework-oath-merge under pam_oath's own lock, keeping the state of every unchanged seed.
"""

from __future__ import annotations

import base64
from io import BytesIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation

from telework.engine.declare import sensitive
from telework.engine.facts.batch import fact
from telework.roles.vpn.facts import OathUsers, seed_digest

#: pam_oath token type: TOTP (time based HOTP), 30-second steps.
TOKEN_TYPE = "HOTP/T30"
#: No PIN: the first factor is the certificate, checked by OpenVPN before RADIUS is asked.
NO_PIN = "-"


def seed_hex(base32_seed: str) -> str:
    """pam_oath wants the seed in hex; authenticator apps and `telework` keep it in base32."""
    text = base32_seed.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8)).hex()


def users_file(seeds: dict[str, str], digits: int) -> str:
    """The users file text for {username: base32 seed}, one line a person, sorted."""
    token = f"{TOKEN_TYPE}/{digits}"
    return "".join(f"{token}\t{user}\t{NO_PIN}\t{seed_hex(seed)}\n" for user, seed in sorted(seeds.items()))


@sensitive
@operation()
def oath_users(path: str, seeds: dict[str, str], merge_helper: str, digits: int = 6, owner: str = "freerad"):
    """Make the pam_oath users file at `path` hold exactly the people of `seeds`.

    + path: the users file (its directory must be writable by `owner` only)
    + seeds: username -> base32 TOTP seed (secret: name the operation without them)
    + merge_helper: path of telework-oath-merge on the host
    + digits: code length

    No command when every person's seed matches; else the new list is uploaded to a 0600 file
    and merged: new people added, removed people dropped (their codes stop working at once),
    changed seeds replaced (their state reset), everyone else's replay state kept.
    """
    token = f"{TOKEN_TYPE}/{digits}"
    wanted = {user: seed_digest(token, NO_PIN, seed_hex(seed)) for user, seed in seeds.items()}
    current = fact(OathUsers, path=path)
    if current == wanted:
        host.noop(f"{path}: {len(wanted)} people with their seeds")
        return
    have = current or {}
    added = sorted(set(wanted) - set(have))
    removed = sorted(set(have) - set(wanted))
    changed = sorted(u for u in wanted if u in have and have[u] != wanted[u])
    host.log(f"{path}: {len(added)} added, {len(removed)} removed, {len(changed)} new seeds"
             + "".join(f"; {label} {', '.join(names[:10])}" for label, names in
                       (("added", added), ("removed", removed), ("new seed", changed)) if names))
    staged = f"{path}.telework-new"
    yield StringCommand("install", "-m", "600", "-o", "root", "-g", "root", "/dev/null", QuoteString(staged))
    yield FileUploadCommand(BytesIO(users_file(seeds, digits).encode()), staged)
    yield StringCommand("python3", QuoteString(merge_helper), QuoteString(path), QuoteString(staged), owner)
