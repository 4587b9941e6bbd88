"""Address management: which person or device holds which VPN tunnel address, for life.

* `allocations` - allocate and release addresses from the pools (`telework ipam sync`)
* `file`        - the allocations file, `<inventory>/allocations.yml`, read and written
"""
