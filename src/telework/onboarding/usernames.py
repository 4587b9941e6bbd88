"""Usernames the way an organisation makes them: a pattern, German transliteration, clash rules.

`{given:1}{surname}` gives jmueller for Jürgen Müller and oesahin for Özlem Şahin: letters
are counted on the name as written (Ö is one letter) and then transliterated the German way
(ä -> ae, ö -> oe, ü -> ue, ß -> ss); every other diacritic is dropped (é -> e, ł -> l,
ş -> s), and what is not a letter or digit goes (Schulze-Wöhrmann -> schulzewoehrmann).

A clash (the name is held by a current person, was held by a past one, or went to an
earlier joiner of the same import) is solved by the organisation's rule:
`digits` (jmueller2, jmueller3, ...) or `next_letter` (jmueller -> jumueller -> juemueller,
then digits once the given name is used up). A username is never given twice: the caller's
`holder` says who has or had each name, and every decision is returned as a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: German transliteration first; letters that carry no combining mark in Unicode (ł, ø, ı,
#: ...) are folded by hand, every other accent is dropped through NFKD.
TRANSLITERATION = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss",
    "æ": "ae", "œ": "oe", "ø": "o",
    "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t", "ŀ": "l", "ĸ": "k",
}
TOKEN = re.compile(r"\{(given|surname)(?::([1-9][0-9]?))?\}")
LITERAL = re.compile(r"[a-z0-9._-]*")
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{0,31}$")
CLASH_RULES = ("digits", "next_letter")


class UsernameError(ValueError):
    """A pattern that cannot make usernames, or a name no username can be made of."""


@dataclass(frozen=True)
class Rule:
    pattern: str = "{given:1}{surname}"
    clash: str = "digits"
    first_number: int = 2
    max_length: int = 20


def transliterate(text: str) -> str:
    """Lower-case ASCII letters and digits of `text`, the German way (see the module doc)."""
    out = []
    for char in unicodedata.normalize("NFC", text).lower():
        if char in TRANSLITERATION:
            out.append(TRANSLITERATION[char])
            continue
        for part in unicodedata.normalize("NFKD", char):
            if not unicodedata.combining(part):
                out.append(part)
    return re.sub(r"[^a-z0-9]", "", "".join(out))


def letters(text: str) -> list[str]:
    """The letters of a name as written (NFC), for counting `{given:N}`."""
    return [c for c in unicodedata.normalize("NFC", text) if c.isalpha()]


def check_pattern(pattern: str) -> None:
    """Raise UsernameError unless `pattern` has a surname or given name and only safe literals."""
    rest = TOKEN.sub("", pattern)
    if not TOKEN.search(pattern):
        raise UsernameError("the pattern needs {given}, {given:N}, {surname} or {surname:N}")
    if not LITERAL.fullmatch(rest):
        raise UsernameError(f"only a-z, 0-9, '.', '_' and '-' may stand between the placeholders (found {rest!r})")
    if not re.match(r"^\{", pattern) and not re.match(r"^[a-z]", pattern):
        raise UsernameError("a username starts with a letter: start the pattern with a placeholder or a-z")


def render(pattern: str, given: str, surname: str, given_letters: int | None = None) -> str:
    """The pattern filled in; `given_letters` overrides the first `{given:N}` (for next_letter)."""
    used_override = False

    def fill(match: re.Match) -> str:
        nonlocal used_override
        which, count = match.group(1), match.group(2)
        name = given if which == "given" else surname
        if count is None:
            return transliterate(name)
        n = int(count)
        if which == "given" and given_letters is not None and not used_override:
            n, used_override = given_letters, True
        return transliterate("".join(letters(name)[:n]))

    return TOKEN.sub(fill, pattern)


def candidates(rule: Rule, given: str, surname: str) -> Iterator[tuple[str, str]]:
    """Usernames to try in order, each with how it was made."""
    base = _fit(render(rule.pattern, given, surname), rule.max_length)
    yield base, f"pattern {rule.pattern}"
    if rule.clash == "next_letter":
        match = re.search(r"\{given:([1-9][0-9]?)\}", rule.pattern)
        if match:
            total = len(letters(given))
            for n in range(int(match.group(1)) + 1, total + 1):
                name = _fit(render(rule.pattern, given, surname, given_letters=n), rule.max_length)
                yield name, f"clash rule next_letter: {n} letters of the given name"
    how = "clash rule digits" if rule.clash == "digits" else "clash rule next_letter, given name used up: digits"
    for number in range(rule.first_number, rule.first_number + 10_000):
        suffix = str(number)
        yield _fit(base, rule.max_length - len(suffix)) + suffix, how


def choose(rule: Rule, given: str, surname: str, holder: Callable[[str], str | None]) -> tuple[str, list[str]]:
    """The first free username for the person and why; `holder(name)` says who holds or held
    `name` (a sentence), or None when it is free."""
    if not transliterate(surname) and not transliterate(given):
        raise UsernameError("no Latin letters in the name to make a username of")
    reasons: list[str] = []
    seen: set[str] = set()
    for name, how in candidates(rule, given, surname):
        if name in seen:
            continue
        seen.add(name)
        if not USERNAME.match(name):
            raise UsernameError(f"{name!r} ({how}) is not a valid username: it must start with a letter "
                                f"and have at most 32 of a-z, 0-9, '.', '_', '-'")
        taken = holder(name)
        if taken is None:
            reasons.append(f"{name} from {how}" if not reasons else f"{name} is free ({how})")
            return name, reasons
        reasons.append(f"{name} is taken: {taken}")
    raise UsernameError("no free username within 10,000 numbers")  # pragma: no cover - defensive


def _fit(name: str, length: int) -> str:
    return name[:max(length, 1)]
