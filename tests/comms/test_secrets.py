"""Secrets in the database: Fernet with INCASSA_SECRETS_KEY, or a key derived from
SECRET_KEY; a changed key is said in plain words, never as a traceback."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.utils import translation

from incassa.comms import secrets

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def english():
    """The messages are checked in English."""
    with translation.override("en"):
        yield


def test_round_trip_and_the_stored_text_hides_the_password(settings):
    settings.INCASSA_SECRETS_KEY = ""
    token = secrets.encrypt("p@ss:w0rd èà")
    assert "p@ss" not in token and token.isascii()
    assert secrets.decrypt(token) == "p@ss:w0rd èà"
    # Fernet adds a random IV: the same password twice gives two different texts.
    assert secrets.encrypt("p@ss:w0rd èà") != token


def test_empty_stays_empty(settings):
    assert secrets.encrypt("") == ""
    assert secrets.decrypt("") == ""


def test_the_key_from_the_environment_is_used(settings):
    settings.INCASSA_SECRETS_KEY = KEY_A
    token = secrets.encrypt("segreta")
    assert Fernet(KEY_A.encode()).decrypt(token.encode()) == b"segreta"
    settings.INCASSA_SECRETS_KEY = KEY_B
    with pytest.raises(secrets.SecretUnreadable, match="Enter the password again"):
        secrets.decrypt(token)


def test_without_it_the_key_is_derived_from_secret_key(settings):
    settings.INCASSA_SECRETS_KEY = ""
    settings.SECRET_KEY = "one secret key of the installation, long enough"
    token = secrets.encrypt("segreta")
    assert secrets.decrypt(token) == "segreta"
    # The same SECRET_KEY derives the same key (a restart reads what was stored) ...
    secrets._fernet_for.cache_clear()
    assert secrets.decrypt(token) == "segreta"
    # ... a rotated one cannot read it: the passwords must be entered again.
    settings.SECRET_KEY = "another secret key after a rotation, long enough"
    with pytest.raises(secrets.SecretUnreadable, match="SECRET_KEY"):
        secrets.decrypt(token)


def test_an_altered_value_is_unreadable(settings):
    settings.INCASSA_SECRETS_KEY = KEY_A
    token = secrets.encrypt("segreta")
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt(token[:-4] + "AAAA")
    with pytest.raises(secrets.SecretUnreadable):
        secrets.decrypt("not a token at all")


def test_an_invalid_key_is_said_plainly(settings):
    settings.INCASSA_SECRETS_KEY = "too-short"
    with pytest.raises(secrets.SecretError, match="not a valid Fernet key"):
        secrets.encrypt("segreta")
