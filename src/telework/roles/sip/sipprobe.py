"""A minimal SIP-over-TLS client for lab checks that phones cannot make: one REGISTER with a
given password (to see the 401 of a wrong one), and a bounded REGISTER flood from a household.

SIPp, the usual tool, is built without TLS in Debian; baresip retries a failed login by itself
(about six times in six seconds), which would blur "one failed login, one log line". Run inside
a home's network namespace:

    ip netns exec NS python -m telework.roles.sip.sipprobe register SERVER PORT USER DOMAIN PASSWORD
    ip netns exec NS python -m telework.roles.sip.sipprobe flood SERVER PORT DOMAIN COUNT RATE

Each prints one JSON line: the status codes it got back.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import ssl
import sys
import time
from hashlib import md5

#: the probe's own contact port (never bound: replies come back over the TLS connection)
CONTACT_PORT = 5071


def _connect(server: str, port: int) -> ssl.SSLSocket:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the probe tests SIP, not certificates (tls_handshake does)
    return ctx.wrap_socket(socket.create_connection((server, port), 5))


def register_message(user: str, domain: str, local: str, call_id: str, cseq: int, authorization: str = "") -> bytes:
    branch = "z9hG4bK" + secrets.token_hex(8)
    lines = [
        f"REGISTER sip:{domain} SIP/2.0",
        f"Via: SIP/2.0/TLS {local}:{CONTACT_PORT};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{domain}>;tag={call_id[:8]}",
        f"To: <sip:{user}@{domain}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: <sip:{user}@{local}:{CONTACT_PORT};transport=tls>",
        "Expires: 60",
        "User-Agent: telework-sipprobe",
        *([authorization] if authorization else []),
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _responses(sock: ssl.SSLSocket, wait: float) -> list[str]:
    """Every response (its text) that arrives within `wait` seconds."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ssl.SSLWantReadError, socket.timeout):
            continue
        if not chunk:
            break
        data += chunk
    return [m.decode(errors="replace") for m in re.split(rb"(?=SIP/2\.0 \d{3} )", data) if m.startswith(b"SIP/2.0")]


def _status(response: str) -> int:
    return int(response.split()[1])


def register(server: str, port: int, user: str, domain: str, password: str) -> dict:
    """REGISTER, answer the challenge with `password`: {"codes": [401, 200 or 401]}."""
    sock = _connect(server, port)
    local = sock.getsockname()[0]
    call_id = secrets.token_hex(12)
    sock.sendall(register_message(user, domain, local, call_id, 1))
    first = _responses(sock, 3)
    codes = [_status(r) for r in first]
    challenge = next((r for r in first if _status(r) == 401), None)
    if challenge:
        realm = re.search(r'realm="([^"]+)"', challenge).group(1)
        nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
        uri = f"sip:{domain}"
        ha1 = md5(f"{user}:{realm}:{password}".encode()).hexdigest()  # noqa: S324 (SIP digest)
        ha2 = md5(f"REGISTER:{uri}".encode()).hexdigest()  # noqa: S324
        response = md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()  # noqa: S324
        auth = (f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                f'response="{response}", algorithm=MD5')
        sock.sendall(register_message(user, domain, local, call_id, 2, auth))
        codes += [_status(r) for r in _responses(sock, 3)]
    sock.close()
    return {"codes": codes}


def flood(server: str, port: int, domain: str, count: int, rate: float) -> dict:
    """`count` unauthenticated REGISTERs at `rate` per second over one TLS connection, for
    random users: {"sent": count, "answered": n, "codes": {...}}."""
    sock = _connect(server, port)
    local = sock.getsockname()[0]
    sock.setblocking(True)
    for i in range(count):
        sock.sendall(register_message(f"9{i:04d}", domain, local, secrets.token_hex(12), 1))
        time.sleep(1 / rate)
    answers = _responses(sock, 3)
    sock.close()
    codes: dict[str, int] = {}
    for a in answers:
        codes[str(_status(a))] = codes.get(str(_status(a)), 0) + 1
    return {"sent": count, "answered": len(answers), "codes": codes}


def main(argv: list[str]) -> int:
    if argv[:1] == ["register"] and len(argv) == 6:
        print(json.dumps(register(argv[1], int(argv[2]), argv[3], argv[4], argv[5])))
        return 0
    if argv[:1] == ["flood"] and len(argv) == 6:
        print(json.dumps(flood(argv[1], int(argv[2]), argv[3], int(argv[4]), float(argv[5]))))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
