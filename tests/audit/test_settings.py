"""Password rules, session settings, and `check --deploy` with the production variables."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

PRODUCTION = {
    "HTTPS": "1",
    "SECRET_KEY": secrets.token_urlsafe(60),
    "ALLOWED_HOSTS": "incassa.example.it",
    "CSRF_TRUSTED_ORIGINS": "https://incassa.example.it",
}


def deploy_check(tmp_path, **env) -> subprocess.CompletedProcess:
    """`check --deploy` in a fresh process, so that settings read these variables."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", *PRODUCTION, "HSTS_PRELOAD"}}
    clean.update(env, INCASSA_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="incassa.settings")
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_passwords_need_twelve_characters(db):
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Tr0ub4dor&3")  # 11 characters
    validate_password("Tr0ub4dor&3x")  # 12
    with pytest.raises(ValidationError):
        validate_password("123456789012345")  # all digits
    with pytest.raises(ValidationError):
        validate_password("qwerty123456")  # too common


def test_session_defaults():
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.DEBUG is False
    # Tests run like `make run`: plain HTTP on 127.0.0.1, no redirect to HTTPS.
    assert settings.SECURE_SSL_REDIRECT is False
    assert settings.SECURE_HSTS_SECONDS == 0


def test_deploy_check_is_clean_with_the_production_variables(tmp_path):
    result = deploy_check(tmp_path, **PRODUCTION, HSTS_PRELOAD="1")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_preload_only_the_preload_warning_remains(tmp_path):
    # HSTS preload is a commitment to browsers' lists; it stays opt-in (HSTS_PRELOAD=1).
    result = deploy_check(tmp_path, **PRODUCTION)
    assert result.returncode == 1
    assert "security.W021" in result.stderr
    assert "System check identified 1 issue" in result.stderr


@override_settings(
    DEBUG=False,
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31_536_000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
    ALLOWED_HOSTS=["incassa.example.it"],
    SECRET_KEY=PRODUCTION["SECRET_KEY"],
)
def test_deploy_check_in_process_with_those_values():
    call_command("check", deploy=True, fail_level="WARNING")


@override_settings(DEBUG=False, SECURE_SSL_REDIRECT=False, SESSION_COOKIE_SECURE=False)
def test_deploy_check_fails_on_plain_http():
    with pytest.raises(SystemCheckError):
        call_command("check", deploy=True, fail_level="WARNING")
