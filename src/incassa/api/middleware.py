"""The API's 405 in its error format.

django-ninja answers a method an address does not accept with Django's plain-text
``HttpResponseNotAllowed`` before any of the API's exception handlers runs; this middleware
gives that answer the API's one error format, keeping its ``Allow`` header.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.translation import gettext as _

from incassa.api.errors import error_body

API_PREFIX = "/api/"


def json_method_not_allowed(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if not (
            isinstance(response, HttpResponseNotAllowed) and request.path.startswith(API_PREFIX)
        ):
            return response
        allowed = response["Allow"]
        message = _("This address does not accept %(method)s; it accepts %(allowed)s.") % {
            "method": request.method,
            "allowed": allowed,
        }
        answer = JsonResponse(error_body("method_not_allowed", message), status=405)
        answer["Allow"] = allowed
        return answer

    return middleware
