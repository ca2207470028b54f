"""The team page: portfolios with their figures, the rules per category, hand and bulk
assignments, punctuality per operator and week; who may look and who may change.

Today is Wednesday 01/04/2026 (ISO week 14) in Rome for every test here. Messages are read
in English.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incassa.ledger.models import Role
from incassa.workspace.models import CustomerAssignment, PortfolioRule, TaskStatus
from tests.factories import (
    CompanyFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    ReceivableFactory,
    SalesAgentFactory,
)
from tests.web.test_customers import get, logged_in, member, post, shown_messages
from tests.workspace.factories_work import (
    CustomerAssignmentFactory,
    PortfolioRuleFactory,
    TaskFactory,
)

TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 1)
YESTERDAY = dt.date(2026, 3, 31)
TOMORROW = dt.date(2026, 4, 2)
TEAM = reverse("web:team")
NBSP = "\xa0"
ALL_ROLES = [r.value for r in Role]


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def anna(company):
    return member(company, Role.COLLECTOR, username="anna", first_name="Anna", last_name="Verdi")


@pytest.fixture
def bruno(company):
    return member(
        company, Role.CREDIT_MANAGER, username="bruno", first_name="Bruno", last_name="Neri"
    )


@pytest.fixture
def manager(client, company):
    """The credit manager, logged in, reading in English."""
    return logged_in(client, company, Role.CREDIT_MANAGER, language="en")


@pytest.fixture
def retail(company):
    return CustomerCategoryFactory(company=company, code="RET", name="Dettaglio")


def row_of(html: str, attribute: str, value: str) -> str:
    match = re.search(rf'<tr {attribute}="{value}">(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={value}"
    return match[1]


def cells(row: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def team_post(client, **data):
    return post(client, TEAM, data)


# --------------------------------------------------------------------------------------
# Who may look and who may change
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_but_sales_agents_sees_the_page(client, company, role):
    logged_in(client, company, role)
    response = client.get(TEAM)
    assert response.status_code == (403 if role == Role.SALES_AGENT else 200)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_administrators_and_credit_managers_change(client, company, anna, retail, role):
    logged_in(client, company, role)
    response = client.post(TEAM, {"op": "rule", "category": retail.pk, "operator": anna.pk})
    manages = role in {Role.ADMINISTRATOR, Role.CREDIT_MANAGER}
    assert response.status_code == (302 if manages else 403)
    assert PortfolioRule.objects.filter(category=retail, operator=anna).exists() == manages


@pytest.mark.parametrize("role", [Role.COLLECTOR, Role.AUDITOR])
def test_read_only_roles_see_no_forms(client, company, anna, role):
    CustomerAssignmentFactory(customer=CustomerFactory(company=company), operator=anna)
    logged_in(client, company, role)
    html = get(client, TEAM)
    assert 'name="op"' not in html
    assert "Anna Verdi" in html


def test_administrators_see_the_forms(client, company, anna):
    CustomerAssignmentFactory(customer=CustomerFactory(company=company), operator=anna)
    logged_in(client, company, Role.ADMINISTRATOR)
    html = get(client, TEAM)
    for op in ("rule", "assign", "bulk", "unassign"):
        assert f'name="op" value="{op}"' in html


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_navigation_links_the_page_for_those_who_may_see_it(client, company, role):
    logged_in(client, company, role)
    link = f'href="{TEAM}"'
    visible = role != Role.SALES_AGENT
    for page in (reverse("web:dashboard"), reverse("web:customers"), reverse("web:worklist")):
        assert (link in get(client, page)) == visible, page


def test_the_link_is_marked_current_on_the_page(manager):
    assert f'href="{TEAM}" aria-current="page"' in get(manager, TEAM)


def test_login_is_required(client):
    response = client.get(TEAM)
    assert response.status_code == 302
    assert "login" in response.url


# --------------------------------------------------------------------------------------
# Portfolios
# --------------------------------------------------------------------------------------


def test_portfolio_figures(client, company, anna, bruno, retail):
    """Retail goes to Anna, every other customer to Bruno; R2 (retail) is Bruno's by hand.
    R1: 100,00 overdue (due 31/03) and 50,00 due 02/04; R2: 200,00 overdue; W1 (no
    category): 300,00 due 02/04."""
    PortfolioRuleFactory(company=company, category=retail, operator=anna)
    PortfolioRuleFactory(company=company, operator=bruno)
    r1 = CustomerFactory(company=company, code="R1", category=retail)
    r2 = CustomerFactory(company=company, code="R2", category=retail)
    w1 = CustomerFactory(company=company, code="W1")
    CustomerAssignmentFactory(customer=r2, operator=bruno)
    ReceivableFactory(company=company, customer=r1, open_amount=Decimal("100.00"))
    ReceivableFactory(company=company, customer=r1, open_amount=Decimal("50.00"), due_date=TOMORROW)
    ReceivableFactory(company=company, customer=r2, open_amount=Decimal("200.00"))
    ReceivableFactory(
        company=company, customer=w1, open_amount=Decimal("1300.00"), due_date=TOMORROW
    )
    TaskFactory(company=company, customer=r1, due_on=DAY)  # Anna's by portfolio, today
    TaskFactory(company=company, customer=r1, due_on=YESTERDAY, assignee=bruno)  # Bruno, late
    TaskFactory(company=company, customer=w1, due_on=YESTERDAY, status=TaskStatus.DONE)
    logged_in(client, company, Role.AUDITOR)

    html = get(client, TEAM)
    # Customers, open, overdue, tasks today, late tasks.
    assert cells(row_of(html, "data-operator", str(anna.pk))) == [
        "1", f"150,00{NBSP}€", f"100,00{NBSP}€", "1", "0"
    ]  # fmt: skip
    # R2 by hand and W1 by default: 200 + 1.300 open, 200 overdue.
    assert cells(row_of(html, "data-operator", str(bruno.pk))) == [
        "2", f"1.500,00{NBSP}€", f"200,00{NBSP}€", "0", "1"
    ]  # fmt: skip
    assert cells(row_of(html, "data-operator", "total")) == [
        "3", f"1.650,00{NBSP}€", f"300,00{NBSP}€", "1", "1"
    ]  # fmt: skip
    portfolios = html[: html.index('id="rules"')]
    assert 'data-operator="none"' not in portfolios  # everybody is looked after


def test_customers_nobody_looks_after_have_their_row(client, company, anna):
    CustomerFactory(company=company)
    logged_in(client, company, language="en")
    html = get(client, TEAM)
    assert cells(row_of(html, "data-operator", "none"))[0] == "1"
    assert cells(row_of(html, "data-operator", str(anna.pk)))[0] == "0"


def test_queries_do_not_grow_with_the_team(client, company, anna, django_assert_max_num_queries):
    logged_in(client, company, language="en")
    category = CustomerCategoryFactory(company=company)
    PortfolioRuleFactory(company=company, category=category, operator=anna)

    def count(size: int) -> int:
        for n in range(size):
            customer = CustomerFactory(company=company, category=category)
            ReceivableFactory(company=company, customer=customer)
            TaskFactory(company=company, customer=customer, due_on=YESTERDAY)
            done = TaskFactory(company=company, customer=customer, assignee=anna, due_on=YESTERDAY)
            done.status, done.done_at = TaskStatus.DONE, TODAY - dt.timedelta(days=1)
            done.save()
            CustomerAssignmentFactory(
                customer=customer,
                operator=member(company, Role.COLLECTOR, username=f"op-{size}-{n}"),
            )
            CustomerCategoryFactory(company=company)
            SalesAgentFactory(company=company)
        with CaptureQueriesContext(connection) as queries:
            get(client, TEAM)
        return len(queries)

    few = count(2)
    assert count(20) == few
    # Session, user, companies, role; whether the open balances are fresh; acting members,
    # customers and tasks grouped by operator; rules and categories; the assignments' count
    # and page; punctuality and its users; the sales agents of the bulk form.
    with django_assert_max_num_queries(15):
        get(client, TEAM)


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


def test_a_categorys_rule_is_set_changed_and_removed(manager, company, anna, bruno, retail):
    response = team_post(manager, op="rule", category=retail.pk, operator=anna.pk)
    assert response["Location"] == f"{TEAM}#rules"
    assert PortfolioRule.objects.get(company=company, category=retail).operator == anna
    assert shown_messages(response) == ["The customers of Dettaglio now go to Anna Verdi."]
    html = get(manager, TEAM)
    assert "Anna Verdi" in row_of(html, "data-category", str(retail.pk))

    response = team_post(manager, op="rule", category=retail.pk, operator=bruno.pk)
    assert PortfolioRule.objects.get(company=company, category=retail).operator == bruno
    assert PortfolioRule.objects.count() == 1
    assert shown_messages(response) == ["The customers of Dettaglio now go to Bruno Neri."]

    response = team_post(manager, op="rule_remove", category=retail.pk)
    assert not PortfolioRule.objects.exists()
    assert shown_messages(response) == [
        "The rule of Dettaglio is removed: its customers go to the default."
    ]
    response = team_post(manager, op="rule_remove", category=retail.pk)
    assert shown_messages(response) == ["There was no rule: nothing changed."]


def test_the_company_default(manager, company, anna):
    response = team_post(manager, op="rule", category="", operator=anna.pk)
    rule = PortfolioRule.objects.get(company=company)
    assert (rule.category, rule.operator) == (None, anna)
    assert shown_messages(response) == [
        "Customers without a rule of their category now go to Anna Verdi."
    ]
    assert "Anna Verdi" in row_of(get(manager, TEAM), "data-category", "default")
    response = team_post(manager, op="rule_remove", category="")
    assert not PortfolioRule.objects.exists()
    assert shown_messages(response) == ["There is no default operator any more."]


def test_rules_refuse_other_companies_and_non_operators(manager, company, retail):
    other = CompanyFactory()
    foreign_category = CustomerCategoryFactory(company=other)
    stranger = member(other, Role.COLLECTOR, username="estraneo")
    auditor = member(company, Role.AUDITOR, username="revisore")
    anna = member(company, Role.COLLECTOR, username="anna-r")
    assert (
        manager.post(TEAM, {"op": "rule", "category": foreign_category.pk, "operator": anna.pk})
    ).status_code == 404
    assert (
        manager.post(TEAM, {"op": "rule_remove", "category": foreign_category.pk})
    ).status_code == 404
    for user in (stranger, auditor):
        response = team_post(manager, op="rule", category=retail.pk, operator=user.pk)
        assert shown_messages(response) == [
            "Operator: Choose a colleague who works on collections."
        ]
    response = team_post(manager, op="rule", category=retail.pk, operator="")
    assert shown_messages(response) == ["Operator: Choose the operator."]
    assert not PortfolioRule.objects.exists()


def test_an_unknown_operation_is_a_bad_request(manager):
    assert manager.post(TEAM, {"op": "burn"}).status_code == 400


# --------------------------------------------------------------------------------------
# Hand assignments
# --------------------------------------------------------------------------------------


def test_assign_a_customer_by_code_and_take_it_back(manager, company, anna):
    customer = CustomerFactory(company=company, code="C-42", name="Rossi S.r.l.")
    response = team_post(manager, op="assign", code=" C-42 ", operator=anna.pk)
    assert response["Location"] == f"{TEAM}#assignments"
    assignment = CustomerAssignment.objects.get(customer=customer)
    assert assignment.operator == anna
    assert shown_messages(response) == ["Rossi S.r.l. is now assigned by hand to Anna Verdi."]
    html = get(manager, TEAM)
    row = row_of(html, "data-assignment", str(assignment.pk))
    assert "C-42" in row
    assert "Anna Verdi" in row
    assert f'href="{reverse("web:customer", args=["C-42"])}"' in row

    response = team_post(manager, op="unassign", assignment=assignment.pk)
    assert not CustomerAssignment.objects.exists()
    assert shown_messages(response) == ["Rossi S.r.l. goes back to the rule of its category."]


def test_assignments_refuse_other_companies(manager, company, anna):
    other = CompanyFactory()
    CustomerFactory(company=other, code="ALTRUI")
    response = team_post(manager, op="assign", code="ALTRUI", operator=anna.pk)
    assert shown_messages(response) == ["Customer code: No customer has the code ALTRUI."]
    mine = CustomerFactory(company=company, code="MIO")
    stranger = member(other, Role.COLLECTOR, username="estraneo")
    response = team_post(manager, op="assign", code="MIO", operator=stranger.pk)
    assert shown_messages(response) == ["Operator: Choose a colleague who works on collections."]
    assert not CustomerAssignment.objects.exists()

    foreign = CustomerAssignmentFactory(customer=CustomerFactory(company=other), operator=stranger)
    assert manager.post(TEAM, {"op": "unassign", "assignment": foreign.pk}).status_code == 404
    assert manager.post(TEAM, {"op": "unassign", "assignment": "x"}).status_code == 404
    assert CustomerAssignment.objects.filter(pk=foreign.pk).exists()
    assert mine.pk


def test_assignments_list_search_and_pages(manager, company, anna, bruno):
    for n in range(55):
        CustomerAssignmentFactory(
            customer=CustomerFactory(company=company, code=f"A{n:03d}"), operator=anna
        )
    CustomerAssignmentFactory(
        customer=CustomerFactory(company=company, code="B001"), operator=bruno
    )
    html = get(manager, TEAM)
    assert "56 customers assigned by hand" in html
    assert len(re.findall(r"<tr data-assignment=", html)) == 50
    assert "Page 1 of 2 (1–50)" in html
    assert len(re.findall(r"<tr data-assignment=", get(manager, TEAM, {"page": 2}))) == 6
    html = get(manager, TEAM, {"q": "bruno"})
    assert "1 customer assigned by hand" in html
    assert "B001" in html
    assert "A000" not in html
    assert "No customer matches." in get(manager, TEAM, {"q": "nessuno"})


def test_bulk_assign(manager, company, anna, bruno, retail):
    agent = SalesAgentFactory(company=company, name="Mario Rossi")
    # Retail: R1 (Bruno's by hand: moves), R2 and R3 (new); W1 of another category.
    r1, _r2, _r3 = (CustomerFactory(company=company, category=retail) for _ in range(3))
    CustomerFactory(company=company, sales_agent=agent)
    CustomerAssignmentFactory(customer=r1, operator=bruno)

    response = team_post(manager, op="bulk", category=retail.pk, operator=anna.pk)
    assert response["Location"] == f"{TEAM}#assignments"
    assert shown_messages(response) == ["3 customers are now assigned by hand to Anna Verdi."]
    assert CustomerAssignment.objects.filter(operator=anna).count() == 3

    response = team_post(manager, op="bulk", sales_agent=agent.pk, operator=bruno.pk)
    assert shown_messages(response) == ["1 customer is now assigned by hand to Bruno Neri."]
    # Nobody is left without an operator: nothing to do.
    response = team_post(manager, op="bulk", only="nobody", operator=bruno.pk)
    assert shown_messages(response) == ["No customer matches: nothing changed."]
    assert CustomerAssignment.objects.count() == 4


def test_bulk_assign_refuses_mistakes(manager, company, anna):
    other = CompanyFactory()
    CustomerFactory(company=company)
    response = team_post(manager, op="bulk", operator=anna.pk)
    assert shown_messages(response) == [
        "Choose a category, a sales agent or the customers not yet assigned: for every "
        "customer, set the company default instead."
    ]
    foreign = CustomerCategoryFactory(company=other)
    response = team_post(manager, op="bulk", category=foreign.pk, operator=anna.pk)
    assert shown_messages(response) == [
        "Category: Select a valid choice. That choice is not one of the available choices."
    ]
    response = team_post(manager, op="bulk", only="everyone", operator=anna.pk)
    assert len(shown_messages(response)) == 1
    assert not CustomerAssignment.objects.exists()


# --------------------------------------------------------------------------------------
# Punctuality
# --------------------------------------------------------------------------------------


def done_task(company, user, due_on: dt.date, done_on: dt.date | None):
    status = TaskStatus.DONE if done_on else TaskStatus.OPEN
    done_at = dt.datetime.combine(done_on, dt.time(10), tzinfo=dt.UTC) if done_on else None
    return TaskFactory(
        company=company, assignee=user, due_on=due_on, status=status, done_at=done_at
    )


@pytest.fixture
def punctual(company, anna, bruno):
    """Week 13 (23-29/03): Anna 2 planned, one done on its day, one done a day late (50%);
    Bruno 1 planned, not done (0%). Week 14: Anna's of 30/03 done on time (100%), and one
    due today, still open: it counts from tomorrow. Week 12: Bruno's cancelled one does not
    count. Another company's tasks count nowhere."""
    done_task(company, anna, dt.date(2026, 3, 24), dt.date(2026, 3, 24))
    done_task(company, anna, dt.date(2026, 3, 25), dt.date(2026, 3, 26))
    done_task(company, bruno, dt.date(2026, 3, 27), None)
    done_task(company, anna, dt.date(2026, 3, 30), dt.date(2026, 3, 30))
    done_task(company, anna, DAY, None)
    TaskFactory(
        company=company, assignee=bruno, due_on=dt.date(2026, 3, 18), status=TaskStatus.CANCELLED
    )
    done_task(CompanyFactory(), anna, dt.date(2026, 3, 24), None)


def test_punctuality_of_the_last_eight_weeks(manager, anna, bruno, punctual):
    html = get(manager, TEAM)
    section = html[html.index('id="punctuality"') :]
    # Weeks 7 (from 09/02) to 14 (from 30/03).
    weeks = re.findall(r"Week (\d+) <span class=\"debtor__code\">([\d/]+)</span>", section)
    assert weeks[0] == ("7", "09/02/2026")
    assert weeks[-1] == ("14", "30/03/2026")
    assert len(weeks) == 8
    # Six empty weeks, then week 13 and week 14, then the total.
    assert cells(row_of(section, "data-operator", str(anna.pk))) == [
        *["—"] * 6, "50% 1 of 2", "100% 1 of 1", "66.7% 2 of 3"
    ]  # fmt: skip
    assert cells(row_of(section, "data-operator", str(bruno.pk))) == [
        *["—"] * 6, "0% 0 of 1", "—", "0% 0 of 1"
    ]  # fmt: skip
    # All together: week 13 1 of 3, week 14 1 of 1; 2 of 4 in all.
    assert cells(row_of(section, "data-operator", "total")) == [
        *["—"] * 6, "33.3% 1 of 3", "100% 1 of 1", "50% 2 of 4"
    ]  # fmt: skip
    assert 'value="2026-W07" selected' in section
    assert 'value="2026-W14" selected' in section


def test_punctuality_for_a_chosen_range(manager, anna, punctual):
    html = get(manager, TEAM, {"from": "2026-W13", "to": "2026-W13"})
    section = html[html.index('id="punctuality"') :]
    assert re.findall(r"Week (\d+) <span", section) == ["13"]
    assert cells(row_of(section, "data-operator", str(anna.pk))) == ["50% 1 of 2", "50% 1 of 2"]
    # Reversed, it is the same range; nonsense falls back to the last eight weeks.
    reversed_html = get(manager, TEAM, {"from": "2026-W14", "to": "2026-W12"})
    assert re.findall(r"Week (\d+) <span", reversed_html) == ["12", "13", "14"]
    assert (
        len(re.findall(r"Week (\d+) <span", get(manager, TEAM, {"from": "x", "to": "2026-W99"})))
        == 8
    )
    # Weeks in the future are not offered: the range ends this week.
    future = get(manager, TEAM, {"from": "2026-W13", "to": "2026-W30"})
    assert re.findall(r"Week (\d+) <span", future) == ["13", "14"]


def test_punctuality_in_italian(client, company, anna, punctual):
    logged_in(client, company, Role.COLLECTOR)
    html = get(client, TEAM)
    section = html[html.index('id="punctuality"') :]
    assert "66,7%" in row_of(section, "data-operator", str(anna.pk))
