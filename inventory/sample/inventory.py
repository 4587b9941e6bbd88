"""pyinfra inventory of this organisation, read from the YAML files beside it.

    pyinfra inventory/sample/inventory.py deploy/<role>.py

Hosts are grouped by role (vpn_concentrators, auth_servers, sip_servers, linux_endpoints,
notebooks), by site (site_<id>) and by rollout ring (ring_<name>). Set TELEWORK_OVERLAY to an
overlay file (the lab writes one) to reach the hosts somewhere other than production.
"""

from telework.engine.pyinfra_inventory import pyinfra_groups as _pyinfra_groups

globals().update(_pyinfra_groups(__file__))
