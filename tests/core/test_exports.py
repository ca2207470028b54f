"""Formula neutralisation of values written to files that users open in a spreadsheet."""

from __future__ import annotations

import pytest

from incassa.core.exports import neutralize_formula


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\tTAB", "'\tTAB"),
        ("-120,00", "-120,00"),
        ("+1.234,56", "+1.234,56"),
        ("Rossi S.r.l.", "Rossi S.r.l."),
        ("", ""),
        (None, None),
        (42, 42),
    ],
)
def test_neutralize_formula(value, expected):
    assert neutralize_formula(value) == expected
