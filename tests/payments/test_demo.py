"""The demo's bank statement: a balanced camt.053 whose credits are matched, proposed or left
to be matched by hand as the plan says, the same on every build."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import pytest
from schwifty import IBAN as SchwiftyIBAN

from incassa.ledger import demo
from incassa.ledger.demo_einvoices import demo_einvoices_import, demo_einvoices_reset
from incassa.ledger.models import EInvoiceInstallment, ImportStatus
from incassa.payments import matching
from incassa.payments.demo import (
    PLAN,
    DemoCredit,
    DemoDebit,
    DemoItem,
    DemoStatement,
    camt053_xml,
    demo_payments_reset,
    demo_statement_import,
    payer_iban,
    statement_generate,
)
from incassa.payments.models import BankEntry, EntryStatus, PaymentAllocation
from incassa.payments.statements import read_statements

AS_OF = dt.date(2026, 3, 31)
OLD = AS_OF - dt.timedelta(days=40)  # issued long enough ago to be paid
IBAN = "IT60X0542811101000000123456"


def item(code: str, number: str, amount: str, *, date: dt.date = OLD, due=AS_OF) -> DemoItem:
    return DemoItem(code, f"Cliente {code} S.r.l.", number, date, due, Decimal(amount))


def names(items: list[DemoItem]) -> dict[str, str]:
    return {i.customer_code: i.customer_name for i in items}


def generate(items: list[DemoItem], plan: dict[str, int], seed: int = 1) -> DemoStatement:
    return statement_generate(
        items=items,
        customer_names=names(items),
        as_of=AS_OF,
        account_iban=IBAN,
        seed=seed,
        plan=plan,
    )


def quoted(credit: DemoCredit) -> str:
    return " ".join([credit.remittance, *(number for number, _date in credit.references)])


# --------------------------------------------------------------------------------------
# What each kind of credit pays
# --------------------------------------------------------------------------------------


def test_several_invoices_of_one_customer():
    items = [item("ALFA", "FT2026/00101", "300.00"), item("ALFA", "FT2026/00102", "200.00")]
    (credit,) = generate(items, {"invoices": 1}).credits
    # Both invoices (the only customer with two that can be quoted): 300.00 + 200.00.
    assert (credit.kind, credit.amount) == ("invoices", Decimal("500.00"))
    assert "101" in quoted(credit) and "102" in quoted(credit)
    assert credit.payer_name.upper() == "CLIENTE ALFA S.R.L."


def test_one_invoice_in_full_with_its_installments():
    items = [item("BETA", "FT2026/00201", "150.00"), item("BETA", "FT2026/00201", "150.25")]
    (credit,) = generate(items, {"invoice": 1}).credits
    # The open installments of the invoice together: 150.00 + 150.25.
    assert (credit.kind, credit.amount) == ("invoice", Decimal("300.25"))
    assert "201" in quoted(credit)


def test_a_partial_payment_is_a_round_sum():
    items = [item("GAMMA", "FT2026/00301", "1000.00")]
    (credit,) = generate(items, {"partial": 1}).credits
    # 30% to 60% of 1000.00 rounded down to ten euros: 300.00 to 600.00.
    assert credit.kind == "partial"
    assert Decimal("300.00") <= credit.amount <= Decimal("600.00")
    assert credit.amount % 10 == 0
    assert "301" in quoted(credit)


def test_payments_without_a_reference():
    # 120.00 is owed once, 80.00 twice (two equal installments).
    items = [
        item("DELTA", "FT2026/00401", "120.00"),
        item("DELTA", "FT2026/00402", "80.00", due=AS_OF),
        item("DELTA", "FT2026/00402", "80.00", due=AS_OF + dt.timedelta(days=30)),
    ]
    (payer,) = generate(items, {"payer": 1}).credits
    (ambiguous,) = generate(items, {"ambiguous": 1}).credits
    assert (payer.kind, payer.amount) == ("payer", Decimal("120.00"))
    assert (ambiguous.kind, ambiguous.amount) == ("ambiguous", Decimal("80.00"))
    for credit in (payer, ambiguous):
        assert not any(c.isdigit() for c in credit.remittance)
        assert credit.references == ()
        assert credit.payer_name.upper() == "CLIENTE DELTA S.R.L."


def test_strangers_pay_amounts_nobody_owes():
    items = [item("EPS", "FT2026/00501", "100.00")]
    credits = generate(items, {"unknown": 2}).credits
    assert [c.kind for c in credits] == ["unknown", "unknown"]
    for credit in credits:
        assert credit.amount != Decimal("100.00")
        assert matching.normalise_name(credit.payer_name) != "CLIENTE EPS"


def test_numbers_others_share_or_recent_invoices_are_never_quoted():
    items = [
        # 601 of 2026 and 601 of 2025: "fattura 601" would not say which.
        item("ZETA", "FT2026/00601", "100.00"),
        item("ETA", "FT2025/00601", "200.00", date=dt.date(2025, 12, 1)),
        # Issued ten days ago, or due in two months: nobody pays it today.
        item("TETA", "FT2026/00701", "300.00", date=AS_OF - dt.timedelta(days=10)),
        item("IOTA", "FT2026/00801", "400.00", due=AS_OF + dt.timedelta(days=60)),
        # A progressive under 100 ("fattura 12") reads as a quantity: never quoted either.
        item("KAPPA", "FT2026/00012", "500.00"),
    ]
    assert generate(items, {"invoice": 5, "partial": 5, "invoices": 5}).credits == ()


def test_payer_ibans_are_valid_and_stable():
    iban = payer_iban("C10001", 2026)
    assert SchwiftyIBAN(iban).country_code == "IT"
    assert payer_iban("C10001", 2026) == iban
    assert payer_iban("C10004", 2026) != iban


# --------------------------------------------------------------------------------------
# The whole statement
# --------------------------------------------------------------------------------------


def portfolio() -> list[DemoItem]:
    """60 customers with three invoices each, all quotable; every fourth customer owes one
    invoice in two equal installments. Within a customer the amounts differ by less than the
    smallest of them, so no two items add up to a third."""
    items = []
    for c in range(60):
        code = f"C{c:03d}"
        name = f"{demo.SURNAMES[c]} {'Forniture' if c % 2 else 'Edilizia'} S.r.l."
        base = Decimal(500 + 37 * c) + Decimal("0.25")
        for n in range(3):
            number = f"FT2026/{1000 + 10 * c + n:05d}"
            amount = base + 11 * n
            if n == 2 and c % 4 == 0:
                for months in (0, 1):
                    due = AS_OF + dt.timedelta(days=30 * months)
                    items.append(DemoItem(code, name, number, OLD, due, amount))
            else:
                items.append(DemoItem(code, name, number, OLD, AS_OF, amount))
    return items


def test_the_plan_is_followed_and_the_matcher_agrees():
    items = portfolio()
    statement = generate(items, PLAN, seed=3)
    kinds = [c.kind for c in statement.credits]
    assert {kind: kinds.count(kind) for kind in PLAN} == PLAN
    # Each customer pays once: the credits do not compete for the same customer's items.
    payers = [c.payer_iban for c in statement.credits]
    assert len(set(payers)) == len(payers)

    # The matcher of the import reads them as planned.
    open_items = [
        matching.OpenItem(
            f"{i.customer_code}:{i.document_number}:{i.due_date}",
            i.customer_code,
            i.document_number,
            i.document_date,
            i.due_date,
            i.open_amount,
        )
        for i in items
    ]
    payers_known = matching.KnownPayers(
        names_by_customer={code: [name] for code, name in names(items).items()}
    )
    credits = [
        matching.Credit(
            key=str(n),
            amount=c.amount,
            booking_date=AS_OF,
            payer_name=c.payer_name,
            payer_iban=c.payer_iban,
            remittance=c.remittance,
            references=tuple(number for number, _date in c.references),
        )
        for n, c in enumerate(statement.credits)
    ]
    expected = {
        "invoice": matching.Confidence.HIGH,
        "invoices": matching.Confidence.HIGH,
        "partial": matching.Confidence.MEDIUM,
        "payer": matching.Confidence.MEDIUM,
        "ambiguous": matching.Confidence.LOW,
        "unknown": matching.Confidence.NONE,
    }
    matches = matching.match_batch(credits, open_items, payers_known)
    for credit, match in zip(statement.credits, matches, strict=True):
        assert match.confidence == expected[credit.kind], (credit, match.reasons)
        if credit.kind == "unknown":
            assert match.suggestions == ()


def test_camt053_balances_and_reads_back():
    statement = DemoStatement(
        account_iban=IBAN,
        account_owner="Ferramenta Rossi & C. S.p.A.",
        day=AS_OF,
        sequence=90,
        opening_balance=Decimal("1000.00"),
        credits=(
            DemoCredit(
                "invoice",
                Decimal("250.00"),
                "Rossi & Bianchi S.r.l.",
                "IT25O0306909606100000012345",
                "SALDO FT 2026/123",
                value_date=AS_OF - dt.timedelta(days=1),
            ),
            DemoCredit(
                "invoice",
                Decimal("100.50"),
                "Verdi S.p.A.",
                "IT25O0306909606100000012345",
                "Pagamento fattura",
                (("FT2026/00124", dt.date(2026, 2, 27)),),
            ),
        ),
        debits=(DemoDebit(Decimal("1.25"), "COMMISSIONI BONIFICI IN ENTRATA", "CHRG"),),
    )
    # 1000.00 + 250.00 + 100.50 - 1.25 = 1349.25
    assert statement.closing_balance == Decimal("1349.25")
    (read,) = read_statements(statement.name, camt053_xml(statement))
    assert read.format == "camt.053"
    assert (read.opening_balance, read.closing_balance) == (Decimal("1000.00"), Decimal("1349.25"))
    assert read.account_iban == IBAN
    assert [(e.amount, e.credit) for e in read.entries] == [
        (Decimal("250.00"), True),
        (Decimal("100.50"), True),
        (Decimal("1.25"), False),
    ]
    first, second, fee = read.entries
    assert (first.counterparty_name, first.remittance) == (
        "Rossi & Bianchi S.r.l.",
        "SALDO FT 2026/123",
    )
    assert first.value_date == AS_OF - dt.timedelta(days=1)
    assert second.references == ("FT2026/00124",)
    assert fee.additional_info == "COMMISSIONI BONIFICI IN ENTRATA"
    assert len({e.entry_key for e in read.entries}) == 3


def test_generated_statement_balances():
    statement = generate(portfolio(), PLAN, seed=3)
    (read,) = read_statements(statement.name, camt053_xml(statement))  # refused if unbalanced
    credits = sum(c.amount for c in statement.credits)
    debits = sum(d.amount for d in statement.debits)
    assert read.closing_balance == read.opening_balance + credits - debits
    assert len(read.credits) == 40
    # The fee for incoming transfers: 0.35 for each of the 40 credits = 14.00.
    assert statement.debits[0].amount == Decimal("14.00")


def test_generation_is_deterministic():
    first = camt053_xml(generate(portfolio(), PLAN, seed=3))
    assert camt053_xml(generate(list(reversed(portfolio())), PLAN, seed=3)) == first
    assert camt053_xml(generate(portfolio(), PLAN, seed=4)) != first


# --------------------------------------------------------------------------------------
# In the demo
# --------------------------------------------------------------------------------------


@pytest.fixture
def small_portfolio(monkeypatch):
    """The demo portfolio with 60 customers instead of 400: the same imports, in a second."""
    monkeypatch.setattr(
        demo, "portfolio_generate", functools.partial(demo.portfolio_generate, customers=60)
    )


def build(seed: int = 5):
    """What ``incassa demo-data`` does: reset, snapshots, e-invoices, the bank statement."""
    from incassa.ledger.models import Company

    existing = Company.objects.filter(code="demo-small").first()
    if existing is not None:
        demo_payments_reset(company=existing)
        demo_einvoices_reset(company=existing)
    company = demo.demo_portfolio_build(as_of=AS_OF, company_code="demo-small", seed=seed).company
    demo_einvoices_import(company=company, as_of=AS_OF, seed=seed)
    return company, demo_statement_import(company=company, as_of=AS_OF, seed=seed)


def snapshot(company) -> tuple:
    entries = [
        (
            e.key,
            e.amount,
            e.status,
            e.payer_name,
            e.remittance,
            e.customer.code if e.customer else "",
            sorted((a.receivable.document_number, a.amount) for a in e.allocations.all()),
        )
        for e in BankEntry.objects.filter(company=company).select_related("customer")
    ]
    einvoices = sorted(
        EInvoiceInstallment.objects.filter(einvoice__company=company).values_list(
            "einvoice__number", "einvoice__customer__code", "due_date", "amount"
        )
    )
    return sorted(entries), einvoices


def test_the_demo_statement(db, small_portfolio):
    company, result = build()
    run = result.import_run
    assert (run.status, run.source, run.as_of) == (ImportStatus.APPLIED, "demo-data", AS_OF)
    assert result.debits == 3
    statuses = set(BankEntry.objects.filter(company=company).values_list("status", flat=True))
    assert statuses == {EntryStatus.MATCHED, EntryStatus.PROPOSED, EntryStatus.UNMATCHED}
    # The sure ones were booked, each for its whole amount, automatically.
    for entry in BankEntry.objects.filter(company=company, status=EntryStatus.MATCHED):
        assert entry.is_automatic
        assert entry.allocated_amount == entry.amount
        allocations = PaymentAllocation.objects.filter(entry=entry)
        assert sum(a.amount for a in allocations) == entry.amount
    assert result.items_closed > 0
    # The e-invoices of the last two days are open items too.
    assert EInvoiceInstallment.objects.filter(einvoice__company=company).count() > 25


def test_the_demo_is_the_same_when_built_again(db, small_portfolio):
    company, _result = build()
    first = snapshot(company)
    company, _result = build()
    assert snapshot(company) == first
    # 60 customers are enough for the whole plan: 20 + 6 + 5 + 4 + 3 + 2 = 40 credits.
    assert len(first[0]) == sum(PLAN.values()) == 40
