"""`telework plan`: what an apply would change, per target, before anything changes.

Modules, one job each:

* `records`   - the change records (plain dataclasses, JSON-stable) a plan is made of;
* `targets`   - targets of two kinds: SSH hosts (through telework.engine) and API reconcilers;
* `planner`   - every target of an inventory, managed or not, planned and executed by ring;
* `selection` - `--limit` resolved against the inventory's targets and groups;
* `render`    - text, Markdown (merge-request comment) and JSON output, redacted;
* `gitlab`    - the Markdown plan as a merge-request comment.

Importing this package is cheap and imports no pyinfra: the engine does, when a plan runs.
"""
