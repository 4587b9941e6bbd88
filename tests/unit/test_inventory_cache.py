"""The cache of loaded inventories: a hit is the same inventory as a fresh load, any change of
an input is a miss, and a cache directory others could write is never read."""

from __future__ import annotations

import pickle

import pytest

from telework.inventory import cache
from telework.inventory.loading import load_inventory
from tests.conftest import edit


@pytest.fixture
def cached(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, str(directory))
    return directory


def _same(a, b) -> None:
    assert a.model.model_dump() == b.model.model_dump()
    assert [p.format() for p in a.problems] == [p.format() for p in b.problems]
    assert a.root == b.root


def test_a_hit_is_the_inventory_a_fresh_load_gives(cached, minimal_copy, monkeypatch):
    first = load_inventory(minimal_copy)
    assert len(list(cached.glob("*.pickle"))) == 1
    calls = []
    monkeypatch.setattr("telework.inventory.loading._load", lambda *a: calls.append(a))
    second = load_inventory(minimal_copy)
    assert calls == []  # served from the cache
    _same(first, second)


def test_any_changed_input_is_a_miss(cached, minimal_copy):
    first = load_inventory(minimal_copy)
    people = next((minimal_copy / "people").glob("*.yml"))
    text = people.read_text()
    key = cache.inputs_digest(minimal_copy)
    people.write_text(text + "\n# a comment\n")
    assert cache.inputs_digest(minimal_copy) != key
    people.write_text(text)
    assert cache.inputs_digest(minimal_copy) == key
    (minimal_copy / "allocations.yml").write_text("# allocations\n")
    assert cache.inputs_digest(minimal_copy) != key
    (minimal_copy / "allocations.yml").unlink()
    (minimal_copy / "secrets").mkdir(exist_ok=True)
    before = cache.inputs_digest(minimal_copy)
    (minimal_copy / "secrets" / "new.age").write_bytes(b"x")
    assert cache.inputs_digest(minimal_copy) != before  # a new secret's name counts
    assert load_inventory(minimal_copy).model.model_dump() == first.model.model_dump()


def test_an_invalid_inventory_is_cached_with_its_problems(cached, minimal_copy):
    edit(minimal_copy / "organisation.yml", "slug: ", "slug: BAD ")
    fresh = load_inventory(minimal_copy)
    assert fresh.errors
    _same(fresh, load_inventory(minimal_copy))


def test_a_cache_others_can_write_is_not_read(cached, minimal_copy, monkeypatch):
    load_inventory(minimal_copy)
    [entry] = cached.glob("*.pickle")
    key, _loaded = pickle.loads(entry.read_bytes())
    entry.write_bytes(pickle.dumps((key, "not an inventory")))
    cached.chmod(0o777)
    assert load_inventory(minimal_copy).model is not None  # built fresh, the planted entry ignored
    cached.chmod(0o700)
    assert load_inventory(minimal_copy) == "not an inventory"  # trusted again: it would be read


def test_switched_off(minimal_copy, monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    load_inventory(minimal_copy)
    assert not (tmp_path / "xdg").exists()


def test_a_new_directory_symlink_is_a_miss(cached, minimal_copy):
    """A looping directory link is reported by a load (telework.inventory.symlinks): a cached clean
    load from before the link must not hide it."""
    assert load_inventory(minimal_copy).errors == []
    (minimal_copy / "people" / "loop").symlink_to("..")
    assert [p.rule for p in load_inventory(minimal_copy).errors] == ["inventory.symlink_loop"]
