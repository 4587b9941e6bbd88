"""The fast reader means exactly what PyYAML's reader means, or steps aside.

`telework.inventory.yamlfast` must give the data yamlsource's PyYAML loader gives for every file it
accepts, and raise NotCommon for anything else (PyYAML then reads the file and reports errors
with their lines). Compared here on tricky scalars and on every inventory file in the repo.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from telework.inventory import yamlfast
from telework.inventory.generate import render_inventory
from telework.inventory.source import _RESOLVER, _Loader, is_section_file, load_texts

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not yamlfast.available(), reason="rapidyaml is not installed")


def pyyaml(text: str):
    loader = _Loader(text)
    loader.duplicate_keys = []
    try:
        node = loader.get_single_node()
        return loader.construct_document(node) if node is not None else None, loader.duplicate_keys
    finally:
        loader.dispose()


def assert_same_or_steps_aside(text: str) -> bool:
    """True when the fast reader accepted `text` (and then gave PyYAML's data, types included)."""
    try:
        expected = ("ok", *pyyaml(text))
    except Exception as exc:  # noqa: BLE001 - whatever PyYAML raises, the fast reader must not accept
        expected = ("error", type(exc).__name__, None)
    try:
        got = yamlfast.load(text, _RESOLVER)
    except yamlfast.NotCommon:
        return False
    assert expected[0] == "ok", f"fast reader accepted what PyYAML rejects ({expected[1]}): {text!r}"
    assert expected[2] == [], f"fast reader accepted duplicate keys: {text!r}"
    assert got == expected[1] and repr(got) == repr(expected[1]), text
    return True


SCALARS = [
    "0600", "0o17", "0x1F", "0b101", "1_000", "09", "+1", "-0", "12:30", "1:2:3", "190:20:30.15",
    ".5", "1.", "0.", "1e3", "1.0e3", "6.8523015e+5", "685.230_15e+03", ".inf", "-.Inf", ".NaN",
    "yes", "no", "on", "off", "y", "n", "true", "True", "TRUE", "tRUE", "false", "FALSE",
    "~", "null", "Null", "NULL", "", "2026-11-22", "2026-11-22T10:00:00Z", "2026-11-22 10:00:00.5 +01:00",
    "x:y", ":x", "--", "---x", "é", "'0600'", '"0600"', "'it''s'", '"x\\ty\\u00e4\\x41\\N\\_"',
    "10.20.0.5/24", "+49 9999 12-345", "00:E0:C5:12:34:56", "'+49 9999 12-345'",
]

DOCUMENTS = [
    "", "# only a comment\n", "---\na: 1\n", "a: 1\n...\n", "%YAML 1.1\n---\na: 1\n", "- 1\n- 2\n", "x\n",
    "a:\nb: ''\nc: |\n  lit\n  x\nd: >-\n  fold\n  ed\ne: |+\n  keep\n\n\nf: 1\n",
    "a: >\n  x\n  y\n\n  z\n", 'a: "multi\n  line"\n', "a: plain\n  continued\n", "a: 'sq\n\n  x'\n",
    "a:\r\n  b: 1\r\n", "\ufeffa: 1\n", "a: [1, {b: c}]\n", "a: {b}\n", "a: [b: c]\n", "? a\n: b\n",
    "a:   \n  - 1\n  -\n  - 3\n", "- - - 1\n", "key with spaces: v # comment\n", "ä: 1\n",
    # outside the common subset: the fast reader must step aside
    "---\na: 1\n---\nb: 2\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: !custom x\n", "a: {<<: {b: 1}}\n",
    "a: =\n", "a: 2026-13-45\n", "1: x\n", "true: x\n", "? [1]\n: 2\n", "{a: 1, a: 2}\n", "a: 1\n'a': 2\n",
    # syntax errors
    "a: b: c\n", "a: [1, 2\n", "a:\n\t- x\n", "- a\n-b\n", "a: - b\n", "a: 'unterminated\n", 'a: "x" y\n',
    "a: -\n", "a: [, ]\n",
]


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_mean_what_pyyaml_means(scalar):
    for text in (f"a: {scalar}\n", f"- {scalar}\n", f"{{a: {scalar}}}\n", f"[{scalar}]\n"):
        assert_same_or_steps_aside(text)


@pytest.mark.parametrize("text", DOCUMENTS)
def test_documents_read_alike_or_step_aside(text):
    assert_same_or_steps_aside(text)


def test_the_common_subset_is_read_fast():
    """The shapes inventories are written in do take the fast path (else it buys nothing)."""
    for text in ("people:\n  - {username: a, vpn: true, phone: {extension: \"101\"}}\n",
                 "organisation:\n  name: Stadt\n  settings:\n    dns_servers: [10.20.0.53]\n    quarantine: 180\n"):
        assert assert_same_or_steps_aside(text)


def test_every_inventory_file_in_the_repo_and_the_generator():
    files = {p: p.read_text(encoding="utf-8") for p in sorted(REPO_ROOT.glob("inventory/**/*.yml"))}
    files.update({p: p.read_text(encoding="utf-8") for p in sorted(REPO_ROOT.glob("tests/fixtures/**/*.yml"))})
    files.update({Path(rel): text for rel, text in render_inventory(120, seed=3).items() if is_section_file(Path(rel))})
    fast = [path for path, text in files.items() if assert_same_or_steps_aside(text)]
    assert len(fast) > len(files) / 2


def test_problem_lines_come_from_the_lazily_composed_tree(tmp_path):
    """A file read fast still names the line of a problem in it (the tree is composed on demand)."""
    text = "people:\n  - {username: a}\n  - {username: b,\n     name: B}\n"
    source, problems = load_texts(tmp_path, [(tmp_path / "people.yml", text)])
    assert problems == []
    assert source.locate(("people", 1, "name")) == (tmp_path / "people.yml", 4)


def test_syntax_errors_leave_no_noise_on_stderr(capfd, tmp_path):
    """rapidyaml's own error print is dropped; PyYAML's error, with its line, is the one reported."""
    _, problems = load_texts(tmp_path, [(tmp_path / "a.yml", "a: [1, 2\nb: 3\n")])
    assert [p.rule for p in problems] == ["yaml.syntax"] and problems[0].line
    assert capfd.readouterr().err == ""
