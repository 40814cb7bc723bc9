"""Counts in words: ``1 front``, ``2 fronts``, ``1,000 runs`` (never ``1 fronts``)."""

from __future__ import annotations

#: Plurals that are not the singular plus ``s``.
IRREGULAR = {"party": "parties", "casualty": "casualties", "chunk file": "chunk files"}


def count(number: float, singular: str, plural: str | None = None) -> str:
    """``number`` and the noun that agrees with it; whole numbers with thousands separators.

    >>> count(1, "front"), count(3, "front"), count(1_000, "run"), count(2, "party")
    ('1 front', '3 fronts', '1,000 runs', '2 parties')
    """
    noun = singular if number == 1 else (plural or IRREGULAR.get(singular) or f"{singular}s")
    shown = f"{int(number):,}" if float(number).is_integer() else f"{number:,.2f}"
    return f"{shown} {noun}"
