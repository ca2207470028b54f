"""The job record: its defaults, its labels, and the order jobs are listed in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils.translation import override

from incassa.jobs.models import FINISHED, Job, JobKind, JobStatus
from tests.factories import CompanyFactory
from tests.jobs.factories import JobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with override("en"):
        yield


def test_a_new_job_waits_with_nothing_done():
    job = Job.objects.create(
        company=CompanyFactory(), kind=JobKind.STATEMENT_IMPORT, title="Import", function="x"
    )
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and not job.is_finished
    assert (job.done, job.total, job.attempts) == (0, 0, 0)
    assert job.kwargs == {} and job.files == [] and job.result == {}
    assert job.started_at is None and job.finished_at is None and job.created_by is None


@pytest.mark.parametrize("status", list(JobStatus))
def test_only_succeeded_and_failed_jobs_are_finished(status):
    assert JobFactory.build(status=status).is_finished is (status in FINISHED)
    assert {JobStatus.SUCCEEDED, JobStatus.FAILED} == FINISHED


def test_a_job_says_what_it_is():
    job = JobFactory.build(kind=JobKind.RECEIVABLES_IMPORT, title="Import of a.csv")
    assert job.kind_label == "Receivables snapshot import"
    assert str(job) == "Import of a.csv (Waiting)"
    # A kind of work the pages do not know is shown as it is named.
    assert JobFactory.build(kind="daily_cycle").kind_label == "daily_cycle"


def test_jobs_are_listed_newest_first():
    company = CompanyFactory()
    moment = dt.datetime(2026, 3, 31, 8, 0, tzinfo=dt.UTC)
    older = JobFactory(company=company, created_at=moment)
    newer = JobFactory(company=company, created_at=moment + dt.timedelta(minutes=1))
    # Two jobs of the same moment: the later one (higher id) first.
    twin = JobFactory(company=company, created_at=moment + dt.timedelta(minutes=1))
    assert list(Job.objects.filter(company=company)) == [twin, newer, older]
