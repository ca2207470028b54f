"""``incassa api-token create|list|revoke``: the keys of the REST API.

``create`` prints the key once: only its hash is stored, so it cannot be shown again (make a
new token if it is lost). ``list`` shows each token's prefix, never the key; ``revoke``
takes the prefix (or the token's id) and stops the token at once.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from incassa.api.models import ApiToken
from incassa.api.services import (
    KEY_START,
    PREFIX_CHARS,
    TokenError,
    api_token_create,
    api_token_revoke,
    tokens_listed,
)
from incassa.ledger.management.base import parse_date, resolve_company
from incassa.ledger.selectors import role_for_user


class Command(BaseCommand):
    help = "Create, list and revoke the tokens of the REST API (/api/)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a new token; its key is printed once")
        create.add_argument("--user", required=True, help="username the token acts as")
        create.add_argument("--name", required=True, help="what the token is for")
        create.add_argument("--company", help="company code (needed when there are several)")
        create.add_argument("--expires", metavar="YYYY-MM-DD", help="last day it works")
        create.add_argument("--json", action="store_true", help="print one JSON object")
        listing = sub.add_parser("list", help="the tokens (prefix, user, role, state)")
        listing.add_argument("--company", help="only this company's tokens (code)")
        listing.add_argument("--user", help="only this user's tokens")
        revoke = sub.add_parser("revoke", help="stop a token at once")
        revoke.add_argument("token", help="the token's prefix (inc_XXXXXXXX) or id")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _user(self, username: str) -> Any:
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"no user {username!r}", returncode=2) from exc

    def _create(self, options: dict[str, Any]) -> None:
        user = self._user(options["user"])
        company = resolve_company(options["company"])
        expires_on = parse_date(options["expires"]) if options["expires"] else None
        try:
            token, key = api_token_create(
                user=user, company=company, name=options["name"], expires_on=expires_on
            )
        except TokenError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        role = role_for_user(user=user, company=company)
        if options["json"]:
            payload = {
                "id": token.pk,
                "prefix": token.prefix,
                "key": key,
                "user": user.get_username(),
                "company": company.code,
                "role": role,
                "expires_on": expires_on.isoformat() if expires_on else None,
            }
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(
            f"Token {token.prefix} for {user.get_username()} in {company.code} ({role}).\n"
            f"Key (shown only now, keep it secret):\n{key}"
        )

    def _list(self, options: dict[str, Any]) -> None:
        company = resolve_company(options["company"]) if options["company"] else None
        user = self._user(options["user"]) if options["user"] else None
        tokens = list(tokens_listed(company=company, user=user))
        if not tokens:
            self.stdout.write("No tokens.")
            return
        for token in tokens:
            if token.revoked_at is not None:
                state = f"revoked {token.revoked_at:%Y-%m-%d}"
            elif token.expires_on is not None:
                state = f"expires {token.expires_on:%Y-%m-%d}"
            else:
                state = "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            role = role_for_user(user=token.user, company=token.company) or "no role"
            self.stdout.write(
                f"{token.pk:>5}  {token.prefix}  {token.user.get_username():<20} "
                f"{token.company.code:<15} {role:<15} {state:<20} used {used}  {token.name}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        reference = options["token"].strip()
        if reference.isdigit() and len(reference) < 19:
            token = ApiToken.objects.filter(pk=int(reference)).first()
        else:
            # The prefix, or the whole key pasted: its first characters are the prefix.
            token = ApiToken.objects.filter(
                prefix=reference[: len(KEY_START) + PREFIX_CHARS]
            ).first()
        if token is None:
            raise CommandError(f"no token {reference!r}", returncode=2)
        api_token_revoke(token=token)
        self.stdout.write(f"Token {token.prefix} ({token.name}) is revoked.")
