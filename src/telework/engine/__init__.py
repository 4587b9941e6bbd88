"""The only code that drives pyinfra.

* `deployment`  - one pyinfra run over some hosts: connect, load deploy/site.py, plan, execute
* `adapter`     - every use of pyinfra beyond its documented API (contract-tested, pinned)
* `changes`     - an operation's would-be commands and log lines as a plan's change record
* `declare`     - what deploys declare for the plan: `changed(...)` conditions, `sensitive`
* `log_capture` - pyinfra's log records kept per host and operation, never printed
* `connector`   - `@telework/<host>`: SSH with TCP_NODELAY and round-trip counters
* `facts`, `operations` - telework's batched facts and the operations that decide from them
* `deploy_support` - the inventory and templates as deploy files need them
* `group_data`  - group_data/*.py read as pyinfra's CLI reads it
* `pyinfra_inventory` - an organisation's inventory.py for pyinfra's own CLI
"""
