"""What the bank said and what Incassa made of it.

A ``BankStatement`` is one imported statement file (its ``ImportRun`` is the audit of the
import); each incoming credit on it is a ``BankEntry``, identified by the statement reader's
``entry_key`` so that a statement imported twice books nothing twice. A ``PaymentAllocation``
is the part of an entry that paid one item; undoing a match keeps the allocation, marked
reversed, so the story of every payment can be told. ``PayerAccount`` remembers which
customer an IBAN pays for, learned from the matches people confirm.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from incassa.core.fields import MoneyField
from incassa.ledger.models import Company, Customer, ImportRun, Receivable


class BankStatement(models.Model):
    """One statement (or the statements of one file, joined) of one account."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="bank_statements", verbose_name=_("company")
    )
    import_run = models.ForeignKey(
        ImportRun,
        on_delete=models.CASCADE,
        related_name="bank_statements",
        verbose_name=_("import"),
    )
    format = models.CharField(_("format"), max_length=10)
    statement_id = models.CharField(_("statement"), max_length=200, blank=True)
    account = models.CharField(_("account"), max_length=60, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    opening_balance = MoneyField(_("opening balance"), null=True, blank=True)
    closing_balance = MoneyField(_("closing balance"), null=True, blank=True)
    opening_date = models.DateField(_("opening date"), null=True, blank=True)
    closing_date = models.DateField(_("closing date"), null=True, blank=True)
    entries_read = models.PositiveIntegerField(_("entries read"), default=0)
    credits_new = models.PositiveIntegerField(_("new credits"), default=0)
    credits_known = models.PositiveIntegerField(_("credits already imported"), default=0)

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-import_run__started_at"]

    def __str__(self) -> str:
        return f"{self.account} {self.statement_id}".strip()


class EntryStatus(models.TextChoices):
    UNMATCHED = "unmatched", _("To be matched")
    PROPOSED = "proposed", _("Proposed match")
    MATCHED = "matched", _("Matched")
    IGNORED = "ignored", _("Not a customer payment")


class Confidence(models.IntegerChoices):
    NONE = 0, _("None")
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")


class BankEntry(models.Model):
    """An incoming credit on a statement and how it was matched."""

    company = models.ForeignKey(
        Company,
        on_delete=models.CASCADE,
        related_name="bank_entries",
        verbose_name=_("company"),
        db_index=False,  # every index starts with it
    )
    statement = models.ForeignKey(
        BankStatement, on_delete=models.CASCADE, related_name="entries", verbose_name=_("statement")
    )
    key = models.CharField(_("entry key"), max_length=200)
    booking_date = models.DateField(_("booking date"))
    value_date = models.DateField(_("value date"), null=True, blank=True)
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    payer_name = models.CharField(_("payer"), max_length=200, blank=True)
    payer_iban = models.CharField(_("payer's IBAN"), max_length=40, blank=True)
    remittance = models.TextField(_("remittance information"), blank=True)
    references = models.TextField(_("structured references"), blank=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=100, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=EntryStatus.choices, default=EntryStatus.UNMATCHED
    )
    confidence = models.PositiveSmallIntegerField(
        _("confidence"), choices=Confidence.choices, default=Confidence.NONE
    )
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    suggestions = models.JSONField(_("suggestions"), default=list, blank=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="bank_entries",
        verbose_name=_("customer"),
    )
    allocated_amount = MoneyField(_("allocated"), default=Decimal("0.00"))
    is_automatic = models.BooleanField(_("matched automatically"), default=False)
    matched_at = models.DateTimeField(_("matched at"), null=True, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("matched by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("bank entry")
        verbose_name_plural = _("bank entries")
        ordering = ["-booking_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["company", "key"], name="bankentry_unique_key")
        ]
        indexes = [
            models.Index(
                fields=["company", "status", "-booking_date", "-id"], name="bankentry_status"
            )
        ]

    def __str__(self) -> str:
        return f"{self.booking_date:%d/%m/%Y} {self.amount} {self.payer_name}".strip()

    @property
    def unallocated_amount(self) -> Decimal:
        """What is left on account: paid but not (yet) set against any item."""
        return self.amount - self.allocated_amount

    @property
    def reference_list(self) -> list[str]:
        return [r for r in self.references.splitlines() if r]


class PaymentAllocation(models.Model):
    """The part of a bank entry that paid one item; kept, marked reversed, when undone."""

    entry = models.ForeignKey(
        BankEntry, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("entry")
    )
    receivable = models.ForeignKey(
        Receivable,
        on_delete=models.PROTECT,
        related_name="payment_allocations",
        verbose_name=_("item"),
    )
    amount = MoneyField(_("amount"))
    open_amount_before = MoneyField(_("open amount before"))
    is_automatic = models.BooleanField(_("automatic"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    reversed_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("undone by"),
    )

    class Meta:
        verbose_name = _("payment allocation")
        verbose_name_plural = _("payment allocations")
        ordering = ["entry", "id"]

    def __str__(self) -> str:
        return f"{self.entry_id} → {self.receivable_id}: {self.amount}"


class PayerAccount(models.Model):
    """An IBAN that pays for a customer: learned from confirmed matches, or entered."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company")
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="payer_accounts",
        verbose_name=_("customer"),
    )
    iban = models.CharField(_("IBAN"), max_length=40)
    name = models.CharField(_("payer"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payer account")
        verbose_name_plural = _("payer accounts")
        constraints = [
            models.UniqueConstraint(fields=["company", "iban"], name="payeraccount_unique_iban")
        ]

    def __str__(self) -> str:
        return f"{self.iban} → {self.customer_id}"
