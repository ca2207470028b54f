"""The dossier of a hand-over case, downloaded as PDF or CSV for the agency or lawyer.

A download is a read: every role that may see the case's customer may take it (a sales
agent only for their own customers); a case of another company, or of a customer the user
may not see, is a 404.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path

from incassa.web.customers import Access, _today, company_page
from incassa.workspace.dossier import dossier_csv, dossier_filename, dossier_pdf
from incassa.workspace.models import Case


def _case(access: Access, pk: int) -> Case:
    return get_object_or_404(
        Case.objects.filter(company=access.company, customer__in=access.customers).select_related(
            "customer", "created_by"
        ),
        pk=pk,
    )


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@company_page
def case_dossier_pdf(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    case = _case(access, pk)
    return _download(
        dossier_pdf(case, today=_today()), "application/pdf", dossier_filename(case, "pdf")
    )


@company_page
def case_dossier_csv(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    case = _case(access, pk)
    return _download(
        dossier_csv(case, today=_today()),
        "text/csv; charset=utf-8",
        dossier_filename(case, "csv"),
    )


urlpatterns = [
    path("cases/<int:pk>/dossier.pdf", case_dossier_pdf, name="case_dossier_pdf"),
    path("cases/<int:pk>/dossier.csv", case_dossier_csv, name="case_dossier_csv"),
]
