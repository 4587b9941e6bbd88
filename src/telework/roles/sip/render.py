"""The subscriber table Kamailio loads: HA1 digests, never a clear password.

Kamailio's htable module loads it from a db_text directory and `kamcmd htable.reload` swaps it
in place, so a subscriber change needs no restart and drops no registration or call. Phones
answer MD5 digests only, so HA1 = md5(user:realm:password) is password-equivalent for its realm
(kamailio/kamailio#4161): the file is written as a secret (0640 root:kamailio, never diffed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from hashlib import md5

from telework.roles.sip.server import Subscriber

#: db_text header of an htable table (htable's schema: key name, key type, value type, value, expiry)
HTABLE_HEADER = "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int)"
#: db_text `version` table: htable checks nothing, db_text wants the table listed
VERSION_HEADER = "table_name(string) table_version(int)"


def ha1(user: str, realm: str, password: str) -> str:
    """RFC 2617 HA1 for MD5 digests: what the server stores instead of the password."""
    return md5(f"{user}:{realm}:{password}".encode()).hexdigest()  # noqa: S324 (SIP digest, not our choice)


def htable_rows(pairs: Iterable[tuple[str, str]]) -> str:
    """A db_text htable table: one `id:key:0:0:value:0` row per (key, value), in key order.

    Keys and values here are digits, `+` and hex: nothing db_text would need to escape."""
    lines = [HTABLE_HEADER]
    for i, (key, value) in enumerate(sorted(pairs), start=1):
        if ":" in key or ":" in value or "\n" in key + value:
            raise ValueError(f"htable row {key!r}: ':' and newlines cannot be stored in db_text")
        lines.append(f"{i}:{key}:0:0:{value}:0")
    return "\n".join(lines) + "\n"


def subscriber_table(subscribers: Iterable[Subscriber], realm: str, passwords: Mapping[str, str]) -> str:
    """extension -> HA1, for every subscriber with a password (`passwords`: username -> password)."""
    return htable_rows((s.extension, ha1(s.extension, realm, passwords[s.username]))
                       for s in subscribers if s.username in passwords)


def did_table(subscribers: Iterable[Subscriber]) -> str:
    """DID (E.164) -> extension: calls from the carrier to a city number."""
    return htable_rows((s.did, s.extension) for s in subscribers)


def caller_id_table(subscribers: Iterable[Subscriber]) -> str:
    """extension -> DID: the identity a call leaves through the trunk with."""
    return htable_rows((s.extension, s.did) for s in subscribers)


def barring_table(subscribers: Iterable[Subscriber], barred: Mapping[str, Iterable[str]]) -> str:
    """extension -> its department's barred number classes ("premium,international"); people of
    departments without barring have no row."""
    rows = []
    for s in subscribers:
        classes = sorted(set(barred.get(s.department, ())))
        if classes:
            rows.append((s.extension, ",".join(classes)))
    return htable_rows(rows)


def version_table(tables: Iterable[str]) -> str:
    return "\n".join([VERSION_HEADER, *(f"{t}:2" for t in sorted(tables))]) + "\n"
