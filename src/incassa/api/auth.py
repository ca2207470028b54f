"""Token authentication: ``Authorization: Bearer <key>``.

The token is found by its prefix and its hash compared in constant time; a revoked or
expired token, a user no longer active or no longer a member of the token's company are all
401. The token acts in its company with its user's role there (``role_for_user``), read on
every request so that a changed membership takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from incassa.api.errors import ApiError, forbidden
from incassa.api.models import ApiToken
from incassa.api.services import api_token_touch, key_matches, key_prefix
from incassa.ledger.models import Company, Customer, Receivable, Role
from incassa.ledger.selectors import ACTING_ROLES, customers_for_user, role_for_user
from incassa.workspace.work import operator_for

# Who may load a receivables snapshot: it changes the whole ledger, not a portfolio.
IMPORTING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
# Roles that see the company as a whole (imports, the dunning outlook); sales agents see
# only their customers.
COMPANY_WIDE_ROLES = frozenset(
    {Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.AUDITOR}
)


@dataclass(frozen=True)
class ApiAccess:
    """The token's company, user and role, and the customers that role lets it see."""

    token: ApiToken
    user: Any
    company: Company
    role: str
    customers: QuerySet[Customer]

    @property
    def can_act(self) -> bool:
        return self.role in ACTING_ROLES

    @property
    def is_sales_agent(self) -> bool:
        return self.role == Role.SALES_AGENT

    def receivables(self) -> QuerySet[Receivable]:
        items = Receivable.objects.filter(company=self.company)
        if self.is_sales_agent:
            items = items.filter(customer__in=self.customers)
        return items

    def visible(self, queryset: QuerySet) -> QuerySet:
        """``queryset`` (of a model with ``company`` and ``customer``) narrowed to what the
        role may see."""
        queryset = queryset.filter(company=self.company)
        if self.is_sales_agent:
            queryset = queryset.filter(customer__in=self.customers)
        return queryset

    def require_role(self, roles: frozenset[str], message: str | None = None) -> None:
        if self.role not in roles:
            raise forbidden(message)

    def require_acting(self) -> None:
        self.require_role(ACTING_ROLES, _("Your role may only read."))

    def require_work_on(self, customer: Customer) -> None:
        """Administrators and credit managers act on every customer of the company, a
        collector only on those of their portfolio, the other roles on none."""
        self.require_acting()
        if self.role == Role.COLLECTOR:
            operator = operator_for(customer)
            if operator is None or operator.pk != self.user.pk:
                raise forbidden(_("This customer is not in your portfolio."))


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, message, code="unauthenticated")


class TokenAuth(HttpBearer):
    """Bearer token of an ``ApiToken``; the request's ``auth`` becomes an ``ApiAccess``."""

    def __call__(self, request: HttpRequest) -> ApiAccess | None:
        header = request.headers.get(self.header, "")
        scheme, _sep, _rest = header.partition(" ")
        if not header or scheme.lower() != self.openapi_scheme:
            raise unauthenticated(_("Send the API token as 'Authorization: Bearer <token>'."))
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> ApiAccess:
        key = token.strip()
        prefix = key_prefix(key)
        found = (
            ApiToken.objects.select_related("user", "company").filter(prefix=prefix).first()
            if prefix
            else None
        )
        if found is None or not key_matches(found, key):
            raise unauthenticated(_("The API token is not valid."))
        now = timezone.now()
        if found.revoked_at is not None:
            raise unauthenticated(_("The API token has been revoked."))
        if not found.is_valid_on(timezone.localdate(now)):
            raise unauthenticated(_("The API token has expired."))
        role = role_for_user(user=found.user, company=found.company)
        if role is None:
            raise unauthenticated(_("The token's user may no longer work for this company."))
        api_token_touch(token=found, at=now)
        return ApiAccess(
            token=found,
            user=found.user,
            company=found.company,
            role=role,
            customers=customers_for_user(user=found.user, company=found.company, role=role),
        )


def access_of(request: HttpRequest) -> ApiAccess:
    return request.auth  # type: ignore[attr-defined]
