"""MoneyField: Decimal in Python, exact integer cents in the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import given
from hypothesis import strategies as st

from incassa.core.fields import MoneyField, from_cents, to_cents
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
