"""The whole estate in one run: the baseline on every host, then each host's role.

    pyinfra inventory/sample/inventory.py deploy/site.py

`telework plan`, `apply` and the CI pipeline run this file. A role deploy lives in
deploy/<role>.py and is listed in ROLE_DEPLOYS under the inventory group it serves; a host
gets the roles of the groups it is in (pyinfra groups come from telework.pyinfra_inventory).
"""

from pathlib import Path

from pyinfra import host, local

DEPLOY_DIR = Path(__file__).resolve().parent

#: inventory group -> role deploy file (deploy/<file>); absent files are roles not built yet
ROLE_DEPLOYS = {
    "auth_servers": "auth_server.py",
    "vpn_concentrators": "vpn_concentrator.py",
    "sip_servers": "sip_server.py",
    "linux_endpoints": "linux_endpoint.py",
    "notebooks": "linux_endpoint.py",
}
#: groups whose hosts also get the pull agent (deploy/pull_agent.py: a no-op without pull_base_url)
PULL_GROUPS = ("linux_endpoints", "notebooks")

local.include(str(DEPLOY_DIR / "base.py"))
for group, deploy_file in ROLE_DEPLOYS.items():
    if group in host.groups and (DEPLOY_DIR / deploy_file).exists():
        local.include(str(DEPLOY_DIR / deploy_file))
if any(group in host.groups for group in PULL_GROUPS):
    local.include(str(DEPLOY_DIR / "pull_agent.py"))
