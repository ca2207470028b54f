"""Which mail account a company's messages go out from, and changing a company's own.

A company's own enabled account (``CompanyMailAccount``, entered on its settings page) wins;
otherwise the installation's account of the environment (``EMAIL_URL`` for emails,
``PEC_EMAIL_URL`` for PEC) is used, as it always was. The same resolution gives the sender
address and name, the reply-to address, and whether formal notices can go by PEC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from incassa.comms import secrets, transport
from incassa.comms.models import AccountKind, CompanyMailAccount, Medium
from incassa.core.users import recorded_user
from incassa.ledger.models import Company

# The transport's account names (``transport.ACCOUNT_SETTINGS``) and the model's kinds.
KIND_FOR_NAME = {"default": AccountKind.EMAIL, "pec": AccountKind.PEC}
NAME_FOR_KIND = {kind: name for name, kind in KIND_FOR_NAME.items()}
# What the settings page and the admin edit; the password is set on its own.
ACCOUNT_FIELDS = (
    "enabled",
    "host",
    "port",
    "security",
    "username",
    "from_address",
    "from_name",
    "reply_to",
    "rate_per_minute",
)


class AccountError(Exception):
    """The account cannot be used or checked; the message says why, in plain words."""


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def stored_account(company: Company, kind: str) -> CompanyMailAccount | None:
    """The company's own account of that kind, enabled or not."""
    return CompanyMailAccount.objects.filter(company=company, kind=kind).first()


def own_account(company: Company, kind: str) -> CompanyMailAccount | None:
    """The company's own account of that kind when it is in use."""
    return CompanyMailAccount.objects.filter(company=company, kind=kind, enabled=True).first()


def as_mail_account(own: CompanyMailAccount) -> transport.MailAccount:
    """The transport's account for a stored one; AccountError if its password cannot be
    read any more (the secrets key changed)."""
    try:
        password = own.get_password()
    except secrets.SecretError as exc:
        raise AccountError(str(exc)) from exc
    return transport.MailAccount(
        scheme=own.scheme,
        host=own.host,
        port=own.port,
        username=own.username,
        password=password,
        rate_per_minute=own.rate_per_minute,
        from_address=own.from_address,
    )


def account_for(company: Company, name: str) -> transport.MailAccount | None:
    """The account the company's messages of ``name`` ("default" or "pec") go out from:
    its own enabled one, else the environment's; None when there is neither. AccountError
    when the company's own cannot be used (its password unreadable); never a silent
    fallback to another sender then."""
    own = own_account(company, KIND_FOR_NAME[name])
    if own is not None:
        return as_mail_account(own)
    try:
        return transport.configured_account(name)
    except ValueError as exc:
        raise AccountError(str(exc)) from exc


def has_account(company: Company, name: str) -> bool:
    """Whether the company has an account of ``name`` to send from (a formal notice goes by
    PEC only when it has a PEC account)."""
    if own_account(company, KIND_FOR_NAME[name]) is not None:
        return True
    try:
        return transport.configured_account(name) is not None
    except ValueError:
        return False


@dataclass(frozen=True)
class Sender:
    name: str
    address: str
    reply_to: str


def sender_for(company: Company, medium: str) -> Sender:
    """Who a message of ``medium`` comes from, and where replies go (emails only: PEC
    replies go to the PEC mailbox itself)."""
    pec = medium == Medium.PEC
    own = own_account(company, AccountKind.PEC if pec else AccountKind.EMAIL)
    login_address = own.username if own is not None and "@" in own.username else ""
    if pec:
        environment = _environment_from("pec") if own is None else ""
        address = (
            (own.from_address if own else "")
            or environment
            or company.pec
            or login_address
            or company.email
        )
    else:
        address = (
            (own.from_address if own else "")
            or company.email
            or login_address
            or settings.DEFAULT_FROM_EMAIL
        )
    name = (own.from_name if own else "") or company.sender_name or company.name
    reply_to = "" if pec else ((own.reply_to if own else "") or company.reply_to or company.email)
    return Sender(name=name, address=address, reply_to=reply_to)


def _environment_from(name: str) -> str:
    try:
        account = transport.configured_account(name)
    except ValueError:
        return ""
    return account.from_address if account else ""


def environment_display(name: str) -> dict[str, str]:
    """The environment's account as it may be shown: never its password."""
    try:
        account = transport.configured_account(name)
    except ValueError as exc:
        return {"problem": str(exc)}
    if account is None:
        return {}
    return {"display": account.display(), "rate": str(account.rate_per_minute or "")}


def password_state(own: CompanyMailAccount | None) -> str:
    """The password's state: "set", "not set" or "unreadable" (the key changed since)."""
    if own is None or not own.password:
        return "not set"
    try:
        own.get_password()
    except secrets.SecretError:
        return "unreadable"
    return "set"


# --------------------------------------------------------------------------------------
# Changing
# --------------------------------------------------------------------------------------


def mail_account_save(
    *,
    company: Company,
    kind: str,
    values: dict[str, Any],
    password: str = "",
    clear_password: bool = False,
    user: Any = None,
) -> CompanyMailAccount:
    """Create or change the company's account of ``kind``. An empty ``password`` keeps the
    stored one; ``clear_password`` removes it (a server that needs no login).
    ValidationError when a value is wrong."""
    if kind not in AccountKind.values:
        raise ValueError(f"unknown mail account kind {kind!r}")
    with transaction.atomic():
        account = (
            CompanyMailAccount.objects.select_for_update()
            .filter(company=company, kind=kind)
            .first()
        ) or CompanyMailAccount(company=company, kind=kind)
        for name in ACCOUNT_FIELDS:
            if name in values:
                setattr(account, name, values[name])
        account.host = account.host.strip()
        account.username = account.username.strip()
        if clear_password:
            account.password = ""
        elif password:
            try:
                account.set_password(password)
            except secrets.SecretError as exc:
                raise ValidationError(str(exc)) from exc
        account.updated_by = recorded_user(user)
        account.full_clean(exclude=["company", "updated_by"], validate_unique=False)
        account.save()
    return account


def mail_account_check(*, company: Company, kind: str) -> str:
    """Connect and log in to the account the page shows for ``kind``: the company's own
    (even when not in use yet: one checks it before turning it on), else the environment's.
    Returns what was checked; AccountError with the server's answer otherwise."""
    name = NAME_FOR_KIND[AccountKind(kind)]
    own = stored_account(company, kind)
    if own is not None:
        account = as_mail_account(own)
    else:
        try:
            account = transport.configured_account(name)
        except ValueError as exc:
            raise AccountError(str(exc)) from exc
        if account is None:
            raise AccountError(_("There is no account to check: enter the server's details."))
    try:
        return transport.check_account(account)
    except transport.DeliveryError as exc:
        raise AccountError(str(exc)) from exc
