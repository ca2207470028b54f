"""Reading the rate table into the pure calculator's form."""

from __future__ import annotations

import datetime as dt

from incassa.comms.interest import RateTable
from incassa.comms.models import InterestRate, RateKind, current_half_year


def rate_table() -> RateTable:
    ecb, legal = {}, {}
    for kind, starts_on, rate in InterestRate.objects.values_list("kind", "starts_on", "rate"):
        if kind == RateKind.ECB:
            ecb[starts_on] = rate
        else:
            legal[starts_on.year] = rate
    return RateTable(ecb=ecb, legal=legal)


def missing_rates(*, today: dt.date) -> list[str]:
    """What the table lacks for ``today``: the current half-year's ECB rate, the year's
    legal rate."""
    missing = []
    half = current_half_year(today)
    if not InterestRate.objects.filter(kind=RateKind.ECB, starts_on=half).exists():
        missing.append(f"ECB rate for {half.year} H{1 if half.month == 1 else 2}")
    if not InterestRate.objects.filter(
        kind=RateKind.LEGAL, starts_on=dt.date(today.year, 1, 1)
    ).exists():
        missing.append(f"legal rate for {today.year}")
    return missing
