"""The merge-request comment against the GitLab stand-in (tests/pipeline/fake_gitlab.py, which
answers as GitLab's notes API documents): one comment, created once and then updated, found
on any page, only the token user's own; the token goes in a header and never into a message."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from telework.plan.gitlab import MARKER, CommentError, post_plan_comment
from tests.pipeline.fake_gitlab import FakeGitLab

TOKEN = "glpat-SECRETTOKENVALUE123"
READ_ONLY = "glpat-READONLYTOKEN456"
PROJECT = "it/inventory"


@pytest.fixture
def gitlab(tmp_path: Path):
    source = tmp_path / "source"
    subprocess.run(["git", "init", "-q", str(source)], check=True)
    subprocess.run(["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@invalid", "commit",
                    "-q", "--allow-empty", "-m", "init"], check=True)
    fake = FakeGitLab(tmp_path / "gitlab").start()
    fake.add_project(PROJECT, source)
    fake.open_merge_request(PROJECT, 17)
    fake.add_token(TOKEN, "project_1017_bot", ("api",))
    fake.add_token(READ_ONLY, "jdoe", ("read_api",))
    fake.add_note(PROJECT, 17, "jdoe", "LGTM")
    env = {"CI_API_V4_URL": f"{fake.url}/api/v4", "CI_PROJECT_ID": PROJECT,
           "CI_MERGE_REQUEST_IID": "17", "TELEWORK_GITLAB_TOKEN": TOKEN}
    yield fake, env
    fake.stop()


def bodies(fake: FakeGitLab) -> list[str]:
    return [n["body"] for n in fake.notes(PROJECT, 17)]


def test_created_then_updated(gitlab):
    fake, env = gitlab
    assert post_plan_comment("### plan 1", env) == "created"
    assert post_plan_comment("### plan 2", env) == "updated"
    assert bodies(fake) == ["LGTM", f"{MARKER}\n### plan 2"]
    writes = [r for r in fake.requests if r["method"] != "GET"]
    assert [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in writes] == [
        ("POST", "notes"), ("PUT", str(fake.notes(PROJECT, 17)[1]["id"]))]
    assert {r["auth"] for r in fake.requests} == {"private"}


def test_the_comment_is_found_beyond_the_first_page(gitlab):
    fake, env = gitlab
    assert post_plan_comment("### plan 1", env) == "created"
    for n in range(130):  # a long review: the plan comment is on page 2 of 100 notes
        fake.add_note(PROJECT, 17, "jdoe", f"comment {n}")
    assert post_plan_comment("### plan 2", env) == "updated"
    assert sum(b.startswith(MARKER) for b in bodies(fake)) == 1
    pages = [r["query"] for r in fake.requests if r["method"] == "GET" and r["path"].endswith("/notes")]
    assert any("page=2" in q for q in pages)


def test_a_quote_of_the_comment_by_someone_else_is_not_edited(gitlab):
    fake, env = gitlab
    fake.add_note(PROJECT, 17, "jdoe", f"{MARKER}\nquoted by a reviewer")
    assert post_plan_comment("### plan", env) == "created"
    assert f"{MARKER}\nquoted by a reviewer" in bodies(fake)
    assert f"{MARKER}\n### plan" in bodies(fake)


def test_errors_never_show_the_token(gitlab):
    fake, env = gitlab
    with pytest.raises(CommentError) as info:
        post_plan_comment("x", {**env, "TELEWORK_GITLAB_TOKEN": TOKEN + "wrong"})
    assert "401" in str(info.value) and TOKEN not in str(info.value)
    with pytest.raises(CommentError, match="403.*api scope") as info:
        post_plan_comment("x", {**env, "TELEWORK_GITLAB_TOKEN": READ_ONLY})
    assert READ_ONLY not in str(info.value)
    with pytest.raises(CommentError, match="404"):
        post_plan_comment("x", {**env, "CI_MERGE_REQUEST_IID": "99"})


def test_outside_a_merge_request():
    with pytest.raises(CommentError, match="not a merge-request pipeline"):
        post_plan_comment("x", {"CI_API_V4_URL": "http://x"})
