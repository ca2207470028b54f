"""The ``NinjaAPI`` of Incassa: its routers under ``/api/``, the OpenAPI description at
``/api/openapi.json``, the interactive docs at ``/api/docs``, and the exception handlers
that give every error the one format of ``incassa.api.errors``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from incassa.api import activities, agreements, customers, dunning, imports, inbox, items
from incassa.api.auth import TokenAuth
from incassa.api.errors import STATUS_CODES, ApiError, error_body, not_found

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Incassa's REST API. Authenticate with a token (`incassa api-token create`) sent as
`Authorization: Bearer <token>`; a token acts in one company with its user's role there.

Money is a string with two decimals (`"1234.50"`), never a number; dates are ISO
(`2026-04-01`). Lists take `limit` (1-200, default 50) and `offset` and answer
`{"count", "limit", "offset", "items"}`. Every error answers
`{"error": {"code", "message", "details"}}`.
"""

api = NinjaAPI(
    title="Incassa API",
    version="1.0.0",
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)

for router in (
    customers.router,
    items.router,
    imports.router,
    inbox.router,
    dunning.router,
    activities.router,
    agreements.router,
):
    api.add_router("", router)


# Any other path under /api/ is a 404 in the same format, not Django's HTML page. Added
# last, so that it only catches what no router took.
fallback = Router()


@fallback.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{anytext:rest}", auth=None, include_in_schema=False
)
def unknown_path(request: HttpRequest, rest: str) -> None:
    raise not_found(_("There is nothing at this address."))


api.add_router("", fallback)


def _respond(request: HttpRequest, status: int, code: str, message: str, details=None):
    return api.create_response(request, error_body(code, message, details), status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _respond(request, exc.status, exc.code, exc.message, exc.details)


def _field(location: Any) -> str:
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] == "body" and parts[1] == "payload":
        parts = ["body", *parts[2:]]
    return ".".join(parts)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details = [
        {"field": _field(error.get("loc", ())), "reason": str(error.get("msg", ""))}
        for error in exc.errors
    ]
    return _respond(request, 422, "invalid", _("The request is not valid."), details)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _respond(
        request,
        401,
        "unauthenticated",
        _("Send the API token as 'Authorization: Bearer <token>'."),
    )


@api.exception_handler(AuthorizationError)
def _authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return _respond(request, 403, "forbidden", _("Your role may not do this."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    return _respond(request, status, STATUS_CODES.get(status, "error"), str(exc.message))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _respond(request, 404, "not_found", _("Not found."))


@api.exception_handler(PermissionDenied)
def _permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _respond(request, 403, "forbidden", str(exc) or _("Your role may not do this."))


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return _respond(request, 500, "server_error", _("Something went wrong on our side."))
