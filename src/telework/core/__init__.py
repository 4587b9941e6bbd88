"""What every layer shares and nothing else: no inventory, no pyinfra.

* `problems`   - Problem (file, line, rule, fix) and the one exception hierarchy (TeleworkError)
* `atomicfile` - replace a file in one step, mode set before a byte lands
* `gcpause`    - bulk object building without garbage-collector pauses
* `repo`       - the git state of an inventory: commit, uncommitted changes
"""
