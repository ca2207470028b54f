"""Admin for communications: the rate table, the message templates (edited with a live
preview on a real customer, every change a new version), what went out, and the print
batches of the day's letters."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from incassa.comms import rendering, secrets, services
from incassa.comms.accounts import ACCOUNT_FIELDS, password_state
from incassa.comms.models import (
    CompanyCalendar,
    CompanyClosure,
    CompanyMailAccount,
    InterestRate,
    Message,
    MessageItem,
    MessageStatus,
    MessageTemplate,
    PrintBatch,
    TemplateVersion,
)
from incassa.comms.secrets import SecretError
from incassa.comms.selectors import preview_customers
from incassa.core.admin import ReadOnlyMixin
from incassa.core.calendar import subdivisions
from incassa.ledger.admin import CompanyScopedMixin
from incassa.ledger.models import Customer


@admin.register(InterestRate)
class InterestRateAdmin(admin.ModelAdmin):
    list_display = ("kind", "starts_on", "rate", "source")
    list_filter = ("kind",)
    ordering = ("kind", "-starts_on")


# --------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------


class TemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ("company", "code", "kind", "language", "name", "subject", "body")
        widgets = {
            "subject": forms.TextInput(attrs={"class": "vLargeTextField", "size": 100}),
            "body": forms.Textarea(
                attrs={"rows": 28, "cols": 100, "class": "vLargeTextField incassa-template-body"}
            ),
        }

    def clean(self) -> dict:
        data = super().clean()
        subject, body = data.get("subject"), data.get("body")
        if subject is not None and body is not None:
            errors = rendering.template_errors(subject, body, language=data.get("language") or "it")
            if errors:
                raise forms.ValidationError(errors)
        return data


class TemplateVersionInline(ReadOnlyMixin, admin.TabularInline):
    model = TemplateVersion
    fields = ("number", "created_at", "created_by", "subject")
    readonly_fields = fields
    extra = 0
    ordering = ("-number",)
    verbose_name_plural = _("history")


@admin.register(MessageTemplate)
class MessageTemplateAdmin(CompanyScopedMixin, admin.ModelAdmin):
    form = TemplateForm
    list_display = ("code", "kind", "language", "name", "version", "updated_at", "company")
    list_filter = ("company", "kind", "language", "code")
    search_fields = ("code", "name", "subject", "body")
    readonly_fields = ("version", "updated_at", "updated_by")
    inlines = [TemplateVersionInline]
    change_form_template = "admin/comms/messagetemplate/change_form.html"

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple:
        if obj is not None:  # the identity of a template stays; its text changes
            return (*self.readonly_fields, "company", "code", "kind", "language")
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form, change: bool) -> None:
        if not change:
            obj.subject, obj.body = services.normalized_text(obj.subject, obj.body)
            obj.updated_by = request.user
            super().save_model(request, obj, form, change)
            TemplateVersion.objects.create(
                template=obj, number=obj.version, subject=obj.subject, body=obj.body,
                created_by=request.user,
            )  # fmt: skip
            return
        subject, body, name = obj.subject, obj.body, obj.name
        obj.refresh_from_db()
        services.template_update(
            template=obj, subject=subject, body=body, name=name, user=request.user
        )
        obj.refresh_from_db()

    def get_urls(self) -> list:
        urls = super().get_urls()
        mine = [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="comms_messagetemplate_preview",
            ),
            path(
                "<int:pk>/preview.pdf",
                self.admin_site.admin_view(self.preview_pdf_view),
                name="comms_messagetemplate_preview_pdf",
            ),
        ]
        return mine + urls

    def _template_and_customer(
        self, request: HttpRequest, pk: int
    ) -> tuple[MessageTemplate, Customer | None]:
        template = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        params = request.POST if request.method == "POST" else request.GET
        customers = Customer.objects.filter(company=template.company)
        customer_id = params.get("customer")
        if customer_id and customer_id.isdigit():
            customer = customers.filter(pk=int(customer_id)).first()
            if customer is None:
                raise Http404
            return template, customer
        first = preview_customers(template.company_id, limit=1)
        return template, first[0] if first else None

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The message as a customer would get it; POST previews the unsaved text."""
        template, customer = self._template_and_customer(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "template": template,
            "customer": customer,
            "customers": preview_customers(template.company_id),
            "opts": self.model._meta,
            "title": _("Preview"),
        }
        if customer is None:
            context["error"] = _("This company has no customer with open items yet.")
        else:
            subject = request.POST.get("subject") if request.method == "POST" else None
            body = request.POST.get("body") if request.method == "POST" else None
            try:
                result = services.template_preview(
                    template=template,
                    customer=customer,
                    today=timezone.localdate(),
                    subject=subject,
                    body=body,
                    user=request.user,
                )
            except services.TemplateInvalid as exc:
                context["errors"] = exc.errors
            except services.CommsError as exc:
                context["error"] = str(exc)
            else:
                context["draft"] = result
                context["email_document"] = rendering.email_document(
                    result.html, language=result.language, title=result.subject
                )
                context["pdf_url"] = (
                    reverse("admin:comms_messagetemplate_preview_pdf", args=[template.pk])
                    + f"?customer={customer.pk}"
                )
        name = "_preview.html" if request.headers.get("X-Preview") else "preview.html"
        return TemplateResponse(request, f"admin/comms/messagetemplate/{name}", context)

    def preview_pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        template, customer = self._template_and_customer(request, pk)
        if customer is None:
            raise Http404
        try:
            result = services.template_preview(
                template=template, customer=customer, today=timezone.localdate(), user=request.user
            )
        except services.CommsError as exc:
            raise Http404(str(exc)) from exc
        response = HttpResponse(result.pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{result.pdf_name}"'
        return response


# --------------------------------------------------------------------------------------
# Messages and print batches
# --------------------------------------------------------------------------------------


class MessageItemInline(ReadOnlyMixin, admin.TabularInline):
    model = MessageItem
    fields = ("receivable", "open_amount", "days_overdue", "interest")
    readonly_fields = fields
    extra = 0


@admin.register(Message)
class MessageAdmin(CompanyScopedMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "customer",
        "medium",
        "status",
        "subject",
        "attempts",
        "sent_at",
        "registered_number",
    )
    list_filter = ("company", "medium", "status", "language")
    list_select_related = ("customer",)
    search_fields = ("customer__code", "customer__name", "subject", "recipients", "message_id")
    date_hierarchy = "created_at"
    inlines = [MessageItemInline]
    actions = ["retry"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "customer",
                    "action",
                    "medium",
                    "status",
                    "language",
                    "template_version",
                    "note",
                )
            },
        ),
        (
            _("Envelope"),
            {"fields": ("sender", "recipients", "reply_to", "message_id", "registered_number")},
        ),
        (_("Content"), {"fields": ("subject", "body_text", "files")}),
        (
            _("Figures"),
            {
                "fields": (
                    "item_count",
                    "total_amount",
                    "interest",
                    "compensation",
                    "payment_reference",
                )
            },
        ),
        (
            _("Delivery"),
            {
                "fields": (
                    "attempts",
                    "next_attempt_at",
                    "last_response",
                    "sent_at",
                    "print_batch",
                )
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # What went out is kept as it went out; only the registered number is written later.
        fields = [f.name for f in Message._meta.fields if f.name != "registered_number"]
        return [*fields, "files"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("files"))
    def files(self, obj: Message) -> str:
        links = []
        if obj.document:
            url = reverse("admin:comms_message_file", args=[obj.pk, "document"])
            links.append(format_html('<a href="{}">{}</a>', url, _("PDF")))
        if obj.raw:
            url = reverse("admin:comms_message_file", args=[obj.pk, "raw"])
            links.append(format_html('<a href="{}">{}</a>', url, _("raw email (.eml)")))
        return format_html(" · ".join(["{}"] * len(links)), *links) if links else "-"

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/file/<str:which>/",
                self.admin_site.admin_view(self.file_view),
                name="comms_message_file",
            ),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, pk: int, which: str) -> FileResponse:
        message = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, message):
            raise PermissionDenied
        if which not in {"document", "raw"} or not getattr(message, which):
            raise Http404
        handle = getattr(message, which).open("rb")
        content_type = "application/pdf" if which == "document" else "message/rfc822"
        return FileResponse(
            handle,
            content_type=content_type,
            filename=getattr(message, which).name.rsplit("/", 1)[-1],
        )

    def save_model(self, request: HttpRequest, obj: Message, form, change: bool) -> None:
        if "registered_number" in form.changed_data:
            try:
                services.message_registered_number_set(
                    message=obj, number=form.cleaned_data["registered_number"]
                )
            except services.CommsError as exc:
                self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description=_("Send the selected failed messages again"))
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for message in queryset.filter(status=MessageStatus.FAILED):
            services.message_retry(message=message, user=request.user)
            done += 1
        self.message_user(request, _("%(count)d message(s) queued again.") % {"count": done})


@admin.register(PrintBatch)
class PrintBatchAdmin(CompanyScopedMixin, admin.ModelAdmin):
    list_display = ("day", "company", "letters", "registered", "pages", "posted_at", "download")
    list_filter = ("company",)
    date_hierarchy = "day"
    actions = ["mark_posted"]
    readonly_fields = (
        "company",
        "day",
        "letters",
        "registered",
        "pages",
        "created_at",
        "created_by",
        "posted_at",
        "posted_by",
        "download",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("PDF"))
    def download(self, obj: PrintBatch) -> str:
        if not obj.document:
            return "-"
        url = reverse("admin:comms_printbatch_file", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("download"))

    def get_urls(self) -> list:
        return [
            path(
                "<int:pk>/file/",
                self.admin_site.admin_view(self.file_view),
                name="comms_printbatch_file",
            ),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, pk: int) -> FileResponse:
        batch = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        if not batch.document:
            raise Http404
        return FileResponse(
            batch.document.open("rb"),
            content_type="application/pdf",
            filename=batch.document.name.rsplit("/", 1)[-1],
        )

    @admin.action(description=_("Mark the selected batches as posted"))
    def mark_posted(self, request: HttpRequest, queryset: QuerySet) -> None:
        for batch in queryset:
            try:
                services.print_batch_mark_posted(batch=batch, user=request.user)
            except services.CommsError as exc:
                self.message_user(request, f"{batch}: {exc}", messages.WARNING)


# --------------------------------------------------------------------------------------
# The companies' own mail accounts and calendars
# --------------------------------------------------------------------------------------


class MailAccountAdminForm(forms.ModelForm):
    """The password is write-only: never rendered back; empty keeps the stored one."""

    new_password = forms.CharField(
        label=_("password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the stored password."),
    )
    clear_password = forms.BooleanField(label=_("remove the stored password"), required=False)

    class Meta:
        model = CompanyMailAccount
        fields = ("company", "kind", *ACCOUNT_FIELDS)

    def clean_new_password(self) -> str:
        password = self.cleaned_data.get("new_password") or ""
        if password:
            try:  # a wrong INCASSA_SECRETS_KEY is said here, not as a traceback
                secrets.encrypt(password)
            except SecretError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return password

    def save(self, commit: bool = True) -> CompanyMailAccount:
        account = super().save(commit=False)
        if self.cleaned_data.get("clear_password"):
            account.password = ""
        elif self.cleaned_data.get("new_password"):
            account.set_password(self.cleaned_data["new_password"])
        if commit:
            account.save()
        return account


@admin.register(CompanyMailAccount)
class CompanyMailAccountAdmin(CompanyScopedMixin, admin.ModelAdmin):
    form = MailAccountAdminForm
    list_display = ("company", "kind", "enabled", "host", "port", "security", "username", "state")
    list_filter = ("kind", "enabled", "security")
    search_fields = ("company__name", "host", "username")
    readonly_fields = ("state", "updated_at", "updated_by")
    fields = (
        "company",
        "kind",
        *ACCOUNT_FIELDS,
        "new_password",
        "clear_password",
        "state",
        "updated_at",
        "updated_by",
    )

    @admin.display(description=_("password"))
    def state(self, obj: CompanyMailAccount) -> str:
        return {
            "set": _("set"),
            "not set": _("not set"),
            "unreadable": _("unreadable: enter it again"),
        }[password_state(obj)]

    def save_model(self, request: HttpRequest, obj: CompanyMailAccount, form, change) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class CalendarAdminForm(forms.ModelForm):
    subdivision = forms.ChoiceField(label=_("province"), required=False, choices=())

    class Meta:
        model = CompanyCalendar
        fields = ("company", "country", "subdivision")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subdivision"].choices = [("", "-"), *subdivisions("IT").items()]

    def clean_country(self) -> str:
        if self.cleaned_data["country"].upper() != "IT":
            raise forms.ValidationError(_("Only Italy's calendar is available."))
        return "IT"


@admin.register(CompanyCalendar)
class CompanyCalendarAdmin(CompanyScopedMixin, admin.ModelAdmin):
    form = CalendarAdminForm
    list_display = ("company", "country", "subdivision", "updated_at")
    fields = ("company", "country", "subdivision")


@admin.register(CompanyClosure)
class CompanyClosureAdmin(CompanyScopedMixin, admin.ModelAdmin):
    list_display = ("company", "starts_on", "ends_on", "description")
    list_filter = ("company",)
    date_hierarchy = "starts_on"
