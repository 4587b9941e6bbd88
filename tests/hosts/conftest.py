"""Testinfra suites of a deployed estate: hosts from the inventory, selected by role.

A suite names the inventory group it checks, never a host::

    pytestmark = pytest.mark.role("sip_servers")

    def test_kamailio_running(host, host_name, inventory):
        \"\"\"NET.4.2.A5: the SIP proxy runs.\"\"\"
        assert host.service("kamailio").is_running

Each test then runs once per host of that group (ids = host names); a module without a
`role` marker runs on every host. Fixtures:

* `host`       - a testinfra host (paramiko, the environment's key and known_hosts, strict
                 host-key checking; see telework.verify.hosts.testinfra_host);
* `host_name`  - the inventory name of the host;
* `host_spec`  - its telework.verify.hosts.VerifyHost (address, groups, overlay data);
* `host_data`  - the data pyinfra deploys it with: group_data (telework's and the
                 inventory's) for its groups, then its host data (telework.verify.hosts.host_data);
* `inventory`  - the loaded, validated inventory model (telework.inventory.model.Inventory).

The inventory is $TELEWORK_INVENTORY (default inventory/sample), reached as $TELEWORK_OVERLAY
says; $TELEWORK_VERIFY_LIMIT limits the hosts like `--limit`. These suites need a deployed
estate, so a plain `pytest` run does not collect them: `telework verify` sets TELEWORK_VERIFY=1.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pytest

from telework.verify.hosts import INVENTORY_ENV, LIMIT_ENV, VERIFY_ENV, testinfra_host, verify_hosts
from telework.verify.hosts import host_data as _host_data

if os.environ.get(VERIFY_ENV) != "1":
    collect_ignore_glob = ["test_*.py"]



def pytest_configure(config):
    config.addinivalue_line(
        "markers", "role(*groups): run this suite on the hosts of these inventory groups "
        "(vpn_concentrators, auth_servers, sip_servers, linux_endpoints, notebooks)")


def _inventory_dir() -> Path:
    """$TELEWORK_INVENTORY (`telework verify` sets it, absolute), else the built-in sample."""
    from telework.resources import sample_inventory

    path = os.environ.get(INVENTORY_ENV)
    return Path(path).resolve() if path else sample_inventory()


@lru_cache(maxsize=1)
def _specs():
    return {h.name: h for h in verify_hosts(_inventory_dir(), limit=os.environ.get(LIMIT_ENV))}


@lru_cache(maxsize=None)
def _connection(name: str):
    """One testinfra host (one SSH connection) per host and worker process."""
    return testinfra_host(_specs()[name])


def pytest_generate_tests(metafunc):
    if "host_name" not in metafunc.fixturenames and "host" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("role")
    names = [n for n, spec in _specs().items() if marker is None or set(marker.args) & set(spec.groups)]
    # one xdist group per host: `--dist loadgroup` keeps a host's tests on one worker
    params = [pytest.param(n, id=n, marks=pytest.mark.xdist_group(n)) for n in names]
    metafunc.parametrize("host_name", params, scope="module")


@pytest.fixture(scope="module")
def host_spec(host_name):
    return _specs()[host_name]


@pytest.fixture(scope="module")
def host_data(host_spec):
    return _host_data(host_spec, _inventory_dir())


@pytest.fixture(scope="module")
def host(host_name):
    """Replaces testinfra's `host` fixture: the inventory host of this parameter."""
    return _connection(host_name)


@pytest.fixture(scope="session")
def inventory():
    from telework.inventory.loading import require_inventory

    return require_inventory(_inventory_dir()).model
