"""Secrets kept in the database (the companies' mail account passwords), encrypted with
Fernet (AES-128-CBC with an HMAC-SHA256: a changed or truncated value is detected).

The key is ``INCASSA_SECRETS_KEY`` (a Fernet key: ``python -c "from cryptography.fernet
import Fernet; print(Fernet.generate_key().decode())"``) or, when that is empty, derived from
Django's ``SECRET_KEY`` with HKDF-SHA256. Rotating that key makes the stored passwords
unreadable: they must be entered again (``SecretUnreadable`` says so in plain words).
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.translation import gettext as _

# HKDF's salt and info: fixed, so that the same SECRET_KEY always gives the same key, and
# distinct from anything else derived from SECRET_KEY.
_SALT = b"incassa.comms.secrets"
_INFO = b"incassa mail account passwords v1"


class SecretError(Exception):
    """A secret cannot be written or read; the message says what to do."""


class SecretUnreadable(SecretError):
    """The stored value does not decrypt with the current key."""


def _configured_key() -> tuple[str, str]:
    return (
        str(getattr(settings, "INCASSA_SECRETS_KEY", "") or "").strip(),
        str(settings.SECRET_KEY),
    )


@lru_cache(maxsize=4)
def _fernet_for(secrets_key: str, secret_key: str) -> Fernet:
    if secrets_key:
        try:
            return Fernet(secrets_key.encode("ascii"))
        except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
            raise SecretError(
                _(
                    "INCASSA_SECRETS_KEY is not a valid Fernet key (32 bytes in URL-safe "
                    "base64, 44 characters): %(error)s"
                )
                % {"error": exc}
            ) from exc
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(
        secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _fernet() -> Fernet:
    return _fernet_for(*_configured_key())


def encrypt(plain: str) -> str:
    """The text encrypted for storing (ASCII); the empty string stays empty."""
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The stored text decrypted; SecretUnreadable when the key changed since it was stored
    (or the value was altered)."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable(
            _(
                "The stored password can no longer be read: the secrets key "
                "(INCASSA_SECRETS_KEY, or SECRET_KEY when that is empty) changed since it was "
                "saved. Enter the password again."
            )
        ) from exc
