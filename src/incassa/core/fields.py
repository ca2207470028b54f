"""Model and form fields for money.

Amounts are stored as whole cents in a 64-bit integer column and exposed as ``Decimal``
with two places. SQLite has no exact decimal type (its NUMERIC affinity stores REALs), so
integer cents are the only storage that keeps sums exact on both SQLite and PostgreSQL,
and they are also the cheapest to bulk-load.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import NumberFormatError, parse_decimal
from django import forms
from django.core import exceptions
from django.db import models
from django.utils.translation import gettext_lazy as _

from incassa.core.formatting import current_locale

CENT = Decimal("0.01")


def to_cents(value: Decimal | int | str) -> int:
    """Whole cents of an amount; refuses amounts with a fraction of a cent."""
    amount = Decimal(value)
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{value} has a fraction of a cent")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def quantize_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class MoneyField(models.BigIntegerField):
    """A ``Decimal`` amount with two places, stored as integer cents."""

    description = "Amount of money (stored as cents)"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Decimal | None:
        if value is None:
            return None
        return from_cents(int(value))

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return Decimal(str(value)).quantize(CENT)
        except ArithmeticError as exc:
            raise exceptions.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": value}
            ) from exc

    def get_prep_value(self, value: Any) -> int | None:
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value
        if isinstance(value, float):
            raise TypeError("Money must be Decimal, never float")
        return to_cents(quantize_money(Decimal(value)))

    def formfield(self, **kwargs: Any) -> forms.Field:
        defaults = {"form_class": AmountFormField, "decimal_places": 2, "max_digits": 17}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)


# A plain machine-style amount ("1234.5", "1234,50"): accepted in any language, because a
# number pasted from a system or typed on a numeric keypad has no thousands separator.
_PLAIN_AMOUNT = re.compile(r"^-?\d+(?:[.,]\d{1,2})?$")


class AmountFormField(forms.DecimalField):
    """An amount typed as the user writes it: ``1.234,56`` in Italian, ``1,234.56`` in
    English, with or without the euro sign; Django's own field only accepts the thousands
    separator when ``USE_THOUSAND_SEPARATOR`` is on, so ``1.000,00`` would be refused."""

    default_error_messages = {"invalid": _("Enter an amount such as 1,234.56.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("max_digits", 17)
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")

    def to_python(self, value: Any) -> Decimal | None:
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        text = str(value).replace("€", "").replace("\u00a0", "").replace(" ", "").strip()
        if _PLAIN_AMOUNT.match(text):
            return Decimal(text.replace(",", "."))
        try:
            return parse_decimal(text, locale=current_locale(), strict=True)
        except (NumberFormatError, ArithmeticError, ValueError) as exc:
            invalid = self.error_messages["invalid"]
            raise exceptions.ValidationError(invalid, code="invalid") from exc
