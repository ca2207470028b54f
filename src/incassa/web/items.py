"""The items list: every item of the company, filtered and sorted (the most critical first),
with bulk actions on the ones ticked (hold, release, assign their customers to an operator)
and the filtered list exported to CSV or Excel. With htmx the filters, the order and the
pages swap the list in place (the bulk form still posts and comes back as without it).

Built for a million items: the default order reads the criticality index, the other orders
the ledger's covering indexes, and a page holds 50 rows whose dunning state is read in
three queries. Bulk actions take at most a page of items; exports stop at
``EXPORT_LIMIT`` rows and say so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from incassa.core.exports import rows_to_csv, rows_to_xlsx
from incassa.core.fields import AmountFormField
from incassa.core.pagination import KeysPaginator
from incassa.credit.models import ItemCriticality
from incassa.dunning import services as dunning
from incassa.dunning.models import Hold, HoldKind
from incassa.dunning.selectors import item_states
from incassa.ledger.models import (
    CustomerCategory,
    Receivable,
    ReceivableStatus,
    Role,
    SalesAgent,
)
from incassa.web import htmx
from incassa.web.customers import (
    Access,
    DateInput,
    HoldForm,
    _base_context,
    _form_errors,
    _today,
    company_page,
)
from incassa.workspace.portfolios import acting_members
from incassa.workspace.work import WorkError, customer_assign

PAGE_SIZE = 50
BULK_LIMIT = 200
EXPORT_LIMIT = 100_000

SORTS = {
    "criticality": gettext_lazy("Most critical first"),
    "due_date": gettext_lazy("Oldest due date first"),
    "-due_date": gettext_lazy("Latest due date first"),
    "-open_amount": gettext_lazy("Largest open amount first"),
    "customer": gettext_lazy("Customer"),
}
STATUSES = {
    "open": gettext_lazy("Open"),
    "closed": gettext_lazy("Closed"),
    "all": gettext_lazy("All"),
}


class ItemFilter(forms.Form):
    q = forms.CharField(label=gettext_lazy("Document or customer"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), choices=list(STATUSES.items()), required=False
    )
    overdue = forms.BooleanField(label=gettext_lazy("Overdue only"), required=False)
    held = forms.BooleanField(label=gettext_lazy("On hold only"), required=False)
    due_from = forms.DateField(label=gettext_lazy("Due from"), required=False, widget=DateInput())
    due_to = forms.DateField(label=gettext_lazy("Due to"), required=False, widget=DateInput())
    min_amount = AmountFormField(label=gettext_lazy("Open amount from"), required=False)
    category = forms.TypedChoiceField(
        label=gettext_lazy("Category"), coerce=int, required=False, empty_value=None
    )
    agent = forms.TypedChoiceField(
        label=gettext_lazy("Sales agent"), coerce=int, required=False, empty_value=None
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("Order"), choices=list(SORTS.items()), required=False
    )

    def __init__(self, *args: Any, access: Access, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        categories = CustomerCategory.objects.filter(company=access.company).order_by("name")
        agents = SalesAgent.objects.filter(company=access.company).order_by("name")
        if access.is_sales_agent:
            agents = agents.filter(pk__in=access.customers.values("sales_agent"))
        self.fields["category"].choices = [("", "—"), *categories.values_list("pk", "name")]
        self.fields["agent"].choices = [("", "—"), *agents.values_list("pk", "name")]


@dataclass(frozen=True)
class Row:
    state: Any  # dunning ItemState
    criticality: Decimal | None


def _filtered(access: Access, data: dict[str, Any], today: dt.date) -> QuerySet[Receivable]:
    items = access.receivables()
    status = data.get("status") or "open"
    if status == "open":
        items = items.filter(status=ReceivableStatus.OPEN)
    elif status == "closed":
        items = items.filter(status=ReceivableStatus.CLOSED)
    search = (data.get("q") or "").strip()
    if search:
        items = items.filter(
            Q(document_number__istartswith=search)
            | Q(customer__code__iexact=search)
            | Q(customer__name__icontains=search)
        )
    if data.get("overdue"):
        items = items.filter(status=ReceivableStatus.OPEN, due_date__lt=today)
    if data.get("due_from"):
        items = items.filter(due_date__gte=data["due_from"])
    if data.get("due_to"):
        items = items.filter(due_date__lte=data["due_to"])
    if data.get("min_amount") is not None:
        items = items.filter(open_amount__gte=data["min_amount"])
    if data.get("category"):
        items = items.filter(customer__category_id=data["category"])
    if data.get("agent"):
        items = items.filter(customer__sales_agent_id=data["agent"])
    if data.get("held"):
        active = Hold.objects.filter(
            receivable=OuterRef("pk"), starts_on__lte=today, released_on__isnull=True
        ).filter(Q(until__isnull=True) | Q(until__gte=today))
        items = items.filter(Exists(active))
    return items


def _ordered(
    items: QuerySet[Receivable], sort: str, *, access: Access, status: str
) -> QuerySet[Receivable]:
    """``sort`` applied so that the database can read an index in order: the criticality
    order walks the scores' index (company, -score, item) into the items, which is why it
    is offered for open items once they have been scored; otherwise the due date."""
    if sort == "criticality" and status == "open":
        if ItemCriticality.objects.filter(company=access.company).exists():
            return items.filter(criticality__company=access.company).order_by(
                "-criticality__score", "criticality__receivable_id"
            )
        sort = "due_date"
    fields = {
        "due_date": ("due_date", "id"),
        "-due_date": ("-due_date", "-id"),
        "-open_amount": ("-open_amount", "due_date", "id"),
        "customer": ("customer__name", "due_date", "id"),
    }
    return items.order_by(*fields.get(sort, fields["due_date"]))


@company_page
def item_list(request: HttpRequest, access: Access) -> HttpResponse:
    if request.method == "POST":
        return _bulk(request, access)
    today = _today()
    form = ItemFilter(request.GET or None, access=access)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    sort = data.get("sort") or "criticality"
    status = data.get("status") or "open"
    filtered = _filtered(access, data, today)
    ordered = _ordered(filtered, sort, access=access, status=status)
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        return _export(_displayed(ordered), export, today)
    # A page's keys come from the indexes alone; its 50 rows are then read with what shows.
    paginator = KeysPaginator(
        ordered,
        PAGE_SIZE,
        counted=filtered,
        fetch=lambda keys: _displayed(Receivable.objects.filter(pk__in=keys)),
    )
    page = paginator.get_page(request.GET.get("page"))
    receivables = list(page.object_list)
    states = item_states(receivables=receivables, as_of=today)
    query = {k: v for k, v in request.GET.items() if k not in {"page", "export"} and v}
    context = {
        **_base_context(request, access),
        "form": form,
        "page": page,
        "rows": [Row(state, state.receivable.criticality_score) for state in states],
        "query": urlencode(query),
        "hold_form": HoldForm(),
        "hold_kinds": [(k, v) for k, v in HoldKind.choices if k in MANUAL_KINDS],
        "operators": _operators(access) if access.can_act else [],
        "bulk_limit": BULK_LIMIT,
        "export_limit": EXPORT_LIMIT,
    }
    # htmx (a filter, an order, a page) swaps the list alone.
    return htmx.render_page(
        request, "web/items.html", "web/partials/items_part.html", context, target="item-results"
    )


def _displayed(items: QuerySet[Receivable]) -> QuerySet[Receivable]:
    """What a row of the list shows besides the item: its customer and criticality."""
    return items.select_related("customer").annotate(criticality_score=F("criticality__score"))


# The holds a person places by hand; the others belong to agreements and the engine.
MANUAL_KINDS = {HoldKind.MANUAL, HoldKind.VERIFICATION}


def _operators(access: Access) -> list[Any]:
    return list(acting_members(access.company))


def _export(items: QuerySet[Receivable], kind: str, today: dt.date) -> HttpResponse:
    headers = [
        _("Document"),
        _("Customer code"),
        _("Customer"),
        _("Due date"),
        _("Days overdue"),
        _("Amount"),
        _("Open amount"),
        _("Status"),
        _("Criticality"),
    ]
    rows = [
        [
            item.document_number,
            item.customer.code,
            item.customer.name,
            item.due_date,
            max((today - item.due_date).days, 0) if item.is_open else None,
            item.amount,
            item.open_amount,
            item.get_status_display(),
            item.criticality_score,
        ]
        for item in items[:EXPORT_LIMIT]
    ]
    name = f"scadenze-{today:%Y%m%d}"
    if kind == "xlsx":
        data = rows_to_xlsx(headers, rows, sheet=_("Items"))
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        data = rows_to_csv(headers, rows)
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    return response


# --------------------------------------------------------------------------------------
# Bulk actions
# --------------------------------------------------------------------------------------


def _bulk(request: HttpRequest, access: Access) -> HttpResponse:
    back = request.POST.get("next", "")
    target = f"{request.path}?{back}" if back else request.path
    ids = [int(v) for v in request.POST.getlist("items") if v.isdigit()]
    if not ids:
        messages.error(request, _("Tick the items first."))
        return redirect(target)
    if len(ids) > BULK_LIMIT:
        messages.error(request, _("At most %(limit)s items at a time.") % {"limit": BULK_LIMIT})
        return redirect(target)
    items = list(access.receivables().filter(pk__in=ids).select_related("customer"))
    operations = {"hold": _bulk_hold, "release": _bulk_release, "assign": _bulk_assign}
    operation = operations.get(request.POST.get("op", ""))
    if operation is None:
        return HttpResponseBadRequest(_("Unknown operation."))
    operation(request, access, items)
    return redirect(target)


def _bulk_hold(request: HttpRequest, access: Access, items: list[Receivable]) -> None:
    form = HoldForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return
    if form.cleaned_data["kind"] not in MANUAL_KINDS:
        messages.error(request, _("Promises, disputes and plans hold their items themselves."))
        return
    today = _today()
    open_items = [item for item in items if item.is_open]
    with transaction.atomic():
        for item in open_items:
            dunning.hold_place(
                receivable=item,
                kind=form.cleaned_data["kind"],
                starts_on=today,
                until=form.cleaned_data["until"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
    count = len(open_items)
    messages.success(
        request,
        ngettext("%(count)s item put on hold.", "%(count)s items put on hold.", count)
        % {"count": count},
    )
    if len(open_items) < len(items):
        messages.info(request, _("Closed items were left alone."))


def _bulk_release(request: HttpRequest, access: Access, items: list[Receivable]) -> None:
    """Release the holds placed by hand (agreements release their own when they end)."""
    today = _today()
    holds = Hold.objects.filter(
        receivable__in=items, kind__in=MANUAL_KINDS, released_on__isnull=True
    ).filter(Q(until__isnull=True) | Q(until__gte=today))
    with transaction.atomic():
        released = [dunning.hold_release(hold=hold, on=today) for hold in holds]
    count = len(released)
    messages.success(
        request,
        ngettext("%(count)s hold released.", "%(count)s holds released.", count) % {"count": count},
    )


def _bulk_assign(request: HttpRequest, access: Access, items: list[Receivable]) -> None:
    if access.role not in {Role.ADMINISTRATOR, Role.CREDIT_MANAGER}:
        messages.error(request, _("Only administrators and credit managers assign portfolios."))
        return
    operator_id = request.POST.get("operator", "")
    operator = next((u for u in _operators(access) if str(u.pk) == operator_id), None)
    if operator is None:
        messages.error(request, _("Choose a colleague who works on collections."))
        return
    customers = {item.customer_id: item.customer for item in items}
    try:
        with transaction.atomic():
            for customer in customers.values():
                customer_assign(customer=customer, operator=operator)
    except WorkError as exc:
        messages.error(request, str(exc))
        return
    name = operator.get_full_name() or operator.get_username()
    count = len(customers)
    messages.success(
        request,
        ngettext(
            "%(count)s customer assigned to %(name)s.",
            "%(count)s customers assigned to %(name)s.",
            count,
        )
        % {"count": count, "name": name},
    )


urlpatterns = [path("items/", item_list, name="items")]
