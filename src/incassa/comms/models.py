"""What communications keep: the statutory rates (editable: the Ministry publishes each
half-year's rate weeks late), the message templates and their versions, every message as it
went out, and the print batches of the day's letters."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incassa.core.fields import MoneyField


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


class TemplateKind(models.TextChoices):
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")


class MessageTemplate(models.Model):
    """The text of one step's message, for one kind (email or letter) and one language.

    The subject and body are written in a sandboxed template language that sees only the
    documented variables. Every change is kept as a ``TemplateVersion`` and each message
    records the version it was written from, so what a customer received can always be
    explained.
    """

    company = models.ForeignKey(
        "ledger.Company", on_delete=models.CASCADE, related_name="message_templates"
    )
    code = models.SlugField(
        _("code"), max_length=60, help_text=_("The step code (or the step's template code).")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=TemplateKind.choices)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES)
    name = models.CharField(_("name"), max_length=200)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["company", "code", "kind", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "code", "kind", "language"], name="template_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()}, {self.language}) v{self.version}"


class TemplateVersion(models.Model):
    """A template's text as it was from one change to the next."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("body"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="templateversion_unique")
        ]

    def __str__(self) -> str:
        return f"{self.template.code} v{self.number}"


class Medium(models.TextChoices):
    EMAIL = "email", _("Email")
    PEC = "pec", _("PEC")
    LETTER = "letter", _("Letter")
    REGISTERED_LETTER = "registered_letter", _("Registered letter")


ELECTRONIC_MEDIA = frozenset({Medium.EMAIL, Medium.PEC})
PAPER_MEDIA = frozenset({Medium.LETTER, Medium.REGISTERED_LETTER})


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    TO_PRINT = "to_print", _("Waiting to be printed")
    PRINTED = "printed", _("Printed")
    POSTED = "posted", _("Posted")
    CANCELLED = "cancelled", _("Cancelled")


def _message_path(message: Message, filename: str) -> str:
    day = message.created_at or timezone.now()
    return f"messages/{message.company_id}/{day:%Y/%m/%d}/{filename}"


class Message(models.Model):
    """One email, PEC or letter exactly as it went out (or will go out): its text, the PDF,
    the raw email, the template version it came from, and every delivery attempt's answer.

    Written once when the action is prepared and never re-rendered, so that a retry sends
    the very same bytes with the same Message-ID.
    """

    company = models.ForeignKey("ledger.Company", on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey(
        "ledger.Customer", on_delete=models.CASCADE, related_name="messages"
    )
    action = models.ForeignKey(
        "dunning.Action",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
    )
    uuid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    medium = models.CharField(_("medium"), max_length=20, choices=Medium.choices)
    status = models.CharField(_("status"), max_length=20, choices=MessageStatus.choices)
    template_version = models.ForeignKey(
        TemplateVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("template version"),
    )
    language = models.CharField(_("language"), max_length=5)
    sender = models.CharField(_("sender"), max_length=300, blank=True)
    recipients = models.CharField(_("recipients"), max_length=1000, blank=True)
    reply_to = models.CharField(_("reply to"), max_length=300, blank=True)
    subject = models.CharField(_("subject"), max_length=500)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    message_id = models.CharField(
        _("Message-ID"), max_length=300, blank=True, null=True, unique=True
    )
    raw = models.FileField(_("raw email"), upload_to=_message_path, blank=True)
    document = models.FileField(_("PDF"), upload_to=_message_path, blank=True)
    document_sha256 = models.CharField(_("PDF SHA-256"), max_length=64, blank=True)
    pages = models.PositiveSmallIntegerField(_("pages"), default=0)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    total_amount = MoneyField(_("open amount"), default=0)
    interest = MoneyField(_("interest"), default=0)
    compensation = MoneyField(_("compensation"), default=0)
    payment_reference = models.CharField(_("payment reference"), max_length=35, blank=True)
    attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_response = models.TextField(_("server's answer"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # The lease of a delivery that claimed the message (``sending``): no other worker picks
    # it until ``claimed_until``; after that, its worker is presumed dead and the message is
    # taken again (see ``services.outbox_deliver``). ``claimed_by`` stays as the last worker.
    claimed_by = models.CharField(_("claimed by"), max_length=200, blank=True, editable=False)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
    print_batch = models.ForeignKey(
        "PrintBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("print batch"),
    )
    registered_number = models.CharField(_("registered mail number"), max_length=40, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at"]
        constraints = [
            # A message withdrawn because its items changed is replaced by a new one; at any
            # time an action has at most one message that may still go out or has gone out.
            models.UniqueConstraint(
                fields=["action"],
                condition=~Q(status="cancelled"),
                name="message_one_live_per_action",
            )
        ]
        indexes = [
            models.Index(fields=["company", "status", "next_attempt_at"], name="message_outbox"),
            models.Index(fields=["customer", "created_at"], name="message_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.get_medium_display()} {self.customer}: {self.subject}"

    @property
    def is_electronic(self) -> bool:
        return self.medium in ELECTRONIC_MEDIA

    @property
    def recipient_list(self) -> list[str]:
        return [r for r in self.recipients.split(",") if r]


class DeliveryReceipt(models.Model):
    """The server accepted the message: written in its own committed transaction right after
    the SMTP server's final 250 and before the message is marked sent, so that any worker
    that finds the message still ``sending`` (its deliverer died in between) records it as
    sent instead of sending it again. One per message: a second one is a duplicate delivery.
    """

    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="receipt", verbose_name=_("message")
    )
    accepted_at = models.DateTimeField(_("accepted at"), default=timezone.now)
    response = models.TextField(_("server's answer"), blank=True)
    worker = models.CharField(_("worker"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("delivery receipt")
        verbose_name_plural = _("delivery receipts")
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.message_id}: {self.response[:60]}"


class MessageItem(models.Model):
    """An item a message listed, with the figures it showed."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="items")
    receivable = models.ForeignKey(
        "ledger.Receivable", on_delete=models.CASCADE, related_name="message_items"
    )
    open_amount = MoneyField(_("open amount"))
    days_overdue = models.IntegerField(_("days overdue"))
    interest = MoneyField(_("interest"), default=0)

    class Meta:
        verbose_name = _("listed item")
        verbose_name_plural = _("listed items")
        indexes = [models.Index(fields=["receivable"], name="messageitem_receivable")]

    def __str__(self) -> str:
        return str(self.receivable)


def _batch_path(batch: PrintBatch, filename: str) -> str:
    return f"print-batches/{batch.company_id}/{batch.day:%Y/%m}/{filename}"


class PrintBatch(models.Model):
    """The day's letters merged into one PDF, behind a cover list for the post room."""

    company = models.ForeignKey(
        "ledger.Company", on_delete=models.CASCADE, related_name="print_batches"
    )
    day = models.DateField(_("date"))
    document = models.FileField(_("PDF"), upload_to=_batch_path, blank=True)
    letters = models.PositiveIntegerField(_("letters"), default=0)
    registered = models.PositiveIntegerField(_("registered letters"), default=0)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("print batch")
        verbose_name_plural = _("print batches")
        ordering = ["-day", "-id"]

    def __str__(self) -> str:
        return f"{self.day:%d/%m/%Y} #{self.pk} ({self.letters})"


# --------------------------------------------------------------------------------------
# The company's own mail accounts
# --------------------------------------------------------------------------------------


class AccountKind(models.TextChoices):
    EMAIL = "email", _("Ordinary email")
    PEC = "pec", _("PEC")


class Security(models.TextChoices):
    STARTTLS = "starttls", _("STARTTLS (usually port 587)")
    SSL_TLS = "ssl", _("SSL/TLS (usually port 465)")
    NONE = "none", _("None (only inside a trusted network)")


# The transport's scheme for each kind of security (see comms.transport).
SCHEME_FOR_SECURITY = {
    Security.STARTTLS: "smtp+tls",
    Security.SSL_TLS: "smtps",
    Security.NONE: "smtp",
}


class CompanyMailAccount(models.Model):
    """The SMTP account a company's emails (or its PEC) go out from. An enabled one wins
    over the installation's account of the environment (``EMAIL_URL``, ``PEC_EMAIL_URL``).

    The password is stored encrypted (``comms.secrets``) and never shown: the audit trail
    records only that it changed (the field is named ``password`` so that it is redacted).
    """

    company = models.ForeignKey(
        "ledger.Company", on_delete=models.CASCADE, related_name="mail_accounts"
    )
    kind = models.CharField(_("account"), max_length=10, choices=AccountKind.choices)
    enabled = models.BooleanField(
        _("in use"),
        default=True,
        help_text=_("Off: messages go out from the installation's account, as before."),
    )
    host = models.CharField(_("SMTP server"), max_length=255)
    port = models.PositiveIntegerField(
        _("port"), default=587, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    security = models.CharField(
        _("security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    username = models.CharField(_("user name"), max_length=254, blank=True)
    password = models.TextField(_("password (encrypted)"), blank=True, editable=False)
    from_address = models.EmailField(
        _("sender address"),
        blank=True,
        help_text=_("Empty: the company's email (its PEC for the PEC account)."),
    )
    from_name = models.CharField(
        _("sender name"),
        max_length=100,
        blank=True,
        help_text=_("Empty: the company's sender name."),
    )
    reply_to = models.EmailField(
        _("reply-to address"), blank=True, help_text=_("Empty: the company's reply-to address.")
    )
    rate_per_minute = models.PositiveIntegerField(
        _("messages a minute at most"),
        default=0,
        help_text=_("0: no limit. Many providers refuse more than 30 to 100 a minute."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("mail account")
        verbose_name_plural = _("mail accounts")
        ordering = ["company", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["company", "kind"], name="mailaccount_one_per_kind")
        ]

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{self.get_kind_display()}: {user}{self.host}:{self.port}"

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def scheme(self) -> str:
        return SCHEME_FOR_SECURITY[Security(self.security)]

    def set_password(self, plain: str) -> None:
        """Store ``plain`` encrypted (the empty string removes the password)."""
        from incassa.comms import secrets

        self.password = secrets.encrypt(plain)

    def get_password(self) -> str:
        """The password in clear, for logging in; ``secrets.SecretUnreadable`` when the
        secrets key changed since it was stored."""
        from incassa.comms import secrets

        return secrets.decrypt(self.password)


# --------------------------------------------------------------------------------------
# The company's calendar: public holidays of its place and its own closures
# --------------------------------------------------------------------------------------


class CompanyCalendar(models.Model):
    """Where the company works, for its public holidays (Italy; a province adds its patron
    saint's day). Without one, a company has Italy's national holidays."""

    company = models.OneToOneField(
        "ledger.Company", on_delete=models.CASCADE, related_name="calendar"
    )
    country = models.CharField(_("country"), max_length=2, default="IT")
    subdivision = models.CharField(
        _("province"),
        max_length=20,
        blank=True,
        help_text=_("Adds the patron saint's day of the place, e.g. Milan 7 December."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar")
        verbose_name_plural = _("calendars")

    def __str__(self) -> str:
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country


class CompanyClosure(models.Model):
    """Days the company is closed (both ends included): the August closure, a bridge day."""

    company = models.ForeignKey("ledger.Company", on_delete=models.CASCADE, related_name="closures")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    description = models.CharField(_("description"), max_length=200)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["company", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="closure_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        if self.starts_on == self.ends_on:
            return f"{self.starts_on:%d/%m/%Y} {self.description}"
        return f"{self.starts_on:%d/%m/%Y}-{self.ends_on:%d/%m/%Y} {self.description}"

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": _("A closure cannot end before it starts.")})
