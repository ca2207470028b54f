"""Amounts and dates in the user's language (``1.234,56 €`` and ``31/03/2026`` in Italian)."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_decimal
from django.utils import translation

_LOCALES = {"it": "it_IT", "en": "en_GB"}


def current_locale(language: str | None = None) -> str:
    language = (language or translation.get_language() or "it").split("-")[0]
    return _LOCALES.get(language, "en_GB")


@functools.cache
def _locale(name: str) -> Locale:
    """Babel parses a locale name on every call otherwise: a long list's amounts pay it
    hundreds of times."""
    return Locale.parse(name)


def format_money(amount: Decimal | None, currency: str = "EUR", language: str | None = None) -> str:
    if amount is None:
        return ""
    return _money(str(amount), currency, current_locale(language))


@functools.lru_cache(maxsize=65_536)
def _money(amount: str, currency: str, locale: str) -> str:
    """Babel's currency formatting costs tens of microseconds (it evaluates plural rules
    for the currency's name every time); a message shows each of its amounts several times
    (text, HTML, PDF), so they are remembered. Keyed by the amount's text, so that ``-0.00``
    and ``0.00`` stay apart."""
    return format_currency(Decimal(amount), currency, locale=_locale(locale))


def format_number(value: Decimal | int | None, language: str | None = None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale=_locale(current_locale(language)))


def format_day(value: dt.date | None, language: str | None = None) -> str:
    """A date as ``31/03/2026`` in Italian and English (both use day/month/year, so the
    pattern needs no locale data)."""
    if value is None:
        return ""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
