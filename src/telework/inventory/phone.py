"""Phone numbers as people read them: DIN 5008, from the E.164 digits the inventory keeps.

Data (the model, JSON output, SIP and PBX configuration) holds E.164 (+49999912135); letters,
`telework person show` and error messages print DIN 5008's international form: country code,
area code and number in the grouping of the number block as it is written, the extension after
a hyphen (+49 9999 12-1357). A number outside every block is grouped after its country code only.
"""

from __future__ import annotations

from collections.abc import Iterable

from telework.inventory.model import NumberBlock


def din5008(number: str, blocks: Iterable[NumberBlock] = ()) -> str:
    """`number` (E.164) for people: '+49 9999 12-1357' with the block it lies in."""
    best = None
    for block in blocks:
        if number.startswith(block.prefix) and len(number) > len(block.prefix):
            if best is None or len(block.prefix) > len(best.prefix):
                best = block
    if best is not None:
        return f"{best.written_prefix}-{number[len(best.prefix):]}"
    if number.startswith("+49") and len(number) > 3:
        return f"+49 {number[3:]}"
    return number
