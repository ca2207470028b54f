"""Promises, disputes, repayment plans, settlements and hand-over cases: each state machine,
the holds they place and release, and the automatic review after real imports.

Every test starts from the snapshot of 01/04/2026 (``START``):
  001 Alfa: A1 due 01/03 100,00 and A2 due 31/03 100,00 (the agreements cover these)
  002 Beta: B1 due 10/03 250,00 (never in an agreement: the engine's control item)
Later snapshots are forced (they close more than half of the items in some tests).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from incassa.dunning.models import Hold, HoldKind, ItemStep
from incassa.dunning.services import dunning_run, strategy_install_standard
from incassa.ledger.models import Customer, Receivable
from incassa.ledger.services import receivables_import
from incassa.workspace.agreements import (
    HANDED_OVER,
    WRITTEN_OFF,
    AgreementError,
    agreements_review,
    case_close,
    case_open,
    dispute_change,
    dispute_open,
    dispute_update,
    plan_cancel,
    plan_create,
    promise_cancel,
    promise_record,
    settlement_agree,
)
from incassa.workspace.models import (
    CaseOutcome,
    CaseStatus,
    DisputeReason,
    DisputeStatus,
    InstalmentStatus,
    PlanStatus,
    PromiseStatus,
    SettlementStatus,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The errors are checked in English (the users read them in their own language)."""
    with translation.override("en"):
        yield


HEADER = "Codice cliente;Ragione sociale;Email;Numero documento;Data scadenza;Importo"
A1 = "001;Alfa S.r.l.;amm@alfa.it;A1;01/03/2026;{}"
A2 = "001;Alfa S.r.l.;amm@alfa.it;A2;31/03/2026;{}"
B1 = "002;Beta S.n.c.;b@beta.it;B1;10/03/2026;250,00"
START = dt.date(2026, 4, 1)


def d(day: str) -> dt.date:
    return dt.datetime.strptime(day, "%d/%m/%Y").date()


@pytest.fixture
def load(tmp_path: Path, company):
    def load(on: dt.date, a1: str | None = "100,00", a2: str | None = "100,00") -> None:
        rows = [B1]
        if a1 is not None:
            rows.append(A1.format(a1))
        if a2 is not None:
            rows.append(A2.format(a2))
        path = tmp_path / f"{on}.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        receivables_import(company=company, path=path, as_of=on, force=True)

    return load


@pytest.fixture
def alfa(company, load):
    load(START)
    return Customer.objects.get(company=company, code="001")


def items(*numbers: str) -> list[Receivable]:
    return list(Receivable.objects.filter(document_number__in=numbers).order_by("document_number"))


def active_holds(on: dt.date) -> set[tuple[str, str]]:
    return {
        (h.receivable.document_number, h.kind)
        for h in Hold.objects.select_related("receivable")
        if h.is_active(on)
    }


def chased(company, on: dt.date) -> set[str]:
    """The documents the engine moves on ``on``."""
    dunning_run(company=company, as_of=on)
    return set(
        ItemStep.objects.filter(reached_on=on).values_list("receivable__document_number", flat=True)
    )


# --------------------------------------------------------------------------------------
# Promises
# --------------------------------------------------------------------------------------


def test_promise_holds_its_items_and_is_kept_by_a_later_snapshot(company, alfa, load):
    strategy_install_standard(company=company)
    promise = promise_record(
        customer=alfa,
        items=items("A1", "A2"),
        amount=Decimal("150.00"),
        promised_on=d("10/04/2026"),
        today=START,
    )
    assert promise.baseline == {str(r.pk): 10000 for r in items("A1", "A2")}
    # Held from 01/04 until 10/04 + 3 grace days = 13/04 included, i.e. until 14/04 exclusive.
    hold = Hold.objects.filter(kind=HoldKind.PROMISE).first()
    assert (hold.starts_on, hold.until) == (START, d("14/04/2026"))
    assert active_holds(d("13/04/2026")) == {("A1", "promise"), ("A2", "promise")}
    assert active_holds(d("14/04/2026")) == set()
    # The engine moves B1 only.
    assert chased(company, d("05/04/2026")) == {"B1"}

    # 08/04: A1 paid (gone), A2 down to 50,00: paid 100 + 50 = 150 >= 150: kept.
    load(d("08/04/2026"), a1=None, a2="50,00")
    result = agreements_review(company=company, as_of=d("08/04/2026"))
    promise.refresh_from_db()
    assert result.promises_kept == [promise.pk]
    assert (promise.status, promise.closed_on, promise.is_broken) == (
        PromiseStatus.KEPT,
        d("08/04/2026"),
        False,
    )
    # Kept: the holds end on 08/04 and the rest of A2 is chased again.
    assert set(Hold.objects.values_list("released_on", flat=True)) == {d("08/04/2026")}
    assert "A2" in chased(company, d("08/04/2026"))
    # Reviewing again changes nothing.
    assert agreements_review(company=company, as_of=d("08/04/2026")).promises_kept == []


def test_promise_is_open_until_its_grace_ends_then_broken(company, alfa, load):
    promise = promise_record(
        customer=alfa,
        items=items("A1", "A2"),
        amount=Decimal("150.00"),
        promised_on=d("10/04/2026"),
        today=START,
    )
    # 12/04: only A1 paid: 100 < 150, and the grace lasts until 13/04: still open.
    load(d("12/04/2026"), a1=None)
    assert agreements_review(company=company, as_of=d("12/04/2026")).promises_kept == []
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.OPEN
    # 16/04: A2 is paid too, but that snapshot comes after 13/04: as of 13/04 only 100 was
    # paid, so the promise is broken and its holds released.
    load(d("16/04/2026"), a1=None, a2=None)
    result = agreements_review(company=company, as_of=d("16/04/2026"))
    promise.refresh_from_db()
    assert result.promises_broken == [promise.pk]
    assert (promise.status, promise.closed_on, promise.is_broken) == (
        PromiseStatus.BROKEN,
        d("16/04/2026"),
        True,
    )
    # The holds had already expired on 14/04: they keep that end.
    assert set(Hold.objects.values_list("released_on", flat=True)) == {None}


def test_broken_promise_releases_holds_so_the_flow_resumes(company, alfa, load):
    strategy_install_standard(company=company)
    promise = promise_record(
        customer=alfa, items=items("A1"), amount=Decimal("100"), promised_on=START, today=START
    )
    # Deadline 01/04 + 3 = 04/04; a review on 03/04 sees nothing paid and waits; 05/04 breaks.
    assert agreements_review(company=company, as_of=d("03/04/2026")).promises_broken == []
    assert chased(company, d("03/04/2026")) == {"A2", "B1"}
    assert agreements_review(company=company, as_of=d("05/04/2026")).promises_broken == [promise.pk]
    assert "A1" in chased(company, d("05/04/2026"))


def test_promise_cancel_and_invalid_promises(company, alfa, load):
    promise = promise_record(
        customer=alfa, items=items("A1"), amount=Decimal("60"), promised_on=START, today=START
    )
    promise_cancel(promise=promise, today=d("02/04/2026"))
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.CANCELLED
    assert Hold.objects.get().released_on == d("02/04/2026")
    with pytest.raises(AgreementError, match="Only an open promise"):
        promise_cancel(promise=promise, today=d("02/04/2026"))
    # Cancelled promises are not reviewed.
    assert agreements_review(company=company, as_of=d("30/04/2026")).promises_broken == []

    with pytest.raises(AgreementError, match=r"more than the items' open amount 100\.00"):
        promise_record(
            customer=alfa,
            items=items("A1"),
            amount=Decimal("100.01"),
            promised_on=START,
            today=START,
        )
    with pytest.raises(AgreementError, match="past"):
        promise_record(
            customer=alfa,
            items=items("A1"),
            amount=Decimal("1"),
            promised_on=d("31/03/2026"),
            today=START,
        )
    with pytest.raises(AgreementError, match="must belong to customer"):
        promise_record(
            customer=alfa, items=items("B1"), amount=Decimal("1"), promised_on=START, today=START
        )
    with pytest.raises(AgreementError, match="at least one item"):
        promise_record(customer=alfa, items=[], amount=Decimal("1"), promised_on=START, today=START)
    load(d("02/04/2026"), a1=None)
    with pytest.raises(AgreementError, match="already closed: A1"):
        promise_record(
            customer=alfa,
            items=items("A1"),
            amount=Decimal("1"),
            promised_on=d("03/04/2026"),
            today=d("02/04/2026"),
        )


# --------------------------------------------------------------------------------------
# Disputes
# --------------------------------------------------------------------------------------


def test_dispute_holds_until_resolved(company, alfa, user_with_membership):
    strategy_install_standard(company=company)
    dispute = dispute_open(
        customer=alfa,
        items=items("A2"),
        reason=DisputeReason.QUALITY,
        description="Merce difettosa",
        owner=user_with_membership,
        deadline=d("30/04/2026"),
        today=START,
    )
    assert (dispute.status, dispute.owner, dispute.opened_on) == (
        DisputeStatus.OPEN,
        user_with_membership,
        START,
    )
    hold = Hold.objects.get()
    assert (hold.kind, hold.until, hold.receivable.document_number) == ("dispute", None, "A2")
    assert chased(company, d("05/04/2026")) == {"A1", "B1"}

    dispute = dispute_update(dispute=dispute, status=DisputeStatus.WAITING_INTERNAL, note="QA")
    assert dispute.status == DisputeStatus.WAITING_INTERNAL
    assert Hold.objects.get().released_on is None
    with pytest.raises(AgreementError, match="already"):
        dispute_update(dispute=dispute, status=DisputeStatus.WAITING_INTERNAL)

    dispute = dispute_update(
        dispute=dispute,
        status=DisputeStatus.RESOLVED_IN_OUR_FAVOUR,
        note="Merce conforme",
        today=d("10/04/2026"),
    )
    assert (dispute.resolved_on, dispute.resolution) == (d("10/04/2026"), "Merce conforme")
    assert Hold.objects.get().released_on == d("10/04/2026")
    assert "A2" in chased(company, d("10/04/2026"))
    with pytest.raises(AgreementError, match="already resolved"):
        dispute_update(dispute=dispute, status=DisputeStatus.OPEN)
    with pytest.raises(AgreementError, match="Unknown reason"):
        dispute_open(customer=alfa, items=items("A1"), reason="weather")


def test_dispute_change_owner_deadline_note_and_status(company, alfa, user_with_membership):
    dispute = dispute_open(
        customer=alfa, items=items("A2"), reason=DisputeReason.PRICE, today=START
    )
    dispute = dispute_change(
        dispute=dispute,
        status=DisputeStatus.OPEN,
        owner=user_with_membership,
        deadline=d("15/04/2026"),
        note="Chiesto listino",
        today=START,
    )
    assert (dispute.owner, dispute.deadline) == (user_with_membership, d("15/04/2026"))
    assert dispute.description.endswith("Chiesto listino")
    with pytest.raises(AgreementError, match="Nothing to change"):
        dispute_change(
            dispute=dispute,
            status=DisputeStatus.OPEN,
            owner=user_with_membership,
            deadline=d("15/04/2026"),
            today=START,
        )
    with pytest.raises(AgreementError, match="in the past"):
        dispute_change(
            dispute=dispute,
            status=DisputeStatus.OPEN,
            owner=None,
            deadline=START - dt.timedelta(days=1),
            today=START,
        )
    dispute = dispute_change(
        dispute=dispute,
        status=DisputeStatus.RESOLVED_CREDIT_NOTE,
        owner=user_with_membership,
        deadline=d("15/04/2026"),
        note="NC 12",
        today=START,
    )
    assert (dispute.status, dispute.resolution) == (DisputeStatus.RESOLVED_CREDIT_NOTE, "NC 12")


# --------------------------------------------------------------------------------------
# Repayment plans
# --------------------------------------------------------------------------------------


def test_plan_instalments_follow_the_snapshots_until_one_is_missed(company, alfa, load):
    strategy_install_standard(company=company)
    with pytest.raises(AgreementError, match=r"leave 50\.00 of the 200\.00 owed unpaid"):
        plan_create(
            customer=alfa,
            items=items("A1", "A2"),
            instalments=[(d("30/04/2026"), Decimal("100")), (d("31/05/2026"), Decimal("50"))],
            today=START,
        )
    # 200,00 owed in two instalments of 100,00 (30/04, 31/05), 10 days of grace.
    plan = plan_create(
        customer=alfa,
        items=items("A1", "A2"),
        instalments=[(d("31/05/2026"), Decimal("100")), (d("30/04/2026"), Decimal("100"))],
        today=START,
    )
    assert (plan.total, plan.principal, plan.status) == (
        Decimal("200.00"),
        Decimal("200.00"),
        PlanStatus.ACTIVE,
    )
    first, second = plan.instalments.order_by("number")
    assert (first.due_on, second.due_on) == (d("30/04/2026"), d("31/05/2026"))
    assert active_holds(d("20/05/2026")) == {("A1", "plan"), ("A2", "plan")}
    assert chased(company, d("05/04/2026")) == {"B1"}

    # 05/05: the first payment is late (30/04 passed, grace until 10/05).
    result = agreements_review(company=company, as_of=d("05/05/2026"))
    assert result.instalments_late == [first.pk]
    # 08/05: 70,00 of A1 paid: still late, 70,00 allocated to it.
    load(d("08/05/2026"), a1="30,00")
    agreements_review(company=company, as_of=d("08/05/2026"))
    first.refresh_from_db()
    assert (first.status, first.paid_amount) == (InstalmentStatus.LATE, Decimal("70.00"))
    # 09/05: A1 paid in full: 100 paid, covering the first instalment.
    load(d("09/05/2026"), a1=None)
    result = agreements_review(company=company, as_of=d("09/05/2026"))
    assert result.instalments_paid == [first.pk]
    # 11/06: nothing more; the second (31/05) is unpaid 11 days after its date: missed, and
    # the plan is broken: A2 is chased again.
    result = agreements_review(company=company, as_of=d("10/06/2026"))
    assert (result.instalments_late, result.plans_broken) == ([second.pk], [])
    result = agreements_review(company=company, as_of=d("11/06/2026"))
    plan.refresh_from_db()
    assert (result.instalments_missed, result.plans_broken) == ([second.pk], [plan.pk])
    assert (plan.status, plan.broken_on) == (PlanStatus.BROKEN, d("11/06/2026"))
    assert active_holds(d("11/06/2026")) == set()
    assert "A2" in chased(company, d("11/06/2026"))
    with pytest.raises(AgreementError, match="Only an active plan"):
        plan_cancel(plan=plan)


def test_plan_with_interest_is_completed_when_its_items_are_closed(company, alfa, load):
    # 200,00 at 12% a year from 01/04: instalments on 01/05 (30 days) and 31/05 (30 days).
    # 1st: interest 200 x 12% x 30/365 = 1.9726 -> 1,97; 101,97 repays 100,00 of principal.
    # 2nd: interest 100 x 12% x 30/365 = 0.9863 -> 0,99; 100,99 repays the last 100,00.
    plan = plan_create(
        customer=alfa,
        items=items("A1", "A2"),
        instalments=[(d("01/05/2026"), Decimal("101.97")), (d("31/05/2026"), Decimal("100.99"))],
        annual_interest_rate=Decimal("12"),
        today=START,
    )
    first, second = plan.instalments.order_by("number")
    assert plan.total == Decimal("202.96")
    assert (first.principal, second.principal) == (Decimal("100.00"), Decimal("100.00"))
    # Without interest the same instalments overpay by 2,96.
    with pytest.raises(AgreementError, match=r"pay 2\.96 more than the 200\.00 owed"):
        plan_create(
            customer=alfa,
            items=items("A1", "A2"),
            instalments=[
                (d("01/05/2026"), Decimal("101.97")),
                (d("31/05/2026"), Decimal("100.99")),
            ],
            today=START,
        )
    # 30/04: A1 paid (100,00 of principal): the first instalment is paid.
    load(d("30/04/2026"), a1=None)
    assert agreements_review(company=company, as_of=d("30/04/2026")).instalments_paid == [first.pk]
    # 29/05: A2 paid too: every item closed, the plan is completed.
    load(d("29/05/2026"), a1=None, a2=None)
    result = agreements_review(company=company, as_of=d("29/05/2026"))
    plan.refresh_from_db()
    second.refresh_from_db()
    assert result.plans_completed == [plan.pk]
    assert (plan.status, plan.closed_on) == (PlanStatus.COMPLETED, d("29/05/2026"))
    assert (second.status, second.paid_amount) == (InstalmentStatus.PAID, Decimal("100.99"))
    assert set(Hold.objects.values_list("released_on", flat=True)) == {d("29/05/2026")}


# --------------------------------------------------------------------------------------
# Settlements
# --------------------------------------------------------------------------------------


def test_settlement_paid_writes_the_rest_off_and_keeps_it_held(company, alfa, load):
    strategy_install_standard(company=company)
    with pytest.raises(AgreementError, match=r"less than the open 200\.00"):
        settlement_agree(
            customer=alfa,
            items=items("A1", "A2"),
            agreed_amount=Decimal("200"),
            due_on=d("30/04/2026"),
            write_off_reason="accordo",
            today=START,
        )
    settlement = settlement_agree(
        customer=alfa,
        items=items("A1", "A2"),
        agreed_amount=Decimal("150"),
        due_on=d("30/04/2026"),
        write_off_reason="Saldo e stralcio concordato",
        today=START,
    )
    assert active_holds(START) == {("A1", "manual"), ("A2", "manual")}
    # 20/04: A1 paid, A2 down to 50,00: 100 + 50 = 150 paid: the settlement is paid, and
    # 200 - 150 = 50,00 is written off. A2's 50,00 stays held as written off.
    load(d("20/04/2026"), a1=None, a2="50,00")
    result = agreements_review(company=company, as_of=d("20/04/2026"))
    settlement.refresh_from_db()
    assert result.settlements_paid == [settlement.pk]
    assert (settlement.status, settlement.written_off_amount) == (
        SettlementStatus.PAID,
        Decimal("50.00"),
    )
    written_off = Hold.objects.get(reason=WRITTEN_OFF)
    assert (written_off.kind, written_off.receivable.document_number, written_off.until) == (
        HoldKind.MANUAL,
        "A2",
        None,
    )
    assert active_holds(d("21/04/2026")) == {("A2", "manual")}
    assert chased(company, d("21/04/2026")) == {"B1"}


def test_settlement_unpaid_by_its_date_fails(company, alfa, load):
    settlement = settlement_agree(
        customer=alfa,
        items=items("A1", "A2"),
        agreed_amount=Decimal("150"),
        due_on=d("30/04/2026"),
        write_off_reason="Saldo e stralcio",
        today=START,
    )
    # 25/04: 100 paid of 150: not yet. 01/05: past 30/04 with 100 < 150: failed.
    load(d("25/04/2026"), a1=None)
    assert agreements_review(company=company, as_of=d("25/04/2026")).settlements_paid == []
    result = agreements_review(company=company, as_of=d("01/05/2026"))
    settlement.refresh_from_db()
    assert result.settlements_failed == [settlement.pk]
    assert (settlement.status, settlement.written_off_amount) == (SettlementStatus.FAILED, None)
    assert active_holds(d("01/05/2026")) == set()


# --------------------------------------------------------------------------------------
# Hand-over cases
# --------------------------------------------------------------------------------------


def test_case_takes_items_out_of_the_flow(company, alfa):
    strategy_install_standard(company=company)
    case = case_open(
        customer=alfa, items=items("A1"), agency="Recupero Crediti S.r.l.", today=START
    )
    assert (case.status, case.handed_over_amount) == (CaseStatus.OPEN, Decimal("100.00"))
    hold = Hold.objects.get()
    assert (hold.kind, hold.reason, hold.until) == (HoldKind.MANUAL, HANDED_OVER, None)
    assert chased(company, d("05/04/2026")) == {"A2", "B1"}
    with pytest.raises(AgreementError, match="already handed over to Recupero Crediti"):
        case_open(customer=alfa, items=items("A1", "A2"), agency="Avv. Rossi", today=START)

    case = case_close(
        case=case,
        outcome=CaseOutcome.PARTLY_RECOVERED,
        recovered_amount=Decimal("40"),
        today=d("30/06/2026"),
    )
    assert (case.status, case.recovered_amount, case.closed_on) == (
        CaseStatus.CLOSED,
        Decimal("40.00"),
        d("30/06/2026"),
    )
    # Not withdrawn: the item stays out of the flow.
    assert Hold.objects.get().released_on is None
    with pytest.raises(AgreementError, match="already closed"):
        case_close(case=case, outcome=CaseOutcome.WITHDRAWN)

    withdrawn = case_open(customer=alfa, items=items("A2"), agency="Avv. Rossi", kind="lawyer")
    case_close(case=withdrawn, outcome=CaseOutcome.WITHDRAWN, today=d("30/06/2026"))
    assert Hold.objects.get(receivable__document_number="A2").released_on == d("30/06/2026")


# --------------------------------------------------------------------------------------
# The review runs by itself once an import commits
# --------------------------------------------------------------------------------------


def test_import_reviews_agreements_after_commit(
    company, alfa, load, django_capture_on_commit_callbacks
):
    promise = promise_record(
        customer=alfa, items=items("A1"), amount=Decimal("100"), promised_on=START, today=START
    )
    with django_capture_on_commit_callbacks(execute=True):
        load(d("02/04/2026"), a1=None)
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.KEPT
