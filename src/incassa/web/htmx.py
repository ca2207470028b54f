"""Pages that answer htmx with the part of themselves that changes.

Every interaction is progressive enhancement: the same URL and the same form answer a
plain request with the whole page (POST then redirect, as without JavaScript) and an htmx
request with the part it swaps. A history restore (htmx asking again for a page the back
button returns to) needs the whole page, so it gets one. Both answers vary on
``HX-Request``: a cache must never hand the part to a browser that asked for the page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_part(request: HttpRequest, target: str | None = None) -> bool:
    """Whether ``request`` comes from htmx swapping part of the page (into the element
    whose id is ``target``, when given), rather than loading the page."""
    details = getattr(request, "htmx", None)
    if not details or details.history_restore_request:
        return False
    return target is None or details.target == target


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response


def render_page(
    request: HttpRequest,
    template: str,
    part: str,
    context: dict[str, Any],
    *,
    target: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """``part`` for an htmx request (aimed at ``target``, when given), else the whole
    ``template``; both vary on ``HX-Request``."""
    chosen = part if wants_part(request, target) else template
    return vary_on_htmx(render(request, chosen, context, status=status))
