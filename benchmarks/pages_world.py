"""The people and the day's work on the page benchmark's ledger; prints the pages to request.

Run by ``benchmarks/pages.py`` as ``python -m benchmarks.pages_world PASSWORD`` on a
database that already holds two snapshots, their scores, the engine's runs and the KPI
snapshot. It adds a user per role, portfolio rules, the tasks of the engine's actions and a
team's day of calls (with their promises, disputes, plans and settlements) through the real
services, then prints one JSON object: ``{"users": {role: username}, "pages": [...]}``
where each page is ``[label, role, path]``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from django.urls import reverse  # noqa: E402

from incassa.comms.models import MessageTemplate  # noqa: E402
from incassa.dunning.models import Strategy  # noqa: E402
from incassa.ledger.models import (  # noqa: E402
    Company,
    Customer,
    CustomerCategory,
    ImportRun,
    Membership,
    Receivable,
    ReceivableStatus,
    Role,
    SalesAgent,
)
from incassa.workspace.demo import demo_work_play  # noqa: E402
from incassa.workspace.models import (  # noqa: E402
    Dispute,
    PortfolioRule,
    Promise,
    RepaymentPlan,
    TaskKind,
)
from incassa.workspace.work import task_create_manual, tasks_sync_from_actions  # noqa: E402

USERS = {
    Role.ADMINISTRATOR: "bench-admin",
    Role.CREDIT_MANAGER: "bench-manager",
    Role.COLLECTOR: "bench-collector",
    Role.SALES_AGENT: "bench-agent",
    Role.AUDITOR: "bench-auditor",
}
SECOND_COLLECTOR = "bench-collector-2"
# A team works a day's calls, not the whole ledger's: enough for every kind of agreement.
CALLS = 1_500


def _users(company: Company, password: str) -> dict[str, object]:
    model = get_user_model()
    people = {}
    for role, username in [*USERS.items(), (Role.COLLECTOR, SECOND_COLLECTOR)]:
        user, _created = model.objects.get_or_create(
            username=username, defaults={"first_name": username.title()}
        )
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(user=user, company=company, defaults={"role": role})
        people[username] = user
    # The agent with the most customers is the sales agent's login.
    agent = (
        SalesAgent.objects.filter(company=company)
        .annotate(n=Count("customers"))
        .order_by("-n", "pk")
        .first()
    )
    if agent is not None:
        agent.user = people[USERS[Role.SALES_AGENT]]
        agent.save(update_fields=["user"])
    return people


def _portfolios(company: Company, people: dict[str, object]) -> None:
    """Half the categories to each collector, the rest to the first one by default."""
    categories = list(CustomerCategory.objects.filter(company=company).order_by("code"))
    for index, category in enumerate(categories):
        operator = people[USERS[Role.COLLECTOR] if index % 2 else SECOND_COLLECTOR]
        PortfolioRule.objects.update_or_create(
            company=company, category=category, defaults={"operator": operator}
        )
    PortfolioRule.objects.update_or_create(
        company=company, category=None, defaults={"operator": people[USERS[Role.COLLECTOR]]}
    )


def _pages(company: Company) -> list[list[str]]:
    """The pages an operator opens during the day, with real objects of this ledger."""
    largest = (
        Customer.objects.filter(company=company)
        .annotate(open=Sum("receivables__open_amount"))
        .order_by("-open")
        .values_list("code", flat=True)
        .first()
    )
    item = (
        Receivable.objects.filter(customer__company=company, status=ReceivableStatus.OPEN)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    agent_customer = (
        Customer.objects.filter(company=company, sales_agent__user__isnull=False)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    promise = Promise.objects.filter(company=company).order_by("pk").first()
    dispute = Dispute.objects.filter(company=company).order_by("pk").first()
    plan = RepaymentPlan.objects.filter(company=company).order_by("pk").first()
    strategy = Strategy.objects.filter(company=company).order_by("pk").first()
    template = MessageTemplate.objects.filter(company=company).order_by("pk").first()
    run = ImportRun.objects.filter(company=company).order_by("-pk").first()
    manager, collector = Role.CREDIT_MANAGER, Role.COLLECTOR
    agent, auditor = Role.SALES_AGENT, Role.AUDITOR
    pages = [
        ["Dashboard", manager, "/"],
        ["Dashboard (sales agent)", agent, "/"],
        ["Customers", manager, "/customers/"],
        ["Customers, search", manager, "/customers/?q=rossi"],
        ["Customers, overdue and blocked", manager, "/customers/?overdue=1&blocked=1"],
        ["Customer 360 (the largest)", manager, f"/customers/{largest}/"],
        ["Customer 360 (sales agent)", agent, f"/customers/{agent_customer}/"],
        ["Item", manager, f"/items/{item}/"],
        ["Items by criticality", manager, "/items/"],
        ["Items, overdue, by amount", manager, "/items/?overdue=1&sort=-open_amount"],
        ["Items (collector's portfolio)", collector, "/items/"],
        ["Worklist (collector)", collector, "/worklist/"],
        ["Worklist (credit manager)", manager, "/worklist/"],
        ["Agreements", manager, "/agreements/"],
        ["Team", manager, "/team/"],
        ["Effectiveness", manager, "/effectiveness/"],
        ["Imports", manager, "/imports/"],
        ["Strategies", manager, "/strategies/"],
        ["Message templates", manager, "/templates/"],
        ["Suspensions and exclusions", manager, "/suspensions/"],
        ["Reports", manager, "/reports/"],
        ["Settings", manager, "/settings/"],
        ["Audit trail", auditor, "/audit/"],
    ]
    for label, obj, name in [
        ("Promise", promise, "web:promise"),
        ("Dispute", dispute, "web:dispute"),
        ("Repayment plan", plan, "web:plan"),
        ("Strategy", strategy, "web:strategy"),
        ("Message template", template, "web:message_template"),
        ("Import", run, "web:import_detail"),
    ]:
        if obj is not None:
            pages.append([label, manager, reverse(name, args=[obj.pk])])
    return pages


def main(password: str, day: str) -> None:
    company = Company.objects.get(code="bench")
    as_of = dt.date.fromisoformat(day)
    people = _users(company, password)
    _portfolios(company, people)
    tasks_sync_from_actions(company=company, as_of=as_of)
    # Two days into the ledger the strategy has not reached its calls yet: a collector's
    # day of calls is planned by hand on every 40th customer, then worked two days later
    # (the demo's operator delay) with what the debtors said.
    customers = Customer.objects.filter(company=company).order_by("code")[: CALLS * 40 : 40]
    for customer in customers:
        task_create_manual(
            customer=customer, title="Sollecito telefonico", due_on=as_of, kind=TaskKind.CALL
        )
    worked = as_of + dt.timedelta(days=2)
    demo_work_play(company=company, day=worked, today=worked, limit=CALLS)
    print(json.dumps({"users": {str(k): v for k, v in USERS.items()}, "pages": _pages(company)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
