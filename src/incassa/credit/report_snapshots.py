"""Reports computed once and read many times: the key figures of a period (here) and the
effectiveness of the contacts (``workspace.report_snapshots``) aggregate the whole ledger, a
few seconds on a million items, so pages read a stored result instead of computing it per
request.

A result is computed where the data change (after an import's KPI snapshot, which the daily
cycle takes too) for the page's default parameters, the *preset*; other parameters are
computed the first time a page asks for them and kept as well. Each is stored once per
company, kind and parameters; "Recompute now" replaces it. Results not recomputed for
``KEEP_DAYS`` days are dropped whenever a new one is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from incassa.credit import kpis
from incassa.credit.models import ReportKind, ReportSnapshot
from incassa.ledger.models import Company, ImportRun, ImportStatus

KEEP_DAYS = 35


# --------------------------------------------------------------------------------------
# Any report
# --------------------------------------------------------------------------------------


def snapshot_find(*, company: Company, kind: str, key: str) -> ReportSnapshot | None:
    return ReportSnapshot.objects.filter(company=company, kind=kind, key=key).first()


def latest_preset(
    *, company: Company, kind: str, until: dt.date, key_prefix: str = ""
) -> ReportSnapshot | None:
    """The newest result computed for the default parameters describing a day up to
    ``until`` (one read on the snapshots' index)."""
    found = ReportSnapshot.objects.filter(company=company, kind=kind, preset=True, as_of__lte=until)
    if key_prefix:
        found = found.filter(key__startswith=key_prefix)
    return found.order_by("-as_of", "-computed_at").first()


def snapshot_store(
    *, company: Company, kind: str, key: str, as_of: dt.date, data: dict, preset: bool
) -> ReportSnapshot:
    """Keep a result (replacing the one with the same parameters), and drop the company's
    results of this kind nobody recomputed for ``KEEP_DAYS`` days."""
    now = timezone.now()
    with transaction.atomic():
        snapshot, _created = ReportSnapshot.objects.update_or_create(
            company=company,
            kind=kind,
            key=key,
            defaults={"as_of": as_of, "data": data, "preset": preset, "computed_at": now},
        )
        ReportSnapshot.objects.filter(
            company=company, kind=kind, computed_at__lt=now - dt.timedelta(days=KEEP_DAYS)
        ).delete()
    return snapshot


def is_stale(snapshot: ReportSnapshot, *, today: dt.date) -> bool:
    """Whether newer data may change the figures: an import was applied after they were
    computed, or the ledger holds a snapshot newer than the day they describe. Figures of
    yesterday's snapshot seen today are not stale: the ERP's export of the night describes
    yesterday. (``today`` is kept for the callers: the day does not decide it.)"""
    applied = ImportRun.objects.filter(company_id=snapshot.company_id, status=ImportStatus.APPLIED)
    return applied.filter(
        Q(finished_at__gt=snapshot.computed_at) | Q(as_of__gt=snapshot.as_of)
    ).exists()


# --------------------------------------------------------------------------------------
# Key figures
# --------------------------------------------------------------------------------------


def kpi_key(scope: kpis.Scope, *, period_start: dt.date, as_of: dt.date) -> str:
    return f"{scope.key}|{period_start.isoformat()}|{as_of.isoformat()}"


@dataclass(frozen=True)
class StoredKpis:
    """The key figures a page shows, and when they were computed."""

    result: kpis.ScopedReport
    snapshot: ReportSnapshot


def kpi_preset_as_of(*, company: Company, today: dt.date) -> dt.date | None:
    """The day of the newest key figures computed for the default period, if any: what the
    reports page shows when asked for no date."""
    found = latest_preset(
        company=company, kind=ReportKind.KPI, until=today, key_prefix=f"{kpis.Scope().key}|"
    )
    return found.as_of if found else None


def kpi_store(*, company: Company, result: kpis.ScopedReport) -> ReportSnapshot:
    """Keep the figures of one scope and period (computed by ``kpis.kpi_report``)."""
    report = result.report
    return snapshot_store(
        company=company,
        kind=ReportKind.KPI,
        key=kpi_key(result.scope, period_start=report.period_start, as_of=report.as_of),
        as_of=report.as_of,
        data=result.as_json(),
        preset=report.period_start == kpis.default_period_start(report.as_of),
    )


def kpi_figures(
    *,
    company: Company,
    as_of: dt.date,
    period_start: dt.date,
    scope: kpis.Scope,
    recompute: bool = False,
) -> StoredKpis:
    """The key figures of ``scope`` for the period: stored ones when there are (unless
    ``recompute``), else computed now and stored for the next time."""
    found = None
    if not recompute:
        found = snapshot_find(
            company=company,
            kind=ReportKind.KPI,
            key=kpi_key(scope, period_start=period_start, as_of=as_of),
        )
    if found is not None:
        return StoredKpis(result=kpis.ScopedReport.from_json(found.data), snapshot=found)
    result = kpis.kpi_report(company=company, as_of=as_of, period_start=period_start, scope=scope)
    return StoredKpis(result=result, snapshot=kpi_store(company=company, result=result))
