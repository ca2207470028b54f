"""The receivables and invoices imports, end to end on the database.

Each test writes a small Italian-format file, imports it and checks the ledger. Amounts in
the comments are worked out by hand from the CSV text of the test.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from stdnum import luhn

from incassa.core import bulk
from incassa.ledger import services
from incassa.ledger.models import (
    ColumnMapping,
    Customer,
    CustomerCategory,
    DocumentType,
    EventKind,
    ImportRun,
    ImportStatus,
    IssuedInvoice,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
    SalesAgent,
)
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

D1 = dt.date(2026, 3, 31)
D2 = dt.date(2026, 4, 1)
HEADER = "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Importo"


def vat(seed: int) -> str:
    """A valid Italian VAT number: 7 digits, a tax office code (015, Milan), a Luhn digit."""
    base = f"{seed:07d}015"
    return base + luhn.calc_check_digit(base)


def write(tmp_path: Path, name: str, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def snapshot(tmp_path: Path, name: str, rows: list[str]) -> Path:
    return write(tmp_path, name, HEADER, *rows)


BASE_ROWS = [
    "00045;Rossi S.r.l.;FT-1;01/03/2026;31/03/2026;1.000,00",
    "00045;Rossi S.r.l.;FT-2;05/03/2026;04/04/2026;250,50",
    "00046;Bianchi S.p.A.;FT-3;10/02/2026;12/03/2026;3.000",
    "00046;Bianchi S.p.A.;NC-1;15/03/2026;15/03/2026;-100,00",
]


def item(customer: str, document: str) -> Receivable:
    return Receivable.objects.get(customer__code=customer, document_number=document)


def test_first_import_creates_customers_items_and_history(tmp_path, company):
    result = services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    run = result.import_run
    assert run.status == ImportStatus.APPLIED
    assert (run.rows_read, run.created, run.updated, run.closed, run.unchanged) == (4, 4, 0, 0, 0)
    assert run.customers_created == 2
    # Customer codes keep their leading zeros.
    assert sorted(Customer.objects.values_list("code", flat=True)) == ["00045", "00046"]
    ft3 = item("00046", "FT-3")
    # "3.000" in an Italian-formatted column is three thousand euros.
    assert ft3.amount == Decimal("3000.00")
    assert ft3.open_amount == Decimal("3000.00")
    assert ft3.first_seen_on == D1
    assert ft3.status == ReceivableStatus.OPEN
    credit_note = item("00046", "NC-1")
    assert credit_note.document_type == DocumentType.CREDIT_NOTE
    assert credit_note.open_amount == Decimal("-100.00")
    assert ReceivableEvent.objects.filter(kind=EventKind.CREATED).count() == 4
    # 1000,00 + 250,50 + 3000,00 - 100,00 = 4150,50
    assert result.summary.open_amount == Decimal("4150.50")
    assert result.summary.open_items == 4
    assert result.summary.customers == 2
    assert result.as_dict()["open_amount"] == "4150.50"
    assert len(run.checksum) == 64


def test_reimporting_the_same_snapshot_changes_nothing(tmp_path, company):
    path = snapshot(tmp_path, "a.csv", BASE_ROWS)
    services.receivables_import(company=company, path=path, as_of=D1)
    events = ReceivableEvent.objects.count()
    result = services.receivables_import(company=company, path=path, as_of=D1)
    run = result.import_run
    assert (run.created, run.updated, run.closed, run.reopened, run.unchanged) == (0, 0, 0, 0, 4)
    assert run.customers_created == 0
    assert ReceivableEvent.objects.count() == events
    assert Receivable.objects.count() == 4


def test_next_snapshot_updates_closes_and_creates(tmp_path, company):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    next_day = [
        # FT-1 partly paid: 1.000,00 -> 400,00 still open; the original amount is kept.
        "00045;Rossi S.r.l.;FT-1;01/03/2026;31/03/2026;400,00",
        # FT-2 is gone: paid.
        "00046;Bianchi S.p.A.;FT-3;10/02/2026;12/03/2026;3.000",
        "00046;Bianchi S.p.A.;NC-1;15/03/2026;15/03/2026;-100,00",
        "00047;Verdi S.n.c.;FT-9;01/04/2026;01/05/2026;99,90",
    ]
    result = services.receivables_import(
        company=company, path=snapshot(tmp_path, "b.csv", next_day), as_of=D2
    )
    run = result.import_run
    assert (run.created, run.updated, run.closed, run.unchanged) == (1, 1, 1, 2)
    ft1 = item("00045", "FT-1")
    # Only one amount column: it is the open amount, and also the document's amount.
    assert ft1.open_amount == Decimal("400.00")
    assert ft1.last_changed_on == D2
    change = ft1.events.get(kind=EventKind.AMOUNT_CHANGED)
    assert (change.amount_before, change.amount_after) == (Decimal("1000.00"), Decimal("400.00"))
    ft2 = item("00045", "FT-2")
    assert ft2.status == ReceivableStatus.CLOSED
    assert ft2.closed_on == D2
    assert ft2.open_amount == Decimal("0.00")
    closing = ft2.events.get(kind=EventKind.CLOSED)
    assert (closing.amount_before, closing.on_date) == (Decimal("250.50"), D2)
    # 400,00 + 3000,00 - 100,00 + 99,90 = 3399,90
    assert result.summary.open_amount == Decimal("3399.90")


def test_an_item_that_reappears_is_reopened(tmp_path, company):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "b.csv", BASE_ROWS[:3]), as_of=D2
    )
    assert item("00046", "NC-1").status == ReceivableStatus.CLOSED
    result = services.receivables_import(
        company=company,
        path=snapshot(tmp_path, "c.csv", BASE_ROWS),
        as_of=dt.date(2026, 4, 2),
    )
    assert result.import_run.reopened == 1
    credit_note = item("00046", "NC-1")
    assert credit_note.status == ReceivableStatus.OPEN
    assert credit_note.closed_on is None
    assert credit_note.open_amount == Decimal("-100.00")
    kinds = list(credit_note.events.values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.CLOSED, EventKind.REOPENED]


def test_partial_import_closes_nothing(tmp_path, company):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    result = services.receivables_import(
        company=company,
        path=snapshot(tmp_path, "b.csv", ["00045;Rossi S.r.l.;FT-1;01/03/2026;31/03/2026;10,00"]),
        as_of=D2,
        partial=True,
    )
    assert (result.import_run.updated, result.import_run.closed) == (1, 0)
    assert Receivable.objects.filter(status=ReceivableStatus.OPEN).count() == 4


def test_a_zero_open_amount_closes_the_item(tmp_path, company):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    rows = [BASE_ROWS[0].replace("1.000,00", "0,00"), *BASE_ROWS[1:]]
    result = services.receivables_import(
        company=company, path=snapshot(tmp_path, "b.csv", rows), as_of=D2
    )
    assert result.import_run.closed == 1
    assert item("00045", "FT-1").status == ReceivableStatus.CLOSED


def test_invalid_rows_reject_the_whole_file(tmp_path, company):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    rows = [
        "00045;Rossi S.r.l.;FT-1;01/03/2026;31/02/2026;500,00",
        "00045;Rossi S.r.l.;FT-2;05/03/2026;04/04/2026;dodici",
        "00046;Bianchi S.p.A.;FT-3;10/02/2026;12/03/2026;10,00",
    ]
    with pytest.raises(services.ImportRejected) as caught:
        services.receivables_import(
            company=company, path=snapshot(tmp_path, "b.csv", rows), as_of=D2
        )
    assert caught.value.exit_code == 2
    problems = {(e.row, e.column, e.value) for e in caught.value.errors}
    # Header on line 1, so the first data row is line 2.
    assert (2, "Data scadenza", "31/02/2026") in problems
    assert (3, "Importo", "dodici") in problems
    # Nothing changed: FT-3 still 3000,00, nothing closed.
    assert item("00046", "FT-3").open_amount == Decimal("3000.00")
    assert Receivable.objects.filter(status=ReceivableStatus.OPEN).count() == 4
    run = caught.value.import_run
    assert run.status == ImportStatus.REJECTED
    assert run.rows_rejected == 2
    assert run.report["errors_total"] == 2


def test_skip_invalid_applies_valid_rows_and_spares_rejected_items(tmp_path, company):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    rows = [
        # FT-1's row is broken: the item must not be closed as if it had been paid.
        "00045;Rossi S.r.l.;FT-1;01/03/2026;31/03/2026;mille",
        "00045;Rossi S.r.l.;FT-2;05/03/2026;04/04/2026;250,50",
        "00046;Bianchi S.p.A.;FT-3;10/02/2026;12/03/2026;3.000",
        "00046;Bianchi S.p.A.;NC-1;15/03/2026;15/03/2026;-100,00",
    ]
    result = services.receivables_import(
        company=company, path=snapshot(tmp_path, "b.csv", rows), as_of=D2, skip_invalid=True
    )
    assert result.import_run.rows_rejected == 1
    assert result.import_run.closed == 0
    assert item("00045", "FT-1").status == ReceivableStatus.OPEN
    assert result.rejected is not None and result.rejected.height == 1
    assert result.rejected["row"].to_list() == [2]


def test_a_truncated_snapshot_is_refused_unless_forced(tmp_path, company):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    truncated = snapshot(tmp_path, "b.csv", BASE_ROWS[:1])
    # It would close 3 of the 4 open items: 75% > 50%.
    with pytest.raises(services.ImportRefused) as caught:
        services.receivables_import(company=company, path=truncated, as_of=D2)
    assert caught.value.exit_code == 3
    assert "3 of the 4" in str(caught.value)
    assert Receivable.objects.filter(status=ReceivableStatus.OPEN).count() == 4
    assert ImportRun.objects.filter(status=ImportStatus.REFUSED).count() == 1
    result = services.receivables_import(company=company, path=truncated, as_of=D2, force=True)
    assert result.import_run.closed == 3
    assert result.import_run.is_forced


def test_the_closing_limit_is_configurable_per_company(tmp_path, company):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    company.max_close_share = Decimal("0.200")
    company.save()
    # One of four (25%) is more than 20%.
    with pytest.raises(services.ImportRefused):
        services.receivables_import(
            company=company, path=snapshot(tmp_path, "b.csv", BASE_ROWS[:3]), as_of=D2
        )


def test_an_older_snapshot_is_refused(tmp_path, company):
    path = snapshot(tmp_path, "a.csv", BASE_ROWS)
    services.receivables_import(company=company, path=path, as_of=D2)
    with pytest.raises(services.ImportRefused, match="undo newer data"):
        services.receivables_import(company=company, path=path, as_of=D1)


def test_original_and_open_amount_columns_are_both_used(tmp_path, company):
    path = write(
        tmp_path,
        "a.csv",
        "Cod. cliente;Ragione sociale;N. documento;Scadenza;Importo IVA inclusa;Residuo",
        "7;Neri S.r.l.;77;30/04/2026;1.220,00;610,00",
    )
    services.receivables_import(company=company, path=path, as_of=D1)
    receivable = item("7", "77")
    assert (receivable.amount, receivable.open_amount) == (Decimal("1220.00"), Decimal("610.00"))


def test_installments_and_same_number_under_two_customers_are_separate_items(tmp_path, company):
    rows = [
        "1;Alfa;100;01/01/2026;31/01/2026;100,00",
        "1;Alfa;100;01/01/2026;28/02/2026;100,00",
        "1;Alfa;100;01/01/2026;31/03/2026;100,00",
        "2;Beta;100;01/01/2026;31/01/2026;100,00",
    ]
    services.receivables_import(company=company, path=snapshot(tmp_path, "a.csv", rows), as_of=D1)
    assert Receivable.objects.filter(document_number="100").count() == 4
    assert Receivable.objects.filter(customer__code="1").count() == 3


def test_customer_data_is_refreshed_but_never_blanked(tmp_path, company):
    vat_a = vat(1234567)
    path = write(
        tmp_path,
        "a.csv",
        "Codice cliente;Ragione sociale;Partita IVA;Email;Agente;Categoria;"
        "Numero documento;Data scadenza;Importo",
        f"10;Gamma S.r.l.;{vat_a};amm@gamma.it;Mario Rossi;Distributori;1;30/04/2026;10,00",
    )
    services.receivables_import(company=company, path=path, as_of=D1)
    customer = Customer.objects.get(code="10")
    assert customer.vat_number == vat_a
    assert customer.sales_agent == SalesAgent.objects.get(name="Mario Rossi")
    assert customer.category == CustomerCategory.objects.get(code="Distributori")
    thin = write(
        tmp_path,
        "b.csv",
        "Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo",
        "10;Gamma Italia S.r.l.;1;30/04/2026;10,00",
    )
    services.receivables_import(company=company, path=thin, as_of=D2)
    customer.refresh_from_db()
    assert customer.name == "Gamma Italia S.r.l."
    assert customer.emails == "amm@gamma.it"
    assert customer.sales_agent is not None


def test_values_longer_than_their_column_are_rejected(tmp_path, company):
    rows = [f"1;Alfa;{'9' * 61};01/01/2026;31/01/2026;100,00"]
    with pytest.raises(services.ImportRejected) as caught:
        services.receivables_import(
            company=company, path=snapshot(tmp_path, "a.csv", rows), as_of=D1
        )
    assert caught.value.errors[0].reason == "longer than 60 characters"


def test_unreadable_file_is_recorded_and_rejected(tmp_path, company):
    path = write(tmp_path, "empty.csv", "")
    with pytest.raises(services.ImportRejected) as caught:
        services.receivables_import(company=company, path=path, as_of=D1)
    assert caught.value.import_run.status == ImportStatus.REJECTED
    assert ImportRun.objects.get().message == str(caught.value)


def test_saved_mapping_is_used_for_the_next_files(tmp_path, company):
    path = write(
        tmp_path,
        "a.csv",
        "Conto;Ragione sociale;Protocollo;Data scadenza;Importo",
        "1;Alfa;A-1;31/01/2026;100,00",
    )
    services.receivables_import(
        company=company,
        path=path,
        as_of=D1,
        mapping={"Conto": "customer_code", "Protocollo": "document_number"},
        save_mapping=True,
    )
    assert ColumnMapping.objects.filter(company=company).count() == 2
    result = services.receivables_import(company=company, path=path, as_of=D1)
    assert result.import_run.unchanged == 1


def test_a_crash_mid_import_leaves_nothing_applied(tmp_path, company, monkeypatch):
    services.receivables_import(
        company=company, path=snapshot(tmp_path, "a.csv", BASE_ROWS), as_of=D1
    )
    real_insert = bulk.insert_rows

    def insert_then_crash(table, columns, rows, **kwargs):
        real_insert(table, columns, rows, **kwargs)
        if table == ReceivableEvent._meta.db_table:
            raise RuntimeError("power cut")

    monkeypatch.setattr(bulk, "insert_rows", insert_then_crash)
    rows = [*BASE_ROWS[:3], "00099;Nuovo;FT-5;01/03/2026;31/03/2026;5,00"]
    with pytest.raises(RuntimeError):
        services.receivables_import(
            company=company, path=snapshot(tmp_path, "b.csv", rows), as_of=D2
        )
    assert not Customer.objects.filter(code="00099").exists()
    assert item("00046", "NC-1").status == ReceivableStatus.OPEN
    assert ReceivableEvent.objects.count() == 4
    failed = ImportRun.objects.get(status=ImportStatus.FAILED)
    assert "power cut" in failed.message


def test_companies_are_kept_apart(tmp_path, company):
    other = CompanyFactory(code="other")
    path = snapshot(tmp_path, "a.csv", BASE_ROWS)
    services.receivables_import(company=company, path=path, as_of=D1)
    services.receivables_import(company=other, path=path, as_of=D1)
    # A full snapshot of "other" that lists nothing of "acme" closes nothing of "acme".
    services.receivables_import(
        company=other, path=snapshot(tmp_path, "b.csv", BASE_ROWS[:2]), as_of=D2, force=True
    )
    assert Receivable.objects.filter(company=company, status=ReceivableStatus.OPEN).count() == 4
    assert Receivable.objects.filter(company=other, status=ReceivableStatus.OPEN).count() == 2


def test_invoices_import_creates_and_updates_without_closing(tmp_path, company):
    path = write(
        tmp_path,
        "inv.csv",
        "Codice cliente;Ragione sociale;Numero fattura;Data fattura;Data scadenza;Importo",
        "1;Alfa;F1;15/01/2026;;1.220,00",
        "1;Alfa;F2;20/01/2026;19/02/2026;500,00",
        "2;Beta;NC1;25/01/2026;25/01/2026;-50,00",
    )
    result = services.invoices_import(company=company, path=path, as_of=D1)
    assert result.import_run.created == 3
    f1 = IssuedInvoice.objects.get(document_number="F1")
    # No due date: the document date stands in for it.
    assert f1.due_date == dt.date(2026, 1, 15)
    assert f1.amount == Decimal("1220.00")
    assert IssuedInvoice.objects.get(document_number="NC1").document_type == "credit_note"
    changed = write(
        tmp_path,
        "inv2.csv",
        "Codice cliente;Ragione sociale;Numero fattura;Data fattura;Data scadenza;Importo",
        "1;Alfa;F1;15/01/2026;;1.300,00",
    )
    result = services.invoices_import(company=company, path=changed, as_of=D2)
    assert (result.import_run.created, result.import_run.updated) == (0, 1)
    assert IssuedInvoice.objects.count() == 3
    assert IssuedInvoice.objects.get(document_number="F1").amount == Decimal("1300.00")


def test_check_reads_like_the_import_and_records_nothing(tmp_path, company):
    path = tmp_path / "s.csv"
    path.write_text(
        "Codice cliente;Numero documento;Data scadenza;Importo\n"
        "001;F1;01/03/2026;100,00\n"
        "001;F2;31/02/2026;50,00\n",
        encoding="utf-8",
    )
    check = services.receivables_check(company=company, path=path)
    assert check.parsed.rows_read == 2
    # Line 3 holds a day that does not exist: one problem, one row rejected.
    assert [(e.row, e.column, e.value) for e in check.errors] == [
        (3, "Data scadenza", "31/02/2026")
    ]
    assert check.rows_rejected == 1
    assert not ImportRun.objects.exists()


def test_company_update_validates_and_keeps_the_code(company):
    from django.core.exceptions import ValidationError

    services.company_update(company=company, values={"city": "Torino", "pec": "a@pec.it"})
    company.refresh_from_db()
    assert (company.city, company.pec, company.code) == ("Torino", "a@pec.it", "acme")
    with pytest.raises(ValidationError):
        services.company_update(company=company, values={"pec": "not an address"})
    with pytest.raises(ValueError):
        services.company_update(company=company, values={"code": "other"})
