"""The audit's words in German and English: a message catalogue per language, as data.

templates/audit/messages/<lang>.yml holds every text the audit prints or writes into a
report: one format string per event kind, labels, statuses, and the date format. Code
never spells out a sentence; adding a language is adding a file with the same keys (a unit
test compares the keys of every catalogue with the English one).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from telework.core.problems import TeleworkError
from telework.inventory.source import parse_yaml
from telework.resources import templates_dir

TEMPLATES = templates_dir() / "audit"
LANGUAGES = ("de", "en")


class CatalogueError(TeleworkError):
    """A language without catalogue, or a catalogue without a text."""


class _Params(dict):
    """Format parameters: a missing or empty value prints as the catalogue's `missing`."""

    def __init__(self, params: dict, catalogue: Catalogue):
        super().__init__()
        self.catalogue = catalogue
        for key, value in params.items():
            self[key] = catalogue.value(value)

    def __missing__(self, key: str) -> str:
        return self.catalogue.data["missing"]


class Catalogue:
    def __init__(self, lang: str = "en", directory: Path = TEMPLATES / "messages"):
        if lang not in LANGUAGES:
            raise CatalogueError(f"language {lang!r} is not available: use one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self.data = _load(directory / f"{lang}.yml")

    # ---- values

    def value(self, value) -> str:
        if value is None or value == "" or value == []:
            return self.data["missing"]
        if isinstance(value, bool):
            return self.status("yes" if value else "no")
        if isinstance(value, (list, tuple)):
            return self.data["list_separator"].join(str(v) for v in value)
        return str(value)

    def status(self, key: str) -> str:
        return self.data["status"].get(key, key)

    def kind(self, key: str | None) -> str:
        return self.data["kinds"].get(key or "", key or self.data["missing"])

    def datetime(self, when: int | float | datetime | None, tz: ZoneInfo | None = None) -> str:
        if when is None:
            return self.data["missing"]
        moment = when if isinstance(when, datetime) else datetime.fromtimestamp(when, UTC)
        return moment.astimezone(tz or ZoneInfo("Europe/Berlin")).strftime(self.data["datetime_format"])

    def date(self, day) -> str:
        return day.strftime(self.data["date_format"])

    # ---- texts

    def __call__(self, key: str, **params) -> str:
        try:
            template = self.data["text"][key]
        except KeyError:
            raise CatalogueError(f"no text {key!r} in the {self.lang} catalogue") from None
        return template.format_map(_Params(params, self))

    def event(self, kind: str, params: dict) -> str:
        """The sentence for one change event."""
        template = self.data["events"].get(kind)
        if template is None:  # an event kind newer than this catalogue: still say something
            return f"{kind}: " + ", ".join(f"{k}={self.value(v)}" for k, v in params.items())
        values = dict(params)
        person = params.get("person")
        if person is not None:
            values["who"] = f"{person} ({params['name']})" if params.get("name") else person
        if "member" in params:
            label = f"{params['member']} ({params['name']})" if params.get("name") else params["member"]
            values["member_label"] = label if params.get("member_kind") == "person" else \
                f"{self.kind(params.get('member_kind'))} {label}"
        if "kind" in params and kind.startswith("device_"):
            values["kind_label"] = self.kind(params["kind"])
        if "kind" in params and kind.startswith("certificate_"):
            values["kind"] = self.kind(params["kind"])
        return template.format_map(_Params(values, self))


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> dict:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"cannot read the message catalogue {path}: {exc}") from None
    if not isinstance(data, dict) or not all(k in data for k in ("events", "text", "status", "kinds")):
        raise CatalogueError(f"{path}: a catalogue needs the sections events, text, status and kinds")
    return data
