"""The lab: the inventory's servers and Linux endpoints as real systemd Debian hosts
(systemd-nspawn in network namespaces) plus simulated home networks, all on one machine.

Layers: `topology` derives the layout from the inventory (pure), `image` builds the cached
base rootfs, `network` builds namespaces/bridges/NAT, `hosts` boots containers, `aptproxy`
runs apt-cacher-ng, `state` records every object made so `down` removes exactly those.
"""
