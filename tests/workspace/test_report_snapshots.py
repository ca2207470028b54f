"""The effectiveness computed ahead and stored: after the day's key figures (so after an
import), read back exactly as computed, the newest default period when no period is asked
for, another period computed once then kept.

The scenario is the selectors' (tests/workspace/test_selectors.py): today 30/04/2026, two
actions and two activities in February, Beta's G1 (200,00) at the hand-over step since
01/03 so not working, Beta owing 500,00 overdue (G1 200 + G2 300).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incassa.credit.models import ReportKind, ReportSnapshot
from incassa.credit.services import kpi_snapshot_take
from incassa.dunning.models import ItemProgress
from incassa.ledger.services import receivables_import
from incassa.workspace import report_snapshots
from incassa.workspace.report_snapshots import effectiveness_figures, effectiveness_snapshot_take
from incassa.workspace.selectors import effectiveness_report
from tests.workspace.test_selectors import (  # noqa: F401  (the fixture)
    _standard_last_step,
    scenario,
)

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 4, 30)
# The default period: the 90 days up to today, 31/01 to 30/04.
DEFAULT_KEY = "2026-01-31|2026-04-30"


@pytest.fixture
def not_working(company, scenario):  # noqa: F811
    ItemProgress.objects.create(
        receivable=scenario["items"]["G1"],
        step=_standard_last_step(company),
        reached_on=D(2026, 3, 1),
    )
    return scenario


def test_stored_reads_back_as_computed(company, not_working):
    stored = effectiveness_snapshot_take(company=company, today=TODAY)
    assert (stored.kind, stored.key, stored.preset, stored.as_of) == (
        ReportKind.EFFECTIVENESS,
        DEFAULT_KEY,
        True,
        TODAY,
    )
    live = effectiveness_report(company=company, start=D(2026, 1, 31), end=TODAY, today=TODAY)
    read = effectiveness_figures(company=company, today=TODAY)
    assert read.snapshot.pk == stored.pk
    assert read.report.as_json() == live.as_json()
    assert read.report.not_working_count == 1
    # Beta: 500 overdue today, G1's sequence ended 60 days ago.
    (entry,) = read.report.not_working
    assert (entry.customer.code, entry.overdue_amount) == ("BETA", Decimal("500.00"))
    assert entry.flag.finished_days == 60


def test_no_period_shows_the_newest_default_one(company, not_working):
    older = effectiveness_snapshot_take(company=company, today=D(2026, 4, 28))
    newer = effectiveness_snapshot_take(company=company, today=TODAY)
    assert effectiveness_figures(company=company, today=TODAY).snapshot == newer
    # On 29/04 the one of 30/04 describes a day to come: the one of 28/04 is shown.
    assert effectiveness_figures(company=company, today=D(2026, 4, 29)).snapshot == older


def test_without_a_stored_one_it_is_computed_once_and_kept(company, not_working):
    assert not ReportSnapshot.objects.exists()
    first = effectiveness_figures(company=company, today=TODAY)
    assert ReportSnapshot.objects.get().key == DEFAULT_KEY
    ReportSnapshot.objects.update(data={**first.snapshot.data, "not_working": []})
    # Read again: the stored one (changed by hand), not a new computation.
    assert effectiveness_figures(company=company, today=TODAY).report.not_working == []


def test_a_period_asked_for_is_computed_then_kept(company, not_working):
    got = effectiveness_figures(company=company, today=TODAY, start=D(2026, 2, 2), end=TODAY)
    assert (got.snapshot.key, got.snapshot.preset) == ("2026-02-02|2026-04-30", False)
    # The reminder of 01/02 is out of the period; the call of 03/02 is in.
    assert [row.key for row in got.report.channels] == ["call"]
    assert ReportSnapshot.objects.count() == 1
    again = effectiveness_figures(company=company, today=TODAY, start=D(2026, 2, 2), end=TODAY)
    assert again.snapshot.pk == got.snapshot.pk
    # The default period is another report.
    assert effectiveness_figures(company=company, today=TODAY).snapshot.key == DEFAULT_KEY


def test_only_the_first_customers_are_kept_and_read(company, not_working, monkeypatch):
    monkeypatch.setattr(report_snapshots, "NOT_WORKING_KEPT", 0)
    effectiveness_snapshot_take(company=company, today=TODAY)
    report = effectiveness_figures(company=company, today=TODAY).report
    assert report.not_working == [] and report.not_working_count == 1
    monkeypatch.setattr(report_snapshots, "NOT_WORKING_KEPT", 10)
    effectiveness_snapshot_take(company=company, today=TODAY)
    assert effectiveness_figures(company=company, today=TODAY, limit=0).report.not_working == []


def test_kept_after_the_days_key_figures(company, not_working):
    kpi_snapshot_take(company=company, as_of=TODAY)
    stored = ReportSnapshot.objects.get(kind=ReportKind.EFFECTIVENESS)
    assert (stored.key, stored.as_of, stored.preset) == (DEFAULT_KEY, TODAY, True)


def test_a_failure_does_not_stop_the_key_figures(company, not_working, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(report_snapshots, "effectiveness_snapshot_take", broken)
    kpi_snapshot_take(company=company, as_of=TODAY)
    assert ReportSnapshot.objects.get().kind == ReportKind.KPI
    assert "computing the effectiveness" in caplog.text


def test_after_an_import_once_committed(company, tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "scadenziario.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;"
        "Importo;Residuo\nA01;Alfa S.r.l.;F1;01/03/2026;31/03/2026;100,00;100,00\n",
        encoding="utf-8",
    )
    with django_capture_on_commit_callbacks(execute=True):
        receivables_import(company=company, path=path, as_of=TODAY)
    assert set(ReportSnapshot.objects.values_list("kind", "key", "as_of")) == {
        (ReportKind.KPI, "company|2026-02-01|2026-04-30", TODAY),
        (ReportKind.EFFECTIVENESS, DEFAULT_KEY, TODAY),
    }


def test_not_after_an_import_when_switched_off(
    company, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.INCASSA_SCORES_AFTER_IMPORT = False
    path = tmp_path / "scadenziario.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;"
        "Importo;Residuo\nA01;Alfa S.r.l.;F1;01/03/2026;31/03/2026;100,00;100,00\n",
        encoding="utf-8",
    )
    with django_capture_on_commit_callbacks(execute=True):
        receivables_import(company=company, path=path, as_of=TODAY)
    assert not ReportSnapshot.objects.exists()
