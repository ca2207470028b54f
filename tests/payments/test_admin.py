"""The payments' admin: every changelist and change page opens, and staff see only their
companies' statements."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from incassa.ledger.models import ImportKind
from incassa.payments import models
from tests.factories import CompanyFactory, ImportRunFactory, ReceivableFactory

PAYMENT_MODELS = [m for m in admin.site._registry if m._meta.app_label == "payments"]


@pytest.fixture
def payment_rows(company):
    item = ReceivableFactory(company=company)
    run = ImportRunFactory(company=company, kind=ImportKind.STATEMENT)
    statement = models.BankStatement.objects.create(
        company=company, import_run=run, format="mt940", account="IT60X0542811101000000123456"
    )
    entry = models.BankEntry.objects.create(
        company=company, statement=statement, key="IT60X:REF1",
        booking_date=dt.date(2026, 4, 1), amount=Decimal("100.00"), payer_name="Rossi SRL",
        status=models.EntryStatus.MATCHED, allocated_amount=Decimal("100.00"),
    )  # fmt: skip
    models.PaymentAllocation.objects.create(
        entry=entry, receivable=item, amount=Decimal("100.00"),
        open_amount_before=Decimal("100.00"),
    )  # fmt: skip
    models.PayerAccount.objects.create(
        company=company, customer=item.customer, iban="IT02L1234512345123456789012"
    )
    return entry


def test_every_payments_model_is_registered():
    # Allocations are shown inside their entry.
    assert set(PAYMENT_MODELS) == {models.BankStatement, models.BankEntry, models.PayerAccount}


@pytest.mark.parametrize("model", PAYMENT_MODELS, ids=lambda m: m.__name__)
def test_changelists_and_change_pages_open(admin_client, payment_rows, model):
    url = reverse(f"admin:payments_{model._meta.model_name}_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(url, {"q": "Rossi"}).status_code == 200
    obj = model.objects.first()
    change = reverse(f"admin:payments_{model._meta.model_name}_change", args=[obj.pk])
    assert admin_client.get(change).status_code == 200


def test_staff_see_only_their_companies(client, payment_rows, django_user_model):
    from django.contrib.auth.models import Permission

    from tests.factories import MembershipFactory, UserFactory

    other = CompanyFactory(code="altra")
    staff = UserFactory(username="staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_bankentry"))
    MembershipFactory(user=staff, company=other)
    client.force_login(staff)
    page = client.get(reverse("admin:payments_bankentry_changelist")).content.decode()
    assert "Rossi SRL" not in page
