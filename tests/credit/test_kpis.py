"""Credit KPIs read from the ledger (``incassa.credit.kpis``), on a nine-item portfolio loaded
through the real imports, every figure worked out by hand.

Four snapshots (31/12/2025, 31/01/2026, 28/02/2026, 31/03/2026) of three customers; the
period is Q1 2026 (01/01-31/03, D = 90) unless a test says otherwise.

=====  ========  ==========  ==========  ========  =====================================
item   customer  document    due         amount    story
=====  ========  ==========  ==========  ========  =====================================
A1     Alfa      15/11/2025  15/12/2025  1.000,00  400,00 left on 31/01, gone on 28/02
A2     Alfa      10/01/2026  09/02/2026    500,00  from 31/01, gone on 28/02 (19 d late)
A3     Alfa      15/02/2026  17/04/2026  1.500,00  from 28/02, open
B0     Beta      01/11/2025  31/01/2026    700,00  in 31/12, gone on 31/01 (on time)
B1     Beta      01/12/2025  31/01/2026  2.000,00  open throughout
B2     Beta      01/03/2026  31/03/2026    800,00  from 31/03, open (due on the as-of date)
G1     Gamma     20/01/2026  19/03/2026  3.000,00  from 31/01; 1.000,00 left on 31/03
G2     Gamma     10/03/2026  10/03/2026   -200,00  credit note, from 31/03, open
G3     Gamma     01/08/2025  30/09/2025    600,00  open throughout
=====  ========  ==========  ==========  ========  =====================================

Alfa and Beta are in category RET, Gamma in DIS; Alfa and Gamma have the agent Mario Rossi,
Beta has Anna Bianchi.

Open at 31/03/2026 and days past due: A3 1.500 (-17: not due), B2 800 (0: not due),
G1 1.000 (12), G2 -200 (21), B1 2.000 (59), G3 600 (182: 30/09 -> 31/03 is
31+30+31+31+28+31). Open amount 5.700,00.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from incassa.credit import kpi, kpis
from incassa.credit.kpis import Scope
from incassa.ledger.models import Customer, CustomerCategory, SalesAgent
from incassa.ledger.services import invoices_import, receivables_import

pytestmark = pytest.mark.django_db

D = Decimal
Q1_START = dt.date(2026, 1, 1)
AS_OF = dt.date(2026, 3, 31)

HEADER = (
    "Codice cliente;Ragione sociale;Categoria;Agente;Numero documento;Data documento;"
    "Data scadenza;Importo;Residuo"
)
ALFA = "001;Alfa S.r.l.;RET;Mario Rossi"
BETA = "002;Beta S.p.A.;RET;Anna Bianchi"
GAMMA = "003;Gamma S.n.c.;DIS;Mario Rossi"

SNAPSHOTS: dict[dt.date, list[str]] = {
    dt.date(2025, 12, 31): [
        f"{ALFA};A1;15/11/2025;15/12/2025;1.000,00;1.000,00",
        f"{BETA};B0;01/11/2025;31/01/2026;700,00;700,00",
        f"{BETA};B1;01/12/2025;31/01/2026;2.000,00;2.000,00",
        f"{GAMMA};G3;01/08/2025;30/09/2025;600,00;600,00",
    ],
    # B0 paid (closed on its due date); A1 partly paid; A2 and G1 issued in January.
    dt.date(2026, 1, 31): [
        f"{ALFA};A1;15/11/2025;15/12/2025;1.000,00;400,00",
        f"{ALFA};A2;10/01/2026;09/02/2026;500,00;500,00",
        f"{BETA};B1;01/12/2025;31/01/2026;2.000,00;2.000,00",
        f"{GAMMA};G1;20/01/2026;19/03/2026;3.000,00;3.000,00",
        f"{GAMMA};G3;01/08/2025;30/09/2025;600,00;600,00",
    ],
    # A1 and A2 paid (2 of 5 open items closed: 40%, under the 50% guard); A3 issued.
    dt.date(2026, 2, 28): [
        f"{ALFA};A3;15/02/2026;17/04/2026;1.500,00;1.500,00",
        f"{BETA};B1;01/12/2025;31/01/2026;2.000,00;2.000,00",
        f"{GAMMA};G1;20/01/2026;19/03/2026;3.000,00;3.000,00",
        f"{GAMMA};G3;01/08/2025;30/09/2025;600,00;600,00",
    ],
    # G1 partly paid; the credit note G2 and B2 issued in March.
    dt.date(2026, 3, 31): [
        f"{ALFA};A3;15/02/2026;17/04/2026;1.500,00;1.500,00",
        f"{BETA};B1;01/12/2025;31/01/2026;2.000,00;2.000,00",
        f"{BETA};B2;01/03/2026;31/03/2026;800,00;800,00",
        f"{GAMMA};G1;20/01/2026;19/03/2026;3.000,00;1.000,00",
        f"{GAMMA};G2;10/03/2026;10/03/2026;-200,00;-200,00",
        f"{GAMMA};G3;01/08/2025;30/09/2025;600,00;600,00",
    ],
}

INVOICES_HEADER = (
    "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Importo"
)
# What was issued in Q1 2026: the ledger's five documents of the quarter plus X1, which Beta
# paid before any snapshot could show it. Jan 3.500 (A2, G1), Feb 1.900 (A3, X1), Mar 600
# (B2, G2): 6.000,00.
INVOICES = [
    "001;Alfa S.r.l.;A2;10/01/2026;09/02/2026;500,00",
    "003;Gamma S.n.c.;G1;20/01/2026;19/03/2026;3.000,00",
    "002;Beta S.p.A.;X1;05/02/2026;20/02/2026;400,00",
    "001;Alfa S.r.l.;A3;15/02/2026;17/04/2026;1.500,00",
    "002;Beta S.p.A.;B2;01/03/2026;31/03/2026;800,00",
    "003;Gamma S.n.c.;G2;10/03/2026;10/03/2026;-200,00",
]


def write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ledger(tmp_path, company):
    for on, rows in SNAPSHOTS.items():
        receivables_import(
            company=company, path=write(tmp_path, f"snap-{on}.csv", HEADER, rows), as_of=on
        )
    return company


@pytest.fixture
def with_invoices(ledger, tmp_path):
    invoices_import(
        company=ledger,
        path=write(tmp_path, "invoices.csv", INVOICES_HEADER, INVOICES),
        as_of=AS_OF,
    )
    return ledger


def scope(company, kind: str, key: str) -> Scope:
    if kind == "category":
        return Scope(kind, CustomerCategory.objects.get(company=company, code=key).pk)
    if kind == "agent":
        return Scope(kind, SalesAgent.objects.get(company=company, name=key).pk)
    return Scope(kind, Customer.objects.get(company=company, code=key).pk)


def report(company, **kwargs) -> kpis.ScopedReport:
    kwargs.setdefault("as_of", AS_OF)
    return kpis.kpi_report(company=company, **kwargs)


# --- open items -------------------------------------------------------------------------------


def test_open_and_overdue_amount_and_aging_at_the_as_of_date(ledger):
    r = report(ledger).report
    # 1.500 + 800 + 1.000 - 200 + 2.000 + 600 = 5.700
    assert r.open_amount == D("5700.00")
    # Due before 31/03: G1 1.000, G2 -200 (a credit note counts with its sign), B1 2.000,
    # G3 600 = 3.400. B2, due on the as-of date itself, is not late yet.
    assert r.overdue_amount == D("3400.00")
    assert r.aging == {
        "not_due": D("2300.00"),  # A3 1.500 + B2 800
        "1_30": D("800.00"),  # G1 1.000 (12 days) + G2 -200 (21 days)
        "31_60": D("2000.00"),  # B1, 59 days
        "61_90": D("0.00"),
        "91_180": D("0.00"),
        "over_180": D("600.00"),  # G3, 182 days
    }
    assert list(r.aging) == list(kpi.AGING_BUCKETS)


def test_open_amount_on_a_past_date_is_rebuilt_from_the_events(ledger):
    # At the end of 31/01/2026 (the second snapshot): A1 400 (partly paid, now closed),
    # B1 2.000, A2 500, G1 3.000, G3 600; B0 was closed that day and is left out.
    items = kpis.open_by_due_date(ledger, Scope(), dt.date(2026, 1, 31))
    assert sorted((i.due_date, i.open_amount) for i in items) == [
        (dt.date(2025, 9, 30), D("600.00")),
        (dt.date(2025, 12, 15), D("400.00")),
        (dt.date(2026, 1, 31), D("2000.00")),  # B1 only: B0, due the same day, is closed
        (dt.date(2026, 2, 9), D("500.00")),
        (dt.date(2026, 3, 19), D("3000.00")),
    ]
    # A day between two snapshots sees the earlier one: 15/02 is 31/01's ledger.
    assert kpis.open_by_due_date(ledger, Scope(), dt.date(2026, 2, 15)) == items
    # The first snapshot: 1.000 + 700 + 2.000 + 600 = 4.300.
    first = kpis.open_by_due_date(ledger, Scope(), dt.date(2025, 12, 31))
    assert sum(i.open_amount for i in first) == D("4300.00")
    # Before the first snapshot nothing was known.
    assert kpis.open_by_due_date(ledger, Scope(), dt.date(2025, 12, 30)) == []


def test_open_amount_on_a_past_date_for_one_customer(ledger):
    # Alfa at 31/01: A1 400 and A2 500; at 28/02 only A3 1.500.
    alfa = scope(ledger, "customer", "001")
    assert sorted(
        (i.due_date, i.open_amount)
        for i in kpis.open_by_due_date(ledger, alfa, dt.date(2026, 1, 31))
    ) == [(dt.date(2025, 12, 15), D("400.00")), (dt.date(2026, 2, 9), D("500.00"))]
    assert kpis.open_by_due_date(ledger, alfa, dt.date(2026, 2, 28)) == [
        kpi.OpenItem(due_date=dt.date(2026, 4, 17), open_amount=D("1500.00"))
    ]


def test_a_report_as_of_a_past_date_uses_the_ledger_of_that_date(ledger):
    r = report(ledger, as_of=dt.date(2026, 1, 31), period_start=Q1_START).report
    # 400 + 2.000 + 500 + 3.000 + 600 = 6.500, although A1 is closed today.
    assert r.open_amount == D("6500.00")
    # Due before 31/01: A1 400 (47 days: 16 + 31) and G3 600 (123 days: 31+30+31+31).
    assert r.overdue_amount == D("1000.00")
    assert r.aging["not_due"] == D("5500.00")  # B1 (due that day) + A2 + G1
    assert r.aging["31_60"] == D("400.00")
    assert r.aging["91_180"] == D("600.00")


# --- credit sales and the DSO family ----------------------------------------------------------


def test_sales_from_the_ledger_documents_when_no_invoices_were_imported(ledger):
    result = report(ledger)
    assert result.sales_source == "ledger"
    r = result.report
    assert (r.as_of, r.period_start) == (AS_OF, Q1_START)
    # Credit sales = documents dated in Q1: A2 500 + G1 3.000 + A3 1.500 + B2 800 + G2 -200
    # = 5.600.
    # DSO = 5.700 ÷ 5.600 x 90 = 91.607... -> 91.61
    assert r.dso == D("91.61")
    # Best possible = not due 2.300 ÷ 5.600 x 90 = 36.964... -> 36.96
    assert r.best_possible_dso == D("36.96")
    # ADD = 91.61 - 36.96
    assert r.add == D("54.65")
    # Countback, months from the ledger's documents: Mar 600 (B2 800, G2 -200), Feb 1.500,
    # Jan 3.500, Dec 2025 2.000 (B1). 5.700 > 600: 31 days, 5.100 left; > 1.500: 28, 3.600
    # left; > 3.500: 31, 100 left; 100 ÷ 2.000 x 31 = 1.55. 31 + 28 + 31 + 1.55 = 91.55
    assert r.dso_countback == D("91.55")


def test_sales_from_the_issued_invoices_when_present(with_invoices):
    result = report(with_invoices)
    assert result.sales_source == "invoices"
    r = result.report
    # Credit sales 6.000 (X1 never reached the ledger, but it was sold on credit).
    # DSO = 5.700 ÷ 6.000 x 90 = 85.5; best = 2.300 ÷ 6.000 x 90 = 34.5; ADD = 51
    assert (r.dso, r.best_possible_dso, r.add) == (D("85.50"), D("34.50"), D("51.00"))
    # Countback on the invoices' months only: Mar 600 -> 31 days, 5.100 left; Feb 1.900 ->
    # 28 days, 3.200 left; Jan 3.500: 3.200 ÷ 3.500 x 31 = 28.342... -> 87.342... -> 87.34
    assert r.dso_countback == D("87.34")
    # CEI = (4.300 + 6.000 - 5.700) ÷ (4.300 + 6.000 - 2.300) x 100 = 4.600 ÷ 8.000 = 57.5%
    assert r.cei == D("57.50")
    # The open items do not depend on where the sales come from.
    assert r.open_amount == D("5700.00")


def test_cei_from_the_open_amount_at_the_start(ledger):
    r = report(ledger).report
    # AR at 31/12/2025 (the day before the period) = 4.300 (A1, B0, B1, G3).
    # CEI = (4.300 + 5.600 - 5.700) ÷ (4.300 + 5.600 - 2.300) x 100 = 4.200 ÷ 7.600
    # = 55.263... -> 55.26
    assert r.cei == D("55.26")


def test_cei_is_none_when_the_first_snapshot_is_after_the_period_start(ledger):
    # The period from 01/12/2025: the ledger starts on 31/12/2025, so the AR at 30/11 is not
    # known and CEI would be computed from a made-up zero.
    r = report(ledger, period_start=dt.date(2025, 12, 1)).report
    assert r.cei is None
    # The other KPIs are still there: sales Dec-Mar = 2.000 (B1) + 5.600 = 7.600, D = 121;
    # DSO = 5.700 ÷ 7.600 x 121 = 90.75
    assert r.dso == D("90.75")


def test_cei_is_none_for_a_period_ending_before_the_first_snapshot_too(ledger):
    # 01/10-31/12/2025: the first snapshot (31/12) is after 30/09.
    assert report(ledger, as_of=dt.date(2025, 12, 31)).report.cei is None


@pytest.mark.parametrize(
    ("as_of", "start"),
    [
        (dt.date(2026, 3, 31), dt.date(2026, 1, 1)),  # Q1
        (dt.date(2025, 12, 31), dt.date(2025, 10, 1)),  # Q4
        (dt.date(2026, 5, 31), dt.date(2026, 3, 1)),  # March, April, May
    ],
)
def test_the_default_period_is_three_calendar_months(as_of, start):
    assert kpis.default_period_start(as_of) == start


@pytest.mark.parametrize(
    ("as_of", "start"),
    [
        # February, March, April: 28 + 31 + 30 = 89 days, not 90 from 31/01.
        (dt.date(2026, 4, 30), dt.date(2026, 2, 1)),
        # December, January, February (28/11/2025 + 1 = 29/11/2025 today).
        (dt.date(2026, 2, 28), dt.date(2025, 12, 1)),
        # April, May, June (30/03 + 1 = 31/03 today).
        (dt.date(2026, 6, 30), dt.date(2026, 4, 1)),
    ],
)
def test_the_default_period_at_the_end_of_a_short_month(as_of, start):
    assert kpis.default_period_start(as_of) == start


def test_a_period_starting_after_the_as_of_date_is_refused(ledger):
    with pytest.raises(ValueError, match="must start on or before"):
        report(ledger, period_start=dt.date(2026, 4, 1))


# --- lateness ---------------------------------------------------------------------------------


def test_late_share_of_the_items_due_in_the_period(ledger):
    r = report(ledger).report
    # Due in Q1 (positive amounts): B0 700 paid on its due date (on time), B1 2.000 still
    # open on 31/03 (late), A2 500 paid 28/02 (late), G1 3.000 open on 31/03, due 19/03
    # (late), B2 800 due 31/03 (not late yet). Late 5.500 ÷ due 7.000 = 78.571...% -> 78.57
    assert r.late_share == D("78.57")


def test_average_days_to_pay_and_late_over_the_items_settled_in_the_period(ledger):
    r = report(ledger).report
    # Settled in Q1: B0 700 (01/11/2025 -> 31/01/2026: 91 days, 0 late), A1 1.000
    # (15/11/2025 -> 28/02/2026: 105 days; due 15/12/2025: 75 late), A2 500 (10/01 -> 28/02:
    # 49 days; due 09/02: 19 late).
    # To pay: (700 x 91 + 1.000 x 105 + 500 x 49) ÷ 2.200 = 193.200 ÷ 2.200 = 87.818...
    assert r.average_days_to_pay == D("87.82")
    # Late: (0 + 1.000 x 75 + 500 x 19) ÷ 2.200 = 84.500 ÷ 2.200 = 38.409...
    assert r.average_days_late == D("38.41")


# --- scopes -----------------------------------------------------------------------------------


def test_category_figures(ledger):
    ret = report(ledger, scope=scope(ledger, "category", "RET"))
    assert ret.sales_source == "ledger"
    r = ret.report
    # Alfa and Beta: A3 1.500 + B1 2.000 + B2 800 = 4.300, of which B1 overdue.
    assert (r.open_amount, r.overdue_amount) == (D("4300.00"), D("2000.00"))
    assert (r.aging["not_due"], r.aging["31_60"]) == (D("2300.00"), D("2000.00"))
    # Sales: A2 500 + A3 1.500 + B2 800 = 2.800.
    # DSO = 4.300 ÷ 2.800 x 90 = 138.214...; best = 2.300 ÷ 2.800 x 90 = 73.928...
    assert (r.dso, r.best_possible_dso, r.add) == (D("138.21"), D("73.93"), D("64.28"))
    # Countback: Mar 800 -> 31, 3.500 left; Feb 1.500 -> 28, 2.000 left; Jan 500 -> 31,
    # 1.500 left; Dec 2.000 (B1): 1.500 ÷ 2.000 x 31 = 23.25. 113.25
    assert r.dso_countback == D("113.25")
    # AR at 31/12: A1 1.000 + B0 700 + B1 2.000 = 3.700.
    # CEI = (3.700 + 2.800 - 4.300) ÷ (3.700 + 2.800 - 2.300) = 2.200 ÷ 4.200 = 52.38%
    assert r.cei == D("52.38")
    # Due in Q1: B0 700 on time, B1 2.000 late, A2 500 late, B2 800 not yet: 2.500 ÷ 4.000
    assert r.late_share == D("62.50")
    # B0, A1 and A2, all settled in Q1, are Alfa's and Beta's: the company's averages.
    assert (r.average_days_to_pay, r.average_days_late) == (D("87.82"), D("38.41"))

    r = report(ledger, scope=scope(ledger, "category", "DIS")).report
    # Gamma: G1 1.000 + G2 -200 + G3 600 = 1.400, all overdue.
    assert (r.open_amount, r.overdue_amount) == (D("1400.00"), D("1400.00"))
    assert (r.aging["1_30"], r.aging["over_180"]) == (D("800.00"), D("600.00"))
    # Sales G1 3.000 + G2 -200 = 2.800: DSO = 1.400 ÷ 2.800 x 90 = 45; nothing not due.
    assert (r.dso, r.best_possible_dso, r.add) == (D("45.00"), D("0.00"), D("45.00"))
    # CEI = (600 + 2.800 - 1.400) ÷ (600 + 2.800 - 0) = 2.000 ÷ 3.400 = 58.823...%
    assert r.cei == D("58.82")
    # G1 3.000, due 19/03, still open: all late.
    assert r.late_share == D("100.00")
    # Nothing of Gamma's was settled.
    assert (r.average_days_to_pay, r.average_days_late) == (None, None)


def test_agent_figures(ledger):
    r = report(ledger, scope=scope(ledger, "agent", "Mario Rossi")).report
    # Alfa and Gamma: A3 1.500 + G1 1.000 - G2 200 + G3 600 = 2.900; overdue 1.400.
    assert (r.open_amount, r.overdue_amount) == (D("2900.00"), D("1400.00"))
    # Sales A2 500 + A3 1.500 + G1 3.000 - G2 200 = 4.800.
    # DSO = 2.900 ÷ 4.800 x 90 = 54.375 -> 54.38 (half up); best = 1.500 ÷ 4.800 x 90 =
    # 28.125 -> 28.13; ADD = 54.38 - 28.13 = 26.25
    assert (r.dso, r.best_possible_dso, r.add) == (D("54.38"), D("28.13"), D("26.25"))
    # AR at 31/12: A1 1.000 + G3 600 = 1.600.
    # CEI = (1.600 + 4.800 - 2.900) ÷ (1.600 + 4.800 - 1.500) = 3.500 ÷ 4.900 = 71.428...%
    assert r.cei == D("71.43")

    r = report(ledger, scope=scope(ledger, "agent", "Anna Bianchi")).report
    # Beta: B1 2.000 + B2 800 = 2.800, sales B2 800.
    # DSO = 2.800 ÷ 800 x 90 = 315; best = 800 ÷ 800 x 90 = 90; ADD = 225
    assert (r.dso, r.best_possible_dso, r.add) == (D("315.00"), D("90.00"), D("225.00"))
    # AR at 31/12: B0 700 + B1 2.000 = 2.700.
    # CEI = (2.700 + 800 - 2.800) ÷ (2.700 + 800 - 800) = 700 ÷ 2.700 = 25.925...%
    assert r.cei == D("25.93")
    # Due in Q1: B0 700 on time, B1 2.000 late, B2 800 not yet: 2.000 ÷ 3.500 = 57.142...%
    assert r.late_share == D("57.14")
    # Only B0 settled: 91 days after its document, on its due date.
    assert (r.average_days_to_pay, r.average_days_late) == (D("91.00"), D("0.00"))


def test_customer_figures(ledger):
    r = report(ledger, scope=scope(ledger, "customer", "001")).report
    # Alfa owes A3 1.500, not due yet; sales A2 500 + A3 1.500 = 2.000.
    assert (r.open_amount, r.overdue_amount) == (D("1500.00"), D("0.00"))
    # DSO = best = 1.500 ÷ 2.000 x 90 = 67.5; ADD 0
    assert (r.dso, r.best_possible_dso, r.add) == (D("67.50"), D("67.50"), D("0.00"))
    # AR at 31/12: A1 1.000. CEI = (1.000 + 2.000 - 1.500) ÷ (1.000 + 2.000 - 1.500) = 100%
    assert r.cei == D("100.00")
    # Due in Q1: only A2, paid late.
    assert r.late_share == D("100.00")
    # A1 1.000 (105 days, 75 late) and A2 500 (49 days, 19 late):
    # to pay (105.000 + 24.500) ÷ 1.500 = 86.333...; late (75.000 + 9.500) ÷ 1.500 = 56.333...
    assert (r.average_days_to_pay, r.average_days_late) == (D("86.33"), D("56.33"))


def test_countback_counts_a_month_without_sales_as_a_whole_month(ledger):
    r = report(ledger, scope=scope(ledger, "customer", "003")).report
    # Gamma: AR 1.400; its documents: Aug 2025 600 (G3), Jan 3.000 (G1), Mar -200 (G2),
    # nothing in February. Mar -200: 1.400 > -200, 31 days, 1.600 left; Feb 0: 28 days;
    # Jan 3.000: 1.600 ÷ 3.000 x 31 = 16.533... 31 + 28 + 16.533... = 75.53
    # (skipping February gives 31 + 16.533... = 47.53).
    assert r.dso_countback == D("75.53")


def test_scoped_json_names_the_scope_and_the_source(ledger):
    rossi = scope(ledger, "agent", "Mario Rossi")
    data = report(ledger, scope=rossi).as_json()
    assert data["scope"] == f"agent:{rossi.id}"
    assert data["sales_source"] == "ledger"
    assert data["open_amount"] == "2900.00"
    assert data["dso"] == "54.38"
    assert report(ledger).as_json()["scope"] == "company"


def test_reports_by_scope(ledger):
    reports = dict(kpis.reports_by_scope(company=ledger, as_of=AS_OF))
    dis = CustomerCategory.objects.get(code="DIS").pk
    ret = CustomerCategory.objects.get(code="RET").pk
    bianchi = SalesAgent.objects.get(name="Anna Bianchi").pk
    rossi = SalesAgent.objects.get(name="Mario Rossi").pk
    # The company, then the categories by code, then the agents by name.
    assert list(reports) == [
        "company",
        f"category:{dis}",
        f"category:{ret}",
        f"agent:{bianchi}",
        f"agent:{rossi}",
    ]
    # Each over the default period (Q1 here) and equal to its own report.
    assert reports["company"].open_amount == D("5700.00")
    assert reports[f"category:{ret}"].open_amount == D("4300.00")
    assert reports[f"category:{dis}"].open_amount == D("1400.00")
    assert reports[f"agent:{rossi}"].dso == D("54.38")
    assert reports[f"agent:{bianchi}"].dso == D("315.00")
    assert all(r.period_start == Q1_START for r in reports.values())
    # Categories partition the company: their open amounts add up to the company's.
    assert reports[f"category:{ret}"].open_amount + reports[f"category:{dis}"].open_amount == (
        reports["company"].open_amount
    )


def test_another_company_is_not_counted(ledger, tmp_path):
    from tests.factories import CompanyFactory

    other = CompanyFactory(code="other")
    receivables_import(
        company=other,
        path=write(
            tmp_path, "other.csv", HEADER, [f"{ALFA};Z1;01/03/2026;01/03/2026;9.999,00;9.999,00"]
        ),
        as_of=AS_OF,
    )
    assert report(ledger).report.open_amount == D("5700.00")
    assert report(other).report.open_amount == D("9999.00")


def test_an_empty_ledger_has_no_ratios(company):
    r = report(company).report
    assert r.open_amount == D("0.00")
    assert all(v == D("0.00") for v in r.aging.values())
    assert (r.dso, r.dso_countback, r.best_possible_dso, r.add, r.cei) == (None,) * 5
    assert (r.late_share, r.average_days_to_pay, r.average_days_late) == (None,) * 3
