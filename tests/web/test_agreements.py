"""The agreements' pages: the list with its tabs and filters, each agreement's page with its
actions, making one from a customer's items, and who may see and do what.

The ledger is the customers' tests' one of 01/04/2026 (today here):
  001 Rossi S.r.l.   F1 due 01/03, open 800,00 (overdue) and F2 due 30/04, 500,00
  002 Bianchi S.p.A. F3 due 15/02, 2.000,00 (overdue)
  003 Verdi S.n.c.   F4 due 10/04, 300,00
Mario Rossi is the sales agent of 001 and 003, Anna Verdi of 002 and 004. The pages are
read in English here (``logged_in(..., language="en")``).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from django.conf import settings
from django.urls import resolve, reverse

from incassa.dunning.models import Hold, HoldKind
from incassa.ledger.models import Customer, Role, SalesAgent
from incassa.web.agreements import add_months, instalment_amounts, instalment_dates
from incassa.workspace.agreements import (
    case_open,
    dispute_open,
    plan_create,
    plan_schedule,
    promise_record,
    settlement_agree,
)
from incassa.workspace.models import (
    Case,
    CaseOutcome,
    CaseStatus,
    Dispute,
    DisputeStatus,
    InstalmentStatus,
    PlanStatus,
    Promise,
    PromiseStatus,
    RepaymentPlan,
    Settlement,
    SettlementStatus,
)
from tests.factories import CompanyFactory, ReceivableFactory
from tests.web import test_customers
from tests.web.test_customers import customer_url, get, item_of, member, shown_messages

# The fixtures of the customers' tests: their ledger of 01/04/2026, and that day.
ledger = test_customers.ledger
today = test_customers.today
DAY = dt.date(2026, 4, 1)
LIST = reverse("web:agreements")


def logged_in(client, company, role: str = Role.CREDIT_MANAGER, **fields):
    return test_customers.logged_in(client, company, role, language="en", **fields)


def customer(code: str) -> Customer:
    return Customer.objects.get(code=code)


def new_url(kind: str, code: str) -> str:
    return reverse("web:agreement_new", kwargs={"kind": kind, "code": code})


def rows(html: str) -> list[str]:
    """The agreements listed, in order (their ids)."""
    return re.findall(r'<tr data-agreement="(\d+)">', html)


def texts(response) -> list[str]:
    """The messages the page redirected to shows (which uses them up)."""
    assert response.status_code == 302, response.content.decode()[:500]
    return shown_messages(response)


def alerts(html: str) -> list[str]:
    """The errors a re-rendered form shows."""
    block = re.search(r'<div class="notice notice--error" role="alert">(.*?)</div>', html, re.S)
    return [unescape(p) for p in re.findall(r"<p>(.*?)</p>", block.group(1), re.S)] if block else []


def promise(code: str = "001", docs=("F1",), amount="800.00", on=dt.date(2026, 4, 15), **kw):
    return promise_record(
        customer=customer(code),
        items=[item_of(customer(code).company, d) for d in docs],
        amount=Decimal(amount),
        promised_on=on,
        **kw,
    )


def dispute(code: str = "001", docs=("F1",), **kw):
    return dispute_open(
        customer=customer(code),
        items=[item_of(customer(code).company, d) for d in docs],
        reason="quality",
        **kw,
    )


def plan(code: str = "001", docs=("F1",)):
    # F1's 800,00 in two instalments of 400,00 on 01/05 and 01/06, no interest.
    return plan_create(
        customer=customer(code),
        items=[item_of(customer(code).company, d) for d in docs],
        instalments=[(dt.date(2026, 5, 1), Decimal("400")), (dt.date(2026, 6, 1), Decimal("400"))],
    )


def settlement(code: str = "001", docs=("F1",), agreed="600"):
    return settlement_agree(
        customer=customer(code),
        items=[item_of(customer(code).company, d) for d in docs],
        agreed_amount=Decimal(agreed),
        due_on=dt.date(2026, 4, 30),
        write_off_reason="Difficoltà del cliente",
    )


def case(code: str = "001", docs=("F1",)):
    return case_open(
        customer=customer(code),
        items=[item_of(customer(code).company, d) for d in docs],
        agency="Recuperi Srl",
    )


def detail_url(agreement) -> str:
    name = {
        Promise: "promise",
        Dispute: "dispute",
        RepaymentPlan: "plan",
        Settlement: "settlement",
        Case: "case",
    }[type(agreement)]
    return reverse(f"web:{name}", args=[agreement.pk])


# --------------------------------------------------------------------------------------
# The URLs
# --------------------------------------------------------------------------------------


def test_the_creation_url_is_not_taken_by_the_customers_page(db):
    # Customer codes may hold a slash: the creation URL keeps the code last, whole.
    url = new_url("promise", "A/1")
    assert url == "/agreements/new/promise/A/1/"
    match = resolve(url)
    assert match.url_name == "agreement_new"
    assert match.kwargs == {"kind": "promise", "code": "A/1"}


def test_login_is_required(client, ledger):
    p = promise()
    for url in [LIST, detail_url(p), new_url("promise", "001")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# --------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------


def test_promises_in_force_by_date_by_default(client, ledger):
    logged_in(client, ledger)
    late = promise(docs=("F1",), amount="100.00", on=dt.date(2026, 4, 20))
    early = promise(code="002", docs=("F3",), amount="2000.00", on=dt.date(2026, 4, 10))
    cancelled = promise(docs=("F2",), amount="500.00", on=dt.date(2026, 4, 5))
    Promise.objects.filter(pk=cancelled.pk).update(status=PromiseStatus.CANCELLED)

    html = get(client, LIST)
    # Open ones only, the nearest promised date first.
    assert rows(html) == [str(early.pk), str(late.pk)]
    assert "€2,000.00" in html and "10/04/2026" in html
    assert f'href="{customer_url("002")}"' in html
    assert f'href="{detail_url(early)}"' in html
    assert 'class="tag tag--created">Open</span>' in html
    # Each status on request, or all of them.
    assert rows(get(client, LIST, {"status": "cancelled"})) == [str(cancelled.pk)]
    assert rows(get(client, LIST, {"status": "all"})) == [
        str(cancelled.pk),
        str(early.pk),
        str(late.pk),
    ]
    # An unknown status is the default.
    assert rows(get(client, LIST, {"status": "nonsense"})) == [str(early.pk), str(late.pk)]


def test_customer_search_by_code_or_name_and_exact_customer(client, ledger):
    logged_in(client, ledger)
    rossi = promise()
    bianchi = promise(code="002", docs=("F3",), amount="2000.00")
    assert rows(get(client, LIST, {"q": "bianchi"})) == [str(bianchi.pk)]
    assert rows(get(client, LIST, {"q": "001"})) == [str(rossi.pk)]
    assert rows(get(client, LIST, {"customer": "002"})) == [str(bianchi.pk)]
    assert rows(get(client, LIST, {"q": "nessuno"})) == []


def test_tabs_count_what_is_in_force(client, ledger):
    logged_in(client, ledger)
    promise()
    dispute(code="002", docs=("F3",))
    settlement()
    html = get(client, LIST)
    counts = dict(
        re.findall(r'data-kind="(\w+)">[^<]*<span class="agreement-tabs__count">(\d+)</span>', html)
    )
    assert counts == {
        "promises": "1",
        "disputes": "1",
        "plans": "0",
        "settlements": "1",
        "cases": "0",
    }
    assert 'aria-current="page" data-kind="promises"' in html


def test_disputes_by_deadline_with_owner_and_late_ones_highlighted(client, ledger):
    logged_in(client, ledger)
    laura = member(ledger, Role.COLLECTOR, username="laura", first_name="Laura", last_name="Neri")
    # Past its deadline (31/03 < today 01/04), no deadline, and a deadline to come.
    late = dispute(owner=laura, deadline=dt.date(2026, 3, 31))
    none = dispute(code="002", docs=("F3",))
    later = dispute(code="003", docs=("F4",), deadline=dt.date(2026, 5, 1))
    resolved = dispute(docs=("F2",))
    Dispute.objects.filter(pk=resolved.pk).update(status=DisputeStatus.RESOLVED_CREDIT_NOTE)

    html = get(client, LIST, {"kind": "disputes"})
    # By deadline, those without one last; the resolved one is not in force.
    assert rows(html) == [str(late.pk), str(later.pk), str(none.pk)]
    assert "Laura Neri" in html
    assert html.count("Past its deadline") == 1
    assert 'class="num is-overdue" data-label="Deadline">31/03/2026' in html
    assert "Nobody" in html  # the disputes without an owner
    # Filter by owner.
    assert rows(get(client, LIST, {"kind": "disputes", "owner": laura.pk})) == [str(late.pk)]
    assert rows(get(client, LIST, {"kind": "disputes", "status": "resolved_credit_note"})) == [
        str(resolved.pk)
    ]


def test_plans_by_next_instalment(client, ledger):
    logged_in(client, ledger)
    rossi = plan()  # next instalment 01/05, 400,00
    bianchi = plan_create(
        customer=customer("002"),
        items=[item_of(ledger, "F3")],
        instalments=[
            (dt.date(2026, 4, 20), Decimal("1000")),
            (dt.date(2026, 5, 20), Decimal("1000")),
        ],
    )
    bianchi.instalments.filter(number=1).update(status=InstalmentStatus.PAID)
    # Bianchi's next unpaid instalment is now 20/05, after Rossi's 01/05.
    html = get(client, LIST, {"kind": "plans"})
    assert rows(html) == [str(rossi.pk), str(bianchi.pk)]
    assert "01/05/2026 · €400.00" in html
    assert "20/05/2026 · €1,000.00" in html
    assert "1 / 2" in html and "0 / 2" in html


def test_settlements_and_cases(client, ledger):
    logged_in(client, ledger)
    s = settlement()
    c = case(code="002", docs=("F3",))
    html = get(client, LIST, {"kind": "settlements"})
    assert rows(html) == [str(s.pk)]
    assert "€600.00" in html and "€800.00" in html and "30/04/2026" in html
    html = get(client, LIST, {"kind": "cases"})
    assert rows(html) == [str(c.pk)]
    assert "Recuperi Srl" in html and "€2,000.00" in html


def test_fifty_a_page(client, ledger):
    logged_in(client, ledger)
    rossi = customer("001")
    # 51 promises dated 02/04 to 22/05: the 51st (the latest) is on page 2.
    Promise.objects.bulk_create(
        Promise(
            company=ledger,
            customer=rossi,
            amount=Decimal("10"),
            promised_on=DAY + dt.timedelta(days=n + 1),
            recorded_on=DAY,
        )
        for n in range(51)
    )
    html = get(client, LIST)
    assert len(rows(html)) == 50
    assert "Page 1 of 2 (1–50)" in html
    assert 'rel="next" href="?kind=promises&amp;page=2"' in html
    html = get(client, LIST, {"page": 2})
    assert len(rows(html)) == 1
    assert "22/05/2026" in html  # 01/04 + 51 days


def test_the_nav_links_to_the_agreements(client, ledger):
    logged_in(client, ledger)
    html = get(client, LIST)
    assert f'<a class="site-nav__link" href="{LIST}" aria-current="page">Agreements</a>' in html
    html = get(client, customer_url("001"))
    assert f'<a class="site-nav__link" href="{LIST}">Agreements</a>' in html


# --------------------------------------------------------------------------------------
# Each agreement's page
# --------------------------------------------------------------------------------------


def test_promise_page_and_cancel(client, ledger):
    logged_in(client, ledger)
    p = promise(
        user=member(ledger, Role.COLLECTOR, username="rec", first_name="Rita", last_name="Bo")
    )
    html = get(client, detail_url(p))
    assert "Promise to pay €800.00 by 15/04/2026" in html
    assert "18/04/2026" in html  # the last day the payment may show: 15/04 + 3 days
    assert "Rita Bo" in html
    assert f'href="{reverse("web:item", args=[item_of(ledger, "F1").pk])}"' in html
    assert 'value="cancel"' in html
    response = client.post(detail_url(p), {"op": "cancel", "note": "Registrata per errore"})
    assert response.status_code == 302
    assert texts(response) == ["The promise is cancelled: its items are chased again."]
    p.refresh_from_db()
    assert p.status == PromiseStatus.CANCELLED
    assert p.note == "Registrata per errore"
    assert not p.holds.filter(released_on__isnull=True).exists()
    # Cancelled: no form any more, and a second cancel is refused with a message.
    assert 'value="cancel"' not in get(client, detail_url(p))
    response = client.post(detail_url(p), {"op": "cancel"})
    assert texts(response) == ["Only an open promise can be cancelled; this one is Cancelled."]


def test_dispute_page_change_and_resolve(client, ledger):
    logged_in(client, ledger)
    laura = member(ledger, Role.COLLECTOR, username="laura", first_name="Laura", last_name="Neri")
    d = dispute(description="Merce difettosa", deadline=dt.date(2026, 3, 31))
    html = get(client, detail_url(d))
    assert "Dispute: Quality" in html
    assert "Past its deadline of 31/03/2026." in html
    assert f'<option value="{laura.pk}">Laura Neri</option>' in html
    # Change the status, the owner and the deadline, with a note.
    data = {
        "op": "change",
        "status": "waiting_internal",
        "owner": laura.pk,
        "deadline": "2026-04-30",
        "note": "Chiesto al magazzino",
    }
    response = client.post(detail_url(d), data)
    assert texts(response) == ["The dispute is updated."]
    d.refresh_from_db()
    assert (d.status, d.owner, d.deadline) == ("waiting_internal", laura, dt.date(2026, 4, 30))
    assert d.description == "Merce difettosa\nChiesto al magazzino"
    # A note alone is added to the description.
    assert texts(client.post(detail_url(d), {**data, "note": "Risposta attesa"})) == [
        "The dispute is updated."
    ]
    d.refresh_from_db()
    assert d.description.endswith("Chiesto al magazzino\nRisposta attesa")
    # Nothing changed is a message; a past deadline too.
    response = client.post(detail_url(d), {**data, "note": ""})
    assert texts(response) == ["Nothing to change."]
    response = client.post(detail_url(d), {**data, "note": "", "deadline": "2026-03-01"})
    assert texts(response) == ["The deadline cannot be in the past."]
    # Resolve it with a credit note: the holds are released.
    response = client.post(
        detail_url(d), {"op": "resolve", "status": "resolved_credit_note", "note": "NC 12"}
    )
    assert texts(response) == ["The dispute is resolved: what is still open is chased again."]
    d.refresh_from_db()
    assert d.status == DisputeStatus.RESOLVED_CREDIT_NOTE
    assert d.resolution == "NC 12"
    assert d.resolved_on == DAY
    assert not d.holds.filter(released_on__isnull=True).exists()
    html = get(client, detail_url(d))
    assert 'value="change"' not in html and 'value="resolve"' not in html
    assert "NC 12" in html
    response = client.post(detail_url(d), {**data, "status": "open"})
    assert texts(response) == ["This dispute is already resolved."]


def test_plan_page_shows_the_instalments_and_cancels(client, ledger):
    logged_in(client, ledger)
    p = plan()
    p.instalments.filter(number=1).update(status=InstalmentStatus.LATE, paid_amount=Decimal("150"))
    html = get(client, detail_url(p))
    assert "Repayment plan: €800.00 in 2 instalments" in html
    instalment = re.search(r'<tr data-instalment="1">(.*?)</tr>', html, re.S).group(1)
    assert "01/05/2026" in instalment and "€400.00" in instalment and "€150.00" in instalment
    assert 'tag tag--hold">Late<' in instalment
    assert 'tag tag--created">Due<' in html  # the second
    response = client.post(detail_url(p), {"op": "cancel"})
    assert texts(response) == ["The plan is cancelled: its items are chased again."]
    p.refresh_from_db()
    assert p.status == PlanStatus.CANCELLED
    assert not p.holds.filter(released_on__isnull=True).exists()
    response = client.post(detail_url(p), {"op": "cancel"})
    assert texts(response) == ["Only an active plan can be cancelled; this one is Cancelled."]


def test_settlement_page_and_cancel(client, ledger):
    logged_in(client, ledger)
    s = settlement()
    html = get(client, detail_url(s))
    assert "Settlement: €600.00 by 30/04/2026" in html
    assert "€200.00" in html  # to write off: 800,00 - 600,00
    assert "Difficoltà del cliente" in html
    response = client.post(detail_url(s), {"op": "cancel"})
    assert texts(response) == ["The settlement is cancelled: its items are chased again."]
    s.refresh_from_db()
    assert s.status == SettlementStatus.CANCELLED


def test_case_page_closes_and_links_the_dossier(client, ledger):
    logged_in(client, ledger)
    c = case()
    html = get(client, detail_url(c))
    assert "Handed over to Recuperi Srl" in html
    for name in ("case_dossier_pdf", "case_dossier_csv"):
        try:
            url = reverse(f"web:{name}", kwargs={"pk": c.pk})
        except Exception:  # the dossier's views are not there (yet): no link, no error
            continue
        assert f'href="{url}"' in html
    data = {"op": "close", "outcome": "partly_recovered", "recovered_amount": "300.50"}
    response = client.post(detail_url(c), {**data, "outcome_text": "Pagato in parte"})
    assert texts(response) == ["The case is closed."]
    c.refresh_from_db()
    assert c.status == CaseStatus.CLOSED
    assert c.outcome == CaseOutcome.PARTLY_RECOVERED
    assert c.recovered_amount == Decimal("300.50")
    assert c.outcome_text == "Pagato in parte"
    # Not withdrawn: the items stay out of the reminders.
    assert c.holds.filter(released_on__isnull=True).count() == 1
    html = get(client, detail_url(c))
    assert "€300.50" in html and 'value="close"' not in html
    response = client.post(detail_url(c), data)
    assert texts(response) == ["This case is already closed."]


def test_case_close_refuses_a_bad_amount(client, ledger):
    logged_in(client, ledger)
    c = case()
    response = client.post(
        detail_url(c), {"op": "close", "outcome": "recovered", "recovered_amount": "-5"}
    )
    assert texts(response) == ["Amount recovered: Ensure this value is greater than or equal to 0."]
    c.refresh_from_db()
    assert c.status == CaseStatus.OPEN


def test_unknown_operation_is_a_bad_request(client, ledger):
    logged_in(client, ledger)
    for agreement in (promise(), dispute(docs=("F2",)), settlement(code="002", docs=("F3",))):
        assert client.post(detail_url(agreement), {"op": "nonsense"}).status_code == 400


# --------------------------------------------------------------------------------------
# Making an agreement from a customer
# --------------------------------------------------------------------------------------


def test_new_promise_form_has_the_overdue_items_chosen(client, ledger):
    logged_in(client, ledger)
    f1, f2 = item_of(ledger, "F1"), item_of(ledger, "F2")
    html = get(client, new_url("promise", "001"))
    # F1 is overdue (due 01/03), F2 not (due 30/04).
    assert f'name="items" value="{f1.pk}" checked' in html
    assert f'name="items" value="{f2.pk}">' in html
    assert 'name="amount" value="800.00"' in html  # F1's open amount
    assert 'name="promised_on" value="2026-04-08"' in html  # a week from today


def test_new_promise_holds_the_items(client, ledger):
    logged_in(client, ledger)
    f1, f2 = item_of(ledger, "F1"), item_of(ledger, "F2")
    data = {
        "items": [f1.pk, f2.pk],
        "amount": "",
        "promised_on": "2026-04-15",
        "note": "Al telefono",
    }
    response = client.post(new_url("promise", "001"), data)
    p = Promise.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(p)
    assert texts(response) == ["The promise is recorded: its items are on hold until its date."]
    # No amount given: the chosen items' open amount, 800,00 + 500,00.
    assert p.amount == Decimal("1300.00")
    assert p.note == "Al telefono"
    # The holds last until the day after 15/04 + 3 days of grace.
    holds = Hold.objects.filter(kind=HoldKind.PROMISE, released_on__isnull=True)
    assert {(h.receivable_id, h.until) for h in holds} == {
        (f1.pk, dt.date(2026, 4, 19)),
        (f2.pk, dt.date(2026, 4, 19)),
    }
    # The customer's page lists it with its link.
    assert f'href="{detail_url(p)}"' in get(client, customer_url("001"))


def test_new_promise_errors_come_back_on_the_form(client, ledger):
    logged_in(client, ledger)
    f1 = item_of(ledger, "F1")
    # More than the items' open amount: the service refuses, the form comes back.
    data = {"items": [f1.pk], "amount": "900.00", "promised_on": "2026-04-15"}
    response = client.post(new_url("promise", "001"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert alerts(html) == [
        "The promised amount 900.00 is more than the items' open amount 800.00."
    ]
    assert 'name="amount" value="900.00"' in html  # what was typed is kept
    assert "Traceback" not in html
    # No items, a past date: the form's own errors.
    response = client.post(new_url("promise", "001"), {"amount": "10", "promised_on": "2026-03-01"})
    assert response.status_code == 200
    assert alerts(response.content.decode()) == [
        "Items: Choose at least one item.",
        "Promised for: Choose today or a later day.",
    ]
    # An item of another customer is not among the choices.
    f3 = item_of(ledger, "F3")
    response = client.post(new_url("promise", "001"), {**data, "items": [f3.pk], "amount": ""})
    assert response.status_code == 200
    assert len(alerts(response.content.decode())) == 1
    assert not Promise.objects.exists()
    assert not Hold.objects.exists()


def test_in_italian_the_services_refusal_is_in_italian(client, ledger):
    test_customers.logged_in(client, ledger)  # an Italian user
    f1 = item_of(ledger, "F1")
    data = {"items": [f1.pk], "amount": "900,00", "promised_on": "2026-04-15"}
    response = client.post(new_url("promise", "001"), data)
    assert response.status_code == 200
    assert alerts(response.content.decode()) == [
        "L'importo promesso 900.00 supera il residuo delle partite, 800.00."
    ]
    promise()
    for kind in ("promises", "disputes", "plans", "settlements", "cases"):
        get(client, LIST, {"kind": kind})
    get(client, detail_url(Promise.objects.get()))


def test_new_dispute(client, ledger):
    logged_in(client, ledger)
    laura = member(ledger, Role.COLLECTOR, username="laura", first_name="Laura", last_name="Neri")
    member(ledger, Role.AUDITOR, username="aud", first_name="Audrey", last_name="Tor")
    html = get(client, new_url("dispute", "001"))
    assert "Laura Neri" in html
    assert "Audrey Tor" not in html  # only those who act may own a dispute
    f1 = item_of(ledger, "F1")
    data = {
        "items": [f1.pk],
        "reason": "price",
        "owner": laura.pk,
        "deadline": "2026-04-30",
        "note": "Prezzo diverso dall'ordine",
    }
    response = client.post(new_url("dispute", "001"), data)
    d = Dispute.objects.get()
    assert response["Location"] == detail_url(d)
    assert (d.reason, d.owner, d.deadline) == ("price", laura, dt.date(2026, 4, 30))
    assert d.description == "Prezzo diverso dall'ordine"
    assert d.holds.get().receivable == f1
    assert d.holds.get().kind == HoldKind.DISPUTE
    # Someone who does not act cannot be made its owner.
    response = client.post(new_url("dispute", "001"), {**data, "owner": 999_999})
    assert response.status_code == 200
    assert len(alerts(response.content.decode())) == 1


def test_new_plan_preview_then_create(client, ledger):
    logged_in(client, ledger)
    f1 = item_of(ledger, "F1")
    data = {
        "items": [f1.pk],
        "count": "2",
        "first_on": "2026-05-01",
        "frequency": "monthly",
        "annual_interest_rate": "12",
        "grace_days": "5",
        "note": "",
    }
    response = client.post(new_url("plan", "001"), {**data, "preview": "1"})
    assert response.status_code == 200
    assert not RepaymentPlan.objects.exists()
    html = response.content.decode()
    # 800,00 at 12% a year from 01/04. Instalment 1 on 01/05 (30 days): interest
    # 800 * 12% * 30/365 = 7.89; the equal payment solving the two periods is 405.99,
    # so 398.10 of principal. Instalment 2 on 01/06 (31 days): interest on the 401.90 left,
    # 401.90 * 12% * 31/365 = 4.10, and it pays 401.90 + 4.10 = 406.00.
    first = re.search(r'<tr data-instalment="1">(.*?)</tr>', html, re.S).group(1)
    second = re.search(r'<tr data-instalment="2">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"€[\d,.]+", first) == ["€405.99", "€7.89", "€398.10"]
    assert re.findall(r"€[\d,.]+", second) == ["€406.00", "€4.10", "€401.90"]
    assert "01/05/2026" in first and "01/06/2026" in second
    assert "€811.99" in html  # the total: 405.99 + 406.00
    # Create: the same schedule, and the item held while the plan runs.
    response = client.post(new_url("plan", "001"), {**data, "create": "1"})
    p = RepaymentPlan.objects.get()
    assert response["Location"] == detail_url(p)
    assert texts(response) == ["The repayment plan is made: its items are on hold while it runs."]
    assert [(i.due_on, i.amount, i.principal) for i in p.instalments.order_by("number")] == [
        (dt.date(2026, 5, 1), Decimal("405.99"), Decimal("398.10")),
        (dt.date(2026, 6, 1), Decimal("406.00"), Decimal("401.90")),
    ]
    assert (p.total, p.principal, p.grace_days) == (Decimal("811.99"), Decimal("800"), 5)
    assert p.annual_interest_rate == Decimal("12")
    assert p.holds.get().kind == HoldKind.PLAN


def test_new_plan_errors(client, ledger):
    logged_in(client, ledger)
    f1 = item_of(ledger, "F1")
    data = {"items": [f1.pk], "count": "3", "first_on": "2026-04-01", "frequency": "monthly"}
    response = client.post(new_url("plan", "001"), {**data, "grace_days": "10", "preview": "1"})
    assert response.status_code == 200
    assert alerts(response.content.decode()) == ["First instalment on: Choose a day after today."]
    response = client.post(
        new_url("plan", "001"), {**data, "first_on": "2026-05-01", "create": "1"}
    )
    assert alerts(response.content.decode()) == ["Grace days: This field is required."]
    assert not RepaymentPlan.objects.exists()


def test_new_settlement(client, ledger):
    logged_in(client, ledger)
    f1 = item_of(ledger, "F1")
    data = {"items": [f1.pk], "agreed_amount": "600", "due_on": "2026-04-30"}
    response = client.post(new_url("settlement", "001"), {**data, "write_off_reason": "Crisi"})
    s = Settlement.objects.get()
    assert response["Location"] == detail_url(s)
    assert (s.open_amount, s.agreed_amount, s.write_off_reason) == (
        Decimal("800"),
        Decimal("600"),
        "Crisi",
    )
    assert s.holds.get().kind == HoldKind.MANUAL
    # Agreeing the whole open amount is no settlement: the service says so on the form.
    response = client.post(
        new_url("settlement", "001"), {**data, "agreed_amount": "800", "write_off_reason": "x"}
    )
    assert response.status_code == 200
    assert alerts(response.content.decode()) == [
        "The agreed amount must be more than zero and less than the open 800.00."
    ]


def test_new_case(client, ledger):
    logged_in(client, ledger)
    f3 = item_of(ledger, "F3")
    data = {
        "items": [f3.pk],
        "kind": "lawyer",
        "agency": "Avv. Bianchi",
        "handed_over_on": "2026-03-30",
        "reference": "PR-2026/118",
        "note": "Decreto ingiuntivo",
    }
    response = client.post(new_url("case", "002"), data)
    c = Case.objects.get()
    assert response["Location"] == detail_url(c)
    assert (c.reference, c.note) == ("PR-2026/118", "Decreto ingiuntivo")
    assert "PR-2026/118" in get(client, detail_url(c))
    assert (c.kind, c.agency, c.handed_over_on, c.handed_over_amount) == (
        "lawyer",
        "Avv. Bianchi",
        dt.date(2026, 3, 30),
        Decimal("2000"),
    )
    hold = c.holds.get()
    assert (hold.kind, hold.starts_on, hold.receivable) == (
        HoldKind.MANUAL,
        dt.date(2026, 3, 30),
        f3,
    )
    # The same item again: already handed over.
    response = client.post(new_url("case", "002"), data)
    assert response.status_code == 200
    assert alerts(response.content.decode()) == [
        "Some items are already handed over to Avv. Bianchi."
    ]
    response = client.post(new_url("case", "002"), {**data, "handed_over_on": "2026-04-02"})
    assert alerts(response.content.decode()) == [
        "Handed over on: The hand-over date cannot be in the future."
    ]


def test_unknown_kind_and_customer_are_404(client, ledger):
    logged_in(client, ledger)
    get(client, new_url("loan", "001"), status=404)
    get(client, new_url("promise", "999"), status=404)


# --------------------------------------------------------------------------------------
# The customer's page
# --------------------------------------------------------------------------------------


def test_customer_page_links_to_new_agreements_and_lists_those_in_force(client, ledger):
    logged_in(client, ledger)
    p, s, c = promise(), settlement(docs=("F2",), agreed="400"), case(docs=("F2",))
    html = get(client, customer_url("001"))
    section = html.split('id="activities-title"')[1]
    for kind in ("promise", "dispute", "plan", "settlement", "case"):
        assert f'href="{new_url(kind, "001")}"' in section
    for agreement in (p, s, c):
        assert f'href="{detail_url(agreement)}"' in section
    assert f'href="{LIST}?customer=001&amp;status=all"' in section


def test_read_only_roles_see_no_buttons(client, ledger):
    logged_in(client, ledger, Role.AUDITOR)
    promise()
    html = get(client, customer_url("001"))
    assert new_url("promise", "001") not in html
    assert "Agreements in force" in html


# --------------------------------------------------------------------------------------
# Who may see and do what
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR])
def test_acting_roles_may_act(client, ledger, role):
    logged_in(client, ledger, role)
    p = promise()
    assert 'value="cancel"' in get(client, detail_url(p))
    get(client, new_url("settlement", "001"))
    client.post(detail_url(p), {"op": "cancel"})
    p.refresh_from_db()
    assert p.status == PromiseStatus.CANCELLED


@pytest.mark.parametrize("role", [Role.SALES_AGENT, Role.AUDITOR])
def test_read_only_roles_may_not_act(client, ledger, role):
    user = member(ledger, role)
    # The sales agent's own customer, so that the 403 is about the role, not visibility.
    SalesAgent.objects.filter(company=ledger, name="Mario Rossi").update(user=user)
    client.force_login(user)
    # 003 is Mario Rossi's too: its F4 (300,00) in one instalment.
    three = plan_create(
        customer=customer("003"),
        items=[item_of(ledger, "F4")],
        instalments=[(dt.date(2026, 5, 1), Decimal("300"))],
    )
    agreements = [promise(), dispute(docs=("F2",)), three]
    posts = {
        Promise: {"op": "cancel"},
        Dispute: {"op": "resolve", "status": "resolved_in_our_favour"},
        RepaymentPlan: {"op": "cancel"},
    }
    for agreement in agreements:
        html = get(client, detail_url(agreement))
        assert 'name="op"' not in html
        assert client.post(detail_url(agreement), posts[type(agreement)]).status_code == 403
    assert Promise.objects.get().status == PromiseStatus.OPEN
    assert not Dispute.objects.get().is_resolved
    assert RepaymentPlan.objects.get().status == PlanStatus.ACTIVE
    # Making one: neither the page nor the POST.
    for kind in ("promise", "case"):
        get(client, new_url(kind, "001"), status=403)
        data = {"items": [item_of(ledger, "F1").pk], "promised_on": "2026-04-15", "agency": "X"}
        assert client.post(new_url(kind, "001"), data).status_code == 403
    assert Promise.objects.count() == 1 and not Case.objects.exists()


def test_read_only_roles_may_not_close_a_case_or_cancel_a_settlement(client, ledger):
    logged_in(client, ledger, Role.AUDITOR)
    s, c = settlement(), case(code="002", docs=("F3",))
    assert client.post(detail_url(s), {"op": "cancel"}).status_code == 403
    assert client.post(detail_url(c), {"op": "close", "outcome": "withdrawn"}).status_code == 403
    s.refresh_from_db()
    c.refresh_from_db()
    assert s.status == SettlementStatus.AGREED and c.status == CaseStatus.OPEN


def test_a_sales_agent_sees_only_their_customers_agreements(client, ledger):
    user = member(ledger, Role.SALES_AGENT)
    SalesAgent.objects.filter(company=ledger, name="Mario Rossi").update(user=user)
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    mine = promise()  # 001, Mario Rossi's
    theirs = promise(code="002", docs=("F3",), amount="2000")  # 002, Anna Verdi's
    their_case = case(code="002", docs=("F3",))
    html = get(client, LIST)
    assert rows(html) == [str(mine.pk)]
    assert "Bianchi S.p.A." not in html
    assert rows(get(client, LIST, {"customer": "002"})) == []
    get(client, detail_url(mine))
    get(client, detail_url(theirs), status=404)
    get(client, detail_url(their_case), status=404)
    # Only their customers are counted in the tabs.
    assert 'data-kind="cases">Hand-over cases <span class="agreement-tabs__count">0</span>' in get(
        client, LIST
    )


def test_another_companys_agreements_are_404(client, ledger):
    other = CompanyFactory(code="altra", name="Altra S.r.l.")
    item = ReceivableFactory(company=other, customer__code="001", customer__name="Segreto")
    foreign = promise_record(
        customer=item.customer, items=[item], amount=Decimal("10"), promised_on=DAY
    )
    foreign_case = case_open(customer=item.customer, items=[item], agency="Altrove")
    logged_in(client, ledger)
    assert "Segreto" not in get(client, LIST, {"status": "all"})
    get(client, detail_url(foreign), status=404)
    get(client, detail_url(foreign_case), status=404)
    assert client.post(detail_url(foreign), {"op": "cancel"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == PromiseStatus.OPEN
    # Their customer's item is not ours to put in an agreement.
    response = client.post(
        new_url("promise", "001"), {"items": [item.pk], "promised_on": "2026-04-15"}
    )
    assert response.status_code == 200
    assert Promise.objects.filter(company=ledger).count() == 0


# --------------------------------------------------------------------------------------
# The plan's instalments (pure)
# --------------------------------------------------------------------------------------


def test_instalment_dates():
    # Month ends are kept in shorter months: 31/01 -> 28/02 -> 31/03 -> 30/04.
    assert instalment_dates(dt.date(2026, 1, 31), 4, "monthly") == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    ]
    assert instalment_dates(dt.date(2026, 5, 1), 3, "fortnightly") == [
        dt.date(2026, 5, 1),
        dt.date(2026, 5, 15),
        dt.date(2026, 5, 29),
    ]
    assert instalment_dates(dt.date(2026, 11, 30), 2, "quarterly") == [
        dt.date(2026, 11, 30),
        dt.date(2027, 2, 28),
    ]
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)


def test_equal_instalments_without_interest_put_the_cents_on_the_last():
    # 1.000,00 in three: 333,33 twice and the 333,34 left.
    amounts = instalment_amounts(
        principal=Decimal("1000"),
        dates=instalment_dates(dt.date(2026, 5, 1), 3, "monthly"),
        annual_interest_rate=None,
        start=DAY,
    )
    assert [amount for _day, amount in amounts] == [
        Decimal("333.33"),
        Decimal("333.33"),
        Decimal("333.34"),
    ]


@pytest.mark.parametrize("count", [1, 2, 7, 24, 60])
@pytest.mark.parametrize("rate", [None, Decimal("0.5"), Decimal("8"), Decimal("19.99")])
@pytest.mark.parametrize("principal", [Decimal("0.07"), Decimal("1234.56"), Decimal("987654.32")])
def test_the_instalments_always_pass_the_schedules_check(count, rate, principal):
    dates = instalment_dates(dt.date(2026, 4, 20), count, "monthly")
    amounts = instalment_amounts(
        principal=principal, dates=dates, annual_interest_rate=rate, start=DAY
    )
    if principal < Decimal("0.01") * count:
        return  # too little to split: the schedule refuses the zero instalments, on the form
    schedule = plan_schedule(
        principal=principal, instalments=amounts, annual_interest_rate=rate, start=DAY
    )
    assert sum(s.principal for s in schedule) == principal
    # Equal but for the last, which carries the cents.
    assert len({amount for _day, amount in amounts[:-1]}) <= 1
