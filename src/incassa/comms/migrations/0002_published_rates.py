"""The rates published up to the first half of 2026 (shared/domain/interest-rates.md): the
ECB main refinancing rate on the first day of each half-year, and the legal rate by year."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

ECB = [
    ("2013-01-01", "0.75"), ("2013-07-01", "0.50"), ("2014-01-01", "0.25"),
    ("2014-07-01", "0.15"), ("2015-01-01", "0.05"), ("2015-07-01", "0.05"),
    ("2016-01-01", "0.05"),
    *[(f"{y}-{m}-01", "0.00") for y in range(2016, 2023) for m in ("01", "07")
      if (y, m) != (2016, "01")],
    ("2023-01-01", "2.50"), ("2023-07-01", "4.00"), ("2024-01-01", "4.50"),
    ("2024-07-01", "4.25"), ("2025-01-01", "3.15"), ("2025-07-01", "2.15"),
    ("2026-01-01", "2.15"),
]
LEGAL = [
    (2020, "0.05"), (2021, "0.01"), (2022, "1.25"), (2023, "5.00"),
    (2024, "2.50"), (2025, "2.00"), (2026, "1.60"),
]
ECB_SOURCE = "Ministry of Economy communiqué in the Gazzetta Ufficiale (ECB MRO rate)"
LEGAL_SOURCE = "Decree of the Ministry of Economy (art. 1284 c.c.)"


def load(apps, schema_editor):
    InterestRate = apps.get_model("comms", "InterestRate")
    rows = [
        InterestRate(kind="ecb", starts_on=dt.date.fromisoformat(day), rate=Decimal(rate),
                     source=ECB_SOURCE)
        for day, rate in ECB
    ]
    rows += [
        InterestRate(kind="legal", starts_on=dt.date(year, 1, 1), rate=Decimal(rate),
                     source=LEGAL_SOURCE)
        for year, rate in LEGAL
    ]
    rows[-len(LEGAL) - 1].source = "GU n. 15 of 20 January 2026 (ECB MRO rate)"
    InterestRate.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("comms", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
