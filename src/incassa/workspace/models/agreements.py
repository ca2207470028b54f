"""What a debtor agreed to, and what was handed over: promises to pay (promessa di
pagamento), disputes (contestazione), repayment plans (piano di rientro) with their
instalments, settlements (saldo e stralcio) and hand-over cases (affido/pratica).

Each agreement covers some of one customer's items. Promises, plans and settlements keep a
``baseline``: the open amount of each item (in cents, keyed by the item's id as a string)
when the agreement was made, so that what the customer paid since is the decrease of those
open amounts, read from later snapshots.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from incassa.core.fields import MoneyField
from incassa.dunning.models import Hold
from incassa.ledger.models import Company, Customer, Receivable

__all__ = [
    "Case",
    "CaseKind",
    "CaseOutcome",
    "CaseStatus",
    "Dispute",
    "DisputeReason",
    "DisputeStatus",
    "Instalment",
    "InstalmentStatus",
    "PlanStatus",
    "Promise",
    "PromiseStatus",
    "RepaymentPlan",
    "Settlement",
    "SettlementStatus",
]


def _user_fk(verbose_name: str, **kwargs) -> models.ForeignKey:
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
        **kwargs,
    )


class PromiseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class Promise(models.Model):
    """The customer promised to pay ``amount`` of some items by ``promised_on``."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="promises")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="promises")
    items = models.ManyToManyField(Receivable, related_name="promises", verbose_name=_("items"))
    holds = models.ManyToManyField(Hold, blank=True, related_name="+", verbose_name=_("holds"))
    amount = MoneyField(_("amount"))
    promised_on = models.DateField(_("promised for"))
    status = models.CharField(
        _("status"), max_length=20, choices=PromiseStatus.choices, default=PromiseStatus.OPEN
    )
    baseline = models.JSONField(_("open amounts when made (cents)"), default=dict, blank=True)
    recorded_on = models.DateField(_("recorded on"))
    recorded_by = _user_fk(_("recorded by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-promised_on", "-id"]
        indexes = [models.Index(fields=["company", "status"], name="promise_status")]

    def __str__(self) -> str:
        return f"{self.customer}: {self.amount} by {self.promised_on}"

    @property
    def is_broken(self) -> bool:
        return self.status == PromiseStatus.BROKEN


class DisputeReason(models.TextChoices):
    PRICE = "price", _("Price")
    QUANTITY = "quantity", _("Quantity")
    QUALITY = "quality", _("Quality")
    NOT_DELIVERED = "not_delivered", _("Not delivered")
    ALREADY_PAID = "already_paid", _("Already paid")
    OTHER = "other", _("Other")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING_CUSTOMER = "waiting_customer", _("Waiting for the customer")
    WAITING_INTERNAL = "waiting_internal", _("Waiting for an internal answer")
    RESOLVED_CREDIT_NOTE = "resolved_credit_note", _("Resolved with a credit note")
    RESOLVED_IN_OUR_FAVOUR = "resolved_in_our_favour", _("Resolved in our favour")


DISPUTE_RESOLVED = frozenset(
    {DisputeStatus.RESOLVED_CREDIT_NOTE, DisputeStatus.RESOLVED_IN_OUR_FAVOUR}
)


class Dispute(models.Model):
    """The customer contests some items; they are on hold until it is resolved."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="disputes")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="disputes")
    items = models.ManyToManyField(Receivable, related_name="disputes", verbose_name=_("items"))
    holds = models.ManyToManyField(Hold, blank=True, related_name="+", verbose_name=_("holds"))
    reason = models.CharField(_("reason"), max_length=20, choices=DisputeReason.choices)
    description = models.TextField(_("description"), blank=True)
    owner = _user_fk(_("owner"))
    status = models.CharField(
        _("status"), max_length=30, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    opened_on = models.DateField(_("opened on"))
    opened_by = _user_fk(_("opened by"))
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_on", "-id"]
        indexes = [models.Index(fields=["company", "status"], name="dispute_status")]

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_reason_display()}"

    @property
    def is_resolved(self) -> bool:
        return self.status in DISPUTE_RESOLVED


class PlanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class RepaymentPlan(models.Model):
    """A schedule of instalments that pays some items off, with optional interest."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="repayment_plans")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="repayment_plans")
    items = models.ManyToManyField(
        Receivable, related_name="repayment_plans", verbose_name=_("items")
    )
    holds = models.ManyToManyField(Hold, blank=True, related_name="+", verbose_name=_("holds"))
    total = MoneyField(_("total of the instalments"))
    principal = MoneyField(_("open amount covered"))
    annual_interest_rate = models.DecimalField(
        _("annual interest rate (%)"), max_digits=6, decimal_places=3, null=True, blank=True
    )
    grace_days = models.PositiveSmallIntegerField(
        _("grace days"),
        default=10,
        help_text=_("An instalment still unpaid this many days after its date is missed."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=PlanStatus.choices, default=PlanStatus.ACTIVE
    )
    baseline = models.JSONField(_("open amounts when made (cents)"), default=dict, blank=True)
    created_on = models.DateField(_("created on"))
    created_by = _user_fk(_("created by"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    broken_on = models.DateField(_("broken on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("repayment plan")
        verbose_name_plural = _("repayment plans")
        ordering = ["-created_on", "-id"]
        indexes = [models.Index(fields=["company", "status"], name="plan_status")]

    def __str__(self) -> str:
        return f"{self.customer}: {self.total} from {self.created_on}"


class InstalmentStatus(models.TextChoices):
    DUE = "due", _("Due")
    PAID = "paid", _("Paid")
    LATE = "late", _("Late")
    MISSED = "missed", _("Missed")


class Instalment(models.Model):
    """One payment of a plan. ``principal`` is the part of ``amount`` that reduces the
    items' open amount (``amount`` less its interest); payments are matched against it."""

    plan = models.ForeignKey(RepaymentPlan, on_delete=models.CASCADE, related_name="instalments")
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    amount = MoneyField(_("amount"))
    principal = MoneyField(_("principal"))
    paid_amount = MoneyField(_("paid"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=InstalmentStatus.choices, default=InstalmentStatus.DUE
    )

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="instalment_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.number}: {self.amount} on {self.due_on}"


class SettlementStatus(models.TextChoices):
    AGREED = "agreed", _("Agreed")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Settlement(models.Model):
    """Saldo e stralcio: the customer pays ``agreed_amount`` by ``due_on`` and the rest of
    the items is written off."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="settlements")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="settlements")
    items = models.ManyToManyField(Receivable, related_name="settlements", verbose_name=_("items"))
    holds = models.ManyToManyField(Hold, blank=True, related_name="+", verbose_name=_("holds"))
    open_amount = MoneyField(_("open amount when agreed"))
    agreed_amount = MoneyField(_("agreed amount"))
    agreed_on = models.DateField(_("agreed on"))
    due_on = models.DateField(_("to be paid by"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=SettlementStatus.choices,
        default=SettlementStatus.AGREED,
    )
    baseline = models.JSONField(_("open amounts when agreed (cents)"), default=dict, blank=True)
    write_off_reason = models.CharField(_("reason for the write-off"), max_length=300, blank=True)
    written_off_amount = MoneyField(_("written off"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_by = _user_fk(_("created by"))
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-agreed_on", "-id"]
        indexes = [models.Index(fields=["company", "status"], name="settlement_status")]

    def __str__(self) -> str:
        return f"{self.customer}: {self.agreed_amount} by {self.due_on}"


class CaseKind(models.TextChoices):
    AGENCY = "agency", _("Collection agency")
    LAWYER = "lawyer", _("Lawyer")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class CaseOutcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered in full")
    PARTLY_RECOVERED = "partly_recovered", _("Partly recovered")
    NOT_RECOVERED = "not_recovered", _("Not recovered")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Case(models.Model):
    """Affido: items handed over to a collection agency or a lawyer. They leave the
    automatic flow while the case is open."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="cases")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="cases")
    items = models.ManyToManyField(Receivable, related_name="cases", verbose_name=_("items"))
    holds = models.ManyToManyField(Hold, blank=True, related_name="+", verbose_name=_("holds"))
    agency = models.CharField(_("agency or lawyer"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CaseKind.choices, default=CaseKind.AGENCY
    )
    handed_over_on = models.DateField(_("handed over on"))
    handed_over_amount = MoneyField(_("amount handed over"))
    reference = models.CharField(
        _("reference"), max_length=100, blank=True, help_text=_("The agency's file number.")
    )
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=CaseOutcome.choices, blank=True)
    outcome_text = models.TextField(_("outcome notes"), blank=True)
    recovered_amount = MoneyField(_("recovered"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    created_by = _user_fk(_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("hand-over case")
        verbose_name_plural = _("hand-over cases")
        ordering = ["-handed_over_on", "-id"]
        indexes = [models.Index(fields=["company", "status"], name="case_status")]

    def __str__(self) -> str:
        return f"{self.customer} → {self.agency}"
