"""``incassa kpi`` as a user runs it: the JSON, the scopes, the errors, the readable report.

Two snapshots, 31/12/2025 and 31/03/2026; the period is Q1 2026 (D = 90):

====  ========  ==========  ==========  ========  ========================================
item  customer  document    due         amount    at 31/03/2026
====  ========  ==========  ==========  ========  ========================================
F1    Alfa      01/12/2025  31/12/2025  1.000,00  paid (gone on 31/03, 90 days late)
F2    Beta      01/11/2025  01/12/2025    500,00  open, 120 days late (30+31+28+31)
F3    Alfa      01/02/2026  31/05/2026  1.234,56  open, not due
F4    Beta      15/01/2026  15/03/2026  2.000,00  open, 16 days late
F5    Alfa      10/03/2026  09/04/2026    765,44  open, not due
====  ========  ==========  ==========  ========  ========================================

Alfa is in category RET with agent Mario Rossi, Beta in DIS with Anna Bianchi.

Open 4.500,00 (1.234,56 + 765,44 + 500 + 2.000), overdue 2.500,00 (F2, F4). Credit sales
from the ledger's documents: F4 2.000 (Jan) + F3 1.234,56 (Feb) + F5 765,44 (Mar) = 4.000.
AR at 31/12/2025: F1 1.000 + F2 500 = 1.500.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.credit.kpi import AGING_BUCKETS
from incassa.ledger.models import Customer, CustomerCategory, SalesAgent
from incassa.ledger.services import receivables_import

pytestmark = pytest.mark.django_db

HEADER = (
    "Codice cliente;Ragione sociale;Categoria;Agente;Numero documento;Data documento;"
    "Data scadenza;Importo;Residuo"
)
ALFA = "A01;Alfa S.r.l.;RET;Mario Rossi"
BETA = "B01;Beta S.p.A.;DIS;Anna Bianchi"
SNAPSHOTS = {
    dt.date(2025, 12, 31): [
        f"{ALFA};F1;01/12/2025;31/12/2025;1.000,00;1.000,00",
        f"{BETA};F2;01/11/2025;01/12/2025;500,00;500,00",
    ],
    # F1 paid: 1 of 2 open items closed, 50%, not more than the 50% guard.
    dt.date(2026, 3, 31): [
        f"{ALFA};F3;01/02/2026;31/05/2026;1.234,56;1.234,56",
        f"{ALFA};F5;10/03/2026;09/04/2026;765,44;765,44",
        f"{BETA};F2;01/11/2025;01/12/2025;500,00;500,00",
        f"{BETA};F4;15/01/2026;15/03/2026;2.000,00;2.000,00",
    ],
}
TWO_DECIMALS = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
KPI_KEYS = (
    "open_amount",
    "overdue_amount",
    "dso",
    "dso_countback",
    "best_possible_dso",
    "add",
    "cei",
    "late_share",
    "average_days_to_pay",
    "average_days_late",
)


@pytest.fixture
def ledger(tmp_path, company):
    for on, rows in SNAPSHOTS.items():
        path = tmp_path / f"snap-{on}.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        receivables_import(company=company, path=path, as_of=on)
    return company


def kpi(*args: str) -> str:
    out = StringIO()
    call_command("kpi", *args, stdout=out)
    return out.getvalue()


def kpi_json(*args: str, as_of: str = "2026-03-31") -> dict:
    return json.loads(kpi("--as-of", as_of, "--json", *args))


def test_json_has_every_figure_as_a_string_with_two_decimals_or_null(ledger):
    data = kpi_json()
    assert (data["as_of"], data["period_start"]) == ("2026-03-31", "2026-01-01")
    assert (data["scope"], data["sales_source"]) == ("company", "ledger")
    for key in KPI_KEYS:
        assert data[key] is None or TWO_DECIMALS.match(data[key]), (key, data[key])
    assert list(data["aging"]) == list(AGING_BUCKETS)
    for bucket, value in data["aging"].items():
        assert TWO_DECIMALS.match(value), (bucket, value)


def test_json_figures(ledger):
    data = kpi_json()
    assert data["open_amount"] == "4500.00"
    assert data["overdue_amount"] == "2500.00"  # F2 500 + F4 2.000
    assert data["aging"] == {
        "not_due": "2000.00",  # F3 1.234,56 + F5 765,44
        "1_30": "2000.00",  # F4, 16 days
        "31_60": "0.00",
        "61_90": "0.00",
        "91_180": "500.00",  # F2, 120 days
        "over_180": "0.00",
    }
    assert data["dso"] == "101.25"  # 4.500 ÷ 4.000 x 90
    assert data["best_possible_dso"] == "45.00"  # 2.000 ÷ 4.000 x 90
    assert data["add"] == "56.25"  # 101.25 - 45
    # Mar 765,44: 31 days, 3.734,56 left; Feb 1.234,56: 28, 2.500 left; Jan 2.000: 31,
    # 500 left; Dec 1.000 (F1): 500 ÷ 1.000 x 31 = 15.5. 105.5
    assert data["dso_countback"] == "105.50"
    # (1.500 + 4.000 - 4.500) ÷ (1.500 + 4.000 - 2.000) = 1.000 ÷ 3.500 = 28.571...%
    assert data["cei"] == "28.57"
    # Due in Q1: F4 2.000, still open after its due date: all late.
    assert data["late_share"] == "100.00"
    # Settled in Q1: F1, 01/12/2025 -> 31/03/2026 = 120 days, 90 after its due date.
    assert (data["average_days_to_pay"], data["average_days_late"]) == ("120.00", "90.00")


def test_a_kpi_that_cannot_be_computed_is_null(ledger):
    # From 01/12/2025 the AR at the start (30/11) predates the ledger: no CEI.
    data = kpi_json("--from", "2025-12-01")
    assert data["period_start"] == "2025-12-01"
    assert data["cei"] is None
    # Sales Dec-Mar: F1 1.000 + 4.000 = 5.000 over 121 days: 4.500 ÷ 5.000 x 121 = 108.9
    assert data["dso"] == "108.90"


def test_customer_scope(ledger):
    beta = Customer.objects.get(code="B01")
    data = kpi_json("--customer", "B01")
    assert data["scope"] == f"customer:{beta.pk}"
    # Beta: F2 500 + F4 2.000, all overdue; sales F4 2.000.
    assert (data["open_amount"], data["overdue_amount"]) == ("2500.00", "2500.00")
    assert data["dso"] == "112.50"  # 2.500 ÷ 2.000 x 90
    assert data["best_possible_dso"] == "0.00"
    assert data["add"] == "112.50"
    # (500 + 2.000 - 2.500) ÷ (500 + 2.000 - 0) = 0%: nothing collected.
    assert data["cei"] == "0.00"
    # Beta settled nothing.
    assert data["average_days_to_pay"] is None


def test_category_scope(ledger):
    ret = CustomerCategory.objects.get(code="RET")
    data = kpi_json("--category", "RET")
    assert data["scope"] == f"category:{ret.pk}"
    # Alfa: F3 + F5 = 2.000, not due; sales 2.000; AR at 31/12 F1 1.000.
    assert (data["open_amount"], data["overdue_amount"]) == ("2000.00", "0.00")
    assert (data["dso"], data["best_possible_dso"], data["add"]) == ("90.00", "90.00", "0.00")
    # (1.000 + 2.000 - 2.000) ÷ (1.000 + 2.000 - 2.000) = 100%
    assert data["cei"] == "100.00"


def test_agent_scope(ledger):
    bianchi = SalesAgent.objects.get(name="Anna Bianchi")
    data = kpi_json("--agent", "Anna Bianchi")
    assert data["scope"] == f"agent:{bianchi.pk}"
    assert data["open_amount"] == "2500.00"  # Beta's
    assert data["dso"] == "112.50"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--customer", "ZZZ", "no customer 'ZZZ' in acme"),
        ("--category", "NOPE", "no category 'NOPE' in acme"),
        ("--agent", "Nessuno", "no agent 'Nessuno' in acme"),
    ],
)
def test_an_unknown_scope_exits_2(ledger, option, value, message):
    with pytest.raises(CommandError, match=message) as info:
        kpi("--as-of", "2026-03-31", option, value)
    assert info.value.returncode == 2


def test_a_period_starting_after_the_as_of_date_exits_2(ledger):
    with pytest.raises(CommandError, match="must start on or before") as info:
        kpi("--as-of", "2026-03-31", "--from", "2026-04-01")
    assert info.value.returncode == 2


def test_an_invalid_date_exits_2(ledger):
    with pytest.raises(CommandError, match="invalid date") as info:
        kpi("--as-of", "31/03/2026")
    assert info.value.returncode == 2


def test_one_scope_at_a_time(ledger):
    with pytest.raises(CommandError, match="not allowed with"):
        kpi("--as-of", "2026-03-31", "--category", "RET", "--agent", "Anna Bianchi")


def test_an_unknown_company_exits_2(ledger):
    with pytest.raises(CommandError, match="no company with code 'nope'") as info:
        kpi("--company", "nope")
    assert info.value.returncode == 2


def test_the_readable_report_shows_the_figures(ledger):
    out = kpi("--as-of", "2026-03-31")
    assert "KPIs of Acme Italia S.p.A. (company) as of 31/03/2026" in out
    assert "period from 01/01/2026" in out
    assert "credit sales from the ledger" in out
    # Amounts in Italian: 4.500,00 € with a non-breaking space.
    assert re.search(r"open amount\s+4\.500,00\xa0€", out)
    assert re.search(r"overdue amount\s+2\.500,00\xa0€", out)
    assert re.search(r"not due\s+2\.000,00\xa0€", out)
    assert re.search(r"91-180 days\s+500,00\xa0€", out)
    assert re.search(r"over 180 days\s+0,00\xa0€", out)
    assert "101.25 days (countback 105.50 days)" in out
    assert re.search(r"best possible DSO\s+45.00 days", out)
    assert re.search(r"ADD\s+56.25 days", out)
    assert re.search(r"CEI\s+28.57%", out)
    assert re.search(r"late share of turnover\s+100.00%", out)
    assert re.search(r"average days to pay\s+120.00 days", out)
    assert re.search(r"average days late\s+90.00 days", out)


def test_the_readable_report_shows_a_dash_for_what_cannot_be_computed(ledger):
    out = kpi("--as-of", "2026-03-31", "--customer", "B01")
    assert "(customer:" in out
    assert re.search(r"average days to pay\s+-", out)
    assert re.search(r"CEI\s+0.00%", out)


def test_the_period_can_be_chosen(ledger):
    # January only: 31 days; sales F4 2.000; the AR at 31/01 is rebuilt from the events: the
    # ledger then held F1 and F2 (the 31/12 snapshot): 1.500, all overdue.
    data = kpi_json("--from", "2026-01-01", as_of="2026-01-31")
    assert data["open_amount"] == "1500.00"
    assert data["dso"] == "23.25"  # 1.500 ÷ 2.000 x 31
    assert data["best_possible_dso"] == "0.00"
