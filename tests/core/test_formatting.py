"""Money, dates and numbers as an Italian (and an English) user reads them.

Babel separates the amount from the euro sign with a no-break space (U+00A0), so that the
sign never wraps onto the next line; the expected strings spell it as ``\\xa0``.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from incassa.core.formatting import format_day, format_money, format_number


@pytest.mark.parametrize(
    ("language", "amount", "expected"),
    [
        ("it", Decimal("1234.56"), "1.234,56\xa0€"),
        ("it", Decimal("-30.00"), "-30,00\xa0€"),
        ("it", Decimal("1234567.8"), "1.234.567,80\xa0€"),
        ("it", Decimal("0"), "0,00\xa0€"),
        ("en", Decimal("1234.56"), "€1,234.56"),
        ("en", Decimal("-30.00"), "-€30.00"),
    ],
)
def test_format_money(language, amount, expected):
    assert format_money(amount, language=language) == expected


def test_format_money_of_nothing_is_empty():
    assert format_money(None) == ""


@pytest.mark.parametrize("language", ["it", "en"])
def test_format_day_is_day_month_year_in_both_languages(language):
    assert format_day(dt.date(2026, 3, 31), language=language) == "31/03/2026"
    assert format_day(None, language=language) == ""


def test_format_number():
    assert format_number(1234567, language="it") == "1.234.567"
    assert format_number(Decimal("12.5"), language="it") == "12,5"
    assert format_number(1234567, language="en") == "1,234,567"


def test_money_follows_the_active_language():
    with translation.override("it"):
        assert format_money(Decimal("1234.56")) == "1.234,56\xa0€"
    with translation.override("en"):
        assert format_money(Decimal("1234.56")) == "€1,234.56"


def test_template_filters():
    template = Template(
        "{% load incassa %}{{ amount|money }} {{ due|day }} {{ count|number }} "
        "{{ part|percent:whole }}"
    )
    context = Context(
        {
            "amount": Decimal("1234.56"),
            "due": dt.date(2026, 3, 31),
            "count": 1500,
            "part": 1,
            "whole": 4,
        }
    )
    with translation.override("it"):
        assert template.render(context) == "1.234,56\xa0€ 31/03/2026 1.500 25%"
    with translation.override("en"):
        assert template.render(context) == "€1,234.56 31/03/2026 1,500 25%"


def test_remembered_amounts_keep_their_sign_and_language():
    # Formatted once each, then from memory: -0.00 and 0.00 are equal Decimals but print
    # differently, and the same amount prints differently in each language.
    for _ in range(2):
        assert format_money(Decimal("0.00"), language="it") == "0,00\xa0€"
        assert format_money(Decimal("-0.00"), language="it") == "-0,00\xa0€"
        assert format_money(Decimal("1234.5"), language="it") == "1.234,50\xa0€"
        assert format_money(Decimal("1234.5"), language="en") == "€1,234.50"
