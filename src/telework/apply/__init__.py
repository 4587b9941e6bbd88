"""`telework apply`: a reviewed plan, applied ring by ring, recorded for auditors.

Modules, one job each:

* `lock`      - one apply at a time per inventory repository; stale locks are recognised;
* `rings`     - hosts grouped by rollout ring, in ring order, and when a ring stops the rollout;
* `runrecord` - who applied which commit when, and what happened on each host, as a git note;
* `run`       - the apply itself, tying these to the plan engine (telework.engine.deployment).
"""
