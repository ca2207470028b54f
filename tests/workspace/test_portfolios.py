"""Portfolios: the figures per operator (grouped by the operator expression, a fixed number
of queries), the rules per category and the default, hand assignments and the bulk
assignment, and the punctuality table.

Today is 01/04/2026 (a Wednesday of ISO week 14) in every test here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from incassa.ledger.balances import open_balances_refresh
from incassa.ledger.models import ReceivableStatus, Role
from incassa.workspace import portfolios
from incassa.workspace.models import CustomerAssignment, PortfolioRule, TaskStatus
from incassa.workspace.portfolios import Only, PortfolioError
from incassa.workspace.selectors import Punctuality
from tests.factories import (
    CompanyFactory,
    CustomerCategoryFactory,
    CustomerFactory,
    ImportRunFactory,
    MembershipFactory,
    ReceivableFactory,
    SalesAgentFactory,
    UserFactory,
)
from tests.workspace.factories_work import (
    CustomerAssignmentFactory,
    PortfolioRuleFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 4, 1)
YESTERDAY = dt.date(2026, 3, 31)
TOMORROW = dt.date(2026, 4, 2)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def operator(company, username: str, role: str = Role.COLLECTOR, first_name: str = ""):
    user = UserFactory(username=username, first_name=first_name or username.title())
    MembershipFactory(user=user, company=company, role=role)
    return user


@pytest.fixture
def anna(company):
    return operator(company, "anna")


@pytest.fixture
def bruno(company):
    return operator(company, "bruno", Role.CREDIT_MANAGER)


@pytest.fixture
def team(company, anna, bruno):
    """Category A goes to Anna, everything else to Bruno by default; C2 (of A) is Bruno's
    by hand. Open items (today 01/04): C1 100,00 due 31/03 (overdue) and 50,00 due 02/04;
    C2 200,00 due 31/03; C3 300,00 due 02/04 and a closed 1.000,00; C4 nothing."""
    cat_a = CustomerCategoryFactory(company=company, code="A")
    cat_b = CustomerCategoryFactory(company=company, code="B")
    PortfolioRuleFactory(company=company, category=cat_a, operator=anna)
    PortfolioRuleFactory(company=company, category=None, operator=bruno)
    c1 = CustomerFactory(company=company, code="C1", category=cat_a)
    c2 = CustomerFactory(company=company, code="C2", category=cat_a)
    c3 = CustomerFactory(company=company, code="C3", category=cat_b)
    c4 = CustomerFactory(company=company, code="C4")
    CustomerAssignmentFactory(customer=c2, operator=bruno)
    ReceivableFactory(company=company, customer=c1, open_amount=Decimal("100.00"))
    ReceivableFactory(company=company, customer=c1, open_amount=Decimal("50.00"), due_date=TOMORROW)
    ReceivableFactory(company=company, customer=c2, open_amount=Decimal("200.00"))
    ReceivableFactory(
        company=company, customer=c3, open_amount=Decimal("300.00"), due_date=TOMORROW
    )
    ReceivableFactory(
        company=company,
        customer=c3,
        open_amount=Decimal("0.00"),
        amount=Decimal("1000.00"),
        status=ReceivableStatus.CLOSED,
        due_date=dt.date(2026, 1, 31),
    )
    return {"A": cat_a, "B": cat_b, "C1": c1, "C2": c2, "C3": c3, "C4": c4}


def by_operator(rows) -> dict[str | None, portfolios.OperatorPortfolio]:
    return {(row.operator.username if row.operator else None): row for row in rows}


# --------------------------------------------------------------------------------------
# Figures per operator
# --------------------------------------------------------------------------------------


def test_figures_per_operator(company, team, anna, bruno):
    c1, c3 = team["C1"], team["C3"]
    TaskFactory(company=company, customer=c1, due_on=TODAY)  # unassigned: C1's operator, Anna
    TaskFactory(company=company, customer=c1, assignee=bruno, due_on=YESTERDAY)  # Bruno, late
    # Unassigned, C3's operator is the default (Bruno); snoozed, but still late.
    TaskFactory(company=company, customer=c3, due_on=dt.date(2026, 3, 30), snoozed_until=TOMORROW)
    TaskFactory(company=company, customer=c3, due_on=YESTERDAY, status=TaskStatus.DONE)
    TaskFactory(company=company, customer=c3, due_on=YESTERDAY, status=TaskStatus.CANCELLED)
    TaskFactory(company=company, customer=c3, due_on=TOMORROW)  # not due yet
    # Another company's customers and tasks count nowhere.
    other = CompanyFactory()
    ReceivableFactory(company=other, open_amount=Decimal("999.00"))
    TaskFactory(company=other, assignee=anna, due_on=TODAY)

    rows = portfolios.operator_portfolios(company=company, today=TODAY)
    assert [row.operator.username for row in rows] == ["anna", "bruno"]  # acting, by name
    figures = by_operator(rows)
    # Anna: C1 only (C2 of her category is Bruno's by hand): 100 + 50 open, 100 overdue.
    assert (figures["anna"].customers, figures["anna"].open_amount) == (1, Decimal("150.00"))
    assert figures["anna"].overdue_amount == Decimal("100.00")
    assert (figures["anna"].tasks_today, figures["anna"].tasks_late) == (1, 0)
    # Bruno: C2 by hand, C3 (B has no rule) and C4 by default: 200 + 300 open, 200
    # overdue (the closed 1.000 counts nowhere); two late tasks.
    assert (figures["bruno"].customers, figures["bruno"].open_amount) == (3, Decimal("500.00"))
    assert figures["bruno"].overdue_amount == Decimal("200.00")
    assert (figures["bruno"].tasks_today, figures["bruno"].tasks_late) == (0, 2)
    total = portfolios.portfolio_totals(rows)
    assert (total.customers, total.open_amount, total.overdue_amount) == (
        4,
        Decimal("650.00"),
        Decimal("300.00"),
    )
    assert (total.tasks_today, total.tasks_late) == (1, 2)


def test_figures_per_operator_from_the_open_balances(company, team, anna, bruno):
    # The same customers ranked from the sums computed after a snapshot: the figures of
    # test_figures_per_operator, grouped by hand assignment and category instead.
    ImportRunFactory(company=company, as_of=TODAY)
    open_balances_refresh(company=company, as_of=TODAY)
    figures = by_operator(portfolios.operator_portfolios(company=company, today=TODAY))
    # Anna: C1, 100 + 50 open, 100 overdue. Bruno: C2 (by hand), C3 and C4 (default):
    # 200 + 300 open, 200 overdue.
    assert (figures["anna"].customers, figures["anna"].open_amount) == (1, Decimal("150.00"))
    assert figures["anna"].overdue_amount == Decimal("100.00")
    assert (figures["bruno"].customers, figures["bruno"].open_amount) == (3, Decimal("500.00"))
    assert figures["bruno"].overdue_amount == Decimal("200.00")
    # Without a default rule, C3 and C4 are nobody's (C2 stays Bruno's by hand).
    PortfolioRule.objects.filter(company=company, category__isnull=True).delete()
    figures = by_operator(portfolios.operator_portfolios(company=company, today=TODAY))
    assert (figures[None].customers, figures[None].open_amount) == (2, Decimal("300.00"))
    assert (figures["bruno"].customers, figures["bruno"].open_amount) == (1, Decimal("200.00"))


def test_nobodys_customers_and_former_operators(company, team, anna, bruno):
    PortfolioRule.objects.filter(category__isnull=True).delete()  # no default any more
    # Dario audits now: he may not act, but C3 is still his by hand.
    dario = operator(company, "dario", Role.AUDITOR)
    CustomerAssignmentFactory(customer=team["C3"], operator=dario)
    operator(company, "carla", first_name="Carla")  # acting, nothing of hers

    rows = portfolios.operator_portfolios(company=company, today=TODAY)
    assert [row.operator.username if row.operator else None for row in rows] == [
        "anna",
        "bruno",
        "carla",
        "dario",
        None,
    ]
    figures = by_operator(rows)
    assert figures["carla"].customers == 0
    assert figures["carla"].open_amount == Decimal("0.00")
    assert not figures["dario"].is_acting
    assert (figures["dario"].customers, figures["dario"].open_amount) == (1, Decimal("300.00"))
    # C4 has no category and there is no default: nobody's.
    assert figures[None].customers == 1
    assert figures[None].open_amount == Decimal("0.00")


@pytest.mark.parametrize("customers", [3, 30])
def test_figures_take_four_queries_however_many_customers(
    company, team, anna, customers, django_assert_max_num_queries
):
    for n in range(customers):
        customer = CustomerFactory(company=company, category=team["A"] if n % 2 else None)
        ReceivableFactory(company=company, customer=customer)
        TaskFactory(company=company, customer=customer, due_on=YESTERDAY)
    CustomerAssignmentFactory(customer=team["C4"], operator=UserFactory(username="former"))
    # Whether the open balances are fresh, acting members, customers grouped, tasks grouped,
    # the former operator.
    with django_assert_max_num_queries(5):
        rows = portfolios.operator_portfolios(company=company, today=TODAY)
    assert sum(row.tasks_late for row in rows) == customers


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


def test_rules_are_set_changed_and_removed(company, anna, bruno):
    retail = CustomerCategoryFactory(company=company, code="RET")
    rule = portfolios.portfolio_rule_set(company=company, category=retail, operator=anna)
    assert (rule.category, rule.operator) == (retail, anna)
    changed = portfolios.portfolio_rule_set(company=company, category=retail, operator=bruno)
    assert changed.pk == rule.pk
    assert PortfolioRule.objects.get(category=retail).operator == bruno
    default = portfolios.portfolio_rule_set(company=company, category=None, operator=anna)
    assert PortfolioRule.objects.get(company=company, category__isnull=True) == default
    assert PortfolioRule.objects.filter(company=company).count() == 2

    assert portfolios.portfolio_rule_remove(company=company, category=retail) is True
    assert portfolios.portfolio_rule_remove(company=company, category=retail) is False
    assert list(PortfolioRule.objects.values_list("category", flat=True)) == [None]
    assert portfolios.portfolio_rule_remove(company=company, category=None) is True
    assert not PortfolioRule.objects.exists()


def test_category_rules_list_the_default_then_every_category(company, anna):
    b = CustomerCategoryFactory(company=company, code="B")
    a = CustomerCategoryFactory(company=company, code="A")
    CustomerCategoryFactory(company=CompanyFactory(), code="ALTRA")
    portfolios.portfolio_rule_set(company=company, category=b, operator=anna)
    rules = portfolios.category_rules(company)
    assert [entry.category for entry in rules] == [None, a, b]
    assert [entry.rule.operator if entry.rule else None for entry in rules] == [None, None, anna]


def test_rules_take_only_acting_members_and_own_categories(company, anna):
    auditor = operator(company, "revisore", Role.AUDITOR)
    agent = operator(company, "agente", Role.SALES_AGENT)
    stranger = operator(CompanyFactory(), "estraneo")
    for user in (auditor, agent, stranger):
        with pytest.raises(PortfolioError, match="does not work on collections"):
            portfolios.portfolio_rule_set(company=company, category=None, operator=user)
    foreign = CustomerCategoryFactory(company=CompanyFactory())
    with pytest.raises(PortfolioError, match="another company"):
        portfolios.portfolio_rule_set(company=company, category=foreign, operator=anna)
    with pytest.raises(PortfolioError, match="another company"):
        portfolios.portfolio_rule_remove(company=company, category=foreign)
    assert not PortfolioRule.objects.exists()


# --------------------------------------------------------------------------------------
# Hand assignments
# --------------------------------------------------------------------------------------


def test_hand_assignments_search(company, team, anna, bruno):
    CustomerAssignmentFactory(customer=team["C1"], operator=anna)
    CustomerAssignmentFactory(customer=CustomerFactory(company=CompanyFactory()), operator=anna)

    def codes(search: str) -> list[str]:
        return [a.customer.code for a in portfolios.hand_assignments(company, search=search)]

    assert codes("") == ["C1", "C2"]
    assert codes("c2") == ["C2"]
    assert codes("ANNA") == ["C1"]  # the operator's username or name
    assert codes("Bruno C2") == ["C2"]  # every word must match
    assert codes("nessuno") == []


def test_bulk_assign_a_category(company, team, anna, bruno):
    # Category A: C1 (no assignment: created) and C2 (Bruno's by hand: moved to Anna).
    count = portfolios.customers_bulk_assign(company=company, operator=anna, category=team["A"])
    assert count == 2
    assert dict(CustomerAssignment.objects.values_list("customer__code", "operator__username")) == {
        "C1": "anna",
        "C2": "anna",
    }


def test_bulk_assign_a_sales_agent(company, team, anna):
    agent = SalesAgentFactory(company=company)
    for code in ("C3", "C4"):
        team[code].sales_agent = agent
        team[code].save()
    count = portfolios.customers_bulk_assign(company=company, operator=anna, sales_agent=agent)
    assert count == 2
    assert set(
        CustomerAssignment.objects.filter(operator=anna).values_list("customer__code", flat=True)
    ) == {"C3", "C4"}
    # Category B and the agent together: only C3.
    bruno = operator(company, "bruno2", Role.ADMINISTRATOR)
    assert (
        portfolios.customers_bulk_assign(
            company=company, operator=bruno, category=team["B"], sales_agent=agent
        )
        == 1
    )
    assert CustomerAssignment.objects.get(customer=team["C3"]).operator == bruno


def test_bulk_assign_those_nobody_looks_after(company, team, anna, bruno):
    PortfolioRule.objects.filter(category__isnull=True).delete()
    # Without a default: C1 is Anna's by category, C2 Bruno's by hand; C3 (B, no rule) and
    # C4 (no category) are nobody's.
    assert portfolios.customers_bulk_assign(company=company, operator=anna, only=Only.NOBODYS) == 2
    assert set(
        CustomerAssignment.objects.filter(operator=anna).values_list("customer__code", flat=True)
    ) == {"C3", "C4"}
    # Now nobody is left.
    assert portfolios.customers_bulk_assign(company=company, operator=bruno, only=Only.NOBODYS) == 0


def test_bulk_assign_those_not_assigned_by_hand(company, team, anna, bruno):
    # Of category A, C1 is not assigned by hand; C2 is and stays Bruno's.
    count = portfolios.customers_bulk_assign(
        company=company, operator=anna, category=team["A"], only=Only.NOT_BY_HAND
    )
    assert count == 1
    assert CustomerAssignment.objects.get(customer=team["C1"]).operator == anna
    assert CustomerAssignment.objects.get(customer=team["C2"]).operator == bruno


def test_bulk_assign_is_refused_without_a_criterion_or_across_companies(company, team, anna):
    with pytest.raises(PortfolioError, match="Choose a category"):
        portfolios.customers_bulk_assign(company=company, operator=anna)
    with pytest.raises(PortfolioError, match="Unknown choice"):
        portfolios.customers_bulk_assign(company=company, operator=anna, only="everyone")
    other = CompanyFactory()
    with pytest.raises(PortfolioError, match="another company"):
        portfolios.customers_bulk_assign(
            company=company, operator=anna, category=CustomerCategoryFactory(company=other)
        )
    with pytest.raises(PortfolioError, match="another company"):
        portfolios.customers_bulk_assign(
            company=company, operator=anna, sales_agent=SalesAgentFactory(company=other)
        )
    with pytest.raises(PortfolioError, match="does not work on collections"):
        portfolios.customers_bulk_assign(
            company=company, operator=operator(other, "estraneo"), category=team["A"]
        )
    assert CustomerAssignment.objects.count() == 1  # C2's, as it was


@pytest.mark.parametrize("customers", [5, 50])
def test_bulk_assign_is_set_based(company, anna, customers, django_assert_max_num_queries):
    category = CustomerCategoryFactory(company=company)
    made = CustomerFactory.create_batch(customers, company=company, category=category)
    for customer in made[::2]:
        CustomerAssignmentFactory(customer=customer, operator=UserFactory())
    # Savepoint, the operator's membership, the UPDATE of the existing assignments, the
    # missing customers, one INSERT (fewer than 500), the savepoint's release.
    with django_assert_max_num_queries(6):
        count = portfolios.customers_bulk_assign(company=company, operator=anna, category=category)
    assert count == customers
    assert CustomerAssignment.objects.filter(operator=anna).count() == customers


# --------------------------------------------------------------------------------------
# Punctuality table
# --------------------------------------------------------------------------------------


def test_mondays():
    assert portfolios.mondays(dt.date(2026, 3, 18), TODAY) == [
        dt.date(2026, 3, 16),
        dt.date(2026, 3, 23),
        dt.date(2026, 3, 30),
    ]
    assert portfolios.mondays(TODAY, TODAY) == [dt.date(2026, 3, 30)]


def test_punctuality_table(anna, bruno, company):
    w12, w13, w14 = dt.date(2026, 3, 16), dt.date(2026, 3, 23), dt.date(2026, 3, 30)
    carla = operator(company, "carla")
    entries = [
        Punctuality(anna, w12, planned=4, done_on_time=3, share=0.75),
        Punctuality(bruno, w12, planned=2, done_on_time=0, share=0.0),
        Punctuality(anna, w14, planned=1, done_on_time=1, share=1.0),
        Punctuality(None, w13, planned=5, done_on_time=1, share=0.2),
        Punctuality(anna, dt.date(2026, 3, 9), planned=9, done_on_time=9, share=1.0),  # out
    ]
    table = portfolios.punctuality_table(entries, [w12, w13, w14], [anna, carla])
    assert [row.operator for row in table.rows] == [anna, carla, bruno, None]
    anna_row, carla_row, bruno_row, nobody_row = table.rows
    cell = portfolios.PunctualityCell
    assert anna_row.cells == [cell(4, 3), None, cell(1, 1)]
    assert anna_row.total == cell(5, 4)  # 4 of 5 on time: 80%
    assert anna_row.total.share == 0.8
    assert carla_row.cells == [None, None, None]
    assert carla_row.total == cell(0, 0)
    assert bruno_row.cells == [cell(2, 0), None, None]
    assert nobody_row.cells == [None, cell(5, 1), None]
    # Per week: W12 4+2 planned, 3+0 on time; W13 the 5 nobody had; W14 Anna's one.
    assert table.totals == [cell(6, 3), cell(5, 1), cell(1, 1)]
    assert table.total == cell(12, 5)
