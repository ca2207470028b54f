"""``incassa interest`` and ``incassa rates check`` on the shipped rate table."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.comms.models import InterestRate, RateKind

pytestmark = pytest.mark.django_db


def test_interest_json_on_the_shipped_rates():
    out = StringIO()
    call_command(
        "interest",
        "--amount",
        "1000.00",
        "--due",
        "2025-01-31",
        "--until",
        "2025-12-31",
        "--json",
        stdout=out,
    )
    result = json.loads(out.getvalue())
    # 45.82 + 51.17 (see tests/comms/test_interest.py), plus EUR 40 per invoice.
    assert (result["interest"], result["compensation"]) == ("96.99", "40.00")
    assert [p["days"] for p in result["periods"]] == [150, 184]
    assert result["periods"][0]["rate"] == "11.15"


def test_shipped_table_matches_the_published_rates():
    ecb = dict(InterestRate.objects.filter(kind=RateKind.ECB).values_list("starts_on", "rate"))
    assert len(ecb) == 27  # 2013 H1 to 2026 H1
    assert str(ecb[dt.date(2024, 7, 1)]) == "4.25"  # not 3.65 or 3.75
    assert str(ecb[dt.date(2019, 7, 1)]) == "0.00"


def test_missing_rate_is_a_clear_error():
    with pytest.raises(CommandError, match="no ECB rate for 2026 H2"):
        call_command(
            "interest", "--amount", "10.00", "--due", "2026-06-30", "--until", "2026-08-01"
        )


def test_rates_check():
    out, err = StringIO(), StringIO()
    call_command("rates", "check", "--date", "2026-03-01", stdout=out, stderr=err)
    assert "complete" in out.getvalue()
    with pytest.raises(SystemExit) as caught:
        call_command("rates", "check", "--date", "2026-11-24", stdout=out, stderr=err)
    assert caught.value.code == 1
    assert "no ECB rate for 2026 H2" in err.getvalue()
