"""Key figures computed ahead and stored: kept with the day's KPI snapshot, read back to the
cent, recomputed on demand, stale when newer data arrived, dropped when nobody refreshed
them for ``KEEP_DAYS`` days.

The ledger is the ``incassa kpi`` command's (tests/credit/management/commands/test_kpi.py
explains every figure): on 31/03/2026 open 4.500,00, overdue 2.500,00 (F2 500 + F4 2.000);
the default period ending 31/03/2026 starts on 01/01/2026 (three months).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from incassa.credit import kpis, report_snapshots
from incassa.credit.models import ReportKind, ReportSnapshot
from incassa.credit.services import kpi_snapshot_take
from incassa.ledger.models import CustomerCategory
from tests.credit.management.commands.test_kpi import ledger  # noqa: F401  (the fixture)
from tests.factories import CompanyFactory, ImportRunFactory

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 31)
START = dt.date(2026, 1, 1)
COMPANY_KEY = "company|2026-01-01|2026-03-31"


def test_the_kpi_snapshot_keeps_the_figures_the_page_shows(ledger):  # noqa: F811
    kpi_snapshot_take(company=ledger, as_of=AS_OF)
    stored = ReportSnapshot.objects.get(kind=ReportKind.KPI)
    assert (stored.key, stored.preset, stored.as_of) == (COMPANY_KEY, True, AS_OF)
    assert stored.data["open_amount"] == "4500.00"
    assert stored.data["overdue_amount"] == "2500.00"
    assert stored.data["sales_source"] == "ledger"  # no issued invoices imported
    live = kpis.kpi_report(company=ledger, as_of=AS_OF)
    assert stored.data == live.as_json()
    # Read back: the same report, Decimals to the cent.
    assert kpis.ScopedReport.from_json(stored.data) == live
    assert report_snapshots.kpi_preset_as_of(company=ledger, today=AS_OF) == AS_OF
    # A preset of a day after ``today`` is not shown that day.
    assert report_snapshots.kpi_preset_as_of(company=ledger, today=AS_OF - dt.timedelta(1)) is None


def test_every_scope_is_kept_with_all_scopes(ledger):  # noqa: F811
    kpi_snapshot_take(company=ledger, as_of=AS_OF, scopes=True)
    dis = CustomerCategory.objects.get(company=ledger, code="DIS").pk
    # The company, 2 categories and 2 agents.
    assert ReportSnapshot.objects.filter(kind=ReportKind.KPI, preset=True).count() == 5
    # DIS is Beta: F2 500 + F4 2.000.
    found = ReportSnapshot.objects.get(key=f"category:{dis}|2026-01-01|2026-03-31")
    assert found.data["open_amount"] == "2500.00"


def test_stored_figures_are_read_not_computed_again(ledger):  # noqa: F811
    kpi_snapshot_take(company=ledger, as_of=AS_OF)
    ReportSnapshot.objects.filter(key=COMPANY_KEY).update(
        data={**ReportSnapshot.objects.get(key=COMPANY_KEY).data, "open_amount": "1.00"}
    )
    got = report_snapshots.kpi_figures(
        company=ledger, as_of=AS_OF, period_start=START, scope=kpis.Scope()
    )
    assert got.result.report.open_amount == Decimal("1.00")  # the stored one
    again = report_snapshots.kpi_figures(
        company=ledger, as_of=AS_OF, period_start=START, scope=kpis.Scope(), recompute=True
    )
    assert again.result.report.open_amount == Decimal("4500.00")
    assert again.snapshot.pk == got.snapshot.pk  # replaced, not added
    assert ReportSnapshot.objects.filter(kind=ReportKind.KPI).count() == 1


def test_other_parameters_are_computed_once_then_kept(ledger):  # noqa: F811
    category = CustomerCategory.objects.get(company=ledger, code="RET")
    scope = kpis.Scope("category", category.pk)
    got = report_snapshots.kpi_figures(
        company=ledger, as_of=AS_OF, period_start=dt.date(2026, 2, 1), scope=scope
    )
    # RET is Alfa: F3 1.234,56 + F5 765,44 = 2.000,00.
    assert got.result.report.open_amount == Decimal("2000.00")
    assert got.snapshot.key == f"category:{category.pk}|2026-02-01|2026-03-31"
    assert got.snapshot.preset is False  # not the default period (01/01)
    assert ReportSnapshot.objects.count() == 1
    # Asked again: read, not computed (the stored row changed by hand shows).
    ReportSnapshot.objects.update(data={**got.snapshot.data, "open_amount": "7.00"})
    again = report_snapshots.kpi_figures(
        company=ledger, as_of=AS_OF, period_start=dt.date(2026, 2, 1), scope=scope
    )
    assert again.result.report.open_amount == Decimal("7.00")


def test_another_companys_figures_are_not_read(ledger):  # noqa: F811
    other = CompanyFactory(code="altra")
    ReportSnapshot.objects.create(
        company=other,
        kind=ReportKind.KPI,
        key=COMPANY_KEY,
        preset=True,
        as_of=AS_OF,
        data={},
        computed_at=timezone.now(),
    )
    assert report_snapshots.kpi_preset_as_of(company=ledger, today=AS_OF) is None
    got = report_snapshots.kpi_figures(
        company=ledger, as_of=AS_OF, period_start=START, scope=kpis.Scope()
    )
    assert got.result.report.open_amount == Decimal("4500.00")


def test_stale_when_an_import_came_after(ledger):  # noqa: F811
    with time_machine.travel(dt.datetime(2026, 3, 31, 10, 0, tzinfo=dt.UTC), tick=False):
        kpi_snapshot_take(company=ledger, as_of=AS_OF)
    stored = ReportSnapshot.objects.get(kind=ReportKind.KPI)
    # The fixture's imports finished when the test ran: put them before 10:00 on 31/03.
    ledger.imports.update(finished_at=dt.datetime(2026, 3, 31, 8, 0, tzinfo=dt.UTC))
    assert not report_snapshots.is_stale(stored, today=AS_OF)
    # The next morning, with no new snapshot, yesterday's figures are still the latest.
    assert not report_snapshots.is_stale(stored, today=AS_OF + dt.timedelta(days=1))
    ImportRunFactory(
        company=ledger,
        as_of=AS_OF,
        finished_at=dt.datetime(2026, 3, 31, 11, 0, tzinfo=dt.UTC),
    )
    assert report_snapshots.is_stale(stored, today=AS_OF)


def test_results_nobody_refreshed_for_keep_days_are_dropped(ledger):  # noqa: F811
    old = timezone.now() - dt.timedelta(days=report_snapshots.KEEP_DAYS + 1)
    ReportSnapshot.objects.create(
        company=ledger, kind=ReportKind.KPI, key="old", as_of=AS_OF, data={}, computed_at=old
    )
    ReportSnapshot.objects.create(
        company=ledger,
        kind=ReportKind.EFFECTIVENESS,
        key="old",
        as_of=AS_OF,
        data={},
        computed_at=old,
    )
    kpi_snapshot_take(company=ledger, as_of=AS_OF)
    # Both old results went: the key figures' with the new key figures, the effectiveness'
    # with the effectiveness computed after them.
    assert not ReportSnapshot.objects.filter(key="old").exists()
    assert ReportSnapshot.objects.count() == 2
