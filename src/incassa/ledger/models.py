"""The ledger's data: who is owed what, by whom, since when, and every change to it.

A ``Receivable`` is one installment (scadenza) of one document, identified by its natural
key (company, customer code, document number, due date): an invoice paid in three
installments is three items. Imports never delete an item; they create, change, close and
reopen, and every such change is kept as a ``ReceivableEvent`` so that the story of each
invoice and each customer can be told later.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat as eu_vat
from stdnum.it import codicefiscale, iva

from incassa.core.fields import MoneyField


def validate_vat_number(value: str) -> None:
    """Italian VAT numbers may come without the ``IT`` prefix; others need their country."""
    if not value:
        return
    compact = value.replace(" ", "").upper()
    valid = iva.is_valid(compact) if compact.isdigit() else eu_vat.is_valid(compact)
    if not valid:
        raise ValidationError(_("%(value)s is not a valid VAT number"), params={"value": value})


def validate_fiscal_code(value: str) -> None:
    """A person's 16-character code or a company's 11-digit number."""
    if not value:
        return
    compact = value.replace(" ", "").upper()
    valid = iva.is_valid(compact) if compact.isdigit() else codicefiscale.is_valid(compact)
    if not valid:
        raise ValidationError(_("%(value)s is not a valid fiscal code"), params={"value": value})


def validate_iban(value: str) -> None:
    """Reminders print the IBAN and encode it in a QR code: a typo would send money astray."""
    if not value:
        return
    try:
        IBAN(value)
    except SchwiftyException as exc:
        raise ValidationError(
            _("%(value)s is not a valid IBAN: %(reason)s"), params={"value": value, "reason": exc}
        ) from exc


MAX_LOGO_BYTES = 2 * 1024 * 1024


def validate_logo_size(value) -> None:
    if value and value.size > MAX_LOGO_BYTES:
        raise ValidationError(_("The logo must be smaller than 2 MB."))


class InterestKind(models.TextChoices):
    COMMERCIAL = "commercial", _("Commercial (D.Lgs. 231/2002)")
    FOOD = "food", _("Agricultural and food products")
    LEGAL = "legal", _("Legal rate (consumers)")


class Company(models.Model):
    """The creditor: the company whose receivables Incassa manages."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    vat_number = models.CharField(
        _("VAT number"), max_length=20, blank=True, validators=[validate_vat_number]
    )
    fiscal_code = models.CharField(
        _("fiscal code"), max_length=16, blank=True, validators=[validate_fiscal_code]
    )
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[validate_iban])
    address = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=2, blank=True)
    country = models.CharField(_("country"), max_length=2, default="IT")
    email = models.EmailField(
        _("email"), blank=True, help_text=_("The sender of reminders to customers.")
    )
    sender_name = models.CharField(
        _("sender name"),
        max_length=100,
        blank=True,
        help_text=_("Shown beside the sender address, e.g. 'Acme - Ufficio crediti'."),
    )
    reply_to = models.EmailField(
        _("reply-to address"), blank=True, help_text=_("Empty: replies go to the sender.")
    )
    pec = models.EmailField(_("PEC"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    logo = models.FileField(
        _("logo"),
        upload_to="logos/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg", "svg"]), validate_logo_size],
        help_text=_("PNG, JPEG or SVG, printed on the letterhead."),
    )
    signature = models.TextField(
        _("signature"), blank=True, help_text=_("Closes every letter and email.")
    )
    letter_footer = models.TextField(
        _("letterhead footer"),
        blank=True,
        help_text=_("Legal data printed at the foot of every letter: share capital, REA..."),
    )
    max_close_share = models.DecimalField(
        _("largest share of open items a snapshot may close"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("Empty: the installation's default (INCASSA_MAX_CLOSE_SHARE)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def close_share_limit(self) -> Decimal:
        if self.max_close_share is not None:
            return self.max_close_share
        return Decimal(str(settings.INCASSA_MAX_CLOSE_SHARE))


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    CREDIT_MANAGER = "credit_manager", _("Credit manager")
    COLLECTOR = "collector", _("Collector")
    SALES_AGENT = "sales_agent", _("Sales agent")
    AUDITOR = "auditor", _("Auditor")


class Membership(models.Model):
    """What a user may do in one company; a user sees only the companies they belong to."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("company")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "company"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.company} ({self.get_role_display()})"


class SalesAgent(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="sales_agents", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
        help_text=_("The login of this agent, to show them their customers."),
    )

    class Meta:
        verbose_name = _("sales agent")
        verbose_name_plural = _("sales agents")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="salesagent_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class CustomerCategory(models.Model):
    """A class of customers (e.g. retail, distributor, public administration).

    Dunning strategies are chosen per category.
    """

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="categories", verbose_name=_("company")
    )
    code = models.CharField(_("code"), max_length=60)
    name = models.CharField(_("name"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("customer category")
        verbose_name_plural = _("customer categories")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="category_unique_code")
        ]

    def __str__(self) -> str:
        return self.name or self.code


class Customer(models.Model):
    """A debtor, identified by the code the company's ERP gives it."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="customers", verbose_name=_("company")
    )
    code = models.CharField(_("customer code"), max_length=60)
    name = models.CharField(_("company name"), max_length=200, blank=True)
    vat_number = models.CharField(
        _("VAT number"), max_length=20, blank=True, validators=[validate_vat_number]
    )
    fiscal_code = models.CharField(
        _("fiscal code"), max_length=16, blank=True, validators=[validate_fiscal_code]
    )
    emails = models.CharField(
        _("emails"), max_length=500, blank=True, help_text=_("Several addresses: comma-separated.")
    )
    pec = models.EmailField(_("PEC"), blank=True)
    recipient_code = models.CharField(
        _("recipient code"),
        max_length=7,
        blank=True,
        default="",
        db_default="",
        help_text=_("The e-invoicing exchange system's code (codice destinatario, SDI)."),
    )
    phone = models.CharField(_("phone"), max_length=60, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=2, blank=True)
    country = models.CharField(_("country"), max_length=2, default="IT", blank=True)
    language = models.CharField(
        _("language"), max_length=5, choices=settings.LANGUAGES, default="it"
    )
    category = models.ForeignKey(
        CustomerCategory,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("category"),
    )
    sales_agent = models.ForeignKey(
        SalesAgent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("sales agent"),
    )
    payment_terms = models.CharField(_("payment terms"), max_length=100, blank=True)
    interest_kind = models.CharField(
        _("late interest"),
        max_length=12,
        choices=InterestKind.choices,
        default=InterestKind.COMMERCIAL,
        help_text=_("Which statutory rate applies to its late payments."),
    )
    credit_limit = MoneyField(_("credit limit"), null=True, blank=True)
    customer_since = models.DateField(_("customer since"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["company", "code"]
        constraints = [
            models.UniqueConstraint(fields=["company", "code"], name="customer_unique_code")
        ]
        indexes = [models.Index(fields=["company", "name"], name="customer_company_name")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()

    @property
    def email_list(self) -> list[str]:
        return [e.strip() for e in self.emails.replace(";", ",").split(",") if e.strip()]


class DocumentType(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")
    DEBIT_NOTE = "debit_note", _("Debit note")


class ReceivableStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class ImportKind(models.TextChoices):
    RECEIVABLES = "receivables", _("Receivables snapshot")
    INVOICES = "invoices", _("Issued invoices")
    EINVOICES = "einvoices", _("E-invoices (FatturaPA)")
    STATEMENT = "statement", _("Bank statement")


class ImportStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected: invalid rows")
    REFUSED = "refused", _("Refused: would close too many items")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    """One file given to an import, applied or not: the audit of where the ledger came from."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="imports", verbose_name=_("company")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    file_name = models.CharField(_("file name"), max_length=500)
    checksum = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    as_of = models.DateField(_("as of"))
    is_partial = models.BooleanField(_("partial"), default=False)
    is_forced = models.BooleanField(_("forced"), default=False)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    closed = models.PositiveIntegerField(_("closed"), default=0)
    reopened = models.PositiveIntegerField(_("reopened"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    customers_created = models.PositiveIntegerField(_("customers created"), default=0)
    message = models.TextField(_("message"), blank=True)
    report = models.JSONField(_("report"), default=dict, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    source = models.CharField(
        _("source"), max_length=200, blank=True, help_text=_("Command line, web upload, inbox.")
    )
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.as_of})"


class Receivable(models.Model):
    """One installment of one document: what a customer owes, due on one date."""

    company = models.ForeignKey(
        Company,
        on_delete=models.CASCADE,
        related_name="receivables",
        verbose_name=_("company"),
        db_index=False,  # every index of the table starts with it
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="receivables", verbose_name=_("customer")
    )
    document_number = models.CharField(_("document number"), max_length=60)
    document_date = models.DateField(_("document date"), null=True, blank=True)
    due_date = models.DateField(_("due date"))
    document_type = models.CharField(
        _("document type"), max_length=20, choices=DocumentType.choices, default="invoice"
    )
    amount = MoneyField(_("amount"))
    open_amount = MoneyField(_("open amount"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    status = models.CharField(
        _("status"), max_length=10, choices=ReceivableStatus.choices, default="open"
    )
    first_seen_on = models.DateField(_("first seen on"))
    last_changed_on = models.DateField(_("last changed on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("receivable")
        verbose_name_plural = _("receivables")
        ordering = ["due_date", "document_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "customer", "document_number", "due_date"],
                name="receivable_natural_key",
            )
        ]
        indexes = [
            # Covering indexes: totals, aging and top debtors are read from the index alone.
            models.Index(
                fields=["company", "status", "due_date", "open_amount"],
                name="receivable_status_due",
            ),
            models.Index(
                fields=["company", "status", "customer", "due_date", "open_amount"],
                name="receivable_customer_due",
            ),
            # The items by open amount, largest first (the collectors' usual order): a page is
            # read from the top of the index, not sorted out of every open item.
            models.Index(
                fields=["company", "status", "-open_amount", "due_date"],
                name="receivable_status_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_number} {self.due_date:%d/%m/%Y}"

    @property
    def is_open(self) -> bool:
        return self.status == ReceivableStatus.OPEN

    def days_overdue(self, as_of: dt.date) -> int:
        """Days past the due date on ``as_of``; zero or negative when not yet due."""
        return (as_of - self.due_date).days


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    AMOUNT_CHANGED = "amount_changed", _("Amount changed")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


class ReceivableEvent(models.Model):
    """A change to an item, dated by the snapshot that showed it. Never edited."""

    receivable = models.ForeignKey(
        Receivable,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("item"),
        db_index=False,  # covered by event_receivable_date
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    on_date = models.DateField(_("date"))
    amount_before = MoneyField(_("open amount before"), null=True, blank=True)
    amount_after = MoneyField(_("open amount after"), null=True, blank=True)
    import_run = models.ForeignKey(
        ImportRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("import"),
        db_index=False,  # imports are never deleted; keeps the bulk insert lean
    )

    class Meta:
        verbose_name = _("item event")
        verbose_name_plural = _("item events")
        ordering = ["on_date", "id"]
        indexes = [models.Index(fields=["receivable", "on_date"], name="event_receivable_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on_date}"


class IssuedInvoice(models.Model):
    """A document issued in a period, paid or not: the credit sales that KPIs divide by."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="issued_invoices", verbose_name=_("company")
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="issued_invoices",
        verbose_name=_("customer"),
    )
    document_number = models.CharField(_("document number"), max_length=60)
    document_date = models.DateField(_("document date"), null=True, blank=True)
    due_date = models.DateField(_("due date"))
    document_type = models.CharField(
        _("document type"), max_length=20, choices=DocumentType.choices, default="invoice"
    )
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    import_run = models.ForeignKey(
        ImportRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("import"),
    )

    class Meta:
        verbose_name = _("issued invoice")
        verbose_name_plural = _("issued invoices")
        ordering = ["document_date", "document_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "customer", "document_number", "due_date"],
                name="issuedinvoice_natural_key",
            )
        ]
        indexes = [models.Index(fields=["company", "document_date"], name="issuedinvoice_date")]

    def __str__(self) -> str:
        return self.document_number


class ColumnMapping(models.Model):
    """A company's saved answer to "which field is this column?" for headers Incassa does not
    recognise by itself."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="column_mappings", verbose_name=_("company")
    )
    column = models.CharField(_("column header"), max_length=200)
    field = models.CharField(_("field"), max_length=40)

    class Meta:
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")
        constraints = [
            models.UniqueConstraint(fields=["company", "column"], name="columnmapping_unique")
        ]

    def __str__(self) -> str:
        return f"{self.column} → {self.field}"


class OpenBalance(models.Model):
    """What a customer owed at the last computation: the ranking that long lists sort by.

    Summing a million open items per customer takes the better part of a second, too long
    for every page that lists customers by what they owe (the customers list, the top
    debtors, the portfolios). The sums are computed again after every import and every
    computation of the scores (``ledger.services.open_balances_refresh``), and used only
    while no newer snapshot has been applied (``OpenBalanceState``); the overdue amount is
    as of ``computed_on``. Pages show the live figures of the rows they display.
    """

    # Rewritten whole by every computation, like the items' criticality: no constraints to
    # check row by row.
    customer = models.OneToOneField(
        Customer,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="open_balance",
        db_constraint=False,
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    # The customer's code again, so that the list's order (overdue, open, code) is read from
    # one index without joining the customers.
    code = models.CharField(_("customer code"), max_length=60)
    open_amount = MoneyField(_("open amount"))
    overdue_amount = MoneyField(_("overdue amount"))
    open_items = models.PositiveIntegerField(_("open items"))

    class Meta:
        verbose_name = _("open balance")
        verbose_name_plural = _("open balances")
        indexes = [
            models.Index(
                fields=["company", "-overdue_amount", "-open_amount", "code"],
                name="openbalance_overdue_rank",
            ),
            models.Index(fields=["company", "-open_amount", "customer"], name="openbalance_rank"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.open_amount}"


class OpenBalanceState(models.Model):
    """When a company's ``OpenBalance`` rows were computed, and from which snapshot."""

    company = models.OneToOneField(
        Company, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    # The latest applied snapshot when the sums were taken: newer ones make them stale.
    import_run_id = models.BigIntegerField(_("snapshot"), null=True)
    computed_on = models.DateField(_("overdue as of"))
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("open balances' state")
        verbose_name_plural = _("open balances' states")

    def __str__(self) -> str:
        return f"{self.company_id}: {self.computed_on:%d/%m/%Y}"


class OpenByDueDate(models.Model):
    """The open items of a company summed per due date (a few thousand rows), computed
    with ``OpenBalance``: the aging buckets and the totals of any day are added up from it
    instead of from a million items."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    due_date = models.DateField(_("due date"))
    open_amount = MoneyField(_("open amount"))
    open_items = models.PositiveIntegerField(_("open items"))

    class Meta:
        verbose_name = _("open amount by due date")
        verbose_name_plural = _("open amounts by due date")
        constraints = [
            models.UniqueConstraint(fields=["company", "due_date"], name="openbyduedate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.due_date:%d/%m/%Y}: {self.open_amount}"


class EInvoice(models.Model):
    """An e-invoice (FatturaPA) the company issued, as the exchange system delivered it.

    Its installments are open items (``EInvoiceInstallment``); the document itself is kept
    so that importing it again changes nothing, and so that the payment method and the IBAN
    the customer was told to pay are known.
    """

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="einvoices", verbose_name=_("company")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="einvoices", verbose_name=_("customer")
    )
    import_run = models.ForeignKey(
        ImportRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="einvoices",
        verbose_name=_("import"),
    )
    document_type = models.CharField(_("document type (TD)"), max_length=4)
    number = models.CharField(_("number"), max_length=60)
    date = models.DateField(_("date"))
    total = MoneyField(_("total"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    transmission_format = models.CharField(_("transmission format"), max_length=5)
    file_name = models.CharField(_("file name"), max_length=500)
    body_index = models.PositiveSmallIntegerField(_("body in the file"), default=1)
    payment_terms = models.CharField(_("payment terms (TP)"), max_length=4, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("e-invoice")
        verbose_name_plural = _("e-invoices")
        ordering = ["-date", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "document_type", "number", "date"], name="einvoice_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.date:%d/%m/%Y}"


class EInvoiceInstallment(models.Model):
    """One payment detail of an e-invoice and the open item it is (or became)."""

    einvoice = models.ForeignKey(
        EInvoice,
        on_delete=models.CASCADE,
        related_name="installments",
        verbose_name=_("e-invoice"),
    )
    receivable = models.ForeignKey(
        Receivable,
        on_delete=models.CASCADE,
        related_name="einvoice_installments",
        verbose_name=_("item"),
    )
    position = models.PositiveSmallIntegerField(_("installment"))
    amount = MoneyField(_("amount"))
    due_date = models.DateField(_("due date"))
    due_date_source = models.CharField(
        _("due date from"),
        max_length=10,
        help_text=_("file: the invoice's own; terms: its days; customer: the customer's terms."),
    )
    payment_method = models.CharField(_("payment method (MP)"), max_length=4, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    erp_listed_on = models.DateField(
        _("first listed by the ERP on"),
        null=True,
        blank=True,
        help_text=_("Until a snapshot lists it, a snapshot that does not is not yet news."),
    )

    class Meta:
        verbose_name = _("e-invoice installment")
        verbose_name_plural = _("e-invoice installments")
        ordering = ["einvoice", "position"]

    def __str__(self) -> str:
        return f"{self.einvoice} #{self.position}"


class BankPaidStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for the ERP")
    DIFFERS = "differs", _("ERP still shows it open")
    BOOKED = "booked", _("Booked by the ERP")
    REVERSED = "reversed", _("Payment undone")


class BankPaidItem(models.Model):
    """An item that a bank payment paid, wholly or in part, before the ERP booked it.

    The bank is ahead of the ERP: a snapshot that still lists the item as open (or as owing
    more than the bank left) does not reopen it or raise it back, so the customer is never
    chased for what they paid. The difference is flagged for the accountants (``DIFFERS``)
    until a snapshot agrees (``BOOKED``).
    """

    receivable = models.OneToOneField(
        Receivable,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="bank_paid",
        verbose_name=_("item"),
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="+", verbose_name=_("company")
    )
    paid_amount = MoneyField(_("paid by the bank"))
    paid_on = models.DateField(_("paid on"))
    status = models.CharField(
        _("status"), max_length=10, choices=BankPaidStatus.choices, default=BankPaidStatus.WAITING
    )
    erp_open_amount = MoneyField(_("open amount in the ERP"), null=True, blank=True)
    flagged_on = models.DateField(_("flagged on"), null=True, blank=True)
    flagged_by_import = models.ForeignKey(
        ImportRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("flagged by the snapshot"),
    )
    settled_on = models.DateField(_("settled on"), null=True, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checked by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("item paid by the bank")
        verbose_name_plural = _("items paid by the bank")
        indexes = [models.Index(fields=["company", "status"], name="bankpaiditem_status")]

    def __str__(self) -> str:
        return f"{self.receivable_id}: {self.get_status_display()}"
