"""Money in and out of the API: strings with two decimals, never floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from incassa.api.schemas import ActivityIn, LedgerOut, PromiseIn


def test_money_goes_out_as_a_string_with_two_decimals():
    out = LedgerOut(open_items=1, open_amount=Decimal("1250.5"), customers=1)
    assert out.model_dump(mode="json")["open_amount"] == "1250.50"
    negative = LedgerOut(open_items=1, open_amount=Decimal("-100"), customers=1)
    assert negative.model_dump(mode="json")["open_amount"] == "-100.00"


@pytest.mark.parametrize(
    ("text", "amount"), [("800", "800"), ("800.5", "800.5"), ("800.50", "800.50")]
)
def test_amounts_come_in_as_strings(text, amount):
    promise = PromiseIn(customer="001", items=[1], amount=text, promised_on="2026-04-15")
    assert promise.amount == Decimal(amount)


@pytest.mark.parametrize("value", [800, 800.5, "800,50", "1e3", "0", "0.00", "-5", "8.001", ""])
def test_numbers_and_other_shapes_are_refused(value):
    with pytest.raises(ValidationError):
        PromiseIn(customer="001", items=[1], amount=value, promised_on="2026-04-15")


def test_an_activity_only_takes_known_choices():
    assert ActivityIn(customer="001", kind="call").reaction == "none"
    with pytest.raises(ValidationError):
        ActivityIn(customer="001", kind="fax")
