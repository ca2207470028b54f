"""Amounts and dates in the user's language (``1.234,56 €`` and ``31/03/2026`` in Italian)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency, format_decimal
from django.utils import translation

_LOCALES = {"it": "it_IT", "en": "en_GB"}


def current_locale(language: str | None = None) -> str:
    language = (language or translation.get_language() or "it").split("-")[0]
    return _LOCALES.get(language, "en_GB")


def format_money(amount: Decimal | None, currency: str = "EUR", language: str | None = None) -> str:
    if amount is None:
        return ""
    return format_currency(amount, currency, locale=current_locale(language))


def format_number(value: Decimal | int | None, language: str | None = None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale=current_locale(language))


def format_day(value: dt.date | None, language: str | None = None) -> str:
    """A date as ``31/03/2026`` in Italian and English (both use day/month/year)."""
    if value is None:
        return ""
    return babel_format_date(value, format="dd/MM/yyyy", locale=current_locale(language))
