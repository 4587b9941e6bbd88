"""Zero-touch provisioning of desk phones at home: per-device files and credentials.

Phones at home get no DHCP option 66, so each is given (on its box, or typed in once) the URL
`https://<domain>:<port>/p/<mac>/` and its own credentials: user = its MAC (12 lower-case hex
digits), password = the secret `sip/provisioning/<mac>`. nginx answers without credentials 401,
with another phone's 403, with its own the files of that MAC only:

* Yealink: the common file `y000000000000.cfg` (no secret) and `<mac>.cfg` (the account);
* Snom: `<mac>.xml` (settings with `perm="R"`: the person cannot change them on the phone).

The per-MAC files hold the clear SIP password: they are written as secret files (0640
root:www-data, never diffed, never logged). Gigaset phones are not provisioned yet.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from hashlib import sha1, sha256

from telework.inventory.model import DeskPhone
from telework.roles.sip.server import SipView, Subscriber

VENDORS = ("yealink", "snom")
#: Yealink's common file for every model (firmware 81 and later read it before <mac>.cfg)
YEALINK_COMMON = "y000000000000.cfg"


def mac12(mac: str) -> str:
    """00:15:65:41:BC:48 -> 00156541bc48, as phones name their files and URLs."""
    return mac.replace(":", "").replace("-", "").lower()


def device_secret(mac: str) -> str:
    """The secret (kind password) a phone logs in to the provisioning server with."""
    return f"sip/provisioning/{mac12(mac)}"


def vendor(phone: DeskPhone) -> str | None:
    name = phone.model.split()[0].lower() if phone.model.strip() else ""
    return name if name in VENDORS else None


@dataclass(frozen=True)
class Provisioned:
    """One desk phone to provision: the device, its owner's account and its files' names."""

    phone: DeskPhone
    subscriber: Subscriber
    vendor: str
    mac: str

    @property
    def file_name(self) -> str:
        return f"{self.mac}.cfg" if self.vendor == "yealink" else f"{self.mac}.xml"


def provisioned_phones(view: SipView) -> list[Provisioned]:
    """The server's subscribers' desk phones of a vendor telework provisions, by MAC."""
    out = []
    for phone in view.desk_phones:
        sub = view.subscriber(phone.owner)
        kind = vendor(phone)
        if sub is not None and kind is not None:
            out.append(Provisioned(phone, sub, kind, mac12(phone.mac)))
    return out


def htpasswd_line(user: str, password: str) -> str:
    """nginx `auth_basic_user_file` line with a salted SHA-1 ({SSHA}). The salt comes from the
    user and password, so the same secret renders the same file (a second apply changes nothing)."""
    salt = sha256(f"telework-provisioning:{user}:{password}".encode()).digest()[:8]
    digest = sha1(password.encode() + salt).digest()  # noqa: S324 (nginx's {SSHA} scheme)
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}"


def parse_yealink(text: str) -> dict[str, str]:
    """`key = value` lines of a Yealink .cfg file (comments and the version line skipped)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out
