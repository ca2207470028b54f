"""factory_boy factories for every ledger model.

Dates and amounts are fixed (never the clock) so tests that build on them can work out
every expected figure by hand. Related objects belong to the same company: a receivable's
customer is created in the receivable's company unless one is given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from incassa.ledger import models
from incassa.ledger.demo import vat_number

FIXED_DAY = dt.date(2026, 3, 31)
FIXED_MOMENT = dt.datetime(2026, 3, 31, 8, 0, tzinfo=dt.UTC)
PASSWORD = "correct-horse-battery-staple"


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = models.Company
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"company-{n}")
    name = factory.Sequence(lambda n: f"Azienda {n} S.r.l.")
    vat_number = factory.Sequence(lambda n: vat_number(1_000_000 + n, office=1))
    iban = "IT60X0542811101000000123456"
    address = "Via Roma 1"
    postal_code = "20121"
    city = "Milano"
    province = "MI"
    email = factory.LazyAttribute(lambda o: f"amministrazione@{o.code}.example.it")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.it")
    first_name = "Maria"
    last_name = "Bianchi"
    password = factory.django.Password(PASSWORD)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = models.Membership

    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)
    role = models.Role.CREDIT_MANAGER


class SalesAgentFactory(DjangoModelFactory):
    class Meta:
        model = models.SalesAgent

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Agente {n}")
    email = factory.Sequence(lambda n: f"agente{n}@example.it")


class CustomerCategoryFactory(DjangoModelFactory):
    class Meta:
        model = models.CustomerCategory

    company = factory.SubFactory(CompanyFactory)
    code = factory.Sequence(lambda n: f"CAT{n:02d}")
    name = factory.Sequence(lambda n: f"Categoria {n}")


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = models.Customer

    company = factory.SubFactory(CompanyFactory)
    code = factory.Sequence(lambda n: f"C{n:05d}")
    name = factory.Sequence(lambda n: f"Cliente {n} S.r.l.")
    vat_number = factory.Sequence(lambda n: vat_number(2_000_000 + n, office=15))
    emails = factory.LazyAttribute(lambda o: f"amministrazione@{o.code.lower()}.example.it")
    city = "Bologna"
    province = "BO"


class ReceivableFactory(DjangoModelFactory):
    """An open invoice installment of 100,00 due on 31/03/2026 unless told otherwise."""

    class Meta:
        model = models.Receivable

    company = factory.SubFactory(CompanyFactory)
    customer = factory.SubFactory(CustomerFactory, company=factory.SelfAttribute("..company"))
    document_number = factory.Sequence(lambda n: f"FT{n:06d}")
    due_date = FIXED_DAY
    document_date = factory.LazyAttribute(lambda o: o.due_date - dt.timedelta(days=30))
    document_type = models.DocumentType.INVOICE
    open_amount = Decimal("100.00")
    amount = factory.LazyAttribute(lambda o: o.open_amount)
    status = models.ReceivableStatus.OPEN
    first_seen_on = factory.LazyAttribute(lambda o: o.document_date or o.due_date)
    last_changed_on = factory.LazyAttribute(lambda o: o.first_seen_on)
    closed_on = None


class ImportRunFactory(DjangoModelFactory):
    class Meta:
        model = models.ImportRun

    company = factory.SubFactory(CompanyFactory)
    kind = models.ImportKind.RECEIVABLES
    file_name = factory.Sequence(lambda n: f"scadenziario-{n}.csv")
    checksum = factory.Sequence(lambda n: hashlib.sha256(str(n).encode()).hexdigest())
    as_of = FIXED_DAY
    status = models.ImportStatus.APPLIED
    rows_read = 0
    started_at = FIXED_MOMENT
    finished_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(seconds=2))
    source = "tests"


class ReceivableEventFactory(DjangoModelFactory):
    class Meta:
        model = models.ReceivableEvent

    receivable = factory.SubFactory(ReceivableFactory)
    kind = models.EventKind.CREATED
    on_date = factory.LazyAttribute(lambda o: o.receivable.first_seen_on)
    amount_before = None
    amount_after = factory.LazyAttribute(lambda o: o.receivable.open_amount)
    import_run = None


class IssuedInvoiceFactory(DjangoModelFactory):
    class Meta:
        model = models.IssuedInvoice

    company = factory.SubFactory(CompanyFactory)
    customer = factory.SubFactory(CustomerFactory, company=factory.SelfAttribute("..company"))
    document_number = factory.Sequence(lambda n: f"FT{n:06d}")
    due_date = FIXED_DAY
    document_date = factory.LazyAttribute(lambda o: o.due_date - dt.timedelta(days=30))
    document_type = models.DocumentType.INVOICE
    amount = Decimal("100.00")
    import_run = None


class ColumnMappingFactory(DjangoModelFactory):
    class Meta:
        model = models.ColumnMapping

    company = factory.SubFactory(CompanyFactory)
    column = factory.Sequence(lambda n: f"Colonna {n}")
    field = "customer_code"


def action_with_items(company, customer, step_code: str, receivables, *, day, approved=False):
    """An action of the company's ``standard`` step listing ``receivables``, as the engine
    writes it (the outbox row and one item step per item)."""
    from incassa.dunning.models import Action, ActionStatus, ItemStep, ItemStepStatus, Step

    step = Step.objects.get(strategy__company=company, strategy__code="standard", code=step_code)
    action = Action.objects.create(
        company=company,
        customer=customer,
        step=step,
        channel=step.channel,
        scheduled_on=day,
        needs_approval=step.needs_approval,
        status=ActionStatus.APPROVED if approved else ActionStatus.CREATED,
        item_count=len(receivables),
        total_amount=sum((r.open_amount for r in receivables), Decimal(0)),
    )
    ItemStep.objects.bulk_create(
        ItemStep(
            receivable=r,
            step=step,
            action=action,
            reached_on=day,
            days_overdue=(day - r.due_date).days,
            open_amount=r.open_amount,
            status=ItemStepStatus.CREATED,
        )
        for r in receivables
    )
    return action
