"""Dunning data: strategies and their steps, what holds an item or a customer back, and the
actions (the outbox) that the daily run creates.

The engine is a function of (ledger, history, holds, strategy, date). Its history is kept in
two tables: ``ItemStep`` records every step each item reached (append-only), and
``ItemProgress`` keeps each item's current position so that a run reads one row per item
instead of scanning the whole history.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from incassa.core.fields import MoneyField
from incassa.ledger.models import Company, Customer, CustomerCategory, Receivable


class Channel(models.TextChoices):
    EMAIL = "email", _("Email to the customer")
    AGENT_EMAIL = "agent_email", _("Email to the sales agent")
    CALL = "call", _("Phone call")
    LETTER = "letter", _("Letter")
    REGISTERED_LETTER = "registered_letter", _("Registered letter or PEC")
    ESCALATION = "escalation", _("Hand-over to an agency or lawyer")
    TASK = "task", _("Other task")


# Channels whose action is a message that must go out before the item may move on; calls
# and tasks are operator work that does not hold the flow (DESIGN.md, engine rules).
MESSAGE_CHANNELS = frozenset(
    {Channel.EMAIL, Channel.AGENT_EMAIL, Channel.LETTER, Channel.REGISTERED_LETTER}
)
OPERATOR_CHANNELS = frozenset({Channel.CALL, Channel.TASK, Channel.ESCALATION})


class Strategy(models.Model):
    """An ordered sequence of steps that a company follows to chase late payers."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="strategies")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(
        _("default"),
        default=False,
        help_text=_("Used for customers whose category has no strategy of its own."),
    )

    class Meta:
        verbose_name = _("strategy")
        verbose_name_plural = _("strategies")
        ordering = ["company", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="strategy_unique_code"),
            models.UniqueConstraint(
                fields=["company"], condition=Q(is_default=True), name="strategy_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One step of a strategy: what is done, through which channel, and when."""

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    days_overdue = models.SmallIntegerField(
        _("days overdue"),
        help_text=_("Minimum days past the due date; negative: days before the due date."),
    )
    min_days_since_previous = models.PositiveSmallIntegerField(
        _("minimum days since the previous step"),
        null=True,
        blank=True,
        help_text=_("Empty: the difference between the two steps' days overdue."),
    )
    min_customer_overdue = MoneyField(
        _("minimum overdue amount of the customer"), null=True, blank=True
    )
    categories = models.ManyToManyField(
        CustomerCategory,
        blank=True,
        related_name="+",
        verbose_name=_("only for categories"),
        help_text=_("Empty: every category."),
    )
    needs_approval = models.BooleanField(_("needs approval"), default=False)
    template_code = models.SlugField(
        _("template"), max_length=60, blank=True, help_text=_("The message template it uses.")
    )

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["strategy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "code"], name="step_unique_code"),
            models.UniqueConstraint(fields=["strategy", "position"], name="step_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.strategy.code}/{self.code}"

    @property
    def is_message(self) -> bool:
        return self.channel in MESSAGE_CHANNELS


class CategoryStrategy(models.Model):
    """The strategy a category of customers follows."""

    category = models.OneToOneField(
        CustomerCategory, on_delete=models.CASCADE, related_name="dunning_strategy"
    )
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("strategy of a category")
        verbose_name_plural = _("strategies of categories")

    def __str__(self) -> str:
        return f"{self.category} → {self.strategy}"

    def clean(self) -> None:
        if self.category.company_id != self.strategy.company_id:
            raise ValidationError(_("The strategy belongs to another company."))


class CustomerStrategy(models.Model):
    """A per-customer override of the category's strategy."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="dunning_strategy"
    )
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("strategy of a customer")
        verbose_name_plural = _("strategies of customers")

    def __str__(self) -> str:
        return f"{self.customer} → {self.strategy}"

    def clean(self) -> None:
        if self.customer.company_id != self.strategy.company_id:
            raise ValidationError(_("The strategy belongs to another company."))


class Exclusion(models.Model):
    """A customer that is never chased (a key account, a sister company, a lawsuit)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="exclusion")
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("exclusion")
        verbose_name_plural = _("exclusions")

    def __str__(self) -> str:
        return f"{self.customer}: {self.reason}"


class Suspension(models.Model):
    """A customer left alone from ``starts_on`` until the day before ``until``."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="suspensions")
    starts_on = models.DateField(_("from"))
    until = models.DateField(_("until"), help_text=_("The flow resumes on this day."))
    reason = models.CharField(_("reason"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["-until"]
        indexes = [models.Index(fields=["until"], name="suspension_until")]

    def __str__(self) -> str:
        return f"{self.customer} until {self.until}"

    def is_active(self, on: dt.date) -> bool:
        return self.starts_on <= on < self.until

    def clean(self) -> None:
        if self.starts_on and self.until and self.until <= self.starts_on:
            raise ValidationError(_("The end must come after the start."))


class HoldKind(models.TextChoices):
    DISPUTE = "dispute", _("Dispute")
    PROMISE = "promise", _("Promise to pay")
    PLAN = "plan", _("Repayment plan")
    VERIFICATION = "verification", _("Payment to verify")
    MANUAL = "manual", _("Manual hold")


class Hold(models.Model):
    """One item kept out of the flow, from ``starts_on`` until ``until`` (exclusive) or
    until released. A promise holds until its date; a dispute until it is resolved."""

    receivable = models.ForeignKey(Receivable, on_delete=models.CASCADE, related_name="holds")
    kind = models.CharField(_("kind"), max_length=20, choices=HoldKind.choices)
    starts_on = models.DateField(_("from"))
    until = models.DateField(
        _("until"), null=True, blank=True, help_text=_("Empty: until released.")
    )
    released_on = models.DateField(_("released on"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        ordering = ["-starts_on"]
        indexes = [models.Index(fields=["released_on", "until"], name="hold_active")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.receivable}"

    def is_active(self, on: dt.date) -> bool:
        if self.starts_on > on:
            return False
        if self.released_on is not None and self.released_on <= on:
            return False
        return self.until is None or on < self.until


class ActionStatus(models.TextChoices):
    CREATED = "created", _("Created")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Action(models.Model):
    """What one step asks for one customer on one day, listing all of its items that reached
    the step: one email with three late invoices, not three emails. The outbox row that
    delivery works from."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="actions")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="actions")
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="actions")
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    scheduled_on = models.DateField(_("date"))
    status = models.CharField(
        _("status"), max_length=20, choices=ActionStatus.choices, default=ActionStatus.CREATED
    )
    needs_approval = models.BooleanField(_("needs approval"), default=False)
    uuid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    total_amount = MoneyField(_("amount"), default=0)
    note = models.CharField(
        _("note"), max_length=300, blank=True, help_text=_("E.g. why the channel changed.")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved or rejected by"),
    )
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["-scheduled_on", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "step", "scheduled_on"], name="action_once_per_day"
            )
        ]
        indexes = [
            models.Index(fields=["company", "status", "scheduled_on"], name="action_status"),
        ]

    def __str__(self) -> str:
        return f"{self.step.code} {self.customer} {self.scheduled_on}"

    @property
    def is_waiting_for_approval(self) -> bool:
        return self.needs_approval and self.status == ActionStatus.CREATED

    @property
    def has_gone_out(self) -> bool:
        return self.status in {ActionStatus.SENT, ActionStatus.DONE}


class ItemStepStatus(models.TextChoices):
    CREATED = "created", _("Created")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SENT = "sent", _("Sent")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class ItemStep(models.Model):
    """An item reached a step on a date: the history that explains where each item is."""

    receivable = models.ForeignKey(
        Receivable,
        on_delete=models.CASCADE,
        related_name="dunning_steps",
        db_index=False,  # covered by itemstep_once
    )
    step = models.ForeignKey(
        Step,
        on_delete=models.PROTECT,
        related_name="item_steps",
        db_index=False,  # steps are rarely deleted; keeps the engine's bulk insert lean
    )
    action = models.ForeignKey(
        Action, on_delete=models.CASCADE, null=True, blank=True, related_name="item_steps"
    )
    reached_on = models.DateField(_("date"))
    days_overdue = models.SmallIntegerField(_("days overdue"))
    open_amount = MoneyField(_("open amount"))
    status = models.CharField(_("status"), max_length=20, choices=ItemStepStatus.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("item step")
        verbose_name_plural = _("item steps")
        ordering = ["reached_on", "id"]
        constraints = [models.UniqueConstraint(fields=["receivable", "step"], name="itemstep_once")]
        indexes = [models.Index(fields=["action"], name="itemstep_action")]

    def __str__(self) -> str:
        return f"{self.receivable} at {self.step.code} on {self.reached_on}"


class ItemProgress(models.Model):
    """Where an item stands in the flow now: its last step, when, and through which action."""

    receivable = models.OneToOneField(
        Receivable, on_delete=models.CASCADE, primary_key=True, related_name="dunning_progress"
    )
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="+", db_index=False)
    reached_on = models.DateField(_("date"))
    action = models.ForeignKey(
        Action,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # one row per item, rewritten by every run: no index to maintain
    )

    class Meta:
        verbose_name = _("item progress")
        verbose_name_plural = _("item progress")

    def __str__(self) -> str:
        return f"{self.receivable} at {self.step.code}"


class Run(models.Model):
    """One run of the engine for a company and a date."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="dunning_runs")
    as_of = models.DateField(_("date"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    items_considered = models.PositiveIntegerField(_("items considered"), default=0)
    actions = models.PositiveIntegerField(_("actions created"), default=0)
    item_steps = models.PositiveIntegerField(_("item advancements"), default=0)
    skipped = models.PositiveIntegerField(_("items skipped"), default=0)
    cancelled = models.PositiveIntegerField(_("items cancelled"), default=0)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("engine run")
        verbose_name_plural = _("engine runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.company} {self.as_of}"
