"""The operators' work: who looks after which customers (portfolios), what there is to do
(tasks, from the engine's actions or by hand) and what was done (activities, with the
debtor's reaction and the next step)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = [
    "Activity",
    "ActivityKind",
    "CustomerAssignment",
    "Direction",
    "PortfolioRule",
    "Reaction",
    "Task",
    "TaskKind",
    "TaskStatus",
]


class PortfolioRule(models.Model):
    """All customers of a category go to one operator; a rule without a category is the
    company's default operator for customers whose category has no rule."""

    company = models.ForeignKey(
        "ledger.Company", on_delete=models.CASCADE, related_name="portfolio_rules"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("operator"),
    )
    category = models.ForeignKey(
        "ledger.CustomerCategory",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("category"),
        help_text=_("Empty: every customer whose category has no rule of its own."),
    )

    class Meta:
        verbose_name = _("portfolio rule")
        verbose_name_plural = _("portfolio rules")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "category"], name="portfoliorule_one_per_category"
            ),
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(category__isnull=True),
                name="portfoliorule_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category or _('every customer')} → {self.operator}"

    def clean(self) -> None:
        if self.category_id and self.category.company_id != self.company_id:
            raise ValidationError(_("The category belongs to another company."))


class CustomerAssignment(models.Model):
    """A customer given to an operator by hand: wins over the category's rule."""

    company = models.ForeignKey("ledger.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.OneToOneField(
        "ledger.Customer", on_delete=models.CASCADE, related_name="assignment"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("operator"),
    )

    class Meta:
        verbose_name = _("customer assignment")
        verbose_name_plural = _("customer assignments")

    def __str__(self) -> str:
        return f"{self.customer} → {self.operator}"

    def clean(self) -> None:
        if self.customer_id and self.customer.company_id != self.company_id:
            raise ValidationError(_("The customer belongs to another company."))


class TaskKind(models.TextChoices):
    CALL = "call", _("Call")
    APPROVAL = "approval", _("Approval")
    ESCALATION = "escalation", _("Hand-over")
    LETTER = "letter", _("Letter to post")
    MANUAL = "manual", _("Task")
    FOLLOW_UP = "follow_up", _("Follow-up")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(models.Model):
    """Something an operator has to do for a customer by a date."""

    company = models.ForeignKey("ledger.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("ledger.Customer", on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="workspace_tasks",
        verbose_name=_("assigned to"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices)
    title = models.CharField(_("title"), max_length=200)
    due_on = models.DateField(_("due on"))
    status = models.CharField(
        _("status"), max_length=20, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    snoozed_until = models.DateField(
        _("snoozed until"),
        null=True,
        blank=True,
        help_text=_("Hidden from the worklist until this day; still late after its date."),
    )
    source_action = models.ForeignKey(
        "dunning.Action",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("engine action"),
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_action"],
                condition=Q(source_action__isnull=False),
                name="task_once_per_action",
            )
        ]
        indexes = [
            models.Index(fields=["company", "status", "due_on"], name="task_company_open"),
            models.Index(fields=["assignee", "status", "due_on"], name="task_assignee_open"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.customer}, {self.due_on:%d/%m/%Y})"

    def is_overdue(self, today: dt.date) -> bool:
        """Still open after its date."""
        return self.status == TaskStatus.OPEN and self.due_on < today


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    MEETING = "meeting", _("Meeting")
    VISIT = "visit", _("Visit")
    NOTE = "note", _("Note")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Reaction(models.TextChoices):
    PROMISES_TO_PAY = "promises_to_pay", _("Promises to pay")
    DISPUTES = "disputes", _("Disputes")
    ASKS_FOR_TIME = "asks_for_time", _("Asks for more time")
    SAYS_ALREADY_PAID = "says_already_paid", _("Says already paid")
    UNREACHABLE = "unreachable", _("Unreachable")
    REFUSES = "refuses", _("Refuses to pay")
    NONE = "none", _("No particular reaction")


class Activity(models.Model):
    """A contact with a customer (or a note about it): what the debtor said and what
    happens next."""

    company = models.ForeignKey("ledger.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        "ledger.Customer", on_delete=models.CASCADE, related_name="activities"
    )
    items = models.ManyToManyField(
        "ledger.Receivable", blank=True, related_name="activities", verbose_name=_("items")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ActivityKind.choices)
    happened_at = models.DateTimeField(_("when"))
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("operator"),
    )
    contact_person = models.CharField(_("contact person"), max_length=200, blank=True)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    reaction = models.CharField(
        _("reaction"), max_length=20, choices=Reaction.choices, default=Reaction.NONE
    )
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    next_action = models.CharField(_("next action"), max_length=200, blank=True)
    next_action_on = models.DateField(_("next action on"), null=True, blank=True)
    task = models.ForeignKey(
        Task,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("task it completes"),
    )
    follow_up = models.ForeignKey(
        Task,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("task it created"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-happened_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-happened_at"], name="activity_customer"),
            models.Index(fields=["company", "happened_at"], name="activity_company"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer} {self.happened_at:%d/%m/%Y}"
