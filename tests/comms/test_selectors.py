"""What a message says, read from the database (``incassa.comms.selectors``): the payment
reference and reason, statutory interest on the shipped rate table, the compensation, which
template and which language."""

from __future__ import annotations

import datetime as dt
import string
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import iso11649

from incassa.comms import selectors
from incassa.comms.interest import Kind, RateTable
from incassa.comms.models import MessageTemplate
from incassa.ledger.models import Customer, DocumentType
from tests.factories import CompanyFactory, CustomerFactory, ReceivableFactory

# The shipped table (migration 0002) ends with the ECB rate of 2026 H1 and the legal rate of
# 2026: 2025 H1 3,15 + 8 = 11,15%; 2025 H2 and 2026 H1 2,15 + 8 = 10,15%; legal 2026 1,60%.


# --------------------------------------------------------------------------------------
# Payment reference and reason (pure: the customer is never saved)
# --------------------------------------------------------------------------------------


def test_payment_reference_of_the_standard_example():
    # ISO 11649's own example is RF18 5390 0754 7034: customer code "5390", message 7547034
    # (written on 8 digits: 07547034).
    reference = selectors.payment_reference(Customer(code="5390"), 7547034)
    assert reference == "RF18539007547034"


def test_payment_reference_keeps_the_codes_letters_and_digits():
    reference = selectors.payment_reference(Customer(code="c-001/b"), 42)
    # "c-001/b" -> "C001B"; 42 -> "00000042"
    assert reference[4:] == "C001B00000042"
    assert iso11649.is_valid(reference)


@settings(max_examples=200, deadline=None)
@given(
    code=st.text(
        alphabet=string.ascii_letters + string.digits + string.punctuation + " ",
        min_size=1,
        max_size=30,
    ),
    number=st.integers(min_value=1, max_value=10**8),
)
def test_payment_reference_is_always_valid(code, number):
    reference = selectors.payment_reference(Customer(code=code), number)
    assert iso11649.is_valid(reference)
    assert reference.startswith("RF") and len(reference) <= 25
    letters = "".join(c for c in code.upper() if c.isalnum())[:10]
    body = reference[4:]
    # The customer's code (its first ten letters and digits), then the message number.
    assert body.startswith(letters)
    assert int(body[len(letters) :]) == number


REFERENCE = "RF18C00100000123"


def test_remittance_names_every_document_that_fits():
    assert (
        selectors.remittance_text(["FT-1", "FT-2", "FT-3"], REFERENCE, language="it")
        == "Fatture FT-1, FT-2, FT-3 ref. RF18C00100000123"
    )
    assert selectors.remittance_text(["FT-1"], "", language="it") == "Fattura FT-1"
    assert (
        selectors.remittance_text(["FT-1", "FT-2"], REFERENCE, language="en")
        == "Invoices FT-1, FT-2 ref. RF18C00100000123"
    )


def test_remittance_says_how_many_more_when_they_do_not_fit():
    documents = [f"FT-2026/{n:04d}" for n in range(1, 31)]  # 30 numbers of 12 characters
    italian = selectors.remittance_text(documents, REFERENCE, language="it")
    # With n documents listed and 30 - n more: "Fatture " (8) + 12n + ", " between them
    # (2(n - 1)) + " e altre M" (9 + 2 digits) + " ref. RF18C00100000123" (22)
    # = 14n + 39: n = 7 gives 137 <= 140, n = 8 gives 151.
    assert italian == (
        "Fatture FT-2026/0001, FT-2026/0002, FT-2026/0003, FT-2026/0004, FT-2026/0005, "
        "FT-2026/0006, FT-2026/0007 e altre 23 ref. RF18C00100000123"
    )
    assert len(italian) == 137
    english = selectors.remittance_text(documents, REFERENCE, language="en")
    # "Invoices " (9) + 14n - 2 + " and 23 more" (12) + 22 = 14n + 41: n = 7 gives 139.
    assert english.endswith("FT-2026/0007 and 23 more ref. RF18C00100000123")
    assert len(english) == 139


document_numbers = st.text(
    alphabet=string.ascii_uppercase + string.digits + "-/", min_size=1, max_size=40
)


@settings(max_examples=200, deadline=None)
@given(
    documents=st.lists(document_numbers, min_size=1, max_size=60, unique=True),
    reference=st.sampled_from(["", REFERENCE, "RF45ABCDEFGHIJ100000000"]),
    language=st.sampled_from(["it", "en"]),
)
def test_remittance_always_fits_a_sepa_transfer(documents, reference, language):
    text = selectors.remittance_text(documents, reference, language=language)
    assert len(text) <= 140
    several = len(documents) > 1
    prefix = {"it": "Fatture" if several else "Fattura", "en": "Invoices" if several else "Invoice"}
    suffix = f" ref. {reference}" if reference else ""

    def more(n: int) -> str:
        return f" e altre {n}" if language == "it" else f" and {n} more"

    everything = f"{prefix[language]} {', '.join(documents)}{suffix}"
    if len(everything) <= 140:
        assert text == everything
        return
    # Otherwise as many documents as fit, in order, then how many more there are.
    shortened = {
        k: f"{prefix[language]} {', '.join(documents[:k])}{more(len(documents) - k)}{suffix}"
        for k in range(1, len(documents))
    }
    listed = next((k for k, candidate in shortened.items() if candidate == text), None)
    if listed is None:
        # Not even one fits: the number of documents instead.
        assert all(len(candidate) > 140 for candidate in shortened.values())
        assert text == f"{prefix[language]} {len(documents)}{suffix}"[:140]
    else:
        assert len(shortened.get(listed + 1, everything)) > 140


# --------------------------------------------------------------------------------------
# Interest on the shipped rate table
# --------------------------------------------------------------------------------------


@pytest.fixture
def rates(db):
    return selectors.rate_table()


def test_rates_covered_until(rates):
    # ECB: the last half-year is 2026 H1, which ends on 30/06/2026; legal: the year 2026.
    assert selectors.rates_covered_until(rates, Kind.COMMERCIAL) == dt.date(2026, 6, 30)
    assert selectors.rates_covered_until(rates, Kind.FOOD) == dt.date(2026, 6, 30)
    assert selectors.rates_covered_until(rates, Kind.LEGAL) == dt.date(2026, 12, 31)


def test_rates_covered_until_on_a_hand_made_table():
    second_half = RateTable(ecb={dt.date(2025, 7, 1): Decimal("2.15")}, legal={})
    assert selectors.rates_covered_until(second_half, Kind.COMMERCIAL) == dt.date(2025, 12, 31)
    assert selectors.rates_covered_until(second_half, Kind.LEGAL) is None
    empty = RateTable(ecb={}, legal={})
    assert selectors.rates_covered_until(empty, Kind.COMMERCIAL) is None


def test_item_interest_worked_by_hand(company, rates):
    item = ReceivableFactory(
        company=company, due_date=dt.date(2025, 1, 31), open_amount=Decimal("1000.00")
    )
    interest, until, provisional = selectors.item_interest(
        [item], kind=Kind.COMMERCIAL, today=dt.date(2025, 12, 31), rates=rates
    )
    # 01/02-30/06/2025: 150 days at 11,15%: 1000 * 11.15 * 150 / 36500 = 45.8219 -> 45.82
    # 01/07-31/12/2025: 184 days at 10,15%: 1000 * 10.15 * 184 / 36500 = 51.1671 -> 51.17
    # 45.82 + 51.17 = 96.99
    assert interest == {item.pk: Decimal("96.99")}
    assert (until, provisional) == (dt.date(2025, 12, 31), False)


def test_no_interest_before_the_day_after_the_due_date(company, rates):
    today = dt.date(2026, 3, 31)
    due_today = ReceivableFactory(company=company, due_date=today)
    not_yet_due = ReceivableFactory(company=company, due_date=dt.date(2026, 4, 30))
    credit_note = ReceivableFactory(
        company=company,
        due_date=dt.date(2026, 1, 31),
        document_type=DocumentType.CREDIT_NOTE,
        open_amount=Decimal("-50.00"),
    )
    interest, until, provisional = selectors.item_interest(
        [due_today, not_yet_due, credit_note], kind=Kind.COMMERCIAL, today=today, rates=rates
    )
    assert interest == {
        due_today.pk: Decimal("0.00"),
        not_yet_due.pk: Decimal("0.00"),
        credit_note.pk: Decimal("0.00"),
    }
    assert (until, provisional) == (today, False)


def test_interest_stops_where_the_rate_table_does(company, rates):
    late = ReceivableFactory(
        company=company, due_date=dt.date(2025, 12, 31), open_amount=Decimal("1000.00")
    )
    # Fell due after the last day the table covers: nothing can be computed yet.
    recent = ReceivableFactory(
        company=company, due_date=dt.date(2026, 8, 1), open_amount=Decimal("1000.00")
    )
    interest, until, provisional = selectors.item_interest(
        [late, recent], kind=Kind.COMMERCIAL, today=dt.date(2026, 11, 24), rates=rates
    )
    # The table ends with 2026 H1: interest until 30/06/2026, provisional.
    # 01/01-30/06/2026: 31 + 28 + 31 + 30 + 31 + 30 = 181 days at 10,15%:
    # 1000 * 10.15 * 181 / 36500 = 50.3329 -> 50.33
    assert interest == {late.pk: Decimal("50.33"), recent.pk: Decimal("0.00")}
    assert (until, provisional) == (dt.date(2026, 6, 30), True)


def test_legal_interest_runs_to_today_when_the_year_is_covered(company, rates):
    item = ReceivableFactory(
        company=company, due_date=dt.date(2025, 12, 31), open_amount=Decimal("1000.00")
    )
    interest, until, provisional = selectors.item_interest(
        [item], kind=Kind.LEGAL, today=dt.date(2026, 11, 24), rates=rates
    )
    # 01/01-24/11/2026: 31+28+31+30+31+30+31+31+30+31 + 24 = 328 days at 1,60%:
    # 1000 * 1.60 * 328 / 36500 = 14.3781 -> 14.38
    assert interest == {item.pk: Decimal("14.38")}
    assert (until, provisional) == (dt.date(2026, 11, 24), False)


def test_interest_before_the_table_starts_is_provisional(company, rates):
    # The shipped ECB rates start in 2013: an item due in 2012 cannot be computed.
    old = ReceivableFactory(company=company, due_date=dt.date(2012, 6, 30))
    interest, _until, provisional = selectors.item_interest(
        [old], kind=Kind.COMMERCIAL, today=dt.date(2026, 3, 31), rates=rates
    )
    assert interest == {old.pk: Decimal("0.00")}
    assert provisional is True


def test_message_facts_claim_interest_and_compensation(company, rates):
    customer = CustomerFactory(company=company, code="001", name="Rossi S.r.l.")
    first = ReceivableFactory(
        company=company,
        customer=customer,
        document_number="FT-7",
        due_date=dt.date(2025, 1, 31),
        open_amount=Decimal("1000.00"),
    )
    second = ReceivableFactory(
        company=company,
        customer=customer,
        document_number="FT-7",
        due_date=dt.date(2026, 1, 31),
        open_amount=Decimal("1000.00"),
    )
    facts = selectors.message_facts(
        company=company,
        customer=customer,
        receivables=[first, second],
        language="it",
        today=dt.date(2025, 12, 31),
        reference_number=5,
        claims_interest=True,
        rates=rates,
    )
    # The second installment is not due yet: no interest on it, but the invoice is late
    # (through its first installment): 40,00 of compensation, once.
    assert [i.interest for i in facts.items] == [Decimal("96.99"), Decimal("0.00")]
    assert facts.compensation == Decimal("40.00")
    # 1000 + 1000 open + 96,99 + 40,00 = 2.136,99
    assert facts.amount_to_pay == Decimal("2136.99")
    assert facts.interest_rate == Decimal("10.15")  # 2025 H2: 2,15 + 8
    assert facts.payment_reference == "RF" + facts.payment_reference[2:4] + "00100000005"
    # One document number, listed once.
    assert facts.remittance == f"Fattura FT-7 ref. {facts.payment_reference}"


# --------------------------------------------------------------------------------------
# Compensation (art. 6): once per late invoice
# --------------------------------------------------------------------------------------


def build(number, *, amount="100.00", kind=DocumentType.INVOICE):
    return ReceivableFactory.build(
        document_number=number, open_amount=Decimal(amount), document_type=kind
    )


def test_two_installments_of_one_invoice_count_once():
    items = [
        build("FT-1"),
        build("FT-1"),  # its second installment
        build("FT-2"),
        build("ND-1", kind=DocumentType.DEBIT_NOTE),
        build("NC-1", amount="-30.00", kind=DocumentType.CREDIT_NOTE),
        build("NC-2", amount="30.00", kind=DocumentType.CREDIT_NOTE),
        build("FT-3", amount="0.00"),  # nothing left open
    ]
    # FT-1, FT-2, ND-1
    assert selectors.invoices_owed_compensation(items, kind=Kind.COMMERCIAL) == 3
    assert selectors.invoices_owed_compensation(items, kind=Kind.FOOD) == 3
    assert selectors.invoices_owed_compensation(items, kind=Kind.LEGAL) == 0
    assert selectors.invoices_owed_compensation([], kind=Kind.COMMERCIAL) == 0


def test_credit_notes_alone_owe_nothing():
    items = [build("NC-1", amount="-30.00", kind=DocumentType.CREDIT_NOTE)]
    assert selectors.invoices_owed_compensation(items, kind=Kind.COMMERCIAL) == 0


# --------------------------------------------------------------------------------------
# Which template, which language
# --------------------------------------------------------------------------------------


def template(company, code, kind, language):
    return MessageTemplate.objects.get(company=company, code=code, kind=kind, language=language)


def found(company, code, kind, language):
    t = selectors.template_for(company=company, code=code, kind=kind, language=language)
    return None if t is None else (t.code, t.kind, t.language)


def test_template_for_the_exact_kind_and_language(company):
    # A new company has every shipped text: each is found as it is.
    for t in MessageTemplate.objects.filter(company=company):
        assert found(company, t.code, t.kind, t.language) == (t.code, t.kind, t.language)


def test_template_for_falls_back_to_the_other_kind_then_to_italian(company):
    # The agent notice is an email only: its letter is the email's text.
    assert found(company, "agent-notice", "letter", "en") == ("agent-notice", "email", "en")

    template(company, "first-reminder", "letter", "en").delete()
    assert found(company, "first-reminder", "letter", "en") == ("first-reminder", "email", "en")

    template(company, "first-reminder", "email", "en").delete()
    assert found(company, "first-reminder", "letter", "en") == ("first-reminder", "letter", "it")
    assert found(company, "first-reminder", "email", "en") == ("first-reminder", "email", "it")

    template(company, "first-reminder", "letter", "it").delete()
    assert found(company, "first-reminder", "letter", "en") == ("first-reminder", "email", "it")

    template(company, "first-reminder", "email", "it").delete()
    assert found(company, "first-reminder", "letter", "en") is None
    assert found(company, "no-such-step", "email", "it") is None


def test_template_for_never_takes_another_companys(company):
    other = CompanyFactory(code="other")
    MessageTemplate.objects.filter(company=company, code="pre-due").delete()
    assert found(company, "pre-due", "email", "it") is None
    assert found(other, "pre-due", "email", "it") == ("pre-due", "email", "it")


@pytest.mark.parametrize(
    ("language", "country", "expected"),
    [
        ("en", "IT", "en"),  # chosen on the customer
        ("it", "DE", "it"),  # chosen on the customer, even abroad
        ("", "IT", "it"),
        ("", "sm", "it"),  # San Marino and the Vatican speak Italian
        ("", "VA", "it"),
        ("", "DE", "en"),
        ("fr", "FR", "en"),  # a language Incassa does not write: by the country
        ("", "", "it"),  # no country: Italian
    ],
)
def test_customer_language(language, country, expected):
    customer = Customer(code="X", language=language, country=country)
    assert selectors.customer_language(customer) == expected
