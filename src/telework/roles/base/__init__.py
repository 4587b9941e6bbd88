"""The base role: what every managed host gets before its own roles (deploy/base.py).

* `view` - the host's baseline from the inventory: package proxy, time zone.
"""
