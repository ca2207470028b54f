"""Who is acting right now, for the audit trail.

A web or API request sets the context in ``AuditMiddleware``; a command, a background task
or the engine may set it with ``audit_context(...)``. Without a context the change is
recorded as coming from a command, with no user: that is what runs outside a request.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from incassa.audit.models import Source

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class AuditContext:
    source: str = Source.COMMAND
    user: Any = None
    request: HttpRequest | None = None
    request_id: str = ""
    ip: str | None = None

    def acting_user(self) -> Any:
        """The signed-in user (read lazily: the request's user is resolved on first use),
        or the user an API token stands for, or the one given to ``audit_context``."""
        if self.user is not None:
            return self.user
        if self.request is None:
            return None
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        # Django Ninja's authenticated principal: the API's access (with its token's user)
        # or a user itself.
        auth = getattr(self.request, "auth", None)
        principal = getattr(auth, "user", auth)
        if getattr(principal, "pk", None) is not None and getattr(
            principal, "is_authenticated", False
        ):
            return principal
        return None


_current: ContextVar[AuditContext | None] = ContextVar("incassa_audit_context", default=None)


def current() -> AuditContext:
    return _current.get() or AuditContext()


@contextlib.contextmanager
def audit_context(*, source: str = Source.COMMAND, user: Any = None) -> Iterator[AuditContext]:
    """Attribute the changes made inside the block to ``user`` (None: nobody) and ``source``."""
    context = AuditContext(source=source, user=user, request_id=uuid.uuid4().hex)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with ``INCASSA_TRUSTED_PROXIES`` = N reverse
    proxies in front, the address the outermost of them saw (the N-th from the right of
    X-Forwarded-For), which a client cannot forge."""
    proxies = getattr(settings, "INCASSA_TRUSTED_PROXIES", 0)
    address = request.META.get("REMOTE_ADDR") or None
    if proxies > 0:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


class AuditMiddleware:
    """Set the audit context for the request: its user, IP, id, and web or API."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        source = Source.API if request.path.startswith("/api/") else Source.WEB
        context = AuditContext(
            source=source, request=request, request_id=request_id, ip=client_ip(request)
        )
        token = _current.set(context)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response.headers.setdefault("X-Request-ID", request_id)
        return response
