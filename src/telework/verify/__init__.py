"""`telework verify`: the Testinfra suites of each host's roles against the deployed hosts.

* `hosts` - the managed hosts to check and a strict-host-key testinfra connection to each
* `run`   - pytest over the suites (tests/hosts, shipped as telework.resources.host_suites)
"""
