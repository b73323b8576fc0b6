"""How every table, page and report prints a number: one rounding rule for all of them.

A mean over seeds computed in two orders can differ by float noise (81.875 and 81.87499999999999);
rounded as floats they print differently (81.88 and 81.87). :func:`fixed` first snaps the value to
:data:`SNAP_DECIMALS` decimals (far below any real difference, far above summation noise), then rounds
half away from zero, so ``report``, the site and ``check`` show the same digits for the same result.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

SNAP_DECIMALS = 9


def fixed(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, halves rounded away from zero after snapping float noise;
    ``nan`` / ``inf`` as Python prints them (callers decide how to show a missing value)."""
    v = float(value)
    if not math.isfinite(v):
        return f"{v:.{digits}f}"
    snapped = Decimal(repr(round(v, SNAP_DECIMALS)))
    text = f"{snapped.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):f}"
    return "0" + text[2:] if text.startswith("-0") and Decimal(text) == 0 else text


def rounded(value: float, digits: int = 2) -> float:
    """The number :func:`fixed` prints, as a float (for comparing values "at the shown precision")."""
    return float(fixed(value, digits))
