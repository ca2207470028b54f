"""Signing in and the user's own account: throttled sign-in, the optional second step
(a TOTP code from an authenticator app, or a recovery code), turning two-step verification
on and off, recovery codes, and changing the password.

After the password, a user with two-step verification is *not* signed in: the session only
remembers, for five minutes, who is waiting for the code. Every sign-in, failure, lock and
account change is written to the audit trail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import path, reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django.views.generic.base import RedirectView

from incassa.audit import throttling, totp
from incassa.audit.context import client_ip
from incassa.audit.models import AuditAction
from incassa.audit.recording import record

PENDING = "incassa_2fa_pending"  # {"user", "backend", "at", "next"} between the two steps
VERIFIED = "incassa_2fa_verified"  # the second factor was checked in this session
SETUP_REQUIRED = "incassa_2fa_setup_required"  # must turn it on before anything else
SETUP_SECRET = "incassa_totp_setup_secret"  # the secret being set up, not yet confirmed
FRESH_CODES = "incassa_recovery_codes"  # new recovery codes, shown once
PENDING_SECONDS = 300


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _next_url(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _lock_message(until) -> str:
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    return ngettext(
        "Too many failed sign-in attempts. Try again in %(minutes)d minute.",
        "Too many failed sign-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def _user_named(username: str) -> Any:
    """The user with this username, for the audit trail only (never told to the client)."""
    model = get_user_model()
    return model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()


def _record_failure(username: str, reason: str, user: Any = None) -> None:
    user = user if user is not None else _user_named(username)
    record(
        action=AuditAction.LOGIN_FAILED,
        obj=user,
        user=user,
        username=username,
        object_repr=username,
        after={"username": username[:150], "reason": reason},
    )


def _count_failure(request: HttpRequest, username: str, reason: str, user: Any = None):
    """Count and record one failure; returns the end of the lock it causes, if any."""
    ip = client_ip(request)
    throttling.failure_record(username=username, ip=ip)
    _record_failure(username, reason, user)
    until = throttling.lock_status(username=username, ip=ip)
    if until is not None:
        user = user if user is not None else _user_named(username)
        record(
            action=AuditAction.LOGIN_LOCKED,
            obj=user,
            user=user,
            username=username,
            object_repr=username,
            after={"username": username[:150], "until": until.isoformat()},
        )
    return until


def _complete_login(request: HttpRequest, user: Any, method: str, next_url: str | None):
    auth_login(request, user, backend=getattr(user, "backend", None))
    request.session[VERIFIED] = method != "password"
    record(action=AuditAction.LOGIN, obj=user, user=user, after={"method": method})
    if method == "password" and totp.required_for(user):
        request.session[SETUP_REQUIRED] = True
        messages.warning(
            request, _("Your account must use two-step verification: set it up to continue.")
        )
        return redirect("account_totp")
    return redirect(_next_url(request, next_url))


# --------------------------------------------------------------------------------------
# Signing in
# --------------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step one: username and password, unless this username or address is locked."""
    next_url = request.POST.get("next") or request.GET.get("next", "")
    context: dict[str, Any] = {"next": next_url}
    if request.method != "POST":
        context["form"] = AuthenticationForm(request)
        return render(request, "registration/login.html", context)

    username = request.POST.get("username", "")[:150]
    until = throttling.lock_status(username=username, ip=client_ip(request))
    if until is not None:
        _record_failure(username, "locked")
        context["form"] = AuthenticationForm(request, initial={"username": username})
        context["lock_message"] = _lock_message(until)
        return render(request, "registration/login.html", context, status=429)

    form = AuthenticationForm(request, data=request.POST)
    if form.is_valid():
        user = form.get_user()
        throttling.failures_clear(username=username)
        if totp.is_enabled(user):
            request.session.cycle_key()
            request.session[PENDING] = {
                "user": user.pk,
                "backend": user.backend,
                "at": timezone.now().timestamp(),
                "next": next_url,
            }
            return redirect("login_verify")
        return _complete_login(request, user, "password", next_url)

    context["form"] = form
    if username and request.POST.get("password"):
        until = _count_failure(request, username, "wrong password")
        if until is not None:
            context["lock_message"] = _lock_message(until)
            return render(request, "registration/login.html", context, status=429)
    return render(request, "registration/login.html", context)


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=20, strip=True)


def _pending_user(request: HttpRequest) -> tuple[Any, dict] | tuple[None, None]:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict):
        return None, None
    if timezone.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None, None
    user = get_user_model()._default_manager.filter(pk=pending.get("user"), is_active=True).first()
    if user is None:
        return None, None
    user.backend = pending.get("backend")
    return user, pending


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    """Step two: the code of the authenticator app, or a recovery code."""
    user, pending = _pending_user(request)
    if user is None:
        messages.error(request, _("Sign in again: the time to enter the code ran out."))
        return redirect("login")
    if request.method != "POST":
        return render(request, "registration/login_verify.html", {"form": CodeForm()})

    username = user.get_username()
    until = throttling.lock_status(username=username, ip=client_ip(request))
    if until is not None:
        request.session.pop(PENDING, None)
        _record_failure(username, "locked", user)
        messages.error(request, _lock_message(until))
        return redirect("login")
    form = CodeForm(request.POST)
    method = totp.verify(user=user, code=form.data.get("code", "")) if form.is_valid() else None
    if method is None:
        until = _count_failure(request, username, "wrong code", user)
        if until is not None:
            request.session.pop(PENDING, None)
            messages.error(request, _lock_message(until))
            return redirect("login")
        messages.error(request, _("That code is not valid. Try the current one."))
        return redirect("login_verify")
    throttling.failures_clear(username=username)
    request.session.pop(PENDING, None)
    if method == "recovery_code":
        messages.warning(
            request,
            _("You signed in with a recovery code, which cannot be used again. %(left)s left.")
            % {"left": totp.recovery_codes_left(user)},
        )
    return _complete_login(request, user, method, pending.get("next"))


# --------------------------------------------------------------------------------------
# The account page
# --------------------------------------------------------------------------------------


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"), strip=False, widget=forms.PasswordInput
    )


def _password_confirmed(request: HttpRequest) -> bool:
    form = PasswordForm(request.POST)
    if form.is_valid() and request.user.check_password(form.cleaned_data["password"]):
        return True
    messages.error(request, _("Your password is not correct."))
    return False


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def account(request: HttpRequest) -> HttpResponse:
    user = request.user
    factor = getattr(user, "two_factor", None) if totp.is_enabled(user) else None
    context = {
        "factor": factor,
        "codes_left": totp.recovery_codes_left(user) if factor else 0,
        "required": totp.required_for(user),
        "fresh_codes": request.session.pop(FRESH_CODES, None),
    }
    return render(request, "registration/account.html", context)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@sensitive_post_parameters("code")
@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Show a new secret (QR code and text) and turn it on once a first code matches."""
    user = request.user
    if totp.is_enabled(user):
        messages.info(request, _("Two-step verification is already on."))
        return redirect("account")
    secret = request.session.get(SETUP_SECRET)
    if not secret:
        secret = request.session[SETUP_SECRET] = totp.new_secret()
    if request.method == "POST":
        form = CodeForm(request.POST)
        codes = totp.confirm(user=user, secret=secret, code=form.data.get("code", ""))
        if codes is None:
            messages.error(
                request, _("That code is not valid. Check the phone's clock and try again.")
            )
            return redirect("account_totp")
        request.session.pop(SETUP_SECRET, None)
        request.session.pop(SETUP_REQUIRED, None)
        request.session[VERIFIED] = True
        request.session[FRESH_CODES] = codes
        record(action=AuditAction.TOTP_ENABLED, obj=user)
        messages.success(request, _("Two-step verification is on."))
        return redirect("account")
    uri = totp.provisioning_uri(secret=secret, username=user.get_username())
    context = {
        "form": CodeForm(),
        "qr_svg": totp.qr_svg(uri),
        "secret": _grouped(secret),
        "required": request.session.get(SETUP_REQUIRED, False),
    }
    return render(request, "registration/totp_setup.html", context)


@sensitive_post_parameters("password")
@login_required
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    user = request.user
    if totp.required_for(user):
        messages.error(request, _("Your account must use two-step verification."))
    elif _password_confirmed(request) and totp.is_enabled(user):
        totp.disable(user=user)
        request.session[VERIFIED] = False
        record(action=AuditAction.TOTP_DISABLED, obj=user)
        messages.success(request, _("Two-step verification is off."))
    return redirect("account")


@sensitive_post_parameters("password")
@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not totp.is_enabled(user):
        messages.error(request, _("Turn on two-step verification first."))
    elif _password_confirmed(request):
        request.session[FRESH_CODES] = totp.recovery_codes_renew(user=user)
        record(action=AuditAction.RECOVERY_CODES, obj=user)
        messages.success(request, _("New recovery codes: the old ones no longer work."))
    return redirect("account")


class PasswordChange(PasswordChangeView):
    """Django's password change (old password, new one twice, the password rules) with the
    site's templates; the session stays signed in."""

    template_name = "registration/password_change.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record(action=AuditAction.PASSWORD_CHANGED, obj=self.request.user)
        messages.success(self.request, _("Your password has been changed."))
        return response


# --------------------------------------------------------------------------------------
# Making the second factor compulsory
# --------------------------------------------------------------------------------------


class SecondFactorMiddleware:
    """Until a user who must use two-step verification has set it up, every page leads to
    the set-up page (signing out and changing language still work). Reads the session
    flag set at sign-in only: no query on other requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(SETUP_REQUIRED):
            allowed = {reverse("account_totp"), reverse("logout"), reverse("set_language")}
            if request.path not in allowed and not request.path.startswith(settings.STATIC_URL):
                return redirect("account_totp")
        return self.get_response(request)


urlpatterns = [
    path("login/", login_view, name="login"),
    path("login/verify/", login_verify, name="login_verify"),
    # The admin signs in through the same throttled, two-step sign-in.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("account/", account, name="account"),
    path("account/password/", PasswordChange.as_view(), name="password_change"),
    path("account/two-step/", totp_setup, name="account_totp"),
    path("account/two-step/off/", totp_disable, name="account_totp_disable"),
    path("account/recovery-codes/", recovery_codes, name="account_recovery_codes"),
]
