"""The contract between telework and pyinfra's internals (telework.engine.adapter).

Every adapter function runs against the installed pyinfra on @local (in a subprocess: pyinfra's
CLI patches the process with gevent) through tests/unit/pyinfra_contract_probe.py. When a
pyinfra release changes what the adapter reads - operation names, the command generator, `_if`,
the op hash of an OperationMeta, the host a log line belongs to, active hosts, deploy-file
loading - one of these fails and names it, before a plan silently says something else.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("pyinfra_contract_probe.py")

HANDLER = "deploy/probe.py | probe: handler of the secret"
SECRET = "deploy/probe.py | probe: a secret file"
MAKE = "deploy/probe.py | probe: make the directory"
OWN = "deploy/probe.py | probe: pyinfra's own condition"


@pytest.fixture(scope="module")
def seen(tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("contract")
    proc = subprocess.run([sys.executable, str(PROBE), str(workdir)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_deploy_files_load_cli_style_and_register_for_inspect(seen):
    assert seen["registered"]
    # names are "<deploy file relative to the state's cwd> | <name>", in the order of the file
    assert seen["names"] == [MAKE, SECRET, HANDLER, OWN]


def test_telework_identifies_operations_exactly_as_pyinfra_does(seen):
    """The fast stack walk gives every operation the hash pyinfra's own `inspect.stack()` gives
    (a helper called three times, a branch, the operation after it)."""
    assert seen["order_fast"] == seen["order_pyinfra"]
    assert len(seen["order_fast"]) == 5 and len({h for h, _ in seen["order_fast"]}) == 5


def test_a_deploy_error_is_unwrapped_and_fails_only_its_host(seen):
    assert seen["load_errors"] == {"probe-broken": ["ValueError", "the deploy of this host is broken"]}
    assert seen["failed"] == ["probe-broken"] and seen["active"] == ["@local"]


def test_commands_are_generated_without_being_executed(seen):
    assert seen["commands"][MAKE] == ["StringCommand"]
    assert "FileUploadCommand" in seen["commands"][SECRET]
    # nothing ran while generating: the directory appears only at execution (files below)


def test_log_lines_are_attributed_to_the_operation_being_generated(seen):
    assert SECRET in seen["log_attributed"]  # "Will create secret file ..."


def test_declarations_are_readable_at_plan_time(seen):
    assert seen["sensitive"] == [SECRET]
    assert seen["conditions"] == {HANDLER: [SECRET], OWN: [MAKE, "did_change"]}
    assert seen["meta_hash_matches"]


def test_rings_run_only_their_hosts_and_the_rest_waits(seen):
    assert seen["active_inside"] == ["@local"]
    assert seen["active_after"] == ["@local"]  # the failed host stays out


def test_execution_results_and_conditions_at_apply_time(seen):
    assert seen["changed"] == {MAKE: True, SECRET: True, HANDLER: True, OWN: True}
    assert seen["files"] == ["handled", "key", "own"]


def test_pyinfra_diff_lines(seen):
    assert any(line.startswith("-") or "- b" in line for line in seen["diff_lines"])
    assert any("+ c" in line or line.startswith("+") for line in seen["diff_lines"])
    assert seen["current_host_outside"]
