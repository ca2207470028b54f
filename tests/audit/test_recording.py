"""The generic recorder and the summaries of bulk work."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from incassa.audit.context import audit_context
from incassa.audit.models import AuditAction, AuditEntry, Source
from incassa.audit.recording import EXCLUDED_MODELS, plain, record, recorded_models
from incassa.comms import services as comms
from incassa.comms.models import Message
from incassa.credit.models import ItemCriticality, ScoreHistory
from incassa.dunning import services as dunning
from incassa.dunning.models import Action, ActionStatus, Hold, HoldKind, Step, Suspension
from incassa.ledger.models import Customer, ReceivableEvent
from incassa.ledger.services import receivables_import
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ReceivableEventFactory,
    ReceivableFactory,
    UserFactory,
    action_with_items,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 26)
NOW = timezone.make_aware(dt.datetime(2026, 3, 26, 9, 0))


def entries(**filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_create_update_delete_through_a_service_with_user_and_values(company):
    customer = CustomerFactory(company=company, code="001", name="Rossi S.r.l.")
    manager = UserFactory(username="manager")
    with audit_context(user=manager, source=Source.WEB):
        suspension = dunning.customer_suspend(
            customer=customer,
            starts_on=dt.date(2026, 4, 1),
            until=dt.date(2026, 4, 30),
            reason="Ferie",
            user=manager,
        )
        suspension_id = suspension.pk
        # Ended on 15/04: it had started (01/04), so only its end date moves.
        dunning.suspension_end(suspension=suspension, on=dt.date(2026, 4, 15))
        # Ended on 01/04, the day it starts: it is removed.
        dunning.suspension_end(suspension=suspension, on=dt.date(2026, 4, 1))

    created, updated, deleted = entries(object_type="dunning.suspension")
    assert [e.action for e in (created, updated, deleted)] == ["create", "update", "delete"]
    for entry in (created, updated, deleted):
        assert (entry.user_id, entry.username, entry.source) == (manager.pk, "manager", "web")
        # A suspension has no company of its own: its customer's is found.
        assert entry.company_id == company.pk
        assert entry.object_id == str(suspension_id)
    assert created.before is None
    assert created.after == {
        "customer": customer.pk,
        "starts_on": "2026-04-01",
        "until": "2026-04-30",
        "reason": "Ferie",
        "created_by": manager.pk,
        "created_at": created.after["created_at"],
    }
    # Only the field that changed.
    assert (updated.before, updated.after) == ({"until": "2026-04-30"}, {"until": "2026-04-15"})
    assert deleted.after is None
    assert deleted.before["until"] == "2026-04-15"
    assert deleted.before["reason"] == "Ferie"


def test_without_a_context_a_change_is_a_commands_with_no_user(company):
    item = ReceivableFactory(company=company, open_amount=Decimal("1234.50"))
    (entry,) = entries(object_type="ledger.receivable")
    assert (entry.action, entry.user_id, entry.username, entry.source) == (
        "create",
        None,
        "",
        "command",
    )
    # Amounts and dates as strings.
    assert entry.after["open_amount"] == "1234.50"
    assert entry.after["due_date"] == "2026-03-31"
    assert entry.object_repr == str(item)


def test_a_save_that_changes_nothing_records_nothing(company):
    customer = CustomerFactory(company=company)
    before = AuditEntry.objects.count()
    customer.save()
    assert AuditEntry.objects.count() == before


def test_a_hold_finds_its_company_through_its_item(company):
    item = ReceivableFactory(company=company)
    hold = dunning.hold_place(receivable=item, kind=HoldKind.MANUAL, starts_on=DAY)
    dunning.hold_release(hold=hold, on=DAY)
    created, released = entries(object_type="dunning.hold")
    assert created.company_id == released.company_id == company.pk
    assert (released.before, released.after) == (
        {"released_on": None},
        {"released_on": "2026-03-26"},
    )


def test_a_rolled_back_change_leaves_no_entry(company):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        CustomerFactory(company=company, code="X1")
        assert AuditEntry.objects.count() == before + 1  # written in the same transaction
        raise RuntimeError("undo")
    assert AuditEntry.objects.count() == before
    assert not Customer.objects.filter(code="X1").exists()


def test_excluded_tables_record_nothing(company):
    item = ReceivableFactory(company=company)
    before = AuditEntry.objects.count()
    ReceivableEventFactory(receivable=item)
    ItemCriticality.objects.create(
        receivable=item, company=company, score=Decimal("50"), computed_on=DAY
    )
    ScoreHistory.objects.create(customer=item.customer, on_date=DAY, score=50, credit_class="C")
    ReceivableEvent.objects.all().delete()
    assert AuditEntry.objects.count() == before
    labels = {m._meta.label_lower for m in recorded_models()}
    assert not labels & set(EXCLUDED_MODELS)
    assert {"ledger.customer", "dunning.hold", "workspace.promise", "auth.user"} <= labels


def test_an_actions_automatic_changes_are_not_recorded_but_a_persons_are(company):
    customer = CustomerFactory(company=company)
    item = ReceivableFactory(company=company, customer=customer)
    Step.objects.filter(strategy__company=company, code="courtesy-call").update(needs_approval=True)
    action = action_with_items(company, customer, "courtesy-call", [item], day=DAY)
    assert not entries(object_type="dunning.action")  # written by the "engine"
    manager = UserFactory(username="approver")
    with audit_context(user=manager, source=Source.WEB):
        dunning.action_approve(action=action, user=manager)
    (approved,) = entries(object_type="dunning.action")
    assert approved.action == "update"
    assert approved.before["status"] == ActionStatus.CREATED
    assert approved.after["status"] == ActionStatus.APPROVED
    assert approved.username == "approver"


def test_user_passwords_are_never_copied(db):
    user = UserFactory(username="anna")
    user.set_password("a-brand-new-long-password")
    user.save()
    created, changed = entries(object_type="auth.user")
    assert created.after["password"] == "***"
    assert (changed.before, changed.after) == ({"password": "***"}, {"password": "***"})
    # Signing in only moves last_login: nothing recorded.
    user.last_login = NOW
    user.save(update_fields=["last_login"])
    assert len(entries(object_type="auth.user")) == 2


def test_one_summary_entry_for_an_import(tmp_path: Path, company):
    path = tmp_path / "scadenziario.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo\n"
        "001;Rossi S.r.l.;F1;01/03/2026;1.000,00\n"
        "001;Rossi S.r.l.;F2;30/04/2026;500,00\n"
        "002;Bianchi S.p.A.;F3;15/02/2026;2.000,00\n",
        encoding="utf-8",
    )
    before = last_id()
    receivables_import(company=company, path=path, as_of=DAY, source="tests")
    # Three items and two customers written in bulk: no entry each, one for the import.
    (entry,) = entries(id__gt=before)
    assert entry.action == AuditAction.IMPORT
    assert entry.company_id == company.pk
    assert entry.object_type == "ledger.importrun"
    assert entry.after["status"] == "applied"
    assert (entry.after["created"], entry.after["customers_created"]) == (3, 2)
    assert entry.after["as_of"] == "2026-03-26"
    assert entry.source == "command"


def test_a_rejected_import_is_recorded_too(tmp_path: Path, company):
    path = tmp_path / "vuoto.csv"
    path.write_text("nothing useful\n", encoding="utf-8")
    with pytest.raises(Exception):  # noqa: B017 - whichever rejection the parser raises
        receivables_import(company=company, path=path, as_of=DAY)
    (entry,) = entries(action=AuditAction.IMPORT)
    assert entry.after["status"] == "rejected"


def test_an_engine_run_is_one_entry(company):
    ReceivableFactory(company=company, due_date=dt.date(2026, 3, 1))
    before = last_id()
    dunning.dunning_run(company=company, as_of=DAY)
    new = entries(id__gt=before)
    assert [e.action for e in new] == [AuditAction.ENGINE_RUN]
    assert new[0].source == Source.ENGINE
    assert new[0].after["as_of"] == "2026-03-26"
    assert new[0].after["items_considered"] == 1


def test_one_entry_per_message_sent(company):
    customers = [
        CustomerFactory(company=company, code=f"00{n}", emails=f"amm{n}@example.it") for n in (1, 2)
    ]
    for customer in customers:
        item = ReceivableFactory(company=company, customer=customer, due_date=dt.date(2026, 3, 31))
        action_with_items(company, customer, "pre-due", [item], day=DAY)
    result = comms.outbox_deliver(company=company, today=DAY, now=NOW)
    assert result.sent == 2
    sent = entries(action=AuditAction.MESSAGE_SENT)
    assert len(sent) == 2
    messages = {str(m.pk): m for m in Message.objects.all()}
    assert {e.object_id for e in sent} == set(messages)
    for entry in sent:
        message = messages[entry.object_id]
        assert entry.company_id == company.pk
        assert entry.source == Source.ENGINE
        assert entry.after["status"] == "sent"
        assert entry.after["recipients"] == message.recipients
        assert entry.after["subject"] == message.subject
    # Neither the messages' nor the actions' automatic status changes are recorded.
    assert not entries(object_type="comms.message", action__in=["create", "update"])
    assert not entries(object_type="dunning.action")
    assert Action.objects.filter(status=ActionStatus.SENT).count() == 2


def test_record_by_hand_and_plain_values(company):
    entry = record(action=AuditAction.ENGINE_RUN, company=company, after={"n": 1})
    assert (entry.company_id, entry.source, entry.user_id) == (company.pk, "command", None)
    assert plain(Decimal("1.50")) == "1.50"
    assert plain(dt.date(2026, 3, 31)) == "2026-03-31"
    assert plain({"a": [Decimal("2"), None]}) == {"a": ["2", None]}
    assert plain("x" * 10_001).endswith("…")


def test_another_companys_changes_carry_their_company(company):
    other = CompanyFactory(code="other")
    CustomerFactory(company=other, code="Z")
    (entry,) = entries(object_type="ledger.customer")
    assert entry.company_id == other.pk
    assert not Hold.objects.exists()
    assert not Suspension.objects.exists()
