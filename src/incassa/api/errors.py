"""The API's one error format and the exceptions that produce it.

Every error answer, whatever raised it, is ``{"error": {"code": ..., "message": ...,
"details": [...]}}``: ``code`` is stable and meant for programs, ``message`` for people (in
the request's language), ``details`` lists what was wrong field by field or row by row.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

# The code of each status when nothing more precise is known.
STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
}


class ApiError(Exception):
    """An answer other than success: its status, code, message and details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "error")
        self.message = message
        self.details = details or []


def not_found(what: str | None = None) -> ApiError:
    return ApiError(404, what or _("Not found."))


def forbidden(message: str | None = None) -> ApiError:
    return ApiError(403, message or _("Your role may not do this."))


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}}


def form_details(form: Any) -> list[dict[str, Any]]:
    """A Django form's errors as details: one per message, with the field it is about."""
    details = []
    for field_name, errors in form.errors.items():
        for error in errors:
            details.append(
                {"field": None if field_name == "__all__" else field_name, "reason": str(error)}
            )
    return details


def invalid(message: str, details: list[dict[str, Any]] | None = None) -> ApiError:
    return ApiError(422, message, code="invalid", details=details)
