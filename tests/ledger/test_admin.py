"""The ledger's admin: every changelist opens, money is formatted, history is read-only, and
the big tables cost the same number of queries whatever their size."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from incassa.ledger import models
from incassa.ledger.models import EventKind
from tests.factories import (
    ColumnMappingFactory,
    CompanyFactory,
    CustomerCategoryFactory,
    ImportRunFactory,
    IssuedInvoiceFactory,
    MembershipFactory,
    ReceivableEventFactory,
    ReceivableFactory,
    SalesAgentFactory,
    UserFactory,
)

LEDGER_MODELS = [m for m in admin.site._registry if m._meta.app_label == "ledger"]


@pytest.fixture
def ledger_rows(company):
    receivable = ReceivableFactory(company=company, open_amount=Decimal("1234.56"))
    run = ImportRunFactory(company=company, report={"errors": [], "note": "così"})
    ReceivableEventFactory(receivable=receivable, import_run=run)
    ReceivableEventFactory(
        receivable=receivable,
        kind=EventKind.AMOUNT_CHANGED,
        amount_before=Decimal("1234.56"),
        amount_after=Decimal("1000.00"),
        on_date=dt.date(2026, 4, 7),
    )
    IssuedInvoiceFactory(company=company, customer=receivable.customer)
    MembershipFactory(company=company)
    SalesAgentFactory(company=company)
    CustomerCategoryFactory(company=company)
    ColumnMappingFactory(company=company)
    einvoice = models.EInvoice.objects.create(
        company=company, customer=receivable.customer, import_run=run, document_type="TD01",
        number="FT 1", date=dt.date(2026, 3, 1), total=Decimal("1234.56"),
        transmission_format="FPR12", file_name="IT01234567890_00001.xml",
    )  # fmt: skip
    models.EInvoiceInstallment.objects.create(
        einvoice=einvoice, receivable=receivable, position=1, amount=Decimal("1234.56"),
        due_date=receivable.due_date, due_date_source="file", payment_method="MP05",
    )  # fmt: skip
    models.BankPaidItem.objects.create(
        receivable=receivable, company=company, paid_amount=Decimal("234.56"),
        paid_on=dt.date(2026, 4, 1),
    )  # fmt: skip
    return {"receivable": receivable, "run": run}


def test_every_ledger_model_is_registered():
    expected = {
        models.Company, models.Membership, models.SalesAgent, models.CustomerCategory,
        models.Customer, models.Receivable, models.ReceivableEvent, models.ImportRun,
        models.IssuedInvoice, models.ColumnMapping, models.EInvoice, models.BankPaidItem,
    }  # fmt: skip
    assert set(LEDGER_MODELS) == expected


@pytest.mark.parametrize("model", LEDGER_MODELS, ids=lambda m: m.__name__)
def test_changelists_open(admin_client, ledger_rows, model):
    url = reverse(f"admin:ledger_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "FT"}).status_code == 200


@pytest.mark.parametrize("model", LEDGER_MODELS, ids=lambda m: m.__name__)
def test_change_pages_open(admin_client, ledger_rows, model):
    obj = model.objects.first()
    url = reverse(f"admin:ledger_{model._meta.model_name}_change", args=[obj.pk])
    assert admin_client.get(url).status_code == 200


def test_money_is_formatted_in_the_users_language(admin_client, ledger_rows):
    url = reverse("admin:ledger_receivable_changelist")
    with translation.override("it"):
        page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "1.234,56\xa0€" in page
    admin_client.cookies["django_language"] = "en"
    page = admin_client.get(url).content.decode()
    assert "€1,234.56" in page


def test_receivable_shows_its_history_read_only(admin_client, ledger_rows):
    url = reverse("admin:ledger_receivable_change", args=[ledger_rows["receivable"].pk])
    admin_client.cookies["django_language"] = "en"
    page = admin_client.get(url).content.decode()
    assert "Amount changed" in page
    assert "€1,000.00" in page
    assert "events-0-kind" not in page  # no editable inline fields


def test_history_and_imports_cannot_be_edited(admin_client, ledger_rows):
    for model in (models.ReceivableEvent, models.ImportRun):
        name = model._meta.model_name
        obj = model.objects.first()
        assert admin_client.get(reverse(f"admin:ledger_{name}_add")).status_code == 403
        assert (
            admin_client.get(reverse(f"admin:ledger_{name}_delete", args=[obj.pk])).status_code
            == 403
        )
        response = admin_client.post(reverse(f"admin:ledger_{name}_change", args=[obj.pk]), {})
        assert response.status_code == 403


def test_import_report_is_pretty_printed(admin_client, ledger_rows):
    url = reverse("admin:ledger_importrun_change", args=[ledger_rows["run"].pk])
    page = admin_client.get(url).content.decode()
    expected = (
        '<pre class="incassa-report">{\n  &quot;errors&quot;: [],\n'
        "  &quot;note&quot;: &quot;così&quot;\n}</pre>"
    )
    assert expected in page


def test_receivable_search_and_filters(admin_client, ledger_rows):
    receivable = ledger_rows["receivable"]
    url = reverse("admin:ledger_receivable_changelist")
    for term in (
        receivable.document_number,
        receivable.customer.code,
        receivable.customer.name[:6],
    ):
        page = admin_client.get(url, {"q": term}).content.decode()
        assert receivable.document_number in page, term
    page = admin_client.get(url, {"q": "nothing-like-this"}).content.decode()
    assert receivable.document_number not in page
    # The dashboard links to a customer's open items.
    response = admin_client.get(
        url, {"customer__id__exact": receivable.customer_id, "status__exact": "open"}
    )
    assert response.status_code == 200
    assert receivable.document_number in response.content.decode()


def test_receivable_date_hierarchy_drills_down(admin_client, ledger_rows):
    url = reverse("admin:ledger_receivable_changelist")
    page = admin_client.get(url).content.decode()
    # One due date (31/03/2026): the hierarchy opens on its month and lists the days.
    assert "due_date__day=31" in page
    for params in ({"due_date__year": 2026}, {"due_date__year": 2026, "due_date__month": 3}):
        assert admin_client.get(url, params).status_code == 200


@pytest.mark.parametrize(
    "model", [models.Receivable, models.ReceivableEvent, models.Customer, models.IssuedInvoice]
)
def test_big_changelists_cost_the_same_queries_for_more_rows(admin_client, company, model):
    url = reverse(f"admin:ledger_{model._meta.model_name}_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert admin_client.get(url).status_code == 200
        return len(context.captured_queries)

    def add_rows(n: int) -> None:
        for _ in range(n):
            receivable = ReceivableFactory(company=company)
            ReceivableEventFactory(receivable=receivable)
            IssuedInvoiceFactory(company=company, customer=receivable.customer)

    add_rows(2)
    few = queries()
    add_rows(20)
    assert queries() == few


@pytest.fixture
def staff_member(company):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="ledger"))
    MembershipFactory(user=user, company=company)
    return user


def test_staff_see_only_their_companies(client, company, staff_member):
    mine = ReceivableFactory(company=company, document_number="MINE-1")
    other_company = CompanyFactory(name="Altra Azienda S.r.l.")
    theirs = ReceivableFactory(company=other_company, document_number="THEIRS-1")
    ReceivableEventFactory(receivable=theirs)
    client.force_login(staff_member)
    page = client.get(reverse("admin:ledger_receivable_changelist")).content.decode()
    assert "MINE-1" in page
    assert "THEIRS-1" not in page
    page = client.get(reverse("admin:ledger_company_changelist")).content.decode()
    assert company.name in page
    assert "Altra Azienda" not in page
    url = reverse("admin:ledger_receivable_change", args=[theirs.pk])
    assert client.get(url).status_code == 302  # "does not exist", back to the list
    assert client.get(reverse("admin:ledger_receivable_change", args=[mine.pk])).status_code == 200
    page = client.get(reverse("admin:ledger_receivableevent_changelist")).content.decode()
    assert "THEIRS-1" not in page


def test_superusers_see_every_company(admin_client, company):
    ReceivableFactory(company=company, document_number="MINE-1")
    ReceivableFactory(document_number="THEIRS-1")
    page = admin_client.get(reverse("admin:ledger_receivable_changelist")).content.decode()
    assert "MINE-1" in page
    assert "THEIRS-1" in page
