"""Renderers: what a person sees in a terminal and a merge request, what a machine reads, and
that no secret value survives any of them."""

from __future__ import annotations

import json

import pytest

from telework.plan.records import SENSITIVE_NOTE, Change, HostPlan, Plan
from telework.plan.render import FORMATS, render, render_markdown
from telework.secrets.redact import Redactor

SECRET = "Pa55wordXyzVeryLong42"


def sample_plan(secret_in_records: bool = False) -> Plan:
    leak = SECRET if secret_in_records else "nothing"
    return Plan(
        inventory="/inv", organisation="gruenfelden", commit="0123456789abcdef" * 2 + "01234567",
        dirty=False, telework_version="0.1.0", created="2026-01-01T00:00:00Z", limit=["sip-1"],
        hosts=[
            HostPlan("sip-1", "changed", groups=["sip_servers"], ring="all", changes=[
                Change(op="deploy/base.py | ssh: hardened server settings", kind="file",
                       fingerprint="sha256:" + "a" * 64, path="/etc/ssh/sshd_config.d/telework.conf",
                       commands=["upload /etc/ssh/sshd_config.d/telework.conf", "chmod 644 /etc/x"],
                       messages=["Will modify /etc/ssh/sshd_config.d/telework.conf"],
                       diff=["@@ -6,2 +6,2 @@", "-MaxAuthTries 3", "+MaxAuthTries 4", f" # {leak}"]),
                Change(op="secret: /etc/kamailio/secrets.cfg", kind="file", sensitive=True,
                       fingerprint="hmac-sha256:" + "b" * 64, path="/etc/kamailio/secrets.cfg",
                       commands=[f"{SENSITIVE_NOTE}: /etc/kamailio/secrets.cfg"]),
                Change(op="deploy/base.py | ssh: reload after a settings change", kind="service",
                       fingerprint="sha256:" + "c" * 64, commands=[f"systemctl reload ssh # {leak}"]),
            ]),
            HostPlan("linux-002", "unchanged", ring="pilot", unchanged_ops=7),
            HostPlan("vpn-a", "unreachable", error=f"Could not connect ({leak})"),
        ])


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_in_any_format(fmt):
    out = render(sample_plan(secret_in_records=True), fmt, Redactor({"sip/2345": SECRET}))
    assert SECRET not in out
    assert "[redacted:sip/2345]" in out


def test_text_shows_diff_summary_and_errors():
    out = render(sample_plan(), "text")
    assert "~ sip-1: changed, 3 change(s)" in out
    assert "        -MaxAuthTries 3\n        +MaxAuthTries 4" in out
    assert "! vpn-a: unreachable: Could not connect" in out
    assert SENSITIVE_NOTE in out
    assert out.rstrip().endswith("Plan: 1 host(s) changing (3 change(s)), 1 unchanged, 1 unreachable, 0 failed")
    assert "\x1b[" not in out
    assert "\x1b[31m-MaxAuthTries 3" in render(sample_plan(), "text", colour=True)


def test_markdown_for_a_merge_request():
    out = render(sample_plan(), "markdown", artifact_url="https://gitlab.example/job/1/artifacts")
    assert out.startswith("### telework plan: **errors: the plan is incomplete**")
    assert "| 1 | 1 | 1 | 0 | 0 | 3 |" in out
    assert "<details>\n<summary>🟡 <b>sip-1</b>: changed, 3 change(s)</summary>" in out
    assert "```diff\n--- /etc/ssh/sshd_config.d/telework.conf\n+++ /etc/ssh/sshd_config.d/telework.conf\n@@" in out
    assert "- 🔴 <b>vpn-a</b>: unreachable: `Could not connect (nothing)`" in out
    assert "🟢 1 host(s) unchanged" in out and "linux-002" in out
    assert "[Full plan (JSON, text)](https://gitlab.example/job/1/artifacts)" in out
    # the sensitive change shows the note, no fence with content
    section = out[out.index("secret: /etc/kamailio/secrets.cfg"):]
    assert section.split("\n\n")[1].startswith(f"_{SENSITIVE_NOTE}")


def test_markdown_fence_cannot_be_closed_by_content():
    plan = sample_plan()
    plan.hosts[0].changes[0].diff.append("+```")
    out = render_markdown(plan)
    assert "````diff" in out


def test_markdown_names_are_escaped():
    plan = sample_plan()
    plan.hosts[0].changes[0].op = "<script>alert(1)</script>"
    assert "<script>" not in render_markdown(plan)


def test_markdown_size_limit_cuts_diffs_then_details():
    plan = sample_plan()
    plan.hosts[0].changes[0].diff = ["@@ -1,500 +1,500 @@"] + [f"+line {i}" for i in range(500)]
    full = render_markdown(plan)
    assert "+line 499" in full
    cut = render_markdown(plan, limit=len(full) - 1)
    assert len(cut) < len(full) and "+line 499" not in cut
    assert "more diff line(s): see the full plan artifact" in cut
    tiny = render_markdown(plan, limit=1500)
    assert len(tiny) <= 1500
    assert "sip-1" in tiny


def test_json_is_the_record():
    plan = sample_plan()
    data = json.loads(render(plan, "json"))
    assert data == json.loads(json.dumps(plan.to_dict()))
    assert data["exit_code"] == 1


def test_unknown_format():
    with pytest.raises(ValueError):
        render(sample_plan(), "yaml")
