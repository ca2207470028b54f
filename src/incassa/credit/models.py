"""Credit health data: what is known about a customer from outside (events), the scores
computed each day (with their history), each open item's criticality, credit-limit alerts,
the scoring weights of a company, and daily snapshots of the key figures for trends."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from incassa.core.fields import MoneyField


class EventKind(models.TextChoices):
    PROTEST = "protest", _("Protest (protesto)")
    INSOLVENCY = "insolvency", _("Insolvency proceeding")
    BALANCE_SHEET = "balance_sheet", _("New balance sheet")
    RATING = "rating", _("Rating from an information provider")
    OTHER = "other", _("Other")


# What each kind weighs on the customer's reliability when no penalty is given (0: none,
# 100: the worst). A protest or an insolvency proceeding is as bad as it gets.
DEFAULT_PENALTY = {
    EventKind.PROTEST: 100,
    EventKind.INSOLVENCY: 100,
    EventKind.BALANCE_SHEET: 0,
    EventKind.RATING: 0,
    EventKind.OTHER: 0,
}
# External events older than this no longer count.
EVENT_VALIDITY_DAYS = 730


class CreditEvent(models.Model):
    """Something known about a customer from outside the ledger, recorded by hand or
    imported: it weighs on the reliability score through its penalty."""

    customer = models.ForeignKey(
        "ledger.Customer", on_delete=models.CASCADE, related_name="credit_events"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    on_date = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=300, blank=True)
    rating = models.CharField(
        _("rating"), max_length=20, blank=True, help_text=_("As the provider writes it.")
    )
    penalty = models.PositiveSmallIntegerField(
        _("penalty"),
        validators=[MaxValueValidator(100)],
        help_text=_("0 (good news or neutral) to 100 (the worst): lowers the reliability."),
    )
    source = models.CharField(_("source"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("credit event")
        verbose_name_plural = _("credit events")
        ordering = ["-on_date", "-id"]
        indexes = [models.Index(fields=["customer", "on_date"], name="creditevent_customer")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.customer} {self.on_date:%d/%m/%Y}"


class ScoringSettings(models.Model):
    """A company's weights for the reliability and criticality scores (empty: defaults)."""

    company = models.OneToOneField(
        "ledger.Company", on_delete=models.CASCADE, related_name="scoring_settings"
    )
    reliability_weights = models.JSONField(_("reliability weights"), default=dict, blank=True)
    criticality_weights = models.JSONField(_("criticality weights"), default=dict, blank=True)
    exposure_includes_not_due = models.BooleanField(
        _("exposure includes items not yet due"),
        default=True,
        help_text=_("Off: only overdue items count against the credit limit."),
    )

    class Meta:
        verbose_name = _("scoring settings")
        verbose_name_plural = _("scoring settings")

    def __str__(self) -> str:
        return str(self.company)

    def clean(self) -> None:
        from incassa.credit.scoring import CriticalityWeights, ReliabilityWeights

        for field, cls in (
            ("reliability_weights", ReliabilityWeights),
            ("criticality_weights", CriticalityWeights),
        ):
            try:
                cls.from_dict(getattr(self, field) or {})
            except (TypeError, ValueError) as exc:
                raise ValidationError({field: str(exc)}) from exc


class CreditClass(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    E = "E", "E"


class CustomerCredit(models.Model):
    """A customer's credit standing now: its latest score and class with their components,
    its exposure against the credit limit, and whether sales must stop."""

    customer = models.OneToOneField(
        "ledger.Customer", on_delete=models.CASCADE, primary_key=True, related_name="credit"
    )
    computed_on = models.DateField(_("computed on"))
    score = models.DecimalField(_("reliability"), max_digits=4, decimal_places=1)
    credit_class = models.CharField(_("class"), max_length=1, choices=CreditClass.choices)
    components = models.JSONField(_("components"), default=dict)
    exposure = MoneyField(_("exposure"), default=0)
    blocked = models.BooleanField(_("blocked"), default=False)
    blocked_reason = models.CharField(_("reason for the block"), max_length=300, blank=True)
    blocked_at = models.DateTimeField(_("blocked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer credit")
        verbose_name_plural = _("customers' credit")
        indexes = [
            models.Index(fields=["credit_class"], name="customercredit_class"),
            models.Index(
                fields=["customer"], condition=Q(blocked=True), name="customercredit_blocked"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.credit_class} ({self.score})"


class ScoreHistory(models.Model):
    """The reliability score of a customer on a day, kept for its trend."""

    customer = models.ForeignKey(
        "ledger.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    on_date = models.DateField(_("date"))
    score = models.DecimalField(_("reliability"), max_digits=4, decimal_places=1)
    credit_class = models.CharField(_("class"), max_length=1, choices=CreditClass.choices)

    class Meta:
        verbose_name = _("score history")
        verbose_name_plural = _("score history")
        ordering = ["customer", "-on_date"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "on_date"], name="scorehistory_once")
        ]

    def __str__(self) -> str:
        return f"{self.customer} {self.on_date}: {self.score}"


class ItemCriticality(models.Model):
    """How urgent an open item is (0-100), recomputed after every import."""

    # Rewritten whole by every computation (a million rows): no database constraints to
    # check row by row, and SQLite empties the table at once. Django still cascades the
    # deletion of an item or a company to its row.
    receivable = models.OneToOneField(
        "ledger.Receivable",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="criticality",
        db_constraint=False,
    )
    company = models.ForeignKey(
        "ledger.Company",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    score = models.DecimalField(_("criticality"), max_digits=4, decimal_places=1)
    computed_on = models.DateField(_("computed on"))

    class Meta:
        verbose_name = _("item criticality")
        verbose_name_plural = _("item criticality")
        # The item as the last column orders ties, so that a page of the most critical items
        # is read from the index in order, without sorting a million rows.
        indexes = [
            models.Index(fields=["company", "-score", "receivable"], name="criticality_rank")
        ]

    def __str__(self) -> str:
        return f"{self.receivable_id}: {self.score}"


class AlertKind(models.TextChoices):
    LIMIT_EXCEEDED = "limit_exceeded", _("Exposure over the credit limit")
    CLASS_WORSENED = "class_worsened", _("Class worsened")


class CreditAlert(models.Model):
    """Something a credit manager should look at: raised by the daily recomputation."""

    company = models.ForeignKey("ledger.Company", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(
        "ledger.Customer", on_delete=models.CASCADE, related_name="credit_alerts"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    on_date = models.DateField(_("date"))
    message = models.CharField(_("message"), max_length=300)
    acknowledged_at = models.DateTimeField(_("seen at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("credit alert")
        verbose_name_plural = _("credit alerts")
        ordering = ["-on_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "on_date"], name="creditalert_once_a_day"
            )
        ]
        indexes = [
            models.Index(fields=["company", "acknowledged_at", "on_date"], name="creditalert_open")
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.message}"


class KpiSnapshot(models.Model):
    """The key figures of a company (or one of its categories or agents) on a day, kept so
    that trends can be drawn without recomputing the past."""

    company = models.ForeignKey("ledger.Company", on_delete=models.CASCADE, related_name="+")
    on_date = models.DateField(_("date"))
    scope = models.CharField(_("scope"), max_length=60, default="company")
    figures = models.JSONField(_("figures"))

    class Meta:
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        ordering = ["company", "scope", "-on_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "scope", "on_date"], name="kpisnapshot_once_a_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.scope} {self.on_date}"


class ReportKind(models.TextChoices):
    KPI = "kpi", _("Key figures")
    EFFECTIVENESS = "effectiveness", _("Effectiveness")


class ReportSnapshot(models.Model):
    """A report over the whole ledger (the key figures of a period, the effectiveness of the
    contacts), computed once where the data change and read by its page: computing it per
    request takes seconds on a million items. One row per company, kind and parameters
    (``key``); ``preset`` marks the ones computed for the page's default parameters after
    an import's KPI snapshot, the newest of which the page shows when asked nothing."""

    company = models.ForeignKey("ledger.Company", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=ReportKind.choices)
    key = models.CharField(_("parameters"), max_length=120)
    preset = models.BooleanField(_("default parameters"), default=False)
    as_of = models.DateField(_("as of"))  # the day the figures describe (the report's today)
    data = models.JSONField(_("figures"))  # Decimals as strings
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("report snapshot")
        verbose_name_plural = _("report snapshots")
        constraints = [
            models.UniqueConstraint(fields=["company", "kind", "key"], name="reportsnapshot_once")
        ]
        indexes = [
            models.Index(
                fields=["company", "kind", "preset", "as_of", "computed_at"],
                name="reportsnapshot_preset",
            )
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.kind} {self.key}"
