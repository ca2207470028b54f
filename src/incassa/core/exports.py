"""Safe values for files that users open in a spreadsheet."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"^[+-]?[\d.,\s]+$")


def neutralize_formula(value: object) -> object:
    """Keep a cell that a spreadsheet would run as a formula as plain text.

    A customer named ``=HYPERLINK(...)`` must stay text (OWASP "CSV injection"). Signed
    numbers such as ``-120,00`` are left alone, since they are data that users re-import.
    """
    if not isinstance(value, str) or not value:
        return value
    first = value[0]
    if first in "=@\t\r" or (first in "+-" and not _NUMBER.match(value)):
        return "'" + value
    return value
