"""The workspace's admin: every model's changelist and change page open; agreements are
never added, deleted or moved to another status here (their state machines do that on the
pages), only their notes change; baselines and holds are shown; portfolios are edited with
their company's customers and operators only; staff see only their companies' rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from incassa.ledger.models import Role
from incassa.workspace import agreements, models
from incassa.workspace.models import (
    PromiseStatus,
    Reaction,
    TaskStatus,
)
from incassa.workspace.work import activity_record
from tests.factories import (
    CompanyFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    MembershipFactory,
    ReceivableFactory,
    UserFactory,
)
from tests.workspace.factories_work import (
    CustomerAssignmentFactory,
    PortfolioRuleFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 4, 1)
WORKSPACE_MODELS = [m for m in admin.site._registry if m._meta.app_label == "workspace"]


@pytest.fixture
def admin_client(admin_client):
    """The superuser's client, reading the admin in English."""
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return admin_client


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


def url(obj_or_model, view: str = "change", *args) -> str:
    meta = obj_or_model._meta
    if view == "change":
        args = (obj_or_model.pk,)
    return reverse(f"admin:workspace_{meta.model_name}_{view}", args=args)


@pytest.fixture
def operator(company):
    user = UserFactory(username="anna", first_name="Anna", last_name="Verdi")
    MembershipFactory(user=user, company=company, role=Role.COLLECTOR)
    return user


@pytest.fixture
def rows(company, operator):
    """One of each: a customer with five items of 100,00 due 31/03, one per agreement."""
    customer = CustomerFactory(company=company, code="001", name="Alfa S.r.l.")
    item = {
        n: ReceivableFactory(company=company, customer=customer, document_number=f"FT-{n}")
        for n in range(1, 6)
    }
    promise = agreements.promise_record(
        customer=customer,
        items=[item[1]],
        amount=Decimal("100.00"),
        promised_on=dt.date(2026, 4, 10),
        user=operator,
        today=DAY,
    )
    dispute = agreements.dispute_open(
        customer=customer, items=[item[2]], reason="price", owner=operator, today=DAY
    )
    plan = agreements.plan_create(
        customer=customer,
        items=[item[3]],
        instalments=[
            (dt.date(2026, 4, 30), Decimal("60.00")),
            (dt.date(2026, 5, 31), Decimal("40.00")),
        ],
        today=DAY,
    )
    settlement = agreements.settlement_agree(
        customer=customer,
        items=[item[4]],
        agreed_amount=Decimal("80.00"),
        due_on=dt.date(2026, 4, 15),
        write_off_reason="difficoltà",
        today=DAY,
    )
    case = agreements.case_open(
        customer=customer, items=[item[5]], agency="Recuperi S.p.A.", today=DAY
    )
    activity = activity_record(
        customer=customer,
        kind="call",
        user=operator,
        items=[item[1]],
        reaction=Reaction.NONE,
        outcome="richiamare",
    )
    return {
        "customer": customer,
        "promise": promise,
        "dispute": dispute,
        "plan": plan,
        "settlement": settlement,
        "case": case,
        "activity": activity,
        "task": TaskFactory(company=company, customer=customer, assignee=operator),
        "rule": PortfolioRuleFactory(company=company, operator=operator),
        "assignment": CustomerAssignmentFactory(customer=customer, operator=operator),
    }


def test_every_workspace_model_is_registered():
    assert set(WORKSPACE_MODELS) == {
        models.PortfolioRule, models.CustomerAssignment, models.Task, models.Activity,
        models.Promise, models.Dispute, models.RepaymentPlan, models.Settlement, models.Case,
    }  # fmt: skip


@pytest.mark.parametrize("model", WORKSPACE_MODELS, ids=lambda m: m.__name__)
def test_changelists_open(admin_client, rows, model):
    changelist = url(model, "changelist")
    page = admin_client.get(changelist)
    assert page.status_code == 200
    assert "Alfa" in page.content.decode() or model is models.PortfolioRule
    assert admin_client.get(changelist, {"q": "001"}).status_code == 200


@pytest.mark.parametrize("model", WORKSPACE_MODELS, ids=lambda m: m.__name__)
def test_change_pages_open(admin_client, rows, model):
    obj = model.objects.get()
    assert admin_client.get(url(obj)).status_code == 200


def test_the_promise_shows_its_baseline_holds_and_status_read_only(admin_client, rows):
    promise = rows["promise"]
    html = admin_client.get(url(promise)).content.decode()
    # Baseline: FT-1 was 100,00 open when promised; its hold runs from 01/04 to the day
    # after the promised date plus three days of grace (10/04 + 4 = 14/04).
    assert "FT-1 31/03/2026: €100.00" in html
    assert "Promise" in html and "from 01/04/2026 until 14/04/2026" in html
    assert 'name="status"' not in html
    assert 'name="amount"' not in html
    assert 'name="note"' in html
    assert "The status changes on the customer" in html
    assert f'href="/customers/001/?company={promise.company.code}"' in html


@pytest.mark.parametrize("name", ["promise", "dispute", "plan", "settlement", "case"], ids=str)
def test_agreements_are_not_added_deleted_or_moved_here(admin_client, rows, name):
    obj = rows[name]
    model = type(obj)
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.get(reverse(
        f"admin:workspace_{model._meta.model_name}_delete", args=[obj.pk]
    )).status_code == 403  # fmt: skip
    status = obj.status
    admin_client.post(url(obj), {"status": "cancelled", "note": "x", "description": "x"})
    obj.refresh_from_db()
    assert obj.status == status
    assert obj.holds.filter(released_on__isnull=True).exists()


def test_a_promises_note_is_edited(admin_client, rows):
    promise = rows["promise"]
    response = admin_client.post(url(promise), {"note": "Richiamare il 10", "status": "broken"})
    assert response.status_code == 302
    promise.refresh_from_db()
    assert promise.note == "Richiamare il 10"
    assert promise.status == PromiseStatus.OPEN


def test_the_plan_shows_its_instalments(admin_client, rows):
    html = admin_client.get(url(rows["plan"])).content.decode()
    assert "€60.00" in html
    assert "€40.00" in html
    assert 'name="instalments-0-amount"' not in html  # read-only


def test_a_disputes_owner_must_work_on_collections(admin_client, rows, company):
    dispute = rows["dispute"]
    stranger = UserFactory(username="estraneo")
    response = admin_client.post(
        url(dispute), {"owner": stranger.pk, "description": "prezzo", "deadline": ""}
    )
    assert response.status_code == 200
    assert "Choose a colleague who works on collections here." in response.content.decode()
    dispute.refresh_from_db()
    assert dispute.owner != stranger


def test_portfolio_rows_stay_within_their_company(admin_client, company, operator):
    other = CompanyFactory()
    foreign_category = CustomerCategoryFactory(company=other)
    response = admin_client.post(
        url(models.PortfolioRule, "add"),
        {"company": company.pk, "category": foreign_category.pk, "operator": operator.pk},
    )
    assert response.status_code == 200
    assert "The category belongs to another company." in response.content.decode()
    auditor = UserFactory(username="revisore")
    MembershipFactory(user=auditor, company=company, role=Role.AUDITOR)
    response = admin_client.post(
        url(models.PortfolioRule, "add"), {"company": company.pk, "operator": auditor.pk}
    )
    assert "Choose a colleague who works on collections here." in response.content.decode()
    response = admin_client.post(
        url(models.CustomerAssignment, "add"),
        {
            "company": company.pk,
            "customer": CustomerFactory(company=other).pk,
            "operator": operator.pk,
        },
    )
    assert "The customer belongs to another company." in response.content.decode()
    assert not models.PortfolioRule.objects.exists()
    assert not models.CustomerAssignment.objects.exists()

    response = admin_client.post(
        url(models.PortfolioRule, "add"), {"company": company.pk, "operator": operator.pk}
    )
    assert response.status_code == 302
    assert models.PortfolioRule.objects.get().category is None


def test_a_task_is_added_by_hand_with_its_status_read_only(admin_client, company, operator):
    customer = CustomerFactory(company=company)
    response = admin_client.post(
        url(models.Task, "add"),
        {
            "company": company.pk,
            "customer": customer.pk,
            "kind": "manual",
            "title": "Verificare il bonifico",
            "due_on": "2026-04-03",
            "assignee": operator.pk,
            "status": "done",
        },
    )
    assert response.status_code == 302
    task = models.Task.objects.get()
    assert task.status == TaskStatus.OPEN
    assert task.created_by.username == "admin"
    html = admin_client.get(url(task)).content.decode()
    assert 'name="status"' not in html
    assert 'name="customer"' not in html  # whose task it is stays
    assert "on the worklist" in html


def test_activities_are_not_added_or_deleted_and_only_notes_change(admin_client, rows):
    activity = rows["activity"]
    assert admin_client.get(url(models.Activity, "add")).status_code == 403
    response = admin_client.post(
        url(activity),
        {
            "contact_person": "Sig. Bianchi",
            "outcome": "richiamare lunedì",
            "notes": "",
            "reaction": "disputes",
        },
    )
    assert response.status_code == 302
    activity.refresh_from_db()
    assert (activity.contact_person, activity.outcome) == ("Sig. Bianchi", "richiamare lunedì")
    assert activity.reaction == Reaction.NONE


def test_staff_see_only_their_companies(client, rows, company):
    staff = UserFactory(username="staff", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label="workspace", codename__startswith="view_")
    )
    MembershipFactory(user=staff, company=company, role=Role.CREDIT_MANAGER)
    other = CompanyFactory()
    foreign = agreements.promise_record(
        customer=(stranger := CustomerFactory(company=other, code="999", name="Estranea S.p.A.")),
        items=[ReceivableFactory(company=other, customer=stranger)],
        amount=Decimal("50.00"),
        promised_on=dt.date(2026, 4, 10),
        today=DAY,
    )
    client.force_login(staff)
    html = client.get(url(models.Promise, "changelist")).content.decode()
    assert "Alfa S.r.l." in html
    assert "Estranea" not in html
    assert client.get(url(rows["promise"])).status_code == 200
    assert client.get(url(foreign)).status_code == 302  # "does not exist": back to the index
