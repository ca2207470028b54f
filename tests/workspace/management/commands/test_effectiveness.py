"""``incassa effectiveness`` as a user runs it: the JSON, the readable report, the period and
the user's mistakes (a message and exit code 2, never a traceback).

Today is 30/04/2026. Company acme: the first reminder (a letter) went out to Alfa on 01/02
for F1 1.000,00 (paid on 06/02) and F2 500,00 (open): 1.000 of 1.500 collected within 7,
15 and 30 days, F1 after 5 days. Beta's G1 200,00 has been at the hand-over step since
01/03, 60 days, and is still open: hand it over.
"""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.dunning.models import ActionStatus, ItemProgress, Step
from tests.factories import CompanyFactory, CustomerFactory, action_with_items
from tests.workspace.test_selectors import at, gone_out, item

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 4, 30, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def ledger(company):
    alfa = CustomerFactory(company=company, code="ALFA", name="Alfa S.r.l.")
    beta = CustomerFactory(company=company, code="BETA", name="Beta S.p.A.")
    f1 = item(company, alfa, "F1", "1000.00", D(2026, 1, 1), paid_on=D(2026, 2, 6))
    f2 = item(company, alfa, "F2", "500.00", D(2026, 1, 1))
    g1 = item(company, beta, "G1", "200.00", D(2026, 2, 1))
    reminder = action_with_items(company, alfa, "first-reminder", [f1, f2], day=D(2026, 2, 1))
    gone_out(reminder, ActionStatus.SENT, at(D(2026, 2, 1)))
    last = Step.objects.filter(strategy__company=company).order_by("-position").first()
    ItemProgress.objects.create(receivable=g1, step=last, reached_on=D(2026, 3, 1))
    return company


def run(*args: str) -> str:
    out = StringIO()
    call_command("effectiveness", *args, stdout=out)
    return out.getvalue()


def test_json(ledger):
    data = json.loads(run("--json"))
    assert data["company"] == "acme"
    # The last 90 days, today included; nothing imported: payments known up to today.
    assert (data["from"], data["to"], data["observed_until"]) == (
        "2026-01-31",
        "2026-04-30",
        "2026-04-30",
    )
    assert data["horizons"] == [7, 15, 30]
    [letter] = data["channels"]
    assert (letter["key"], letter["label"]) == ("letter", "Letter")
    assert (letter["contacts"], letter["amount"]) == (1, "1500.00")
    # 1.000 of 1.500 = 0.6667 within each window.
    assert [letter[f"share_{d}"] for d in (7, 15, 30)] == [0.6667] * 3
    assert (letter["median_days"], letter["paid_items"], letter["open_items"]) == (5.0, 1, 1)
    assert data["steps"][0]["label"] == str(
        Step.objects.get(strategy__company=ledger, code="first-reminder").name
    )
    assert data["activity_kinds"] == []
    assert data["activities"]["contacts"] == 0
    assert data["activities"]["share_30"] is None
    [beta] = data["not_working"]
    assert beta == {
        "customer": "BETA",
        "name": "Beta S.p.A.",
        "overdue_amount": "200.00",
        "strategy": "standard",
        "finished_items": 1,
        "finished_amount": "200.00",
        "finished_days": 60,
        "handed_over_step": True,
        "broken_promises": 0,
        "broken_plans": 0,
        "fruitless_contacts": 0,
        "suggestion": "hand_over",
    }


def test_readable_report(ledger):
    text = run()
    assert text.startswith(
        "Effectiveness of Acme Italia S.p.A.: contacts from 31/01/2026 to 30/04/2026"
    )
    assert "  engine actions: 1, 66.7% collected within 30 days" in text
    assert "  activities:     0, - collected within 30 days" in text
    letter = next(line for line in text.splitlines() if line.startswith("  Letter"))
    assert letter.split()[1:] == ["1", "€1,500.00", "66.7%", "66.7%", "66.7%", "5", "1/1"]
    assert "(no contact of this kind in the period)" in text  # no activity
    assert "Customers where it is not working: 1" in text
    assert "  BETA Beta S.p.A. - overdue €200.00, strategy Standard" in text
    assert "    why: sequence ended 60 days ago, €200.00 still open on 1 item(s)" in text
    assert "    suggestion: Hand the items over to a collection agency or lawyer" in text


def test_a_chosen_period(ledger):
    data = json.loads(run("--from", "2026-02-02", "--to", "2026-03-31", "--json"))
    assert (data["from"], data["to"]) == ("2026-02-02", "2026-03-31")
    assert data["steps"] == []  # the reminder went out on 01/02
    # Only --to: the 90 days before it.
    assert json.loads(run("--to", "2026-03-31", "--json"))["from"] == "2026-01-01"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-04-01", "--to", "2026-03-01"], "ends .* before it starts"),
        (["--from", "01/04/2026"], "invalid date"),
        (["--company", "nope"], "no company with code 'nope'"),
    ],
)
def test_user_mistakes_exit_2(ledger, args, message):
    with pytest.raises(CommandError, match=message) as info:
        run(*args)
    assert info.value.returncode == 2


def test_several_companies_need_one_chosen(ledger):
    CompanyFactory(code="altra")
    with pytest.raises(CommandError, match="several companies"):
        run()
    assert json.loads(run("--company", "altra", "--json"))["not_working"] == []
