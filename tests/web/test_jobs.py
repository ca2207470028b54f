"""The jobs' pages: one job while it waits, runs and when it is finished (with htmx asking
for its status part every second, or the page refreshing itself without JavaScript), who
may see it, and the company's list of recent jobs."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from incassa.jobs import selectors
from incassa.jobs.models import JobKind, JobStatus
from incassa.ledger.models import Role
from tests.factories import CompanyFactory, ImportRunFactory, MembershipFactory, UserFactory
from tests.jobs.factories import JobFactory
from tests.web.test_customers import get, logged_in

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
JOBS = reverse("web:jobs")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "job-status"}


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def queue_store():
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    yield HUEY
    HUEY.flush()


def job_url(job) -> str:
    return reverse("web:job", args=[job.pk])


def a_job(company, **fields):
    fields.setdefault("created_at", NOW - dt.timedelta(seconds=5))
    return JobFactory(company=company, **fields)


# --------------------------------------------------------------------------------------
# One job
# --------------------------------------------------------------------------------------


def test_a_running_job_shows_its_progress_and_asks_again(client, company, queue_store):
    client = logged_in(client, company, language="en")
    job = a_job(company, status=JobStatus.RUNNING, title="Import of scadenziario.csv")
    # What the worker wrote last: 250 of 1,000 rows written, a quarter.
    queue_store.put(
        selectors.progress_key(job.pk), {"stage": "writing", "done": 250, "total": 1000}
    )
    html = get(client, job_url(job))
    assert "<h1>Import of scadenziario.csv</h1>" in html
    assert '<span class="tag tag--sending">Running</span>' in html
    assert "Writing the ledger" in html and "250 of 1000" in html
    assert '<progress class="job-status__bar" max="100" value="25">' in html
    # htmx asks for the status part every second; without JavaScript the page refreshes.
    assert f'hx-get="{job_url(job)}" hx-trigger="every 1s"' in html
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html


def test_htmx_gets_the_status_part_only(client, company, queue_store):
    client = logged_in(client, company, language="en")
    job = a_job(company, status=JobStatus.RUNNING)
    response = client.get(job_url(job), **HTMX)
    part = response.content.decode()
    assert part.lstrip().startswith('<section id="job-status"')
    assert "<h1>" not in part and 'hx-trigger="every 1s"' in part
    assert "HX-Request" in response["Vary"]
    # Once the job is finished, its part comes back without the trigger: the asking stops.
    job.status = JobStatus.SUCCEEDED
    job.save()
    part = client.get(job_url(job), **HTMX).content.decode()
    assert "hx-trigger" not in part and "The figures have been recomputed." in part


def test_a_waiting_job_says_when_no_worker_takes_it(client, company):
    client = logged_in(client, company, language="en")
    fresh = a_job(company)
    html = get(client, job_url(fresh))
    assert "Waiting for a worker to start it" in html
    assert "No worker has started this job yet" not in html
    # Waiting for 31 seconds, past the 30 a worker needs at most to pick a job up.
    old = a_job(company, created_at=NOW - dt.timedelta(seconds=31))
    assert "No worker has started this job yet" in get(client, job_url(old))


def test_a_running_job_whose_worker_stopped_says_so(client, company):
    client = logged_in(client, company, language="en")
    alive = a_job(company, status=JobStatus.RUNNING, heartbeat_at=NOW - dt.timedelta(seconds=30))
    assert "has stopped answering" not in get(client, job_url(alive))
    # Nothing heard for 121 seconds, past the 120 allowed.
    lost = a_job(company, status=JobStatus.RUNNING, heartbeat_at=NOW - dt.timedelta(seconds=121))
    html = get(client, job_url(lost))
    assert "The worker running this job has stopped answering: the job will be run again." in html


def test_a_finished_import_links_to_its_report(client, company):
    client = logged_in(client, company, language="en")
    run = ImportRunFactory(company=company)
    job = a_job(
        company,
        kind=JobKind.RECEIVABLES_IMPORT,
        status=JobStatus.SUCCEEDED,
        started_at=NOW - dt.timedelta(seconds=4),
        finished_at=NOW,
        result={"import_run": run.pk, "created": 3, "updated": 1, "closed": 2, "unchanged": 7},
    )
    html = get(client, job_url(job))
    assert "Imported: 3 new, 1 updated, 2 closed, 7 unchanged." in html
    assert f'href="{reverse("web:import_detail", args=[run.pk])}"' in html
    assert '<progress class="job-status__bar" max="100" value="100">' in html
    assert "hx-trigger" not in html and "http-equiv" not in html
    # Rome is two hours ahead of UTC on 01/04/2026: 09:00 UTC is 11:00.
    assert "Started 01/04/2026 10:59:56, finished 01/04/2026 11:00:00." in html


def test_a_finished_statement_links_to_the_payments(client, company):
    client = logged_in(client, company, language="en")
    job = a_job(
        company,
        kind=JobKind.STATEMENT_IMPORT,
        status=JobStatus.SUCCEEDED,
        result={"new": 2, "known": 1, "booked": 1, "proposed": 1, "left": 0},
    )
    html = get(client, job_url(job))
    assert (
        "2 new payments (1 imported before): 1 matched and booked, 1 proposed, 0 to match."
    ) in html
    assert f'href="{reverse("web:payments")}"' in html


def test_a_failed_job_says_why_without_a_traceback(client, company):
    client = logged_in(client, company, language="en")
    unexpected = a_job(
        company,
        status=JobStatus.FAILED,
        message="The work stopped on an unexpected error; the administrators can read why in "
        "the log.",
        result={"error": "unexpected"},
    )
    html = get(client, job_url(unexpected))
    assert '<span class="tag tag--failed">Failed</span>' in html
    assert "The work stopped on an unexpected error" in html and "Traceback" not in html
    statement = a_job(
        company,
        kind=JobKind.STATEMENT_IMPORT,
        status=JobStatus.FAILED,
        message="the statement does not balance",
        result={"error": "rejected"},
    )
    assert "the statement does not balance" in get(client, job_url(statement))


def test_the_failure_of_the_jobs_own_is_in_the_readers_language(client, company):
    """The job's own failures are told by the page in the reader's language, whatever
    text the worker stored."""
    client = logged_in(client, company, language="en")
    job = a_job(
        company,
        status=JobStatus.FAILED,
        message="Il lavoro è stato interrotto 3 volte",
        result={"error": "interrupted", "attempts": 3},
    )
    html = get(client, job_url(job))
    assert "The work was interrupted 3 times (its worker stopped): it was given up." in html
    assert "Il lavoro" not in html


def test_only_a_path_of_this_site_is_offered_as_the_way_back(client, company):
    client = logged_in(client, company, language="en")
    job = a_job(company, status=JobStatus.SUCCEEDED, back_url="//evil.example/")
    html = get(client, job_url(job))
    assert "evil.example" not in html


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 200),
        (Role.CREDIT_MANAGER, 200),
        (Role.COLLECTOR, 403),
        (Role.AUDITOR, 403),
        (Role.SALES_AGENT, 403),
    ],
)
def test_who_sees_a_job(client, company, role, status):
    job = a_job(company)
    logged_in(client, company, role, language="en")
    assert client.get(job_url(job)).status_code == status


def test_who_started_a_job_sees_it_whatever_their_role(client, company):
    user = UserFactory(username="collector-who-started")
    MembershipFactory(user=user, company=company, role=Role.COLLECTOR)
    job = a_job(company, created_by=user)
    client.force_login(user)
    assert client.get(job_url(job)).status_code == 200


def test_another_companys_job_is_not_found(client, company):
    logged_in(client, company, Role.ADMINISTRATOR, language="en")
    other = a_job(CompanyFactory(code="altra"))
    assert client.get(job_url(other)).status_code == 404
    assert client.get(reverse("web:job", args=[987_654])).status_code == 404


def test_a_post_is_a_bad_request(client, company):
    logged_in(client, company, language="en")
    assert client.post(job_url(a_job(company))).status_code == 400
    assert client.post(JOBS).status_code == 400


# --------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------


def test_the_list_shows_the_companys_recent_jobs(client, company):
    client = logged_in(client, company, language="en")
    mine = a_job(company, title="Import of scadenziario.csv", status=JobStatus.SUCCEEDED)
    failed = a_job(
        company,
        title="Import of estratto.sta",
        status=JobStatus.FAILED,
        attempts=2,
        message="the statement does not balance",
        result={"error": "rejected"},
    )
    a_job(CompanyFactory(code="altra"), title="Import of altrui.csv")
    html = get(client, JOBS)
    assert f'href="{job_url(mine)}"' in html and f'href="{job_url(failed)}"' in html
    assert "Import of scadenziario.csv" in html and "the statement does not balance" in html
    assert "2 attempts" in html
    assert "altrui.csv" not in html


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 200),
        (Role.CREDIT_MANAGER, 200),
        (Role.COLLECTOR, 403),
        (Role.AUDITOR, 403),
        (Role.SALES_AGENT, 403),
    ],
)
def test_who_sees_the_list(client, company, role, status):
    logged_in(client, company, role, language="en")
    assert client.get(JOBS).status_code == status
