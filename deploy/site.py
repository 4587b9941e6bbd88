"""The whole estate in one run: the baseline on every managed host, then each host's roles.

    pyinfra INVENTORY/inventory.py deploy/site.py

`telework plan`, `apply`, the pull agent and the CI pipeline run this file. Which roles a host
gets is the role registry's answer for its inventory groups (telework.roles.registry): `base`
first, then every role serving one of its groups, each from deploy/<role>.py. A host that no
built role serves gets nothing at all - telework shows it as unmanaged and never connects to
it; run directly through pyinfra's CLI, it is skipped here with a warning.
"""

from pathlib import Path

from pyinfra import host, local, logger

from telework.roles.registry import roles_serving, unserved_reason

DEPLOY_DIR = Path(__file__).resolve().parent

roles = roles_serving(host.groups)
if not roles:
    logger.warning(f"{host.name}: unmanaged, {unserved_reason(host.groups)}")
for role in roles:
    local.include(str(DEPLOY_DIR / role.deploy_file))
