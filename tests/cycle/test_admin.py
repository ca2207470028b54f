"""The cycle's admin: every changelist and change page opens for a superuser; staff see
only their companies' runs and files; history cannot be edited."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from incassa.cycle import services
from incassa.cycle.models import CycleRun, CycleSchedule, InboxFile, Trigger
from incassa.ledger.models import Role
from tests.cycle.conftest import DAY, snapshot_bytes
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CYCLE_MODELS = [m for m in admin.site._registry if m._meta.app_label == "cycle"]


@pytest.fixture
def rows(company, morning):
    CycleSchedule.objects.create(company=company)
    services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    services.inbox_receive(company=company, name="scad.csv", data=snapshot_bytes())
    beta = CompanyFactory(code="beta")
    services.cycle_run(company=beta, day=DAY, trigger=Trigger.COMMAND)
    services.inbox_receive(company=beta, name="beta.csv", data=snapshot_bytes())


def test_every_model_is_registered():
    # The stages are shown inside their run.
    assert {m.__name__ for m in CYCLE_MODELS} == {"CycleSchedule", "CycleRun", "InboxFile"}


@pytest.mark.parametrize("model", CYCLE_MODELS, ids=lambda m: m.__name__)
def test_pages_open(client, rows, model):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    info = model._meta.app_label, model._meta.model_name
    assert client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
    obj = model.objects.order_by("pk").first()
    assert client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk])).status_code == 200


def test_staff_see_their_companies_only(client, rows, company):
    staff = UserFactory(username="staff", is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="cycle", codename__startswith="view_")
    )
    MembershipFactory(user=staff, company=company, role=Role.ADMINISTRATOR)
    client.force_login(staff)
    runs = client.get(reverse("admin:cycle_cyclerun_changelist")).context["cl"].queryset
    assert {r.company.code for r in runs} == {"acme"}
    files = client.get(reverse("admin:cycle_inboxfile_changelist")).context["cl"].queryset
    assert [f.name for f in files] == ["scad.csv"]
    assert CycleRun.objects.count() == 2 and InboxFile.objects.count() == 2
