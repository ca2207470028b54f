"""The optional second factor: time-based one-time codes (TOTP, RFC 6238) from an
authenticator app, and one-time recovery codes for when the phone is lost.

A secret becomes active only when a first code from it is confirmed. Each code is accepted
once (the time step of the last one used is kept), with one step (30 s) of clock drift
either way. Recovery codes are shown once and only their hashes are kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import pyotp
import segno
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from incassa.audit.models import CompanySecurity, RecoveryCode, TwoFactor
from incassa.ledger.models import Membership, Role

ISSUER = "Incassa"
RECOVERY_CODE_COUNT = 10
# Codes are read from a phone and typed: no 0/O or 1/l/I to confuse.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# A recovery code is random (50 bits), not a password a person chose: a salted PBKDF2 of
# modest cost is enough, and keeps checking ten of them quick.
_HASH_ITERATIONS = 20_000


def _hash_code(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), salt.encode(), _HASH_ITERATIONS)
    return f"pbkdf2_sha256${_HASH_ITERATIONS}${salt}${digest.hex()}"


def _code_matches(code: str, stored: str) -> bool:
    try:
        _, iterations, salt, expected = stored.split("$")
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", code.encode(), salt.encode(), int(iterations))
    return secrets.compare_digest(digest.hex(), expected)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(*, secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline SVG (no file, no external service)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff")


def _clean(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def code_step(*, secret: str, code: str, after_step: int = 0, now: dt.datetime | None = None):
    """The time step of ``code`` if it is valid now (±1 step) and later than
    ``after_step``; None otherwise."""
    code = _clean(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    moment = now or timezone.now()
    current = totp.timecode(moment)
    for step in (current - 1, current, current + 1):
        if step > after_step and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def is_enabled(user) -> bool:
    return TwoFactor.objects.filter(user=user).exists()


def confirm(*, user, secret: str, code: str) -> list[str] | None:
    """Turn the second factor on with ``secret`` when ``code`` matches it; returns the new
    recovery codes (to show once), or None when the code is wrong."""
    step = code_step(secret=secret, code=code)
    if step is None:
        return None
    with transaction.atomic():
        TwoFactor.objects.update_or_create(
            user=user,
            defaults={"secret": secret, "confirmed_at": timezone.now(), "last_step": step},
        )
        return recovery_codes_renew(user=user)


def verify(*, user, code: str) -> str | None:
    """Check a sign-in code: ``"totp"`` or ``"recovery_code"`` when accepted (a recovery
    code is then used up), None when not."""
    with transaction.atomic():
        factor = TwoFactor.objects.select_for_update().filter(user=user).first()
        if factor is None:
            return None
        step = code_step(secret=factor.secret, code=code, after_step=factor.last_step)
        if step is not None:
            factor.last_step = step
            factor.save(update_fields=["last_step"])
            return "totp"
        cleaned = _clean(code)
        if len(cleaned) == 10:
            for recovery in RecoveryCode.objects.select_for_update().filter(
                user=user, used_at__isnull=True
            ):
                if _code_matches(cleaned, recovery.code_hash):
                    recovery.used_at = timezone.now()
                    recovery.save(update_fields=["used_at"])
                    return "recovery_code"
    return None


def recovery_codes_renew(*, user) -> list[str]:
    """Replace the user's recovery codes with ten new ones, returned as ``xxxxx-xxxxx``."""
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            [RecoveryCode(user=user, code_hash=_hash_code(code)) for code in codes]
        )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def disable(*, user) -> None:
    with transaction.atomic():
        TwoFactor.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()


def required_for(user) -> bool:
    """Must this user use a second factor? An administrator of a company that requires it,
    or, with ``INCASSA_REQUIRE_TOTP_FOR_ADMINS``, any administrator or staff member."""
    if settings.INCASSA_REQUIRE_TOTP_FOR_ADMINS:
        if user.is_staff or user.is_superuser:
            return True
        return Membership.objects.filter(user=user, role=Role.ADMINISTRATOR).exists()
    required = CompanySecurity.objects.filter(require_totp_for_administrators=True)
    return Membership.objects.filter(
        Q(user=user, role=Role.ADMINISTRATOR),
        company__in=required.values("company"),
    ).exists()
