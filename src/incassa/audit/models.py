"""The audit trail and the data behind a safe login.

``AuditEntry`` rows are written once and never changed: the model refuses updates and
deletes, its queryset refuses bulk ones, and a database trigger (migration 0002) refuses
raw ``UPDATE`` and ``DELETE`` statements. Its user and company are kept as plain ids (no
database constraint, nothing cascades): an entry outlives the user or company it names.

``LoginFailure`` rows count failed sign-ins for throttling (in the database, so that every
worker sees them); ``TwoFactor`` and ``RecoveryCode`` hold a user's optional TOTP second
factor; ``CompanySecurity`` lets a company require it of its administrators.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditImmutable(Exception):
    """Raised on any attempt to change or delete an audit entry."""


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Deleted")
    LOGIN = "login", _("Signed in")
    LOGIN_FAILED = "login_failed", _("Sign-in failed")
    LOGIN_LOCKED = "login_locked", _("Sign-in locked")
    LOGOUT = "logout", _("Signed out")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    TOTP_ENABLED = "totp_enabled", _("Two-step verification turned on")
    TOTP_DISABLED = "totp_disabled", _("Two-step verification turned off")
    TOTP_RESET = "totp_reset", _("Two-step verification reset by an administrator")
    RECOVERY_CODES = "recovery_codes", _("Recovery codes renewed")
    MESSAGE_SENT = "message_sent", _("Message sent")
    IMPORT = "import", _("Import")
    ENGINE_RUN = "engine_run", _("Engine run")


# What a person does to their own account: shown to the auditors of every company the
# person belongs to, since such an entry belongs to no company.
ACCOUNT_ACTIONS = frozenset(
    {
        AuditAction.LOGIN,
        AuditAction.LOGIN_FAILED,
        AuditAction.LOGIN_LOCKED,
        AuditAction.LOGOUT,
        AuditAction.PASSWORD_CHANGED,
        AuditAction.TOTP_ENABLED,
        AuditAction.TOTP_DISABLED,
        AuditAction.TOTP_RESET,
        AuditAction.RECOVERY_CODES,
    }
)


class Source(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    COMMAND = "command", _("Command")
    ENGINE = "engine", _("Engine")


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit entries cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AuditImmutable("audit entries cannot be changed")


class AuditEntry(models.Model):
    """One change of data, one message sent, one import or engine run, one sign-in."""

    at = models.DateTimeField(_("when"), default=timezone.now, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
        editable=False,
    )
    # The user's name then: still readable when the user is renamed or deleted.
    username = models.CharField(_("username"), max_length=150, blank=True, editable=False)
    company = models.ForeignKey(
        "ledger.Company",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("company"),
        editable=False,
    )
    action = models.CharField(
        _("action"), max_length=20, choices=AuditAction.choices, editable=False
    )
    object_type = models.CharField(_("object type"), max_length=100, blank=True, editable=False)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, editable=False)
    object_repr = models.CharField(_("object"), max_length=200, blank=True, editable=False)
    before = models.JSONField(_("before"), null=True, blank=True, editable=False)
    after = models.JSONField(_("after"), null=True, blank=True, editable=False)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, editable=False)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, editable=False)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["company", "at"], name="auditentry_company_at"),
            models.Index(fields=["object_type", "object_id"], name="auditentry_object"),
            models.Index(fields=["user", "at"], name="auditentry_user_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("audit entries cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit entries cannot be deleted")


class LoginFailure(models.Model):
    """A failed sign-in (wrong password or wrong code): counted per username and per IP."""

    username = models.CharField(_("username"), max_length=150, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, db_index=True)
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.username} {self.ip or ''} {self.at:%Y-%m-%d %H:%M}"


class TwoFactor(models.Model):
    """A user's TOTP second factor (RFC 6238), active once confirmed with a first code."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="two_factor",
        verbose_name=_("user"),
    )
    secret = models.CharField(_("secret"), max_length=64)
    confirmed_at = models.DateTimeField(_("turned on at"))
    # The time step of the last accepted code: a code is accepted only once.
    last_step = models.BigIntegerField(_("last time step used"), default=0)

    class Meta:
        verbose_name = _("two-step verification")
        verbose_name_plural = _("two-step verifications")

    def __str__(self) -> str:
        return str(self.user)


class RecoveryCode(models.Model):
    """A one-time code that replaces the authenticator app; only its hash is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="recovery_codes",
        verbose_name=_("user"),
    )
    code_hash = models.CharField(_("hash"), max_length=200)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"{self.user} #{self.pk}"


class CompanySecurity(models.Model):
    """A company's own security rules, stricter than the installation's."""

    company = models.OneToOneField(
        "ledger.Company",
        on_delete=models.CASCADE,
        related_name="security",
        verbose_name=_("company"),
    )
    require_totp_for_administrators = models.BooleanField(
        _("administrators must use two-step verification"), default=False
    )

    class Meta:
        verbose_name = _("company security")
        verbose_name_plural = _("company security")

    def __str__(self) -> str:
        return str(self.company)
