"""The one redaction layer: every text telework prints, logs or records passes through a `Redactor`.

A `Redactor` is built from the decrypted secret values of a run (`SecretStore.items()`), and
replaces each of them with a marker: `[redacted:<name>]` when it knows the secret's name,
`[redacted]` otherwise. Besides the exact value it also hides the forms a value takes in
other places:

* base32 values (TOTP seeds): lower case, without `=` padding, and in groups of four as
  authenticator apps show them;
* values with characters that JSON, URLs or the shell escape: their JSON (with and without
  `\\uXXXX` escapes), percent-encoded and shell-quoted (`shlex.quote`, as pyinfra quotes
  command arguments) forms;
* multi-line values (PEM keys): each line of 16 characters or more that is not a
  `-----BEGIN/END …-----` armour line, so a partial dump of a key is hidden too.

Values (and forms) shorter than `MIN_LENGTH` characters are ignored: hiding "1234" in every
text would make the output useless, and `SecretStore.set` refuses such short secrets.

All forms go into one compiled regular expression built as a trie (common prefixes shared),
so a text is scanned once, whatever the number of secrets, and the longest form wins. It is
compiled only once a text might hold a secret (one of its windows starts a form): the texts of
a plan almost never do.
`RedactingFilter` applies a redactor to log records; add it to every handler.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from collections.abc import Iterable, Mapping
from urllib.parse import quote

#: Values shorter than this are not redacted (and cannot be stored as secrets).
MIN_LENGTH = 6

#: The marker of a secret whose name is unknown.
MARKER = "[redacted]"

_BASE32 = re.compile(r"[A-Z2-7]{16,}=*")
_ARMOUR = re.compile(r"-----(BEGIN|END) [A-Z0-9 ]+-----")


def named_marker(name: str) -> str:
    return f"[redacted:{name}]"


def variants(value: str) -> set[str]:
    """Every form of `value` that the redactor hides (including `value` itself)."""
    forms = {value}
    if _BASE32.fullmatch(value):
        bare = value.rstrip("=")
        grouped = " ".join(bare[i : i + 4] for i in range(0, len(bare), 4))
        forms |= {bare, grouped}
        forms |= {form.lower() for form in list(forms)}
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.add(json.dumps(value)[1:-1])
    forms.add(quote(value, safe=""))
    forms.add(shlex.quote(value))
    if "\n" in value:
        for line in value.splitlines():
            line = line.strip()
            if len(line) >= 16 and not _ARMOUR.fullmatch(line):
                forms.add(line)
    return {form for form in forms if len(form) >= MIN_LENGTH}


def _trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of `words`, the longest at each position.

    Alternatives at one trie node start with different characters, so at most one of them
    can go on; the optional end of a shorter word comes after them, hence longest match.
    """
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = True

    def build(node: dict) -> str:
        # Runs of single-child nodes become one literal, so that recursion only happens
        # at branch points (long values such as PEM keys would exceed the recursion limit).
        prefix = []
        while len(node) == 1 and "" not in node:
            ((char, node),) = node.items()
            prefix.append(re.escape(char))
        ends_here = "" in node
        branches = [
            re.escape(char) + build(child) for char, child in sorted(node.items()) if char != ""
        ]
        if not branches:
            return "".join(prefix)
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends_here:
            body = ("(?:" + body + ")?") if len(branches) == 1 else body + "?"
        return "".join(prefix) + body

    return build(trie)


class Redactor:
    """Replaces secret values in texts.

    `secrets` is either a mapping name -> value (markers name the secret) or an iterable of
    values (markers are `[redacted]`). With no secret at all, `redact` returns its input.
    """

    def __init__(self, secrets: Mapping[str, str] | Iterable[str] = ()):
        pairs: Iterable[tuple[str | None, str]]
        if isinstance(secrets, Mapping):
            pairs = secrets.items()
        else:
            pairs = ((None, value) for value in secrets)
        self._marker_of: dict[str, str] = {}
        # Longest forms first so that, when two secrets share a form, the longer secret's
        # name is kept; the trie picks the longest match at each position anyway.
        for name, value in pairs:
            marker = MARKER if name is None else named_marker(name)
            for form in variants(value):
                self._marker_of.setdefault(form, marker)
        # The first MIN_LENGTH characters of every form: a text none of whose windows is one
        # of them holds no secret, and most texts are such. The trie pattern (0.2 s to compile
        # for 750 TOTP seeds) is built only when a text might hold one.
        self._starts = frozenset(form[:MIN_LENGTH] for form in self._marker_of)
        self._compiled: re.Pattern | None = None

    def __len__(self) -> int:
        """How many forms are hidden."""
        return len(self._marker_of)

    def __repr__(self) -> str:
        return f"Redactor({len(self._marker_of)} forms)"

    def might_hold_a_secret(self, text: str) -> bool:
        starts = self._starts
        return any(text[i:i + MIN_LENGTH] in starts for i in range(len(text) - MIN_LENGTH + 1))

    @property
    def _pattern(self) -> re.Pattern:
        if self._compiled is None:
            self._compiled = re.compile(_trie_pattern(sorted(self._marker_of, key=len, reverse=True)))
        return self._compiled

    def redact(self, text: str) -> str:
        if not self._marker_of or not text or not self.might_hold_a_secret(text):
            return text
        return self._pattern.sub(lambda match: self._marker_of[match.group(0)], text)


class RedactingFilter(logging.Filter):
    """Redacts the message, arguments, exception text and stack of every log record.

    Add it to handlers (`handler.addFilter(RedactingFilter(redactor))`): a filter on a logger
    does not see records propagated from its children. The redactor can be replaced later
    (`filter.redactor = …`) once the secrets of a run are decrypted.
    """

    def __init__(self, redactor: Redactor, name: str = ""):
        super().__init__(name)
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
