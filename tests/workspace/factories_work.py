"""factory_boy factories for the workspace's portfolios and tasks."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from incassa.workspace import models
from tests.factories import FIXED_DAY, CompanyFactory, CustomerFactory, UserFactory


class PortfolioRuleFactory(DjangoModelFactory):
    class Meta:
        model = models.PortfolioRule

    company = factory.SubFactory(CompanyFactory)
    operator = factory.SubFactory(UserFactory)
    category = None


class CustomerAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = models.CustomerAssignment

    customer = factory.SubFactory(CustomerFactory)
    company = factory.SelfAttribute("customer.company")
    operator = factory.SubFactory(UserFactory)


class TaskFactory(DjangoModelFactory):
    """An open manual task due on 31/03/2026 unless told otherwise."""

    class Meta:
        model = models.Task

    company = factory.SubFactory(CompanyFactory)
    customer = factory.SubFactory(CustomerFactory, company=factory.SelfAttribute("..company"))
    assignee = None
    kind = models.TaskKind.MANUAL
    title = factory.Sequence(lambda n: f"Attività {n}")
    due_on = FIXED_DAY
    status = models.TaskStatus.OPEN
