"""A factory for jobs: a finished report recompute of a fresh company unless told otherwise."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from incassa.jobs.models import Job, JobKind, JobStatus
from tests.factories import FIXED_MOMENT, CompanyFactory


class JobFactory(DjangoModelFactory):
    class Meta:
        model = Job

    company = factory.SubFactory(CompanyFactory)
    kind = JobKind.REPORT_RECOMPUTE
    title = "Credit report as of 31/03/2026 recomputed"
    function = "incassa.jobs.services.report_recompute_job"
    kwargs = factory.LazyFunction(dict)
    status = JobStatus.QUEUED
    created_at = FIXED_MOMENT
    heartbeat_at = FIXED_MOMENT
