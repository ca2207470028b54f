"""The daily cycle's pages (``web.cycle``) and the dashboard's warning when the reminders
wait for a snapshot: who sees what, who may change the schedule, start a run, drop a file
into the inbox; another company's runs and files are not found.

Today is Wednesday 01/04/2026, 07:00 in Rome.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incassa.cycle import services
from incassa.cycle.models import (
    CycleRun,
    CycleSchedule,
    InboxFile,
    InboxStatus,
    RunStatus,
    Trigger,
)
from incassa.ledger.models import Role
from incassa.ledger.services import receivables_import
from tests.cycle.conftest import DAY, MORNING, snapshot_bytes
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.SALES_AGENT, Role.AUDITOR]
MANAGERS = {Role.ADMINISTRATOR, Role.CREDIT_MANAGER}


@pytest.fixture(autouse=True)
def _world(settings, tmp_path):
    settings.INCASSA_INBOX_DIR = tmp_path / "inbox"
    settings.INCASSA_INBOX_SETTLE_SECONDS = 0
    settings.INCASSA_CYCLE_RETRY_SECONDS = 0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def english(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def members(company) -> dict[str, object]:
    users = {}
    for role in ROLES:
        users[role] = UserFactory(username=f"cycle-{role.replace('_', '-')}")
        MembershipFactory(user=users[role], company=company, role=role)
    return users


def as_role(client, members, role):
    client.force_login(members[role])
    return client


def snapshot(company, day: dt.date, tmp_path) -> None:
    path = tmp_path / f"s-{day}.csv"
    path.write_bytes(snapshot_bytes())
    receivables_import(company=company, path=path, as_of=day)


# --------------------------------------------------------------------------------------
# Who sees what
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_who_opens_the_page(english, members, role):
    response = as_role(english, members, role).get(reverse("web:cycle"))
    if role == Role.SALES_AGENT:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    text = response.content.decode()
    assert "Daily cycle" in text
    assert ("Run today's cycle now" in text) == (role in MANAGERS)
    assert ("Save the schedule" in text) == (role in MANAGERS)
    assert ("Send to the inbox" in text) == (role in MANAGERS)


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.AUDITOR, Role.SALES_AGENT])
def test_others_may_not_change_anything(english, members, role):
    response = as_role(english, members, role).post(reverse("web:cycle"), {"op": "run"})
    assert response.status_code == 403
    assert not CycleRun.objects.exists()


def test_runs_with_their_stages_newest_first(english, members, company):
    services.cycle_run(company=company, day=dt.date(2026, 3, 31), trigger=Trigger.COMMAND)
    services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    text = as_role(english, members, Role.AUDITOR).get(reverse("web:cycle")).content.decode()
    assert text.index("01/04/2026") < text.index("31/03/2026")
    for label in ("Import inbox", "Scores and KPIs", "Strategies", "Emails and PEC",
                  "Print batch", "Summary email"):  # fmt: skip
        assert label in text
    assert "No snapshot as of the day: the reminders wait." in text


def test_the_runs_refresh_themselves_while_one_is_under_way(english, members, company):
    CycleRun.objects.create(company=company, day=DAY, trigger=Trigger.MANUAL)
    client = as_role(english, members, Role.COLLECTOR)
    page = client.get(reverse("web:cycle")).content.decode()
    assert 'hx-trigger="every 3s"' in page
    assert "Waiting for a worker to start it." in page
    part = client.get(reverse("web:cycle"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="cycle-runs")
    text = part.content.decode()
    assert text.lstrip().startswith('<section id="cycle-runs"')
    assert "<html" not in text


def test_a_run_and_a_file_of_another_company_are_not_found(english, members, company):
    beta = CompanyFactory(code="beta")
    theirs = services.cycle_run(company=beta, day=DAY, trigger=Trigger.COMMAND)
    their_file = services.inbox_receive(company=beta, name="b.csv", data=snapshot_bytes())
    ours = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    our_file = services.inbox_receive(company=company, name="a.csv", data=snapshot_bytes())
    client = as_role(english, members, Role.CREDIT_MANAGER)
    assert client.get(reverse("web:cycle_run", args=[ours.pk])).status_code == 200
    assert client.get(reverse("web:cycle_run", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("web:cycle_inbox_file", args=[our_file.pk])).status_code == 200
    assert client.get(reverse("web:cycle_inbox_file", args=[their_file.pk])).status_code == 404
    assert "b.csv" not in client.get(reverse("web:cycle")).content.decode()


def test_a_run_page_shows_its_summary_and_problems(english, members, company, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("no strategy")

    monkeypatch.setattr("incassa.dunning.services.dunning_run", broken)
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    text = (
        as_role(english, members, Role.AUDITOR)
        .get(reverse("web:cycle_run", args=[run.pk]))
        .content.decode()
    )
    assert "Daily cycle of 01/04/2026" in text
    assert "Strategies: RuntimeError: no strategy" in text
    assert "Not run: Strategies failed." in text
    assert "completed with problems" in text  # the summary's subject
    assert (
        as_role(english, members, Role.CREDIT_MANAGER)
        .post(reverse("web:cycle_run", args=[run.pk]))
        .status_code
        == 400
    )


def test_an_inbox_files_report(english, members, company):
    bad = snapshot_bytes(
        [*snapshot_bytes().decode().splitlines()[1:], "003;Verdi;;;F3;06/04/2026;x"]
    )
    (services.inbox_folder(company) / "scad.csv").write_bytes(bad)
    (row,) = services.inbox_process(company=company, today=DAY).files
    text = (
        as_role(english, members, Role.COLLECTOR)
        .get(reverse("web:cycle_inbox_file", args=[row.pk]))
        .content.decode()
    )
    assert "scad.csv" in text
    assert "Failed" in text
    assert "Importo" in text  # the rejected row's column


# --------------------------------------------------------------------------------------
# What managers do
# --------------------------------------------------------------------------------------


def test_save_the_schedule(english, members, company):
    client = as_role(english, members, Role.ADMINISTRATOR)
    response = client.post(
        reverse("web:cycle"),
        {
            "op": "schedule",
            "enabled": "on",
            "at": "06:45",
            "time_zone": "Europe/Rome",
            "weekdays": ["0", "1", "2", "3", "4", "5"],
            "skip_non_working": "on",
            "recipients": "crediti@acme.it\ncapo@acme.it",
        },
    )
    assert response.status_code == 302
    schedule = CycleSchedule.objects.get(company=company)
    assert (schedule.at, schedule.weekdays, schedule.send_when_stale) == (
        dt.time(6, 45), "012345", False
    )  # fmt: skip
    assert schedule.recipients == "crediti@acme.it\ncapo@acme.it"


def test_a_wrong_schedule_is_not_saved(english, members, company):
    client = as_role(english, members, Role.CREDIT_MANAGER)
    response = client.post(
        reverse("web:cycle"),
        {
            "op": "schedule",
            "at": "07:00",
            "time_zone": "Europe/Atlantide",
            "weekdays": ["0"],
            "recipients": "non-un-indirizzo",
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Unknown time zone: Europe/Atlantide." in text
    assert "non-un-indirizzo is not an email address." in text
    assert not CycleSchedule.objects.exists()


def test_run_todays_cycle_now(english, members, company, django_capture_on_commit_callbacks):
    client = as_role(english, members, Role.CREDIT_MANAGER)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("web:cycle"), {"op": "run"}, follow=True)
    assert "Today&#x27;s cycle (01/04/2026) has been started" in response.content.decode()
    run = CycleRun.objects.get()
    # Handed to the queue, which in the tests runs it at once.
    assert (run.trigger, run.day, run.status) == (Trigger.MANUAL, DAY, RunStatus.SUCCEEDED)
    assert run.requested_by == members[Role.CREDIT_MANAGER]


def test_one_run_at_a_time(english, members, company):
    CycleRun.objects.create(company=company, day=DAY, trigger=Trigger.MANUAL)
    response = as_role(english, members, Role.ADMINISTRATOR).post(
        reverse("web:cycle"), {"op": "run"}, follow=True
    )
    assert "A cycle of 01/04/2026 is already waiting to start." in response.content.decode()
    assert CycleRun.objects.count() == 1


def test_drop_a_file_into_the_inbox(english, members, company):
    client = as_role(english, members, Role.CREDIT_MANAGER)
    upload = SimpleUploadedFile("scadenziario.csv", snapshot_bytes(), content_type="text/csv")
    response = client.post(reverse("web:cycle"), {"op": "upload", "file": upload}, follow=True)
    assert "scadenziario.csv is in the inbox: the next cycle imports it." in (
        response.content.decode()
    )
    row = InboxFile.objects.get()
    assert (row.status, row.source) == (InboxStatus.RECEIVED, "uploaded by cycle-credit-manager")


def test_an_unknown_operation(english, members):
    response = as_role(english, members, Role.ADMINISTRATOR).post(reverse("web:cycle"), {"op": "x"})
    assert response.status_code == 400


# --------------------------------------------------------------------------------------
# The dashboard
# --------------------------------------------------------------------------------------


def test_the_dashboard_warns_while_the_reminders_wait(english, members, company, tmp_path):
    snapshot(company, dt.date(2026, 3, 31), tmp_path)
    text = as_role(english, members, Role.COLLECTOR).get(reverse("web:dashboard")).content.decode()
    assert (
        "The last snapshot is as of 31/03/2026: today&#x27;s reminders wait until a new one "
        "arrives." in text
    )
    assert f'href="{reverse("web:cycle")}"' in text
    CycleSchedule.objects.create(company=company, send_when_stale=True)
    text = as_role(english, members, Role.COLLECTOR).get(reverse("web:dashboard")).content.decode()
    assert "today&#x27;s reminders are sent anyway" in text
    # Sales agents have no say in the reminders (nor a cycle page): no warning.
    text = (
        as_role(english, members, Role.SALES_AGENT).get(reverse("web:dashboard")).content.decode()
    )
    assert "data-cycle-stale" not in text


def test_no_warning_with_todays_snapshot(english, members, company, tmp_path):
    snapshot(company, DAY, tmp_path)
    text = (
        as_role(english, members, Role.ADMINISTRATOR).get(reverse("web:dashboard")).content.decode()
    )
    assert "data-cycle-stale" not in text
