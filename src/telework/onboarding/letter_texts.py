"""The words of the handover letter, per language, from templates/onboarding/<language>.yml.

Code never spells out a sentence of the letter: adding a language is adding a file with the
same keys (a unit test compares the catalogues). A text may only use the placeholders the
code passes for it; an unknown one is an error naming the file and the key, never a letter
with a hole in it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from telework.core.problems import TeleworkError
from telework.inventory.source import parse_yaml
from telework.resources import templates_dir

TEMPLATES = templates_dir() / "onboarding"
LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"


class LetterTextError(TeleworkError):
    """A language without catalogue, or a catalogue text that cannot be filled in."""


class _Strict(dict):
    def __init__(self, params: dict, where: str):
        super().__init__(params)
        self.where = where

    def __missing__(self, key: str) -> str:
        raise LetterTextError(f"{self.where}: unknown placeholder {{{key}}} (fix: use only "
                              f"{', '.join('{' + k + '}' for k in self) or 'no placeholders'} here)")


class LetterTexts:
    """One language's catalogue; `text("items.openvpn", bundle=...)` fills in one text."""

    def __init__(self, language: str = DEFAULT_LANGUAGE, directory: Path = TEMPLATES):
        if language not in LANGUAGES:
            raise LetterTextError(f"no letter texts in language {language!r}: use one of {', '.join(LANGUAGES)}")
        self.language = language
        self.path = directory / f"{language}.yml"
        self.data = _load(self.path)

    def raw(self, key: str):
        node = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise LetterTextError(f"{self.path}: no text {key!r} (fix: add it, as in the other languages' files)")
            node = node[part]
        return node

    def text(self, key: str, **params) -> str:
        template = self.raw(key)
        if not isinstance(template, str):
            raise LetterTextError(f"{self.path}: {key!r} must be one text")
        return _fill(template, params, f"{self.path}: {key}")

    def texts(self, key: str, **params) -> list[str]:
        """A list of texts (the steps of a section), each filled in with the same parameters."""
        items = self.raw(key)
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise LetterTextError(f"{self.path}: {key!r} must be a list of texts")
        return [_fill(t, params, f"{self.path}: {key}[{n}]") for n, t in enumerate(items)]


def _fill(template: str, params: dict, where: str) -> str:
    try:
        return template.format_map(_Strict(params, where))
    except (ValueError, IndexError) as exc:  # a stray brace in the catalogue
        raise LetterTextError(f"{where}: {exc} (fix: write a literal brace as {{{{ or }}}})") from None


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> dict:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LetterTextError(f"cannot read the letter texts {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise LetterTextError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict) or data.get("language") != path.stem:
        raise LetterTextError(f"{path}: letter texts start with `language: {path.stem}`")
    return data
