"""The second factor: codes, their window, reuse, recovery codes, and who must use it."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import time_machine

from incassa.audit import totp
from incassa.audit.models import CompanySecurity, RecoveryCode, TwoFactor
from incassa.ledger.models import Role
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits
# 09:00:00 UTC on 01/04/2026 is time step 1775034000 / 30 = 59167800.
MOMENT = dt.datetime(2026, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
STEP = 59_167_800


def code_at(moment: dt.datetime) -> str:
    return pyotp.TOTP(SECRET).at(moment)


def test_a_code_is_valid_one_step_either_side():
    assert int(MOMENT.timestamp()) // 30 == STEP
    code = code_at(MOMENT)
    assert totp.code_step(secret=SECRET, code=code, now=MOMENT) == STEP
    # 30 s later it is still accepted (one step of drift), 60 s later no more.
    assert totp.code_step(secret=SECRET, code=code, now=MOMENT + dt.timedelta(seconds=30)) == STEP
    assert totp.code_step(secret=SECRET, code=code, now=MOMENT + dt.timedelta(seconds=60)) is None
    # Spaces are forgiven; letters and wrong lengths are not codes.
    assert totp.code_step(secret=SECRET, code=f"{code[:3]} {code[3:]}", now=MOMENT) == STEP
    assert totp.code_step(secret=SECRET, code="abcdef", now=MOMENT) is None
    assert totp.code_step(secret=SECRET, code=code[:5], now=MOMENT) is None


def test_confirm_then_verify_once(db):
    user = UserFactory()
    with time_machine.travel(MOMENT, tick=False):
        wrong = f"{(int(code_at(MOMENT)) + 1) % 1_000_000:06d}"
        assert totp.confirm(user=user, secret=SECRET, code=wrong) is None
        assert not totp.is_enabled(user)
        codes = totp.confirm(user=user, secret=SECRET, code=code_at(MOMENT))
    assert len(codes) == 10 and all(len(c) == 11 and c[5] == "-" for c in codes)
    assert TwoFactor.objects.get(user=user).last_step == STEP
    # Only hashes are kept.
    assert not RecoveryCode.objects.filter(code_hash__contains=codes[0].replace("-", "")).exists()

    later = MOMENT + dt.timedelta(seconds=30)
    with time_machine.travel(later, tick=False):
        # The code used to confirm cannot sign in (same step), the next one can, once.
        assert totp.verify(user=user, code=code_at(MOMENT)) is None
        assert totp.verify(user=user, code=code_at(later)) == "totp"
        assert totp.verify(user=user, code=code_at(later)) is None


def test_a_recovery_code_works_once(db):
    user = UserFactory()
    with time_machine.travel(MOMENT, tick=False):
        codes = totp.confirm(user=user, secret=SECRET, code=code_at(MOMENT))
    assert totp.verify(user=user, code=codes[3].upper()) == "recovery_code"
    assert totp.verify(user=user, code=codes[3]) is None
    assert totp.recovery_codes_left(user) == 9
    new = totp.recovery_codes_renew(user=user)
    assert totp.verify(user=user, code=codes[4]) is None  # the old ones are gone
    assert totp.verify(user=user, code=new[0]) == "recovery_code"


def test_disable_forgets_the_secret_and_codes(db):
    user = UserFactory()
    with time_machine.travel(MOMENT, tick=False):
        totp.confirm(user=user, secret=SECRET, code=code_at(MOMENT))
    totp.disable(user=user)
    assert not TwoFactor.objects.exists() and not RecoveryCode.objects.exists()


def test_the_qr_code_carries_the_provisioning_uri():
    uri = totp.provisioning_uri(secret=SECRET, username="anna")
    assert (
        uri == "otpauth://totp/Incassa:anna?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Incassa"
    )
    assert totp.qr_svg(uri).startswith("<svg")


def test_who_must_use_it(db, settings):
    company = CompanyFactory()
    admin = UserFactory()
    MembershipFactory(user=admin, company=company, role=Role.ADMINISTRATOR)
    collector = UserFactory()
    MembershipFactory(user=collector, company=company, role=Role.COLLECTOR)
    staff = UserFactory(is_staff=True)
    assert not any(totp.required_for(u) for u in (admin, collector, staff))
    # The company requires it of its administrators.
    CompanySecurity.objects.create(company=company, require_totp_for_administrators=True)
    assert [totp.required_for(u) for u in (admin, collector, staff)] == [True, False, False]
    # The installation requires it of every administrator and staff member.
    CompanySecurity.objects.all().update(require_totp_for_administrators=False)
    settings.INCASSA_REQUIRE_TOTP_FOR_ADMINS = True
    assert [totp.required_for(u) for u in (admin, collector, staff)] == [True, False, True]
