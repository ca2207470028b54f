"""Whether the navigation shows the team page: to every role that may see it.

Pages of acting roles already know (``can_act``: administrators, credit managers and
collectors all may), so they cost nothing; elsewhere (the dashboard, read-only roles) the
role is read once per request.
"""

from __future__ import annotations

from typing import Any

from django import template

from incassa.ledger.selectors import role_for_user
from incassa.web.team import VIEW_ROLES

register = template.Library()


def _role(context: Any) -> str | None:
    """The user's role in the page's company: the page's own ``role`` when it passes it,
    else read once per request."""
    if context.get("role"):
        return context["role"]
    request, company = context.get("request"), context.get("company")
    if request is None or company is None or not request.user.is_authenticated:
        return None
    cache = request.__dict__.setdefault("_incassa_team_roles", {})
    if company.pk not in cache:
        cache[company.pk] = role_for_user(user=request.user, company=company)
    return cache[company.pk]


@register.simple_tag(takes_context=True)
def may_see_team(context: Any) -> bool:
    return bool(context.get("can_act")) or _role(context) in VIEW_ROLES


@register.simple_tag(takes_context=True)
def nav_role(context: Any) -> str | None:
    """The user's role, for the links only some roles get (settings, the audit trail)."""
    return _role(context)
