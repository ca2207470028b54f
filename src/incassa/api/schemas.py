"""The API's request and response schemas.

Money is a string with two decimals (``"1234.50"``), read and written as ``Decimal``: never
a JSON number, which a client would parse as a float. Scores are strings with one decimal.
Dates are ISO (``2026-04-01``), moments ISO with their offset.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db import models
from ninja import Field, Schema
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from incassa.dunning.models import ActionStatus, Channel
from incassa.ledger.models import ReceivableStatus
from incassa.workspace.models import (
    ActivityKind,
    Direction,
    DisputeReason,
    DisputeStatus,
    PromiseStatus,
    Reaction,
)

# The largest id a database row can have (a signed 64-bit integer): a larger one is not an
# unknown object but a malformed request.
MAX_ID = 2**63 - 1
# The largest amount accepted in a request: 13 digits of euros.
MAX_AMOUNT = Decimal("9999999999999.99")
MAX_OFFSET = 1_000_000_000


def choices(options: type[models.TextChoices]) -> Any:
    """A ``Literal`` of a model's choices, so that the schema lists the accepted values."""
    return Literal[tuple(options.values)]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _score(value: Decimal) -> str:
    return f"{value:.1f}"


Money = Annotated[
    Decimal,
    PlainSerializer(_money, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+\.[0-9]{2}$",
            "description": "An amount in euros: a string with two decimals, never a number.",
            "examples": ["1234.50"],
        }
    ),
]
Score = Annotated[
    Decimal,
    PlainSerializer(_score, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?[0-9]+\.[0-9]$",
            "description": "A score or percentage with one decimal, as a string.",
            "examples": ["72.5"],
        }
    ),
]

_AMOUNT_TEXT = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")


def _amount_in(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        text = f"{value}"
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError("an amount is a string such as '1234.50', not a number")
    if not _AMOUNT_TEXT.fullmatch(text):
        raise ValueError("an amount is written like '1234.50': digits, a dot, two decimals")
    amount = Decimal(text)
    if amount <= 0:
        raise ValueError("the amount must be more than zero")
    return amount


MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_amount_in),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]{1,13}(\.[0-9]{1,2})?$",
            "description": "An amount in euros more than zero, as a string: '1234.50'.",
            "examples": ["800.00"],
        }
    ),
]
ItemId = Annotated[int, Field(ge=1, le=MAX_ID)]
CustomerCode = Annotated[str, Field(min_length=1, max_length=60)]


# --------------------------------------------------------------------------------------
# Errors and pages
# --------------------------------------------------------------------------------------


class ErrorDetail(Schema):
    """One problem: with the request field it is about, or the file row, column and value."""

    reason: str
    field: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None


class ErrorInfo(Schema):
    code: str = Field(
        description="Stable, for programs: unauthenticated, forbidden, not_found, invalid, "
        "conflict, import_rejected, import_refused...",
    )
    message: str = Field(description="For people, in the request's language.")
    details: list[ErrorDetail]


class ErrorOut(Schema):
    error: ErrorInfo


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=200, description="How many results (1-200).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many results to skip.")


class PageMeta(Schema):
    count: int = Field(description="How many results match, on every page.")
    limit: int
    offset: int


# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------


class CategoryRef(Schema):
    code: str
    name: str


class AgentRef(Schema):
    id: int
    name: str


class CustomerRef(Schema):
    code: str
    name: str


class CustomerFilters(PageParams):
    q: str | None = Field(None, max_length=100, description="Part of the code, name or VAT.")
    category: str | None = Field(None, max_length=60, description="A category's code.")
    agent: int | None = Field(None, ge=1, le=MAX_ID, description="A sales agent's id.")
    credit_class: Literal["A", "B", "C", "D", "E"] | None = Field(
        None, alias="class", description="The credit class."
    )
    overdue: bool | None = Field(None, description="true: only customers owing overdue items.")
    blocked: bool | None = Field(None, description="true: only customers blocked for credit.")
    order: Literal["code", "name", "-overdue", "-open"] = Field(
        "code", description="By code or name, or the largest overdue or open amount first."
    )


class CustomerOut(Schema):
    code: str
    name: str
    vat_number: str
    fiscal_code: str
    city: str
    province: str
    country: str
    category: CategoryRef | None
    sales_agent: AgentRef | None
    credit_limit: Money | None
    open_amount: Money
    overdue_amount: Money
    credit_class: str | None
    blocked: bool


class CustomerPage(PageMeta):
    items: list[CustomerOut]


class TotalsOut(Schema):
    open_amount: Money
    open_items: int
    overdue_amount: Money
    overdue_items: int
    oldest_due_date: dt.date | None


class CreditOut(Schema):
    computed_on: dt.date
    score: Score = Field(description="Reliability, 0-100.")
    credit_class: str
    exposure: Money
    utilisation: Score | None = Field(description="Exposure as a percentage of the limit.")
    blocked: bool
    blocked_reason: str


class DunningOut(Schema):
    strategy: str | None = Field(description="The code of the strategy the customer follows.")
    excluded: bool
    suspended_until: dt.date | None


class CustomerDetail(CustomerOut):
    emails: list[str]
    pec: str
    phone: str
    address: str
    postal_code: str
    language: str
    payment_terms: str
    customer_since: dt.date | None
    totals: TotalsOut
    credit: CreditOut | None
    dunning: DunningOut


# --------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------


class ItemFilters(PageParams):
    status: choices(ReceivableStatus) | None = None
    overdue: bool | None = Field(None, description="true: open items past their due date.")
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    min_amount: MoneyIn | None = Field(None, description="Open amount at least this.")
    order: Literal["due_date", "-due_date", "-amount", "amount", "-criticality"] = Field(
        "due_date", description="-criticality: the most critical first."
    )


class AllItemFilters(ItemFilters):
    customer: CustomerCode | None = Field(None, description="A customer's code.")


class ItemOut(Schema):
    id: int
    customer: CustomerRef
    document_number: str
    document_type: str
    document_date: dt.date | None
    due_date: dt.date
    amount: Money
    open_amount: Money
    currency: str
    status: str
    closed_on: dt.date | None
    days_overdue: int = Field(description="Days past the due date today; <= 0: not yet due.")
    criticality: Score | None


class ItemPage(PageMeta):
    items: list[ItemOut]


class StepOut(Schema):
    code: str
    name: str
    channel: str


class HoldOut(Schema):
    id: int
    kind: str
    starts_on: dt.date
    until: dt.date | None
    reason: str


class ItemDetail(ItemOut):
    step: StepOut | None = Field(description="The last dunning step the item reached.")
    step_reached_on: dt.date | None
    step_status: str | None
    holds: list[HoldOut] = Field(description="The holds in force today.")


# --------------------------------------------------------------------------------------
# Imports
# --------------------------------------------------------------------------------------


class ImportFilters(PageParams):
    status: Literal["applied", "rejected", "refused", "failed"] | None = None


class ImportOut(Schema):
    id: int
    kind: str
    file_name: str
    as_of: dt.date
    partial: bool
    forced: bool
    status: str
    rows_read: int
    rows_rejected: int
    created: int
    updated: int
    closed: int
    reopened: int
    unchanged: int
    customers_created: int
    message: str
    source: str
    imported_by: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


class ImportPage(PageMeta):
    items: list[ImportOut]


class ImportDetail(ImportOut):
    errors_total: int
    errors: list[ErrorDetail] = Field(description="The rejected rows (the first 1,000).")


class LedgerOut(Schema):
    open_items: int
    open_amount: Money
    customers: int


class ImportApplied(Schema):
    import_run: ImportDetail
    ledger: LedgerOut = Field(description="What is open after the import.")


# --------------------------------------------------------------------------------------
# Dunning
# --------------------------------------------------------------------------------------


class PreviewDayOut(Schema):
    day: dt.date
    item_steps: int = Field(description="Items reaching a step that day.")
    by_step: dict[str, int] = Field(description="Actions per step code.")
    by_channel: dict[str, int] = Field(description="Actions per channel.")


class PreviewOut(Schema):
    start: dt.date
    days: list[PreviewDayOut]


class ActionFilters(PageParams):
    status: choices(ActionStatus) | None = None
    channel: choices(Channel) | None = None
    date: dt.date | None = Field(None, description="Scheduled on this day.")
    customer: CustomerCode | None = None
    waiting: bool | None = Field(None, description="true: only those waiting for approval.")


class ActionOut(Schema):
    id: int
    customer: CustomerRef
    step: StepOut
    channel: str
    scheduled_on: dt.date
    status: str
    needs_approval: bool
    waiting_for_approval: bool
    item_count: int
    total_amount: Money
    note: str
    decided_by: str | None
    decided_at: dt.datetime | None
    sent_at: dt.datetime | None
    done_at: dt.datetime | None


class ActionPage(PageMeta):
    items: list[ActionOut]


class RejectIn(Schema):
    reason: str = Field(min_length=1, max_length=300)


# --------------------------------------------------------------------------------------
# Activities and agreements
# --------------------------------------------------------------------------------------


class ActivityFilters(PageParams):
    customer: CustomerCode | None = None
    kind: choices(ActivityKind) | None = None
    date_from: dt.date | None = Field(None, description="Happened on this day or later.")
    date_to: dt.date | None = Field(None, description="Happened on this day or earlier.")


class ActivityOut(Schema):
    id: int
    customer: CustomerRef
    kind: str
    happened_at: dt.datetime
    operator: str | None
    contact_person: str
    direction: str
    reaction: str
    outcome: str
    notes: str
    next_action: str
    next_action_on: dt.date | None
    items: list[int]


class ActivityPage(PageMeta):
    items: list[ActivityOut]


class ActivityIn(Schema):
    customer: CustomerCode
    kind: choices(ActivityKind)
    items: list[ItemId] = Field(
        default_factory=list, max_length=500, description="The items the answer is about."
    )
    contact_person: str = Field("", max_length=200)
    direction: choices(Direction) = "outbound"
    reaction: choices(Reaction) = "none"
    outcome: str = Field("", max_length=300)
    notes: str = Field("", max_length=10_000)
    next_action: str = Field("", max_length=200)
    next_action_on: dt.date | None = None
    promise_amount: MoneyIn | None = None
    promise_on: dt.date | None = None
    dispute_reason: choices(DisputeReason) | None = None


class AgreementFilters(PageParams):
    customer: CustomerCode | None = None


class PromiseFilters(AgreementFilters):
    status: choices(PromiseStatus) | None = None


class PromiseOut(Schema):
    id: int
    customer: CustomerRef
    items: list[int]
    amount: Money
    promised_on: dt.date
    status: str
    recorded_on: dt.date
    recorded_by: str | None
    closed_on: dt.date | None
    note: str


class PromisePage(PageMeta):
    items: list[PromiseOut]


class PromiseIn(Schema):
    customer: CustomerCode
    items: list[ItemId] = Field(min_length=1, max_length=500)
    amount: MoneyIn | None = Field(None, description="Empty: the items' whole open amount.")
    promised_on: dt.date
    note: str = Field("", max_length=10_000)


class DisputeFilters(AgreementFilters):
    status: choices(DisputeStatus) | None = None
    open: bool | None = Field(None, description="true: only disputes not yet resolved.")


class DisputeOut(Schema):
    id: int
    customer: CustomerRef
    items: list[int]
    reason: str
    description: str
    owner: str | None
    status: str
    deadline: dt.date | None
    opened_on: dt.date
    opened_by: str | None
    resolved_on: dt.date | None
    resolution: str


class DisputePage(PageMeta):
    items: list[DisputeOut]


class DisputeIn(Schema):
    customer: CustomerCode
    items: list[ItemId] = Field(min_length=1, max_length=500)
    reason: choices(DisputeReason)
    owner: str | None = Field(
        None, max_length=150, description="Username of who follows it; empty: you."
    )
    deadline: dt.date | None = None
    note: str = Field("", max_length=10_000)


class DisputePatch(Schema):
    status: choices(DisputeStatus) | None = Field(
        None, description="A resolved status records the note as the resolution."
    )
    owner: str | None = Field(None, max_length=150, description="Username; null: nobody.")
    deadline: dt.date | None = None
    note: str | None = Field(None, max_length=10_000)
