"""Making and revoking API tokens (one transaction each).

A key is ``inc_`` + 8 random characters (the prefix, stored in clear to find the token) +
``_`` + 40 random characters (the secret); only the SHA-256 of the whole key is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import string
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from incassa.api.models import ApiToken
from incassa.ledger.models import Company
from incassa.ledger.selectors import role_for_user

KEY_START = "inc_"
PREFIX_CHARS = 8
SECRET_CHARS = 40
_ALPHABET = string.ascii_letters + string.digits


class TokenError(Exception):
    """The token cannot be made or changed this way; the message says why."""


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_prefix(key: str) -> str | None:
    """The identifying part of a well-formed key, None for anything else."""
    if not key.startswith(KEY_START):
        return None
    prefix, sep, secret = key.partition("_")[2].partition("_")
    if not sep or len(prefix) != PREFIX_CHARS or not secret:
        return None
    return KEY_START + prefix


def key_matches(token: ApiToken, key: str) -> bool:
    """Compare in constant time: a timing difference must not tell how much of a guess is
    right."""
    return hmac.compare_digest(token.key_hash, key_hash(key))


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def api_token_create(
    *, user: Any, company: Company, name: str, expires_on: dt.date | None = None
) -> tuple[ApiToken, str]:
    """A new token of ``user`` in ``company`` and its key, which is never shown again."""
    name = name.strip()
    if not name:
        raise TokenError("give the token a name (what it is for)")
    if role_for_user(user=user, company=company) is None:
        raise TokenError(f"{user} has no role in {company.code}")
    if expires_on is not None and expires_on < timezone.localdate():
        raise TokenError("the expiry date is in the past")
    for _attempt in range(5):
        prefix = KEY_START + _random(PREFIX_CHARS)
        key = f"{prefix}_{_random(SECRET_CHARS)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    company=company,
                    name=name[:100],
                    prefix=prefix,
                    key_hash=key_hash(key),
                    expires_on=expires_on,
                )
        except IntegrityError:  # the same prefix drawn twice: draw again
            continue
        return token, key
    raise TokenError("could not draw a unique prefix; try again")


def api_token_revoke(*, token: ApiToken, at: dt.datetime | None = None) -> ApiToken:
    """The token stops working at once; revoking it twice keeps the first time."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is None:
            token.revoked_at = at or timezone.now()
            token.save(update_fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken, at: dt.datetime) -> None:
    """Record that the token was used; at most once a minute, to spare the database a write
    per request."""
    if token.last_used_at is None or at - token.last_used_at >= dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
        token.last_used_at = at


def tokens_listed(*, company: Company | None = None, user: Any = None) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user", "company")
    if company is not None:
        tokens = tokens.filter(company=company)
    if user is not None:
        tokens = tokens.filter(user=user)
    return tokens
