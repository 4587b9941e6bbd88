"""The redaction layer: every form of every secret disappears from text and log records."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from telework.secrets.redact import MARKER, MIN_LENGTH, RedactingFilter, Redactor, variants

TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32, as authenticator apps take it
SIP = "Xk7mQ9vR2tLp8wZc4nBd6fHj"


def test_exact_values_are_replaced_by_named_markers():
    redactor = Redactor({"sip/2345": SIP, "totp/jmueller": TOTP})
    text = f"register 2345 with {SIP}; seed {TOTP}."
    assert (
        redactor.redact(text)
        == "register 2345 with [redacted:sip/2345]; seed [redacted:totp/jmueller]."
    )


def test_unnamed_values_get_the_plain_marker():
    assert Redactor([SIP]).redact(f"pw={SIP}") == f"pw={MARKER}"


def test_totp_seed_variants_lower_case_unpadded_and_grouped():
    """Authenticator URIs and apps show the seed lower-case, without padding, in groups of four."""
    plain = base64.b32encode(b"0123456789").decode()  # 16 chars, no padding needed
    seed = base64.b32encode(b"0123456789abc").decode()  # ends with '='
    assert seed.endswith("=")
    redactor = Redactor({"totp/a": seed, "totp/b": TOTP, "totp/c": plain})
    bare = seed.rstrip("=")
    grouped = " ".join(TOTP[i : i + 4] for i in range(0, len(TOTP), 4))
    text = (
        f"otpauth://totp/Stadt:jm?secret={bare}&issuer=Stadt | {seed.lower()} | {TOTP.lower()} | "
        f"{grouped} | {grouped.lower()} | {plain}"
    )
    out = redactor.redact(text)
    for form in (bare, seed.lower(), TOTP.lower(), grouped, grouped.lower(), plain):
        assert form not in out
    assert out.count("[redacted:totp/") == 6


def test_json_escaped_and_partial_pem_forms():
    pem = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
        "q3Bz9vXw0Yk1rT5uVbN2mLpQ8sZxC4dFeGhJkLmNoPqRsTuVwXyZ\n-----END PRIVATE KEY-----"
    )
    quoted = 'pa"ss\\word-with-quote'
    redactor = Redactor({"openvpn/ca-key": pem, "x/quoted": quoted})
    dumped = json.dumps({"key": pem, "pw": quoted})
    assert "MIIE" not in redactor.redact(dumped) and "word-with" not in redactor.redact(dumped)
    # A failing command that printed only the second line of the key:
    assert (
        redactor.redact("error near q3Bz9vXw0Yk1rT5uVbN2mLpQ8sZxC4dFeGhJkLmNoPqRsTuVwXyZ")
        == "error near [redacted:openvpn/ca-key]"
    )
    # Armour lines are not secret and stay readable.
    assert "-----BEGIN PRIVATE KEY-----" not in variants(pem)


def test_url_encoded_and_shell_quoted_forms():
    """pyinfra shell-quotes command arguments; provisioning URLs percent-encode."""
    value = "it's a pass/word&more"
    redactor = Redactor({"x/odd": value})
    assert (
        redactor.redact("GET /prov?pw=it%27s%20a%20pass%2Fword%26more")
        == "GET /prov?pw=[redacted:x/odd]"
    )
    assert (
        redactor.redact("sh -c echo 'it'\"'\"'s a pass/word&more'") == "sh -c echo [redacted:x/odd]"
    )


def test_longest_value_wins_when_one_secret_starts_another():
    redactor = Redactor({"a": "hunter22", "b": "hunter2233"})
    assert (
        redactor.redact("hunter2233 hunter22 hunter223")
        == "[redacted:b] [redacted:a] [redacted:a]3"
    )


def test_short_values_are_ignored_and_no_secrets_means_identity():
    assert Redactor(["12345"]).redact("pin 12345") == "pin 12345"
    assert len(Redactor(["x" * (MIN_LENGTH - 1)])) == 0
    assert Redactor([]).redact("nothing to hide") == "nothing to hide"


def test_special_regex_characters_are_literal():
    value = "a.b*c+d?(e)[f]{g}|h^$\\"
    redactor = Redactor([value])
    assert redactor.redact(f"x {value} y") == f"x {MARKER} y"
    assert redactor.redact("aXb*c+d?(e)[f]{g}|h^$\\") == "aXb*c+d?(e)[f]{g}|h^$\\"


def test_repr_does_not_show_values():
    assert SIP not in repr(Redactor([SIP]))


def test_many_secrets_are_fast():
    """One trie regex: 10,000 secrets (and their variants) over 1 MB of text within seconds."""
    values = [secrets.token_hex(16) for _ in range(8000)]
    values += [base64.b32encode(secrets.token_bytes(20)).decode() for _ in range(2000)]
    start = time.perf_counter()
    redactor = Redactor(values)
    text = ("plan: host igel-0042 unchanged, files.template /etc/x.conf; " * 16000) + " ".join(
        values[::1000]
    )
    out = redactor.redact(text)
    elapsed = time.perf_counter() - start
    assert out.count(MARKER) == 10
    assert elapsed < 15, f"redaction took {elapsed:.1f}s"


def test_logging_filter_redacts_message_arguments_and_exception():
    redactor = Redactor({"sip/2345": SIP})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter(redactor))
    logger = logging.getLogger("telework.test_redact")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("password %s rejected by %s", SIP, "kamailio")
        try:
            raise RuntimeError(f"command failed: echo {SIP}")
        except RuntimeError:
            logger.exception("deploy failed")
        # A child logger's record reaches the handler and is redacted there too.
        logging.getLogger("telework.test_redact.child").error(f"child {SIP}")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert SIP not in output
    assert "password [redacted:sip/2345] rejected by kamailio" in output
    assert "RuntimeError: command failed: echo [redacted:sip/2345]" in output
    assert "child [redacted:sip/2345]" in output


_SECRET = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-_", min_size=MIN_LENGTH, max_size=24)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(_SECRET, min_size=1, max_size=8),
    picks=st.lists(
        st.tuples(st.integers(min_value=0, max_value=7), st.text(max_size=12)), max_size=10
    ),
)
def test_no_secret_survives_redaction(values, picks):
    """Whatever the overlaps between secrets and the text around them, none is left whole."""
    text = "".join(filler + values[index % len(values)] for index, filler in picks)
    out = Redactor({f"s/{i}": v for i, v in enumerate(values)}).redact(text)
    for value in values:
        assert value not in out
