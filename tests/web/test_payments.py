"""The payments pages: the list and the statement upload, a CSV export's column check, a
payment's confirm/split/assign/set aside/undo, and the reconciliation with the ERP.

A statement is imported by a background job: the upload answers with the job's page. Under
the tests the queue runs a job at once when the request's transaction commits
(``jobs_run_at_commit``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse

from incassa.jobs.models import Job, JobStatus
from incassa.ledger.models import (
    BankPaidItem,
    BankPaidStatus,
    ImportRun,
    ImportStatus,
    Receivable,
    ReceivableStatus,
    Role,
)
from incassa.payments.models import BankEntry, EntryStatus, PayerAccount
from incassa.web.payments import _amount
from tests.factories import CustomerFactory, ReceivableFactory
from tests.web.test_customers import get, logged_in

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
LIST = reverse("web:payments")

# Rossi pays FT 2026/0123 (1.220,00) quoting it: the only reading, booked at once. Bianchi
# pays 500,00 without saying what for: two of its items owe 500,00, so it waits.
MT940 = """:20:STMT0401
:25:IT60X0542811101000000123456
:28C:12/1
:60F:C260331EUR10000,00
:61:2604010401C1220,00NTRFNONREF//REF001
:86:?00BONIFICO SEPA?20SALDO FT 2026/0123?32ROSSI SRL
:61:2604010401C500,00NTRFNONREF//REF002
:86:?00BONIFICO SEPA?20PAGAMENTO FORNITURA?32BIANCHI SPA
:62F:C260401EUR11720,00
"""


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def jobs_run_at_commit(client, django_capture_on_commit_callbacks, monkeypatch):
    """Each POST's transaction commits when the request is done, as outside the tests: the
    jobs it started run then (the queue is immediate under the tests)."""
    post = client.post

    def committing(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return post(*args, **kwargs)

    monkeypatch.setattr(client, "post", committing)


def job_page(client, response) -> tuple[Job, str]:
    """The job a POST started (it sent the user to its page) and that page."""
    assert response.status_code == 302, response.content.decode()[:500]
    match = resolve(response["Location"])
    assert match.url_name == "job"
    job = Job.objects.get(pk=match.kwargs["pk"])
    return job, get(client, response["Location"])


@pytest.fixture
def ledger(company):
    rossi = CustomerFactory(company=company, code="R01", name="Rossi S.r.l.")
    bianchi = CustomerFactory(company=company, code="B01", name="Bianchi S.p.A.")
    return {
        "rossi": rossi,
        "bianchi": bianchi,
        "ft123": ReceivableFactory(
            company=company, customer=rossi, document_number="FT 2026/0123",
            document_date=dt.date(2026, 2, 10), due_date=dt.date(2026, 3, 31),
            open_amount=Decimal("1220.00"),
        ),
        "b1": ReceivableFactory(
            company=company, customer=bianchi, document_number="FT 2026/0200",
            document_date=dt.date(2026, 1, 15), due_date=dt.date(2026, 2, 28),
            open_amount=Decimal("500.00"),
        ),
        "b2": ReceivableFactory(
            company=company, customer=bianchi, document_number="FT 2026/0210",
            document_date=dt.date(2026, 2, 15), due_date=dt.date(2026, 3, 31),
            open_amount=Decimal("500.00"),
        ),
    }  # fmt: skip


def upload(client, name: str, content: bytes, **extra):
    return client.post(LIST, {"op": "upload", "file": SimpleUploadedFile(name, content), **extra})


def imported(client, ledger) -> tuple[BankEntry, BankEntry]:
    job, page = job_page(client, upload(client, "estratto.sta", MT940.encode()))
    assert job.status == JobStatus.SUCCEEDED, page
    return (
        BankEntry.objects.get(amount=Decimal("1220.00")),
        BankEntry.objects.get(amount=Decimal("500.00")),
    )


def messages_of(response) -> list[str]:
    """The messages of this request only (earlier, unshown ones are dropped)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


# --------------------------------------------------------------------------------------
# The list and the upload
# --------------------------------------------------------------------------------------


def test_a_statement_is_imported_matched_and_listed(client, company, ledger):
    client = logged_in(client, company, language="en")
    rossi, bianchi = imported(client, ledger)
    # FT 2026/0123 is quoted and owes exactly 1.220,00: closed on the booking day.
    ft123 = Receivable.objects.get(pk=ledger["ft123"].pk)
    assert ft123.status == ReceivableStatus.CLOSED
    assert ft123.closed_on == dt.date(2026, 4, 1)
    assert rossi.status == EntryStatus.MATCHED and rossi.is_automatic
    assert bianchi.status == EntryStatus.PROPOSED
    page = get(client, LIST)
    # The review tab shows what waits (Bianchi's 500,00), not what is done.
    assert "Bianchi" in page and "PAGAMENTO FORNITURA" in page
    assert "SALDO FT 2026/0123" not in page
    assert "SALDO FT 2026/0123" in get(client, LIST, {"tab": "matched"})
    assert "Latest statements" in page and "IT60X0542811101000000123456" in page


def test_the_same_statement_twice_books_nothing_twice(client, company, ledger):
    client = logged_in(client, company, language="en")
    imported(client, ledger)
    _job, page = job_page(client, upload(client, "estratto.sta", MT940.encode()))
    # Both credits are known by their bank references: none new.
    assert "0 new payments (2 imported before)" in page
    assert f'href="{LIST}"' in page  # on to the payments
    assert BankEntry.objects.count() == 2


def test_a_broken_statement_is_refused_and_reported(client, company, ledger, settings):
    client = logged_in(client, company, language="en")
    # The closing balance should be 10.000,00 + 1.220,00 + 500,00 = 11.720,00, not 11.000,00.
    broken = MT940.replace("11720,00", "11000,00").encode()
    job, page = job_page(client, upload(client, "estratto.sta", broken))
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.REJECTED and job.status == JobStatus.FAILED
    assert "does not balance" in page
    assert f'href="{reverse("web:import_detail", args=[run.pk])}"' in page
    assert not BankEntry.objects.exists()
    assert not list((Path(settings.MEDIA_ROOT) / "uploads").rglob("*.sta"))  # removed


def test_collectors_match_but_do_not_import(client, company, ledger):
    client = logged_in(client, company, role=Role.COLLECTOR, language="en")
    page = get(client, LIST)
    assert "Import a bank statement" not in page
    assert upload(client, "estratto.sta", MT940.encode()).status_code == 403
    assert client.post(LIST, {"op": "rematch"}).status_code == 302


def test_sales_agents_do_not_see_payments(client, company):
    client = logged_in(client, company, role=Role.SALES_AGENT)
    assert client.get(LIST).status_code == 403


def test_match_again_books_a_payment_once_its_invoice_arrived(client, company, ledger):
    client = logged_in(client, company, language="en")
    _rossi, bianchi = imported(client, ledger)
    # The ERP later shows that FT 2026/0210 was paid by a credit note: only FT 2026/0200
    # owes 500,00, and Bianchi's IBAN is not known, so it is still only a proposal...
    Receivable.objects.filter(pk=ledger["b2"].pk).update(status=ReceivableStatus.CLOSED)
    client.post(LIST, {"op": "rematch"})
    assert BankEntry.objects.get(pk=bianchi.pk).status == EntryStatus.PROPOSED
    # ...until the payer is known: the single item of the payer that fits is then booked.
    PayerAccount.objects.create(
        company=company, customer=ledger["bianchi"], iban="IT02L1234512345123456789012"
    )
    BankEntry.objects.filter(pk=bianchi.pk).update(payer_iban="IT02L1234512345123456789012")
    response = client.post(LIST, {"op": "rematch"})
    assert "1 booked" in messages_of(response)[0]
    assert Receivable.objects.get(pk=ledger["b1"].pk).status == ReceivableStatus.CLOSED


# --------------------------------------------------------------------------------------
# A CSV export
# --------------------------------------------------------------------------------------

CSV = (
    "Conto;IT60X0542811101000000123456\n"
    "\n"
    "Giorno;Incasso;Spesa;Testo\n"
    "01/04/2026;1.220,00;;Bonifico Rossi saldo FT 2026/0123\n"
    "01/04/2026;;35,00;Commissioni\n"
).encode("cp1252")


def test_a_csv_export_is_checked_mapped_and_imported(client, company, ledger, settings):
    client = logged_in(client, company, language="en")
    response = upload(client, "movimenti.csv", CSV)
    check = response["Location"]
    assert check.startswith("/payments/statement/")
    page = get(client, check)
    # None of the headers is one the reader knows: it says what is missing.
    assert "no column for the booking date" in page
    assert "Import and match" not in page
    # Map them: column 0 is the booking date, 1 the credits, 2 the debits, 3 the text.
    mapping = {
        "column_0": "booking_date",
        "column_1": "credit_amount",
        "column_2": "debit_amount",
        "column_3": "remittance",
    }
    page = client.post(check, {"op": "check", **mapping}).content.decode()
    assert "Bonifico Rossi saldo FT 2026/0123" in page and "Import and match" in page
    job, page = job_page(client, client.post(check, {"op": "import", **mapping}))
    assert job.title == "Import of the statement movimenti.csv"
    # The 35,00 commission is a debit: skipped. The credit quotes FT 2026/0123 exactly.
    assert "1 new payments (0 imported before): 1 matched and booked" in page
    assert Receivable.objects.get(pk=ledger["ft123"].pk).status == ReceivableStatus.CLOSED
    assert client.get(check).status_code == 404  # the upload is gone once imported
    assert not list((Path(settings.MEDIA_ROOT) / "uploads").rglob("*.csv"))


def test_a_csv_check_of_another_session_is_not_found(client, company, ledger):
    client = logged_in(client, company)
    assert client.get(reverse("web:payment_statement_check", args=["nope"])).status_code == 404


# --------------------------------------------------------------------------------------
# One payment
# --------------------------------------------------------------------------------------


def test_confirming_a_suggestion_books_it_and_learns_the_payer(client, company, ledger):
    client = logged_in(client, company, language="en")
    _rossi, bianchi = imported(client, ledger)
    url = reverse("web:payment", args=[bianchi.pk])
    page = get(client, url)
    # Both 500,00 items are offered; the older (due 28/02) first.
    assert page.index("FT 2026/0200") < page.index("FT 2026/0210")
    BankEntry.objects.filter(pk=bianchi.pk).update(payer_iban="IT02L1234512345123456789012")
    response = client.post(url, {"op": "confirm", "suggestion": "0"})
    assert messages_of(response) == ["Payment matched."]
    entry = BankEntry.objects.get(pk=bianchi.pk)
    assert entry.status == EntryStatus.MATCHED and entry.customer == ledger["bianchi"]
    assert Receivable.objects.get(pk=ledger["b1"].pk).status == ReceivableStatus.CLOSED
    assert (
        PayerAccount.objects.get(iban="IT02L1234512345123456789012").customer == (ledger["bianchi"])
    )
    assert "Set against" in get(client, url)


def test_splitting_a_payment_with_italian_amounts(client, company, ledger):
    client = logged_in(client, company, language="en")
    _rossi, bianchi = imported(client, ledger)
    url = reverse("web:payment", args=[bianchi.pk])
    # 500,00 = 200,00 on FT 2026/0200 + 250,00 on FT 2026/0210, 50,00 left on account.
    response = client.post(
        url,
        {
            "op": "split",
            f"amount_{ledger['b1'].pk}": "200,00",
            f"amount_{ledger['b2'].pk}": "250",
            "note": "come da telefonata",
        },
    )
    assert messages_of(response) == ["Payment matched."]
    assert Receivable.objects.get(pk=ledger["b1"].pk).open_amount == Decimal("300.00")
    assert Receivable.objects.get(pk=ledger["b2"].pk).open_amount == Decimal("250.00")
    entry = BankEntry.objects.get(pk=bianchi.pk)
    assert entry.unallocated_amount == Decimal("50.00")
    assert "left on account" in get(client, reverse("web:payments"), {"tab": "matched"}).lower()


def test_a_split_above_the_payment_is_refused_and_changes_nothing(client, company, ledger):
    client = logged_in(client, company, language="en")
    _rossi, bianchi = imported(client, ledger)
    url = reverse("web:payment", args=[bianchi.pk])
    # 500,00 + 100,00 = 600,00: more than the 500,00 paid.
    response = client.post(
        url,
        {"op": "split", f"amount_{ledger['b1'].pk}": "500", f"amount_{ledger['b2'].pk}": "100"},
    )
    assert "more than the 500.00 left of the payment" in messages_of(response)[0]
    assert Receivable.objects.get(pk=ledger["b1"].pk).open_amount == Decimal("500.00")
    assert BankEntry.objects.get(pk=bianchi.pk).status == EntryStatus.PROPOSED


def test_a_split_amount_that_is_not_an_amount(client, company, ledger):
    client = logged_in(client, company, language="en")
    _rossi, bianchi = imported(client, ledger)
    response = client.post(
        reverse("web:payment", args=[bianchi.pk]),
        {"op": "split", f"amount_{ledger['b1'].pk}": "cinquecento"},
    )
    assert messages_of(response) == ["cinquecento is not an amount."]


def test_assigning_pays_the_oldest_first(client, company, ledger):
    client = logged_in(client, company, language="en")
    _rossi, bianchi = imported(client, ledger)
    client.post(
        reverse("web:payment", args=[bianchi.pk]),
        {"op": "assign", "customer": ledger["bianchi"].pk},
    )
    # FT 2026/0200 is due 28/02, before FT 2026/0210: the 500,00 pays it whole.
    assert Receivable.objects.get(pk=ledger["b1"].pk).status == ReceivableStatus.CLOSED
    assert Receivable.objects.get(pk=ledger["b2"].pk).open_amount == Decimal("500.00")


def test_searching_a_customer_offers_its_items(client, company, ledger):
    client = logged_in(client, company, language="en")
    _rossi, bianchi = imported(client, ledger)
    url = reverse("web:payment", args=[bianchi.pk])
    assert "?customer=R01" in get(client, url, {"q": "ross"})
    assert "FT 2026/0123" not in get(client, url, {"customer": "R01"})  # closed: not offered
    assert "This customer has no open items." in get(client, url, {"customer": "R01"})


def test_setting_aside_and_taking_back(client, company, ledger):
    client = logged_in(client, company, language="en")
    _rossi, bianchi = imported(client, ledger)
    url = reverse("web:payment", args=[bianchi.pk])
    client.post(url, {"op": "ignore", "note": "rimborso"})
    entry = BankEntry.objects.get(pk=bianchi.pk)
    assert entry.status == EntryStatus.IGNORED and entry.note == "rimborso"
    assert "PAGAMENTO FORNITURA" in get(client, LIST, {"tab": "ignored"})
    client.post(url, {"op": "undo"})
    assert BankEntry.objects.get(pk=bianchi.pk).status == EntryStatus.PROPOSED


def test_undoing_an_automatic_match_reopens_the_item(client, company, ledger):
    client = logged_in(client, company, language="en")
    rossi, _bianchi = imported(client, ledger)
    response = client.post(reverse("web:payment", args=[rossi.pk]), {"op": "undo"})
    assert messages_of(response) == ["Match undone: the items owe again what it paid."]
    item = Receivable.objects.get(pk=ledger["ft123"].pk)
    assert item.status == ReceivableStatus.OPEN and item.open_amount == Decimal("1220.00")
    assert BankPaidItem.objects.get(receivable=item).status == BankPaidStatus.REVERSED
    page = get(client, reverse("web:payment", args=[rossi.pk]))
    assert "undone on 01/04/2026" in page


def test_auditors_read_a_payment_without_its_forms(client, company, ledger):
    manager = logged_in(client, company, language="en")
    _rossi, bianchi = imported(manager, ledger)
    client.logout()
    auditor = logged_in(client, company, role=Role.AUDITOR, language="en")
    page = get(auditor, reverse("web:payment", args=[bianchi.pk]))
    assert "Suggestions" not in page and "Set aside" not in page
    assert auditor.post(reverse("web:payment", args=[bianchi.pk]), {"op": "undo"}).status_code == (
        403
    )


# --------------------------------------------------------------------------------------
# Reconciliation
# --------------------------------------------------------------------------------------


def test_reconciliation_lists_what_the_erp_still_shows_open(client, company, ledger):
    client = logged_in(client, company, language="en")
    imported(client, ledger)
    BankPaidItem.objects.filter(receivable=ledger["ft123"]).update(
        status=BankPaidStatus.DIFFERS,
        erp_open_amount=Decimal("1220.00"),
        flagged_on=dt.date(2026, 4, 2),
    )
    assert "One item paid by the bank is still open in the ERP" in get(client, LIST)
    url = reverse("web:payments_reconciliation")
    page = get(client, url)
    assert "FT 2026/0123" in page and "02/04/2026" in page
    watch = BankPaidItem.objects.get(receivable=ledger["ft123"])
    client.post(url, {"item": watch.pk, "note": "registrato in contabilità"})
    watch.refresh_from_db()
    assert watch.note == "registrato in contabilità" and watch.checked_at is not None


def test_collectors_read_the_reconciliation_only(client, company, ledger):
    client = logged_in(client, company, role=Role.COLLECTOR)
    url = reverse("web:payments_reconciliation")
    assert client.get(url).status_code == 200
    assert client.post(url, {"item": 1}).status_code == 403


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", Decimal("1234.56")),  # Italian thousands and decimals
        ("1234.56", Decimal("1234.56")),
        ("250", Decimal("250.00")),
        ("€ 12,5", Decimal("12.50")),
        ("", None),
        ("1,234", None),  # a thousandth of a euro is not an amount
        ("abc", None),
        ("NaN", None),
    ],
)
def test_amounts_typed_in_the_split_form(text, expected):
    assert _amount(text) == expected


def test_the_list_pages_keep_the_tab(client, company, ledger):
    client = logged_in(client, company, language="en")
    bianchi = imported(client, ledger)[1]
    # 50 payments a page: 60 waiting payments (the imported one and 59 copies) are 2 pages.
    for n in range(59):
        bianchi.pk = None
        bianchi.key = f"copy-{n}"
        bianchi.save()
    page = get(client, LIST, {"tab": "review"})
    assert 'href="?tab=review&amp;page=2"' in page and "Page 1 of 2" in page
