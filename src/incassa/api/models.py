"""API tokens: a user's key to the REST API, acting in one company with the user's role there.

Only a SHA-256 hash of the key is stored: the key is shown once, when the token is made, and
cannot be read back. The ``prefix`` (the key's first characters, not secret) finds the token
without using the secret part in a query, and tells a user's tokens apart in listings.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from incassa.ledger.models import Company


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What the token is for."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("SHA-256 of the key"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    expires_on = models.DateField(
        _("expires on"), null=True, blank=True, help_text=_("Empty: never.")
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… {self.name} ({self.user} @ {self.company})"

    def is_valid_on(self, day: dt.date) -> bool:
        """Not revoked, and not expired on ``day`` (a token works through its expiry day)."""
        if self.revoked_at is not None:
            return False
        return self.expires_on is None or day <= self.expires_on
