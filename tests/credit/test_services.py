"""Credit health on the database: the daily recomputation of scores, its alerts, blocks,
external events, KPI snapshots, and the recomputation that follows an import.

The portfolio is loaded through the real import: two snapshots, 01/01/2026 and 31/03/2026.

=====  ========  ==========  ==========  ========  ==========================================
item   customer  document    due         amount    story
=====  ========  ==========  ==========  ========  ==========================================
P1     P         01/12/2025  31/03/2026  1.000,00  paid on its due date (gone on 31/03)
P2     P         01/03/2026  30/04/2026    500,00  from 31/03, not due
L1     L         01/11/2025  01/12/2025  1.000,00  paid 120 days late (gone on 31/03)
L2     L         01/12/2025  01/02/2026  2.000,00  open, 58 days late on 31/03
N1     N         01/03/2026  30/04/2026    800,00  from 31/03 (a new customer), not due
=====  ========  ==========  ==========  ========  ==========================================

P and L are in category RET with agent Mario Rossi, N in DIS with agent Anna Bianchi.

Reliability with the default weights (days_late 30, late_share 20, trend 10, overdue_share
15, seniority 10, incidents 5, limit_breach 5, external 5; score = Σ component x weight ÷
100), as of 31/03/2026; the customers were first seen on 01/01 (P, L: 89 days, seniority
100 x 89 ÷ 1825 = 4.8767) and 31/03 (N: 0 days, seniority 0):

- P paid P1 on time: days_late 100, late_share 100, trend 50 (no older payments to compare
  with), overdue_share 100 (nothing overdue), incidents, limit and external 100:
  30 + 20 + 5 + 15 + 0.4877 + 5 + 5 + 5 = 85.4877 -> 85.5, class A.
- L paid L1 120 days late (01/12 -> 31/03: 30+31+28+31), all late, and owes L2 all overdue:
  0 + 0 + 5 + 0 + 0.4877 + 5 + 5 + 5 = 20.4877 -> 20.5, class E.
- N has no history: days_late, late_share and trend neutral (50), nothing overdue:
  15 + 10 + 5 + 15 + 0 + 5 + 5 + 5 = 60.0, class C.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from incassa.credit import kpis, services
from incassa.credit.models import (
    AlertKind,
    CreditAlert,
    CreditEvent,
    CustomerCredit,
    EventKind,
    ItemCriticality,
    KpiSnapshot,
    ScoreHistory,
    ScoringSettings,
)
from incassa.credit.services import scores_recompute
from incassa.ledger.models import Customer, CustomerCategory, Receivable, SalesAgent
from incassa.ledger.services import receivables_import
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

D = Decimal
FIRST = dt.date(2026, 1, 1)
AS_OF = dt.date(2026, 3, 31)
NEXT_DAY = dt.date(2026, 4, 1)

HEADER = (
    "Codice cliente;Ragione sociale;Categoria;Agente;Numero documento;Data documento;"
    "Data scadenza;Importo;Residuo"
)
P = "P;Puntuale S.r.l.;RET;Mario Rossi"
L = "L;Lenta S.p.A.;RET;Mario Rossi"
N = "N;Nuova S.n.c.;DIS;Anna Bianchi"
SNAPSHOT_1 = [
    f"{P};P1;01/12/2025;31/03/2026;1.000,00;1.000,00",
    f"{L};L1;01/11/2025;01/12/2025;1.000,00;1.000,00",
    f"{L};L2;01/12/2025;01/02/2026;2.000,00;2.000,00",
]
SNAPSHOT_2 = [
    f"{P};P2;01/03/2026;30/04/2026;500,00;500,00",
    f"{L};L2;01/12/2025;01/02/2026;2.000,00;2.000,00",
    f"{N};N1;01/03/2026;30/04/2026;800,00;800,00",
]


def load(tmp_path: Path, company, rows: list[str], on: dt.date) -> None:
    path = tmp_path / f"snap-{on}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    receivables_import(company=company, path=path, as_of=on)


@pytest.fixture
def first(tmp_path, company):
    # The second snapshot closes 2 of the 3 open items: allow it (the default guard is 50%).
    company.max_close_share = D("1")
    company.save()
    load(tmp_path, company, SNAPSHOT_1, FIRST)
    return company


@pytest.fixture
def ledger(first, tmp_path):
    load(tmp_path, first, SNAPSHOT_2, AS_OF)
    return first


def credit(code: str) -> CustomerCredit:
    return CustomerCredit.objects.get(customer__code=code)


def customer(code: str) -> Customer:
    return Customer.objects.get(code=code)


# --- scores ----------------------------------------------------------------------------------


def test_every_customer_gets_its_standing(ledger):
    result = scores_recompute(company=ledger, as_of=AS_OF)
    assert result.as_dict() == {
        "customers": 3,
        "items": 3,  # P2, L2, N1
        "alerts": 0,  # no limit set, no earlier class
        "by_class": {"A": 1, "C": 1, "E": 1},
    }
    assert {(c.customer.code, c.score, c.credit_class) for c in CustomerCredit.objects.all()} == {
        ("P", D("85.5"), "A"),
        ("L", D("20.5"), "E"),
        ("N", D("60.0"), "C"),
    }
    standing = credit("L")
    assert standing.computed_on == AS_OF
    # Exposure = what it owes (items not due included by default): L2.
    assert standing.exposure == D("2000.00")
    assert (credit("P").exposure, credit("N").exposure) == (D("500.00"), D("800.00"))
    assert not standing.blocked


def test_the_components_keep_inputs_and_sub_scores(ledger):
    scores_recompute(company=ledger, as_of=AS_OF)
    components = credit("L").components
    assert set(components) == {"inputs", "components"}
    inputs = components["inputs"]
    assert inputs["avg_days_late"] == 120.0  # L1, 01/12 -> 31/03
    assert inputs["late_share"] == 1.0
    assert inputs["recent_days_late"] == 120.0  # paid on 31/03, within the last 90 days
    assert inputs["older_days_late"] is None
    assert (inputs["open_amount"], inputs["overdue_amount"]) == (2000.0, 2000.0)
    assert inputs["customer_days"] == 89  # first seen 01/01/2026
    assert (inputs["broken_promises"], inputs["disputes"]) == (0, 0)
    assert (inputs["limit_breach"], inputs["external_penalty"]) == (False, 0.0)
    assert components["components"] == {
        "c_days_late": 0.0,  # 120 days, beyond the 90 that give 0
        "c_late_share": 0.0,
        "c_trend": 50.0,  # nothing older to compare with: neutral
        "c_overdue_share": 0.0,  # all it owes is overdue
        "c_seniority": 4.9,  # 100 x 89 ÷ 1825 = 4.876...
        "c_incidents": 100.0,
        "c_limit_breach": 100.0,
        "c_external": 100.0,
    }
    # A customer who owes nothing overdue and paid on time.
    assert credit("P").components["components"]["c_days_late"] == 100.0
    assert credit("P").components["inputs"]["avg_days_late"] == 0.0


def test_a_customer_with_a_bad_history_scores_lower_than_a_punctual_one(ledger):
    scores_recompute(company=ledger, as_of=AS_OF)
    # 20.5 (L) against 85.5 (P): see the module docstring.
    assert credit("L").score < credit("N").score < credit("P").score
    assert credit("L").credit_class == "E"
    assert credit("P").credit_class == "A"


def test_the_standing_on_the_first_day(first):
    scores_recompute(company=first, as_of=FIRST)
    # On 01/01 nobody has history and both were first seen that day (seniority 0).
    # P owes P1, not due: 15 + 10 + 5 + 15 + 0 + 5 + 5 + 5 = 60.0 (C).
    # L owes 3.000, of which L1 1.000 overdue: overdue_share 100 x (1 - 1/3) = 66.67 ->
    # 15 + 10 + 5 + 66.67 x 0.15 + 0 + 15 = 55.0 (C).
    assert (credit("P").score, credit("P").credit_class) == (D("60.0"), "C")
    assert (credit("L").score, credit("L").credit_class) == (D("55.0"), "C")


def test_the_company_weights_are_used(ledger):
    # Only how late the customer pays counts.
    ScoringSettings.objects.create(
        company=ledger,
        reliability_weights={
            "days_late": 1,
            "late_share": 0,
            "trend": 0,
            "overdue_share": 0,
            "seniority": 0,
            "incidents": 0,
            "limit_breach": 0,
            "external": 0,
        },
    )
    scores_recompute(company=ledger, as_of=AS_OF)
    # P on time: 100 (A); L 120 days late: 0 (E); N has no history: neutral 50, which is
    # still C (C from 50 up).
    assert (credit("P").score, credit("P").credit_class) == (D("100.0"), "A")
    assert (credit("L").score, credit("L").credit_class) == (D("0.0"), "E")
    assert (credit("N").score, credit("N").credit_class) == (D("50.0"), "C")


def test_score_history_same_day_replaced_next_day_added(ledger):
    scores_recompute(company=ledger, as_of=AS_OF)
    scores_recompute(company=ledger, as_of=AS_OF)
    assert ScoreHistory.objects.count() == 3  # one per customer, not two
    assert set(ScoreHistory.objects.values_list("on_date", flat=True)) == {AS_OF}
    assert ScoreHistory.objects.get(customer__code="L").score == D("20.5")
    scores_recompute(company=ledger, as_of=NEXT_DAY)
    assert ScoreHistory.objects.count() == 6
    assert ScoreHistory.objects.filter(on_date=NEXT_DAY).count() == 3
    # The standing is the latest day's.
    assert credit("L").computed_on == NEXT_DAY


def test_history_keeps_the_trend_across_imports(first, tmp_path):
    scores_recompute(company=first, as_of=FIRST)
    load(tmp_path, first, SNAPSHOT_2, AS_OF)
    scores_recompute(company=first, as_of=AS_OF)
    trend = list(
        ScoreHistory.objects.filter(customer__code="L")
        .order_by("on_date")
        .values_list("on_date", "score", "credit_class")
    )
    assert trend == [(FIRST, D("55.0"), "C"), (AS_OF, D("20.5"), "E")]


def test_recomputing_one_company_leaves_another_alone(ledger, tmp_path):
    other = CompanyFactory(code="other")
    path = tmp_path / "other.csv"
    path.write_text(f"{HEADER}\nX;Altra;;;X1;01/03/2026;30/04/2026;100,00;100,00\n")
    receivables_import(company=other, path=path, as_of=AS_OF)
    scores_recompute(company=other, as_of=AS_OF)
    scores_recompute(company=ledger, as_of=AS_OF)
    scores_recompute(company=ledger, as_of=NEXT_DAY)
    assert CustomerCredit.objects.filter(customer__company=other).count() == 1
    assert ItemCriticality.objects.filter(company=other).count() == 1
    assert CustomerCredit.objects.filter(customer__company=ledger).count() == 3
    assert ItemCriticality.objects.filter(company=ledger).count() == 3
    assert ScoreHistory.objects.filter(customer__company=other).count() == 1
    # And the other way round.
    scores_recompute(company=other, as_of=NEXT_DAY)
    assert CustomerCredit.objects.filter(customer__company=ledger).count() == 3
    assert ItemCriticality.objects.filter(company=ledger).count() == 3


# --- item criticality ------------------------------------------------------------------------


def test_every_open_item_has_its_criticality_and_closed_ones_none(first, tmp_path):
    scores_recompute(company=first, as_of=FIRST)
    assert set(ItemCriticality.objects.values_list("receivable__document_number", flat=True)) == {
        "P1",
        "L1",
        "L2",
    }
    load(tmp_path, first, SNAPSHOT_2, AS_OF)
    scores_recompute(company=first, as_of=AS_OF)
    rows = dict(ItemCriticality.objects.values_list("receivable__document_number", "score"))
    # P1 and L1 were paid: no criticality left for them.
    assert set(rows) == {"P2", "L2", "N1"}
    assert set(ItemCriticality.objects.values_list("computed_on", flat=True)) == {AS_OF}
    assert not ItemCriticality.objects.filter(receivable__status="closed").exists()
    # L2 (default weights: days_overdue 40, amount_vs_customer 10, amount_vs_portfolio 20,
    # reliability 20, seniority 10): 58 days late -> 100 x sqrt(58 ÷ 180) = 56.76; all that
    # L owes -> 100; 2.000 against p50 800 and p99 1.976 (500, 800, 2.000 interpolated) ->
    # above p99: 100; L's reliability 20.5 -> 79.5; 89 days a customer -> 100 x (1 - 89 ÷
    # 1825) = 95.12. (56.76 x 40 + 1.000 + 2.000 + 79.5 x 20 + 95.12 x 10) ÷ 100 = 78.1
    assert rows["L2"] == D("78.1")
    # P2, not due and below the median: 0 + 1.000 + 0 + 14.5 x 20 + 951.2 -> 22.4
    assert rows["P2"] == D("22.4")
    # N1, not due, the median: 0 + 1.000 + 0 + 40 x 20 + 100 x 10 -> 28.0
    assert rows["N1"] == D("28.0")


# --- alerts ----------------------------------------------------------------------------------


def test_exposure_over_the_credit_limit_raises_an_alert_once_a_day(ledger):
    Customer.objects.filter(code="N").update(credit_limit=D("500.00"))
    scores_recompute(company=ledger, as_of=AS_OF)
    scores_recompute(company=ledger, as_of=AS_OF)
    alerts = CreditAlert.objects.filter(kind=AlertKind.LIMIT_EXCEEDED)
    # N owes 800 (N1, not due yet, counts by default) against a limit of 500.
    assert list(alerts.values_list("customer__code", "on_date")) == [("N", AS_OF)]
    assert "800.00" in alerts.get().message
    assert "500.00" in alerts.get().message
    assert alerts.get().company == ledger
    # The breach costs the limit component: 60.0 - 5 = 55.0, still C.
    assert credit("N").score == D("55.0")
    assert credit("N").components["inputs"]["limit_breach"] is True
    # The next day, still over the limit: a new alert.
    scores_recompute(company=ledger, as_of=NEXT_DAY)
    assert alerts.count() == 2


def test_recomputing_the_same_day_reports_no_new_alert(ledger):
    Customer.objects.filter(code="N").update(credit_limit=D("500.00"))
    assert scores_recompute(company=ledger, as_of=AS_OF).alerts == 1
    again = scores_recompute(company=ledger, as_of=AS_OF)
    assert CreditAlert.objects.count() == 1
    assert again.alerts == 0


def test_exposure_can_leave_out_what_is_not_due(ledger):
    ScoringSettings.objects.create(company=ledger, exposure_includes_not_due=False)
    Customer.objects.filter(code="N").update(credit_limit=D("500.00"))
    scores_recompute(company=ledger, as_of=AS_OF)
    # N1 is not due: nothing overdue, no exposure, no breach.
    assert credit("N").exposure == D("0.00")
    assert not CreditAlert.objects.exists()
    # L2 is overdue: L's exposure is unchanged.
    assert credit("L").exposure == D("2000.00")


def test_a_customer_within_its_limit_raises_nothing(ledger):
    Customer.objects.filter(code="N").update(credit_limit=D("800.00"))  # exactly its exposure
    scores_recompute(company=ledger, as_of=AS_OF)
    assert not CreditAlert.objects.exists()


def test_a_class_that_worsens_raises_an_alert(first, tmp_path):
    scores_recompute(company=first, as_of=FIRST)  # P C, L C
    load(tmp_path, first, SNAPSHOT_2, AS_OF)
    result = scores_recompute(company=first, as_of=AS_OF)  # P A, L E, N C (new)
    assert result.alerts == 1
    alert = CreditAlert.objects.get()
    # L went from C to E; P improved (no alert); N had no class before (no alert).
    assert (alert.customer.code, alert.kind, alert.on_date) == ("L", "class_worsened", AS_OF)
    assert alert.message == "class C -> E"
    assert alert.acknowledged_at is None
    # Recomputing the same day: E -> E, nothing new.
    scores_recompute(company=first, as_of=AS_OF)
    assert CreditAlert.objects.count() == 1


def test_acknowledging_an_alert(first, tmp_path, user_with_membership):
    from incassa.credit.selectors import open_alerts

    scores_recompute(company=first, as_of=FIRST)
    load(tmp_path, first, SNAPSHOT_2, AS_OF)
    scores_recompute(company=first, as_of=AS_OF)
    alert = open_alerts(first).get()
    services.alert_acknowledge(alert=alert, user=user_with_membership)
    alert.refresh_from_db()
    assert alert.acknowledged_by == user_with_membership
    assert alert.acknowledged_at is not None
    assert not open_alerts(first).exists()


# --- blocks ----------------------------------------------------------------------------------


def test_a_block_survives_the_recomputation(ledger):
    scores_recompute(company=ledger, as_of=AS_OF)
    blocked = services.customer_block(customer=customer("L"), reason="Protesto del 10/03")
    assert (blocked.blocked, blocked.blocked_reason) == (True, "Protesto del 10/03")
    assert blocked.blocked_at is not None
    scores_recompute(company=ledger, as_of=NEXT_DAY)
    standing = credit("L")
    assert standing.blocked
    assert standing.blocked_reason == "Protesto del 10/03"
    assert standing.blocked_at == blocked.blocked_at
    assert standing.computed_on == NEXT_DAY  # the score itself was recomputed
    assert not credit("P").blocked
    services.customer_unblock(customer=customer("L"))
    scores_recompute(company=ledger, as_of=NEXT_DAY)
    standing = credit("L")
    assert (standing.blocked, standing.blocked_reason, standing.blocked_at) == (False, "", None)


def test_blocking_a_customer_not_yet_scored(ledger):
    blocked = services.customer_block(customer=customer("N"), reason="x" * 400)
    # A neutral standing is created to hold the block; the reason is cut to 300 characters.
    assert (blocked.score, blocked.credit_class) == (D("50"), "C")
    assert blocked.blocked_reason == "x" * 300
    scores_recompute(company=ledger, as_of=AS_OF)
    assert credit("N").blocked
    assert credit("N").score == D("60.0")


# --- external events -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "penalty"),
    [
        (EventKind.PROTEST, 100),
        (EventKind.INSOLVENCY, 100),
        (EventKind.BALANCE_SHEET, 0),
        (EventKind.RATING, 0),
        (EventKind.OTHER, 0),
    ],
)
def test_an_event_takes_the_default_penalty_of_its_kind(ledger, kind, penalty):
    event = services.credit_event_record(
        customer=customer("P"), kind=kind, on_date=dt.date(2026, 3, 10)
    )
    assert event.penalty == penalty
    assert CreditEvent.objects.get().kind == kind


def test_an_event_keeps_the_penalty_given(ledger, user_with_membership):
    event = services.credit_event_record(
        customer=customer("P"),
        kind="rating",
        on_date=dt.date(2026, 3, 10),
        penalty=35,
        rating="B-",
        description="Rating CRIF",
        source="CRIF",
        user=user_with_membership,
    )
    event.refresh_from_db()
    assert (event.penalty, event.rating, event.description) == (35, "B-", "Rating CRIF")
    assert event.created_by == user_with_membership


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "protest", "penalty": 101}, "penalty"),
        ({"kind": "protest", "penalty": -1}, "penalty"),
        ({"kind": "bankruptcy"}, "kind"),
    ],
)
def test_an_invalid_event_is_refused(ledger, kwargs, field):
    with pytest.raises(ValidationError) as info:
        services.credit_event_record(customer=customer("P"), on_date=AS_OF, **kwargs)
    assert field in info.value.message_dict
    assert not CreditEvent.objects.exists()


def test_a_protest_lowers_the_score(ledger):
    services.credit_event_record(
        customer=customer("P"), kind="protest", on_date=dt.date(2026, 3, 10)
    )
    scores_recompute(company=ledger, as_of=AS_OF)
    # A protest weighs 100 (as bad as it gets): the external component falls from 100 to 0,
    # weight 5: 85.4877 - 5 = 80.4877
    assert credit("P").score == D("80.5")
    assert credit("P").components["inputs"]["external_penalty"] == 100.0
    assert credit("P").components["components"]["c_external"] == 0.0


def test_the_worst_event_counts_and_old_or_future_ones_do_not(ledger):
    p = customer("P")
    services.credit_event_record(customer=p, kind="rating", on_date=AS_OF, penalty=30)
    services.credit_event_record(customer=p, kind="other", on_date=AS_OF, penalty=10)
    # Older than two years (730 days before 31/03/2026 is 31/03/2024), and after the as-of date.
    services.credit_event_record(customer=p, kind="insolvency", on_date=dt.date(2024, 3, 31))
    services.credit_event_record(customer=p, kind="protest", on_date=NEXT_DAY)
    scores_recompute(company=ledger, as_of=AS_OF)
    # The worst in force is 30: 85.4877 - 30 x 5 ÷ 100 = 83.9877
    assert credit("P").components["inputs"]["external_penalty"] == 30.0
    assert credit("P").score == D("84.0")


# --- KPI snapshots ---------------------------------------------------------------------------


def test_kpi_snapshot_of_the_company(ledger):
    snapshots = services.kpi_snapshot_take(company=ledger, as_of=AS_OF)
    assert [(s.scope, s.on_date) for s in snapshots] == [("company", AS_OF)]
    figures = KpiSnapshot.objects.get().figures
    # P2 500 + L2 2.000 + N1 800 = 3.300, of which L2 overdue.
    assert figures["open_amount"] == "3300.00"
    assert figures["overdue_amount"] == "2000.00"
    assert figures == kpis.kpi_report(company=ledger, as_of=AS_OF).report.as_json()


def test_kpi_snapshots_of_the_categories_and_agents_too(ledger):
    snapshots = services.kpi_snapshot_take(company=ledger, as_of=AS_OF, scopes=True)
    ret = CustomerCategory.objects.get(code="RET").pk
    dis = CustomerCategory.objects.get(code="DIS").pk
    rossi = SalesAgent.objects.get(name="Mario Rossi").pk
    bianchi = SalesAgent.objects.get(name="Anna Bianchi").pk
    assert [s.scope for s in snapshots] == [
        "company",
        f"category:{dis}",
        f"category:{ret}",
        f"agent:{bianchi}",
        f"agent:{rossi}",
    ]
    assert KpiSnapshot.objects.get(scope="company").figures["open_amount"] == "3300.00"
    # DIS: N1 800; RET: P2 500 + L2 2.000; Mario Rossi: P and L; Anna Bianchi: N.
    assert KpiSnapshot.objects.get(scope=f"category:{dis}").figures["open_amount"] == "800.00"
    assert KpiSnapshot.objects.get(scope=f"category:{ret}").figures["open_amount"] == "2500.00"
    assert KpiSnapshot.objects.get(scope=f"agent:{rossi}").figures["open_amount"] == "2500.00"
    assert KpiSnapshot.objects.get(scope=f"agent:{bianchi}").figures["open_amount"] == "800.00"


def test_kpi_snapshot_taken_twice_the_same_day_is_replaced(ledger):
    first = services.kpi_snapshot_take(company=ledger, as_of=AS_OF, scopes=True)
    KpiSnapshot.objects.update(figures={})
    again = services.kpi_snapshot_take(company=ledger, as_of=AS_OF, scopes=True)
    assert [s.pk for s in again] == [s.pk for s in first]
    assert KpiSnapshot.objects.count() == 5
    assert KpiSnapshot.objects.get(scope="company").figures["open_amount"] == "3300.00"
    # The company alone, again the same day: the same row.
    services.kpi_snapshot_take(company=ledger, as_of=AS_OF)
    assert KpiSnapshot.objects.count() == 5
    services.kpi_snapshot_take(company=ledger, as_of=NEXT_DAY)
    assert KpiSnapshot.objects.count() == 6


# --- after an import -------------------------------------------------------------------------


def test_an_import_recomputes_the_scores_once_committed(
    first, tmp_path, django_capture_on_commit_callbacks, caplog
):
    assert not CustomerCredit.objects.exists()  # the fixture's import was never committed
    with django_capture_on_commit_callbacks(execute=True):
        load(tmp_path, first, SNAPSHOT_2, AS_OF)
    assert {(c.customer.code, c.computed_on, c.score) for c in CustomerCredit.objects.all()} == {
        ("P", AS_OF, D("85.5")),
        ("L", AS_OF, D("20.5")),
        ("N", AS_OF, D("60.0")),
    }
    assert set(ItemCriticality.objects.values_list("receivable__document_number", flat=True)) == {
        "P2",
        "L2",
        "N1",
    }
    assert KpiSnapshot.objects.filter(on_date=AS_OF, scope="company").exists()
    assert "recomputing the scores" not in caplog.text


def test_no_recompute_after_an_import_when_switched_off(
    first, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.INCASSA_SCORES_AFTER_IMPORT = False
    with django_capture_on_commit_callbacks(execute=True):
        load(tmp_path, first, SNAPSHOT_2, AS_OF)
    assert Receivable.objects.filter(status="open").count() == 3  # the import itself applied
    assert not CustomerCredit.objects.exists()
    assert not ItemCriticality.objects.exists()
    assert not KpiSnapshot.objects.exists()


def test_a_broken_promise_lowers_the_reliability(ledger):
    from incassa.workspace.agreements import agreements_review, promise_record

    scores_recompute(company=ledger, as_of=AS_OF)
    before = credit("L")
    item = Receivable.objects.get(document_number="L2")
    # L promises 2.000,00 by 02/04; nothing is paid; three days of grace later (06/04) the
    # review finds the promise broken.
    promise_record(
        customer=customer("L"), items=[item], amount=D("2000.00"),
        promised_on=dt.date(2026, 4, 2), today=AS_OF,
    )  # fmt: skip
    agreements_review(company=ledger, as_of=dt.date(2026, 4, 6))
    scores_recompute(company=ledger, as_of=dt.date(2026, 4, 6))
    after = credit("L")
    assert after.components["inputs"]["broken_promises"] == 1
    # The incidents component falls from 100 to 75 (25 points per broken promise).
    assert after.components["components"]["c_incidents"] == 75.0
    assert before.components["components"]["c_incidents"] == 100.0


def test_scoring_settings_update_checks_and_saves(company):
    from incassa.credit import scoring
    from incassa.credit.models import ScoringSettings
    from incassa.credit.services import scoring_settings_update

    reliability = scoring.ReliabilityWeights().as_dict() | {"days_late": 60.0}
    criticality = scoring.CriticalityWeights().as_dict()
    scoring_settings_update(
        company=company,
        reliability=reliability,
        criticality=criticality,
        exposure_includes_not_due=False,
    )
    saved = ScoringSettings.objects.get(company=company)
    assert saved.reliability_weights["days_late"] == 60.0
    with pytest.raises(scoring.ScoringError):
        scoring_settings_update(
            company=company,
            reliability=reliability | {"trend": -1},
            criticality=criticality,
            exposure_includes_not_due=True,
        )
    assert ScoringSettings.objects.get(company=company).exposure_includes_not_due is False
