"""Message templates: the texts of the reminders, edited with a preview on a real customer.

Every template (step, email or letter, language) is listed with its version; its page shows
the text, what it would send today to a customer with open items (subject, text, the HTML
email in a sandboxed frame, the PDF), and the versions before it. Saving checks that the
text renders and makes a new version; a text with errors is shown with them and not saved.
Administrators and credit managers edit; collectors and auditors read. With htmx the
preview changes in place (another customer, or the text being typed) without a reload.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.comms import rendering, services
from incassa.comms.models import MessageTemplate
from incassa.ledger.models import Company, Customer, Receivable, ReceivableStatus, Role
from incassa.web import htmx
from incassa.web.customers import Access, _base_context, _today, company_page

EDITING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
VERSIONS_SHOWN = 20
# The customers offered for the preview, found among the customers of this many open items.
PREVIEW_CUSTOMERS = 30
PREVIEW_ITEMS_READ = 200
# The customer previewed first owes at most this many items if one does: a statement of a
# page, rendered in a few hundredths of a second rather than pages in seconds.
PREVIEW_ITEMS_MAX = 3


class TemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=300)
    body = forms.CharField(
        label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "true"})
    )


def _readable(access: Access) -> None:
    if access.is_sales_agent:
        raise PermissionDenied(_("Sales agents do not see the message templates."))


@company_page
def template_list(request: HttpRequest, access: Access) -> HttpResponse:
    _readable(access)
    templates = MessageTemplate.objects.filter(company=access.company).order_by(
        "code", "kind", "language"
    )
    context = {**_base_context(request, access), "templates": list(templates)}
    return render(request, "web/message_templates.html", context)


def _template_and_customer(
    access: Access,
    pk: int,
    customer_id: str | None,
    preview: tuple[list[Customer], Customer | None] | None = None,
) -> tuple[MessageTemplate, Customer | None]:
    template = get_object_or_404(MessageTemplate.objects.filter(company=access.company), pk=pk)
    if customer_id and customer_id.isdigit():
        customer = Customer.objects.filter(company=access.company, pk=int(customer_id)).first()
        if customer is None:
            raise Http404
        return template, customer
    return template, (preview or _preview_customers(access.company, _today()))[1]


def _preview_customers(company: Company, today: Any) -> tuple[list[Customer], Customer | None]:
    """The customers to preview on and the one previewed first, by bounded reads of the
    indexes rather than by counting every open item of the ledger (which took 0.4 s on a
    million items, and chose the customer with the longest statement: seconds of PDF).

    The customers of the open items that fell due last (else of those falling due next),
    in that order; first the earliest of them owing at most ``PREVIEW_ITEMS_MAX`` items,
    else the one owing fewest."""
    open_items = Receivable.objects.filter(company=company, status=ReceivableStatus.OPEN)
    ids: list[int] = []
    for items in (
        open_items.filter(due_date__lt=today).order_by("-due_date"),
        open_items.filter(due_date__gte=today).order_by("due_date"),
    ):
        for customer_id in items.values_list("customer_id", flat=True)[:PREVIEW_ITEMS_READ]:
            if customer_id not in ids:
                ids.append(customer_id)
        if ids:
            break
    ids = ids[:PREVIEW_CUSTOMERS]
    customers = Customer.objects.filter(company=company).in_bulk(ids)
    chosen = [customers[pk] for pk in ids if pk in customers]
    if not chosen:
        return [], None
    owed = dict(
        open_items.filter(customer_id__in=ids)
        .values("customer_id")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("customer_id", "n")
    )
    first = next(
        (c for c in chosen if owed.get(c.pk, 0) <= PREVIEW_ITEMS_MAX),
        min(chosen, key=lambda c: owed.get(c.pk, 0)),
    )
    return chosen, first


@company_page
def template_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    _readable(access)
    params = request.POST if request.method == "POST" else request.GET
    preview = _preview_customers(access.company, _today())
    template, customer = _template_and_customer(access, pk, params.get("customer"), preview)
    may_edit = access.role in EDITING_ROLES
    form = TemplateForm(
        request.POST or None,
        initial={"name": template.name, "subject": template.subject, "body": template.body},
    )
    context: dict[str, Any] = {
        **_base_context(request, access),
        "template": template,
        "customer": customer,
        "customers": preview[0],
        "may_edit": may_edit,
        "form": form,
        "versions": list(template.versions.select_related("created_by")[:VERSIONS_SHOWN]),
    }
    subject = body = None
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("Only administrators and credit managers edit templates."))
        if form.is_valid():
            subject, body = form.cleaned_data["subject"], form.cleaned_data["body"]
            if "save" in request.POST:
                try:
                    services.template_update(
                        template=template,
                        subject=subject,
                        body=body,
                        name=form.cleaned_data["name"],
                        user=request.user,
                    )
                except services.TemplateInvalid as exc:
                    context["errors"] = exc.errors
                else:
                    messages.success(request, _("The template is saved."))
                    return redirect("web:message_template", pk=template.pk)
    if customer is None:
        context["problem"] = _("This company has no customer with open items to preview on.")
    elif "errors" not in context:
        try:
            draft = services.template_preview(
                template=template,
                customer=customer,
                today=_today(),
                subject=subject,
                body=body,
                user=request.user,
                with_pdf=False,  # the page links to it (template_pdf)
            )
        except services.TemplateInvalid as exc:
            context["errors"] = exc.errors
        except services.CommsError as exc:
            context["problem"] = str(exc)
        else:
            context["draft"] = draft
            context["email_document"] = rendering.email_document(
                draft.html, language=draft.language, title=draft.subject
            )
    status = 200
    if request.method == "POST" and ("errors" in context or form.errors):
        status = 400 if "save" in request.POST else 200
    # htmx (another customer, "Preview" of the text being typed) swaps the preview alone.
    return htmx.render_page(
        request,
        "web/message_template.html",
        "web/partials/template_preview_part.html",
        context,
        target="template-preview",
        status=status,
    )


@company_page
def template_pdf(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    """The letter or statement the saved text gives for a customer, as a PDF."""
    _readable(access)
    template, customer = _template_and_customer(access, pk, request.GET.get("customer"))
    if customer is None:
        raise Http404
    try:
        draft = services.template_preview(
            template=template, customer=customer, today=_today(), user=request.user
        )
    except services.CommsError as exc:
        raise Http404(str(exc)) from exc
    if not draft.pdf:
        raise Http404
    response = HttpResponse(draft.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{draft.pdf_name}"'
    return response


urlpatterns = [
    path("templates/", template_list, name="message_templates"),
    path("templates/<int:pk>/", template_detail, name="message_template"),
    path("templates/<int:pk>/preview.pdf", template_pdf, name="message_template_pdf"),
]
