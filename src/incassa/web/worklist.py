"""The operator's worklist: what there is to do today, the most critical customers first,
and the three things one does with a task (done, snooze to a day, reassign).

Thin like the other pages: the selectors say what to show, the workspace services change
the tasks. A GET first brings the tasks up to date with the engine's actions (set-based, a
handful of queries) for the roles that act; read-only roles only look. A task of another
company is a 404; a user's mistake (a past day, a task already closed) is a message.

Without JavaScript a POST redirects back to the list; from htmx it answers with the task's
row again (or a short confirmation where it was, once the task has left the list) and the
counter, so that the operator stays where they were on a long list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.core.formatting import format_day
from incassa.web import htmx
from incassa.web.customers import (
    Access,
    DateInput,
    _base_context,
    _form_errors,
    _int_or_none,
    _today,
    company_page,
)
from incassa.workspace.models import Task, TaskStatus
from incassa.workspace.portfolios import acting_members
from incassa.workspace.selectors import worklist as worklist_items
from incassa.workspace.work import (
    WorkError,
    task_done,
    task_reassign,
    task_snooze,
    tasks_sync_from_actions,
)

WORKLIST_PAGE = 100


class SnoozeForm(forms.Form):
    until = forms.DateField(label=gettext_lazy("Snooze until"), widget=DateInput())

    def clean_until(self) -> dt.date:
        until = self.cleaned_data["until"]
        if until <= _today():
            raise ValidationError(_("Choose a day after today."))
        return until


def _operators(access: Access) -> Any:
    """The company's members who may act: those a task can go to."""
    return acting_members(access.company)


@company_page
def worklist(request: HttpRequest, access: Access) -> HttpResponse:
    if request.method == "POST":
        return _worklist_post(request, access)
    today = _today()
    if access.can_act:
        tasks_sync_from_actions(company=access.company, as_of=today)
    items = worklist_items(company=access.company, user=request.user, today=today)
    # The most critical first, a page at a time: a portfolio's bad day can hold hundreds.
    page = Paginator(items, WORKLIST_PAGE).get_page(request.GET.get("page"))
    context = {
        **_base_context(request, access),
        "items": items,
        "page": page,
        "operators": list(_operators(access)) if access.can_act else [],
    }
    return render(request, "web/worklist.html", context)


def _worklist_post(request: HttpRequest, access: Access) -> HttpResponse:
    handlers = {"done": _done, "snooze": _snooze, "reassign": _reassign}
    handler = handlers.get(request.POST.get("op", ""))
    if handler is None:
        return HttpResponseBadRequest(_("Unknown operation."))
    task = get_object_or_404(
        Task.objects.filter(company=access.company), pk=_int_or_none(request.POST.get("task"))
    )
    if task.status != TaskStatus.OPEN:
        messages.error(request, _("This task is already closed."))
    else:
        try:
            handler(request, access, task)
        except WorkError as exc:
            messages.error(request, str(exc))
    if htmx.wants_part(request):
        return _task_part(request, access, task)
    return redirect("web:worklist")


def _task_part(request: HttpRequest, access: Access, task: Task) -> HttpResponse:
    """What an htmx POST swaps: the task as the list now shows it, or nothing if it has
    left the list (done, snoozed, given to someone else), and the new counter."""
    items = worklist_items(company=access.company, user=request.user, today=_today())
    item = next((item for item in items if item.task.pk == task.pk), None)
    context = {
        **_base_context(request, access),
        "items": items,
        "item": item,
        "task_id": task.pk,
        "operators": list(_operators(access)) if item is not None else [],
    }
    return htmx.vary_on_htmx(render(request, "web/partials/worklist_post.html", context))


def _done(request: HttpRequest, access: Access, task: Task) -> None:
    task_done(task=task, user=request.user)
    messages.success(request, _("Task done: %(title)s.") % {"title": task.title})


def _snooze(request: HttpRequest, access: Access, task: Task) -> None:
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return
    # The task comes back on the next working day when the day chosen is not one.
    task = task_snooze(task=task, until=form.cleaned_data["until"], user=request.user)
    messages.success(
        request,
        _("The task is snoozed until %(date)s.") % {"date": format_day(task.snoozed_until)},
    )


def _reassign(request: HttpRequest, access: Access, task: Task) -> None:
    assignee_id = _int_or_none(request.POST.get("assignee"))
    assignee = None
    if assignee_id is not None:
        assignee = _operators(access).filter(pk=assignee_id).first()
        if assignee is None:
            messages.error(request, _("Choose a colleague who works on collections."))
            return
    task_reassign(task=task, assignee=assignee, user=request.user)
    if assignee is None:
        messages.success(request, _("The task is back with the customer's portfolio."))
    else:
        name = assignee.get_full_name() or assignee.get_username()
        messages.success(request, _("The task is now with %(name)s.") % {"name": name})
