"""The demo portfolio: deterministic, realistic, and loaded through the real imports."""

import datetime as dt
from collections import Counter
from decimal import Decimal

from stdnum.it import iva

from incassa.ledger import demo
from incassa.ledger.models import (
    Company,
    Customer,
    DocumentType,
    EventKind,
    ImportKind,
    ImportRun,
    IssuedInvoice,
    Receivable,
    ReceivableEvent,
)

AS_OF = dt.date(2026, 3, 31)


def test_vat_numbers_are_valid():
    number = demo.vat_number(1234567, office=1)
    assert number.startswith("1234567001")
    assert iva.is_valid(number)
    assert not iva.is_valid(number[:10] + str((int(number[10]) + 1) % 10))
    assert all(iva.is_valid(demo.vat_number(n, office=n % 100 + 1)) for n in range(1, 2000, 7))


def test_italian_amounts():
    assert demo.italian_amount(Decimal("1234567.5")) == "1.234.567,50"
    assert demo.italian_amount(Decimal("-30")) == "-30,00"
    assert demo.italian_amount(Decimal("0.05")) == "0,05"


def test_generation_is_deterministic():
    first = demo.portfolio_generate(as_of=AS_OF, seed=7)
    second = demo.portfolio_generate(as_of=AS_OF, seed=7)
    other = demo.portfolio_generate(as_of=AS_OF, seed=8)
    key = lambda p: [(i.customer.code, i.document_number, i.due_date, i.amount, i.paid_on)  # noqa: E731
                     for i in p.installments]  # fmt: skip
    assert key(first) == key(second)
    assert key(first) != key(other)


def test_generated_portfolio_is_realistic():
    portfolio = demo.portfolio_generate(as_of=AS_OF)
    customers = portfolio.customers
    assert len(customers) == 400
    assert len({c.code for c in customers}) == 400
    assert all(iva.is_valid(c.vat_number) for c in customers)
    assert {c.category.code for c in customers} == {"DIST", "RIV", "GDO", "PA", "INST"}
    assert {c.agent for c in customers if c.category.code != "PA"} == {a for a, _ in demo.AGENTS}
    assert {c.agent for c in customers if c.category.code == "PA"} == {""}
    assert sum(1 for c in customers if c.pec) > 100
    assert sum(1 for c in customers if c.large) >= 3

    open_items = portfolio.open_on(AS_OF)
    assert 4000 <= len(open_items) <= 7000
    kinds = Counter(i.document_type for i in open_items)
    assert kinds[DocumentType.CREDIT_NOTE] > 10
    assert kinds[DocumentType.DEBIT_NOTE] > 5
    assert all(i.open_amount(AS_OF) < 0 for i in open_items if i.document_type == "credit_note")
    # Installments: the same document number on different due dates.
    per_document = Counter(i.document_number for i in open_items)
    assert max(per_document.values()) == 3
    # Ages: most items not yet due or up to 60 days late, and a tail over 180 days.
    late = Counter()
    for item in open_items:
        days = (AS_OF - item.due_date).days
        late["not due" if days <= 0 else "1-60" if days <= 60 else "61-180" if days <= 180
             else "over 180"] += 1  # fmt: skip
    assert late["not due"] + late["1-60"] > 0.75 * len(open_items)
    assert late["over 180"] > 20
    # Between the snapshots items are paid, partly paid, and new ones appear.
    before, after = AS_OF - dt.timedelta(days=7), AS_OF
    was_open = {id(i) for i in portfolio.open_on(before)}
    now_open = {id(i) for i in portfolio.open_on(after)}
    assert was_open - now_open and now_open - was_open
    assert any(
        0 != i.open_amount(after) != i.open_amount(before) != 0 for i in portfolio.installments
    )


def test_snapshot_csv_is_italian(tmp_path):
    portfolio = demo.portfolio_generate(as_of=AS_OF)
    path = tmp_path / "scadenziario.csv"
    rows = demo.snapshot_write(portfolio, AS_OF, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == rows + 1
    assert lines[0].startswith("Codice cliente;Ragione sociale;Partita IVA;")
    assert lines[0].endswith("Data documento;Data scadenza;Importo;Residuo")
    assert any(";Nota di credito;" in line for line in lines)
    assert all(line.count("/") >= 4 for line in lines[1:50])  # dd/mm/yyyy dates


def summary(company: Company) -> tuple[list[str], Decimal, int]:
    codes = sorted(Customer.objects.filter(company=company).values_list("code", flat=True))
    items = Receivable.objects.filter(company=company, status="open")
    return codes, sum(items.values_list("open_amount", flat=True), Decimal(0)), items.count()


def test_build_is_deterministic(db):
    first = demo.demo_portfolio_build(as_of=AS_OF, company_code="demo-a", seed=11)
    assert first.built
    before = summary(first.company)
    # Building again replaces the data with the same data.
    second = demo.demo_portfolio_build(as_of=AS_OF, company_code="demo-a", seed=11)
    assert second.built
    assert summary(second.company) == before
    # One import per snapshot (70, 42, 28, 14, 7 and 0 days before) and the invoices.
    assert ImportRun.objects.filter(company=second.company).count() == 7
    # The ledger agrees with the generated portfolio it was imported from.
    codes, amount, items = before
    portfolio = demo.portfolio_generate(as_of=AS_OF, seed=11)
    open_items = portfolio.open_on(AS_OF)
    assert items == len(open_items)
    assert amount == sum((i.open_amount(AS_OF) for i in open_items), Decimal(0))
    assert set(codes) >= {i.customer.code for i in open_items}


def test_build_goes_through_the_imports(db):
    result = demo.demo_portfolio_build(as_of=AS_OF)
    company = result.company
    assert company.code == "demo"
    assert company.name == "Ferramenta Rossi S.p.A."
    assert iva.is_valid(company.vat_number)
    assert company.iban == "IT60X0542811101000000123456"
    runs = ImportRun.objects.filter(company=company).order_by("started_at", "id")
    assert [(r.kind, r.as_of, r.status) for r in runs] == [
        *(
            (ImportKind.RECEIVABLES, AS_OF - dt.timedelta(days=days), "applied")
            for days in (70, 42, 28, 14, 7, 0)
        ),
        (ImportKind.INVOICES, AS_OF, "applied"),
    ]
    events = Counter(
        ReceivableEvent.objects.filter(receivable__company=company).values_list("kind", flat=True)
    )
    assert events[EventKind.CREATED] > 4000
    assert events[EventKind.CLOSED] > 100
    assert events[EventKind.AMOUNT_CHANGED] > 0
    assert IssuedInvoice.objects.filter(company=company).count() > 10000
    customers = Customer.objects.filter(company=company)
    assert customers.filter(sales_agent__isnull=True).exists()
    assert customers.exclude(pec="").exists()
    assert customers.filter(credit_limit__isnull=False).exists()
    assert customers.filter(category__name="Pubblica amministrazione").exists()
    assert company.sales_agents.exclude(email="").count() == 6
