"""`telework plan`: what a deploy would change, per host and operation, before anything changes.

Modules, one job each:

* `selection` - `--limit` resolved against the inventory's hosts and groups;
* `records`   - the change records (plain dataclasses, JSON-stable) a plan is made of;
* `engine`    - drives pyinfra's API in dry-run mode and fills the records;
* `render`    - text, Markdown (merge-request comment) and JSON output, redacted.

Importing this package is cheap and imports no pyinfra: only `engine` does, when a plan runs.
"""
