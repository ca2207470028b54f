"""The rates the interest calculation uses, editable by an administrator: the Ministry
publishes each half-year's rate weeks late, so Incassa cannot ship them all."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class RateKind(models.TextChoices):
    ECB = "ecb", _("ECB main refinancing rate (half-year)")
    LEGAL = "legal", _("Legal rate, art. 1284 c.c. (year)")


class InterestRate(models.Model):
    """A rate in force from ``starts_on``: 1 January or 1 July for the ECB rate, 1 January
    for the legal rate."""

    kind = models.CharField(_("kind"), max_length=10, choices=RateKind.choices)
    starts_on = models.DateField(_("from"))
    rate = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("interest rate")
        verbose_name_plural = _("interest rates")
        ordering = ["kind", "-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "starts_on"], name="interestrate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_on:%d/%m/%Y}: {self.rate}%"

    def clean(self) -> None:
        if self.starts_on is None:
            return
        allowed = {(1, 1), (7, 1)} if self.kind == RateKind.ECB else {(1, 1)}
        if (self.starts_on.month, self.starts_on.day) not in allowed:
            raise ValidationError(
                {"starts_on": _("A rate starts on 1 January or 1 July (legal: 1 January).")}
            )


def current_half_year(today: dt.date) -> dt.date:
    return dt.date(today.year, 1 if today.month < 7 else 7, 1)
