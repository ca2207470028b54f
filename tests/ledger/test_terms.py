"""Reading a customer's payment terms as Italian ERPs export them: pure logic, no database.

Each string below is written the way ERP customer masters name their terms (RB = ricevuta
bancaria, BB = bonifico bancario, RD = rimessa diretta, DF = data fattura, FM = fine mese).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incassa.ledger.terms import PaymentTerms, parse_payment_terms


@pytest.mark.parametrize(
    ("text", "days", "end_of_month"),
    [
        ("RB 60 gg DFFM", 60, True),
        ("Ri.Ba. 60 gg d.f.f.m.", 60, True),
        ("RI.BA. 60 GG. D.F.F.M.", 60, True),
        ("R.B. 60 GG DF FM", 60, True),
        ("RB 30 GG D.F. F.M.", 30, True),
        ("RB 30 GG DATA FATT. F.M.", 30, True),
        ("Bonifico 30 giorni f.m.", 30, True),
        ("Bonifico bancario 30 gg data fattura fine mese", 30, True),
        ("BONIFICO 30 GG FINEMESE", 30, True),
        ("BONIF. 30 GG.FM", 30, True),
        ("60gg.dffm", 60, True),
        ("Bonifico 120 gg fine mese", 120, True),
        ("Net 30 days EOM", 30, True),
        ("30 days end of the month", 30, True),
        # Several periods: the first installment's.
        ("RB 30/60/90 FM", 30, True),
        ("R.B. 30-60 gg d.f.f.m.", 30, True),
        ("Bonifico 30/60/90/120 gg fm", 30, True),
        # What comes after the period (a day of the next month) does not change it.
        ("RB 60 GG FM + 10", 60, True),
        ("R.B. 60 GG DFFM AL 10", 60, True),
        # Days from the invoice date.
        ("60 DF", 60, False),
        ("B.B. 90 GG D.F.", 90, False),
        ("BB 30GG DF", 30, False),
        ("R.D. 30 gg", 30, False),
        ("Bonifico 60 gg data ricevimento fattura", 60, False),
        ("90", 90, False),
        ("bonifico 0 gg", 0, False),
        # Immediate payment.
        ("Rimessa diretta vista fattura", 0, False),
        ("RIMESSA DIRETTA A VISTA", 0, False),
        ("RD vista", 0, False),
        ("Contanti", 0, False),
        ("Pagamento anticipato", 0, False),
        ("Bonifico anticipato", 0, False),
        ("Payment on receipt", 0, False),
    ],
)
def test_italian_erp_terms(text, days, end_of_month):
    assert parse_payment_terms(text) == PaymentTerms(days, end_of_month)


@pytest.mark.parametrize(
    "text", ["", "   ", "Bonifico", "Rimessa diretta", "Contrassegno", "RIBA", "Anno 2025"]
)
def test_terms_that_name_no_days(text):
    # "Anno 2025": a four-digit number is a year, not a number of days.
    assert parse_payment_terms(text) is None


def test_none_is_no_terms():
    assert parse_payment_terms(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "days"),
    [("RIBA 3 RATE 30/60/90 GG DFFM", 30), ("RB 2 rate 60/90 FM", 60)],
)
def test_number_of_installments_is_not_a_number_of_days(text, days):
    assert parse_payment_terms(text) == PaymentTerms(days, True)


@pytest.mark.parametrize(
    ("text", "invoice_date", "due"),
    [
        # 60 days end of month from 20/03/2025: two whole months on, 31/05/2025.
        ("RB 60 gg DFFM", dt.date(2025, 3, 20), dt.date(2025, 5, 31)),
        # From 31/12/2024: the end of February 2025 (not a day of March).
        ("RB 60 gg DFFM", dt.date(2024, 12, 31), dt.date(2025, 2, 28)),
        # 30 days from 20/03/2025: 11 to 31/03, 19 into April.
        ("Bonifico 30 gg DF", dt.date(2025, 3, 20), dt.date(2025, 4, 19)),
        # 45 days end of month: 20/03 + 45 = 04/05/2025 (11 + 30 + 4), then the month's end.
        ("Bonifico 45 gg f.m.", dt.date(2025, 3, 20), dt.date(2025, 5, 31)),
        ("Rimessa diretta vista fattura", dt.date(2025, 3, 20), dt.date(2025, 3, 20)),
    ],
)
def test_due_date_from_the_terms(text, invoice_date, due):
    assert parse_payment_terms(text).due_date(invoice_date) == due


# --- properties --------------------------------------------------------------------------------

END_OF_MONTH = ["DFFM", "gg DFFM", "gg d.f.f.m.", "giorni fine mese", "GG F.M.", "gg df fm", "FM"]
FROM_INVOICE_DATE = ["", "gg", "GG DF", "gg d.f.", "giorni data fattura", "days"]
METHODS = ["", "RB ", "Ri.Ba. ", "Bonifico ", "B.B. ", "R.D. ", "SEPA "]
CASES = [str, str.lower, str.upper, str.title]


@given(days=st.integers(0, 365))
def test_any_days_dffm_parses_to_those_days_at_the_end_of_the_month(days):
    assert parse_payment_terms(f"{days} gg DFFM") == PaymentTerms(days, True)


@given(
    days=st.integers(0, 365),
    method=st.sampled_from(METHODS),
    suffix=st.sampled_from(END_OF_MONTH),
    case=st.sampled_from(CASES),
)
def test_any_spelling_of_end_of_month(days, method, suffix, case):
    assert parse_payment_terms(case(f"{method}{days} {suffix}")) == PaymentTerms(days, True)


@given(
    days=st.integers(0, 365),
    method=st.sampled_from(METHODS),
    suffix=st.sampled_from(FROM_INVOICE_DATE),
    case=st.sampled_from(CASES),
)
def test_any_days_from_the_invoice_date(days, method, suffix, case):
    assert parse_payment_terms(case(f"{method}{days} {suffix}")) == PaymentTerms(days, False)


@given(periods=st.lists(st.integers(0, 365), min_size=1, max_size=6))
def test_only_the_first_of_several_periods_counts(periods):
    text = "RB " + "/".join(str(p) for p in periods) + " FM"
    assert parse_payment_terms(text) == PaymentTerms(periods[0], True)


@given(text=st.text(max_size=60))
def test_any_text_gives_terms_or_none_and_never_fails(text):
    terms = parse_payment_terms(text)
    # At most three digits are read as days.
    assert terms is None or 0 <= terms.days <= 999


@given(
    days=st.integers(0, 365),
    invoice_date=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)),
)
def test_days_from_the_invoice_date_are_added_as_they_are(days, invoice_date):
    due = parse_payment_terms(f"Bonifico {days} gg DF").due_date(invoice_date)
    assert due == invoice_date + dt.timedelta(days=days)
