"""``incassa demo-data``: the demo portfolio with its days of dunning, and the demo login."""

from __future__ import annotations

import io
from decimal import Decimal

from django.core.management import call_command

from incassa.dunning.models import Action, ActionStatus, ItemStep
from incassa.ledger.models import Company, Customer, ImportRun, Membership, Receivable, Role
from incassa.workspace.models import Activity, Promise


def summary(company: Company) -> tuple[list[str], Decimal, int]:
    codes = sorted(Customer.objects.filter(company=company).values_list("code", flat=True))
    items = Receivable.objects.filter(company=company, status="open")
    return codes, sum(items.values_list("open_amount", flat=True), Decimal(0)), items.count()


def test_command_prints_a_fresh_login_each_time(db):
    out = io.StringIO()
    call_command("demo_data", "--as-of", "2026-03-31", "--seed", "3", stdout=out)
    output = out.getvalue()
    assert "Demo login: http://127.0.0.1:8000/  user: demo  password: " in output
    password = output.rsplit("password: ", 1)[1].split()[0]
    user = Membership.objects.get(company__code="demo", role=Role.CREDIT_MANAGER).user
    assert user.username == "demo"
    assert user.check_password(password)
    assert user.is_staff and not user.is_superuser
    assert user.has_perm("ledger.view_receivable")
    assert user.has_perm("dunning.change_action")
    # The engine ran every day between the snapshots: items went through several steps,
    # and the last days' work still waits for the operators.
    assert ItemStep.objects.values("step__code").distinct().count() >= 6
    assert Action.objects.filter(status=ActionStatus.CREATED).exists()
    assert Action.objects.filter(status=ActionStatus.SENT).exists()
    # The team called the debtors of the last weeks: activities and agreements to look at.
    assert user.has_perm("workspace.view_promise")
    assert Membership.objects.filter(company__code="demo", role=Role.COLLECTOR).count() == 2
    assert Activity.objects.exists() and Promise.objects.exists()
    before = summary(Company.objects.get(code="demo"))
    first_run = ImportRun.objects.order_by("id").first().pk

    out = io.StringIO()
    call_command("demo_data", "--if-empty", stdout=out)
    output = out.getvalue()
    assert "already has data" in output
    new_password = output.rsplit("password: ", 1)[1].split()[0]
    assert new_password != password
    user.refresh_from_db()
    assert user.check_password(new_password)
    assert summary(Company.objects.get(code="demo")) == before
    assert ImportRun.objects.order_by("id").first().pk == first_run  # nothing rebuilt
