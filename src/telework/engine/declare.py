"""What deploys and telework's operations declare for the plan, instead of the plan guessing.

A plan must know two things about an operation that pyinfra does not record in a form it can
read: whether its content is a secret (never diffed, never shown), and when it runs only if
earlier operations changed the host (`_if=`). Both are declared here:

* `sensitive(operation)` wraps a pyinfra operation: each call marks the operation it added as
  sensitive for the plan (`is_sensitive`). `secret_file` is declared this way; any role's own
  operation whose content is a secret should be too.
* `changed(*operations)` is the condition deploys give `_if=`: true at apply time when any of
  the operations changed the host, and readable at plan time (`Changed.operations`), so the
  plan shows a handler as a change exactly when what triggers it would change.

The registry is kept per pyinfra State (weakly): a new plan starts empty.
"""

from __future__ import annotations

import functools
from weakref import WeakKeyDictionary

from telework.engine.adapter import current_state, meta_hash

_SENSITIVE: WeakKeyDictionary = WeakKeyDictionary()  # State -> {operation hash}


def sensitive(operation):
    """Declare every call of the pyinfra `operation` sensitive: its content is a secret."""

    @functools.wraps(operation)
    def call(*args, **kwargs):
        meta = operation(*args, **kwargs)
        _SENSITIVE.setdefault(current_state(), set()).add(meta_hash(meta))
        return meta

    call.telework_sensitive = True
    return call


def is_sensitive(state, op_hash: str) -> bool:
    """Was the operation `op_hash` of `state` added by a `sensitive` operation?"""
    return op_hash in _SENSITIVE.get(state, ())


class Changed:
    """`_if=changed(a, b)`: the operation runs when `a` or `b` changed the host.

    pyinfra calls it at execution, after `a` and `b` ran; the plan reads `operations` and
    decides from its own view of `a` and `b` (changed in this plan or not).
    """

    def __init__(self, *operations):
        if not operations:
            raise TypeError("changed() needs at least one operation")
        self.operations = operations

    def __call__(self) -> bool:
        return any(op.did_change() for op in self.operations)

    def hashes(self) -> list[str]:
        return [meta_hash(op) for op in self.operations]


def changed(*operations) -> Changed:
    """The condition "any of `operations` changed the host", for `_if=`."""
    return Changed(*operations)
