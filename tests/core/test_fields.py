"""MoneyField: Decimal in Python, exact integer cents in the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from incassa.core.fields import AmountFormField, MoneyField, from_cents, to_cents
from incassa.ledger.models import Receivable
from tests.factories import ReceivableFactory


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_cents_round_trip(cents):
    assert to_cents(from_cents(cents)) == cents


def test_fraction_of_a_cent_is_refused():
    with pytest.raises(ValueError):
        to_cents(Decimal("0.005"))


def test_float_is_refused():
    with pytest.raises(TypeError):
        MoneyField().get_prep_value(0.1)


def test_prep_value_is_cents():
    # 1.234,56 EUR = 123456 cents.
    assert MoneyField().get_prep_value(Decimal("1234.56")) == 123456


@pytest.mark.django_db
def test_sums_are_exact_decimals():
    # 0.10 added 10 times is exactly 1.00 (as a float sum it would be 0.9999999999999999).
    for _ in range(10):
        ReceivableFactory(amount=Decimal("0.10"), open_amount=Decimal("0.10"))
    total = Receivable.objects.aggregate(total=Sum("open_amount"))["total"]
    assert total == Decimal("1.00")
    assert isinstance(total, Decimal)
    assert Receivable.objects.filter(open_amount__gt=Decimal("0.09")).count() == 10


@pytest.mark.parametrize(
    ("language", "typed", "amount"),
    [
        # Italian writes the thousands with a full stop and the cents after a comma.
        ("it", "1.000,00", Decimal("1000.00")),
        ("it", "€ 1.234,56", Decimal("1234.56")),
        ("it", "12.345.678,9", Decimal("12345678.9")),
        # English the other way round.
        ("en", "1,000.00", Decimal("1000.00")),
        # A plain number with one or two decimals reads the same in either language.
        ("it", "1000.5", Decimal("1000.5")),
        ("en", "1000,50", Decimal("1000.50")),
        ("it", "800", Decimal("800")),
    ],
)
def test_amounts_are_read_as_the_user_writes_them(language, typed, amount):
    with translation.override(language):
        assert AmountFormField().clean(typed) == amount


@pytest.mark.parametrize(
    ("language", "typed"),
    [("it", "1,000.00"), ("en", "1.000,00"), ("it", "12,3,4"), ("it", "mille")],
)
def test_an_amount_in_another_convention_is_refused_with_an_example(language, typed):
    with translation.override(language):
        with pytest.raises(ValidationError) as error:
            AmountFormField().clean(typed)
        assert error.value.messages == [
            "Inserisci un importo, per esempio 1.234,56."
            if language == "it"
            else "Enter an amount such as 1,234.56."
        ]


def test_money_model_fields_get_the_amount_form_field():
    assert isinstance(Receivable._meta.get_field("open_amount").formfield(), AmountFormField)
