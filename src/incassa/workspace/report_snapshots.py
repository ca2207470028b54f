"""The effectiveness of the contacts, computed ahead and stored (``credit.report_snapshots``
explains why and how): after the day's key figures are kept (an import's KPI snapshot,
``incassa kpi --snapshot``, the daily cycle) for the page's default period, and the first
time the page asks for another period. "Recompute now" computes it again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from incassa.credit.models import ReportKind, ReportSnapshot
from incassa.credit.report_snapshots import latest_preset, snapshot_find, snapshot_store
from incassa.ledger.models import Company
from incassa.workspace import effectiveness as eff
from incassa.workspace.selectors import (
    EffectivenessReport,
    effectiveness_data,
    effectiveness_report_from,
)

# The customers where it is not working kept in a stored report (the page shows fewer; the
# command computes them all).
NOT_WORKING_KEPT = 1000


def effectiveness_key(start: dt.date, end: dt.date) -> str:
    return f"{start.isoformat()}|{end.isoformat()}"


@dataclass(frozen=True)
class StoredEffectiveness:
    """The report a page shows, and when it was computed."""

    report: EffectivenessReport
    snapshot: ReportSnapshot


def effectiveness_snapshot_take(
    *,
    company: Company,
    today: dt.date,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ReportSnapshot:
    """Compute the effectiveness of the contacts from ``start`` to ``end`` (by default the
    last ``DEFAULT_PERIOD_DAYS`` days up to ``today``) as of ``today``, and keep it."""
    default_start, default_end = eff.default_period(today)
    start, end = start or default_start, end or default_end
    data = effectiveness_data(
        company=company, start=start, end=end, today=today, keep=NOT_WORKING_KEPT
    )
    return snapshot_store(
        company=company,
        kind=ReportKind.EFFECTIVENESS,
        key=effectiveness_key(start, end),
        as_of=today,
        data=data,
        preset=(start, end) == (default_start, default_end),
    )


def effectiveness_figures(
    *,
    company: Company,
    today: dt.date,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int | None = None,
) -> StoredEffectiveness:
    """What the page shows: for a period asked for, its stored report, else the newest one
    of the default period; computed now (and kept) only when there is none yet. ``limit``:
    how many customers where it is not working to read."""
    if start is None and end is None:
        found = latest_preset(company=company, kind=ReportKind.EFFECTIVENESS, until=today)
    else:
        default_start, default_end = eff.default_period(today)
        start, end = start or default_start, end or default_end
        found = snapshot_find(
            company=company, kind=ReportKind.EFFECTIVENESS, key=effectiveness_key(start, end)
        )
    if found is None:
        found = effectiveness_snapshot_take(company=company, today=today, start=start, end=end)
    report = effectiveness_report_from(company=company, data=found.data, limit=limit)
    return StoredEffectiveness(report=report, snapshot=found)
